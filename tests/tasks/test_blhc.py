"""The `blhc` task's data."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, get_task

RUN = {"input": {"artifact": 51}, "extra_flags": ["--bindnow", "--pie"]}


def test_a_realistic_run() -> None:
    task = get_task(TaskType.WORKER, "blhc", RUN)
    assert task.task_data["extra_flags"] == ["--bindnow", "--pie"]
    assert (
        get_task(TaskType.WORKER, "blhc", {"input": {"artifact": 51}}).task_data[
            "extra_flags"
        ]
        == []
    )
    needs = task.worker_requirements()
    assert (needs.architecture, needs.capabilities) == (None, {"blhc:available"})
    assert [lookup.dynamic_key for lookup, _ in task.lookup_values()] == ["artifact_id"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": {}}, "input"),
        ({"extra_flags": ["--output=/etc/passwd"]}, "extra_flags"),
        ({"extra_flags": "--all"}, "extra_flags"),
    ],
)
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "blhc", {**RUN, **change})
    assert list(info.value.errors) == [field]
