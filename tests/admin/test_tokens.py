"""create-token, list-tokens, enable-token, disable-token, delete-token."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select

from debusine.models import Token, User
from debusine.models.auth import hash_token_key
from tests import factories
from tests.admin.helpers import assert_error, assert_usage_error


def test_create_token(admin, db_session):
    alice = factories.UserFactory(username="alice")

    result = admin("create-token", "alice", "--comment", "laptop")

    assert result.code == 0, result
    assert result.err == ""
    key = result.out.removesuffix("\n")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    token = db_session.scalar(select(Token).where(Token.user_id == alice.id))
    assert token.hash == hash_token_key(key)
    assert token.hash != key
    assert token.enabled
    assert token.comment == "laptop"
    assert token.expire_at is None
    assert token.is_usable(dt.datetime.now(dt.UTC))


def test_create_token_expires(admin, db_session):
    factories.UserFactory(username="alice")
    before = dt.datetime.now(dt.UTC)

    result = admin("create-token", "alice", "--expires-in", "30")

    token = db_session.scalar(
        select(Token).where(Token.hash == hash_token_key(result.out.strip()))
    )
    assert (
        before + dt.timedelta(days=30)
        <= token.expire_at
        <= dt.datetime.now(dt.UTC) + dt.timedelta(days=30)
    )


def test_create_token_bad_expiry(admin):
    factories.UserFactory(username="alice")

    assert_usage_error(admin("create-token", "alice", "--expires-in", "0"), "positive")


def test_create_token_unknown_user(admin, unchanged):
    check = unchanged()

    assert_error(admin("create-token", "nobody"), "unknown user 'nobody'")
    check()


def test_create_token_system_user(admin, db_session, unchanged):
    db_session.add(User(username="_system", is_system=True))
    check = unchanged()

    assert_error(admin("create-token", "_system"), "system user")
    check()


def test_list_tokens(admin, db_session):
    alice = factories.UserFactory(username="alice")
    bob = factories.UserFactory(username="bob")
    first = factories.TokenFactory(user=alice, comment="laptop")
    second = factories.TokenFactory(user=bob, comment="ci", enabled=False)
    worker = factories.WorkerFactory(name="builder", token__comment="worker")
    ids = (first.id, second.id, worker.token.id)
    keys = (first.key, second.key, worker.token.key)

    table = admin("list-tokens")
    data = admin("list-tokens", "--yaml").yaml()
    only_alice = admin("list-tokens", "--user", "alice", "--yaml").yaml()

    assert table.code == 0, table
    assert table.out.splitlines()[0].split() == [
        "ID",
        "User",
        "Worker",
        "Comment",
        "Enabled",
        "Created",
        "Expires",
        "Last",
        "seen",
    ]
    assert [line.split()[:5] for line in table.out.splitlines()[2:]] == [
        [str(ids[0]), "alice", "-", "laptop", "yes"],
        [str(ids[1]), "bob", "-", "ci", "no"],
        [str(ids[2]), "-", "builder", "worker", "yes"],
    ]
    assert [(t["id"], t["user"], t["worker"], t["enabled"]) for t in data] == [
        (ids[0], "alice", None, True),
        (ids[1], "bob", None, False),
        (ids[2], None, "builder", True),
    ]
    assert set(data[0]) == {
        "id",
        "user",
        "worker",
        "comment",
        "enabled",
        "created_at",
        "expire_at",
        "last_seen_at",
    }
    for key in keys:
        assert key not in table.out
        assert key not in str(data)
        assert hash_token_key(key) not in str(data)
    assert [t["id"] for t in only_alice] == [ids[0]]


def test_list_tokens_unknown_user(admin):
    assert_error(admin("list-tokens", "--user", "nobody"), "unknown user 'nobody'")


def test_enable_disable_token(admin, db_session):
    token = factories.TokenFactory(enabled=False)

    enabled = admin("enable-token", str(token.id))
    db_session.refresh(token)
    assert token.enabled
    disabled = admin("disable-token", str(token.id))
    db_session.refresh(token)
    assert not token.enabled

    assert enabled.out == f"Enabled token {token.id}\n"
    assert disabled.out == f"Disabled token {token.id}\n"


def test_delete_token(admin, db_session):
    token = factories.TokenFactory()
    token_id = token.id

    result = admin("delete-token", str(token_id))

    assert result.code == 0, result
    assert result.out == f"Deleted token {token_id}\n"
    db_session.expire_all()
    assert db_session.get(Token, token_id) is None


def test_token_commands_unknown_token(admin, unchanged):
    check = unchanged()

    for command in ("enable-token", "disable-token", "delete-token"):
        assert_error(admin(command, "999999"), "unknown token 999999")
    check()


def test_token_commands_worker_token(admin, db_session, unchanged):
    worker = factories.WorkerFactory(name="builder")
    token_id = worker.token.id
    check = unchanged()

    assert_error(admin("disable-token", str(token_id)), "use disable-worker")
    assert_error(admin("delete-token", str(token_id)), "belongs to worker builder")
    check()
    db_session.expire_all()
    assert db_session.get(Token, token_id).enabled


def test_token_commands_bad_id(admin):
    assert_usage_error(admin("delete-token", "abc"), "'abc' is not a number")
