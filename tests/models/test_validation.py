"""The name rule, in Python and as the SQL CHECK expression behind it."""

from __future__ import annotations

import pytest
from sqlalchemy import bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from debusine.models.validation import (
    RESERVED_SCOPE_NAMES,
    RESERVED_WORKSPACE_NAMES,
    DomainError,
    InvalidName,
    sql_name_check,
    validate_name,
)

VALID = ["a", "Z", "debian", "Debian-12", "a.b_c+d-e", "x1", "A" * 255]
INVALID = [
    "",
    "1debian",
    "_private",
    "-x",
    ".x",
    "+x",
    "a b",
    "a/b",
    "a:b",
    "a@b",
    "é",
    "aé",
    "naïve",
    "ß",
    "a\n",
    "\na",
    "a\tb",
    "\uff26",  # FULLWIDTH LATIN CAPITAL LETTER F
]
# Names the Python rule and the SQL rule must agree on, including tricky ones.
CANDIDATES = [*VALID, *INVALID, "api", "API", "admin", "workspaces", "static"]


@pytest.mark.parametrize("name", VALID)
def test_valid_names(name: str) -> None:
    assert validate_name("scope", name) == name


@pytest.mark.parametrize("name", INVALID)
def test_invalid_names(name: str) -> None:
    with pytest.raises(InvalidName, match="must start with a letter"):
        validate_name("widget", name)


def test_message_names_the_kind_and_the_value() -> None:
    with pytest.raises(InvalidName) as excinfo:
        validate_name("widget", "1bad")
    assert str(excinfo.value).startswith("invalid widget name '1bad'")


def test_invalid_name_is_a_domain_error_and_a_value_error() -> None:
    assert issubclass(InvalidName, DomainError)
    assert issubclass(InvalidName, ValueError)


def test_not_a_string() -> None:
    with pytest.raises(InvalidName):
        validate_name("scope", None)  # type: ignore[arg-type]
    with pytest.raises(InvalidName):
        validate_name("scope", 42)  # type: ignore[arg-type]


def test_max_length() -> None:
    assert validate_name("channel", "a" * 20, max_length=20) == "a" * 20
    with pytest.raises(InvalidName, match="longer than 20"):
        validate_name("channel", "a" * 21, max_length=20)
    with pytest.raises(InvalidName, match="longer than 255"):
        validate_name("scope", "a" * 256)


def test_reserved() -> None:
    with pytest.raises(InvalidName, match="'api': the name is reserved"):
        validate_name("scope", "api", RESERVED_SCOPE_NAMES)
    # Reserved names are compared exactly.
    assert validate_name("scope", "API", RESERVED_SCOPE_NAMES) == "API"
    assert validate_name("scope", "apis", RESERVED_SCOPE_NAMES) == "apis"
    # Accepts any iterable, also a one-shot generator.
    with pytest.raises(InvalidName, match="reserved"):
        validate_name("scope", "x", (n for n in ["x"]))


def test_reserved_lists() -> None:
    assert {"api", "admin", "api-auth", "accounts", "workspace"} <= RESERVED_SCOPE_NAMES
    assert {"workspaces", "collection", "artifact"} <= RESERVED_WORKSPACE_NAMES


def test_sql_name_check_without_reserved_names() -> None:
    assert sql_name_check("name") == "name ~ '^[A-Za-z][A-Za-z0-9+._-]*$'"


def _sql_verdicts(session: Session, reserved: frozenset[str]) -> dict[str, bool]:
    query = text(
        f"SELECT n, coalesce({sql_name_check('n', reserved)}, false)"  # noqa: S608
        " FROM unnest(:names) AS n"
    ).bindparams(bindparam("names", type_=ARRAY(Text)))
    return dict(session.execute(query, {"names": CANDIDATES}).tuples().all())


def _python_verdict(name: str, reserved: frozenset[str]) -> bool:
    try:
        validate_name("x", name, reserved)
    except InvalidName:
        return False
    return True


@pytest.mark.parametrize(
    "reserved", [frozenset(), RESERVED_SCOPE_NAMES, RESERVED_WORKSPACE_NAMES]
)
def test_python_and_sql_rules_agree(
    db_session: Session, reserved: frozenset[str]
) -> None:
    """A name the validator lets through must never surprise the database."""
    verdicts = _sql_verdicts(db_session, reserved)
    python = {name: _python_verdict(name, reserved) for name in CANDIDATES}
    assert python == verdicts
