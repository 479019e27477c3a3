"""`BusHandlers` backed by the database: the broker's source of truth.

Each call runs in its own transaction, committed before it returns;
anything outside the database (waking other idle workers) happens after
the commit. Every call is idempotent by work request id.

Lifecycle on the bus:

* `next_assignment` picks the worker's next request (`assign_next`) and
  marks it **running** at once (`mark_running`, which sets `started_at`):
  sending REQUEST is the start of the task as far as the server knows. If
  the REQUEST never arrives, the worker is lost (the broker cannot send to
  it) and the request is retried like any running one.
* `progress` stores log chunks and progress of a request running on that
  worker (a duplicate chunk, by sequence, is ignored).
* `finished` completes a request running on that worker. A FINAL for a
  request that is already finished (a FINAL sent again after a lost
  FINAL-ACK, or one for an aborted request), or that this worker does not
  run, is acknowledged and ignored.
* `worker_lost` clears `connected_at` and retries (or fails, after
  MAX_AUTOMATIC_RETRIES, with code `worker-lost`) the worker's running
  requests, then wakes the idle workers since the retries are pending.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from debusine import work_requests
from debusine.bus.broker import WorkerIdentity
from debusine.models import Token, Worker, WorkRequest, WorkRequestStatus
from debusine.models.auth import hash_token_key
from debusine.orchestration.logs import store_chunk, store_progress
from debusine.orchestration.scheduler import assign_next

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

    def next_assignment(self, worker: WorkerIdentity) -> dict[str, Any] | None:
        """Assign, mark running and describe the worker's next request."""
        with self.session_factory.begin() as session:
            db_worker = session.get(Worker, worker.id)
            if db_worker is None:
                return None
            work_request = assign_next(session, db_worker)
            if work_request is None:
                return None
            work_requests.mark_running(session, work_request, db_worker)
            workspace = work_request.workspace
            body: dict[str, Any] = {
                "work_request_id": work_request.id,
                "task_type": str(work_request.task_type.value),
                "task_name": work_request.task_name,
                "task_data": dict(
                    work_request.configured_task_data
                    if work_request.configured_task_data is not None
                    else work_request.task_data
                ),
                "extra": {
                    "dynamic_task_data": dict(work_request.dynamic_task_data or {}),
                    "workspace": workspace.name,
                    "scope": workspace.scope.name,
                },
            }
            if self.api_url:
                body["api_url"] = self.api_url
        log.info(
            "bus: work request %s sent to %s", body["work_request_id"], worker.name
        )
        return body

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
    ) -> None:
        """Complete the request; ignore a FINAL that does not apply (logged)."""
        with self.session_factory.begin() as session:
            work_request = session.get(
                WorkRequest, work_request_id, with_for_update=True
            )
            if work_request is None or work_request.worker_id != worker.id:
                log.warning(
                    "bus: ignored FINAL of work request %s from %s: not assigned to it",
                    work_request_id,
                    worker.name,
                )
                return
            changed = work_requests.mark_completed(
                session, work_request, result, output_data
            )
            # Only dependents or a workflow can have new work now; the worker
            # that finished is offered its next assignment by the broker.
            may_unblock = work_request.parent_id is not None or bool(
                work_request.reverse_dependencies
            )
        if not changed:
            log.info(
                "bus: FINAL of work request %s from %s again: already finished",
                work_request_id,
                worker.name,
            )
            return
        log.info("bus: work request %s completed: %s", work_request_id, result)
        if may_unblock:
            # Its dependents may now be pending, for any idle worker.
            self._work_available()
