"""Server tasks that workflows create: their task data.

They run in the orchestrator's server-task pool, with database access.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, validate, validates

from debusine.tasks.base import BaseTask, TaskDataSchema, single_lookup
from debusine.tasks.fields import LookupMultiple, LookupSingle
from debusine.tasks.types import TaskType

UPLOAD_SCHEMES = ("ftp", "sftp", "file")
UPLOAD_TARGET_HELP = (
    "Expected an ftp:// or sftp:// URL with a host, or a file:// URL of a"
    " local queue directory (no host), e.g."
    " ftp://anonymous@ftp.upload.debian.org/pub/UploadQueue/ or"
    " file:///srv/upload-queue/"
)


def check_upload_target(value: str) -> None:
    """An upload queue: ftp:// or sftp:// with a host, or a local file:// path."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValidationError(UPLOAD_TARGET_HELP) from None
    if parts.scheme == "file":
        valid = not parts.netloc and parts.path.startswith("/")
    else:
        valid = parts.scheme in UPLOAD_SCHEMES and bool(parts.hostname)
    if not valid:
        raise ValidationError(UPLOAD_TARGET_HELP)


class PackageUploadInput(Schema):
    class Meta:
        unknown = "raise"

    upload = LookupSingle(required=True)


class PackageUploadData(TaskDataSchema):
    input = fields.Nested(PackageUploadInput, required=True)
    target = fields.String(required=True)
    delayed_days = fields.Integer(
        strict=True, load_default=None, allow_none=True, validate=validate.Range(0, 15)
    )

    @validates("target")
    def _target(self, value: str, **kwargs: Any) -> None:
        check_upload_target(value)


class PackageUpload(BaseTask):
    """Upload a `debian:upload` to an upload queue (ftp, sftp or a local dir)."""

    TASK_TYPE = TaskType.SERVER
    TASK_NAME = "packageupload"
    SCHEMA = PackageUploadData
    LOOKUPS = (single_lookup("input.upload"),)


class CopySchema(Schema):
    class Meta:
        unknown = "raise"

    source_items = LookupMultiple(required=True)
    target_collection = LookupSingle(required=True)
    unembargo = fields.Boolean(load_default=False)
    replace = fields.Boolean(load_default=False)
    name_template = fields.String(load_default=None, allow_none=True)
    variables = fields.Dict(keys=fields.String(), load_default=None, allow_none=True)


class CopyCollectionItemsData(TaskDataSchema):
    copies = fields.List(
        fields.Nested(CopySchema), required=True, validate=validate.Length(min=1)
    )


class CopyCollectionItems(BaseTask):
    """Copy collection items (and their artifacts) into other collections."""

    TASK_TYPE = TaskType.SERVER
    TASK_NAME = "copycollectionitems"
    SCHEMA = CopyCollectionItemsData
