"""A real broker with in-test handlers, and worker daemons connected to it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from debusine.bus.broker import Broker
from tests.bus.conftest import TOKEN, RecordingHandlers
from worker.config import WorkerConfig
from worker.daemon import WorkerDaemon

INTERVAL = 0.1
LIVENESS = 3
SLEEP_TASK_MODULE = "tests.worker.sleeptask"


def assignment(
    work_request_id: int, task_name: str = "noop", **task_data: Any
) -> dict[str, Any]:
    return {
        "work_request_id": work_request_id,
        "task_type": "worker",
        "task_name": task_name,
        "task_data": task_data,
        "api_url": "http://127.0.0.1:6543/api",
    }


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie nobody reaps counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


@pytest.fixture
def handlers() -> RecordingHandlers:
    return RecordingHandlers()


@pytest.fixture
def server_keys() -> tuple[bytes, bytes]:
    import zmq

    return zmq.curve_keypair()


@pytest.fixture
def broker(
    handlers: RecordingHandlers, server_keys: tuple[bytes, bytes]
) -> Iterator[Broker]:
    public, secret = server_keys
    broker = Broker(
        "tcp://127.0.0.1:*",
        handlers,
        server_secret_key=secret,
        server_public_key=public,
        heartbeat_interval=INTERVAL,
        liveness=LIVENESS,
    ).start()
    yield broker
    broker.stop()


@pytest.fixture
def make_daemon(
    broker: Broker, server_keys: tuple[bytes, bytes], tmp_path: Path
) -> Iterator[Callable[..., WorkerDaemon]]:
    daemons: list[WorkerDaemon] = []

    def make(**kwargs: Any) -> WorkerDaemon:
        config = WorkerConfig(
            path=tmp_path / "config.ini",
            bus_endpoint=broker.endpoint,
            api_url="http://127.0.0.1:6543/api",
            token=TOKEN,
            server_public_key=server_keys[0],
            heartbeat_interval=INTERVAL,
            liveness=LIVENESS,
            work_directory=kwargs.pop(
                "work_directory", tmp_path / f"work-{len(daemons)}"
            ),
        )
        kwargs.setdefault("task_modules", [SLEEP_TASK_MODULE])
        kwargs.setdefault("reconnect_min", 0.05)
        kwargs.setdefault("reconnect_max", 0.2)
        kwargs.setdefault("ack_timeout", 1.0)
        daemon = WorkerDaemon(config, {"system:worker_type": "external"}, **kwargs)
        daemons.append(daemon)
        return daemon.start()

    yield make
    for daemon in daemons:
        if not daemon._stopping.is_set():
            daemon.stop()
