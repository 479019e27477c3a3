"""Workflow population speed: `debian_pipeline` over suites of source packages.

Run as `.venv/bin/python bench/workflows.py`. On a throw-away embedded
PostgreSQL (bench/support.py), for a suite of 100 and then of 1,000
source packages built on 4 architectures (amd64, arm64, i386 and all),
it creates one pending `debian_pipeline` root workflow per source package
(sbuild, then qa with autopkgtest, lintian and piuparts, a confirmation
and a package upload), then times their population as the orchestrator
runs it with production.ini's `debusine.orchestrator.populate_processes`
(2): the orchestrator's populate step, each root in its own transaction on
a pool of processes. Figures:

* children created per second at 100 and at 1,000 packages;
* the cost per child at 1,000 over the cost at 100 (it must not grow with
  the number of workflows in the database);
* a no-op re-orchestration of 1,000 workflows (populate again, nothing to
  add) over their first population, both in this one process, once the
  tables are analyzed (as autovacuum does after such growth): what running
  `orchestrate_workflow` again costs compared with the work it would redo.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session, sessionmaker

from bench.support import fresh_database
from debusine import models
from debusine.models import TaskType, WorkRequest
from debusine.orchestration.pool import PopulatePool
from debusine.orchestration.workflows import (
    WorkflowPassReport,
    populate_pending_workflows,
)
from debusine.work_requests import create_work_request
from debusine.workflows import orchestrate_workflow
from debusine.workflows.base import ensure_internal_collection

ARCHITECTURES = ["all", "amd64", "arm64", "i386"]
# BENCH_SIZES=20,200 for a quicker run (the figures are named by size).
SIZES = tuple(int(n) for n in os.environ.get("BENCH_SIZES", "100,1000").split(","))
PROCESSES = 2  # production.ini's debusine.orchestrator.populate_processes
WARM_UP = 20  # pipelines populated first, so that each process has run once


def pipeline_data(source_id: int) -> dict[str, object]:
    return {
        "source_artifact": source_id,
        "vendor": "debian",
        "codename": "trixie",
        "architectures": ARCHITECTURES,
        "enable_confirmation": True,
        "enable_upload": True,
    }


def create_roots(
    session: Session, workspace: models.Workspace, count: int
) -> list[int]:
    """`count` source packages (any all) and a pending pipeline for each."""
    ids = []
    for index in range(count):
        source = models.Artifact(
            workspace=workspace,
            category="debian:source-package",
            data={
                "name": f"pkg{index}",
                "version": "1.0-1",
                "type": "dpkg",
                "dsc_fields": {"Source": f"pkg{index}", "Architecture": "any all"},
            },
        )
        session.add(source)
        session.flush()
        root = create_work_request(
            session,
            workspace=workspace,
            task_type=TaskType.WORKFLOW,
            task_name="debian_pipeline",
            task_data=pipeline_data(source.id),
            created_by=None,
        )
        ensure_internal_collection(root)
        ids.append(root.id)
    return ids


def orchestrate_each(factory: sessionmaker[Session], ids: list[int]) -> float:
    """Seconds to orchestrate each root in its own transaction, in this process."""
    start = time.perf_counter()
    for root_id in ids:
        with factory.begin() as session:
            root = session.get(WorkRequest, root_id)
            assert root is not None
            orchestrate_workflow(root)
    return time.perf_counter() - start


def populate_pending(factory: sessionmaker[Session], pool: PopulatePool) -> float:
    """Seconds for the orchestrator's populate step to take every pending
    workflow (it takes at most a batch at a time)."""
    start = time.perf_counter()
    while True:
        report = WorkflowPassReport()
        populate_pending_workflows(factory, report, pool)
        if report.failed:
            raise SystemExit(f"populate failed for work requests {report.failed}")
        if not report.populated:
            return time.perf_counter() - start


def analyze(factory: sessionmaker[Session]) -> None:
    """Refresh the planner's statistics, as autovacuum would by now.

    The tables grew from nothing to tens of thousands of rows in a minute:
    autovacuum analyzes a table once 10% of it changed, but only on its
    next round (a minute apart by default), so without this the queries
    after the populate would be planned for empty tables.
    """
    with factory.begin() as session:
        session.execute(text("ANALYZE"))


def count_work_requests(factory: sessionmaker[Session]) -> int:
    with factory() as session:
        return int(session.scalar(select(func.count()).select_from(WorkRequest)) or 0)


def new_roots(factory: sessionmaker[Session], count: int) -> list[int]:
    with factory.begin() as session:
        workspace = session.scalars(select(models.Workspace)).one()
        return create_roots(session, workspace, count)


def main() -> None:
    with fresh_database("workflows") as url:
        engine = create_engine(url)
        factory = sessionmaker(engine)
        with factory.begin() as session:
            scope = models.Scope(name="bench", label="Bench")
            workspace = models.Workspace(scope=scope, name="bench", public=True)
            session.add_all([scope, workspace])
        pool = PopulatePool(url, PROCESSES)
        try:
            new_roots(factory, WARM_UP)
            populate_pending(factory, pool)
            per_child: dict[int, float] = {}
            for size in SIZES:
                new_roots(factory, size)
                before = count_work_requests(factory)
                seconds = populate_pending(factory, pool)
                created = count_work_requests(factory) - before
                per_child[size] = seconds / created
                analyze(factory)
                print(
                    f"# {size} pipelines on {PROCESSES} processes: {created} children"
                    f" in {seconds:.2f} s",
                    file=sys.stderr,
                )
                print(
                    f"FIGURE workflow_children_per_s_{size}"
                    f" {created / seconds:.0f} per_s target >=2000"
                )
        finally:
            pool.close()
        small, large = SIZES[0], SIZES[-1]
        ratio = per_child[large] / per_child[small]
        print(
            f"FIGURE workflow_per_child_cost_{large}_vs_{small} {ratio:.2f} ratio"
            " target <=1.3"
        )
        ids = new_roots(factory, large)
        populate_seconds = orchestrate_each(factory, ids)
        analyze(factory)
        before = count_work_requests(factory)
        again = orchestrate_each(factory, ids)
        if count_work_requests(factory) != before:
            raise SystemExit("re-orchestration created work requests: not idempotent")
        print(
            f"# {large} pipelines in this process: populate {populate_seconds:.2f} s,"
            f" re-orchestration {again:.2f} s",
            file=sys.stderr,
        )
        print(
            f"FIGURE workflow_reorchestrate_vs_populate {again / populate_seconds:.3f}"
            " ratio target <=0.05"
        )
        engine.dispose()


if __name__ == "__main__":
    main()
