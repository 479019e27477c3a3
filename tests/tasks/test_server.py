"""packageupload and copycollectionitems: server tasks' data, field by field."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, WorkerType, get_task


def test_valid_data_with_defaults() -> None:
    upload = get_task(
        TaskType.SERVER,
        "packageupload",
        {"input": {"upload": 5}, "target": "sftp://upload.example.org/queue/"},
    )
    assert upload.task_data["delayed_days"] is None
    assert upload.worker_requirements().worker_type == WorkerType.SERVER
    copy = get_task(
        TaskType.SERVER,
        "copycollectionitems",
        {"copies": [{"source_items": [1, 2], "target_collection": "sid@debian:suite"}]},
    )
    assert copy.task_data["copies"][0] == {
        "source_items": [1, 2],
        "target_collection": "sid@debian:suite",
        "unembargo": False,
        "replace": False,
        "name_template": None,
        "variables": None,
    }


@pytest.mark.parametrize(
    ("name", "task_data", "field"),
    [
        ("packageupload", {"input": {"upload": 1}, "target": "http://x/"}, "target"),
        ("packageupload", {"input": {"upload": 1}, "target": "ftp:///q"}, "target"),
        ("packageupload", {"input": {}, "target": "ftp://h/"}, "input"),
        ("packageupload", {"input": {"upload": 1}, "target": "ftp://h:x/"}, "target"),
        ("packageupload", {"input": {"upload": 1}, "target": "file://h/q/"}, "target"),
        ("packageupload", {"input": {"upload": 1}, "target": "file:q/"}, "target"),
        ("packageupload",
         {"input": {"upload": 1}, "target": "ftp://h/", "delayed_days": -1},
         "delayed_days"),
        ("copycollectionitems", {"copies": []}, "copies"),
        ("copycollectionitems", {"copies": [{"source_items": [1]}]}, "copies"),
    ],
)  # fmt: skip
def test_bad_data_names_the_field(
    name: str, task_data: dict[str, Any], field: str
) -> None:
    with pytest.raises(TaskDataError) as excinfo:
        get_task(TaskType.SERVER, name, task_data)
    assert list(excinfo.value.errors) == [field]


@pytest.mark.parametrize(
    "target",
    [
        "ftp://ftp.upload.debian.org/pub/UploadQueue/",
        "ftp://user:secret@127.0.0.1:2121/queue/",
        "sftp://upload.example.org/queue/",
        "file:///srv/upload-queue/",
    ],
)
def test_upload_targets_accepted(target: str) -> None:
    task = get_task(
        TaskType.SERVER, "packageupload", {"input": {"upload": 1}, "target": target}
    )
    assert task.task_data["target"] == target


def test_a_bad_target_says_what_is_expected() -> None:
    with pytest.raises(TaskDataError) as excinfo:
        get_task(
            TaskType.SERVER,
            "packageupload",
            {"input": {"upload": 1}, "target": "https://example.org/"},
        )
    message = str(excinfo.value.errors["target"])
    assert "ftp://" in message
    assert "file:///srv/upload-queue/" in message
