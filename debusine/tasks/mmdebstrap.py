"""`mmdebstrap` (Worker): bootstrap a Debian system into a tarball.

mmdebstrap itself runs on the worker's host (in its own unshare mode): it
needs no environment to run in, only the architecture it bootstraps.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from debusine.tasks.base import BaseTask, TaskDataSchema
from debusine.tasks.fields import PACKAGE_NAME_RE, StrictSchema, architecture
from debusine.tasks.types import TaskType

VARIANTS = (
    "extract",
    "custom",
    "essential",
    "apt",
    "required",
    "minbase",
    "buildd",
    "important",
    "debootstrap",
    "-",
    "standard",
)
SIGNATURE_CHECKS = ("system", "external", "no-check")
REPOSITORY_TYPES = ("deb", "deb-src")


class BootstrapOptions(StrictSchema):
    architecture = architecture(required=True)
    variant = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(VARIANTS)
    )
    extra_packages = fields.List(
        fields.String(validate=validate.Regexp(PACKAGE_NAME_RE)), load_default=list
    )
    # Write the repository's key into sources.list's Signed-By.
    use_signed_by = fields.Boolean(load_default=True)


class Keyring(StrictSchema):
    url = fields.Url(required=True, schemes={"http", "https", "file"})
    sha256sum = fields.String(
        load_default="",
        validate=validate.Regexp(r"^([0-9a-f]{64})?$", error="Not a sha256 in hex."),
    )
    # Also install the keyring into the system (/etc/apt/keyrings).
    install = fields.Boolean(load_default=False)


class BootstrapRepository(StrictSchema):
    mirror = fields.Url(required=True, schemes={"http", "https", "file"})
    suite = fields.String(
        required=True, validate=validate.Regexp(r"^[A-Za-z0-9][A-Za-z0-9.+_/-]*$")
    )
    types = fields.List(
        fields.String(validate=validate.OneOf(REPOSITORY_TYPES)),
        load_default=lambda: ["deb"],
        validate=validate.Length(min=1),
    )
    components = fields.List(
        fields.String(validate=validate.Regexp(PACKAGE_NAME_RE)),
        load_default=None,
        allow_none=True,
    )
    check_signature_with = fields.String(
        load_default="system", validate=validate.OneOf(SIGNATURE_CHECKS)
    )
    keyring_package = fields.String(
        load_default=None, allow_none=True, validate=validate.Regexp(PACKAGE_NAME_RE)
    )
    keyring = fields.Nested(Keyring, load_default=None, allow_none=True)

    @validates_schema
    def _external_needs_keyring(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("check_signature_with") == "external" and not data.get("keyring"):
            raise ValidationError(
                "check_signature_with: external needs a keyring.", "keyring"
            )


class MmDebstrapData(TaskDataSchema):
    bootstrap_options = fields.Nested(BootstrapOptions, required=True)
    bootstrap_repositories = fields.List(
        fields.Nested(BootstrapRepository),
        required=True,
        validate=validate.Length(min=1),
    )
    # A shell script run in the new system (mmdebstrap --customize-hook).
    customization_script = fields.String(load_default=None, allow_none=True)


class MmDebstrap(BaseTask):
    """Makes a debian:system-tarball of the first repository's suite."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "mmdebstrap"
    SCHEMA = MmDebstrapData
    REQUIRED_TOOLS = ("mmdebstrap:available",)

    @property
    def host_architecture(self) -> str | None:
        return str(self.task_data["bootstrap_options"]["architecture"])
