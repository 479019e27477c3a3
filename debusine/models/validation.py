"""Name rules shared by scopes, groups, workspaces and collections."""

from __future__ import annotations

import re
from collections.abc import Iterable

from debusine.errors import DomainError

# The same rule as upstream Debusine: a letter, then letters, digits, + . _ -
NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9+._-]*$"
NAME_RE = re.compile(NAME_PATTERN)
NAME_MAX_LENGTH = 255

RESERVED_SCOPE_NAMES = frozenset(
    {
        "accounts",
        "admin",
        "api",
        "api-auth",
        "artifact",
        "static",
        "task-status",
        "user",
        "workers",
        "work-request",
        "workspace",
    }
)
RESERVED_WORKSPACE_NAMES = frozenset(
    {
        "accounts",
        "artifact",
        "collection",
        "task-status",
        "user",
        "workers",
        "work-request",
        "workspaces",
        "workflow-template",
    }
)


class InvalidName(DomainError):
    pass


class DuplicateName(DomainError):
    pass


def validate_name(
    kind: str,
    name: str,
    reserved: Iterable[str] = (),
    max_length: int = NAME_MAX_LENGTH,
) -> str:
    """Return `name` if it is a valid `kind` name, else raise InvalidName."""
    # fullmatch: `$` alone would also accept a trailing newline, which
    # PostgreSQL's `~` refuses.
    if not isinstance(name, str) or not NAME_RE.fullmatch(name):
        raise InvalidName(
            f"invalid {kind} name {name!r}: it must start with a letter and contain "
            "only letters, digits and + . _ -"
        )
    if len(name) > max_length:
        raise InvalidName(f"invalid {kind} name {name!r}: longer than {max_length}")
    if name in set(reserved):
        raise InvalidName(f"invalid {kind} name {name!r}: the name is reserved")
    return name


def sql_name_check(column: str, reserved: Iterable[str] = ()) -> str:
    """The same rule as `validate_name`, as a CHECK constraint expression."""
    expression = f"{column} ~ '{NAME_PATTERN}'"
    names = sorted(reserved)
    if names:
        quoted = ", ".join(f"'{n}'" for n in names)
        expression += f" AND {column} NOT IN ({quoted})"
    return expression
