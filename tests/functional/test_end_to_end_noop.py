"""The whole system as `make run` starts it: server, orchestrator, bus, worker.

Real processes: `debusine-server` (with the orchestrator and its broker) on
a scratch database and `debusine-worker` processes connected over the
CURVE-encrypted bus. A noop posted to the API is run by a worker and its
log is readable; when that worker is killed with SIGKILL, another worker
takes the next work.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from tests.functional.system import INI, System, poll, running_system
from tests.functional.test_server_process import (
    admin,
    free_port,
    run_server,
    stop,
    wait_for,
)

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def system(scratch_database: str, tmp_path: Path) -> Iterator[System]:
    with running_system(scratch_database, tmp_path) as system:
        yield system


def test_noop_runs_on_a_real_worker(system: System) -> None:
    system.start_worker("e2e-1")
    created = system.create_noop()
    done = system.wait_completed(created)
    assert done["result"] == "success"
    assert done["worker"] == "e2e-1"
    assert "noop" in system.log_text(created)

    failing = system.create_noop(result=False)
    assert system.wait_completed(failing)["result"] == "failure"


def test_killed_worker_is_replaced(system: System) -> None:
    first = system.start_worker("e2e-a")
    one = system.create_noop()
    assert system.wait_completed(one)["worker"] == "e2e-a"
    first.kill()
    first.wait(timeout=10)
    system.start_worker("e2e-b")
    two = system.create_noop()
    done = system.wait_completed(two)
    assert done["worker"] == "e2e-b"
    assert done["result"] == "success"

    # The broker noticed the silent worker (3 missed heartbeats of 1 s).
    def disconnected() -> bool:
        listed = admin(["list-workers", "--yaml"], INI, system.env)
        return _connected(listed, "e2e-a") is False

    poll(disconnected, 15, "e2e-a disconnected", every=0.5)


def _connected(yaml_text: str, name: str) -> bool | None:
    for worker in yaml.safe_load(yaml_text):
        if worker.get("name") == name:
            return bool(worker.get("connected"))
    return None


def test_standby_server_takes_over_when_the_first_is_killed(system: System) -> None:
    """A second server with the orchestrator on waits, then takes over."""
    system.start_worker("e2e-s")
    one = system.create_noop()
    assert system.wait_completed(one)["result"] == "success"

    port = free_port()
    standby = run_server(INI, port, system.env)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/1.0/whoami/", standby)
        # Kill the active server's process outright: its advisory lock goes
        # with its database connections.
        system.kill_server()
        system.base_url = f"http://127.0.0.1:{port}"
        two = system.create_noop()
        done = system.wait_completed(two, timeout=60)
        assert done["result"] == "success"
        assert done["worker"] == "e2e-s"
    finally:
        stop(standby)
