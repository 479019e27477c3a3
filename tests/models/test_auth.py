"""Users, groups, memberships, identities and tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import re

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from debusine.models import (
    Group,
    GroupAuditLog,
    GroupMembership,
    GroupMembershipRoles,
    Identity,
    Token,
    User,
)
from debusine.models.auth import SYSTEM_USER_NAME, hash_token_key
from debusine.models.validation import InvalidName
from tests.factories import GroupFactory, ScopeFactory, TokenFactory, UserFactory
from tests.models.conftest import Refused

# --- users -----------------------------------------------------------------


@pytest.mark.parametrize("username", ["alice", "Bob", "carol.d", "d-e_f+g", "x1"])
def test_valid_usernames(db_session: Session, username: str) -> None:
    user = UserFactory(username=username)
    assert db_session.get(User, user.id).username == username


@pytest.mark.parametrize("username", ["", "1alice", "_alice", "a b", "alice@x", "é"])
def test_invalid_username_refused_in_python(username: str) -> None:
    with pytest.raises(InvalidName, match="invalid user name"):
        User(username=username, email="a@example.org")


@pytest.mark.parametrize("username", ["", "1alice", "_alice", "a b", "a\n"])
def test_invalid_username_refused_by_database(
    refused: Refused, raw_insert, username: str
) -> None:
    with refused("ck_user_username_valid"):
        raw_insert(User, username=username, email="")


def test_username_too_long() -> None:
    assert User(username="a" * 150).username == "a" * 150
    with pytest.raises(InvalidName, match="longer than 150"):
        User(username="a" * 151)


def test_duplicate_username(refused: Refused, db_session: Session) -> None:
    UserFactory(username="alice")
    with refused("uq_user_username"):
        db_session.add(User(username="alice", email="other@example.org"))


def test_system_user(db_session: Session) -> None:
    user = User(username=SYSTEM_USER_NAME, is_system=True)
    db_session.add(user)
    db_session.flush()
    db_session.expire(user)
    assert (user.username, user.is_system, user.email) == ("_system", True, "")


@pytest.mark.parametrize("order", ["is_system first", "username first"])
def test_system_user_name_does_not_depend_on_argument_order(order: str) -> None:
    if order == "is_system first":
        user = User(is_system=True, username="_system")
    else:
        user = User(username="_system", is_system=True)
    assert user.username == "_system"


def test_system_user_is_exempt_from_the_name_rule_in_the_database(
    db_session: Session, raw_insert
) -> None:
    user_id = raw_insert(User, username="_system", is_system=True, email="")
    assert db_session.get(User, user_id).is_system


def test_system_name_needs_is_system_in_python() -> None:
    """Otherwise the user would only learn of it from a database error."""
    with pytest.raises(InvalidName, match="invalid user name '_system'"):
        User(username=SYSTEM_USER_NAME)
    with pytest.raises(InvalidName):
        User(username=SYSTEM_USER_NAME, is_system=False)


def test_system_name_needs_is_system_in_the_database(
    refused: Refused, raw_insert
) -> None:
    with refused("ck_user_username_valid"):
        raw_insert(User, username="_system", is_system=False, email="")


def test_clearing_is_system_rechecks_the_name(db_session: Session) -> None:
    user = User(username=SYSTEM_USER_NAME, is_system=True)
    with pytest.raises(InvalidName):
        user.is_system = False
    assert user.is_system is True


def test_user_defaults(db_session: Session) -> None:
    user = User(username="alice")
    db_session.add(user)
    db_session.flush()
    db_session.expire(user)
    assert (user.is_system, user.is_active, user.is_superuser, user.email) == (
        False,
        True,
        False,
        "",
    )


def test_email_unique_among_people(refused: Refused, db_session: Session) -> None:
    UserFactory(username="alice", email="shared@example.org")
    with refused("uq_user_email_not_system"):
        db_session.add(User(username="bob", email="shared@example.org"))


def test_several_people_without_email(db_session: Session) -> None:
    UserFactory(username="alice", email="")
    UserFactory(username="bob", email="")
    assert len(db_session.scalars(select(User).where(User.email == "")).all()) == 2


def test_system_users_have_no_email(refused: Refused, db_session: Session) -> None:
    with refused("ck_user_system_user_no_email"):
        db_session.add(
            User(username="_system", is_system=True, email="root@example.org")
        )


def test_several_system_users_share_the_empty_email(db_session: Session) -> None:
    db_session.add_all(
        [User(username="_system", is_system=True), User(username="_a", is_system=True)]
    )
    db_session.flush()
    assert (
        db_session.scalar(
            select(text("count(*)")).select_from(User).where(User.is_system)
        )
        == 2
    )


def test_deleting_a_user_deletes_memberships_and_tokens(db_session: Session) -> None:
    group = GroupFactory()
    token = TokenFactory(user__username="alice")
    user = token.user
    db_session.add(GroupMembership(group=group, user=user))
    db_session.flush()
    token_id = token.id
    db_session.delete(user)
    db_session.flush()
    db_session.expire_all()
    assert db_session.scalars(select(GroupMembership)).all() == []
    # A user's token never outlives the user (it would look like a worker's).
    assert db_session.get(Token, token_id) is None
    assert db_session.get(Group, group.id) is not None


def test_deleting_a_user_deletes_tokens_in_the_database(db_session: Session) -> None:
    token = TokenFactory()
    token_id, user_id = token.id, token.user_id
    db_session.execute(text('DELETE FROM "user" WHERE id = :id'), {"id": user_id})
    db_session.expire_all()
    assert db_session.get(Token, token_id) is None


# --- identities ---------------------------------------------------------------


def test_identity_unique_per_issuer_and_subject(
    refused: Refused, db_session: Session
) -> None:
    user = UserFactory()
    db_session.add(Identity(user_id=user.id, issuer="https://salsa", subject="42"))
    db_session.add(Identity(user_id=user.id, issuer="https://other", subject="42"))
    db_session.flush()
    with refused("uq_identity_issuer_subject"):
        db_session.add(Identity(issuer="https://salsa", subject="42"))


def test_identity_survives_its_user(db_session: Session) -> None:
    user = UserFactory()
    identity = Identity(user_id=user.id, issuer="https://salsa", subject="1")
    db_session.add(identity)
    db_session.flush()
    db_session.delete(user)
    db_session.flush()
    db_session.refresh(identity)
    assert identity.user_id is None


# --- groups ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "1admins", "_admins", "a b", "a/b"])
def test_invalid_group_name_refused_in_python(name: str) -> None:
    with pytest.raises(InvalidName, match="invalid group name"):
        Group(name=name)


@pytest.mark.parametrize("name", ["", "1admins", "_admins", "a b"])
def test_invalid_group_name_refused_by_database(
    refused: Refused, raw_insert, name: str
) -> None:
    scope = ScopeFactory()
    with refused("ck_group_name_valid"):
        raw_insert(Group, scope_id=scope.id, name=name)


def test_group_name_unique_per_scope(refused: Refused, db_session: Session) -> None:
    first = GroupFactory(name="Admins")
    GroupFactory(name="Admins")  # another scope: fine
    GroupFactory(scope=first.scope, name="admins")  # case differs: fine
    with refused("uq_group_scope_id_name"):
        db_session.add(Group(scope=first.scope, name="Admins"))


def test_group_membership(refused: Refused, raw_insert, db_session: Session) -> None:
    group, user = GroupFactory(), UserFactory()
    membership = GroupMembership(group=group, user=user)
    db_session.add(membership)
    db_session.flush()
    assert membership.role == GroupMembershipRoles.MEMBER
    with refused("pk_group_membership"):
        raw_insert(GroupMembership, group_id=group.id, user_id=user.id, role="admin")
    with refused("ck_group_membership_group_membership_role"):
        raw_insert(
            GroupMembership, group_id=group.id, user_id=UserFactory().id, role="owner"
        )


def test_deleting_a_group_deletes_memberships_and_audit_log(
    db_session: Session,
) -> None:
    group, user = GroupFactory(), UserFactory()
    db_session.add(GroupMembership(group=group, user=user))
    db_session.add(GroupAuditLog(group_id=group.id, actor_id=user.id, changes={"a": 1}))
    db_session.flush()
    db_session.delete(group)
    db_session.flush()
    assert db_session.scalars(select(GroupMembership)).all() == []
    assert db_session.scalars(select(GroupAuditLog)).all() == []
    assert db_session.get(User, user.id) is not None


def test_audit_log_keeps_entries_of_deleted_actors(db_session: Session) -> None:
    group, user = GroupFactory(), UserFactory()
    entry = GroupAuditLog(group_id=group.id, actor_id=user.id, changes={"action": "x"})
    db_session.add(entry)
    db_session.flush()
    db_session.delete(user)
    db_session.flush()
    db_session.refresh(entry)
    assert entry.actor_id is None


# --- tokens ---------------------------------------------------------------------


def test_generate_stores_only_the_hash(db_session: Session) -> None:
    token, key = Token.generate(user=UserFactory(), comment="laptop")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert token.hash == hashlib.sha256(key.encode()).hexdigest()
    assert token.hash == hash_token_key(key)
    assert token.hash != key
    db_session.add(token)
    db_session.flush()
    row = (
        db_session.execute(text("SELECT * FROM token WHERE id = :id"), {"id": token.id})
        .mappings()
        .one()
    )
    assert all(key not in str(value) for value in row.values())
    assert row["hash"] == hash_token_key(key)


def test_generated_keys_differ() -> None:
    (first, key1), (second, key2) = Token.generate(), Token.generate()
    assert key1 != key2
    assert first.hash != second.hash


def test_generated_tokens_are_disabled_until_enabled(db_session: Session) -> None:
    token, _ = Token.generate()
    db_session.add(token)
    db_session.flush()
    db_session.expire(token)
    assert token.enabled is False
    assert token.user is None
    assert not token.is_usable(dt.datetime.now(dt.UTC))


def test_token_hash_unique(refused: Refused, db_session: Session) -> None:
    token = TokenFactory()
    with refused("uq_token_hash"):
        db_session.add(Token(hash=token.hash))


def test_is_usable() -> None:
    now = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    second = dt.timedelta(seconds=1)
    assert Token(hash="x", enabled=True).is_usable(now)
    assert not Token(hash="x", enabled=False).is_usable(now)
    assert Token(hash="x", enabled=True, expire_at=now + second).is_usable(now)
    assert not Token(hash="x", enabled=True, expire_at=now).is_usable(now)
    assert not Token(hash="x", enabled=True, expire_at=now - second).is_usable(now)
    assert not Token(hash="x", enabled=False, expire_at=now + second).is_usable(now)
