"""The orchestrator: advisory lock, hot standby, broker, after-commit hooks."""

from __future__ import annotations

import datetime as dt
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import transaction
from sqlalchemy import select, text

from debusine import work_requests
from debusine.bus.connection import WorkerConnection
from debusine.bus.keys import load_public_key
from debusine.db.session import transactional_session
from debusine.models import Worker, WorkRequest, WorkRequestStatus, Workspace
from debusine.orchestration import orchestrator as orchestrator_module
from debusine.orchestration.orchestrator import (
    ADVISORY_LOCK_KEY,
    Orchestrator,
    after_commit_abort,
    after_commit_notify,
)
from tests.bus.conftest import Worker as BusWorker
from tests.bus.conftest import wait_for
from tests.bus.test_handlers_wired import Database, make_database
from tests.orchestration.test_pool import children_per_workflow, create_workflows

pytestmark = pytest.mark.timeout(90)

INTERVAL = 0.2


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def database(scratch_database: str) -> Iterator[Database]:
    db = make_database(scratch_database)
    yield db
    db.engine.dispose()


@pytest.fixture
def settings(tmp_path: Path) -> dict[str, Any]:
    return {
        "debusine.data_dir": str(tmp_path / "data"),
        "debusine.bus.bind": f"tcp://127.0.0.1:{free_port()}",
        "debusine.bus.heartbeat_interval": str(INTERVAL),
        "debusine.bus.liveness": "3",
        "debusine.orchestrator.tick_seconds": "0.5",
        "debusine.orchestrator.standby_retry_seconds": "0.2",
    }


@pytest.fixture
def make_orchestrator(
    database: Database, settings: dict[str, Any]
) -> Iterator[Callable[[], Orchestrator]]:
    started: list[Orchestrator] = []

    def make() -> Orchestrator:
        orchestrator = Orchestrator(settings, database.factory).start()
        started.append(orchestrator)
        return orchestrator

    yield make
    for orchestrator in started:
        orchestrator.stop()


@pytest.fixture
def connect(
    settings: dict[str, Any],
) -> Iterator[Callable[[str], BusWorker]]:
    connections: list[WorkerConnection] = []

    def make(token: str) -> BusWorker:
        worker = BusWorker()
        worker.connection = WorkerConnection(
            settings["debusine.bus.bind"],
            token,
            load_public_key(settings["debusine.data_dir"]),
            {"system:architectures": ["amd64"]},
            on_request=worker.on_request,
            on_abort=worker.on_abort,
            heartbeat_interval=INTERVAL,
            liveness=3,
            reconnect_min=0.05,
            reconnect_max=0.2,
        ).start()
        connections.append(worker.connection)
        return worker

    yield make
    for connection in connections:
        connection.stop()


def test_one_active_and_a_hot_standby_that_takes_over(
    database: Database,
    make_orchestrator: Callable[[], Orchestrator],
    connect: Callable[[str], BusWorker],
) -> None:
    # A worker marked connected by a previous (dead) broker.
    stale_id, _ = database.add_worker("stale")
    with database.factory.begin() as session:
        session.get_one(Worker, stale_id).connected_at = dt.datetime.now(dt.UTC)

    first = make_orchestrator()
    assert first.active.wait(10)
    assert first.broker is not None
    with database.factory() as session:
        assert session.get_one(Worker, stale_id).connected_at is None
    second = make_orchestrator()
    time.sleep(1)
    assert not second.active.is_set()
    assert second.broker is None
    with database.engine.connect() as connection:
        # The lock is held (by the first): nobody else gets it.
        assert not connection.scalar(
            text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
        )

    wr_id = database.add_noop()
    worker_id, key = database.add_worker("failover")
    worker = connect(key)
    wait_for(lambda: worker.requests, timeout=10)
    assert worker.requests[0]["work_request_id"] == wr_id
    worker.connection.send_final(wr_id, "success", {})
    wait_for(lambda: database.get(wr_id).status == WorkRequestStatus.COMPLETED)

    # The first dies: the standby takes over within seconds, the worker
    # rejoins the new broker and is served.
    first.stop()
    assert second.active.wait(10)
    assert second.broker is not None
    next_id = database.add_noop()
    # No notification from this process: the periodic tick finds it.
    wait_for(lambda: len(worker.requests) == 2, timeout=10)
    assert worker.requests[1]["work_request_id"] == next_id
    assert worker.connection.sessions >= 2
    with database.factory() as session:
        assert session.get_one(Worker, worker_id).connected_at is not None


def test_after_commit_notify_and_abort(
    database: Database,
    make_orchestrator: Callable[[], Orchestrator],
    connect: Callable[[str], BusWorker],
    settings: dict[str, Any],
) -> None:
    # A long tick: only the after-commit notification can be this quick.
    settings["debusine.orchestrator.tick_seconds"] = "60"
    orchestrator = make_orchestrator()
    assert orchestrator.active.wait(10)
    worker_id, key = database.add_worker("hooks")
    worker = connect(key)
    wait_for(lambda: worker.connection.registered.is_set(), timeout=10)

    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    session = transactional_session(database.factory, manager)
    workspace = session.get_one(Workspace, database.workspace_id)
    created = work_requests.create_work_request(
        session,
        workspace=workspace,
        task_type="Worker",
        task_name="noop",
        task_data={},
        created_by=None,
    )
    wr_id = created.id
    after_commit_notify(manager)
    time.sleep(0.3)
    assert worker.requests == []  # not before the commit
    manager.commit()
    session.close()
    wait_for(lambda: worker.requests, timeout=10)
    assert worker.requests[0]["work_request_id"] == wr_id

    # Abort after commit: ABORT reaches the worker.
    manager.begin()
    session = transactional_session(database.factory, manager)
    on_workers = work_requests.abort(session, session.get_one(WorkRequest, wr_id), None)
    for aborted in on_workers:
        after_commit_abort(manager, aborted, worker_id)
    manager.commit()
    session.close()
    wait_for(lambda: worker.aborts == [wr_id], timeout=10)

    # A rolled-back transaction notifies nothing.
    manager.begin()
    after_commit_abort(manager, wr_id, worker_id)
    manager.abort()
    time.sleep(0.3)
    assert worker.aborts == [wr_id]
    with database.factory() as session:
        assert session.scalar(
            select(WorkRequest.status).where(WorkRequest.id == wr_id)
        ) == (WorkRequestStatus.ABORTED)


def test_hooks_without_an_orchestrator_do_nothing() -> None:
    assert orchestrator_module.current() is None
    manager = transaction.TransactionManager(explicit=True)
    manager.begin()
    after_commit_notify(manager)
    after_commit_abort(manager, 1, 1)
    manager.commit()


def test_debusine_server_starts_it_only_when_configured(
    scratch_database: str, settings: dict[str, Any]
) -> None:
    import debusine
    from debusine.server import start_orchestrator

    off = debusine.main({}, **{**settings, "sqlalchemy.url": scratch_database})
    assert start_orchestrator(off) is None
    on = debusine.main(
        {},
        **{
            **settings,
            "sqlalchemy.url": scratch_database,
            "debusine.orchestrator": "true",
        },
    )
    orchestrator = start_orchestrator(on)
    try:
        assert isinstance(orchestrator, Orchestrator)
        assert orchestrator.active.wait(10)
        assert orchestrator_module.current() is orchestrator
        assert orchestrator.endpoint == settings["debusine.bus.bind"]
    finally:
        orchestrator.stop()
        on.registry["debusine.db_engine"].dispose()
        off.registry["debusine.db_engine"].dispose()
    assert orchestrator_module.current() is None
    assert not orchestrator.active.is_set()


def test_work_of_a_worker_that_never_comes_back_is_retried(
    database: Database,
    make_orchestrator: Callable[[], Orchestrator],
    connect: Callable[[str], BusWorker],
    settings: dict[str, Any],
) -> None:
    # Running on a worker of a previous broker, which died with it.
    wr_id = database.add_noop()
    gone_id, _ = database.add_worker("gone")
    with database.factory.begin() as session:
        work_request = session.get_one(WorkRequest, wr_id)
        work_requests.mark_running(
            session, work_request, session.get_one(Worker, gone_id)
        )
    settings["debusine.orchestrator.lost_worker_grace_seconds"] = "1"
    orchestrator = make_orchestrator()
    assert orchestrator.active.wait(10)
    _, key = database.add_worker("alive")
    worker = connect(key)
    wait_for(lambda: worker.requests, timeout=10)
    retry = database.retry_of(wr_id)
    assert retry is not None
    assert worker.requests[0]["work_request_id"] == retry.id
    assert database.get(wr_id).status == WorkRequestStatus.ABORTED


@pytest.mark.parametrize("value", ["0", "two", "-1"])
def test_populate_processes_must_be_a_positive_number(
    database: Database, settings: dict[str, Any], value: str
) -> None:
    settings["debusine.orchestrator.populate_processes"] = value
    with pytest.raises(ValueError, match="populate_processes must be a whole number"):
        Orchestrator(settings, database.factory)


def test_new_workflows_are_populated_on_the_pool_of_processes(
    database: Database,
    settings: dict[str, Any],
    make_orchestrator: Callable[[], Orchestrator],
) -> None:
    settings["debusine.orchestrator.populate_processes"] = "2"
    orchestrator = make_orchestrator()
    assert orchestrator.active.wait(10)
    assert orchestrator.populate_pool is not None
    ids = create_workflows(database, "noop", {"children": 2}, 4)
    orchestrator_module.notify_work_available()
    wait_for(
        lambda: children_per_workflow(database, ids) == dict.fromkeys(ids, 2),
        timeout=60,
    )
    orchestrator.stop()
    assert orchestrator.populate_pool is None
