"""create-scope, list-scopes."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import create_engine, pool, select, text
from sqlalchemy.orm import Session

from debusine.admin import main
from debusine.models import Group, Scope, ScopeRole, ScopeRoles
from tests import factories
from tests.admin.helpers import assert_error


def test_create_scope(admin, db_session):
    result = admin("create-scope", "debian", "--label", "Debian", "--icon", "d.svg")

    assert result.code == 0, result
    assert result.out == "Created scope debian\n"
    assert result.err == ""
    scope = db_session.scalar(select(Scope).where(Scope.name == "debian"))
    assert (scope.label, scope.icon) == ("Debian", "d.svg")
    assert scope.groups == []
    assert scope.roles == []


def test_create_scope_default_label(admin, db_session):
    assert admin("create-scope", "myscope").code == 0

    scope = db_session.scalar(select(Scope).where(Scope.name == "myscope"))
    assert scope.label == "Myscope"
    assert scope.icon == ""


def test_create_scope_with_owners_group(admin, db_session):
    result = admin("create-scope", "debian", "--with-owners-group", "Admins")

    assert result.code == 0, result
    assert "Created group debian/Admins, owner of the scope" in result.out
    scope = db_session.scalar(select(Scope).where(Scope.name == "debian"))
    (group,) = scope.groups
    assert group.name == "Admins"
    assert [(r.group, r.role) for r in scope.roles] == [(group, ScopeRoles.OWNER)]


def test_create_scope_duplicate(admin, unchanged):
    factories.ScopeFactory(name="debian")
    check = unchanged()

    result = admin("create-scope", "debian", "--with-owners-group", "Admins")

    assert_error(result, "scope 'debian' already exists")
    check()


def test_create_scope_duplicate_label(admin, unchanged):
    factories.ScopeFactory(name="debian", label="Debian")
    check = unchanged()

    result = admin("create-scope", "debian2", "--label", "Debian")

    assert_error(result, "a scope labelled 'Debian' already exists")
    check()


@pytest.mark.parametrize(
    ("name", "reason"),
    [("1debian", "must start with a letter"), ("api", "reserved"), ("a b", "letters")],
)
def test_create_scope_invalid_name(admin, unchanged, name, reason):
    check = unchanged()

    result = admin("create-scope", name)

    assert_error(result, f"invalid scope name {name!r}", reason)
    check()


def test_create_scope_invalid_owners_group(admin, unchanged):
    check = unchanged()

    result = admin("create-scope", "debian", "--with-owners-group", "Ad mins")

    assert_error(result, "invalid group name 'Ad mins'")
    check()


def test_create_scope_empty_label(admin, unchanged):
    check = unchanged()

    assert_error(admin("create-scope", "debian", "--label", " "), "label")
    check()


def test_list_scopes(admin):
    factories.WorkspaceFactory(scope=factories.ScopeFactory(name="debian"))
    factories.ScopeFactory(name="apertis", label="Apertis", icon="a.png")

    table = admin("list-scopes")
    data = admin("list-scopes", "--yaml")

    assert table.code == 0
    lines = table.out.splitlines()
    assert lines[0].split() == ["Name", "Label", "Icon", "Workspaces", "Created"]
    assert lines[2].split()[:4] == ["apertis", "Apertis", "a.png", "0"]
    assert lines[3].split()[:3] == ["debian", "Debian", "1"]
    assert data.code == 0
    assert [
        (s["name"], s["label"], s["icon"], s["workspaces"]) for s in data.yaml()
    ] == [
        ("apertis", "Apertis", "a.png", 0),
        ("debian", "Debian", "", 1),
    ]
    assert all(isinstance(s["created_at"], str) for s in data.yaml())


def test_list_scopes_empty(admin):
    assert admin("list-scopes", "--yaml").yaml() == []


def test_create_scope_race(scratch_database, capsys):
    """Another transaction inserts the scope between the check and the insert:
    the unique index refuses ours, reported like a duplicate."""
    engine = create_engine(scratch_database, poolclass=pool.NullPool)
    outcome: dict[str, int] = {}

    def create() -> None:
        with Session(engine) as session:
            outcome["code"] = main(["create-scope", "raced"], session=session)

    try:
        with engine.connect() as other:
            other.execute(text("INSERT INTO scope (name, label) VALUES ('raced', 'R')"))
            thread = threading.Thread(target=create)
            thread.start()
            # Wait until our insert waits for the other transaction.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with engine.connect() as watcher:
                    waiting = watcher.scalar(
                        text(
                            "SELECT count(*) FROM pg_stat_activity "
                            "WHERE datname = current_database() "
                            "AND wait_event_type = 'Lock'"
                        )
                    )
                if waiting:
                    break
                time.sleep(0.05)
            else:
                pytest.fail("the second insert never waited")
            other.commit()
            thread.join(30)
    finally:
        engine.dispose()

    assert outcome["code"] == 3
    err = capsys.readouterr().err
    assert err == "debusine-admin: error: scope 'raced' already exists\n"
    with Session(create_engine(scratch_database, poolclass=pool.NullPool)) as session:
        assert session.scalars(select(Scope.label)).all() == ["R"]
        assert session.scalars(select(Group)).all() == []
        assert session.scalars(select(ScopeRole)).all() == []
