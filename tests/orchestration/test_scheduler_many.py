"""Assigning many idle workers at once: what the bus does each cycle."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from debusine import models
from debusine.models import TaskType, WorkRequest, WorkRequestStatus
from debusine.orchestration.scheduler import Assignment, assign_many
from debusine.work_requests import create_work_request
from tests import factories


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory()


def make_worker(*architectures: str, **kwargs: Any) -> models.Worker:
    kwargs.setdefault("connected_at", now())
    kwargs.setdefault(
        "dynamic_metadata", {"system:architectures": list(architectures or ["amd64"])}
    )
    return factories.WorkerFactory(**kwargs)


def make(
    session: Session, workspace: Any, architecture: str = "amd64", **kwargs: Any
) -> WorkRequest:
    return create_work_request(
        session,
        workspace=workspace,
        task_type=TaskType.WORKER,
        task_name="noop",
        task_data={"host_architecture": architecture},
        created_by=None,
        **kwargs,
    )


def assigned(session: Session, assignments: list[Assignment]) -> dict[int, int]:
    """Worker id -> work request id, checked against the database."""
    result = {a.worker_id: a.work_request_id for a in assignments}
    assert len(result) == len(assignments), "a worker got two requests"
    for worker_id, work_request_id in result.items():
        assert session.get_one(WorkRequest, work_request_id).worker_id == worker_id
    return result


def test_best_requests_go_to_the_idle_workers_one_each(
    db_session: Session, workspace: Any
) -> None:
    low = make(db_session, workspace, priority_base=1)
    high = make(db_session, workspace, priority_base=9)
    middle = make(db_session, workspace, priority_base=5)
    lowest = make(db_session, workspace, priority_base=0)
    arm64 = make(db_session, workspace, "arm64")
    first, second, third = (make_worker(concurrency=3) for _ in range(3))
    arm = make_worker("arm64")
    offline = make_worker(connected_at=None)
    busy = make_worker()
    busy_work = make(db_session, workspace, priority_base=100)
    busy_work.worker = busy
    db_session.flush()

    result = assigned(
        db_session,
        assign_many(
            db_session,
            [w.id for w in (third, first, arm, offline, busy, second, first)],
        ),
    )

    # One request each (concurrency 3 or not), the best first, in worker
    # order; other architectures and the unavailable workers apart.
    assert result == {
        first.id: high.id,
        second.id: middle.id,
        third.id: low.id,
        arm.id: arm64.id,
    }
    assert lowest.worker_id is None
    for work_request in (high, middle, low, arm64):
        db_session.refresh(work_request)
        assert work_request.status == WorkRequestStatus.PENDING
        assert work_request.configured_task_data == work_request.task_data
        assert work_request.dynamic_task_data == {}
    # Another pass: the rest, then nothing.
    assert assigned(db_session, assign_many(db_session, [first.id])) == {
        first.id: lowest.id
    }
    assert assign_many(db_session, [second.id, third.id, arm.id]) == []


def test_more_workers_than_work(db_session: Session, workspace: Any) -> None:
    only = make(db_session, workspace)
    workers = [make_worker() for _ in range(4)]
    result = assigned(db_session, assign_many(db_session, [w.id for w in workers]))
    assert result == {workers[0].id: only.id}


def test_start_marks_the_requests_running(db_session: Session, workspace: Any) -> None:
    work = [make(db_session, workspace) for _ in range(2)]
    workers = [make_worker() for _ in range(2)]
    before = now()
    result = assigned(
        db_session, assign_many(db_session, [w.id for w in workers], start=True)
    )
    assert sorted(result.values()) == sorted(wr.id for wr in work)
    for work_request in work:
        db_session.refresh(work_request)
        assert work_request.status == WorkRequestStatus.RUNNING
        assert work_request.started_at is not None
        assert work_request.started_at >= before
    # Running counts towards concurrency: nothing more for them.
    make(db_session, workspace)
    assert assign_many(db_session, [w.id for w in workers], start=True) == []


def test_workers_with_different_offers_are_matched_separately(
    db_session: Session, workspace: Any
) -> None:
    needs_tool = create_work_request(
        db_session,
        workspace=workspace,
        task_type=TaskType.WORKER,
        task_name="noop",
        task_data={"host_architecture": "amd64"},
        created_by=None,
        priority_base=5,
    )
    needs_tool.required_capabilities = ["tool:special"]
    plain = make(db_session, workspace)
    db_session.flush()
    lacking = make_worker()
    able = make_worker(
        dynamic_metadata={"system:architectures": ["amd64"], "tool:special": True}
    )
    denied = make_worker(
        dynamic_metadata={"system:architectures": ["amd64"]},
        static_metadata={"tasks_denylist": ["noop"]},
    )
    result = assigned(
        db_session, assign_many(db_session, [lacking.id, able.id, denied.id])
    )
    assert result == {able.id: needs_tool.id, lacking.id: plain.id}
