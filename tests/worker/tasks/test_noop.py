"""`noop` as the worker runs it: its result and, with `sleep`, a live log."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from worker.tasks import TaskContext, get_worker_task


def run_noop(tmp_path: Path, **task_data: object) -> bool:
    task = get_worker_task("noop")(task_data, TaskContext(3, tmp_path))
    return task.run()


@pytest.mark.parametrize(("result", "word"), [(True, "success"), (False, "failure")])
def test_result_is_reported_and_logged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], result: bool, word: str
) -> None:
    assert run_noop(tmp_path, result=result) is result
    assert capsys.readouterr().out == f"noop: work request 3, result {word}\n"


def test_sleep_waits_and_logs_each_second(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    started = time.monotonic()
    assert run_noop(tmp_path, sleep=1.5) is True
    assert time.monotonic() - started >= 1.5
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "noop: sleeping 1.5 s"
    # One line after each second and one for the rest, then the result.
    assert [line.split(" of ")[1] for line in lines[1:-1]] == ["1.5 s", "1.5 s"]
    slept = [float(line.split()[2]) for line in lines[1:-1]]
    assert 1.0 <= slept[0] < slept[1]
    assert slept[1] >= 1.5
    assert lines[-1] == "noop: work request 3, result success"
