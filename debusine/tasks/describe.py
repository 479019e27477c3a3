"""What tasks derive from their resolved lookups: `subject` and context.

The task configuration is chosen by them (`T:N:SUBJECT:CONTEXT`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from debusine.tasks.base import Resolved, ResolvedLookup


def _first(resolved: Resolved, key: str) -> ResolvedLookup | None:
    """The lookup's result, or the first of a multiple lookup's results."""
    value = resolved.get(key)
    if isinstance(value, list):
        return value[0] if value else None
    return value


def source_name(data: Mapping[str, Any]) -> str | None:
    """The source package name in a source, binary or upload artifact's data."""
    changes = data.get("changes_fields") or {}
    name = data.get("name") or data.get("srcpkg_name") or changes.get("Source")
    # An upload's Source may carry a version: "hello (1.0-1)".
    return str(name).split()[0] if name else None


def describe_source_and_environment(
    resolved: Resolved, source_key: str
) -> dict[str, Any]:
    """`subject`: the source package name of what `source_key` found;
    `configuration_context`: the environment's codename."""
    described: dict[str, Any] = {}
    source = _first(resolved, source_key)
    if source is not None:
        name = source_name(source.data)
        if name:
            described["subject"] = str(name)
    environment_ = _first(resolved, "environment_id")
    if environment_ is not None:
        codename = environment_.data.get("codename")
        if codename:
            described["configuration_context"] = str(codename)
    return described
