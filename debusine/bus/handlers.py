"""`BusHandlers` backed by the database: the broker's source of truth.

Each call runs in its own transaction, committed before it returns;
anything outside the database (waking other idle workers) happens after
the commit. Every call is idempotent by work request id.

Lifecycle on the bus:

* `settle` is called once per broker cycle with the cycle's FINALs and its
  idle workers (`finished` is the same for one FINAL), in **one**
  transaction:
* a FINAL completes a request running on that worker
  (`work_requests.complete_many`). A FINAL for a request that is already
  finished (sent again after a lost FINAL-ACK, or for an aborted
  request), or that this worker does not run, is acknowledged and ignored.
* each idle worker gets its next request (`assign_many`), marked
  **running** at once (`started_at` set, as `mark_running` does): sending
  REQUEST is the start of the task as far as the server knows. If the
  REQUEST never arrives, the worker is lost (the broker cannot send to it)
  and the request is retried like any running one.
* If the batch fails, it is done again one FINAL and one worker at a time,
  each in its own transaction, so one bad FINAL costs only its own
  acknowledgement (the worker sends it again after its next reconnect).
* `progress` stores log chunks and progress of a request running on that
  worker (a duplicate chunk, by sequence, is ignored).
* `worker_lost` clears `connected_at` and retries (or fails, after
  MAX_AUTOMATIC_RETRIES, with code `worker-lost`) the worker's running
  requests, then wakes the idle workers since the retries are pending.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from debusine import work_requests
from debusine.bus.broker import Final, Settled, WorkerIdentity
from debusine.models import (
    Scope,
    Token,
    Worker,
    WorkRequest,
    WorkRequestStatus,
    Workspace,
)
from debusine.models.auth import hash_token_key
from debusine.orchestration.logs import store_chunk, store_progress
from debusine.orchestration.scheduler import assign_many
from debusine.work_requests import Completion, CompletionOutcome

log = logging.getLogger(__name__)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DatabaseBusHandlers:
    """Each call runs in its own transaction, committed before it returns.

    `on_work_available` (the broker's `notify_work_available`, set by the
    orchestrator) is called after a commit that may have made work
    available to other workers: a completed request unblocking its
    dependents, a lost worker's requests retried.
    """

    def __init__(
        self,
        session_factory: sessionmaker[Session],
        *,
        on_work_available: Callable[[], None] | None = None,
        api_url: str | None = None,
    ) -> None:
        self.session_factory = session_factory
        self.on_work_available = on_work_available
        self.api_url = api_url

    def _work_available(self) -> None:
        if self.on_work_available is not None:
            try:
                self.on_work_available()
            except Exception:
                log.exception("bus: notifying work available failed")

    def authenticate(self, token: str) -> WorkerIdentity | None:
        """The worker whose enabled, unexpired token has this key, if any."""
        now = _now()
        with self.session_factory() as session:
            row = session.execute(
                select(Worker.id, Worker.name, Worker.worker_type, Token)
                .join(Token, Worker.token_id == Token.id)
                .where(Token.hash == hash_token_key(token))
            ).one_or_none()
            if row is None or not row.Token.is_usable(now):
                return None
            return WorkerIdentity(row.id, row.name, str(row.worker_type))

    def worker_ready(self, worker: WorkerIdentity, metadata: dict[str, Any]) -> None:
        now = _now()
        with self.session_factory.begin() as session:
            session.execute(
                update(Worker)
                .where(Worker.id == worker.id)
                .values(
                    connected_at=now,
                    last_heartbeat_at=now,
                    dynamic_metadata=metadata,
                    dynamic_metadata_updated_at=now,
                )
            )

    def worker_lost(self, worker: WorkerIdentity) -> None:
        with self.session_factory.begin() as session:
            session.execute(
                update(Worker).where(Worker.id == worker.id).values(connected_at=None)
            )
            db_worker = session.get(Worker, worker.id)
            if db_worker is None:
                return
            outcome = work_requests.worker_lost(session, db_worker)
        if outcome.retried or outcome.failed or outcome.released:
            log.info(
                "bus: worker %s lost: retried %s, failed %s, released %s",
                worker.name,
                outcome.retried,
                outcome.failed,
                outcome.released,
            )
        if outcome.retried or outcome.released:
            self._work_available()

    def settle(
        self, finals: Sequence[Final], idle: Sequence[WorkerIdentity]
    ) -> Settled:
        """Store the FINALs, then assign the idle workers: one transaction."""
        try:
            with self.session_factory.begin() as session:
                completed = self._complete(session, finals)
                bodies = self._assign(session, idle)
        except Exception:
            log.exception(
                "bus: storing %s results and assigning %s workers failed;"
                " trying one at a time",
                len(finals),
                len(idle),
            )
            return self._settle_one_by_one(finals, idle)
        self._report(finals, completed, bodies)
        return Settled(list(finals), bodies)

    def _settle_one_by_one(
        self, finals: Sequence[Final], idle: Sequence[WorkerIdentity]
    ) -> Settled:
        settled = Settled([], {})
        failed: set[int] = set()
        for final in finals:
            try:
                with self.session_factory.begin() as session:
                    completed = self._complete(session, [final])
            except Exception:
                # Not acknowledged: the worker sends it again after reconnecting.
                log.exception(
                    "bus: storing the result of %s failed", final.work_request_id
                )
                failed.add(final.worker.id)
                continue
            self._report([final], completed, {})
            settled.acknowledged.append(final)
        for worker in idle:
            if worker.id in failed:
                continue  # It still runs that request, as far as we know.
            try:
                with self.session_factory.begin() as session:
                    bodies = self._assign(session, [worker])
            except Exception:
                log.exception("bus: assigning work to %s failed", worker.name)
                continue
            self._report([], work_requests.CompletedMany([], []), bodies)
            settled.assignments.update(bodies)
        return settled

    def _complete(
        self, session: Session, finals: Sequence[Final]
    ) -> work_requests.CompletedMany:
        return work_requests.complete_many(
            session,
            [
                Completion(
                    final.work_request_id,
                    final.worker.id,
                    final.result,
                    final.output_data,
                )
                for final in finals
            ],
        )

    def _assign(
        self, session: Session, idle: Sequence[WorkerIdentity]
    ) -> dict[int, dict[str, Any]]:
        """Assign, mark running and describe the idle workers' next requests."""
        assignments = assign_many(session, [worker.id for worker in idle], start=True)
        if not assignments:
            return {}
        rows = session.execute(
            select(
                WorkRequest.id,
                WorkRequest.worker_id,
                WorkRequest.task_type,
                WorkRequest.task_name,
                WorkRequest.task_data,
                WorkRequest.configured_task_data,
                WorkRequest.dynamic_task_data,
                Workspace.name.label("workspace"),
                Scope.name.label("scope"),
            )
            .join(Workspace, Workspace.id == WorkRequest.workspace_id)
            .join(Scope, Scope.id == Workspace.scope_id)
            .where(WorkRequest.id.in_([a.work_request_id for a in assignments]))
        )
        bodies: dict[int, dict[str, Any]] = {}
        for row in rows:
            body: dict[str, Any] = {
                "work_request_id": row.id,
                "task_type": str(row.task_type.value),
                "task_name": row.task_name,
                "task_data": dict(
                    row.configured_task_data
                    if row.configured_task_data is not None
                    else row.task_data
                ),
                "extra": {
                    "dynamic_task_data": dict(row.dynamic_task_data or {}),
                    "workspace": row.workspace,
                    "scope": row.scope,
                },
            }
            if self.api_url:
                body["api_url"] = self.api_url
            bodies[row.worker_id] = body
        return bodies

    def _report(
        self,
        finals: Sequence[Final],
        completed: work_requests.CompletedMany,
        bodies: dict[int, dict[str, Any]],
    ) -> None:
        """Log what a committed settlement did; wake others if it may matter."""
        for final, outcome in zip(finals, completed.outcomes, strict=True):
            if outcome == CompletionOutcome.COMPLETED:
                log.info(
                    "bus: work request %s completed: %s",
                    final.work_request_id,
                    final.result,
                )
            elif outcome == CompletionOutcome.ALREADY_FINISHED:
                log.info(
                    "bus: FINAL of work request %s from %s again: already finished",
                    final.work_request_id,
                    final.worker.name,
                )
            else:
                log.warning(
                    "bus: ignored FINAL of work request %s from %s: not assigned to it",
                    final.work_request_id,
                    final.worker.name,
                )
        for worker_id, body in bodies.items():
            log.info(
                "bus: work request %s sent to worker %s",
                body["work_request_id"],
                worker_id,
            )
        if completed.may_unblock:
            # Dependents or a workflow may have new work for any idle worker;
            # the workers that finished are offered theirs by the broker.
            self._work_available()

    def _running_here(
        self, session: Session, worker: WorkerIdentity, work_request_id: int
    ) -> bool:
        row = session.execute(
            select(WorkRequest.status, WorkRequest.worker_id).where(
                WorkRequest.id == work_request_id
            )
        ).one_or_none()
        return (
            row is not None
            and row.status == WorkRequestStatus.RUNNING
            and row.worker_id == worker.id
        )

    def progress(
        self, worker: WorkerIdentity, work_request_id: int, body: dict[str, Any]
    ) -> None:
        """Store the log chunk and progress of a request running on `worker`."""
        with self.session_factory.begin() as session:
            if not self._running_here(session, worker, work_request_id):
                log.info(
                    "bus: ignored progress of work request %s from %s:"
                    " not running there",
                    work_request_id,
                    worker.name,
                )
                return
            sequence = int(body["sequence"])
            if body.get("log") is not None:
                store_chunk(
                    session,
                    work_request_id,
                    sequence,
                    str(body["log"]),
                    body.get("log_name"),
                )
            if body.get("progress") is not None:
                store_progress(
                    session, work_request_id, sequence, float(body["progress"])
                )

    def finished(
        self,
        worker: WorkerIdentity,
        work_request_id: int,
        result: str,
        output_data: dict[str, Any],
    ) -> bool:
        """Complete the request; True once stored or ignored as not applying."""
        final = Final(worker, work_request_id, result, output_data)
        return bool(self.settle([final], []).acknowledged)
