"""The orchestrator's workflow steps, on the real database."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

import pytest
from marshmallow import fields
from sqlalchemy import Connection
from sqlalchemy.orm import Session, sessionmaker

from debusine import models
from debusine.models import (
    TaskType,
    WorkflowRuntimeStatus,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.orchestration import orchestrator as orchestrator_module
from debusine.orchestration.orchestrator import Orchestrator
from debusine.orchestration.workflows import run_workflow_pass
from debusine.tasks import TaskDataSchema
from debusine.work_requests import (
    abort,
    create_work_request,
    mark_completed,
    mark_running,
    retry,
)
from debusine.workflows import Workflow, orchestrate_workflow
from tests import factories
from tests.bus.conftest import wait_for
from tests.bus.test_handlers_wired import make_database

PENDING = WorkRequestStatus.PENDING
RUNNING = WorkRequestStatus.RUNNING
BLOCKED = WorkRequestStatus.BLOCKED
COMPLETED = WorkRequestStatus.COMPLETED
ABORTED = WorkRequestStatus.ABORTED


class BrokenData(TaskDataSchema):
    fail_in = fields.String(required=True)


class BrokenWorkflow(Workflow):
    """Test workflow whose code fails where `fail_in` says."""

    TASK_NAME = "test_broken"
    SCHEMA = BrokenData

    def populate(self) -> None:
        self.work_request_ensure_child(
            task_name="noop", task_data={}, workflow_data={"step": "first"}
        )
        if self.data["fail_in"] == "populate":
            raise KeyError("architecture")
        callback = self.create_workflow_callback("explode", "Explode")
        self.create_synchronization_point("sync", "Sync")
        assert callback.status == PENDING

    def callback_explode(self) -> None:
        self.work_request_ensure_child(
            task_name="noop", task_data={}, workflow_data={"step": "second"}
        )
        raise ValueError("no suite called 'bookwurm'")


class NestedWorkflow(Workflow):
    """Test workflow with a noop sub-workflow."""

    TASK_NAME = "test_nested"
    SCHEMA = TaskDataSchema

    def populate(self) -> None:
        self.work_request_ensure_child(
            task_type=TaskType.WORKFLOW,
            task_name="noop",
            task_data={"children": 1},
            workflow_data={"step": "sub", "display_name": "Sub"},
            relative_priority=2,
        )


@pytest.fixture
def session_factory(connection: Connection) -> sessionmaker[Session]:
    """Sessions for the orchestrator: their commits are savepoints of the test."""
    return sessionmaker(bind=connection, join_transaction_mode="create_savepoint")


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory()


def start(
    db_session: Session,
    workspace: models.Workspace,
    task_name: str,
    task_data: dict[str, Any],
) -> WorkRequest:
    workflow = create_work_request(
        db_session,
        workspace=workspace,
        task_type=TaskType.WORKFLOW,
        task_name=task_name,
        task_data=task_data,
        created_by=factories.UserFactory(),
    )
    db_session.flush()
    return workflow


def run_pass(db_session: Session, factory: sessionmaker[Session]) -> Any:
    db_session.flush()
    report = run_workflow_pass(factory)
    db_session.expire_all()
    return report


def children(workflow: WorkRequest) -> dict[str, WorkRequest]:
    return {c.workflow_data["step"]: c for c in workflow.children}


def test_a_workflow_runs_to_success(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    workflow = start(db_session, workspace, "noop", {"children": 2, "callback": True})
    report = run_pass(db_session, session_factory)
    assert report.populated == [workflow.id]
    assert workflow.status == RUNNING
    assert workflow.workflow_runtime_status == WorkflowRuntimeStatus.PENDING
    steps = children(workflow)
    assert {s: c.status for s, c in steps.items()} == {
        "noop-0": PENDING,
        "noop-1": PENDING,
        "summary": BLOCKED,
    }
    # Nothing to do: nothing changes.
    again = run_pass(db_session, session_factory)
    assert not again.changed
    worker = factories.WorkerFactory()
    mark_running(db_session, steps["noop-0"], worker)
    run_pass(db_session, session_factory)
    assert workflow.workflow_runtime_status == WorkflowRuntimeStatus.RUNNING
    mark_completed(db_session, steps["noop-0"], WorkRequestResult.SUCCESS)
    mark_completed(db_session, steps["noop-1"], WorkRequestResult.SUCCESS)
    report = run_pass(db_session, session_factory)
    assert report.callbacks == [steps["summary"].id]
    assert steps["summary"].result == WorkRequestResult.SUCCESS
    summary = children(workflow)["summary-noop"]
    assert summary.status == PENDING
    assert workflow.status == RUNNING
    mark_completed(db_session, summary, WorkRequestResult.SUCCESS)
    report = run_pass(db_session, session_factory)
    assert report.finished == [workflow.id]
    assert (workflow.status, workflow.result) == (COMPLETED, WorkRequestResult.SUCCESS)
    assert workflow.workflow_runtime_status == WorkflowRuntimeStatus.COMPLETED
    assert workflow.workflow_last_activity_at is not None


@pytest.mark.parametrize(
    ("allow_failure", "expected"),
    [(False, WorkRequestResult.FAILURE), (True, WorkRequestResult.SUCCESS)],
)
def test_a_failed_child_fails_the_workflow_unless_allowed(
    db_session: Session,
    session_factory: sessionmaker[Session],
    workspace: Any,
    allow_failure: bool,
    expected: WorkRequestResult,
) -> None:
    workflow = start(
        db_session,
        workspace,
        "noop",
        {"children": 2, "failing_children": [1], "allow_failure": allow_failure},
    )
    run_pass(db_session, session_factory)
    steps = children(workflow)
    mark_completed(db_session, steps["noop-0"], WorkRequestResult.SUCCESS)
    mark_completed(db_session, steps["noop-1"], WorkRequestResult.FAILURE)
    run_pass(db_session, session_factory)
    assert (workflow.status, workflow.result) == (COMPLETED, expected)


def test_an_aborted_child_aborts_the_workflow_but_a_retried_one_does_not(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    retried = start(db_session, workspace, "noop", {"children": 1})
    aborted = start(db_session, workspace, "noop", {"children": 1})
    run_pass(db_session, session_factory)
    old = children(retried)["noop-0"]
    abort(db_session, old, None)
    new = retry(db_session, old)
    mark_completed(db_session, new, WorkRequestResult.SUCCESS)
    abort(db_session, children(aborted)["noop-0"], None)
    run_pass(db_session, session_factory)
    assert (retried.status, retried.result) == (COMPLETED, WorkRequestResult.SUCCESS)
    assert aborted.status == ABORTED
    assert aborted.workflow_runtime_status == WorkflowRuntimeStatus.ABORTED


def test_an_error_in_populate_completes_the_workflow_as_error(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    workflow = start(db_session, workspace, "test_broken", {"fail_in": "populate"})
    report = run_pass(db_session, session_factory)
    assert report.failed == [workflow.id]
    assert (workflow.status, workflow.result) == (COMPLETED, WorkRequestResult.ERROR)
    assert workflow.output_data is not None
    assert workflow.output_data["errors"] == [
        {
            "code": "orchestrator-failed",
            "message": "KeyError in workflow code: 'architecture'",
        }
    ]
    # What populate did before failing was rolled back.
    assert workflow.children == []
    assert workflow.workflow_runtime_status == WorkflowRuntimeStatus.COMPLETED


def test_an_error_in_a_callback_fails_it_and_its_workflow(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    workflow = start(db_session, workspace, "test_broken", {"fail_in": "callback"})
    report = run_pass(db_session, session_factory)
    steps = children(workflow)
    # The synchronization point completed; the callback ran and failed.
    assert report.synchronization_points == [steps["sync"].id]
    assert steps["sync"].result == WorkRequestResult.SUCCESS
    callback = steps["explode"]
    assert report.callbacks == [callback.id]
    assert callback.result == WorkRequestResult.ERROR
    message = "ValueError in workflow code: no suite called 'bookwurm'"
    assert callback.output_data is not None
    assert callback.output_data["errors"] == [
        {"code": "orchestrator-failed", "message": message}
    ]
    assert (workflow.status, workflow.result) == (COMPLETED, WorkRequestResult.ERROR)
    assert workflow.output_data is not None
    assert workflow.output_data["errors"] == [
        {
            "code": "orchestrator-failed",
            "message": f"Callback {callback.id} failed: {message}",
        }
    ]
    # The unfinished child was aborted; the callback's own child rolled back.
    assert steps["first"].status == ABORTED
    assert "second" not in children(workflow)


def test_an_error_aborts_children_running_on_workers(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    workflow = start(db_session, workspace, "test_broken", {"fail_in": "callback"})
    # Populate only; a worker starts the first child before the callback runs.
    orchestrate_workflow(workflow)
    steps = children(workflow)
    worker = factories.WorkerFactory()
    mark_running(db_session, steps["first"], worker)
    report = run_pass(db_session, session_factory)
    assert report.to_abort_on_workers == [(steps["first"].id, worker.id)]
    assert steps["first"].status == ABORTED


def test_sub_workflows_are_populated_and_finish_before_their_parent(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    workflow = start(db_session, workspace, "test_nested", {})
    workflow.priority_base = 10
    report = run_pass(db_session, session_factory)
    sub = children(workflow)["sub"]
    assert report.populated == [workflow.id, sub.id]
    assert (sub.status, sub.priority_base) == (RUNNING, 12)
    (leaf,) = sub.children
    assert (leaf.status, leaf.priority_base) == (PENDING, 12)
    assert workflow.workflow_runtime_status == WorkflowRuntimeStatus.PENDING
    mark_completed(db_session, leaf, WorkRequestResult.SUCCESS)
    report = run_pass(db_session, session_factory)
    assert report.finished == [sub.id, workflow.id]
    assert (workflow.status, workflow.result) == (COMPLETED, WorkRequestResult.SUCCESS)


def test_an_unknown_workflow_is_an_error_not_a_crash(
    db_session: Session, session_factory: sessionmaker[Session], workspace: Any
) -> None:
    broken = factories.WorkRequestFactory(
        workspace=workspace, task_type=TaskType.WORKFLOW, task_name="gone"
    )
    fine = start(db_session, workspace, "noop", {"children": 0})
    run_pass(db_session, session_factory)
    assert (broken.status, broken.result) == (COMPLETED, WorkRequestResult.ERROR)
    assert broken.output_data is not None
    assert broken.output_data["errors"][0]["code"] == "configure-failed"
    assert "gone" in broken.output_data["errors"][0]["message"]
    assert (fine.status, fine.result) == (COMPLETED, WorkRequestResult.SUCCESS)


# -- in the running orchestrator ------------------------------------------------


@pytest.mark.timeout(90)
def test_the_orchestrator_runs_workflows_when_notified(
    scratch_database: str, tmp_path: Path
) -> None:
    """A committed workflow is populated and finished by the live orchestrator.

    The tick is long: only the notifications (as views send after commit)
    can make it this quick.
    """
    database = make_database(scratch_database)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    orchestrator = Orchestrator(
        {
            "debusine.data_dir": str(tmp_path / "data"),
            "debusine.bus.bind": f"tcp://127.0.0.1:{port}",
            "debusine.orchestrator.tick_seconds": "60",
            "debusine.orchestrator.standby_retry_seconds": "0.2",
        },
        database.factory,
    ).start()
    try:
        assert orchestrator.active.wait(10)
        with database.factory.begin() as session:
            workspace = session.get_one(models.Workspace, database.workspace_id)
            workflow_id = create_work_request(
                session,
                workspace=workspace,
                task_type=TaskType.WORKFLOW,
                task_name="noop",
                task_data={"children": 2},
                created_by=None,
            ).id
        orchestrator_module.notify_work_available()

        def status() -> tuple[WorkRequestStatus, WorkRequestResult, list[int]]:
            with database.factory() as session:
                workflow = session.get_one(WorkRequest, workflow_id)
                return (
                    workflow.status,
                    workflow.result,
                    [c.id for c in workflow.children],
                )

        wait_for(lambda: status()[0] == RUNNING, timeout=10)
        with database.factory.begin() as session:
            for child_id in status()[2]:
                mark_completed(
                    session, session.get_one(WorkRequest, child_id), "success"
                )
        orchestrator_module.notify_work_available()
        wait_for(lambda: status()[0] == COMPLETED, timeout=10)
        assert status()[1] == WorkRequestResult.SUCCESS
    finally:
        orchestrator.stop()
        database.engine.dispose()
