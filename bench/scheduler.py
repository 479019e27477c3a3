"""End-to-end noop throughput through the real bus, with 50 workers.

Run as `.venv/bin/python bench/scheduler.py`. It starts the embedded
PostgreSQL with a throw-away data directory under /tmp, migrates a fresh
database, registers 50 workers, starts a `Broker` with the database
handlers (what the orchestrator runs) on a loopback port, and connects 50
`WorkerConnection`s (CURVE, tokens) that answer each REQUEST with a FINAL at
once. It queues N `noop` work requests and times until all are completed in
the database. Prints `FIGURE bus_noop_completed_per_s`.

The 50 worker connections run in one child process, not beside the broker:
in real life workers are other machines, and in one process their threads
would compete with the broker for the GIL. They are still real
`WorkerConnection`s talking to the broker over CURVE on loopback.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Sequence
from multiprocessing.process import BaseProcess
from multiprocessing.synchronize import Event as EventType
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import zmq
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.support import fresh_database
from debusine import models
from debusine.bus.broker import Broker, Final, Settled, WorkerIdentity
from debusine.bus.connection import WorkerConnection
from debusine.bus.handlers import DatabaseBusHandlers
from debusine.work_requests import create_work_request

WORKERS = 50
WORK_REQUESTS = int(os.environ.get("BENCH_WORK_REQUESTS", "3000"))
TIMEOUT = 300.0


def setup(factory: sessionmaker[Session]) -> tuple[int, list[str]]:
    """A workspace and WORKERS workers; their token keys."""
    keys = []
    with factory.begin() as session:
        workspace = models.Workspace(
            scope=models.Scope(name="bench", label="Bench"), name="bench"
        )
        session.add(workspace)
        for n in range(WORKERS):
            token, key = models.Token.generate(enabled=True)
            session.add(
                models.Worker(
                    name=f"bench-{n}",
                    worker_type=models.WorkerType.EXTERNAL,
                    token=token,
                )
            )
            keys.append(key)
        session.flush()
        return workspace.id, keys


def queue(factory: sessionmaker[Session], workspace_id: int) -> None:
    # In chunks: each flush of one big session would walk all it holds.
    for first in range(0, WORK_REQUESTS, 200):
        with factory.begin() as session:
            workspace = session.get_one(models.Workspace, workspace_id)
            for _ in range(min(200, WORK_REQUESTS - first)):
                create_work_request(
                    session,
                    workspace=workspace,
                    task_type=models.TaskType.WORKER,
                    task_name="noop",
                    task_data={},
                    created_by=None,
                )


def completed(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return (
            session.scalar(
                select(func.count()).where(
                    models.WorkRequest.status == models.WorkRequestStatus.COMPLETED
                )
            )
            or 0
        )


def main() -> None:
    with fresh_database("bus") as url:
        engine = create_engine(url, pool_size=10, max_overflow=20)
        try:
            run(sessionmaker(bind=engine))
        finally:
            engine.dispose()


class CountingHandlers(DatabaseBusHandlers):
    """The database handlers, counting the broker's cycles that did work."""

    settles = 0
    finals = 0
    seconds = 0.0

    def settle(
        self, finals: Sequence[Final], idle: Sequence[WorkerIdentity]
    ) -> Settled:
        self.settles += 1
        self.finals += len(finals)
        started = time.perf_counter()
        try:
            return super().settle(finals, idle)
        finally:
            self.seconds += time.perf_counter() - started


def run_workers(endpoint: str, public: bytes, keys: list[str], stop: EventType) -> None:
    """The child process: one `WorkerConnection` per key until `stop`."""
    connections = []
    for key in keys:
        holder: dict[str, WorkerConnection] = {}

        def on_request(body: dict[str, Any], holder: Any = holder) -> None:
            holder["connection"].send_final(body["work_request_id"], "success", {})

        connection = WorkerConnection(
            endpoint,
            key,
            public,
            {
                "system:architectures": ["amd64"],
                "system:host_architecture": "amd64",
            },
            on_request=on_request,
            on_abort=lambda _id: None,
        )
        holder["connection"] = connection
        connections.append(connection.start())
    parent = os.getppid()
    # Until told, or until the benchmark died without telling.
    while not stop.wait(1.0) and os.getppid() == parent:
        pass
    for connection in connections:
        connection.stop()


def run(factory: sessionmaker[Session]) -> None:
    broker: Broker | None = None
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    workers: BaseProcess | None = None
    try:
        workspace_id, keys = setup(factory)

        public, secret = zmq.curve_keypair()
        handlers = CountingHandlers(factory)
        broker = Broker(
            "tcp://127.0.0.1:*",
            handlers,
            server_secret_key=secret,
            server_public_key=public,
        ).start()
        handlers.on_work_available = broker.notify_work_available

        workers = context.Process(
            target=run_workers, args=(broker.endpoint, public, keys, stop)
        )
        workers.start()
        deadline = time.monotonic() + 60
        while len(broker.connected_workers) < WORKERS:
            if time.monotonic() > deadline or not workers.is_alive():
                raise RuntimeError("the workers did not all connect")
            time.sleep(0.05)

        queue(factory, workspace_id)
        start = time.monotonic()
        broker.notify_work_available()
        while True:
            count = completed(factory)
            if count >= WORK_REQUESTS:
                break
            if time.monotonic() - start > TIMEOUT:
                raise RuntimeError(f"only {count} of {WORK_REQUESTS} completed")
            time.sleep(0.05)
        elapsed = time.monotonic() - start
        rate = WORK_REQUESTS / elapsed
        print(
            f"# {WORK_REQUESTS} noop work requests, {WORKERS} workers: {elapsed:.2f} s;"
            f" {handlers.settles} transactions of"
            f" {handlers.finals / max(handlers.settles, 1):.1f} results on average,"
            f" {handlers.seconds:.2f} s in them"
        )
        print(f"FIGURE bus_noop_completed_per_s {rate:.0f} per_s target >=500")
    finally:
        stop.set()
        if workers is not None:
            workers.join(30)
            if workers.is_alive():
                workers.kill()
                workers.join()
        if broker is not None:
            broker.stop()


if __name__ == "__main__":
    main()
