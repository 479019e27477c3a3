"""How a task declares its lookups and completes environment lookups."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import fields

from debusine.tasks import BaseTask, TaskDataSchema, TaskType
from debusine.tasks.base import (
    TaskLookup,
    environment_lookup,
    multiple_lookup,
    single_lookup,
)


class _Data(TaskDataSchema):
    input = fields.Dict(load_default=dict)
    environment = fields.String(load_default=None)
    host_architecture = fields.String(load_default=None)


class LookupTask(BaseTask):
    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "testlookupdeclaration"
    SCHEMA = _Data
    EXECUTOR_BACKEND = "unshare"
    LOOKUPS = (
        single_lookup("input.source_artifact"),
        multiple_lookup("input.extra", key="extras"),
        environment_lookup(),
    )


def test_dynamic_keys() -> None:
    assert [lookup.dynamic_key for lookup in LookupTask.LOOKUPS] == [
        "source_artifact_id",
        "extras",
        "environment_id",
    ]
    assert TaskLookup("input.binary_artifacts", multiple=True).dynamic_key == (
        "binary_artifacts_ids"
    )


def test_lookup_values_skip_what_is_absent() -> None:
    task = LookupTask({"input": {"source_artifact": 12}})
    assert task.lookup_values() == [(LookupTask.LOOKUPS[0], 12)]


@pytest.mark.parametrize(
    ("given", "data", "expected"),
    [
        (
            "debian/match:codename=bookworm",
            {"host_architecture": "arm64"},
            "debian/match:codename=bookworm:format=tarball:architecture=arm64",
        ),
        # What the lookup says wins over the task's values.
        (
            "debian/match:architecture=i386:format=image",
            {"host_architecture": "arm64"},
            "debian/match:architecture=i386:format=image",
        ),
        ("debian/match:", {}, "debian/match:format=tarball"),
        # Not a match: lookup: left as it is.
        ("42@artifacts", {"host_architecture": "arm64"}, "42@artifacts"),
    ],
)
def test_environment_lookups_are_completed(
    given: str, data: dict[str, Any], expected: str
) -> None:
    task = LookupTask({"environment": given, **data})
    assert task.lookup_values() == [(LookupTask.LOOKUPS[2], expected)]


def test_two_lookups_with_one_key_are_refused() -> None:
    with pytest.raises(RuntimeError, match="share a dynamic key"):

        class Clash(BaseTask):
            LOOKUPS = (single_lookup("a.artifact"), single_lookup("b.artifact"))


def test_without_a_resolver_nothing_is_resolved() -> None:
    assert LookupTask({"input": {"source_artifact": 1}}).compute_dynamic_data() == {}


def test_every_task_may_name_a_configuration() -> None:
    task = LookupTask({"task_configuration": "experiment@debusine:task-configuration"})
    assert task.task_data["task_configuration"] == (
        "experiment@debusine:task-configuration"
    )
    assert "task_configuration" not in LookupTask({}).task_data
