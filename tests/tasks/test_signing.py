"""debsign and sign: the signing tasks' data, checked field by field."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, WorkerType, get_task


def test_debsign_and_sign_run_on_signing_workers() -> None:
    debsign = get_task(
        TaskType.SIGNING, "debsign", {"unsigned": "internal@collections/name:u",
                                      "key": "ABCDEF"}
    )  # fmt: skip
    sign = get_task(
        TaskType.SIGNING,
        "sign",
        {"purpose": "uefi", "unsigned": [12, {"collection": "x@collections"}],
         "key": "ABCDEF"},
    )  # fmt: skip
    for task in (debsign, sign):
        assert task.worker_requirements().worker_type == WorkerType.SIGNING
    assert [lookup.path for lookup in sign.LOOKUPS] == ["unsigned"]


@pytest.mark.parametrize(
    ("name", "task_data", "field"),
    [
        ("debsign", {"unsigned": 1}, "key"),
        ("debsign", {"unsigned": 0, "key": "K"}, "unsigned"),
        ("sign", {"purpose": "gpg", "unsigned": [1], "key": "K"}, "purpose"),
        ("sign", {"purpose": "uefi", "unsigned": "x", "key": "K"}, "unsigned"),
        ("sign", {"purpose": "uefi", "unsigned": [1], "key": ""}, "key"),
    ],
)
def test_bad_data_names_the_field(
    name: str, task_data: dict[str, Any], field: str
) -> None:
    with pytest.raises(TaskDataError) as excinfo:
        get_task(TaskType.SIGNING, name, task_data)
    assert list(excinfo.value.errors) == [field]
