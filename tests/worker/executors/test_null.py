"""The null executor runs commands on the worker's host."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.executors import ExecutorError, NullExecutor, get_executor


def test_commands_run_on_the_host_in_the_given_directory(tmp_path: Path) -> None:
    with get_executor(None) as executor:
        assert isinstance(executor, NullExecutor)
        executor.prepare()
        result = executor.run(
            ["sh", "-c", "pwd; echo $ONLY"],
            cwd=tmp_path,
            env={"ONLY": "given"},
            capture_output=True,
            text=True,
        )
    assert result.returncode == 0
    assert result.stdout.splitlines() == [str(tmp_path), "given"]
    assert executor.wrap(["python", "-m", "x"]) == ["python", "-m", "x"]


def test_it_takes_no_environment(tmp_path: Path) -> None:
    with pytest.raises(ExecutorError, match="cannot use an environment"):
        NullExecutor().prepare(tmp_path / "system.tar.xz")
