"""`lintian` (Worker): check a source package and its binaries with lintian."""

from __future__ import annotations

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
    backend,
    distribution,
    environment,
)
from debusine.tasks.types import TaskType

# Severities from the worst; `none` never fails.
FAIL_ON_SEVERITIES = (
    "error",
    "warning",
    "info",
    "pedantic",
    "experimental",
    "overridden",
    "none",
)
TAG_RE = r"^[a-z0-9][a-z0-9+.-]*$"


class LintianInput(StrictSchema):
    source_artifact = LookupSingle(load_default=None, allow_none=True)
    binary_artifacts = LookupMultiple(load_default=list)


class LintianOutput(StrictSchema):
    """Which analyses to store: one debian:lintian artifact each."""

    source_analysis = fields.Boolean(load_default=True)
    binary_all_analysis = fields.Boolean(load_default=True)
    binary_any_analysis = fields.Boolean(load_default=True)


def _tags() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Regexp(TAG_RE, error="Not a lintian tag.")),
        load_default=list,
    )


class LintianData(TaskDataSchema):
    input = fields.Nested(LintianInput, required=True)
    output = fields.Nested(LintianOutput, load_default=lambda: LintianOutput().load({}))
    target_distribution = distribution(load_default="debian:unstable")
    include_tags = _tags()
    exclude_tags = _tags()
    fail_on_severity = fields.String(
        load_default="error", validate=validate.OneOf(FAIL_ON_SEVERITIES)
    )
    # Accepted as upstream does; lintian runs with the worker's own tools.
    environment = environment()
    backend = backend()

    @validates_schema
    def _something_to_check(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = data.get("input") or {}
        if given.get("source_artifact") is None and not given.get("binary_artifacts"):
            raise ValidationError(
                "Give a source_artifact, binary_artifacts, or both.", "input"
            )


class Lintian(BaseTask):
    """Runs lintian on the source and binaries; fails at `fail_on_severity`."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "lintian"
    SCHEMA = LintianData
    REQUIRED_TOOLS = ("lintian:available",)
    LOOKUPS = (
        single_lookup("input.source_artifact"),
        multiple_lookup("input.binary_artifacts"),
        environment_lookup(),
    )

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        return describe_source_and_environment(resolved, "source_artifact_id")
