"""The `debdiff` task's data: two sources or two sets of binaries."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, get_task


def test_two_sources_are_looked_up_by_side() -> None:
    task = get_task(
        TaskType.WORKER,
        "debdiff",
        {
            "input": {"source_artifacts": [61, "debian@debian:suite/source:hello"]},
            "host_architecture": "amd64",
            "extra_flags": ["--diffstat"],
        },
    )
    assert [(lookup.dynamic_key, value) for lookup, value in task.lookup_values()] == [
        ("original_id", 61),
        ("new_id", "debian@debian:suite/source:hello"),
    ]
    assert task.worker_requirements().capabilities == {"debdiff:available"}


def test_two_binary_sets_are_looked_up_by_side() -> None:
    task = get_task(
        TaskType.WORKER,
        "debdiff",
        {"input": {"binary_artifacts": [[1, 2], [3, 4]]}, "host_architecture": "i386"},
    )
    assert [(lookup.dynamic_key, value) for lookup, value in task.lookup_values()] == [
        ("original_ids", [1, 2]),
        ("new_ids", [3, 4]),
    ]
    assert task.worker_requirements().architecture == "i386"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"input": {}}, "input"),
        ({"input": {"source_artifacts": [1]}}, "input"),
        ({"input": {"source_artifacts": [1, 2], "binary_artifacts": [[1], [2]]}},
         "input"),
        ({"input": {"source_artifacts": [1, 2]}, "extra_flags": ["--quiet"]},
         "extra_flags"),
    ],
)  # fmt: skip
def test_bad_field_is_named(data: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "debdiff", {"host_architecture": "amd64", **data})
    assert list(info.value.errors) == [field]


def test_host_architecture_is_required() -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "debdiff", {"input": {"source_artifacts": [1, 2]}})
    assert list(info.value.errors) == ["host_architecture"]
