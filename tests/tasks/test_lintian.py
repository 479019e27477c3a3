"""The `lintian` task's data."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, get_task

CHECK = {
    "input": {"source_artifact": 10, "binary_artifacts": [11, "12@artifacts"]},
    "include_tags": ["binary-without-manpage"],
    "exclude_tags": ["no-manual-page"],
    "fail_on_severity": "warning",
}


def test_a_realistic_check_loads_with_upstream_defaults() -> None:
    task = get_task(TaskType.WORKER, "lintian", CHECK)
    assert task.task_data["output"] == {
        "source_analysis": True,
        "binary_all_analysis": True,
        "binary_any_analysis": True,
    }
    assert task.task_data["target_distribution"] == "debian:unstable"
    # lintian runs with the worker's own tools, on any architecture.
    needs = task.worker_requirements()
    assert (needs.architecture, needs.capabilities) == (
        None,
        {"lintian:available"},
    )
    default = get_task(TaskType.WORKER, "lintian", {"input": {"source_artifact": 1}})
    assert default.task_data["fail_on_severity"] == "error"


def test_binaries_alone_are_enough() -> None:
    task = get_task(TaskType.WORKER, "lintian", {"input": {"binary_artifacts": [3]}})
    assert [lookup.dynamic_key for lookup, _ in task.lookup_values()] == [
        "binary_artifacts_ids"
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": {}}, "input"),
        ({"input": {"binary_artifacts": []}}, "input"),
        ({"output": {"source_analysis": "sometimes"}}, "output"),
        ({"target_distribution": "unstable"}, "target_distribution"),
        ({"include_tags": ["Not A Tag"]}, "include_tags"),
        ({"exclude_tags": "no-manual-page"}, "exclude_tags"),
        ({"fail_on_severity": "fatal"}, "fail_on_severity"),
        ({"severity": "error"}, "severity"),
    ],
)
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "lintian", {**CHECK, **change})
    assert list(info.value.errors) == [field]
