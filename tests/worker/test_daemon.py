"""The worker daemon against a real broker over loopback sockets."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from debusine.bus.broker import Broker
from tests.bus.conftest import TOKEN, RecordingHandlers, wait_for
from tests.database import ROOT
from tests.worker.conftest import alive, assignment
from worker.config import WorkerConfig
from worker.daemon import WorkerDaemon

pytestmark = pytest.mark.timeout(60)

MakeDaemon = Callable[..., WorkerDaemon]


def finished(handlers: RecordingHandlers, work_request_id: int) -> Any:
    for _, wr_id, result, output_data in handlers.named("finished"):
        if wr_id == work_request_id:
            return result, output_data
    return None


def log_of(handlers: RecordingHandlers, work_request_id: int) -> str:
    bodies = [
        body
        for _, wr_id, body in handlers.named("progress")
        if wr_id == work_request_id
    ]
    assert [body["sequence"] for body in bodies] == list(range(len(bodies)))
    assert {body["log_name"] for body in bodies} <= {"task.log"}
    return "".join(body["log"] for body in bodies)


@pytest.mark.parametrize(("value", "expected"), [(True, "success"), (False, "failure")])
def test_noop_runs_in_a_child_and_reports(
    make_daemon: MakeDaemon,
    handlers: RecordingHandlers,
    value: bool,
    expected: str,
) -> None:
    # The server spells the task type "Worker" (upstream's TaskType).
    handlers.assignments.append({**assignment(7, result=value), "task_type": "Worker"})
    daemon = make_daemon()
    result, output_data = wait_for(lambda: finished(handlers, 7), timeout=20)
    assert result == expected
    assert handlers.completed == {7: expected}
    assert f"noop: work request 7, result {expected}\n" in log_of(handlers, 7)
    statistics = output_data["runtime_statistics"]
    assert isinstance(statistics["duration"], int)
    assert isinstance(statistics["cpu_time"], int)
    assert "errors" not in output_data
    wait_for(lambda: not daemon.connection.unacknowledged)
    # The work directory is cleaned up.
    wait_for(lambda: daemon.idle.is_set())
    assert list(daemon.work_root.iterdir()) == []


def test_a_relative_work_directory(
    make_daemon: MakeDaemon,
    handlers: RecordingHandlers,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    handlers.assignments.append(assignment(8))
    make_daemon(work_directory=Path("relative-work"))
    result, _ = wait_for(lambda: finished(handlers, 8), timeout=20)
    assert result == "success"


@pytest.mark.parametrize(
    ("request_body", "code"),
    [
        (assignment(3, result="maybe"), "invalid-task-data"),
        (assignment(3, unknown=1), "invalid-task-data"),
        (assignment(3, task_name="sbuildx"), "unsupported-task"),
        ({**assignment(3), "task_type": "server"}, "unsupported-task"),
        (assignment(3, task_name="testsleep", crash=True), "task-exception"),
    ],
)
def test_bad_requests_are_errors_with_a_code(
    make_daemon: MakeDaemon,
    handlers: RecordingHandlers,
    request_body: dict[str, Any],
    code: str,
) -> None:
    handlers.assignments.append(request_body)
    make_daemon()
    result, output_data = wait_for(lambda: finished(handlers, 3), timeout=20)
    assert result == "error"
    (error,) = output_data["errors"]
    assert error["code"] == code
    assert error["message"]
    if code == "task-exception":
        assert "RuntimeError: the test task crashed on purpose" in error["message"]
        assert "Traceback" in log_of(handlers, 3)


def test_a_slow_task_keeps_heartbeating_and_streams_live(
    make_daemon: MakeDaemon, handlers: RecordingHandlers
) -> None:
    # 1.5 s is five times the liveness window (3 x 0.1 s).
    handlers.assignments.append(
        assignment(5, task_name="testsleep", seconds=1.5, lines=3)
    )
    daemon = make_daemon()
    # The log arrives while the task still runs.
    wait_for(lambda: "sleeping" in log_of(handlers, 5), timeout=20)
    assert finished(handlers, 5) is None
    result, _ = wait_for(lambda: finished(handlers, 5), timeout=20)
    assert result == "success"
    assert handlers.named("worker_lost") == []
    assert daemon.connection.sessions == 1
    log = log_of(handlers, 5)
    assert log.index("line 2") < log.index("sleeping") < log.index("awake")


@pytest.mark.parametrize("ignore_sigterm", [False, True])
def test_abort_kills_the_task_and_its_children(
    make_daemon: MakeDaemon,
    handlers: RecordingHandlers,
    broker: Broker,
    ignore_sigterm: bool,
) -> None:
    handlers.assignments.append(
        assignment(
            9,
            task_name="testsleep",
            seconds=120,
            spawn=True,
            ignore_sigterm=ignore_sigterm,
        )
    )
    daemon = make_daemon(kill_grace=1.0)
    wait_for(lambda: "sleeping" in log_of(handlers, 9), timeout=20)
    task = daemon._task
    assert task is not None
    assert task.process is not None
    child = task.process.pid
    grandchild = int(log_of(handlers, 9).split("grandchild ")[1].split()[0])
    assert alive(child)
    assert alive(grandchild)

    aborted_at = time.monotonic()
    broker.abort(9, 1)
    wait_for(lambda: not alive(child) and not alive(grandchild), timeout=5)
    assert time.monotonic() - aborted_at < 5
    wait_for(daemon.idle.is_set)
    # Nothing more is reported for an aborted work request...
    time.sleep(0.3)
    assert finished(handlers, 9) is None
    # ...and the worker takes the next one.
    handlers.assignments.append(assignment(10))
    broker.notify_work_available()
    result, _ = wait_for(lambda: finished(handlers, 10), timeout=20)
    assert result == "success"


def test_a_request_while_busy_is_refused(
    make_daemon: MakeDaemon, handlers: RecordingHandlers
) -> None:
    handlers.assignments.append(assignment(11, task_name="testsleep", seconds=120))
    daemon = make_daemon()
    wait_for(lambda: "sleeping" in log_of(handlers, 11), timeout=20)
    daemon.on_request(assignment(12))
    result, output_data = wait_for(lambda: finished(handlers, 12))
    assert result == "error"
    assert output_data["errors"][0]["code"] == "worker-busy"
    assert finished(handlers, 11) is None


def test_the_next_request_right_after_a_result_is_taken(
    make_daemon: MakeDaemon, handlers: RecordingHandlers
) -> None:
    """The broker hands out the next request as soon as a FINAL arrives."""
    for work_request_id in (14, 15, 16):
        handlers.assignments.append(assignment(work_request_id))
    make_daemon()
    for work_request_id in (14, 15, 16):
        result, output_data = wait_for(
            lambda wr=work_request_id: finished(handlers, wr), timeout=20
        )
        assert (result, output_data.get("errors")) == ("success", None)


def test_shutdown_kills_the_task_and_reports_it(
    make_daemon: MakeDaemon, handlers: RecordingHandlers
) -> None:
    handlers.assignments.append(assignment(13, task_name="testsleep", seconds=120))
    daemon = make_daemon()
    wait_for(lambda: "sleeping" in log_of(handlers, 13), timeout=20)
    task = daemon._task
    assert task is not None
    assert task.process is not None
    child = task.process.pid
    daemon.stop()
    assert not alive(child)
    result, output_data = wait_for(lambda: finished(handlers, 13))
    assert result == "error"
    assert output_data["errors"][0]["code"] == "worker-shutdown"
    assert not daemon.connection.unacknowledged
    assert os.path.isdir(daemon.work_root)


def test_tasks_use_the_configured_environment_cache(
    broker: Broker,
    handlers: RecordingHandlers,
    server_keys: tuple[bytes, bytes],
    tmp_path: Path,
) -> None:
    config = WorkerConfig(
        path=tmp_path / "config.ini",
        bus_endpoint=broker.endpoint,
        api_url="http://127.0.0.1:6543/api",
        token=TOKEN,
        server_public_key=server_keys[0],
        heartbeat_interval=0.1,
        liveness=3,
        work_directory=tmp_path / "work",
        cache_directory=tmp_path / "environments",
        cache_max_environments=3,
        cache_max_size=5 * 1024**3,
    )
    daemon = WorkerDaemon(
        config, {}, task_modules=["tests.worker.tasks.cachetask"], ack_timeout=1.0
    ).start()
    try:
        handlers.assignments.append(assignment(31, task_name="testcache"))
        # As the server does when it creates work: the worker may already
        # be connected and idle (it was, on a loaded CI machine).
        broker.notify_work_available()
        # Generous: a loaded CI machine (sbuild running beside) once took
        # longer than 20 s to start the task's process.
        result, _ = wait_for(lambda: finished(handlers, 31), timeout=60)
    finally:
        daemon.stop()
    assert result == "success"
    assert f"cache {tmp_path / 'environments'} 3 {5 * 1024**3}\n" in log_of(
        handlers, 31
    )


def children_of(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


DAEMON_SCRIPT = """
import sys
from pathlib import Path
from worker.config import load_config
from worker.daemon import WorkerDaemon
WorkerDaemon(
    load_config(Path(sys.argv[1])), {}, task_modules=["tests.worker.sleeptask"]
).run_forever()
"""


def test_a_killed_daemon_takes_its_task_with_it(
    broker: Broker,
    handlers: RecordingHandlers,
    server_keys: tuple[bytes, bytes],
    tmp_path: Path,
) -> None:
    config = tmp_path / "config.ini"
    config.write_text(
        "[General]\n"
        f"bus-endpoint = {broker.endpoint}\n"
        "api-url = http://127.0.0.1:6543/api\n"
        f"token = {TOKEN}\n"
        f"server-public-key = {server_keys[0].decode()}\n"
        "heartbeat-interval = 0.1\n"
        f"work-directory = {tmp_path / 'work'}\n"
        f"cache-directory = {tmp_path / 'cache'}\n"
    )
    handlers.assignments.append(
        assignment(32, task_name="testsleep", seconds=120, spawn=True)
    )
    daemon = subprocess.Popen(
        [sys.executable, "-c", DAEMON_SCRIPT, str(config)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for(lambda: "sleeping" in log_of(handlers, 32), timeout=30)
        (child,) = children_of(daemon.pid)
        grandchild = int(log_of(handlers, 32).split("grandchild ")[1].split()[0])
        assert alive(child)
        assert alive(grandchild)
        daemon.kill()
        daemon.wait()
        # The task's process group gets SIGTERM, then SIGKILL 2 s later.
        wait_for(lambda: not alive(child) and not alive(grandchild), timeout=10)
    finally:
        if daemon.poll() is None:
            daemon.kill()
            daemon.wait()
    assert finished(handlers, 32) is None
