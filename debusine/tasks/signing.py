"""Signing tasks (run by `debusine-signer`): their task data.

Only workflows create them. The signer's implementations are not here:
this module is the shared definition the server validates against.
"""

from __future__ import annotations

from marshmallow import fields, validate

from debusine.tasks.base import BaseTask, TaskDataSchema, multiple_lookup, single_lookup
from debusine.tasks.fields import LookupMultiple, LookupSingle
from debusine.tasks.types import TaskType

KEY_PURPOSES = ("uefi", "openpgp")


class DebsignData(TaskDataSchema):
    unsigned = LookupSingle(required=True)
    key = fields.String(required=True, validate=validate.Length(min=1))


class Debsign(BaseTask):
    """Sign a `debian:upload` with an OpenPGP key held by the signer."""

    TASK_TYPE = TaskType.SIGNING
    TASK_NAME = "debsign"
    SCHEMA = DebsignData
    LOOKUPS = (single_lookup("unsigned"),)


class SignData(TaskDataSchema):
    purpose = fields.String(required=True, validate=validate.OneOf(KEY_PURPOSES))
    unsigned = LookupMultiple(required=True)
    key = fields.String(required=True, validate=validate.Length(min=1))


class Sign(BaseTask):
    """Sign the files of `debusine:signing-input` artifacts with a key."""

    TASK_TYPE = TaskType.SIGNING
    TASK_NAME = "sign"
    SCHEMA = SignData
    LOOKUPS = (multiple_lookup("unsigned"),)
