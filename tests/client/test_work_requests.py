"""The work-request commands of `debusine`, against a live server."""

from __future__ import annotations

import datetime as dt
import json
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import Engine, create_engine, pool, text

from tests.client.conftest import CLIENT, LiveServer, Run, clean_environment


def ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def error(result: Any) -> str:
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    line: str = result.stderr.strip()
    return line.removeprefix("debusine: error: ")


@pytest.fixture(scope="module")
def database(live_server: LiveServer) -> Iterator[Engine]:
    engine = create_engine(
        live_server.env["DEBUSINE_SQLALCHEMY_URL"], poolclass=pool.NullPool
    )
    yield engine
    engine.dispose()


def complete(engine: Engine, work_request_id: int, result: str = "success") -> None:
    """Complete a work request behind the server's back (no worker runs here)."""
    with engine.begin() as connection:
        connection.execute(
            text(
                "UPDATE work_request SET status = 'completed', result = :result,"
                " completed_at = now() WHERE id = :id"
            ),
            {"id": work_request_id, "result": result},
        )


def create(debusine: Run, *args: str, **kwargs: Any) -> int:
    created = ok(debusine("create-work-request", "noop", *args, **kwargs))
    assert created["result"] == "success"
    work_request_id: int = created["work_request_id"]
    return work_request_id


def test_create_and_show(debusine: Run, tmp_path: Path) -> None:
    data = tmp_path / "data.yaml"
    data.write_text("result: false\n")
    created = ok(
        debusine("create-work-request", "noop", "--workspace", "System", "--data", data)
    )
    assert created["status"] == "pending"
    assert created["message"].startswith("Work request registered: http://")
    shown = ok(debusine("show-work-request", str(created["work_request_id"])))
    assert shown["task_data"] == {"result": False}
    assert shown["task_name"] == "noop"
    assert shown["artifacts"] == []


def test_create_from_stdin(debusine: Run) -> None:
    work_request_id = create(debusine, "--data", "-", input="result: true\n")
    shown = ok(debusine("show-work-request", str(work_request_id)))
    assert shown["task_data"] == {"result": True}


def test_create_errors(debusine: Run, tmp_path: Path) -> None:
    message = error(debusine("create-work-request", "nosuchtask"))
    assert "nosuchtask" in message
    data = tmp_path / "data.yaml"
    data.write_text("bogus: 1\n")
    assert "bogus" in error(debusine("create-work-request", "noop", "--data", data))
    assert error(debusine("show-work-request", "999999")) == (
        "Not found: Work request 999999 not found"
    )


def test_list_follows_next(debusine: Run) -> None:
    ids = [create(debusine) for _ in range(12)]
    listed = ok(debusine("list-work-requests", "--limit", "0"))
    listed_ids = [wr["id"] for wr in listed]
    assert listed_ids[:12] == ids[::-1]
    assert len(ok(debusine("list-work-requests", "--limit", "11"))) == 11
    pending = ok(debusine("list-work-requests", "--status", "pending", "--limit", "0"))
    assert {wr["status"] for wr in pending} == {"pending"}
    assert ok(debusine("list-work-requests", "--workspace", "System", "--limit", "3"))
    assert "Nope" in error(debusine("list-work-requests", "--workspace", "Nope"))


def test_manage_retry_abort(debusine: Run, database: Engine) -> None:
    work_request_id = create(debusine)
    managed = ok(
        debusine(
            "manage-work-request",
            str(work_request_id),
            "--set-priority-adjustment",
            "7",
        )
    )
    assert managed["priority_adjustment"] == 7
    assert error(debusine("manage-work-request", str(work_request_id))).startswith(
        "nothing to do"
    )
    assert error(debusine("retry-work-request", str(work_request_id))).startswith(
        "Conflict: "
    )
    aborted = ok(debusine("abort-work-request", str(work_request_id)))
    assert aborted["status"] == "aborted"
    retried = ok(debusine("retry-work-request", str(work_request_id)))
    assert retried["work_request_id"] != work_request_id
    assert retried["status"] == "pending"
    done = create(debusine)
    complete(database, done)
    assert "completed" in error(debusine("abort-work-request", str(done)))


def _watch(
    live_server: LiveServer, config: Path, home: Path, *args: str | Path
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(CLIENT), "on-work-request-completed", *map(str, args)],
        env={
            **clean_environment(),
            "HOME": str(home),
            "DEBUSINE_CLIENT_CONFIG": str(config),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for_lines(path: Path, count: int, process: subprocess.Popen[str]) -> list:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if path.exists() and len(path.read_text().splitlines()) >= count:
            return path.read_text().splitlines()
        assert process.poll() is None, process.communicate()
        time.sleep(0.1)
    raise AssertionError(f"{path} never had {count} lines")


def _stop(process: subprocess.Popen[str]) -> int:
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=30)
    return process.returncode


RECORD = "import sys; open(sys.argv[1], 'a').write(' '.join(sys.argv[2:]) + '\\n')"


def test_on_work_request_completed(
    debusine: Run,
    database: Engine,
    live_server: LiveServer,
    config: Path,
    client_home: Path,
    tmp_path: Path,
) -> None:
    before = create(debusine)
    complete(database, before)  # before the watch started: not reported
    time.sleep(0.05)
    seen = tmp_path / "seen.txt"
    state = tmp_path / "last.json"
    process = _watch(
        live_server,
        config,
        client_home,
        "--poll-interval",
        "0.2",
        "--last-completed-at",
        state,
        "--workspace",
        "System",
        sys.executable,
        "-c",
        RECORD,
        seen,
    )
    try:
        time.sleep(1)
        first, second = create(debusine), create(debusine)
        complete(database, first)
        complete(database, second, "failure")
        lines = _wait_for_lines(seen, 2, process)
    finally:
        code = _stop(process)
    assert lines == [f"{first} success", f"{second} failure"]
    assert code == 0
    last = dt.datetime.fromisoformat(json.loads(state.read_text())["last_completed_at"])
    assert last.tzinfo is not None

    # Restarted with the state file, it catches up on what it missed only.
    missed = create(debusine)
    complete(database, missed, "error")
    process = _watch(
        live_server,
        config,
        client_home,
        "--poll-interval",
        "0.2",
        "--last-completed-at",
        state,
        sys.executable,
        "-c",
        RECORD,
        seen,
    )
    try:
        lines = _wait_for_lines(seen, 3, process)
        time.sleep(0.5)
    finally:
        _stop(process)
    assert seen.read_text().splitlines() == [*lines[:2], f"{missed} error"]


def test_on_work_request_completed_bad_state_file(
    debusine: Run, tmp_path: Path
) -> None:
    state = tmp_path / "last.json"
    state.write_text("not json")
    message = error(
        debusine("on-work-request-completed", "--last-completed-at", state, "true")
    )
    assert message.startswith(f"--last-completed-at {state}: expected JSON")
