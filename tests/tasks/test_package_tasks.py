"""Task data of the packaging tasks: makesourcepackageupload, mergeuploads,
extractforsigning and assemblesignedsource."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, get_task

ENVIRONMENT = "debian/match:codename=bookworm"
VALID = {
    "makesourcepackageupload": {
        "input": {"source_artifact": 70},
        "since_version": "1.0-1",
        "target_distribution": "unstable",
        "environment": ENVIRONMENT,
    },
    "mergeuploads": {"input": {"uploads": [71, 72]}},
    "extractforsigning": {
        "input": {"template_artifact": 73, "binary_artifacts": [74, 75]},
        "environment": ENVIRONMENT,
    },
    "assemblesignedsource": {
        "environment": ENVIRONMENT,
        "template": 73,
        "signed": [76],
    },
}
CAPABILITIES = {
    "makesourcepackageupload": {"executor:unshare:available"},
    "mergeuploads": set(),
    "extractforsigning": {"executor:unshare:available"},
    "assemblesignedsource": {"executor:unshare:available"},
}


@pytest.mark.parametrize("name", sorted(VALID))
def test_realistic_data_loads(name: str) -> None:
    task = get_task(TaskType.WORKER, name, VALID[name])
    assert task.worker_requirements().capabilities == CAPABILITIES[name]
    assert task.lookup_values()


@pytest.mark.parametrize(
    ("name", "change", "field"),
    [
        ("makesourcepackageupload", {"input": {}}, "input"),
        ("makesourcepackageupload", {"since_version": "one"}, "since_version"),
        ("makesourcepackageupload", {"target_distribution": "un stable"},
         "target_distribution"),
        ("makesourcepackageupload", {"environment": None}, "environment"),
        ("mergeuploads", {"input": {"uploads": 7.5}}, "input"),
        ("extractforsigning", {"input": {"template_artifact": 73}}, "input"),
        ("assemblesignedsource", {"signed": None}, "signed"),
        ("assemblesignedsource", {"template": ""}, "template"),
    ],
)  # fmt: skip
def test_bad_field_is_named(name: str, change: dict[str, Any], field: str) -> None:
    with pytest.raises(TaskDataError) as info:
        get_task(TaskType.WORKER, name, {**VALID[name], **change})
    assert list(info.value.errors) == [field]
