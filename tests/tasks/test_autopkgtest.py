"""The `autopkgtest` task's data."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, get_task

RUN = {
    "input": {
        "source_artifact": 20,
        "binary_artifacts": [21, 22],
        "context_artifacts": [23],
    },
    "host_architecture": "arm64",
    "environment": "debian/match:codename=trixie",
    "include_tests": ["smoke"],
    "extra_environment": {"DEB_BUILD_OPTIONS": "parallel=2"},
    "needs_internet": "skip",
    "timeout": {"global": 3600, "factor": 1.5, "test": 600},
}


def test_a_realistic_run_loads_with_upstream_defaults() -> None:
    task = get_task(TaskType.WORKER, "autopkgtest", RUN)
    data = task.task_data
    assert data["fail_on"] == {
        "failed_test": True,
        "flaky_test": False,
        "skipped_test": False,
    }
    assert (data["debug_level"], data["use_packages_from_base_repository"]) == (
        0,
        False,
    )
    # The timeouts keep the keys users wrote: autopkgtest's --timeout-global.
    assert data["timeout"] == {"global": 3600, "factor": 1.5, "test": 600}
    needs = task.worker_requirements()
    assert needs.architecture == "arm64"
    assert needs.capabilities == {
        "autopkgtest:available",
        "executor:unshare:available",
    }
    assert [lookup.dynamic_key for lookup, _ in task.lookup_values()] == [
        "source_artifact_id",
        "binary_artifacts_ids",
        "context_artifacts_ids",
        "environment_id",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input": {"source_artifact": 20}}, "input"),
        ({"host_architecture": None}, "host_architecture"),
        ({"include_tests": ["bad name!"]}, "include_tests"),
        ({"debug_level": 4}, "debug_level"),
        ({"extra_environment": {"1BAD": "x"}}, "extra_environment"),
        ({"needs_internet": "maybe"}, "needs_internet"),
        ({"fail_on": {"failed_test": False, "broken": True}}, "fail_on"),
        ({"timeout": {"global": 0}}, "timeout"),
        ({"timeout": {"forever": 1}}, "timeout"),
        ({"extra_repositories": [{"url": "not a url", "suite": "sid"}]},
         "extra_repositories"),
    ],
)  # fmt: skip
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "autopkgtest", {**RUN, **change})
    assert list(info.value.errors) == [field]
