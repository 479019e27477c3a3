"""bootstrap."""

from __future__ import annotations

import stat

from sqlalchemy import select

from debusine.admin import bootstrap
from debusine.models import (
    Collection,
    Group,
    GroupMembership,
    GroupMembershipRoles,
    Scope,
    ScopeRole,
    ScopeRoles,
    Token,
    User,
    Workspace,
)
from debusine.models.auth import hash_token_key
from debusine.models.collections import SINGLETON_COLLECTION_CATEGORIES
from tests import factories
from tests.admin.helpers import assert_error, row_counts


def test_bootstrap(admin, db_session, tmp_path):
    token_file = tmp_path / "secrets" / "admin-token"

    result = admin("bootstrap", "--token-file", str(token_file))

    assert result.code == 0, result
    assert result.out.splitlines() == [
        "Created scope debusine",
        "Created workspace debusine/System",
        "Created group debusine/Admins",
        "Granted owner on scope debusine to group Admins",
        "Created superuser admin",
        "Made admin an admin of debusine/Admins",
        f"Wrote the API token of admin to {token_file}",
    ]
    scope = db_session.scalar(select(Scope))
    assert (scope.name, scope.label) == ("debusine", "Debusine")
    workspace = db_session.scalar(select(Workspace))
    assert workspace.full_name == "debusine/System"
    assert sorted(
        db_session.scalars(
            select(Collection.category).where(
                Collection.workspace_id == workspace.id, Collection.name == "_"
            )
        )
    ) == sorted(SINGLETON_COLLECTION_CATEGORIES)
    group = db_session.scalar(select(Group))
    assert group.name == "Admins"
    assert [(r.group, r.role) for r in db_session.scalars(select(ScopeRole))] == [
        (group, ScopeRoles.OWNER)
    ]
    user = db_session.scalar(select(User))
    assert user.username == "admin"
    assert user.is_superuser
    assert [(m.group, m.role) for m in user.memberships] == [
        (group, GroupMembershipRoles.ADMIN)
    ]
    key = token_file.read_text().strip()
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    token = db_session.scalar(select(Token))
    assert token.user == user
    assert token.hash == hash_token_key(key)
    assert token.enabled


def test_bootstrap_twice_changes_nothing(admin, db_session, tmp_path):
    token_file = tmp_path / "admin-token"
    assert admin("bootstrap", "--token-file", str(token_file)).code == 0
    key = token_file.read_text()
    counts = row_counts(db_session)

    again = admin("bootstrap", "--token-file", str(token_file))

    assert again.code == 0, again
    assert again.out == ""
    assert row_counts(db_session) == counts
    assert token_file.read_text() == key


def test_bootstrap_settings_and_options(admin, db_session, tmp_path, monkeypatch):
    monkeypatch.setenv("DEBUSINE_DEFAULT_SCOPE", "debian")
    monkeypatch.setenv("DEBUSINE_DATA_DIR", str(tmp_path / "data"))

    result = admin("bootstrap", "--workspace", "developers", "--admin", "root")

    assert result.code == 0, result
    token_file = tmp_path / "data" / "admin-token"
    assert result.out.splitlines()[-1] == f"Wrote the API token of root to {token_file}"
    assert token_file.is_file()
    assert db_session.scalar(select(Workspace)).full_name == "debian/developers"
    assert db_session.scalar(select(User)).username == "root"


def test_bootstrap_completes_a_partial_setup(admin, db_session, tmp_path):
    scope = factories.ScopeFactory(name="debusine")
    workspace = factories.WorkspaceFactory(scope=scope, name="System")
    factories.UserFactory(username="admin", is_superuser=False)
    token_file = tmp_path / "admin-token"
    token_file.write_text("existing\n")

    result = admin("bootstrap", "--token-file", str(token_file))

    assert result.code == 0, result
    assert result.out.splitlines() == [
        "Created the collections debian:archive, debian:package-build-logs, "
        "debusine:task-history in debusine/System",
        "Created group debusine/Admins",
        "Granted owner on scope debusine to group Admins",
        "Made admin an active superuser",
        "Made admin an admin of debusine/Admins",
    ]
    assert token_file.read_text() == "existing\n"
    assert db_session.scalars(select(Token)).all() == []
    assert len(
        db_session.scalars(
            select(Collection).where(Collection.workspace_id == workspace.id)
        ).all()
    ) == len(SINGLETON_COLLECTION_CATEGORIES)
    assert db_session.scalars(select(GroupMembership)).one().role == (
        GroupMembershipRoles.ADMIN
    )


def test_bootstrap_invalid_admin_name(admin, db_session, tmp_path):
    token_file = tmp_path / "admin-token"
    counts = row_counts(db_session)

    result = admin("bootstrap", "--admin", "1admin", "--token-file", str(token_file))

    assert_error(result, "invalid user name '1admin'")
    assert row_counts(db_session) == counts
    assert not token_file.exists()


def test_bootstrap_token_file_is_a_directory(admin, db_session, tmp_path):
    counts = row_counts(db_session)

    result = admin("bootstrap", "--token-file", str(tmp_path))

    assert_error(result, f"{tmp_path} exists and is not a file")
    assert row_counts(db_session) == counts


def test_bootstrap_token_file_under_a_file(admin, db_session, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    counts = row_counts(db_session)

    result = admin("bootstrap", "--token-file", str(blocker / "admin-token"))

    assert_error(
        result,
        f"cannot create {blocker / 'admin-token'}: {blocker} is not a directory",
    )
    assert row_counts(db_session) == counts


def test_bootstrap_token_file_appears_meanwhile(admin, tmp_path, monkeypatch):
    """The file is created by someone else before the commit: it is not
    replaced, and the error says so after the database work is committed."""
    token_file = tmp_path / "admin-token"
    real_write_secret = bootstrap.write_secret

    def racing_write_secret(path, content):
        path.write_text("theirs\n")
        real_write_secret(path, content)

    monkeypatch.setattr(bootstrap, "write_secret", racing_write_secret)

    result = admin("bootstrap", "--token-file", str(token_file))

    assert result.code == 3
    assert result.out.startswith("Created scope debusine\n")
    assert result.err == (
        f"debusine-admin: error: cannot create {token_file}: File exists\n"
    )
    assert token_file.read_text() == "theirs\n"
