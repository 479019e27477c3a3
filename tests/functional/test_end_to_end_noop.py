"""The whole system as `make run` starts it: server, orchestrator, bus, worker.

Real processes: `debusine-server` (with the orchestrator and its broker) on
a scratch database and `debusine-worker` processes connected over the
CURVE-encrypted bus. A noop posted to the API is run by a worker and its
log is readable; when that worker is killed with SIGKILL, another worker
takes the next work.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml

from tests.functional.test_server_process import (
    BIN,
    admin,
    free_port,
    run_server,
    stop,
    wait_for,
)

pytestmark = pytest.mark.timeout(180)


class System:
    def __init__(self, env: dict[str, str], base_url: str, token: str) -> None:
        self.env = env
        self.base_url = base_url
        self.headers = {"Token": token}
        self.workers: list[subprocess.Popen[bytes]] = []

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        response = requests.request(
            method,
            f"{self.base_url}/api/1.0{path}",
            headers=self.headers,
            timeout=30,
            **kwargs,
        )
        assert response.status_code < 300, response.text
        return response.json()

    def start_worker(self, name: str, directory: Path) -> subprocess.Popen[bytes]:
        token = admin(["create-worker", name], "development.ini", self.env).strip()
        public = admin(["bus-keys", "--show"], "development.ini", self.env).strip()
        directory.mkdir()
        config = directory / "config.ini"
        config.write_text(
            "[General]\n"
            f"bus-endpoint = {self.env['DEBUSINE_BUS_BIND']}\n"
            f"api-url = {self.base_url}/api\n"
            f"token = {token.splitlines()[-1]}\n"
            f"server-public-key = {public.splitlines()[-1]}\n"
            "heartbeat-interval = 1\n"
            "liveness = 3\n"
            "work-directory = work\n"
        )
        process = subprocess.Popen(
            [str(BIN / "debusine-worker"), "--config", str(config)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(directory / "worker.log").open("wb"),
        )
        self.workers.append(process)
        return process

    def wait_completed(self, work_request_id: int, timeout: float = 60) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            data = self.api("GET", f"/work-request/{work_request_id}/")
            if data["status"] == "completed":
                return data
            time.sleep(0.2)
        pytest.fail(f"work request {work_request_id} not completed in {timeout}s")


@pytest.fixture
def system(scratch_database: str, tmp_path: Path) -> Iterator[System]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DEBUSINE_")},
        "DEBUSINE_SQLALCHEMY_URL": scratch_database,
        "DEBUSINE_DATA_DIR": str(tmp_path / "data"),
        "DEBUSINE_BUS_BIND": f"tcp://127.0.0.1:{free_port()}",
        "DEBUSINE_BUS_HEARTBEAT_INTERVAL": "1",
        "DEBUSINE_BUS_LIVENESS": "3",
    }
    token_file = tmp_path / "admin-token"
    admin(["bootstrap", "--token-file", str(token_file)], "development.ini", env)
    admin(["bus-keys"], "development.ini", env)
    port = free_port()
    server = run_server("development.ini", port, env)
    base_url = f"http://127.0.0.1:{port}"
    system = System(env, base_url, token_file.read_text().strip())
    try:
        wait_for(f"{base_url}/api/1.0/whoami/", server)
        yield system
    finally:
        for worker in system.workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
                try:
                    worker.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    worker.kill()
        stop(server)


def test_noop_runs_on_a_real_worker(system: System, tmp_path: Path) -> None:
    system.start_worker("e2e-1", tmp_path / "w1")
    created = system.api(
        "POST", "/work-request/", json={"task_name": "noop", "task_data": {}}
    )
    done = system.wait_completed(created["id"])
    assert done["result"] == "success"
    assert done["worker"] == "e2e-1"
    log = system.api("GET", f"/work-request/{created['id']}/log/")
    assert "noop" in "".join(chunk["data"] for chunk in log["chunks"])

    failing = system.api(
        "POST",
        "/work-request/",
        json={"task_name": "noop", "task_data": {"result": False}},
    )
    assert system.wait_completed(failing["id"])["result"] == "failure"


def test_killed_worker_is_replaced(system: System, tmp_path: Path) -> None:
    first = system.start_worker("e2e-a", tmp_path / "a")
    one = system.api(
        "POST", "/work-request/", json={"task_name": "noop", "task_data": {}}
    )
    assert system.wait_completed(one["id"])["worker"] == "e2e-a"
    first.send_signal(signal.SIGKILL)
    first.wait(timeout=10)
    system.start_worker("e2e-b", tmp_path / "b")
    two = system.api(
        "POST", "/work-request/", json={"task_name": "noop", "task_data": {}}
    )
    done = system.wait_completed(two["id"])
    assert done["worker"] == "e2e-b"
    assert done["result"] == "success"
    # The broker noticed the silent worker (3 missed heartbeats of 1 s).
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        listed = admin(["list-workers", "--yaml"], "development.ini", system.env)
        if "e2e-a" in listed and _connected(listed, "e2e-a") is False:
            break
        time.sleep(0.5)
    else:
        pytest.fail(f"e2e-a still connected:\n{listed}")


def _connected(yaml_text: str, name: str) -> bool | None:
    for worker in yaml.safe_load(yaml_text):
        if worker.get("name") == name:
            return bool(worker.get("connected"))
    return None


def test_standby_server_takes_over_when_the_first_is_killed(
    system: System, tmp_path: Path
) -> None:
    """A second server with the orchestrator on waits, then takes over."""
    system.start_worker("e2e-s", tmp_path / "s")
    one = system.api(
        "POST", "/work-request/", json={"task_name": "noop", "task_data": {}}
    )
    assert system.wait_completed(one["id"])["result"] == "success"

    port = free_port()
    standby = run_server("development.ini", port, system.env)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/1.0/whoami/", standby)
        first_url = system.base_url
        # Kill the active server's process outright: its advisory lock goes
        # with its database connections.
        active = [
            line.split()[0]
            for line in subprocess.run(
                ["pgrep", "-af", "debusine-server"], capture_output=True, text=True
            ).stdout.splitlines()
            if f"--listen 127.0.0.1:{first_url.rsplit(':', 1)[1]}" in line
        ]
        assert len(active) == 1
        os.kill(int(active[0]), signal.SIGKILL)
        system.base_url = f"http://127.0.0.1:{port}"
        two = system.api(
            "POST", "/work-request/", json={"task_name": "noop", "task_data": {}}
        )
        done = system.wait_completed(two["id"], timeout=60)
        assert done["result"] == "success"
        assert done["worker"] == "e2e-s"
    finally:
        stop(standby)
