"""`piuparts` (Worker): installation, upgrade and removal tests of binaries."""

from __future__ import annotations

from typing import Any

from marshmallow import fields

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


class PiupartsInput(StrictSchema):
    binary_artifacts = LookupMultiple(required=True)


class PiupartsData(TaskDataSchema):
    input = fields.Nested(PiupartsInput, required=True)
    host_architecture = architecture(required=True)
    environment = environment(required=True)
    # The system tarball piuparts starts each test from.
    base_tgz = LookupSingle(required=True)
    backend = backend()
    extra_repositories = extra_repositories()


class Piuparts(BaseTask):
    """Runs piuparts on `input.binary_artifacts` from the `base_tgz` system."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "piuparts"
    SCHEMA = PiupartsData
    EXECUTOR_BACKEND = "unshare"
    REQUIRED_TOOLS = ("piuparts:available",)
    LOOKUPS = (
        multiple_lookup("input.binary_artifacts"),
        environment_lookup(),
        single_lookup("base_tgz", default_category="debian:environments"),
    )

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        return describe_source_and_environment(resolved, "binary_artifacts_ids")
