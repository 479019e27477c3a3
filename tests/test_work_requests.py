"""The work request lifecycle, on the real database."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy.orm import Session

from debusine import models
from debusine.errors import DomainError
from debusine.models import (
    TaskType,
    UnblockStrategy,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.tasks import TaskDataError, UnknownTaskError
from debusine.work_requests import (
    MAX_AUTOMATIC_RETRIES,
    RetryLimitReached,
    RetryReason,
    WorkRequestStateError,
    abort,
    add_dependency,
    create_work_request,
    mark_completed,
    mark_running,
    retry,
    set_priority_adjustment,
    unblock_children,
    worker_lost,
)
from tests import factories

PENDING = WorkRequestStatus.PENDING
BLOCKED = WorkRequestStatus.BLOCKED
RUNNING = WorkRequestStatus.RUNNING
COMPLETED = WorkRequestStatus.COMPLETED
ABORTED = WorkRequestStatus.ABORTED


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory()


@pytest.fixture
def worker(db_session: Session) -> models.Worker:
    return factories.WorkerFactory(connected_at=dt.datetime.now(dt.UTC))


def make(session: Session, workspace: models.Workspace, **kwargs: Any) -> WorkRequest:
    kwargs.setdefault("task_type", TaskType.WORKER)
    kwargs.setdefault("task_name", "noop")
    kwargs.setdefault("task_data", {})
    kwargs.setdefault("created_by", None)
    return create_work_request(session, workspace=workspace, **kwargs)


def workflow(session: Session, workspace: models.Workspace) -> WorkRequest:
    """A stand-in workflow (no workflow tasks exist yet), running."""
    parent = factories.WorkRequestFactory(
        workspace=workspace,
        task_type=TaskType.WORKFLOW,
        task_name="test",
        task_data={},
        status=RUNNING,
    )
    session.flush()
    return parent


def test_create_records_requirements(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace, task_data={"host_architecture": "s390x"})
    assert wr.status == PENDING
    assert wr.task_name == "noop"
    assert wr.version == 1
    assert wr.required_worker_type == "external"
    assert wr.required_architecture == "s390x"
    assert wr.required_capabilities == []
    server = make(db_session, workspace, task_type="Server", task_name="ServerNoop")
    assert server.task_name == "servernoop"
    assert server.required_worker_type == "server"


def test_create_refuses_unknown_task_and_bad_data(
    db_session: Session, workspace: Any
) -> None:
    with pytest.raises(UnknownTaskError, match=r"known Worker tasks: .*\bnoop\b"):
        make(db_session, workspace, task_name="nope")
    with pytest.raises(TaskDataError, match="result"):
        make(db_session, workspace, task_data={"result": "perhaps"})
    assert db_session.query(WorkRequest).count() == 0


def test_unfinished_dependency_blocks_then_unblocks(
    db_session: Session, workspace: Any, worker: Any
) -> None:
    first = make(db_session, workspace)
    second = make(db_session, workspace)
    third = make(db_session, workspace, dependencies=[first, second])
    assert third.status == BLOCKED
    mark_running(db_session, first, worker)
    assert mark_completed(db_session, first, "success")
    db_session.refresh(third)
    assert third.status == BLOCKED
    mark_completed(db_session, second, WorkRequestResult.SKIPPED)
    db_session.refresh(third)
    assert third.status == PENDING


def test_completed_dependency_does_not_block(
    db_session: Session, workspace: Any
) -> None:
    first = make(db_session, workspace)
    mark_completed(db_session, first, "success")
    assert make(db_session, workspace, dependencies=[first]).status == PENDING


def test_parent_not_running_keeps_children_blocked(
    db_session: Session, workspace: Any
) -> None:
    parent = workflow(db_session, workspace)
    parent.status = PENDING
    dep = make(db_session, workspace, parent=parent)
    child = make(db_session, workspace, parent=parent, dependencies=[dep])
    assert dep.status == BLOCKED
    mark_completed(db_session, dep, "success")
    db_session.refresh(child)
    assert child.status == BLOCKED
    parent.status = RUNNING
    assert set(unblock_children(db_session, parent)) == {child.id}
    assert child.status == PENDING


def test_unblock_children_only_those_that_may_run(
    db_session: Session, workspace: Any
) -> None:
    parent = workflow(db_session, workspace)
    parent.status = PENDING
    free = make(db_session, workspace, parent=parent)
    waiting = make(db_session, workspace, parent=parent, dependencies=[free])
    manual = make(
        db_session, workspace, parent=parent, unblock_strategy=UnblockStrategy.MANUAL
    )
    assert {free.status, waiting.status, manual.status} == {BLOCKED}
    parent.status = RUNNING
    assert unblock_children(db_session, parent) == [free.id]
    db_session.expire_all()
    assert (free.status, waiting.status, manual.status) == (PENDING, BLOCKED, BLOCKED)
    assert unblock_children(db_session, parent) == []


def test_manual_strategy_stays_blocked(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace, unblock_strategy=UnblockStrategy.MANUAL)
    assert wr.status == BLOCKED


def test_failed_dependency_aborts_blocked_dependents(
    db_session: Session, workspace: Any
) -> None:
    dep = make(db_session, workspace)
    dependent = make(db_session, workspace, dependencies=[dep])
    mark_completed(db_session, dep, "failure")
    db_session.refresh(dependent)
    assert dependent.status == ABORTED
    assert dependent.completed_at is not None


def test_allow_failure_unblocks_dependents(db_session: Session, workspace: Any) -> None:
    dep = make(db_session, workspace, workflow_data={"allow_failure": True})
    dependent = make(db_session, workspace, dependencies=[dep])
    mark_completed(db_session, dep, "error")
    db_session.refresh(dependent)
    assert dependent.status == PENDING


def test_add_dependency_blocks_pending(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace)
    dep = make(db_session, workspace)
    add_dependency(db_session, wr, dep)
    add_dependency(db_session, wr, dep)  # idempotent
    assert wr.status == BLOCKED
    assert wr.dependencies == [dep]
    with pytest.raises(DomainError, match="itself"):
        add_dependency(db_session, wr, wr)


def test_dependencies_cannot_cross_workflows(
    db_session: Session, workspace: Any
) -> None:
    one = make(db_session, workspace, parent=workflow(db_session, workspace))
    other = make(db_session, workspace, parent=workflow(db_session, workspace))
    with pytest.raises(DomainError, match="another workflow"):
        add_dependency(db_session, one, other)


def test_mark_running_and_completed(
    db_session: Session, workspace: Any, worker: Any
) -> None:
    wr = make(db_session, workspace)
    assert mark_running(db_session, wr, worker)
    assert not mark_running(db_session, wr, worker)  # delivered twice
    assert wr.status == RUNNING
    assert wr.started_at is not None
    other = factories.WorkerFactory()
    with pytest.raises(WorkRequestStateError, match="another worker"):
        mark_running(db_session, wr, other)
    wr.started_at = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=30)
    assert mark_completed(
        db_session, wr, "success", {"runtime_statistics": {"cpu_time": 3}}
    )
    assert wr.status == COMPLETED
    assert wr.result == WorkRequestResult.SUCCESS
    assert wr.completed_at is not None
    stats = wr.output_data["runtime_statistics"]
    assert stats["cpu_time"] == 3
    assert 29 <= stats["duration"] <= 60


def test_completion_is_idempotent(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace)
    assert mark_completed(db_session, wr, "failure", {"errors": [{"code": "x"}]})
    assert not mark_completed(db_session, wr, "success", {"other": 1})
    assert wr.result == WorkRequestResult.FAILURE
    assert wr.output_data == {"errors": [{"code": "x"}]}
    with pytest.raises(DomainError):
        mark_completed(db_session, make(db_session, workspace), "")


def test_mark_running_refuses_finished(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace)
    mark_completed(db_session, wr, "success")
    with pytest.raises(WorkRequestStateError, match="cannot start"):
        mark_running(db_session, wr, factories.WorkerFactory())


def test_abort_is_recursive_and_reports_workers(
    db_session: Session, workspace: Any, worker: Any
) -> None:
    user = factories.UserFactory()
    root = workflow(db_session, workspace)
    running = make(db_session, workspace, parent=root)
    mark_running(db_session, running, worker)
    sub = factories.WorkRequestFactory(
        workspace=workspace, task_type=TaskType.WORKFLOW, parent=root, status=RUNNING
    )
    db_session.flush()
    grandchild = make(db_session, workspace, parent=sub)
    assigned = make(db_session, workspace, parent=sub)
    assigned.worker = factories.WorkerFactory()
    done = make(db_session, workspace, parent=root)
    mark_completed(db_session, done, "success")
    outside = make(db_session, workspace)
    db_session.flush()

    assert abort(db_session, root, user) == sorted([running.id, assigned.id])
    for wr in (root, running, sub, grandchild, assigned):
        db_session.refresh(wr)
        assert wr.status == ABORTED, wr
        assert wr.aborted_by == user
        assert wr.completed_at is not None
    db_session.refresh(done)
    db_session.refresh(outside)
    assert done.status == COMPLETED
    assert outside.status == PENDING
    assert abort(db_session, root, user) == []  # idempotent
    with pytest.raises(WorkRequestStateError, match="completed"):
        abort(db_session, done, user)


def test_retry_supersedes_and_repoints(db_session: Session, workspace: Any) -> None:
    dep = make(db_session, workspace)
    wr = make(
        db_session,
        workspace,
        dependencies=[dep],
        task_data={"result": False},
        priority_base=5,
    )
    dependent = make(db_session, workspace, dependencies=[wr])
    mark_completed(db_session, dep, "success")
    db_session.refresh(wr)
    abort(db_session, wr, None)
    new = retry(db_session, wr, RetryReason.MANUAL)
    assert new.supersedes == wr
    assert new.task_data == {"result": False}
    assert new.priority_base == 5
    assert new.dependencies == [dep]
    assert new.status == PENDING
    assert new.workflow_data["retry_count"] == 0
    db_session.refresh(dependent)
    assert dependent.dependencies == [new]
    assert dependent.status == BLOCKED
    with pytest.raises(WorkRequestStateError, match="superseded"):
        retry(db_session, wr)
    assert abort(db_session, wr, None) == []


def test_retry_only_failed_or_aborted(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace)
    with pytest.raises(WorkRequestStateError, match="only aborted or failed"):
        retry(db_session, wr)
    mark_completed(db_session, wr, "success")
    with pytest.raises(WorkRequestStateError, match="only aborted or failed"):
        retry(db_session, wr)
    failed = make(db_session, workspace)
    mark_completed(db_session, failed, "error")
    assert retry(db_session, failed).supersedes == failed


def test_retry_limits_and_manual_reset(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace)
    for count in range(1, MAX_AUTOMATIC_RETRIES + 1):
        abort(db_session, wr, None)
        wr = retry(db_session, wr, RetryReason.WORKER_LOST)
        assert wr.workflow_data["retry_count"] == count
    abort(db_session, wr, None)
    with pytest.raises(RetryLimitReached):
        retry(db_session, wr, RetryReason.WORKER_LOST)
    manual = retry(db_session, wr, RetryReason.MANUAL)
    assert manual.workflow_data["retry_count"] == 0


def test_retry_reopens_failed_parent(db_session: Session, workspace: Any) -> None:
    parent = workflow(db_session, workspace)
    child = make(db_session, workspace, parent=parent)
    mark_completed(db_session, child, "failure")
    parent.status, parent.result = COMPLETED, WorkRequestResult.FAILURE
    new = retry(db_session, child)
    assert parent.status == RUNNING
    assert parent.result == WorkRequestResult.NONE
    assert new.parent == parent
    assert new.status == PENDING


def test_worker_lost_retries_three_times_then_errors(
    db_session: Session, workspace: Any
) -> None:
    wr = make(db_session, workspace)
    dependent = make(db_session, workspace, dependencies=[wr])
    for attempt in range(MAX_AUTOMATIC_RETRIES):
        worker = factories.WorkerFactory()
        mark_running(db_session, wr, worker)
        outcome = worker_lost(db_session, worker)
        assert outcome.failed == []
        [(old_id, new_id)] = outcome.retried
        assert old_id == wr.id
        db_session.refresh(wr)
        assert wr.status == ABORTED
        [error] = wr.output_data["errors"]
        assert error["code"] == "worker-lost"
        assert worker.name in error["message"]
        assert worker_lost(db_session, worker).retried == []  # idempotent
        wr = db_session.get_one(WorkRequest, new_id)
        assert wr.workflow_data["retry_count"] == attempt + 1
        assert wr.status == PENDING
        assert "errors" not in (wr.output_data or {})  # the retry starts clean
        db_session.refresh(dependent)
        assert dependent.dependencies == [wr]
        assert dependent.status == BLOCKED
    worker = factories.WorkerFactory()
    mark_running(db_session, wr, worker)
    outcome = worker_lost(db_session, worker, "heartbeats missed")
    assert outcome.retried == []
    assert outcome.failed == [wr.id]
    assert wr.status == COMPLETED
    assert wr.result == WorkRequestResult.ERROR
    assert wr.output_data["errors"] == [
        {"code": "worker-lost", "message": "heartbeats missed"}
    ]
    db_session.refresh(dependent)
    assert dependent.status == ABORTED


def test_worker_lost_releases_unstarted_work(
    db_session: Session, workspace: Any, worker: Any
) -> None:
    wr = make(db_session, workspace)
    wr.worker = worker
    db_session.flush()
    outcome = worker_lost(db_session, worker)
    assert outcome.released == [wr.id]
    db_session.refresh(wr)
    assert wr.worker_id is None
    assert wr.status == PENDING


def test_set_priority_adjustment(db_session: Session, workspace: Any) -> None:
    wr = make(db_session, workspace, priority_base=2)
    set_priority_adjustment(db_session, wr, -5)
    assert wr.priority_effective == -3
    with pytest.raises(DomainError):
        set_priority_adjustment(db_session, wr, "high")  # type: ignore[arg-type]
