"""The `sbuild` task's data: a realistic build, and each wrong field named."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, WorkerType, get_task

BUILD = {
    "input": {"source_artifact": 42},
    "host_architecture": "amd64",
    "environment": "debian/match:codename=bookworm",
    "build_components": ["any", "all"],
    "build_profiles": ["nocheck"],
    "binnmu": {
        "changelog": "Rebuild against libfoo2",
        "suffix": "+b1",
        "timestamp": "2024-05-01T12:00:00+00:00",
        "maintainer": "Build Daemon <buildd@example.org>",
    },
    "extra_repositories": [
        {
            "url": "http://deb.debian.org/debian",
            "suite": "bookworm-backports",
            "components": ["main"],
        }
    ],
}


def test_a_realistic_build_loads_with_upstream_defaults() -> None:
    task = get_task(TaskType.WORKER, "sbuild", BUILD)
    data = task.task_data
    assert data["backend"] == "unshare"
    assert data["input"]["extra_binary_artifacts"] == []
    assert data["build_dep_resolver"] is None
    assert data["extra_repositories"][0]["signing_key"] is None
    without = {k: v for k, v in BUILD.items() if k != "build_components"}
    loaded = get_task(TaskType.WORKER, "sbuild", without).task_data
    assert loaded["build_components"] == ["any"]


def test_worker_requirements_and_lookups() -> None:
    task = get_task(TaskType.WORKER, "sbuild", BUILD)
    needs = task.worker_requirements()
    assert needs.worker_type == WorkerType.EXTERNAL
    assert needs.architecture == "amd64"
    assert needs.capabilities == {"sbuild:available", "executor:unshare:available"}
    assert [(lookup.dynamic_key, value) for lookup, value in task.lookup_values()] == [
        ("source_artifact_id", 42),
        ("extra_binary_artifacts_ids", []),
        (
            "environment_id",
            "debian/match:codename=bookworm:format=tarball:architecture=amd64",
        ),
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": {}}, "input"),
        ({"input": {"source_artifact": True}}, "input"),
        ({"host_architecture": "AMD 64"}, "host_architecture"),
        ({"environment": ""}, "environment"),
        ({"backend": "incus-vm"}, "backend"),
        ({"build_components": ["binary"]}, "build_components"),
        ({"build_components": []}, "build_components"),
        ({"build_profiles": ["No Check"]}, "build_profiles"),
        ({"binnmu": {"changelog": "x", "suffix": "+b1", "timestamp": "soon"}},
         "binnmu"),
        ({"binnmu": {"suffix": "+b1"}}, "binnmu"),
        ({"extra_repositories": [{"url": "ftp://x", "suite": "s"}]},
         "extra_repositories"),
        ({"extra_repositories": [{"url": "http://x", "suite": "sid"}]},
         "extra_repositories"),
        ({"build_dep_resolver": "dselect"}, "build_dep_resolver"),
        ({"aspcud_criteria": "-removed"}, "aspcud_criteria"),
        ({"colour": "red"}, "colour"),
    ],
)  # fmt: skip
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "sbuild", {**BUILD, **change})
    assert list(info.value.errors) == [field]


def test_required_fields() -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "sbuild", {})
    assert set(info.value.errors) == {"input", "host_architecture", "environment"}


def test_aspcud_criteria_with_aspcud() -> None:
    data = {**BUILD, "build_dep_resolver": "aspcud", "aspcud_criteria": "-removed"}
    assert get_task(TaskType.WORKER, "sbuild", data).task_data["aspcud_criteria"]


def test_a_flat_repository_takes_no_components() -> None:
    flat = {"url": "https://example.org/repo", "suite": "./"}
    task = get_task(TaskType.WORKER, "sbuild", {**BUILD, "extra_repositories": [flat]})
    assert task.task_data["extra_repositories"][0]["components"] is None
    with pytest.raises(TaskDataError, match="flat repository"):
        get_task(
            TaskType.WORKER,
            "sbuild",
            {**BUILD, "extra_repositories": [{**flat, "components": ["main"]}]},
        )
