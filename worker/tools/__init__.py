"""Real Debian tools: their command lines and the parsing of their output.

One module per tool. Each builds the tool's argv from task data (pure
functions, no I/O) and turns the tool's real output into the data of the
artifact categories in `debusine.artifacts.schemas`. Output that is not what
the tool writes raises ToolOutputError with a message a user can act on.
"""

from __future__ import annotations

import re


class ToolOutputError(ValueError):
    """A tool's output could not be understood (truncated, wrong file, ...)."""


class ToolCommandError(ValueError):
    """The task data cannot make a valid command line."""


# Debian architecture and distribution names: no spaces, no option lookalikes.
ARCHITECTURE_RE = re.compile(r"[a-z0-9][a-z0-9-]*")
DISTRIBUTION_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+_-]*")


def check_name(kind: str, value: str, pattern: re.Pattern[str]) -> str:
    """`value` if it is a valid `kind` name, else ToolCommandError."""
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise ToolCommandError(f"invalid {kind} {value!r}")
    return value


def check_flags(tool: str, flags: list[str], allowed: frozenset[str]) -> list[str]:
    """`flags` if each is one of `allowed` (the options a task may pass)."""
    for flag in flags:
        if flag not in allowed:
            raise ToolCommandError(
                f"{tool} option {flag!r} is not allowed; use one of "
                + ", ".join(sorted(allowed))
            )
    return list(flags)
