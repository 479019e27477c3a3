"""`blhc` (Worker): check a build log for missing hardening flags."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

from debusine.tasks.base import (
    BaseTask,
    Resolved,
    TaskDataSchema,
    environment_lookup,
    single_lookup,
)
from debusine.tasks.describe import describe_source_and_environment
from debusine.tasks.fields import (
    LookupSingle,
    StrictSchema,
    backend,
    environment,
    flags,
)
from debusine.tasks.types import TaskType

# The blhc options users may add (others change what the task parses).
EXTRA_FLAGS = frozenset(
    ["--all", "--bindnow", "--buildd", "--color", "--debian", "--line-numbers", "--pie"]
)


class BlhcInput(StrictSchema):
    # A debian:package-build-log.
    artifact = LookupSingle(required=True)


class BlhcData(TaskDataSchema):
    input = fields.Nested(BlhcInput, required=True)
    extra_flags = flags(EXTRA_FLAGS)
    # Accepted as upstream does; blhc runs with the worker's own tools.
    environment = environment()
    backend = backend()


class Blhc(BaseTask):
    """Runs blhc on a build log; stores a debian:blhc artifact."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "blhc"
    SCHEMA = BlhcData
    REQUIRED_TOOLS = ("blhc:available",)
    LOOKUPS = (single_lookup("input.artifact"), environment_lookup())

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        return describe_source_and_environment(resolved, "artifact_id")
