"""Running `debusine-admin` in-process against the test's session."""

from __future__ import annotations

import io
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from debusine.admin import main
from tests.admin.helpers import Admin, Result, row_counts


@pytest.fixture
def admin(
    db_session: Session,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Admin:
    """`admin("create-scope", "x")` runs the command in the test's session.

    What the test set up before is committed first (inside the test's
    transaction), as it would be in a real database: a failing command rolls
    back its own changes only.
    """
    # No development.ini here: settings come from the defaults.
    monkeypatch.chdir(tmp_path)

    def run(*argv: str, stdin: str | None = None) -> Result:
        db_session.commit()
        capsys.readouterr()
        if stdin is not None:
            monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(argv), session=db_session)
        out, err = capsys.readouterr()
        return Result(code, out, err)

    return run


@pytest.fixture
def unchanged(db_session: Session) -> Callable[[], Callable[[], None]]:
    """`check = unchanged()` before a command, `check()` after: no rows added
    or removed anywhere."""

    def snapshot() -> Callable[[], None]:
        db_session.commit()
        before = row_counts(db_session)

        def check() -> None:
            after = row_counts(db_session)
            assert after == before, {
                name: (before[name], after[name])
                for name in before
                if before[name] != after[name]
            }

        return check

    return snapshot
