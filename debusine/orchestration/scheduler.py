"""Assigning pending work requests to workers, in SQL.

Each work request carries, from its creation, what a worker must offer
(`required_worker_type`, `required_architecture`, `required_capabilities`).
`assign_next` matches them against one worker:

1. The worker row is locked (two assignments to one worker cannot race
   past its `concurrency`), and must be connected, with an enabled token
   (server workers have none), and fewer pending+running requests than its
   concurrency.
2. For each architecture the worker offers, plus "any architecture", one
   `LIMIT 1` scan of the partial index `ix_work_request_schedulable`
   ((worker type, architecture, effective priority DESC, created_at, id)
   WHERE pending and unassigned) finds that bucket's best candidate. These
   heads are combined with UNION ALL and ranked: the cost depends on the
   number of the worker's architectures, never on how much work for other
   architectures is queued.
3. Each bucket's scan is `FOR UPDATE SKIP LOCKED LIMIT 1`, so concurrent
   assignments never take the same request (a head another transaction
   holds is skipped for the next one), and one UPDATE ... RETURNING assigns
   the best of the locked heads. The other heads (one per extra
   architecture, usually none or one) stay locked until the caller
   commits: a concurrent assignment meanwhile skips them, which can only
   delay them by one pass, never assign them twice.

The worker's capabilities (`required_capabilities <@ :caps`) and its
`tasks_allowlist` / `tasks_denylist` are filters applied during the scan of a
bucket: a long run of same-architecture work the worker cannot do (a tool
it lacks, a denied task) is walked over, other architectures never are.

The request stays `pending` with `worker` set ("assigned"); the worker's
start of the task (`mark_running`) makes it running. An assigned request
leaves the index, and counts towards the worker's concurrency.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    cast,
    func,
    literal_column,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY, array
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from debusine.models.auth import Token
from debusine.models.work_requests import WorkRequest, WorkRequestStatus
from debusine.models.workers import Worker, WorkerType
from debusine.tasks import worker_architectures, worker_capabilities


def _priority() -> ColumnElement[int]:
    return WorkRequest.priority_base + WorkRequest.priority_adjustment


def _bucket(
    worker: Worker,
    architecture: str | None,
    metadata: dict[str, Any],
    columns: tuple[Any, ...],
) -> Select[Any]:
    """Pending, unassigned requests of one architecture this worker may run."""
    query = (
        select(*columns)
        .where(WorkRequest.status == WorkRequestStatus.PENDING)
        .where(WorkRequest.worker_id.is_(None))
        .where(WorkRequest.required_worker_type == worker.worker_type.value)
        .where(
            WorkRequest.required_architecture == architecture
            if architecture is not None
            else WorkRequest.required_architecture.is_(None)
        )
        .where(
            WorkRequest.required_capabilities.contained_by(
                cast(array(worker_capabilities(metadata), type_=Text), ARRAY(Text))
            )
        )
        .order_by(_priority().desc(), WorkRequest.created_at, WorkRequest.id)
        .limit(1)
    )
    allowlist = metadata.get("tasks_allowlist")
    denylist = metadata.get("tasks_denylist")
    if allowlist is not None:
        query = query.where(WorkRequest.task_name.in_([str(n) for n in allowlist]))
    elif denylist:
        query = query.where(WorkRequest.task_name.not_in([str(n) for n in denylist]))
    return query


def _lock_worker(session: Session, worker: Worker) -> bool:
    """Lock and reload the worker; True if it may take more work.

    It must be connected, have an enabled token (server workers have
    none), and fewer pending+running requests than its concurrency. One
    round trip.
    """
    active = (
        select(func.count())
        .select_from(WorkRequest)
        .where(WorkRequest.worker_id == Worker.id)
        .where(
            WorkRequest.status.in_(
                [WorkRequestStatus.PENDING, WorkRequestStatus.RUNNING]
            )
        )
        .scalar_subquery()
    )
    row = session.execute(
        select(Worker, Token.enabled, active)
        .outerjoin(Token, Token.id == Worker.token_id)
        .where(Worker.id == worker.id)
        .with_for_update(of=Worker)
        .execution_options(populate_existing=True)
    ).one()
    _, token_enabled, active_count = row
    if worker.connected_at is None:
        return False
    if worker.worker_type != WorkerType.SERVER and not token_enabled:
        return False
    return bool(active_count < worker.concurrency)


def assign_next(session: Session, worker: Worker) -> WorkRequest | None:
    """Assign the best pending request this worker can run, or None.

    The request keeps status pending with `worker` set; see the module
    docstring. The caller commits, then tells the worker. Two round trips:
    lock the worker; lock each bucket's head and assign the best.
    """
    session.flush()
    if not _lock_worker(session, worker):
        return None
    metadata = worker.effective_metadata()
    buckets: list[str | None] = [*worker_architectures(metadata), None]

    # Each bucket's best unlocked request, locked; then the best of those.
    heads = union_all(
        *(
            _bucket(
                worker,
                architecture,
                metadata,
                (
                    _priority().label("priority"),
                    WorkRequest.created_at.label("created_at"),
                    WorkRequest.id.label("id"),
                ),
            )
            .with_for_update(skip_locked=True, of=WorkRequest)
            .subquery(f"b{index}")
            .select()
            for index, architecture in enumerate(buckets)
        )
    ).subquery("heads")
    best = (
        select(heads.c.id)
        .order_by(heads.c.priority.desc(), heads.c.created_at, heads.c.id)
        .limit(1)
        .scalar_subquery()
    )
    work_request = session.scalars(
        update(WorkRequest)
        .where(WorkRequest.id == best)
        .values(
            worker_id=worker.id,
            configured_task_data=func.coalesce(
                WorkRequest.configured_task_data, WorkRequest.task_data
            ),
            dynamic_task_data=func.coalesce(
                WorkRequest.dynamic_task_data, literal_column("'{}'::jsonb")
            ),
        )
        .returning(WorkRequest),
        execution_options={"populate_existing": True, "synchronize_session": False},
    ).one_or_none()
    if work_request is not None:
        session.expire(work_request, ["worker"])
    return work_request
