"""Task-data fields shared by the Debian tasks: lookups, backends, repositories.

Lookups are only checked for their shape here (an id, a string, a
dictionary or a list): the server resolves them before the task runs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import (
    RAISE,
    Schema,
    ValidationError,
    fields,
    validate,
    validates_schema,
)

# `auto` means the default one: unshare, the only executor a worker has here.
BACKENDS = ("auto", "unshare")
DEFAULT_BACKEND = "unshare"
ARCHITECTURE_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# dpkg's source and binary package names.
PACKAGE_NAME_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]+$")
SUITE_RE = re.compile(r"^[A-Za-z0-9.][A-Za-z0-9.+_/-]*$")
# `vendor:codename`, e.g. `debian:bookworm`.
DISTRIBUTION_RE = re.compile(r"^[a-z0-9][a-z0-9.+-]*:[A-Za-z0-9][A-Za-z0-9.+_-]*$")


def check_lookup_single(value: Any) -> int | str:
    """A single lookup: a positive artifact id or a non-empty lookup string."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValidationError("Must be an id or a lookup string.")
    if isinstance(value, int) and value <= 0:
        raise ValidationError("An id must be positive.")
    if isinstance(value, str) and not value.strip():
        raise ValidationError("A lookup string must not be empty.")
    return value


def check_lookup_multiple(value: Any) -> dict[str, Any] | list[Any]:
    """A multiple lookup: `{collection: ..., filters}` or a list of lookups."""
    if isinstance(value, Mapping):
        if not value.get("collection"):
            raise ValidationError("A lookup dictionary needs a 'collection'.")
        return dict(value)
    if isinstance(value, (list, tuple)):
        items: list[Any] = []
        for index, item in enumerate(value):
            try:
                items.append(
                    check_lookup_multiple(item)
                    if isinstance(item, Mapping)
                    else check_lookup_single(item)
                )
            except ValidationError as exc:
                raise ValidationError({index: exc.messages}) from exc
        return items
    raise ValidationError("Must be a list of lookups or a lookup dictionary.")


class LookupSingle(fields.Field):
    """`123`, `debian@debian:environments/match:codename=bookworm`, ..."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> int | str:
        return check_lookup_single(value)


class LookupMultiple(fields.Field):
    """A list of single lookups or dictionaries, or one lookup dictionary."""

    def _deserialize(
        self, value: Any, attr: str | None, data: Any, **kwargs: Any
    ) -> dict[str, Any] | list[Any]:
        return check_lookup_multiple(value)


class StrictSchema(Schema):
    """Nested task-data objects refuse unknown keys, like the task data."""

    class Meta:
        unknown = RAISE


def architecture(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(ARCHITECTURE_RE, error="Not a Debian architecture."),
        **kwargs,
    )


def backend() -> fields.String:
    return fields.String(
        load_default=DEFAULT_BACKEND, validate=validate.OneOf(BACKENDS)
    )


def environment(required: bool = False) -> LookupSingle:
    if required:
        return LookupSingle(required=True)
    return LookupSingle(load_default=None, allow_none=True)


def distribution(**kwargs: Any) -> fields.String:
    return fields.String(
        validate=validate.Regexp(
            DISTRIBUTION_RE, error="Must be vendor:codename, e.g. debian:bookworm."
        ),
        **kwargs,
    )


def flags(allowed: frozenset[str]) -> fields.List:
    """A list of command-line flags the task lets users add."""
    return fields.List(
        fields.String(
            validate=validate.OneOf(
                sorted(allowed), error="Unsupported flag; use one of {choices}."
            )
        ),
        load_default=list,
    )


class ExtraRepositorySchema(StrictSchema):
    """An APT repository added to the task's environment.

    `suite` ending in `/` is a flat repository, which takes no components.
    """

    url = fields.Url(required=True, schemes={"http", "https", "file"})
    suite = fields.String(
        required=True,
        validate=validate.Regexp(SUITE_RE, error="Not a valid suite name."),
    )
    components = fields.List(
        fields.String(validate=validate.Regexp(PACKAGE_NAME_RE)),
        load_default=None,
        allow_none=True,
    )
    signing_key = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _flat_has_no_components(self, data: dict[str, Any], **kwargs: Any) -> None:
        flat = data.get("suite", "").endswith("/")
        if flat and data.get("components"):
            raise ValidationError(
                "A flat repository (suite ending in '/') takes no components.",
                "components",
            )
        if not flat and not data.get("components"):
            raise ValidationError(
                "A repository suite needs at least one component.", "components"
            )


def extra_repositories() -> fields.List:
    return fields.List(
        fields.Nested(ExtraRepositorySchema), load_default=None, allow_none=True
    )


__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "ExtraRepositorySchema",
    "LookupMultiple",
    "LookupSingle",
    "StrictSchema",
    "architecture",
    "backend",
    "check_lookup_multiple",
    "check_lookup_single",
    "distribution",
    "environment",
    "extra_repositories",
    "flags",
]
