"""Brokers and worker connections on loopback, with recording handlers."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pytest
import zmq

from debusine.bus.broker import Broker, Final, Settled, WorkerIdentity
from debusine.bus.connection import WorkerConnection

TOKEN = "good-token"
# Generous enough for a loaded 2-core CI machine: a peer is lost after
# LIVENESS silent intervals.
INTERVAL = 0.15
LIVENESS = 3


def wait_for(condition: Callable[[], Any], timeout: float = 5.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.005)
    raise AssertionError("condition not met in time")


class RecordingHandlers:
    """BusHandlers that record every call and serve queued assignments."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.calls: list[tuple[str, Any]] = []
        self.assignments: list[dict[str, Any]] = []
        self.completed: dict[int, str] = {}
        self.workers = {TOKEN: WorkerIdentity(1, "worker1", "external")}

    def record(self, name: str, *args: Any) -> None:
        with self.lock:
            self.calls.append((name, args))

    def named(self, name: str) -> list[Any]:
        with self.lock:
            return [args for call, args in self.calls if call == name]

    def authenticate(self, token: str) -> WorkerIdentity | None:
        self.record("authenticate", token)
        return self.workers.get(token)

    def worker_ready(self, worker: WorkerIdentity, metadata: dict[str, Any]) -> None:
        self.record("worker_ready", worker, metadata)

    def settle(
        self, finals: Sequence[Final], idle: Sequence[WorkerIdentity]
    ) -> Settled:
        settled = Settled([], {})
        for final in finals:
            self.record(
                "finished",
                final.worker,
                final.work_request_id,
                final.result,
                final.output_data,
            )
            with self.lock:
                # Idempotent by work request id, as the database is.
                self.completed.setdefault(final.work_request_id, final.result)
            settled.acknowledged.append(final)
        for worker in idle:
            self.record("next_assignment", worker)
            with self.lock:
                if self.assignments:
                    settled.assignments[worker.id] = self.assignments.pop(0)
        return settled

    def progress(
        self, worker: WorkerIdentity, work_request_id: int, body: dict[str, Any]
    ) -> None:
        self.record("progress", worker, work_request_id, body)

    def worker_lost(self, worker: WorkerIdentity) -> None:
        self.record("worker_lost", worker)


def noop_assignment(work_request_id: int) -> dict[str, Any]:
    return {
        "work_request_id": work_request_id,
        "task_type": "worker",
        "task_name": "noop",
        "task_data": {"result": True},
        "api_url": "http://127.0.0.1:6543/api",
    }


@pytest.fixture(scope="session")
def server_keys() -> tuple[bytes, bytes]:
    return zmq.curve_keypair()


@pytest.fixture
def handlers() -> RecordingHandlers:
    return RecordingHandlers()


@pytest.fixture
def make_broker(
    server_keys: tuple[bytes, bytes], handlers: RecordingHandlers
) -> Iterator[Callable[..., Broker]]:
    brokers: list[Broker] = []
    public, secret = server_keys

    def make(bind: str = "tcp://127.0.0.1:*", **kwargs: Any) -> Broker:
        kwargs.setdefault("heartbeat_interval", INTERVAL)
        kwargs.setdefault("liveness", LIVENESS)
        broker = Broker(
            bind,
            kwargs.pop("handlers", handlers),
            server_secret_key=secret,
            server_public_key=public,
            **kwargs,
        ).start()
        brokers.append(broker)
        return broker

    yield make
    for broker in brokers:
        broker.stop()


class Worker:
    """A WorkerConnection and what its callbacks received."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.aborts: list[int] = []
        self.busy_for = 0.0
        self.connection: WorkerConnection

    def on_request(self, body: dict[str, Any]) -> None:
        self.requests.append(body)
        if self.busy_for:
            time.sleep(self.busy_for)

    def on_abort(self, work_request_id: int) -> None:
        self.aborts.append(work_request_id)


@pytest.fixture
def make_worker(
    server_keys: tuple[bytes, bytes],
) -> Iterator[Callable[..., Worker]]:
    connections: list[WorkerConnection] = []

    def make(endpoint: str, **kwargs: Any) -> Worker:
        worker = Worker()
        kwargs.setdefault("heartbeat_interval", INTERVAL)
        kwargs.setdefault("liveness", LIVENESS)
        kwargs.setdefault("reconnect_min", 0.05)
        kwargs.setdefault("reconnect_max", 0.2)
        worker.connection = WorkerConnection(
            endpoint,
            kwargs.pop("token", TOKEN),
            kwargs.pop("server_public_key", server_keys[0]),
            {"system:architectures": ["amd64"]},
            on_request=worker.on_request,
            on_abort=worker.on_abort,
            **kwargs,
        ).start()
        connections.append(worker.connection)
        return worker

    yield make
    for connection in connections:
        connection.stop()
