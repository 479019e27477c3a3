"""`debdiff` (Worker): differences between two sources or two sets of binaries."""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from debusine.tasks.base import (
    BaseTask,
    Resolved,
    TaskDataSchema,
    TaskLookup,
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
    flags,
)
from debusine.tasks.types import TaskType

EXTRA_FLAGS = frozenset(
    [
        "--dirs",
        "--nocontrol",
        "--wdiff-source-control",
        "--show-moved",
        "--diffstat",
        "--apply-patches",
        "--ignore-space",
    ]
)


class DebDiffInput(StrictSchema):
    """Either two sources `[original, new]` or two binary sets `[[...], [...]]`."""

    source_artifacts = fields.List(
        LookupSingle(),
        load_default=None,
        allow_none=True,
        validate=validate.Length(equal=2),
    )
    binary_artifacts = fields.List(
        LookupMultiple(),
        load_default=None,
        allow_none=True,
        validate=validate.Length(equal=2),
    )

    @validates_schema
    def _one_kind(self, data: dict[str, Any], **kwargs: Any) -> None:
        given = [
            key for key in ("source_artifacts", "binary_artifacts") if data.get(key)
        ]
        if len(given) != 1:
            raise ValidationError(
                "Give exactly one of source_artifacts or binary_artifacts."
            )


class DebDiffData(TaskDataSchema):
    input = fields.Nested(DebDiffInput, required=True)
    extra_flags = flags(EXTRA_FLAGS)
    host_architecture = architecture(required=True)
    # Accepted as upstream does; debdiff runs with the worker's own tools.
    environment = environment()
    backend = backend()


class DebDiff(BaseTask):
    """Runs debdiff; stores a debian:debdiff artifact."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "debdiff"
    SCHEMA = DebDiffData
    REQUIRED_TOOLS = ("debdiff:available",)
    LOOKUPS = (
        single_lookup("input.source_artifacts.0", key="original_id"),
        single_lookup("input.source_artifacts.1", key="new_id"),
        multiple_lookup("input.binary_artifacts.0", key="original_ids"),
        multiple_lookup("input.binary_artifacts.1", key="new_ids"),
        environment_lookup(),
    )

    def lookup_values(self) -> list[tuple[TaskLookup, Any]]:
        """The lookups, with the two sides of `input` taken by position."""
        given = self.task_data["input"]
        found: list[tuple[TaskLookup, Any]] = []
        for lookup in self.LOOKUPS:
            kind, _, position = lookup.path.removeprefix("input.").partition(".")
            if not position:
                continue
            sides = given.get(kind)
            if sides:
                found.append((lookup, sides[int(position)]))
        environment_ = super().lookup_values()
        return found + [item for item in environment_ if item[0].environment]

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        return describe_source_and_environment(
            resolved, "new_id" if "new_id" in resolved else "new_ids"
        )
