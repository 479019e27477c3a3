"""The work request lifecycle: create, block/unblock, run, complete, abort, retry.

Every function takes the caller's Session and only flushes: the caller
(a request under pyramid_tm, an orchestration step, a bus handler) owns the
transaction. Anything outside the database (telling a worker to stop) is
the caller's job after commit, using what these functions return.

Operations the bus may deliver twice are idempotent: completing a
completed request, starting a running one, aborting an aborted one, and
`worker_lost` for a worker with nothing running are no-ops.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Select,
    String,
    Table,
    Update,
    bindparam,
    column,
    exists,
    func,
    inspect,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session, aliased
from sqlalchemy.orm.attributes import set_committed_value

from debusine import event_reactions as reactions
from debusine.db.base import unsaved_row_object
from debusine.db.ids import next_id
from debusine.errors import DomainError
from debusine.models.auth import User
from debusine.models.work_requests import (
    TaskType,
    UnblockStrategy,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
    work_request_dependency,
)
from debusine.models.workers import Worker
from debusine.models.workspaces import Workspace
from debusine.tasks import get_task
from debusine.work_request_data import ensure_dynamic_data

MAX_AUTOMATIC_RETRIES = 3

_UNFINISHED = (
    WorkRequestStatus.PENDING,
    WorkRequestStatus.RUNNING,
    WorkRequestStatus.BLOCKED,
)
_GOOD_RESULTS = (WorkRequestResult.SUCCESS, WorkRequestResult.SKIPPED)


class WorkRequestStateError(DomainError):
    """The operation does not apply to the work request in its current state."""


class RetryLimitReached(WorkRequestStateError):
    """An automatic retry would exceed MAX_AUTOMATIC_RETRIES."""


class RetryReason(enum.StrEnum):
    MANUAL = "manual"
    WORKER_LOST = "worker-lost"
    DELAY = "delay"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


# Creation and dependencies


def create_work_request(
    session: Session,
    *,
    workspace: Workspace,
    task_type: TaskType | str,
    task_name: str,
    task_data: Mapping[str, Any],
    created_by: User | None,
    priority_base: int = 0,
    priority_adjustment: int = 0,
    parent: WorkRequest | None = None,
    dependencies: Iterable[WorkRequest] = (),
    workflow_data: Mapping[str, Any] | None = None,
    event_reactions: Mapping[str, Any] | None = None,
    unblock_strategy: UnblockStrategy = UnblockStrategy.DEPS,
    expiration_delay: dt.timedelta | None = None,
    allowed_reaction_actions: Collection[str] | None = None,
    deferred: bool = False,
) -> WorkRequest:
    """A new work request, validated by the task registry.

    Raises UnknownTaskError / TaskDataError (both DomainError) for a task
    name or data the registry refuses, EventReactionsError for bad
    `event_reactions` (or actions outside `allowed_reaction_actions`). The
    request is pending, or blocked when it waits for dependencies, a parent
    that is not running, or a manual unblock. Its `on_creation` reactions
    run before it returns.

    `deferred` (workflows laying out many children): the request gets its
    id from the sequence and every column a value at once, but is not added
    to the session: the caller inserts it, with the others, in one batch
    (see debusine.workflows.orchestration_run), and runs its `on_creation`
    reactions (`run_creation_reactions`) once it has recorded them all.
    """
    checked_reactions = reactions.validate_event_reactions(
        event_reactions, allowed_actions=allowed_reaction_actions, session=session
    )
    task = get_task(task_type, task_name, task_data)
    task.compute_dynamic_data()  # dry run: refuse what cannot be resolved
    needs = task.worker_requirements()
    dependencies = list(dependencies)
    values: dict[str, Any] = {
        "task_type": task.TASK_TYPE,
        "task_name": task.TASK_NAME,
        "task_data": dict(task_data),
        "version": task.TASK_VERSION,
        "priority_base": priority_base,
        "priority_adjustment": priority_adjustment,
        "workflow_data": dict(workflow_data or {}),
        "event_reactions": reactions.merge_reactions(
            reactions.default_reactions(session, workspace.id, task.TASK_TYPE),
            checked_reactions,
        ),
        "unblock_strategy": unblock_strategy,
        "expiration_delay": expiration_delay,
        "required_worker_type": needs.worker_type.value if needs.worker_type else None,
        "required_architecture": needs.architecture,
        "required_capabilities": sorted(needs.capabilities),
        "status": WorkRequestStatus.BLOCKED,
    }
    # Built without autoflush and inserted once, already in the status it
    # may have: an INSERT then an UPDATE per request cost a round trip each.
    with session.no_autoflush:
        if deferred:
            work_request = _deferred_work_request(
                session, values, workspace, parent, created_by
            )
        else:
            work_request = WorkRequest(
                workspace=workspace,
                created_by=created_by,
                parent=parent,
                dependencies=[],
                **values,
            )
        for dependency in dependencies:
            _check_same_root(work_request, dependency)
            _append_dependency(work_request, dependency)
        # A new request's dependencies are all in memory: no query needed.
        if _may_unblock(
            work_request,
            has_unfinished=any(
                d.status != WorkRequestStatus.COMPLETED for d in dependencies
            ),
        ):
            work_request.status = WorkRequestStatus.PENDING
    if not deferred:
        session.add(work_request)
        session.flush()
    if (
        work_request.status == WorkRequestStatus.PENDING
        and needs.worker_type is not None
        and not task.LOOKUPS
    ):
        # Nothing to look up: prepared now (its task configuration
        # applied), so the scheduler can hand it out at once. Requests
        # with lookups are prepared when the scheduler runs.
        ensure_dynamic_data(session, work_request)
    if not deferred:
        run_creation_reactions(session, work_request)
    return work_request


def _deferred_work_request(
    session: Session,
    values: dict[str, Any],
    workspace: Workspace,
    parent: WorkRequest | None,
    created_by: User | None,
) -> WorkRequest:
    """A request with every column value the database would give it.

    It is inserted without the ORM's unit of work and then treated as
    loaded: no column may be left for a default, or reading it would
    query. Its relationships are set as loaded values, without the events
    that would add it to `parent.children` while it is not in the session.
    """
    work_request = unsaved_row_object(
        WorkRequest,
        {
            "id": next_id(session, WorkRequest.__tablename__),
            "workspace_id": workspace.id,
            "parent_id": parent.id if parent is not None else None,
            "created_by_id": created_by.id if created_by is not None else None,
            "created_at": _now(),
            **_DEFERRED_DEFAULTS,
            **values,
        },
    )
    set_committed_value(work_request, "workspace", workspace)
    set_committed_value(work_request, "parent", parent)
    set_committed_value(work_request, "created_by", created_by)
    set_committed_value(work_request, "dependencies", [])
    return work_request


# What a new request has unless its creator said otherwise.
_DEFERRED_DEFAULTS: dict[str, Any] = {
    "started_at": None,
    "completed_at": None,
    "aborted_by_id": None,
    "result": WorkRequestResult.NONE,
    "worker_id": None,
    "configured_task_data": None,
    "dynamic_task_data": None,
    "output_data": None,
    "workflow_template_id": None,
    "internal_collection_id": None,
    "supersedes_id": None,
    "workflow_runtime_status": None,
    "workflow_last_activity_at": None,
    "workflows_need_update": False,
    "populate_memo": None,
}


def run_creation_reactions(session: Session, work_request: WorkRequest) -> None:
    """Run the request's `on_creation` reactions (see `create_work_request`)."""
    reactions.run_reactions(session, work_request, reactions.ON_CREATION)


def _root(work_request: WorkRequest) -> WorkRequest:
    while work_request.parent is not None:
        work_request = work_request.parent
    return work_request


def _check_same_root(work_request: WorkRequest, dependency: WorkRequest) -> None:
    if work_request.id == dependency.id:
        raise DomainError("A work request cannot depend on itself")
    if _root(work_request).id != _root(dependency).id and (
        work_request.parent_id is not None or dependency.parent_id is not None
    ):
        raise DomainError(
            f"Work request {dependency.id} is in another workflow than"
            f" {work_request.id}: dependencies cannot cross workflows"
        )


def add_dependency(
    session: Session, work_request: WorkRequest, dependency: WorkRequest
) -> None:
    """Make `work_request` wait for `dependency` (no-op if it already does).

    A pending `deps` request that gains an unfinished dependency goes back
    to blocked.
    """
    _check_same_root(work_request, dependency)
    if dependency in work_request.dependencies:
        return
    _append_dependency(work_request, dependency)
    if (
        work_request.status == WorkRequestStatus.PENDING
        and work_request.worker_id is None
        and work_request.unblock_strategy == UnblockStrategy.DEPS
        and dependency.status != WorkRequestStatus.COMPLETED
    ):
        work_request.status = WorkRequestStatus.BLOCKED
    # Not flushed: the next flush (or query) writes it with whatever else
    # the caller changes, in one batch rather than a round trip each.


def _append_dependency(work_request: WorkRequest, dependency: WorkRequest) -> None:
    if inspect(work_request).transient:
        # A deferred request, not in the session yet: no attribute event,
        # which would list it in the dependency's `reverse_dependencies`
        # for a flush that cannot write it. Its dependency rows are
        # inserted with it (debusine.workflows.orchestration_run).
        list.append(work_request.dependencies, dependency)
    else:
        work_request.dependencies.append(dependency)


def _may_unblock(work_request: WorkRequest, *, has_unfinished: bool) -> bool:
    """`deps` strategy, no unfinished dependency, and no parent or a running one."""
    if work_request.unblock_strategy != UnblockStrategy.DEPS or has_unfinished:
        return False
    parent = work_request.parent
    return parent is None or parent.status == WorkRequestStatus.RUNNING


@functools.cache
def _has_unfinished_statement() -> Select[tuple[bool]]:
    """Whether `:work_request_id` has an unfinished dependency.

    Built once: SQLAlchemy re-adapts an aliased entity's columns on every build.
    """
    dependency = aliased(WorkRequest)
    return select(
        exists()
        .where(
            work_request_dependency.c.work_request_id == bindparam("work_request_id")
        )
        .where(work_request_dependency.c.dependency_id == dependency.id)
        .where(dependency.status != WorkRequestStatus.COMPLETED)
    )


@functools.cache
def _waiting_statement() -> Select[tuple[int]]:
    """Which of `:ids` have an unfinished dependency: one query for many."""
    dependency = aliased(WorkRequest)
    return (
        select(work_request_dependency.c.work_request_id)
        .join(dependency, work_request_dependency.c.dependency_id == dependency.id)
        .where(
            work_request_dependency.c.work_request_id.in_(
                bindparam("ids", expanding=True)
            ),
            dependency.status != WorkRequestStatus.COMPLETED,
        )
        .distinct()
    )


def can_be_automatically_unblocked(session: Session, work_request: WorkRequest) -> bool:
    """`deps` strategy: every dependency completed, and no parent or a running one."""
    if not _may_unblock(work_request, has_unfinished=False):
        return False
    unfinished = session.scalar(
        _has_unfinished_statement(), {"work_request_id": work_request.id}
    )
    return not unfinished


def unblock(session: Session, work_request: WorkRequest) -> bool:
    """Make a blocked request pending if it may now run; True if it changed."""
    if work_request.status != WorkRequestStatus.BLOCKED:
        return False
    if not can_be_automatically_unblocked(session, work_request):
        return False
    _become_pending(session, work_request)
    return True


def _become_pending(session: Session, work_request: WorkRequest) -> None:
    """It stops waiting: pending, then its `on_unblock` reactions run."""
    work_request.status = WorkRequestStatus.PENDING
    session.flush()
    reactions.run_reactions(session, work_request, reactions.ON_UNBLOCK)


def accept_manual_unblock(session: Session, work_request: WorkRequest) -> None:
    """A reviewer accepted a request blocked for a manual review: it may run.

    Its `on_unblock` reactions run, as for any request that stops waiting.
    """
    if work_request.status != WorkRequestStatus.BLOCKED:
        raise WorkRequestStateError(
            f"Work request {work_request.id} is {work_request.status.value},"
            " not blocked"
        )
    _become_pending(session, work_request)


def unblock_children(
    session: Session,
    parent: WorkRequest,
    children: Iterable[WorkRequest] | None = None,
) -> list[int]:
    """After a workflow starts running: unblock the children that may run.

    Same as `unblock` on each child (of `children`, by default all the
    parent's), with at most one query for the dependencies of those whose
    dependencies are not in memory.
    """
    blocked = [
        child
        for child in (parent.children if children is None else children)
        if child.status == WorkRequestStatus.BLOCKED
        and _may_unblock(child, has_unfinished=False)
    ]
    if not blocked:
        return []
    # A loaded `dependencies` collection (a child made or loaded with its
    # dependencies in this transaction) answers without the database.
    known = [c for c in blocked if "dependencies" in inspect(c).dict]
    unknown = [c for c in blocked if "dependencies" not in inspect(c).dict]
    waiting = {
        c.id
        for c in known
        if any(d.status != WorkRequestStatus.COMPLETED for d in c.dependencies)
    }
    if unknown:
        session.flush()
        waiting.update(
            session.scalars(_waiting_statement(), {"ids": [c.id for c in unknown]})
        )
    unblocked = [child for child in blocked if child.id not in waiting]
    for child in unblocked:
        child.status = WorkRequestStatus.PENDING
    if unblocked:
        session.flush()
    for child in unblocked:
        reactions.run_reactions(session, child, reactions.ON_UNBLOCK)
    return [child.id for child in unblocked]


def _unblock_reverse_dependencies(session: Session, work_request: WorkRequest) -> None:
    """A dependency finished: unblock its dependents, or abort them if it failed."""
    ok = (
        work_request.status == WorkRequestStatus.COMPLETED
        and work_request.result in _GOOD_RESULTS
    ) or bool(work_request.workflow_data.get("allow_failure"))
    session.expire(work_request, ["reverse_dependencies"])
    for dependent in work_request.reverse_dependencies:
        if dependent.status != WorkRequestStatus.BLOCKED:
            continue
        if ok:
            unblock(session, dependent)
        elif dependent.unblock_strategy == UnblockStrategy.DEPS:
            _mark_aborted(dependent, user=None)
    session.flush()


# Running and completion


def mark_running(session: Session, work_request: WorkRequest, worker: Worker) -> bool:
    """The worker started the request; False if it was already running there."""
    if work_request.status == WorkRequestStatus.RUNNING:
        if work_request.worker_id == worker.id:
            return False
        raise WorkRequestStateError(
            f"Work request {work_request.id} is running on another worker"
        )
    if work_request.status != WorkRequestStatus.PENDING:
        raise WorkRequestStateError(
            f"Work request {work_request.id} is {work_request.status.value},"
            " it cannot start"
        )
    if work_request.worker_id not in (None, worker.id):
        raise WorkRequestStateError(
            f"Work request {work_request.id} is assigned to another worker"
        )
    work_request.worker = worker
    work_request.status = WorkRequestStatus.RUNNING
    work_request.started_at = _now()
    session.flush()
    return True


def mark_completed(
    session: Session,
    work_request: WorkRequest,
    result: WorkRequestResult | str,
    output_data: Mapping[str, Any] | None = None,
) -> bool:
    """Record the result; False (and nothing changed) if it already finished.

    `output_data` is merged into what is there (`runtime_statistics`,
    `errors[{code, message}]`, `skip_reason`...); `runtime_statistics.duration`
    (seconds) is filled in from `started_at` when the worker did not send it.
    The `on_success` (or `on_failure`, for failure and error) reactions
    run next: one that fails turns the result into `error`. Reverse
    dependencies are then unblocked, or aborted if this one failed without
    `workflow_data.allow_failure`.
    """
    result = _completion_result(result)
    if work_request.status in (WorkRequestStatus.COMPLETED, WorkRequestStatus.ABORTED):
        return False
    now = _now()
    work_request.output_data = _merged_output(
        work_request.output_data, output_data, work_request.started_at, now
    )
    work_request.status = WorkRequestStatus.COMPLETED
    work_request.result = result
    work_request.completed_at = now
    session.flush()
    event = _completion_event(result)
    if event is not None:
        reactions.run_reactions(session, work_request, event)
    _unblock_reverse_dependencies(session, work_request)
    return True


def _completion_event(result: WorkRequestResult) -> str | None:
    if result == WorkRequestResult.SUCCESS:
        return reactions.ON_SUCCESS
    if result in (WorkRequestResult.FAILURE, WorkRequestResult.ERROR):
        return reactions.ON_FAILURE
    return None  # skipped: no reactions


def _completion_result(result: WorkRequestResult | str) -> WorkRequestResult:
    try:
        value = WorkRequestResult(result)
    except ValueError:
        raise DomainError(f"Unknown work request result {result!r}") from None
    if value == WorkRequestResult.NONE:
        raise DomainError("A completed work request needs a result")
    return value


def _merged_output(
    stored: Mapping[str, Any] | None,
    reported: Mapping[str, Any] | None,
    started_at: dt.datetime | None,
    now: dt.datetime,
) -> dict[str, Any]:
    """`reported` merged over `stored`, with a default runtime duration."""
    merged = dict(stored or {})
    merged.update(reported or {})
    if started_at is not None:
        statistics = dict(merged.get("runtime_statistics") or {})
        statistics.setdefault("duration", int((now - started_at).total_seconds()))
        merged["runtime_statistics"] = statistics
    return merged


@dataclass(frozen=True)
class Completion:
    """A worker's report that it finished a work request (a bus FINAL)."""

    work_request_id: int
    worker_id: int
    result: WorkRequestResult | str
    output_data: Mapping[str, Any] = field(default_factory=dict)


class CompletionOutcome(enum.StrEnum):
    COMPLETED = "completed"
    # Completed or aborted before: a FINAL delivered twice, or after an abort.
    ALREADY_FINISHED = "already-finished"
    # No such request, or not this worker's: ignored.
    NOT_ASSIGNED = "not-assigned"


@dataclass
class CompletedMany:
    """What `complete_many` did: one outcome per completion, in order."""

    outcomes: list[CompletionOutcome]
    # Completed ids with a parent or dependents: others may have work now.
    may_unblock: list[int]


def complete_many(session: Session, completions: Sequence[Completion]) -> CompletedMany:
    """`mark_completed` for many requests, each only if that worker runs it.

    Same result as `mark_completed` one by one, in a few statements: the
    rows are locked and read in one SELECT, updated in one executemany by
    primary key; only requests with dependents go through the ORM to unblock
    (or abort) them. Raises DomainError, changing nothing, for a bad result.
    """
    results = [_completion_result(c.result) for c in completions]
    if not completions:
        return CompletedMany([], [])
    session.flush()
    has_dependents = (
        exists()
        .where(work_request_dependency.c.dependency_id == WorkRequest.id)
        .label("has_dependents")
    )
    rows = {
        row.id: row
        for row in session.execute(
            select(
                WorkRequest.id,
                WorkRequest.worker_id,
                WorkRequest.status,
                WorkRequest.output_data,
                WorkRequest.started_at,
                WorkRequest.parent_id,
                has_dependents,
                WorkRequest.event_reactions.has_key(reactions.ON_SUCCESS).label(
                    reactions.ON_SUCCESS
                ),
                WorkRequest.event_reactions.has_key(reactions.ON_FAILURE).label(
                    reactions.ON_FAILURE
                ),
            )
            .where(WorkRequest.id.in_({c.work_request_id for c in completions}))
            .order_by(WorkRequest.id)
            .with_for_update(of=WorkRequest)
        )
    }
    now = _now()
    outcomes: list[CompletionOutcome] = []
    changes: dict[int, dict[str, Any]] = {}
    may_unblock: list[int] = []
    with_dependents: list[int] = []
    # Only requests with reactions to their event need the ORM.
    reacting: list[tuple[int, str]] = []
    for completion, result in zip(completions, results, strict=True):
        row = rows.get(completion.work_request_id)
        if row is None or row.worker_id != completion.worker_id:
            outcomes.append(CompletionOutcome.NOT_ASSIGNED)
            continue
        if row.id in changes or row.status in (
            WorkRequestStatus.COMPLETED,
            WorkRequestStatus.ABORTED,
        ):
            outcomes.append(CompletionOutcome.ALREADY_FINISHED)
            continue
        changes[row.id] = {
            "id": row.id,
            "result": result.value,
            "output_data": _merged_output(
                row.output_data, completion.output_data, row.started_at, now
            ),
        }
        outcomes.append(CompletionOutcome.COMPLETED)
        event = _completion_event(result)
        if event is not None and getattr(row, event):
            reacting.append((row.id, event))
        if (
            row.has_dependents
            or row.parent_id is not None
            or reacting[-1:] == [(row.id, event)]
        ):
            may_unblock.append(row.id)
        if row.has_dependents:
            with_dependents.append(row.id)
    if changes:
        _expire_loaded(session, changes)
        session.execute(
            _complete_statement(),
            {"completed_at": now, "changes": list(changes.values())},
        )
        for work_request_id, event in reacting:
            reactions.run_reactions(
                session, session.get_one(WorkRequest, work_request_id), event
            )
        for work_request_id in with_dependents:
            _unblock_reverse_dependencies(
                session, session.get_one(WorkRequest, work_request_id)
            )
    return CompletedMany(outcomes, may_unblock)


@functools.cache
def _complete_statement() -> Update:
    """Complete the requests in `:changes` (id, result, output_data): one UPDATE."""
    table = cast(Table, WorkRequest.__table__)
    changes = (
        func.jsonb_to_recordset(bindparam("changes", type_=JSONB))
        .table_valued(
            column("id", Integer),
            column("result", String),
            column("output_data", JSONB),
        )
        .render_derived(name="changes", with_types=True)
    )
    return (
        update(table)
        .where(table.c.id == changes.c.id)
        .values(
            status=WorkRequestStatus.COMPLETED.value,
            result=changes.c.result,
            completed_at=bindparam("completed_at"),
            output_data=changes.c.output_data,
        )
    )


def _expire_loaded(session: Session, work_request_ids: Collection[int]) -> None:
    """Forget the loaded state of these requests: core statements change them."""
    for work_request_id in work_request_ids:
        loaded = session.identity_map.get(
            session.identity_key(WorkRequest, work_request_id)
        )
        if loaded is not None:
            session.expire(loaded)


# Abort


def _mark_aborted(work_request: WorkRequest, user: User | None) -> None:
    work_request.status = WorkRequestStatus.ABORTED
    work_request.result = WorkRequestResult.NONE
    work_request.completed_at = _now()
    work_request.aborted_by = user


def is_superseded(session: Session, work_request: WorkRequest) -> bool:
    return bool(
        session.scalar(
            select(exists().where(WorkRequest.supersedes_id == work_request.id))
        )
    )


def abort(session: Session, work_request: WorkRequest, user: User | None) -> list[int]:
    """Abort the request and every unfinished descendant.

    Returns the ids of those that were assigned to or running on a worker,
    so that the caller tells their workers to stop (after commit). Their
    `worker` is kept as a record of where they ran. Aborting an aborted
    request is a no-op returning [].
    """
    if work_request.status == WorkRequestStatus.ABORTED:
        return []
    if work_request.status == WorkRequestStatus.COMPLETED:
        raise WorkRequestStateError(
            f"Work request {work_request.id} is completed, it cannot be aborted"
        )
    session.flush()
    tree = (
        select(WorkRequest.id)
        .where(WorkRequest.id == work_request.id)
        .cte("tree", recursive=True)
    )
    tree = tree.union_all(
        select(WorkRequest.id).where(WorkRequest.parent_id == tree.c.id)
    )
    on_workers = list(
        session.scalars(
            select(WorkRequest.id)
            .where(WorkRequest.id.in_(select(tree.c.id)))
            .where(
                WorkRequest.status.in_(
                    [WorkRequestStatus.PENDING, WorkRequestStatus.RUNNING]
                )
            )
            .where(WorkRequest.worker_id.is_not(None))
            .order_by(WorkRequest.id)
        )
    )
    session.execute(
        update(WorkRequest)
        .where(WorkRequest.id.in_(select(tree.c.id)))
        .where(WorkRequest.status.in_(_UNFINISHED))
        .values(
            status=WorkRequestStatus.ABORTED,
            result=WorkRequestResult.NONE,
            completed_at=_now(),
            aborted_by_id=user.id if user is not None else None,
        ),
        execution_options={"synchronize_session": "fetch"},
    )
    session.flush()
    return on_workers


# Retry


def retry(
    session: Session,
    work_request: WorkRequest,
    reason: RetryReason = RetryReason.MANUAL,
) -> WorkRequest:
    """A new request superseding this aborted or failed one.

    It copies the task, priority, parent, dependencies, event reactions and
    workflow data (`retry_count` incremented for automatic reasons, reset
    by MANUAL), and the reverse dependencies now wait for it instead.
    Automatic WORKER_LOST retries stop at MAX_AUTOMATIC_RETRIES
    (RetryLimitReached). A failed or aborted parent workflow runs again.
    """
    if work_request.task_type in (TaskType.WORKFLOW, TaskType.WAIT):
        raise WorkRequestStateError(
            f"Retrying {work_request.task_type.value} work requests is not supported"
        )
    failed = work_request.status == WorkRequestStatus.COMPLETED and (
        work_request.result in (WorkRequestResult.FAILURE, WorkRequestResult.ERROR)
    )
    if work_request.status != WorkRequestStatus.ABORTED and not failed:
        raise WorkRequestStateError(
            f"Work request {work_request.id} is {work_request.status.value}"
            f"{'/' + work_request.result.value if work_request.result else ''}:"
            " only aborted or failed work requests can be retried"
        )
    if is_superseded(session, work_request):
        raise WorkRequestStateError(
            f"Work request {work_request.id} was already superseded by a retry"
        )
    workflow_data = dict(work_request.workflow_data)
    retry_count = int(workflow_data.get("retry_count", 0))
    if reason == RetryReason.MANUAL:
        workflow_data["retry_count"] = 0
    else:
        if reason == RetryReason.WORKER_LOST and retry_count >= MAX_AUTOMATIC_RETRIES:
            raise RetryLimitReached(
                f"Work request {work_request.id} was already retried"
                f" {retry_count} times"
            )
        workflow_data["retry_count"] = retry_count + 1

    new = WorkRequest(
        workspace_id=work_request.workspace_id,
        task_type=work_request.task_type,
        task_name=work_request.task_name,
        task_data=dict(work_request.task_data),
        version=work_request.version,
        created_by_id=work_request.created_by_id,
        priority_base=work_request.priority_base,
        priority_adjustment=work_request.priority_adjustment,
        parent_id=work_request.parent_id,
        workflow_template_id=work_request.workflow_template_id,
        workflow_data=workflow_data,
        event_reactions=dict(work_request.event_reactions),
        unblock_strategy=work_request.unblock_strategy,
        expiration_delay=work_request.expiration_delay,
        required_worker_type=work_request.required_worker_type,
        required_architecture=work_request.required_architecture,
        required_capabilities=list(work_request.required_capabilities),
        supersedes=work_request,
        status=WorkRequestStatus.BLOCKED,
    )
    session.add(new)
    session.flush()
    new.dependencies.extend(work_request.dependencies)
    session.execute(
        update(work_request_dependency)
        .where(work_request_dependency.c.dependency_id == work_request.id)
        .values(dependency_id=new.id)
    )
    parent = work_request.parent
    if parent is not None and (
        parent.status == WorkRequestStatus.ABORTED
        or (
            parent.status == WorkRequestStatus.COMPLETED
            and parent.result not in _GOOD_RESULTS
        )
    ):
        parent.status = WorkRequestStatus.RUNNING
        parent.result = WorkRequestResult.NONE
        parent.completed_at = None
    session.flush()
    session.expire(work_request, ["reverse_dependencies"])
    if can_be_automatically_unblocked(session, new):
        _become_pending(session, new)
    return new


@dataclass
class WorkerLostOutcome:
    """What `worker_lost` did: (old id, new id) retried, ids failed or released."""

    retried: list[tuple[int, int]] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    released: list[int] = field(default_factory=list)


def worker_lost(
    session: Session, worker: Worker, message: str | None = None
) -> WorkerLostOutcome:
    """The worker died: retry what it was running, release what it had not started.

    Each running request is aborted (its `output_data.errors` saying
    `worker-lost`) and retried automatically; one already
    retried MAX_AUTOMATIC_RETRIES times is completed with result `error` and
    `output_data.errors=[{code: "worker-lost", message}]` instead. Calling it
    again for the same worker finds nothing to do.
    """
    outcome = WorkerLostOutcome()
    message = message or f"Worker {worker.name} was lost while running the task"
    running = session.scalars(
        select(WorkRequest)
        .where(WorkRequest.worker_id == worker.id)
        .where(WorkRequest.status == WorkRequestStatus.RUNNING)
        .order_by(WorkRequest.id)
        .with_for_update()
    ).all()
    for work_request in running:
        retry_count = int(work_request.workflow_data.get("retry_count", 0))
        if retry_count >= MAX_AUTOMATIC_RETRIES:
            mark_completed(
                session,
                work_request,
                WorkRequestResult.ERROR,
                {"errors": [{"code": "worker-lost", "message": message}]},
            )
            outcome.failed.append(work_request.id)
            continue
        # The retried request says why it stopped; its retry runs it again.
        work_request.output_data = {
            **(work_request.output_data or {}),
            "errors": [{"code": "worker-lost", "message": message}],
        }
        _mark_aborted(work_request, user=None)
        session.flush()
        new = retry(session, work_request, RetryReason.WORKER_LOST)
        outcome.retried.append((work_request.id, new.id))
    outcome.released = list(
        session.scalars(
            update(WorkRequest)
            .where(WorkRequest.worker_id == worker.id)
            .where(WorkRequest.status == WorkRequestStatus.PENDING)
            .values(worker_id=None)
            .returning(WorkRequest.id),
            execution_options={"synchronize_session": "fetch"},
        )
    )
    session.flush()
    return outcome


# Priorities


def set_priority_adjustment(
    session: Session, work_request: WorkRequest, adjustment: int
) -> None:
    """Set the administrator's adjustment (the caller checks the permission)."""
    if isinstance(adjustment, bool) or not isinstance(adjustment, int):
        raise DomainError("priority_adjustment must be an integer")
    work_request.priority_adjustment = adjustment
    session.flush()
