"""Pending workflows populated on a pool of processes, on a committed database."""

from __future__ import annotations

import multiprocessing
import os
import signal
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import pytest
from sqlalchemy import func, select

from debusine import models
from debusine.models import TaskType, WorkRequest, WorkRequestResult, WorkRequestStatus
from debusine.orchestration.pool import PopulatePool
from debusine.orchestration.workflows import (
    WorkflowPassReport,
    populate_pending_workflows,
)
from debusine.work_requests import create_work_request
from tests.bus.test_handlers_wired import Database
from tests.bus.test_handlers_wired import database as database

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def pool(scratch_database: str) -> Iterator[PopulatePool]:
    pool = PopulatePool(scratch_database, 2)
    yield pool
    pool.close()


def create_workflows(
    database: Database, task_name: str, task_data: dict[str, Any], count: int
) -> list[int]:
    with database.factory.begin() as session:
        workspace = session.get_one(models.Workspace, database.workspace_id)
        return [
            create_work_request(
                session,
                workspace=workspace,
                task_type=TaskType.WORKFLOW,
                task_name=task_name,
                task_data=task_data,
                created_by=None,
            ).id
            for _ in range(count)
        ]


def children_per_workflow(database: Database, ids: list[int]) -> dict[int | None, int]:
    with database.factory() as session:
        rows = session.execute(
            select(WorkRequest.parent_id, func.count())
            .where(WorkRequest.parent_id.in_(ids))
            .group_by(WorkRequest.parent_id)
        )
        return dict(rows.tuples().all())


def test_each_pending_workflow_is_populated_once(
    database: Database, pool: PopulatePool
) -> None:
    ids = create_workflows(database, "noop", {"children": 3}, 12)
    report = WorkflowPassReport()
    populate_pending_workflows(database.factory, report, pool)
    assert sorted(report.populated) == ids
    assert children_per_workflow(database, ids) == dict.fromkeys(ids, 3)
    with database.factory() as session:
        statuses = session.scalars(
            select(WorkRequest.status).where(WorkRequest.id.in_(ids))
        ).all()
    assert set(statuses) == {WorkRequestStatus.RUNNING}
    # Nothing is left pending: a second pass has nothing to do.
    again = WorkflowPassReport()
    populate_pending_workflows(database.factory, again, pool)
    assert again.populated == []


def test_a_workflow_that_fails_in_a_pool_process_is_reported(
    database: Database, pool: PopulatePool
) -> None:
    fine = create_workflows(database, "noop", {"children": 1}, 2)
    # Its source artifact does not exist: populate fails.
    (broken,) = create_workflows(
        database,
        "debian_pipeline",
        {"source_artifact": 999_999, "vendor": "debian", "codename": "sid"},
        1,
    )
    report = WorkflowPassReport()
    populate_pending_workflows(database.factory, report, pool)
    assert report.failed == [broken]
    assert sorted(report.populated) == sorted([*fine, broken])
    with database.factory() as session:
        workflow = session.get_one(WorkRequest, broken)
        assert (workflow.status, workflow.result) == (
            WorkRequestStatus.COMPLETED,
            WorkRequestResult.ERROR,
        )
        assert workflow.output_data is not None
        assert "999999" in workflow.output_data["errors"][0]["message"]


def test_a_pool_that_lost_a_process_starts_new_ones(
    database: Database, pool: PopulatePool
) -> None:
    first = create_workflows(database, "noop", {"children": 1}, 4)
    populate_pending_workflows(database.factory, WorkflowPassReport(), pool)
    assert children_per_workflow(database, first) == dict.fromkeys(first, 1)
    processes = multiprocessing.active_children()
    assert len(processes) == 2
    os.kill(processes[0].pid or 0, signal.SIGKILL)
    processes[0].join(10)
    later = create_workflows(database, "noop", {"children": 1}, 4)
    # The pass that finds the process gone fails; the next one, on new
    # processes, populates what is still pending.
    with pytest.raises(BrokenProcessPool):
        populate_pending_workflows(database.factory, WorkflowPassReport(), pool)
    report = WorkflowPassReport()
    populate_pending_workflows(database.factory, report, pool)
    assert children_per_workflow(database, later) == dict.fromkeys(later, 1)
