"""The workflow steps of the orchestrator's loop.

`run_workflow_pass(session_factory)` runs, until nothing changes:

1. populate pending workflows (`orchestrate_workflow`): they become
   running and their first children are laid out;
2. complete pending synchronization points;
3. run pending workflow callbacks (internal `workflow` work requests), one
   at a time per workflow (the parent's row is locked);
4. finish running workflows whose children have all finished: aborted if
   a child was aborted, failure if a child failed without `allow_failure`,
   else success (children superseded by a retry do not count);

and then refreshes `workflow_runtime_status` of the workflows that may
have changed. Each workflow, callback or completion is handled in its own
transaction; rows are taken with `FOR UPDATE SKIP LOCKED`, so a pass
running elsewhere at the same time skips them rather than running them
twice.

An error in a workflow's code (a WorkflowRunError) rolls back what that
code did and completes the workflow with result `error` and
`output_data.errors = [{code, message}]`, aborting its unfinished
children; for a callback, the callback gets the same error too.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, exists, func, or_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from debusine import work_requests as lifecycle
from debusine.models import (
    TaskType,
    WorkflowRuntimeStatus,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.workflows import WorkflowRunError, orchestrate_workflow
from debusine.workflows.internal import (
    CALLBACK_TASK_NAME,
    SYNCHRONIZATION_POINT_TASK_NAME,
)

if TYPE_CHECKING:
    from debusine.orchestration.pool import PopulatePool

log = logging.getLogger(__name__)

# Passes are repeated while they change something (a callback's children
# may complete a synchronization point, which unblocks another callback...),
# up to this many times; the next tick carries on.
MAX_ROUNDS = 20
BATCH = 500

_UNFINISHED = (
    WorkRequestStatus.PENDING,
    WorkRequestStatus.RUNNING,
    WorkRequestStatus.BLOCKED,
)
_GOOD_RESULTS = (WorkRequestResult.SUCCESS, WorkRequestResult.SKIPPED)


@dataclass
class WorkflowPassReport:
    """What a pass did, by work request id."""

    populated: list[int] = field(default_factory=list)
    callbacks: list[int] = field(default_factory=list)
    synchronization_points: list[int] = field(default_factory=list)
    finished: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    # (work request id, worker id) of aborted children a worker was running.
    to_abort_on_workers: list[tuple[int, int]] = field(default_factory=list)
    statuses_updated: int = 0

    def merge(self, other: WorkflowPassReport) -> None:
        """Add what `other` (another round, another process) did."""
        self.populated += other.populated
        self.callbacks += other.callbacks
        self.synchronization_points += other.synchronization_points
        self.finished += other.finished
        self.failed += other.failed
        self.to_abort_on_workers += other.to_abort_on_workers
        self.statuses_updated += other.statuses_updated

    @property
    def changed(self) -> bool:
        return bool(
            self.populated
            or self.callbacks
            or self.synchronization_points
            or self.finished
            or self.failed
        )


def _not_superseded() -> ColumnElement[bool]:
    newer = aliased(WorkRequest)
    return ~exists().where(newer.supersedes_id == WorkRequest.id)


def _priority_order() -> tuple[Any, ...]:
    return (
        (WorkRequest.priority_base + WorkRequest.priority_adjustment).desc(),
        WorkRequest.created_at,
        WorkRequest.id,
    )


def _ids(session_factory: sessionmaker[Session], query: object) -> list[int]:
    with session_factory() as session:
        return list(session.scalars(query))  # type: ignore[call-overload]


def _lock(session: Session, work_request_id: int) -> WorkRequest | None:
    return session.scalars(
        select(WorkRequest)
        .where(WorkRequest.id == work_request_id)
        .with_for_update(skip_locked=True)
    ).one_or_none()


def _each_in_transaction(
    session_factory: sessionmaker[Session],
    ids: list[int],
    handle: Callable[[Session, WorkRequest], bool],
) -> list[int]:
    """`handle` each locked work request in its own transaction; ids it handled."""
    done = []
    for work_request_id in ids:
        try:
            with session_factory.begin() as session:
                work_request = _lock(session, work_request_id)
                if work_request is not None and handle(session, work_request):
                    done.append(work_request_id)
        except Exception:
            # One broken row must not stop the loop for every other workflow.
            log.exception("orchestrator: work request %s failed", work_request_id)
    return done


# -- errors ------------------------------------------------------------------


def fail_workflow(
    session: Session,
    workflow: WorkRequest,
    code: str,
    message: str,
    report: WorkflowPassReport,
) -> None:
    """Complete `workflow` with `error`, aborting its unfinished children."""
    session.expire(workflow, ["children"])
    on_workers: list[int] = []
    for child in workflow.children:
        if child.status in _UNFINISHED:
            on_workers += lifecycle.abort(session, child, None)
    if on_workers:
        # abort() keeps the worker as a record of where each one ran.
        rows = session.execute(
            select(WorkRequest.id, WorkRequest.worker_id).where(
                WorkRequest.id.in_(on_workers)
            )
        ).tuples()
        report.to_abort_on_workers += [
            (work_request_id, worker_id)
            for work_request_id, worker_id in rows
            if worker_id is not None
        ]
    lifecycle.mark_completed(
        session,
        workflow,
        WorkRequestResult.ERROR,
        {"errors": [{"code": code, "message": message}]},
    )
    workflow.workflows_need_update = True
    report.failed.append(workflow.id)


def _orchestrate(
    session: Session, work_request: WorkRequest, report: WorkflowPassReport
) -> bool:
    """Run orchestrate_workflow; on a WorkflowRunError, record the error instead."""
    try:
        with session.begin_nested():
            orchestrate_workflow(work_request)
    except WorkflowRunError as exc:
        log.info(
            "orchestrator: work request %s: %s (%s)",
            work_request.id,
            exc.message,
            exc.code,
        )
        if work_request.task_type == TaskType.WORKFLOW:
            fail_workflow(session, work_request, exc.code, exc.message, report)
        else:
            message = f"Callback {work_request.id} failed: {exc.message}"
            lifecycle.mark_completed(
                session,
                work_request,
                WorkRequestResult.ERROR,
                {"errors": [{"code": exc.code, "message": exc.message}]},
            )
            parent = work_request.parent
            if parent is not None and parent.status in _UNFINISHED:
                fail_workflow(session, parent, exc.code, message, report)
        return True
    _root_needs_update(work_request)
    return True


def _root_needs_update(work_request: WorkRequest) -> None:
    node: WorkRequest | None = work_request
    while node is not None:
        if node.task_type == TaskType.WORKFLOW:
            node.workflows_need_update = True
        node = node.parent


# -- the steps ---------------------------------------------------------------


def populate_pending_workflows(
    session_factory: sessionmaker[Session],
    report: WorkflowPassReport,
    pool: PopulatePool | None = None,
) -> None:
    """Populate the pending workflows, highest priority first, on `pool`'s
    processes if given (see debusine.orchestration.pool)."""
    ids = _ids(
        session_factory,
        select(WorkRequest.id)
        .where(
            WorkRequest.status == WorkRequestStatus.PENDING,
            WorkRequest.task_type == TaskType.WORKFLOW,
        )
        .order_by(*_priority_order())
        .limit(BATCH),
    )
    if pool is not None and len(ids) > 1:
        pool.populate(ids, report)
    else:
        populate_workflows(session_factory, ids, report)


def populate_workflows(
    session_factory: sessionmaker[Session], ids: list[int], report: WorkflowPassReport
) -> None:
    """Populate each of the workflows `ids` still pending, each in its own
    transaction."""

    def handle(session: Session, work_request: WorkRequest) -> bool:
        if work_request.status != WorkRequestStatus.PENDING:
            return False
        return _orchestrate(session, work_request, report)

    report.populated.extend(_each_in_transaction(session_factory, ids, handle))


def run_ready_callbacks(
    session_factory: sessionmaker[Session], report: WorkflowPassReport
) -> None:
    ids = _ids(
        session_factory,
        select(WorkRequest.id)
        .where(
            WorkRequest.status == WorkRequestStatus.PENDING,
            WorkRequest.task_type == TaskType.INTERNAL,
            WorkRequest.task_name == CALLBACK_TASK_NAME,
        )
        .order_by(*_priority_order())
        .limit(BATCH),
    )

    def handle(session: Session, callback: WorkRequest) -> bool:
        if callback.status != WorkRequestStatus.PENDING or callback.parent_id is None:
            return False
        # One callback of a workflow at a time: hold the workflow's row.
        parent = _lock(session, callback.parent_id)
        if parent is None or parent.status != WorkRequestStatus.RUNNING:
            return False
        return _orchestrate(session, callback, report)

    report.callbacks.extend(_each_in_transaction(session_factory, ids, handle))


def complete_synchronization_points(
    session_factory: sessionmaker[Session], report: WorkflowPassReport
) -> None:
    ids = _ids(
        session_factory,
        select(WorkRequest.id)
        .where(
            WorkRequest.status == WorkRequestStatus.PENDING,
            WorkRequest.task_type == TaskType.INTERNAL,
            WorkRequest.task_name == SYNCHRONIZATION_POINT_TASK_NAME,
        )
        .order_by(WorkRequest.id)
        .limit(BATCH),
    )

    def handle(session: Session, point: WorkRequest) -> bool:
        if point.status != WorkRequestStatus.PENDING:
            return False
        lifecycle.mark_completed(session, point, WorkRequestResult.SUCCESS)
        _root_needs_update(point)
        return True

    report.synchronization_points.extend(
        _each_in_transaction(session_factory, ids, handle)
    )


def _unfinished_child() -> ColumnElement[bool]:
    child = aliased(WorkRequest)
    return exists().where(
        child.parent_id == WorkRequest.id, child.status.in_(_UNFINISHED)
    )


def workflow_outcome(
    session: Session, workflow: WorkRequest
) -> WorkRequestResult | None:
    """The finished workflow's result from its children; None: aborted.

    Children superseded by a retry are ignored.
    """
    children = session.scalars(
        select(WorkRequest).where(
            WorkRequest.parent_id == workflow.id, _not_superseded()
        )
    ).all()
    if any(child.status == WorkRequestStatus.ABORTED for child in children):
        return None
    if any(
        child.result not in _GOOD_RESULTS
        and not child.workflow_data.get("allow_failure")
        for child in children
    ):
        return WorkRequestResult.FAILURE
    return WorkRequestResult.SUCCESS


def finish_workflows(
    session_factory: sessionmaker[Session], report: WorkflowPassReport
) -> None:
    # Deepest first: a sub-workflow has a larger id than its parent, so a
    # parent waiting only for it can finish in the next round.
    ids = _ids(
        session_factory,
        select(WorkRequest.id)
        .where(
            WorkRequest.status == WorkRequestStatus.RUNNING,
            WorkRequest.task_type == TaskType.WORKFLOW,
            ~_unfinished_child(),
        )
        .order_by(WorkRequest.id.desc())
        .limit(BATCH),
    )

    def handle(session: Session, workflow: WorkRequest) -> bool:
        if workflow.status != WorkRequestStatus.RUNNING:
            return False
        if session.scalar(
            select(exists().where(
                WorkRequest.parent_id == workflow.id,
                WorkRequest.status.in_(_UNFINISHED),
            ))
        ):  # fmt: skip
            return False
        outcome = workflow_outcome(session, workflow)
        if outcome is None:
            lifecycle.abort(session, workflow, None)
        else:
            lifecycle.mark_completed(session, workflow, outcome)
        _root_needs_update(workflow)
        return True

    report.finished.extend(_each_in_transaction(session_factory, ids, handle))


# -- runtime status ----------------------------------------------------------


def compute_runtime_status(
    session: Session, workflow: WorkRequest
) -> WorkflowRuntimeStatus:
    """What the workflow is doing, for the UI; first match wins.

    A finished, pending or blocked workflow says so; a running one looks at
    its current descendants: a running wait task needing input, a running
    task, a running wait task, pending, blocked, aborted, else completed.
    """
    if workflow.status != WorkRequestStatus.RUNNING:
        return WorkflowRuntimeStatus(workflow.status.value)
    tree = (
        select(WorkRequest.id)
        .where(WorkRequest.parent_id == workflow.id)
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(
        select(WorkRequest.id).where(WorkRequest.parent_id == tree.c.id)
    )
    running = WorkRequest.status == WorkRequestStatus.RUNNING
    is_wait = WorkRequest.task_type == TaskType.WAIT
    needs_input = WorkRequest.workflow_data["needs_input"].as_boolean().is_(True)
    flags = session.execute(
        select(
            func.bool_or(and_(running, is_wait, needs_input)),
            func.bool_or(
                and_(running, ~is_wait, WorkRequest.task_type != TaskType.WORKFLOW)
            ),
            func.bool_or(and_(running, is_wait)),
            func.bool_or(WorkRequest.status == WorkRequestStatus.PENDING),
            func.bool_or(WorkRequest.status == WorkRequestStatus.BLOCKED),
            func.bool_or(WorkRequest.status == WorkRequestStatus.ABORTED),
        ).where(WorkRequest.id.in_(select(tree.c.id)), _not_superseded())
    ).one()
    order = [
        WorkflowRuntimeStatus.NEEDS_INPUT,
        WorkflowRuntimeStatus.RUNNING,
        WorkflowRuntimeStatus.WAITING,
        WorkflowRuntimeStatus.PENDING,
        WorkflowRuntimeStatus.BLOCKED,
        WorkflowRuntimeStatus.ABORTED,
    ]
    for status, flag in zip(order, flags, strict=True):
        if flag:
            return status
    # Running with nothing left to do: about to be completed.
    return WorkflowRuntimeStatus.RUNNING


def update_runtime_statuses(
    session_factory: sessionmaker[Session], report: WorkflowPassReport
) -> None:
    """Refresh the cached status of flagged or unfinished workflows."""
    with session_factory.begin() as session:
        workflows = session.scalars(
            select(WorkRequest)
            .where(
                WorkRequest.task_type == TaskType.WORKFLOW,
                or_(
                    WorkRequest.workflows_need_update.is_(True),
                    WorkRequest.status.in_(_UNFINISHED),
                    WorkRequest.workflow_runtime_status.is_(None),
                    # Aborted by a user, or retried: the cache must follow.
                    WorkRequest.workflow_runtime_status.not_in(
                        [WorkflowRuntimeStatus.COMPLETED, WorkflowRuntimeStatus.ABORTED]
                    ),
                ),
            )
            .order_by(WorkRequest.id)
            .with_for_update(skip_locked=True)
        ).all()
        now = dt.datetime.now(dt.UTC)
        for workflow in workflows:
            status = compute_runtime_status(session, workflow)
            if workflow.workflow_runtime_status != status:
                workflow.workflow_runtime_status = status
                workflow.workflow_last_activity_at = now
                report.statuses_updated += 1
            workflow.workflows_need_update = False


# -- the pass ----------------------------------------------------------------


def run_workflow_pass(
    session_factory: sessionmaker[Session], pool: PopulatePool | None = None
) -> WorkflowPassReport:
    """Run the steps until nothing changes (at most MAX_ROUNDS times);
    pending workflows are populated on `pool`'s processes if given."""
    report = WorkflowPassReport()
    for _ in range(MAX_ROUNDS):
        round_report = WorkflowPassReport()
        populate_pending_workflows(session_factory, round_report, pool)
        complete_synchronization_points(session_factory, round_report)
        run_ready_callbacks(session_factory, round_report)
        finish_workflows(session_factory, round_report)
        report.merge(round_report)
        if not round_report.changed:
            break
    update_runtime_statuses(session_factory, report)
    return report


__all__ = [
    "WorkflowPassReport",
    "compute_runtime_status",
    "fail_workflow",
    "populate_pending_workflows",
    "populate_workflows",
    "run_workflow_pass",
    "workflow_outcome",
]
