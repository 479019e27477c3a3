"""migrate."""

from __future__ import annotations

from alembic.script import ScriptDirectory

from debusine.db.migrations import alembic_config
from tests.admin.helpers import assert_error


def head() -> str:
    revision = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert revision
    return revision


def test_migrate_up_to_date(admin):
    result = admin("migrate")

    assert result.code == 0, result
    assert result.out == f"The database is already at revision {head()}.\n"


def test_migrate_unknown_revision(admin):
    assert_error(admin("migrate", "nonexistent"), "cannot migrate to nonexistent")
