"""The whole system in real processes, for end-to-end tests.

`running_system()` starts `debusine-server` (with its orchestrator and bus
broker) on a scratch database; `System.start_worker()` adds real
`debusine-worker` processes connected over the CURVE-encrypted bus. Each
process logs to a file under the test's directory, so nothing blocks on a
full pipe and a failing test can show what happened. The test process
reads the server's records directly from the database (`System.database`)
for what the API does not show (superseding requests, output data).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest
import requests
import sqlalchemy
from sqlalchemy import Engine

from tests.database import ROOT
from tests.functional.test_server_process import BIN, admin, free_port

INI = "development.ini"
T = TypeVar("T")


def poll(
    condition: Callable[[], T | None], timeout: float, what: str, every: float = 0.1
) -> T:
    """The first true value of `condition()` within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"{what}: not within {timeout} s")
        time.sleep(every)


def process_alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except (FileNotFoundError, ProcessLookupError):
        return ""


def _terminate(process: subprocess.Popen[bytes], timeout: float) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class System:
    """A running server, its workers, and what the test needs to watch them."""

    def __init__(
        self, env: dict[str, str], directory: Path, port: int, token: str
    ) -> None:
        self.env = env
        self.directory = directory
        self.port = port
        self.base_url = f"http://127.0.0.1:{port}"
        self.headers = {"Token": token}
        self.server: subprocess.Popen[bytes] | None = None
        self.server_starts = 0
        self.workers: dict[str, subprocess.Popen[bytes]] = {}
        self.database: Engine = sqlalchemy.create_engine(
            env["DEBUSINE_SQLALCHEMY_URL"], poolclass=sqlalchemy.NullPool
        )

    # -- the server ------------------------------------------------------------

    def start_server(self, timeout: float = 60) -> None:
        """Start `debusine-server` on this system's port and wait for its API."""
        assert self.server is None or self.server.poll() is not None
        self.server_starts += 1
        log_file = self.directory / f"server-{self.server_starts}.log"
        self.server = subprocess.Popen(
            [
                str(BIN / "debusine-server"),
                str(ROOT / INI),
                "--listen",
                f"127.0.0.1:{self.port}",
            ],
            env=self.env,
            stdout=log_file.open("wb"),
            stderr=subprocess.STDOUT,
        )
        server = self.server

        def answers() -> bool:
            if server.poll() is not None:
                pytest.fail(
                    f"server exited with {server.returncode}:\n{log_file.read_text()}"
                )
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{self.base_url}/api/1.0/whoami/", timeout=2)
                return True
            return False

        poll(answers, timeout, f"server on {self.base_url}", every=0.2)

    def kill_server(self) -> None:
        """SIGKILL: no DISCONNECT to the workers, no clean shutdown."""
        assert self.server is not None
        self.server.kill()
        self.server.wait(timeout=10)

    def server_log(self) -> str:
        return "".join(
            path.read_text(errors="replace")
            for path in sorted(self.directory.glob("server-*.log"))
        )

    # -- workers ---------------------------------------------------------------

    def start_worker(self, name: str) -> subprocess.Popen[bytes]:
        output = admin(["create-worker", name], INI, self.env).strip()
        public = admin(["bus-keys", "--show"], INI, self.env).strip()
        directory = self.directory / name
        directory.mkdir()
        config = directory / "config.ini"
        config.write_text(
            "[General]\n"
            f"bus-endpoint = {self.env['DEBUSINE_BUS_BIND']}\n"
            f"api-url = {self.base_url}/api\n"
            f"token = {output.splitlines()[-1]}\n"
            f"server-public-key = {public.splitlines()[-1]}\n"
            f"heartbeat-interval = {self.env['DEBUSINE_BUS_HEARTBEAT_INTERVAL']}\n"
            f"liveness = {self.env['DEBUSINE_BUS_LIVENESS']}\n"
            "work-directory = work\n"
        )
        process = subprocess.Popen(
            [str(BIN / "debusine-worker"), "--config", str(config)],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(directory / "worker.log").open("wb"),
        )
        self.workers[name] = process
        return process

    def worker_log(self, name: str) -> str:
        return (self.directory / name / "worker.log").read_text(errors="replace")

    def task_pids(self, name: str, work_request_id: int) -> list[int]:
        """The pids of the task processes the worker started for the request."""
        pattern = rf"work request {work_request_id}: \S+ runs as pid (\d+)"
        return [int(pid) for pid in re.findall(pattern, self.worker_log(name))]

    def wait_connected(self, name: str, timeout: float = 30) -> None:
        def connected() -> bool:
            with self.database.connect() as connection:
                return bool(
                    connection.scalar(
                        sqlalchemy.text(
                            "SELECT connected_at IS NOT NULL FROM worker"
                            " WHERE name = :name"
                        ),
                        {"name": name},
                    )
                )

        poll(connected, timeout, f"worker {name} connected")

    # -- the API ---------------------------------------------------------------

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

    def create_noop(self, **task_data: Any) -> int:
        created = self.api(
            "POST", "/work-request/", json={"task_name": "noop", "task_data": task_data}
        )
        return int(created["id"])

    def wait_status(
        self, work_request_id: int, status: str, timeout: float = 60
    ) -> Any:
        def reached() -> Any:
            data = self.api("GET", f"/work-request/{work_request_id}/")
            return data if data["status"] == status else None

        return poll(reached, timeout, f"work request {work_request_id} {status}", 0.2)

    def wait_completed(self, work_request_id: int, timeout: float = 60) -> Any:
        return self.wait_status(work_request_id, "completed", timeout)

    def log_text(self, work_request_id: int) -> str:
        log = self.api("GET", f"/work-request/{work_request_id}/log/")
        return "".join(chunk["data"] for chunk in log["chunks"])

    # -- the server's records --------------------------------------------------

    def work_requests(self) -> list[dict[str, Any]]:
        """Every work request's row, by id, as the database has it."""
        with self.database.connect() as connection:
            rows = connection.execute(
                sqlalchemy.text(
                    "SELECT wr.id, wr.status, wr.result, worker.name AS worker,"
                    " wr.supersedes_id, wr.started_at, wr.completed_at,"
                    " wr.output_data, wr.workflow_data FROM work_request AS wr"
                    " LEFT JOIN worker ON worker.id = wr.worker_id"
                    " ORDER BY wr.id"
                )
            )
            return [dict(row._mapping) for row in rows]

    def superseding(self, work_request_id: int) -> dict[str, Any] | None:
        for row in self.work_requests():
            if row["supersedes_id"] == work_request_id:
                return row
        return None

    # -- shutting down ---------------------------------------------------------

    def stop(self) -> None:
        for process in self.workers.values():
            _terminate(process, timeout=15)
        if self.server is not None:
            _terminate(self.server, timeout=30)
        self.database.dispose()


@contextlib.contextmanager
def running_system(
    database_url: str,
    directory: Path,
    *,
    heartbeat_interval: float = 1,
    liveness: int = 3,
) -> Iterator[System]:
    """A bootstrapped server on `database_url`; everything stopped after."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DEBUSINE_")},
        "DEBUSINE_SQLALCHEMY_URL": database_url,
        "DEBUSINE_DATA_DIR": str(directory / "data"),
        "DEBUSINE_BUS_BIND": f"tcp://127.0.0.1:{free_port()}",
        "DEBUSINE_BUS_HEARTBEAT_INTERVAL": f"{heartbeat_interval:g}",
        "DEBUSINE_BUS_LIVENESS": str(liveness),
    }
    token_file = directory / "admin-token"
    admin(["bootstrap", "--token-file", str(token_file)], INI, env)
    admin(["bus-keys"], INI, env)
    system = System(env, directory, free_port(), token_file.read_text().strip())
    try:
        system.start_server()
        yield system
    finally:
        system.stop()
