"""The `noop` task's data: `result` and the bounded `sleep`."""

from __future__ import annotations

from typing import Any

import pytest

from debusine.tasks import TaskDataError, TaskType, get_task
from debusine.tasks.noop import MAX_NOOP_SLEEP


def test_sleep_defaults_to_zero() -> None:
    assert get_task(TaskType.WORKER, "noop", {}).task_data["sleep"] == 0.0


@pytest.mark.parametrize("seconds", [0, 0.25, 2, MAX_NOOP_SLEEP])
def test_sleep_within_bounds_is_accepted(seconds: float) -> None:
    loaded = get_task(TaskType.WORKER, "noop", {"sleep": seconds}).task_data
    assert loaded["sleep"] == seconds


@pytest.mark.parametrize(
    ("seconds", "message"),
    [
        (-1, "greater than or equal to 0"),
        (MAX_NOOP_SLEEP + 0.5, "less than or equal to 3600"),
        ("forever", "Not a valid number"),
        (float("nan"), "Special numeric values"),
        (float("inf"), "Special numeric values"),
        (None, "Field may not be null"),
    ],
)
def test_sleep_out_of_bounds_names_the_field(seconds: Any, message: str) -> None:
    with pytest.raises(TaskDataError, match=message) as info:
        get_task(TaskType.WORKER, "noop", {"sleep": seconds})
    assert set(info.value.errors) == {"sleep"}
