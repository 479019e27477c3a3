"""The `mmdebstrap` task's data."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, get_task

REPOSITORY = {
    "mirror": "http://deb.debian.org/debian",
    "suite": "bookworm",
    "components": ["main", "contrib"],
}
BOOTSTRAP = {
    "bootstrap_options": {
        "architecture": "arm64",
        "variant": "buildd",
        "extra_packages": ["eatmydata"],
    },
    "bootstrap_repositories": [REPOSITORY],
    "customization_script": "echo 'APT::Install-Recommends \"0\";' > x",
}


def test_a_realistic_bootstrap_loads_with_upstream_defaults() -> None:
    task = get_task(TaskType.WORKER, "mmdebstrap", BOOTSTRAP)
    repository = task.task_data["bootstrap_repositories"][0]
    assert repository["types"] == ["deb"]
    assert repository["check_signature_with"] == "system"
    assert task.task_data["bootstrap_options"]["use_signed_by"] is True
    # It runs on a worker of the architecture it bootstraps, on the host.
    needs = task.worker_requirements()
    assert needs.architecture == "arm64"
    assert needs.capabilities == {"mmdebstrap:available"}


def test_external_signature_check_with_a_keyring() -> None:
    keyring = {"url": "https://example.org/key.asc", "sha256sum": "a" * 64}
    repository = {**REPOSITORY, "check_signature_with": "external", "keyring": keyring}
    task = get_task(
        TaskType.WORKER,
        "mmdebstrap",
        {**BOOTSTRAP, "bootstrap_repositories": [repository]},
    )
    assert task.task_data["bootstrap_repositories"][0]["keyring"]["install"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"bootstrap_options": {"variant": "buildd"}}, "bootstrap_options"),
        ({"bootstrap_options": {"architecture": "amd64", "variant": "huge"}},
         "bootstrap_options"),
        ({"bootstrap_repositories": []}, "bootstrap_repositories"),
        ({"bootstrap_repositories": [{**REPOSITORY, "types": ["rpm"]}]},
         "bootstrap_repositories"),
        ({"bootstrap_repositories": [
            {**REPOSITORY, "check_signature_with": "external"}]},
         "bootstrap_repositories"),
        ({"bootstrap_repositories": [{**REPOSITORY, "keyring": {
            "url": "https://example.org/k", "sha256sum": "xyz"}}]},
         "bootstrap_repositories"),
        ({"customization_script": 12}, "customization_script"),
    ],
)  # fmt: skip
def test_bad_field_is_named(change: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, "mmdebstrap", {**BOOTSTRAP, **change})
    assert list(info.value.errors) == [field]
