"""Assigning pending work requests to workers, in SQL.

Each work request carries, from its creation, what a worker must offer
(`required_worker_type`, `required_architecture`, `required_capabilities`).
`assign_many` matches them against a set of idle workers (`assign_next` is
the same for one worker):

1. The workers' rows are locked in one statement (two assignments to one
   worker cannot race past its `concurrency`); each must be connected,
   with an enabled token (server workers have none), and have fewer
   pending+running requests than its concurrency. Each gets at most one
   request per call.
2. Workers that offer the same thing (worker type, architectures,
   capabilities, allow/deny lists) form a group, usually one for a farm of
   alike machines. For a group of k workers, each architecture they offer,
   plus "any architecture", is one `LIMIT k` scan of the partial index
   `ix_work_request_schedulable` ((worker type, architecture, effective
   priority DESC, created_at, id) WHERE pending and unassigned). These
   heads are combined with UNION ALL and ranked, and the best k are paired
   with the k workers in one UPDATE ... RETURNING: the cost depends on the
   number of workers and of their architectures, never on how much work
   for other architectures is queued.
3. Each bucket's scan is `FOR UPDATE SKIP LOCKED`, so concurrent
   assignments never take the same request (a head another transaction
   holds is skipped for the next one). The heads not taken (at most k per
   extra architecture) stay locked until the caller commits: a concurrent
   assignment meanwhile skips them, which can only delay them by one pass,
   never assign them twice.

Only prepared requests are in that index: those whose dynamic task data
(configuration applied, lookups resolved) is computed. Each call first
prepares a batch of the pending ones that lack it
(`debusine.work_request_data.prepare_pending_work`, its own partial index);
a request whose lookups fail is completed as an error there.

The worker's capabilities (`required_capabilities <@ :caps`) and its
`tasks_allowlist` / `tasks_denylist` are filters applied during the scan of a
bucket: a long run of same-architecture work the worker cannot do (a tool
it lacks, a denied task) is walked over, other architectures never are.

The request stays `pending` with `worker` set ("assigned"); the worker's
start of the task (`mark_running`) makes it running; the bus, which starts
tasks as it assigns them, has `assign_many(start=True)` do both at once. An
assigned request leaves the index, and counts towards the worker's
concurrency.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Table,
    Update,
    bindparam,
    func,
    select,
    union_all,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session
from sqlalchemy.types import Text

from debusine.event_reactions import ON_ASSIGNMENT, run_reactions
from debusine.models.auth import Token
from debusine.models.work_requests import WorkRequest, WorkRequestStatus
from debusine.models.workers import Worker, WorkerType
from debusine.tasks import worker_architectures, worker_capabilities
from debusine.work_request_data import prepare_pending_work


@dataclass(frozen=True)
class Assignment:
    """A work request now assigned to a worker."""

    worker_id: int
    work_request_id: int
    # It has `on_assignment` event reactions to run.
    reacts: bool = False


@dataclass(frozen=True)
class _Offer:
    """What a worker offers; workers with equal offers share one query."""

    worker_type: str
    architectures: tuple[str, ...]
    capabilities: tuple[str, ...]
    allowlist: tuple[str, ...] | None
    denylist: tuple[str, ...]

    @classmethod
    def of(cls, worker_type: WorkerType, metadata: Mapping[str, Any]) -> _Offer:
        allowlist = metadata.get("tasks_allowlist")
        return cls(
            worker_type.value,
            tuple(worker_architectures(metadata)),
            tuple(worker_capabilities(metadata)),
            None if allowlist is None else tuple(str(n) for n in allowlist),
            tuple(str(n) for n in metadata.get("tasks_denylist") or ()),
        )


_work_request = cast(Table, WorkRequest.__table__)


def _priority() -> ColumnElement[int]:
    return _work_request.c.priority_base + _work_request.c.priority_adjustment


def _bucket(index: int, architecture: bool, task_filter: str | None) -> Select[Any]:
    """The best `:limit` pending, unassigned requests of one architecture.

    `architecture` False is the bucket of requests that need none.
    """
    wr = _work_request.c
    query = (
        select(
            _priority().label("priority"),
            wr.created_at.label("created_at"),
            wr.id.label("id"),
        )
        .where(wr.status == WorkRequestStatus.PENDING.value)
        .where(wr.worker_id.is_(None))
        # Prepared (`prepare_pending_work`): its lookups are resolved.
        .where(wr.dynamic_task_data.is_not(None))
        .where(wr.required_worker_type == bindparam("worker_type"))
        .where(
            wr.required_architecture == bindparam(f"architecture_{index}")
            if architecture
            else wr.required_architecture.is_(None)
        )
        .where(
            wr.required_capabilities.contained_by(
                bindparam("capabilities", type_=ARRAY(Text))
            )
        )
        .order_by(_priority().desc(), wr.created_at, wr.id)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True, of=_work_request)
    )
    if task_filter == "allow":
        query = query.where(wr.task_name.in_(bindparam("task_names", expanding=True)))
    elif task_filter == "deny":
        query = query.where(
            wr.task_name.not_in(bindparam("task_names", expanding=True))
        )
    return query


@functools.cache
def _assign_statement(
    architectures: int, task_filter: str | None, start: bool
) -> Update:
    """Pair the best requests of the buckets with the workers `:worker_ids`.

    Built once per shape and reused: SQLAlchemy then compiles it once.
    """
    heads = union_all(
        *(
            _bucket(index, index < architectures, task_filter)
            .subquery(f"b{index}")
            .select()
            for index in range(architectures + 1)
        )
    ).subquery("heads")
    rank = (heads.c.priority.desc(), heads.c.created_at, heads.c.id)
    # Materialized: evaluated once, so the locked rows are the ones paired.
    best = (
        select(heads.c.id, func.row_number().over(order_by=rank).label("slot"))
        .order_by(*rank)
        .limit(bindparam("limit", type_=Integer))
        .cte("best")
        .prefix_with("MATERIALIZED")
    )
    slots = (
        func.unnest(bindparam("worker_ids", type_=ARRAY(Integer)))
        .table_valued("worker_id", with_ordinality="slot")
        .render_derived(name="slots")
    )
    wr = _work_request.c
    values: dict[str, Any] = {
        "worker_id": slots.c.worker_id,
        "configured_task_data": func.coalesce(wr.configured_task_data, wr.task_data),
    }
    if start:
        # What `mark_running` does, in the same row update.
        values["status"] = WorkRequestStatus.RUNNING.value
        values["started_at"] = bindparam("started_at")
    return (
        update(_work_request)
        .where(wr.id == best.c.id)
        .where(slots.c.slot == best.c.slot)
        .values(values)
        # Whole rows: `assign_next` loads its request from them.
        .returning(*_work_request.c)
    )


@functools.cache
def _lock_workers_statement() -> Select[Any]:
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
    return (
        select(
            Worker.id,
            Worker.worker_type,
            Worker.connected_at,
            Worker.concurrency,
            Worker.static_metadata,
            Worker.dynamic_metadata,
            Token.enabled,
            active.label("active"),
        )
        .outerjoin(Token, Token.id == Worker.token_id)
        .where(Worker.id.in_(bindparam("worker_ids", expanding=True)))
        .order_by(Worker.id)
        .with_for_update(of=Worker)
    )


def _lock_workers(
    session: Session, worker_ids: Iterable[int]
) -> dict[_Offer, list[int]]:
    """Lock the workers; those that may take more work, grouped by offer.

    A worker may take work when it is connected, has an enabled token
    (server workers have none), and fewer pending+running requests than
    its concurrency. One round trip, the rows locked in id order.
    """
    ids = sorted(set(worker_ids))
    if not ids:
        return {}
    rows = session.execute(_lock_workers_statement(), {"worker_ids": ids})
    groups: dict[_Offer, list[int]] = {}
    for row in rows:
        if row.connected_at is None or row.active >= row.concurrency:
            continue
        if row.worker_type != WorkerType.SERVER and not row.enabled:
            continue
        # The administrator's static metadata wins over what the worker says.
        metadata = {**row.dynamic_metadata, **row.static_metadata}
        groups.setdefault(_Offer.of(row.worker_type, metadata), []).append(row.id)
    return groups


def _assign_query(
    offer: _Offer, worker_ids: list[int], start: bool
) -> tuple[Update, dict[str, Any]]:
    """The UPDATE pairing the best requests for `offer` with `worker_ids`."""
    task_filter = (
        "allow" if offer.allowlist is not None else "deny" if offer.denylist else None
    )
    parameters: dict[str, Any] = {
        "worker_type": offer.worker_type,
        "capabilities": list(offer.capabilities),
        "limit": len(worker_ids),
        "worker_ids": worker_ids,
    }
    if start:
        parameters["started_at"] = dt.datetime.now(dt.UTC)
    for index, architecture in enumerate(offer.architectures):
        parameters[f"architecture_{index}"] = architecture
    if task_filter is not None:
        parameters["task_names"] = list(
            offer.allowlist if offer.allowlist is not None else offer.denylist
        )
    statement = _assign_statement(len(offer.architectures), task_filter, start)
    return statement, parameters


def assign_many(
    session: Session, worker_ids: Iterable[int], *, start: bool = False
) -> list[Assignment]:
    """Assign each idle worker the best pending request it can run, if any.

    At most one request per worker; the requests keep status pending with
    `worker` set (see the module docstring), or with `start` become
    running at once, with `started_at` set (as `mark_running` does), in
    the same update. The caller commits, then tells the workers. One round
    trip to lock the workers, one per group of workers that offer the same.
    Requests with `on_assignment` reactions (seen in the rows the UPDATE
    returns: the others cost nothing more) run them; one they complete
    (skipped, or error) is not returned.
    """
    session.flush()
    prepare_pending_work(session)
    assignments: list[Assignment] = []
    for offer, ids in _lock_workers(session, worker_ids).items():
        statement, parameters = _assign_query(offer, ids, start)
        assignments.extend(
            Assignment(row.worker_id, row.id, ON_ASSIGNMENT in row.event_reactions)
            for row in session.execute(statement, parameters)
        )
    if assignments:
        # Loaded copies of those requests are stale now.
        for assignment in assignments:
            loaded = session.identity_map.get(
                session.identity_key(WorkRequest, assignment.work_request_id)
            )
            if loaded is not None:
                session.expire(loaded)
    return [a for a in assignments if not a.reacts or _react(session, a)]


def _react(session: Session, assignment: Assignment) -> bool:
    """Run the `on_assignment` reactions; False if they finished the request."""
    return _still_assigned(
        session, session.get_one(WorkRequest, assignment.work_request_id)
    )


def _still_assigned(session: Session, work_request: WorkRequest) -> bool:
    run_reactions(session, work_request, ON_ASSIGNMENT)
    return work_request.status in (WorkRequestStatus.PENDING, WorkRequestStatus.RUNNING)


def assign_next(session: Session, worker: Worker) -> WorkRequest | None:
    """Assign the best pending request this worker can run, or None.

    `assign_many` for one worker, loading the request from what the
    assigning UPDATE returns (no third round trip).
    """
    session.flush()
    prepare_pending_work(session)
    for offer, ids in _lock_workers(session, [worker.id]).items():
        statement, parameters = _assign_query(offer, ids, start=False)
        work_request = session.scalars(
            select(WorkRequest).from_statement(statement),
            parameters,
            execution_options={"populate_existing": True},
        ).one_or_none()
        if (
            work_request is not None
            and ON_ASSIGNMENT in work_request.event_reactions
            and not _still_assigned(session, work_request)
        ):
            return None
        return work_request
    return None
