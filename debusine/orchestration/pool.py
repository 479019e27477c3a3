"""Populating pending workflows on several processes at once.

Populating a workflow is mostly Python (the workflow code, validating each
child's task data, the ORM): in one process it uses one core, however many
the orchestrator's machine has, and a suite of a thousand pipelines
submitted at once waits for them one after the other. With
`debusine.orchestrator.populate_processes` above 1, the orchestrator
starts that many worker processes (spawned: the server's threads are not
copied), each with its own database connection, and hands them the pending
workflows of each pass in small batches. Each workflow is still populated
in its own transaction, exactly as in the orchestrator's own process
(`debusine.orchestration.workflows.populate_workflows`); rows are taken
with `FOR UPDATE SKIP LOCKED`, so no workflow is populated twice.
"""

from __future__ import annotations

import logging
import math
import multiprocessing
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from sqlalchemy.orm import Session, sessionmaker

from debusine.db.session import engine_from_settings, session_factory
from debusine.orchestration.workflows import WorkflowPassReport, populate_workflows

log = logging.getLogger(__name__)

# Batches per process and pass: small enough that a process that drew slow
# workflows does not hold the others back, large enough to be worth a trip.
BATCHES_PER_PROCESS = 8

# The session factory of a pool process (set by _start_process).
_factory: sessionmaker[Session] | None = None


def _start_process(database_url: str, log_level: int) -> None:
    global _factory
    logging.basicConfig(level=log_level)
    # Configured as the server's own engine, with the one connection it needs.
    _factory = session_factory(
        engine_from_settings(
            {
                "sqlalchemy.url": database_url,
                "sqlalchemy.pool_size": 1,
                "sqlalchemy.max_overflow": 0,
            }
        )
    )


def _populate(ids: list[int]) -> WorkflowPassReport:
    assert _factory is not None, "not a pool process"
    report = WorkflowPassReport()
    populate_workflows(_factory, ids, report)
    return report


class PopulatePool:
    """`processes` worker processes populating workflows; `close()` them."""

    def __init__(self, database_url: str, processes: int) -> None:
        if processes < 2:
            raise ValueError("a populate pool needs at least 2 processes")
        self.processes = processes
        self._database_url = database_url
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.processes,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_start_process,
            initargs=(self._database_url, logging.getLogger().getEffectiveLevel()),
        )

    def populate(self, ids: Sequence[int], report: WorkflowPassReport) -> None:
        """Populate the pending workflows `ids` (in about that order), each
        in its own transaction; what was done goes into `report`."""
        if not ids:
            return
        size = max(1, math.ceil(len(ids) / (self.processes * BATCHES_PER_PROCESS)))
        batches = [list(ids[i : i + size]) for i in range(0, len(ids), size)]
        try:
            for done in self._executor.map(_populate, batches):
                report.merge(done)
        except BrokenProcessPool:
            # A process died (killed, out of memory): what it had not
            # committed is still pending, for the next pass, on new processes.
            log.warning("populate pool: a process died; starting new ones")
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()
            raise

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


__all__ = ["PopulatePool"]
