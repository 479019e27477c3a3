"""create-user, list-users, manage-user."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from debusine.models import User
from tests import factories
from tests.admin.helpers import assert_error, assert_usage_error


def get(db_session, username: str) -> User:
    return db_session.scalar(select(User).where(User.username == username))


def test_create_user(admin, db_session):
    result = admin(
        "create-user", "alice", "alice@example.org", "--full-name", "Alice Liddell"
    )

    assert result.code == 0, result
    assert result.out == "Created user alice\n"
    user = get(db_session, "alice")
    assert (user.email, user.full_name) == ("alice@example.org", "Alice Liddell")
    assert user.is_active
    assert not user.is_superuser
    assert not user.is_system


def test_create_superuser_without_email(admin, db_session):
    result = admin("create-user", "root", "--superuser")

    assert result.code == 0, result
    assert result.out == "Created user root (superuser)\n"
    user = get(db_session, "root")
    assert user.email == ""
    assert user.is_superuser


def test_create_user_duplicate(admin, unchanged):
    factories.UserFactory(username="alice")
    check = unchanged()

    assert_error(admin("create-user", "alice"), "user 'alice' already exists")
    check()


def test_create_user_duplicate_email(admin, unchanged):
    factories.UserFactory(username="alice", email="a@example.org")
    check = unchanged()

    result = admin("create-user", "bob", "a@example.org")

    assert_error(result, "email address 'a@example.org' is already used by alice")
    check()


@pytest.mark.parametrize("username", ["_system", "1alice", "al ice", "a" * 151])
def test_create_user_invalid_name(admin, unchanged, username):
    check = unchanged()

    assert_error(admin("create-user", username), "invalid user name")
    check()


def test_create_user_invalid_email(admin, unchanged):
    check = unchanged()

    assert_error(
        admin("create-user", "alice", "alice"), "invalid email address 'alice'"
    )
    check()


def test_list_users(admin):
    factories.UserFactory(
        username="bob", email="b@example.org", full_name="Bob", is_superuser=True
    )
    factories.UserFactory(username="alice", email="a@example.org", full_name="Alice")

    table = admin("list-users")
    data = admin("list-users", "--yaml").yaml()

    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split() == [
        "Username",
        "Email",
        "Full",
        "name",
        "Active",
        "Superuser",
        "Created",
    ]
    rows = [line.split() for line in lines[2:]]
    assert [row[:5] for row in rows] == [
        ["alice", "a@example.org", "Alice", "yes", "no"],
        ["bob", "b@example.org", "Bob", "yes", "yes"],
    ]
    assert [(u["username"], u["superuser"], u["active"]) for u in data] == [
        ("alice", False, True),
        ("bob", True, True),
    ]


def test_manage_user(admin, db_session):
    factories.UserFactory(username="alice", email="a@example.org")

    result = admin(
        "manage-user",
        "alice",
        "--email",
        "alice@example.com",
        "--full-name",
        "Alice L",
        "--inactive",
        "--superuser",
    )

    assert result.code == 0, result
    assert result.out == (
        "Updated user alice: email alice@example.com, full name 'Alice L', "
        "inactive, superuser\n"
    )
    user = get(db_session, "alice")
    assert (user.email, user.full_name) == ("alice@example.com", "Alice L")
    assert not user.is_active
    assert user.is_superuser

    result = admin("manage-user", "alice", "--active", "--no-superuser")

    assert result.out == "Updated user alice: active, not superuser\n"
    db_session.refresh(user)
    assert user.is_active
    assert not user.is_superuser


def test_manage_user_unchanged(admin):
    factories.UserFactory(username="alice", email="a@example.org")

    result = admin("manage-user", "alice", "--email", "a@example.org", "--active")

    assert result.code == 0
    assert result.out == "User alice unchanged\n"


def test_manage_user_nothing_to_do(admin):
    factories.UserFactory(username="alice")

    assert_usage_error(admin("manage-user", "alice"), "nothing to change")


def test_manage_user_conflicting_options(admin):
    factories.UserFactory(username="alice")

    assert_usage_error(admin("manage-user", "alice", "--active", "--inactive"))


def test_manage_user_unknown(admin, unchanged):
    check = unchanged()

    assert_error(admin("manage-user", "nobody", "--inactive"), "unknown user 'nobody'")
    check()


def test_manage_user_duplicate_email(admin, db_session):
    factories.UserFactory(username="alice", email="a@example.org")
    factories.UserFactory(username="bob", email="b@example.org")

    result = admin("manage-user", "bob", "--email", "a@example.org", "--inactive")

    assert_error(result, "email address 'a@example.org' is already used by alice")
    bob = get(db_session, "bob")
    assert bob.email == "b@example.org"
    assert bob.is_active


def test_manage_system_user(admin, db_session):
    db_session.add(User(username="_system", is_system=True))

    assert_error(admin("manage-user", "_system", "--inactive"), "system user")
