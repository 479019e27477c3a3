"""Helpers for the model tests: expecting the database to refuse a change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

Refused = Callable[..., AbstractContextManager[None]]


def constraint_of(error: DBAPIError) -> str | None:
    """The name of the constraint PostgreSQL reported, if any."""
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


@pytest.fixture
def refused(db_session: Session) -> Refused:
    """`with refused("ck_scope_name_valid"): ...` expects that very constraint.

    With several names, any one of them will do (when a row breaks two
    constraints, PostgreSQL reports only one). The block runs in a savepoint
    that is flushed at its end; the violation rolls the savepoint back and
    leaves the test's session usable.
    """

    @contextmanager
    def expect(*constraints: str) -> Iterator[None]:
        with pytest.raises(IntegrityError) as excinfo, db_session.begin_nested():
            yield
        assert constraint_of(excinfo.value) in constraints, excinfo.value

    return expect


@pytest.fixture
def raw_insert(db_session: Session) -> Callable[..., Any]:
    """Insert a row with Core, past every Python-side validator."""

    def do(model: Any, **values: Any) -> Any:
        result = db_session.execute(insert(model.__table__).values(**values))
        return result.inserted_primary_key[0] if result.inserted_primary_key else None

    return do
