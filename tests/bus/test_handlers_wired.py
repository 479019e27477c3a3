"""DatabaseBusHandlers wired to the broker: real database, real sockets.

A worker (in the database, with a token) connects over the bus, takes the
pending noop, streams log chunks, reports its result; lost workers' work is
retried on another worker; aborted work is stopped on the worker.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import zmq
from sqlalchemy import Engine, create_engine, pool, select
from sqlalchemy.orm import Session, sessionmaker

from debusine import work_requests
from debusine.bus.broker import Broker
from debusine.bus.codec import decode, encode
from debusine.bus.handlers import DatabaseBusHandlers
from debusine.bus.messages import Command
from debusine.models import (
    Scope,
    Token,
    Worker,
    WorkerType,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
    Workspace,
)
from debusine.orchestration.logs import read_log
from tests.bus.conftest import Worker as BusWorker
from tests.bus.conftest import wait_for

pytestmark = pytest.mark.timeout(60)

# Long enough that a loaded CI machine (xdist, Debian tools in other tests)
# still retries a lost worker's task within 3 intervals.
INTERVAL = 1.0


@dataclass
class Database:
    engine: Engine
    factory: sessionmaker[Session]
    workspace_id: int

    def add_worker(
        self, name: str, architectures: tuple[str, ...] = ("amd64",)
    ) -> tuple[int, str]:
        """A worker with an enabled token: (worker id, token key)."""
        with self.factory.begin() as session:
            token, key = Token.generate(enabled=True, comment="bus test")
            worker = Worker(name=name, worker_type=WorkerType.EXTERNAL, token=token)
            session.add(worker)
            session.flush()
            return worker.id, key

    def add_noop(self, **task_data: Any) -> int:
        with self.factory.begin() as session:
            workspace = session.get_one(Workspace, self.workspace_id)
            work_request = work_requests.create_work_request(
                session,
                workspace=workspace,
                task_type="Worker",
                task_name="noop",
                task_data=task_data,
                created_by=None,
            )
            return work_request.id

    def get(self, work_request_id: int) -> WorkRequest:
        with self.factory() as session:
            work_request = session.get_one(WorkRequest, work_request_id)
            session.expunge(work_request)
            return work_request

    def retry_of(self, work_request_id: int) -> WorkRequest | None:
        with self.factory() as session:
            work_request = session.scalars(
                select(WorkRequest).where(WorkRequest.supersedes_id == work_request_id)
            ).one_or_none()
            if work_request is not None:
                session.expunge(work_request)
            return work_request


def make_database(url: str) -> Database:
    engine = create_engine(url, poolclass=pool.NullPool)
    factory = sessionmaker(bind=engine)
    with factory.begin() as session:
        scope = Scope(name="bus", label="Bus")
        workspace = Workspace(scope=scope, name="wired")
        session.add(workspace)
        session.flush()
        workspace_id = workspace.id
    return Database(engine, factory, workspace_id)


@pytest.fixture
def database(scratch_database: str) -> Iterator[Database]:
    db = make_database(scratch_database)
    yield db
    db.engine.dispose()


@pytest.fixture
def wired(
    database: Database, make_broker: Callable[..., Broker]
) -> tuple[Broker, DatabaseBusHandlers]:
    handlers = DatabaseBusHandlers(database.factory)
    broker = make_broker(handlers=handlers, heartbeat_interval=INTERVAL, liveness=2)
    handlers.on_work_available = broker.notify_work_available
    return broker, handlers


def connect(
    make_worker: Callable[..., BusWorker], broker: Broker, token: str
) -> BusWorker:
    return make_worker(
        broker.endpoint, token=token, heartbeat_interval=INTERVAL, liveness=2
    )


def test_worker_takes_noop_streams_log_and_completes(
    database: Database,
    wired: tuple[Broker, DatabaseBusHandlers],
    make_worker: Callable[..., BusWorker],
) -> None:
    broker, handlers = wired
    wr_id = database.add_noop()
    worker_id, key = database.add_worker("wired-1")
    worker = connect(make_worker, broker, key)

    wait_for(lambda: worker.requests)
    (request,) = worker.requests
    assert request["work_request_id"] == wr_id
    assert request["task_type"] == "Worker"
    assert request["task_name"] == "noop"
    assert request["task_data"] == {}
    assert request["extra"] == {
        "dynamic_task_data": {},
        "workspace": "wired",
        "scope": "bus",
    }
    # Sending REQUEST is the start: running, on that worker, started_at set.
    running = database.get(wr_id)
    assert running.status == WorkRequestStatus.RUNNING
    assert running.worker_id == worker_id
    assert running.started_at is not None

    connection = worker.connection
    connection.send_partial(wr_id, 0, progress=0.25, log="line 1\n")
    connection.send_partial(wr_id, 1, log="line 2\n", log_name="stderr")
    connection.send_partial(wr_id, 1, log="line 2 again\n", log_name="stderr")
    connection.send_partial(wr_id, 2, progress=0.5, log="line\x003\n")

    def log_page() -> Any:
        with database.factory() as session:
            return read_log(session, session.get_one(WorkRequest, wr_id))

    wait_for(lambda: len(log_page().chunks) == 3)
    page = log_page()
    assert page.chunks == [
        {"name": "log", "sequence": 0, "data": "line 1\n"},
        {"name": "stderr", "sequence": 1, "data": "line 2\n"},
        {"name": "log", "sequence": 2, "data": "line\ufffd3\n"},
    ]
    assert page.next == 3
    assert page.progress == 0.5
    assert not page.complete

    connection.send_final(wr_id, "success", {"runtime_statistics": {"duration": 1}})
    wait_for(lambda: database.get(wr_id).status == WorkRequestStatus.COMPLETED)
    wait_for(lambda: not connection.unacknowledged)
    done = database.get(wr_id)
    assert done.result == WorkRequestResult.SUCCESS
    assert done.output_data == {"runtime_statistics": {"duration": 1}}
    with database.factory() as session:
        assert read_log(session, session.get_one(WorkRequest, wr_id), since=3).complete

    # A duplicate FINAL (its ACK lost) is acknowledged and changes nothing.
    connection.send_final(wr_id, "failure", {"other": True})
    wait_for(lambda: not connection.unacknowledged)
    time.sleep(INTERVAL)
    again = database.get(wr_id)
    assert again.result == WorkRequestResult.SUCCESS
    assert again.output_data == done.output_data
    assert again.completed_at == done.completed_at

    # A PARTIAL or FINAL from a worker that does not run it is ignored.
    _, other_key = database.add_worker("wired-other")
    other = handlers.authenticate(other_key)
    assert other is not None
    handlers.finished(other, wr_id, "failure", {})
    handlers.progress(
        other, wr_id, {"work_request_id": wr_id, "sequence": 9, "log": "x"}
    )
    assert database.get(wr_id).result == WorkRequestResult.SUCCESS
    with database.factory() as session:
        assert len(read_log(session, session.get_one(WorkRequest, wr_id)).chunks) == 3

    # The idle worker takes the next work as soon as the server has some.
    second = database.add_noop()
    broker.notify_work_available()
    wait_for(lambda: len(worker.requests) == 2)
    assert worker.requests[1]["work_request_id"] == second


def _raw_worker(
    endpoint: str, server_public_key: bytes, context: zmq.Context[Any]
) -> zmq.Socket[Any]:
    socket = context.socket(zmq.DEALER)
    socket.linger = 0
    public, secret = zmq.curve_keypair()
    socket.curve_publickey = public
    socket.curve_secretkey = secret
    socket.curve_serverkey = server_public_key
    socket.connect(endpoint)
    return socket


def test_silent_worker_is_lost_and_its_work_retried_elsewhere(
    database: Database,
    wired: tuple[Broker, DatabaseBusHandlers],
    make_worker: Callable[..., BusWorker],
    server_keys: tuple[bytes, bytes],
) -> None:
    broker, _ = wired
    wr_id = database.add_noop()
    lost_id, lost_key = database.add_worker("wired-lost")
    _, spare_key = database.add_worker("wired-spare")
    context = zmq.Context()
    # A worker that takes the task, then stops heartbeating (like kill -9).
    silent = _raw_worker(broker.endpoint, server_keys[0], context)
    try:
        silent.send_multipart(
            encode(
                Command.READY,
                {"protocol": 1, "token": lost_key, "metadata": {}, "running": []},
            )
        )
        last_sent = time.monotonic()
        received = []
        while len(received) < 2 and silent.poll(2000):
            received.append(decode(silent.recv_multipart()))
        assert [m.command for m in received] == [Command.HEARTBEAT, Command.REQUEST]
        assert received[1].body["work_request_id"] == wr_id
        spare = connect(make_worker, broker, spare_key)
        wait_for(lambda: spare.connection.registered.is_set())

        # Lost after 2 silent intervals; the retry reaches the spare worker
        # within 3 intervals of the last sign of life.
        wait_for(lambda: spare.requests, timeout=10)
        elapsed = time.monotonic() - last_sent
        assert elapsed <= 3 * INTERVAL + 0.25, elapsed
    finally:
        # Closed whatever happened, or terminating the context waits forever.
        silent.close()
        context.term()
    retry = database.retry_of(wr_id)
    assert retry is not None
    assert spare.requests[0]["work_request_id"] == retry.id
    assert retry.status == WorkRequestStatus.RUNNING
    assert retry.workflow_data == {"retry_count": 1}
    old = database.get(wr_id)
    assert old.status == WorkRequestStatus.ABORTED
    with database.factory() as session:
        assert session.get_one(Worker, lost_id).connected_at is None


def test_abort_reaches_the_worker(
    database: Database,
    wired: tuple[Broker, DatabaseBusHandlers],
    make_worker: Callable[..., BusWorker],
) -> None:
    broker, _ = wired
    wr_id = database.add_noop()
    worker_id, key = database.add_worker("wired-abort")
    worker = connect(make_worker, broker, key)
    wait_for(lambda: worker.requests)
    with database.factory.begin() as session:
        on_workers = work_requests.abort(
            session, session.get_one(WorkRequest, wr_id), None
        )
    assert on_workers == [wr_id]
    broker.abort(wr_id, worker_id)
    wait_for(lambda: worker.aborts == [wr_id])
    assert worker.connection.running == set()
    # A FINAL sent anyway is acknowledged and ignored.
    worker.connection.send_final(wr_id, "success", {})
    wait_for(lambda: not worker.connection.unacknowledged)
    assert database.get(wr_id).status == WorkRequestStatus.ABORTED
