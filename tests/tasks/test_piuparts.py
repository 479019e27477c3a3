"""The `piuparts` task's data."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, get_task

RUN = {
    "input": {"binary_artifacts": [31, 32]},
    "host_architecture": "amd64",
    "environment": "debian/match:codename=bookworm",
    "base_tgz": "debian/match:codename=bookworm:variant=minbase",
}


def test_a_realistic_run_declares_its_lookups() -> None:
    task = get_task(TaskType.WORKER, "piuparts", RUN)
    assert task.task_data["backend"] == "unshare"
    assert task.task_data["extra_repositories"] is None
    # base_tgz is a debian:environments lookup too (format/arch left to it).
    assert [(lookup.dynamic_key, value) for lookup, value in task.lookup_values()] == [
        ("binary_artifacts_ids", [31, 32]),
        (
            "environment_id",
            "debian/match:codename=bookworm:format=tarball:architecture=amd64",
        ),
        ("base_tgz_id", "debian/match:codename=bookworm:variant=minbase"),
    ]
    assert task.worker_requirements().capabilities == {
        "piuparts:available",
        "executor:unshare:available",
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": {"binary_artifacts": "all of them"}}, "input"),
        ({"base_tgz": None}, "base_tgz"),
        ({"base_tgz": -3}, "base_tgz"),
        ({"environment": ["a", "b"]}, "environment"),
        ({"backend": "qemu"}, "backend"),
    ],
)
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "piuparts", {**RUN, **change})
    assert list(info.value.errors) == [field]
