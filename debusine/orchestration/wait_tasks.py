"""The orchestrator's wait-task step: start wait tasks, complete due delays.

No worker runs a wait task (`debusine.tasks.wait`). As upstream does, a
pending wait task is marked running at once, with no worker, after its
lookups are resolved (`dynamic_task_data`, e.g. the `unsigned_id` of an
`externaldebsign`); it then waits, running, for what completes it:

* `delay`: `complete_due_delays` completes it (success) once its
  `delay_until` has passed;
* `confirm` with `auto_confirm_if_no_failure`: confirmed as it starts when
  nothing in its workflow has failed;
* the others: a person, through the API.

A wait task whose lookups cannot be resolved completes with `error` and
`output_data.errors = [{code: "dynamic-data-failed", message}]`.

Each work request is handled in its own transaction, its row taken with
`FOR UPDATE SKIP LOCKED`, so that two passes never handle it twice.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import and_, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from debusine import work_requests as lifecycle
from debusine.errors import DomainError
from debusine.models import (
    TaskType,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.work_request_data import ensure_dynamic_data

log = logging.getLogger(__name__)

BATCH = 500
DELAY = "delay"
CONFIRM = "confirm"
_BAD_RESULTS = (WorkRequestResult.FAILURE, WorkRequestResult.ERROR)


@dataclass
class WaitTasksReport:
    """What a wait-task step did, by work request id."""

    started: list[int] = field(default_factory=list)
    completed: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.started or self.completed or self.failed)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def flag_workflows(work_request: WorkRequest) -> None:
    """The workflows above `work_request` must refresh their runtime status."""
    node = work_request.parent
    while node is not None:
        if node.task_type == TaskType.WORKFLOW:
            node.workflows_need_update = True
        node = node.parent


def _each_locked(
    session_factory: sessionmaker[Session],
    ids: list[int],
    handle: Callable[[Session, WorkRequest], bool],
) -> list[int]:
    done = []
    for work_request_id in ids:
        try:
            with session_factory.begin() as session:
                work_request = session.scalars(
                    select(WorkRequest)
                    .where(WorkRequest.id == work_request_id)
                    .with_for_update(skip_locked=True)
                ).one_or_none()
                if work_request is not None and handle(session, work_request):
                    done.append(work_request_id)
        except Exception:
            # One broken row must not stop the others.
            log.exception("orchestrator: wait task %s failed", work_request_id)
    return done


def _workflow_has_failure(session: Session, work_request: WorkRequest) -> bool:
    """Whether anything in `work_request`'s root workflow failed (retries aside)."""
    root = work_request
    while root.parent is not None:
        root = root.parent
    if root is work_request:
        return False
    tree = (
        select(WorkRequest.id)
        .where(WorkRequest.parent_id == root.id)
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(
        select(WorkRequest.id).where(WorkRequest.parent_id == tree.c.id)
    )
    newer = aliased(WorkRequest)
    failed = session.scalar(
        select(WorkRequest.id)
        .outerjoin(newer, newer.supersedes_id == WorkRequest.id)
        .where(
            WorkRequest.id.in_(select(tree.c.id)),
            WorkRequest.status == WorkRequestStatus.COMPLETED,
            WorkRequest.result.in_(_BAD_RESULTS),
            newer.id.is_(None),
        )
        .limit(1)
    )
    return failed is not None


def start_pending_wait_tasks(
    session_factory: sessionmaker[Session], report: WaitTasksReport
) -> None:
    """Mark pending wait tasks running (no worker), their lookups resolved."""
    with session_factory() as session:
        ids = list(
            session.scalars(
                select(WorkRequest.id)
                .where(
                    WorkRequest.status == WorkRequestStatus.PENDING,
                    WorkRequest.task_type == TaskType.WAIT,
                )
                .order_by(WorkRequest.id)
                .limit(BATCH)
            )
        )

    def handle(session: Session, work_request: WorkRequest) -> bool:
        if work_request.status != WorkRequestStatus.PENDING:
            return False
        work_request.status = WorkRequestStatus.RUNNING
        work_request.started_at = _now()
        flag_workflows(work_request)
        try:
            with session.begin_nested():
                ensure_dynamic_data(session, work_request)
        except DomainError as error:
            lifecycle.mark_completed(
                session,
                work_request,
                WorkRequestResult.ERROR,
                {"errors": [{"code": "dynamic-data-failed", "message": str(error)}]},
            )
            report.failed.append(work_request.id)
            return True
        if (
            work_request.task_name == CONFIRM
            and work_request.task_data.get("auto_confirm_if_no_failure")
            and not _workflow_has_failure(session, work_request)
        ):
            lifecycle.mark_completed(
                session,
                work_request,
                WorkRequestResult.SUCCESS,
                {
                    "confirmation": {
                        "action": "accept",
                        "automatic": True,
                        "comment": "Nothing in the workflow failed.",
                        "timestamp": _now().isoformat(),
                    }
                },
            )
            report.completed.append(work_request.id)
        session.flush()
        return True

    report.started.extend(_each_locked(session_factory, ids, handle))


def _delay_until(work_request: WorkRequest) -> dt.datetime | None:
    value = work_request.task_data.get("delay_until")
    try:
        when = dt.datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return when if when.tzinfo is not None else None


def complete_due_delays(
    session_factory: sessionmaker[Session],
    report: WaitTasksReport,
    now: dt.datetime | None = None,
) -> None:
    """Complete (success) the running `delay` tasks whose time has come."""
    now = now or _now()
    # The time is in JSON: compared in Python, over running delays only
    # (few: one per retry-with-delays or workflow pause).
    with session_factory() as session:
        rows = session.execute(
            select(WorkRequest.id, WorkRequest.task_data)
            .where(
                and_(
                    WorkRequest.status == WorkRequestStatus.RUNNING,
                    WorkRequest.task_type == TaskType.WAIT,
                    WorkRequest.task_name == DELAY,
                )
            )
            .order_by(WorkRequest.id)
        ).all()
    due = []
    for work_request_id, task_data in rows:
        try:
            when = dt.datetime.fromisoformat(str(task_data.get("delay_until")))
        except ValueError:
            when = None
        if when is None or when.tzinfo is None or when <= now:
            due.append(work_request_id)

    def handle(session: Session, work_request: WorkRequest) -> bool:
        if work_request.status != WorkRequestStatus.RUNNING:
            return False
        when = _delay_until(work_request)
        if when is None:
            # The schema refuses this at creation; a row edited by hand.
            lifecycle.mark_completed(
                session,
                work_request,
                WorkRequestResult.ERROR,
                {
                    "errors": [
                        {
                            "code": "invalid-task-data",
                            "message": "delay_until is not an ISO 8601 date/time"
                            " with a time zone",
                        }
                    ]
                },
            )
            report.failed.append(work_request.id)
        elif when <= now:
            lifecycle.mark_completed(session, work_request, WorkRequestResult.SUCCESS)
            report.completed.append(work_request.id)
        else:
            return False
        flag_workflows(work_request)
        return True

    _each_locked(session_factory, due, handle)


def run_wait_tasks(
    session_factory: sessionmaker[Session], now: dt.datetime | None = None
) -> WaitTasksReport:
    """Start pending wait tasks, then complete the delays that are due."""
    report = WaitTasksReport()
    start_pending_wait_tasks(session_factory, report)
    complete_due_delays(session_factory, report, now)
    return report


__all__ = [
    "WaitTasksReport",
    "complete_due_delays",
    "flag_workflows",
    "run_wait_tasks",
    "start_pending_wait_tasks",
]
