"""The scheduler's SQL match of pending work to a worker."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import create_engine, pool
from sqlalchemy.orm import Session

from debusine import models
from debusine.models import TaskType, WorkerType, WorkRequest, WorkRequestStatus
from debusine.orchestration.scheduler import assign_next
from debusine.work_requests import create_work_request, mark_completed, mark_running
from tests import factories


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory()


def make_worker(**kwargs: Any) -> models.Worker:
    kwargs.setdefault("connected_at", now())
    kwargs.setdefault("dynamic_metadata", {"system:architectures": ["amd64"]})
    return factories.WorkerFactory(**kwargs)


def make(session: Session, workspace: Any, **kwargs: Any) -> WorkRequest:
    kwargs.setdefault("task_type", TaskType.WORKER)
    kwargs.setdefault("task_name", "noop")
    data = kwargs.pop("task_data", {})
    return create_work_request(
        session, workspace=workspace, task_data=data, created_by=None, **kwargs
    )


def test_assigns_and_keeps_pending(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace)
    worker = make_worker()
    assert assign_next(db_session, worker) == wr
    assert wr.worker == worker
    assert wr.status == WorkRequestStatus.PENDING
    assert wr.configured_task_data == {}
    assert assign_next(db_session, make_worker()) is None  # already assigned


def test_architecture(db_session: Session, workspace: Any) -> None:
    s390x = make(db_session, workspace, task_data={"host_architecture": "s390x"})
    amd64 = make(db_session, workspace, task_data={"host_architecture": "amd64"})
    i386 = make(db_session, workspace, task_data={"host_architecture": "i386"})
    worker = make_worker(
        dynamic_metadata={"system:architectures": ["amd64", "i386"]}, concurrency=5
    )
    assert assign_next(db_session, worker) == amd64
    assert assign_next(db_session, worker) == i386
    assert assign_next(db_session, worker) is None
    assert s390x.worker is None
    host_only = make_worker(dynamic_metadata={"system:host_architecture": "s390x"})
    assert assign_next(db_session, host_only) == s390x


def test_worker_type(db_session: Session, workspace: Any) -> None:
    server_task = make(
        db_session, workspace, task_type="Server", task_name="servernoop"
    )
    external = make_worker()
    assert assign_next(db_session, external) is None
    server = make_worker(worker_type=WorkerType.SERVER, token=None)
    assert assign_next(db_session, server) == server_task


def test_required_capabilities(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace)
    wr.required_capabilities = ["executor:unshare:available", "sbuild:available"]
    db_session.flush()
    lacking = make_worker(
        dynamic_metadata={
            "system:architectures": ["amd64"],
            "sbuild:available": True,
            "executor:unshare:available": False,
        }
    )
    assert assign_next(db_session, lacking) is None
    able = make_worker(
        dynamic_metadata={
            "system:architectures": ["amd64"],
            "sbuild:available": True,
            "executor:unshare:available": True,
        }
    )
    assert assign_next(db_session, able) == wr


def test_allowlist_and_denylist(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace)
    denied = make_worker(static_metadata={"tasks_denylist": ["noop"]})
    assert assign_next(db_session, denied) is None
    not_allowed = make_worker(static_metadata={"tasks_allowlist": ["sbuild"]})
    assert assign_next(db_session, not_allowed) is None
    allowed = make_worker(
        static_metadata={"tasks_allowlist": ["noop"], "tasks_denylist": ["noop"]}
    )
    assert assign_next(db_session, allowed) == wr


def test_static_metadata_wins(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace, task_data={"host_architecture": "arm64"})
    worker = make_worker(static_metadata={"system:architectures": ["arm64"]})
    assert assign_next(db_session, worker) == wr


def test_concurrency(db_session: Session, workspace: Any) -> None:
    first, second, third = (make(db_session, workspace) for _ in range(3))
    worker = make_worker(concurrency=2)
    assert assign_next(db_session, worker) == first
    mark_running(db_session, first, worker)
    assert assign_next(db_session, worker) == second
    assert assign_next(db_session, worker) is None
    mark_completed(db_session, first, "success")
    assert assign_next(db_session, worker) == third


def test_disconnected_or_disabled_workers_get_nothing(
    db_session: Session, workspace: Any
) -> None:
    make(db_session, workspace)
    assert assign_next(db_session, make_worker(connected_at=None)) is None
    disabled = make_worker()
    disabled.token.enabled = False
    assert assign_next(db_session, disabled) is None


def test_priority_then_age(db_session: Session, workspace: Any) -> None:
    old_low = make(db_session, workspace, priority_base=0)
    high_by_adjustment = make(db_session, workspace, priority_adjustment=10)
    older = make(db_session, workspace, priority_base=5)
    newer = make(db_session, workspace, priority_base=5)
    older.created_at = now() - dt.timedelta(hours=1)
    any_arch_low = make(db_session, workspace, priority_base=-1)
    other_arch = make(
        db_session, workspace, task_data={"host_architecture": "i386"}, priority_base=7
    )
    db_session.flush()
    worker = make_worker(
        dynamic_metadata={"system:architectures": ["amd64", "i386"]}, concurrency=10
    )
    order = [assign_next(db_session, worker) for _ in range(6)]
    assert order == [
        high_by_adjustment,
        other_arch,
        older,
        newer,
        old_low,
        any_arch_low,
    ]


def test_blocked_and_finished_work_is_not_assigned(
    db_session: Session, workspace: Any
) -> None:
    dep = make(db_session, workspace)
    blocked = make(db_session, workspace, dependencies=[dep])
    mark_completed(db_session, dep, "failure")
    assert blocked.status != WorkRequestStatus.PENDING
    assert assign_next(db_session, make_worker()) is None


@pytest.fixture
def committed(scratch_database: str) -> Iterator[tuple[Any, list[int], int]]:
    engine = create_engine(scratch_database, poolclass=pool.NullPool)
    with Session(engine) as session:
        workspace = models.Workspace(
            scope=models.Scope(name="sched", label="Sched"), name="ws"
        )
        session.add(workspace)
        ids = [make(session, workspace).id for _ in range(20)]
        worker_ids = []
        for n in range(2):
            token = models.Token(hash=f"{n:064d}", enabled=True)
            worker = models.Worker(
                name=f"w{n}",
                token=token,
                connected_at=now(),
                concurrency=20,
                dynamic_metadata={"system:architectures": ["amd64"]},
            )
            session.add(worker)
            session.flush()
            worker_ids.append(worker.id)
        session.commit()
    yield engine, ids, worker_ids
    engine.dispose()


def test_skip_locked_concurrent_assignment(committed: Any) -> None:
    engine, ids, (w0, w1) = committed
    first, second = Session(engine), Session(engine)
    try:
        got_first = assign_next(first, first.get_one(models.Worker, w0))
        # The first transaction still holds its lock: the second skips it.
        got_second = assign_next(second, second.get_one(models.Worker, w1))
        assert got_first is not None
        assert got_second is not None
        assert got_first.id == ids[0]
        assert got_second.id == ids[1]
        first.commit()
        second.commit()
        taken: set[int] = {got_first.id, got_second.id}
        # Interleave many more: never the same request twice.
        for _ in range(9):
            a = assign_next(first, first.get_one(models.Worker, w0))
            b = assign_next(second, second.get_one(models.Worker, w1))
            assert a is not None
            assert b is not None
            assert a.id not in taken
            assert b.id not in taken
            assert a.id != b.id
            taken |= {a.id, b.id}
            first.commit()
            second.commit()
        assert taken == set(ids)
    finally:
        first.close()
        second.close()
