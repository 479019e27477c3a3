"""What each collection category keeps in its own `data`, validated.

Checked where users set a collection's data (`debusine-admin
create-collection` and `edit-collection`); the category rules read these
keys (`may_reuse_versions`, `old_items_to_keep`...). Unknown keys are refused
so that a typo does not silently leave a default in place.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from debusine.errors import DomainError

# An OpenPGP fingerprint: 40 (v4) or 64 (v5/v6) hexadecimal digits.
FINGERPRINT = re.compile(r"[0-9A-F]{40}([0-9A-F]{24})?")


class InvalidCollectionData(DomainError):
    """A collection's data does not match its category's schema."""

    def __init__(self, category: str, errors: Mapping[str, Any]) -> None:
        self.errors = dict(errors)
        details = "; ".join(
            f"{field}: {_text(messages)}"
            for field, messages in sorted(self.errors.items())
        )
        super().__init__(f"Invalid data for a {category} collection: {details}")


def _text(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{key}: {_text(value)}" for key, value in messages.items())
    if isinstance(messages, list):
        return " ".join(_text(message) for message in messages)
    return str(messages)


class _Strict(Schema):
    class Meta:
        unknown = RAISE


def _signing_keys() -> fields.List:
    return fields.List(
        fields.String(
            validate=validate.Regexp(
                FINGERPRINT,
                error="not an OpenPGP fingerprint (40 or 64 uppercase hex digits)",
            )
        )
    )


def _names() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Regexp(r"[a-z0-9][a-z0-9.+-]*")),
    )


class SuiteData(_Strict):
    components = _names()
    architectures = _names()
    release_fields = fields.Dict(keys=fields.String(), values=fields.String())
    may_reuse_versions = fields.Boolean()
    duplicate_architecture_all = fields.Boolean()
    signing_keys = _signing_keys()


class ArchiveData(_Strict):
    may_reuse_versions = fields.Boolean()
    signing_keys = _signing_keys()


class KeepData(_Strict):
    old_items_to_keep = fields.Integer(strict=True, validate=validate.Range(min=1))


class QAResultsData(KeepData):
    # A lookup of the debian:suite the results are about.
    suite_collection = fields.Raw(
        validate=lambda value: (
            isinstance(value, str | int) and not isinstance(value, bool)
        )
    )


class TaskConfigurationData(_Strict):
    git_commit = fields.String(validate=validate.Regexp(r"[0-9a-f]{7,64}"))


DATA_SCHEMAS: dict[str, type[Schema]] = {
    "debian:suite": SuiteData,
    "debian:archive": ArchiveData,
    "debian:qa-results": QAResultsData,
    "debusine:task-history": KeepData,
    "debusine:task-configuration": TaskConfigurationData,
}


def validate_collection_data(category: str, data: Any) -> dict[str, Any]:
    """`data` checked against the category's schema; other categories keep none."""
    if not isinstance(data, Mapping):
        raise InvalidCollectionData(category, {"_schema": ["must be a mapping"]})
    schema = DATA_SCHEMAS.get(category, _Strict)
    try:
        schema().load(dict(data))
    except ValidationError as error:
        messages = error.messages
        if not isinstance(messages, dict):
            messages = {"_schema": messages}
        raise InvalidCollectionData(category, messages) from error
    # The JSON as given (the schema only checks: it adds no defaults).
    return dict(data)
