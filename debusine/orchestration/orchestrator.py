"""The orchestrator: the bus broker and the periodic loop, one per deployment.

Only one orchestrator is active at a time. Each candidate (a
`debusine-server` with `debusine.orchestrator = true`) keeps one dedicated
database connection open and tries a session-level advisory lock
(`pg_try_advisory_lock(ADVISORY_LOCK_KEY)`) on it. The one that gets it is
active; the others are hot standbys that try again every
`debusine.orchestrator.standby_retry_seconds` (default 2). When the active
one dies its connection closes, PostgreSQL releases the lock, and a standby
takes over.

Once active, the orchestrator:

* loads the bus key pair under `debusine.data_dir` (creating it if missing),
* marks every worker disconnected (the broker is stateless: live workers
  send READY again to the new broker); work still running on a worker that
  has not come back after `debusine.orchestrator.lost_worker_grace_seconds`
  (default 90) is retried as for a lost worker,
* starts the `Broker` on `debusine.bus.bind` with `DatabaseBusHandlers`,
* starts an APScheduler `BackgroundScheduler` running a fallback tick every
  `debusine.orchestrator.tick_seconds` (default 5) that offers work to
  idle workers, and `delete_expired` daily,
* runs workflow passes (`debusine.orchestration.workflows`) in a thread of
  their own, whenever `notify_work_available` is called and at least every
  tick, populating pending workflows on
  `debusine.orchestrator.populate_processes` processes (default 1: this one;
  see debusine.orchestration.pool), each pass followed by the wait-task step
  (`debusine.orchestration.wait_tasks`: start wait tasks, complete due
  delays) and the server-task step (`debusine.orchestration.server_tasks`,
  each task in its own transaction).

A standby on another machine needs the same bus key pair in its
`debusine.data_dir` (workers know one server public key) and a
`debusine.bus.bind` the workers can reach there (workers reconnect to the
address they are configured with: put both behind one name or address).

Views tell the running orchestrator about new work, or about a task to
stop, after their transaction commits: `after_commit_notify(tm)` and
`after_commit_abort(tm, work_request_id, worker_id)`. When no orchestrator
is active in this process these do nothing; the periodic tick of the active
one (in another process) picks the work up.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, select, text, update
from sqlalchemy.orm import Session, sessionmaker

from debusine import work_requests
from debusine.bus.broker import Broker
from debusine.bus.handlers import DatabaseBusHandlers
from debusine.bus.keys import ensure_server_keys, load_server_keys
from debusine.bus.messages import DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_LIVENESS
from debusine.config import as_bool
from debusine.models import Worker, WorkRequest, WorkRequestStatus
from debusine.orchestration.pool import PopulatePool
from debusine.orchestration.server_tasks import (
    connect_server_worker,
    run_pending_server_tasks,
)
from debusine.orchestration.wait_tasks import run_wait_tasks
from debusine.orchestration.workflows import WorkflowPassReport, run_workflow_pass

log = logging.getLogger(__name__)

# pg_try_advisory_lock key: "debusine" orchestrator (any constant, shared
# by every process of a deployment).
ADVISORY_LOCK_KEY = 0x0DEB_0511_0E00_0001
DEFAULT_BIND = "tcp://127.0.0.1:5555"
DEFAULT_TICK_SECONDS = 5.0
DEFAULT_STANDBY_RETRY_SECONDS = 2.0
DEFAULT_EXPIRY_HOUR = 3
# Workers reconnect with a back-off of up to 32 s (PROTOCOL.md).
DEFAULT_LOST_WORKER_GRACE_SECONDS = 90.0

_current: Orchestrator | None = None
_current_lock = threading.Lock()


# -- what views use ------------------------------------------------------------


def current() -> Orchestrator | None:
    """The orchestrator started in this process, if any."""
    return _current


def notify_work_available() -> None:
    """Offer work to idle workers now, if this process runs the broker."""
    orchestrator = _current
    if orchestrator is not None:
        orchestrator.notify_work_available()


def abort_on_worker(work_request_id: int, worker_id: int) -> None:
    """Tell the worker to stop the task, if this process runs the broker."""
    orchestrator = _current
    if orchestrator is not None:
        orchestrator.abort(work_request_id, worker_id)


def _add_after_commit(transaction_manager: Any, callback: Any) -> None:
    """Run `callback()` after the current transaction commits successfully.

    `transaction_manager` is a `transaction` manager (`request.tm`) or a
    transaction itself.
    """
    if hasattr(transaction_manager, "addAfterCommitHook"):
        current_transaction = transaction_manager
    else:
        current_transaction = transaction_manager.get()

    def hook(success: bool) -> None:
        if success:
            try:
                callback()
            except Exception:
                log.exception("orchestrator: after-commit notification failed")

    current_transaction.addAfterCommitHook(hook)


def after_commit_notify(transaction_manager: Any) -> None:
    """After the commit, tell the running orchestrator that there is new work.

    A no-op (after the commit) when no orchestrator runs in this process.
    """
    _add_after_commit(transaction_manager, notify_work_available)


def after_commit_abort(
    transaction_manager: Any, work_request_id: int, worker_id: int
) -> None:
    """After the commit, send ABORT for the work request to its worker."""
    _add_after_commit(
        transaction_manager, lambda: abort_on_worker(work_request_id, worker_id)
    )


# -- the orchestrator -------------------------------------------------------------


class Orchestrator:
    """See the module docstring. `start()` returns at once; `stop()` joins."""

    def __init__(
        self,
        settings: Mapping[str, Any],
        session_factory: sessionmaker[Session],
        *,
        engine: Engine | None = None,
    ) -> None:
        self.settings = settings
        self.session_factory = session_factory
        bound = engine or session_factory.kw.get("bind")
        if not isinstance(bound, Engine):
            raise ValueError(
                "the orchestrator needs a session factory bound to an engine"
            )
        self.engine: Engine = bound
        self.bind = str(settings.get("debusine.bus.bind") or DEFAULT_BIND)
        self.data_dir = str(settings.get("debusine.data_dir") or "var")
        self.heartbeat_interval = float(
            settings.get("debusine.bus.heartbeat_interval")
            or DEFAULT_HEARTBEAT_INTERVAL
        )
        self.liveness = int(settings.get("debusine.bus.liveness") or DEFAULT_LIVENESS)
        self.tick_seconds = float(
            settings.get("debusine.orchestrator.tick_seconds") or DEFAULT_TICK_SECONDS
        )
        self.standby_retry_seconds = float(
            settings.get("debusine.orchestrator.standby_retry_seconds")
            or DEFAULT_STANDBY_RETRY_SECONDS
        )
        self.lost_worker_grace_seconds = float(
            settings.get("debusine.orchestrator.lost_worker_grace_seconds")
            or DEFAULT_LOST_WORKER_GRACE_SECONDS
        )
        self.populate_processes = _positive_int(
            settings, "debusine.orchestrator.populate_processes", 1
        )
        self.populate_pool: PopulatePool | None = None
        self._activated_at: float | None = None
        self.expiry_enabled = as_bool(
            settings.get("debusine.orchestration.expiry", "true")
        )
        self.handlers = DatabaseBusHandlers(
            session_factory,
            on_work_available=self.notify_work_available,
            api_url=str(settings.get("debusine.api_url") or "") or None,
        )
        self.broker: Broker | None = None
        self.scheduler: Any = None
        self.active = threading.Event()
        self._lock_connection: Connection | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._workflows_wanted = threading.Event()
        self._workflows_stop = threading.Event()
        self._workflow_thread: threading.Thread | None = None

    # -- life cycle ------------------------------------------------------------

    def start(self) -> Orchestrator:
        """Try for the lock in a background thread; become active on success."""
        global _current
        with _current_lock:
            _current = self
        self._thread = threading.Thread(
            target=self._run, name="debusine-orchestrator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop the loop and the broker, and release the lock."""
        global _current
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        with _current_lock:
            if _current is self:
                _current = None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                if self._try_lock():
                    self._serve()
                else:
                    self._stop.wait(self.standby_retry_seconds)
        finally:
            self._close_lock_connection()

    def _serve(self) -> None:
        """Active until stopped or the lock's connection is lost."""
        try:
            log.info("orchestrator: active (advisory lock held)")
            self._activate()
            self.active.set()
            # A lost connection is a lost lock: another server may take over.
            while not self._stop.wait(self.standby_retry_seconds):
                if not self._still_holding():
                    log.error(
                        "orchestrator: lost the database connection holding"
                        " the lock; back to standby"
                    )
                    break
        except Exception:
            log.exception("orchestrator: failed; back to standby")
            self._stop.wait(self.standby_retry_seconds)
        finally:
            self._deactivate()

    def _try_lock(self) -> bool:
        try:
            if self._lock_connection is None:
                self._lock_connection = self.engine.connect()
                # Autocommit: the lock is session-level, no transaction kept open.
                self._lock_connection = self._lock_connection.execution_options(
                    isolation_level="AUTOCOMMIT"
                )
            got = self._lock_connection.scalar(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
            )
        except Exception:
            log.exception("orchestrator: cannot try the advisory lock")
            self._close_lock_connection()
            return False
        if not got:
            log.debug("orchestrator: standby (another holds the lock)")
        return bool(got)

    def _still_holding(self) -> bool:
        connection = self._lock_connection
        if connection is None:
            return False
        try:
            connection.scalar(text("SELECT 1"))
        except Exception:
            return False
        return True

    def _close_lock_connection(self) -> None:
        connection, self._lock_connection = self._lock_connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                # Closing the session's connection releases the lock; it is
                # invalidated so the pool does not hand out a locked session.
                connection.invalidate()
                connection.close()

    def _activate(self) -> None:
        ensure_server_keys(self.data_dir)
        public, secret = load_server_keys(self.data_dir)
        with self.session_factory.begin() as session:
            session.execute(
                update(Worker)
                .where(Worker.connected_at.is_not(None))
                .values(connected_at=None)
            )
        self.broker = Broker(
            self.bind,
            self.handlers,
            server_secret_key=secret,
            server_public_key=public,
            heartbeat_interval=self.heartbeat_interval,
            liveness=self.liveness,
        ).start()
        self._activated_at = time.monotonic()
        log.info("orchestrator: bus broker on %s", self.broker.endpoint)
        with self.session_factory.begin() as session:
            # Server tasks a previous orchestrator left running run again.
            connect_server_worker(session)
        if self.populate_processes > 1:
            self.populate_pool = PopulatePool(
                self.engine.url.render_as_string(hide_password=False),
                self.populate_processes,
            )
            log.info(
                "orchestrator: populating workflows on %d processes",
                self.populate_processes,
            )
        self._start_scheduler()
        self._start_workflow_loop()

    def _start_scheduler(self) -> None:
        from apscheduler.schedulers.background import (  # type: ignore[import-untyped]
            BackgroundScheduler,
        )

        scheduler = BackgroundScheduler(timezone=dt.UTC)
        scheduler.add_job(
            self.tick,
            "interval",
            seconds=self.tick_seconds,
            id="tick",
            max_instances=1,
            coalesce=True,
        )
        if self.expiry_enabled:
            scheduler.add_job(
                self.expire,
                "cron",
                hour=DEFAULT_EXPIRY_HOUR,
                id="delete-expired",
                max_instances=1,
                coalesce=True,
            )
        scheduler.start()
        self.scheduler = scheduler

    def _deactivate(self) -> None:
        self.active.clear()
        self._activated_at = None
        self._stop_workflow_loop()
        if self.populate_pool is not None:
            with contextlib.suppress(Exception):
                self.populate_pool.close()
            self.populate_pool = None
        if self.scheduler is not None:
            with contextlib.suppress(Exception):
                self.scheduler.shutdown(wait=False)
            self.scheduler = None
        if self.broker is not None:
            with contextlib.suppress(Exception):
                self.broker.stop()
            self.broker = None
        self._close_lock_connection()

    # -- jobs and notifications -----------------------------------------------------

    @property
    def endpoint(self) -> str | None:
        broker = self.broker
        return broker.endpoint if broker is not None else None

    def notify_work_available(self) -> None:
        broker = self.broker
        if broker is not None:
            broker.notify_work_available()
        # New or finished work may let workflows move on.
        self.wake_workflows()

    def abort(self, work_request_id: int, worker_id: int) -> None:
        broker = self.broker
        if broker is not None:
            broker.abort(work_request_id, worker_id)
            # The worker is idle again: offer it (and others) work.
            broker.notify_work_available()

    def tick(self) -> None:
        """The periodic fallback: work created by another process is offered.

        Once the grace period after activation has passed (time for the
        workers of a previous broker to come back), work still running on
        a disconnected worker is treated as lost: retried or failed.
        """
        activated_at = self._activated_at
        if (
            activated_at is not None
            and time.monotonic() - activated_at >= self.lost_worker_grace_seconds
        ):
            self.reap_disconnected_workers()
        self.notify_work_available()

    # -- workflows (debusine.orchestration.workflows) ------------------------------
    #
    # A thread of its own runs workflow passes: when woken (new work,
    # completions: notify_work_available) and at least every tick.

    def _start_workflow_loop(self) -> None:
        self._workflows_stop.clear()
        self._workflows_wanted.set()  # a first pass at once
        self._workflow_thread = threading.Thread(
            target=self._workflow_loop, name="debusine-workflows", daemon=True
        )
        self._workflow_thread.start()

    def _stop_workflow_loop(self) -> None:
        self._workflows_stop.set()
        self._workflows_wanted.set()
        thread, self._workflow_thread = self._workflow_thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(10)

    def wake_workflows(self) -> None:
        self._workflows_wanted.set()

    def _workflow_loop(self) -> None:
        while not self._workflows_stop.is_set():
            self._workflows_wanted.wait(self.tick_seconds)
            if self._workflows_stop.is_set():
                break
            self._workflows_wanted.clear()
            self.run_workflows()

    def run_workflows(self) -> WorkflowPassReport | None:
        """One workflow pass; then workers hear of new work and aborts."""
        try:
            report = run_workflow_pass(self.session_factory, self.populate_pool)
        except Exception:
            log.exception("orchestrator: workflow pass failed")
            return None
        try:
            # Wait tasks the pass made pending start now; a completed one
            # (a due delay) lets its workflow move on in another pass at once.
            if run_wait_tasks(self.session_factory).changed:
                self.wake_workflows()
        except Exception:
            log.exception("orchestrator: wait-task step failed")
        try:
            if run_pending_server_tasks(self.session_factory, self.settings):
                self.wake_workflows()  # their completion may let workflows go on
        except Exception:
            log.exception("orchestrator: server-task step failed")
        broker = self.broker
        if broker is not None:
            for work_request_id, worker_id in report.to_abort_on_workers:
                broker.abort(work_request_id, worker_id)
            if report.changed:
                broker.notify_work_available()
        return report

    def reap_disconnected_workers(self) -> list[int]:
        """`worker_lost` for each disconnected worker with running work."""
        with self.session_factory() as session:
            worker_ids = list(
                session.scalars(
                    select(WorkRequest.worker_id)
                    .join(Worker, Worker.id == WorkRequest.worker_id)
                    .where(
                        WorkRequest.status == WorkRequestStatus.RUNNING,
                        Worker.connected_at.is_(None),
                    )
                    .distinct()
                )
            )
        reaped = []
        for worker_id in worker_ids:
            if worker_id is None:
                continue
            with self.session_factory.begin() as session:
                worker = session.scalars(
                    select(Worker).where(Worker.id == worker_id).with_for_update()
                ).one_or_none()
                if worker is None or worker.connected_at is not None:
                    continue
                outcome = work_requests.worker_lost(session, worker)
            log.info(
                "orchestrator: worker %s did not come back: retried %s, failed %s",
                worker_id,
                outcome.retried,
                outcome.failed,
            )
            reaped.append(worker_id)
        return reaped

    def expire(self) -> None:
        from debusine.orchestration.expiry import (
            delete_expired,
            remove_after_commit,
            stale_upload_age,
        )

        with self.session_factory.begin() as session:
            report = delete_expired(
                session, stale_upload_age=stale_upload_age(self.settings)
            )
        remove_after_commit(report)
        log.info(
            "orchestrator: expired %d artifacts, %d files",
            len(report.artifacts),
            len(report.files),
        )


def _positive_int(settings: Mapping[str, Any], name: str, default: int) -> int:
    value = settings.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number < 1:
        raise ValueError(f"{name} must be a whole number of at least 1, not {value!r}")
    return number


def orchestrator_enabled(settings: Mapping[str, Any]) -> bool:
    return as_bool(settings.get("debusine.orchestrator"))


__all__ = [
    "ADVISORY_LOCK_KEY",
    "Orchestrator",
    "abort_on_worker",
    "after_commit_abort",
    "after_commit_notify",
    "current",
    "notify_work_available",
    "orchestrator_enabled",
]
