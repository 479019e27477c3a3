"""Helpers for the `debusine-admin` tests: results and error expectations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from debusine.db.base import metadata


@dataclass
class Result:
    code: int
    out: str
    err: str

    def yaml(self) -> Any:
        return yaml.safe_load(self.out)


Admin = Callable[..., Result]


def row_counts(session: Session) -> dict[str, int]:
    """How many rows each table has."""
    return {
        name: session.scalar(select(func.count()).select_from(table)) or 0
        for name, table in metadata.tables.items()
    }


def assert_error(result: Result, *fragments: str) -> None:
    """Exit status 3, one line on stderr naming the problem, nothing on stdout."""
    assert result.code == 3, result
    assert result.out == ""
    assert result.err.startswith("debusine-admin: error: "), result.err
    assert result.err.endswith("\n")
    assert result.err.count("\n") == 1, result.err
    assert "Traceback" not in result.err
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)


def assert_usage_error(result: Result, *fragments: str) -> None:
    assert result.code == 2, result
    assert "usage:" in result.err
    for fragment in fragments:
        assert fragment in result.err, (fragment, result.err)
