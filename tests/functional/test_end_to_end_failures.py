"""Failures with real processes: a worker killed mid-task, an abort, a server restart.

`debusine-server` (orchestrator and broker) on a scratch database and real
`debusine-worker` processes, running `noop` tasks that sleep (logging a
line a second) so that they are caught while they run. The bus uses short
heartbeats here: 1.5 s, and a peer silent for 2 of them is lost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.functional.system import (
    System,
    command_line,
    poll,
    process_alive,
    running_system,
)

pytestmark = pytest.mark.timeout(120)

INTERVAL = 1.5
LIVENESS = 2


@pytest.fixture
def system(scratch_database: str, tmp_path: Path) -> Iterator[System]:
    with running_system(
        scratch_database, tmp_path, heartbeat_interval=INTERVAL, liveness=LIVENESS
    ) as system:
        yield system


def wait_running(system: System, work_request_id: int) -> str:
    """Wait until the task runs and has logged; the name of its worker."""
    running = system.wait_status(work_request_id, "running", timeout=60)
    poll(
        lambda: "noop: slept" in system.log_text(work_request_id),
        30,
        f"work request {work_request_id} logging",
        every=0.2,
    )
    return str(running["worker"])


def test_worker_killed_mid_task_is_retried_on_another_worker(system: System) -> None:
    workers = {name: system.start_worker(name) for name in ("kf-1", "kf-2")}
    for name in workers:
        system.wait_connected(name)
    original = system.create_noop(sleep=6)
    doomed = wait_running(system, original)
    [spare] = set(workers) - {doomed}
    [task_pid] = system.task_pids(doomed, original)

    killed_at = time.time()
    workers[doomed].kill()
    workers[doomed].wait(timeout=10)

    retry = poll(
        lambda: (row := system.superseding(original)) and row["started_at"] and row,
        30,
        f"a retry of work request {original} started",
    )
    assert retry["worker"] == spare
    # Lost after LIVENESS silent intervals, retried and assigned within 3.
    elapsed = retry["started_at"].timestamp() - killed_at
    assert elapsed <= 3 * INTERVAL, f"retried {elapsed:.2f} s after the kill"
    [row] = [row for row in system.work_requests() if row["id"] == original]
    assert row["status"] == "aborted"
    assert row["worker"] == doomed

    done = system.wait_completed(retry["id"])
    assert done["result"] == "success"
    assert done["worker"] == spare
    assert f"noop: work request {retry['id']}, result success" in system.log_text(
        retry["id"]
    )
    assert done["workflow_data"]["retry_count"] == 1
    # The killed worker's task did not carry on beside its retry: its next
    # log line met a closed pipe.
    poll(lambda: not process_alive(task_pid), 5, f"task process {task_pid} gone")
    # Retried once: the original is not run again.
    assert [row["supersedes_id"] for row in system.work_requests()] == [None, original]


def test_request_of_a_lost_worker_records_worker_lost(system: System) -> None:
    worker = system.start_worker("kl-1")
    original = system.create_noop(sleep=30)
    wait_running(system, original)
    worker.kill()
    worker.wait(timeout=10)
    poll(lambda: system.superseding(original), 30, f"work request {original} retried")
    [row] = [row for row in system.work_requests() if row["id"] == original]
    codes = [error["code"] for error in (row["output_data"] or {}).get("errors", [])]
    assert codes == ["worker-lost"]


def test_abort_kills_the_task_process_on_the_worker(system: System) -> None:
    system.start_worker("ab-1")
    work_request_id = system.create_noop(sleep=300)
    wait_running(system, work_request_id)
    [task_pid] = system.task_pids("ab-1", work_request_id)
    # The pid is the task's child process, not a reused one.
    assert "worker.run_task" in command_line(task_pid)
    assert f"work-request-{work_request_id}" in command_line(task_pid)

    asked = time.monotonic()
    aborted = system.api("POST", f"/work-request/{work_request_id}/abort/")
    assert aborted["status"] == "aborted"
    poll(
        lambda: not process_alive(task_pid),
        5,
        f"task process {task_pid} gone",
        every=0.05,
    )
    assert time.monotonic() - asked <= 5

    # The worker is free again and the aborted request stays aborted.
    following = system.create_noop()
    done = system.wait_completed(following)
    assert (done["worker"], done["result"]) == ("ab-1", "success")
    shown = system.api("GET", f"/work-request/{work_request_id}/")
    assert (shown["status"], shown["result"]) == ("aborted", "")


def test_killed_server_is_rejoined_with_no_work_lost_or_run_twice(
    system: System,
) -> None:
    names = ["rs-1", "rs-2"]
    for name in names:
        system.start_worker(name)
        system.wait_connected(name)
    queued = [system.create_noop(sleep=2) for _ in range(5)]
    running = wait_running(system, queued[0])
    busy = [
        row["id"]
        for row in system.work_requests()
        if row["status"] == "running" and row["worker"] == running
    ]
    assert busy == [queued[0]]

    system.kill_server()
    # The task carries on without the server and ends: its FINAL waits on
    # the worker for the next server.
    poll(
        lambda: re.search(
            rf"work request {queued[0]}: success$",
            system.worker_log(running),
            re.MULTILINE,
        ),
        30,
        f"work request {queued[0]} finished on {running}",
    )
    system.start_server()

    for work_request_id in queued:
        done = system.wait_completed(work_request_id, timeout=60)
        assert done["result"] == "success", done
        assert done["worker"] in names
    rows = system.work_requests()
    # Nothing retried, nothing lost.
    assert [row["id"] for row in rows] == queued
    assert all(row["supersedes_id"] is None for row in rows)
    # Each ran once: one task process in all the workers' logs.
    for work_request_id in queued:
        starts = sum(len(system.task_pids(name, work_request_id)) for name in names)
        assert starts == 1, f"work request {work_request_id} started {starts} times"
