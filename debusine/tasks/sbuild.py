"""`sbuild` (Worker): build a source package in an unshare environment."""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from debusine.tasks.base import (
    BaseTask,
    Resolved,
    TaskDataSchema,
    environment_lookup,
    multiple_lookup,
    single_lookup,
)
from debusine.tasks.describe import describe_source_and_environment
from debusine.tasks.fields import (
    LookupMultiple,
    LookupSingle,
    StrictSchema,
    architecture,
    backend,
    environment,
    extra_repositories,
)
from debusine.tasks.types import TaskType

BUILD_COMPONENTS = ("any", "all", "source")
BUILD_DEP_RESOLVERS = ("apt", "aptitude", "aspcud", "xapt")
PROFILE_RE = r"^[a-z0-9][a-z0-9.+-]*$"


def _iso_datetime(value: str) -> None:
    try:
        dt.datetime.fromisoformat(value)
    except ValueError:
        raise ValidationError("Not an ISO 8601 date and time.") from None


class SbuildInput(StrictSchema):
    source_artifact = LookupSingle(required=True)
    # Binaries the build may need that are in no repository.
    extra_binary_artifacts = LookupMultiple(load_default=list)


class SbuildBinNMU(StrictSchema):
    """A binary-only rebuild: a changelog entry and a version suffix."""

    changelog = fields.String(required=True, validate=validate.Length(min=1))
    suffix = fields.String(
        required=True,
        validate=validate.Regexp(r"^[A-Za-z0-9+.~]+$", error="Not a version suffix."),
    )
    # Kept as given (a string): the task data stays plain JSON.
    timestamp = fields.String(
        load_default=None, allow_none=True, validate=_iso_datetime
    )
    maintainer = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Regexp(
            r"^[^<>]+ <[^<>@\s]+@[^<>\s]+>$", error="Not 'Name <email>'."
        ),
    )


class SbuildData(TaskDataSchema):
    input = fields.Nested(SbuildInput, required=True)
    host_architecture = architecture(required=True)
    environment = environment(required=True)
    backend = backend()
    build_components = fields.List(
        fields.String(validate=validate.OneOf(BUILD_COMPONENTS)),
        load_default=lambda: ["any"],
        validate=validate.Length(min=1),
    )
    build_profiles = fields.List(
        fields.String(validate=validate.Regexp(PROFILE_RE)),
        load_default=None,
        allow_none=True,
    )
    binnmu = fields.Nested(SbuildBinNMU, load_default=None, allow_none=True)
    extra_repositories = extra_repositories()
    build_dep_resolver = fields.String(
        load_default=None, allow_none=True, validate=validate.OneOf(BUILD_DEP_RESOLVERS)
    )
    aspcud_criteria = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _criteria_need_aspcud(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("aspcud_criteria") and data.get("build_dep_resolver") != "aspcud":
            raise ValidationError(
                "aspcud_criteria needs build_dep_resolver: aspcud", "aspcud_criteria"
            )
        components = data.get("build_components") or []
        if len(set(components)) != len(components):
            raise ValidationError("Repeated build component.", "build_components")


class Sbuild(BaseTask):
    """Builds `input.source_artifact` for `host_architecture` with sbuild.

    Outputs: the build log (debian:package-build-log), the binaries, and a
    debian:upload of them.
    """

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "sbuild"
    SCHEMA = SbuildData
    EXECUTOR_BACKEND = "unshare"
    REQUIRED_TOOLS = ("sbuild:available",)
    LOOKUPS = (
        single_lookup("input.source_artifact"),
        multiple_lookup("input.extra_binary_artifacts"),
        environment_lookup(),
    )

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        """Subject: the source package; configuration context: the codename."""
        return describe_source_and_environment(resolved, "source_artifact_id")
