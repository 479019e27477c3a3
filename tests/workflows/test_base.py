"""The Workflow base class and orchestrate_workflow, on the real database."""

from __future__ import annotations

from typing import Any

import pytest
from marshmallow import fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.models import (
    CollectionItem,
    TaskType,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.tasks import TaskDataError, TaskDataSchema, get_task_class
from debusine.work_requests import mark_completed, retry
from debusine.workflows import (
    Workflow,
    WorkflowRunError,
    get_workflow,
    orchestrate_workflow,
)
from debusine.workflows.noop import NoopWorkflow
from debusine.workflows.package_publish import PackagePublishWorkflow
from tests import factories
from tests.workflows.conftest import MakeWorkflow

PENDING = WorkRequestStatus.PENDING
BLOCKED = WorkRequestStatus.BLOCKED
RUNNING = WorkRequestStatus.RUNNING
COMPLETED = WorkRequestStatus.COMPLETED


class PromiseData(TaskDataSchema):
    names = fields.List(fields.String(), required=True)
    consumer_lookup = fields.Raw(load_default=None)
    label = fields.String(load_default="x")


class PromiseWorkflow(Workflow):
    """Test workflow: one producer per name, promising an artifact each."""

    TASK_NAME = "test_promises"
    SCHEMA = PromiseData

    def populate(self) -> None:
        for name in self.data["names"]:
            producer = self.work_request_ensure_child(
                task_name="noop",
                task_data={"result": True},
                workflow_data={"display_name": f"produce {name}", "step": name},
            )
            self.provides_artifact(
                producer, "debusine:test", name, data={"label": self.data["label"]}
            )
        if self.data["consumer_lookup"] is not None:
            consumer = self.work_request_ensure_child(
                task_name="noop",
                task_data={"result": True},
                workflow_data={"display_name": "consume", "step": "consume"},
            )
            self.requires_artifact(consumer, self.data["consumer_lookup"])


def running_workflow(make_workflow: MakeWorkflow, **task_data: Any) -> Workflow:
    work_request = make_workflow("noop", {"children": 0, **task_data})
    work_request.status = RUNNING
    return get_workflow(work_request)


def test_workflows_register_as_workflow_tasks() -> None:
    assert get_task_class(TaskType.WORKFLOW, "noop") is NoopWorkflow
    assert get_task_class(TaskType.WORKFLOW, "test_promises") is PromiseWorkflow
    assert Workflow.TASK_TYPE == TaskType.WORKFLOW
    # The abstract base class itself is no task.
    assert get_task_class(TaskType.INTERNAL, "workflow").__name__ == "WorkflowCallback"


def test_creation_validates_the_task_data(make_workflow: MakeWorkflow) -> None:
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("noop", {"children": "many"})
    assert "children" in excinfo.value.errors
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("noop", {"children": 2, "failing_children": [2]})
    assert "failing_children" in excinfo.value.errors


def test_validate_template_data_allows_missing_fields_names_wrong_ones() -> None:
    PromiseWorkflow.validate_template_data({"label": "y"})  # names comes later
    with pytest.raises(TaskDataError) as excinfo:
        PromiseWorkflow.validate_template_data({"label": 3, "bogus": 1})
    assert set(excinfo.value.errors) == {"label", "bogus"}


def test_template_data_leaves_cross_field_checks_to_run_time() -> None:
    # package_publish wants a source or binaries: the run provides them.
    PackagePublishWorkflow.validate_template_data(
        {"target_suite": "bookworm@debian:suite"}
    )
    with pytest.raises(TaskDataError) as excinfo:
        PackagePublishWorkflow.validate_template_data(
            {"target_suite": "bookworm@debian:suite", "replace": "often", "bogus": 1}
        )
    assert set(excinfo.value.errors) == {"replace", "bogus"}


def test_a_workflow_built_on_task_data_cannot_orchestrate() -> None:
    workflow = NoopWorkflow({"children": 1})
    assert workflow.data["children"] == 1
    with pytest.raises(RuntimeError, match="cannot orchestrate"):
        workflow.populate()


def test_ensure_child_reuses_a_matching_child(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    workflow = running_workflow(make_workflow)
    workflow.work_request.priority_base = 10
    first = workflow.work_request_ensure_child(
        task_name="noop",
        task_data={"result": True},
        workflow_data={"display_name": "a", "step": "a"},
        relative_priority=-3,
    )
    assert first.parent_id == workflow.work_request.id
    assert first.priority_base == 7
    assert first.status == PENDING  # no dependencies, parent running
    assert first.created_by_id == workflow.work_request.created_by_id
    # A fresh instance (another orchestration run) finds it in the database.
    again = get_workflow(workflow.work_request).work_request_ensure_child(
        task_name="noop",
        task_data={"result": True},
        workflow_data={"display_name": "a", "step": "a"},
    )
    assert again.id == first.id
    other = workflow.work_request_ensure_child(
        task_name="noop",
        task_data={"result": False},
        workflow_data={"display_name": "a", "step": "a"},
    )
    assert other.id != first.id
    by_filter = workflow.work_request_ensure_child(
        task_name="noop",
        task_data={"result": False, "host_architecture": "amd64"},
        task_data_filter={"result": False},
        workflow_data={"display_name": "a", "step": "a"},
    )
    assert by_filter.id == other.id
    assert len(workflow.work_request.children) == 2


def test_ensure_child_follows_retries(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    workflow = running_workflow(make_workflow)
    spec: dict[str, Any] = {
        "task_name": "noop",
        "task_data": {"result": True},
        "workflow_data": {"display_name": "a", "step": "a"},
    }
    child = workflow.work_request_ensure_child(**spec)
    mark_completed(db_session, child, WorkRequestResult.FAILURE)
    new = retry(db_session, child)
    assert new.workflow_data["retry_count"] == 0
    found = get_workflow(workflow.work_request).work_request_ensure_child(**spec)
    assert found.id == new.id


def test_ensure_child_refuses_bad_workflow_data(make_workflow: MakeWorkflow) -> None:
    workflow = running_workflow(make_workflow)
    # Each time: valid workflow data is remembered, refused data is not.
    for _ in range(2):
        with pytest.raises(TaskDataError, match="colour"):
            workflow.work_request_ensure_child(
                task_name="noop", task_data={}, workflow_data={"colour": "red"}
            )
    with pytest.raises(TaskDataError, match="workflow_data"):
        workflow.work_request_ensure_child(
            task_name="noop", task_data={}, workflow_data={"display_name": {1, 2}}
        )


def test_callback_dispatches_on_the_step(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    workflow = running_workflow(make_workflow, callback=True)
    callback = workflow.create_workflow_callback("summary", "Summary")
    assert (callback.task_type, callback.task_name) == (TaskType.INTERNAL, "workflow")
    workflow.callback(callback)
    names = [c.workflow_data.get("step") for c in workflow.children_of()]
    assert "summary-noop" in names
    unknown = workflow.create_workflow_callback("no-such-step", "?")
    with pytest.raises(WorkflowRunError, match="no callback for step") as excinfo:
        workflow.callback(unknown)
    assert excinfo.value.code == "orchestrator-failed"


def _promises(db_session: Session, root: WorkRequest) -> dict[str, CollectionItem]:
    assert root.internal_collection is not None
    items = db_session.scalars(
        select(CollectionItem).where(
            CollectionItem.parent_collection_id == root.internal_collection.id,
            CollectionItem.removed_at.is_(None),
        )
    )
    return {item.name: item for item in items}


def test_provides_artifact_records_a_promise_and_a_reaction(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    root = make_workflow("test_promises", {"names": ["build-amd64"]})
    orchestrate_workflow(root)
    (producer,) = root.children
    promises = _promises(db_session, root)
    assert root.internal_collection is not None
    assert root.internal_collection.name == f"workflow-{root.id}"
    assert (
        root.internal_collection.retains_artifacts == models.RetainsArtifacts.WORKFLOW
    )
    item = promises["build-amd64"]
    assert item.category == "debusine:promise"
    assert item.data == {
        "promise_work_request_id": producer.id,
        "promise_workflow_id": root.id,
        "promise_category": "debusine:test",
        "label": "x",
    }
    assert producer.event_reactions == {
        "on_success": [
            {
                "action": "update-collection-with-artifacts",
                "collection": "internal@collections",
                "name_template": "build-amd64",
                "variables": {"label": "x"},
                "artifact_filters": {"category": "debusine:test"},
            }
        ]
    }
    # Again: nothing new.
    orchestrate_workflow(root)
    assert len(producer.event_reactions["on_success"]) == 1
    assert list(_promises(db_session, root)) == ["build-amd64"]


def test_provides_artifact_refuses_reserved_keys(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    workflow = running_workflow(make_workflow)
    child = workflow.work_request_ensure_child(
        task_name="noop", task_data={}, workflow_data={"step": "x"}
    )
    with pytest.raises(LookupError, match="promise_work_request_id"):
        Workflow.provides_artifact(
            child, "debusine:test", "x", data={"promise_work_request_id": 1}
        )
    assert child.event_reactions == {}


def test_requires_artifact_depends_on_the_promising_request(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    artifact = factories.ArtifactFactory(workspace=workspace)
    root = make_workflow(
        "test_promises",
        {
            "names": ["a", "b"],
            "consumer_lookup": [
                {"collection": "internal@collections", "child_type": "bare"},
                artifact.id,
            ],
        },
    )
    orchestrate_workflow(root)
    by_step = {c.workflow_data["step"]: c for c in root.children}
    consumer = by_step["consume"]
    assert {d.id for d in consumer.dependencies} == {by_step["a"].id, by_step["b"].id}
    assert consumer.status == BLOCKED
    assert by_step["a"].status == PENDING


def test_requires_artifact_single_lookup(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    root = make_workflow(
        "test_promises",
        {"names": ["a"], "consumer_lookup": "internal@collections/name:a"},
    )
    orchestrate_workflow(root)
    by_step = {c.workflow_data["step"]: c for c in root.children}
    assert by_step["consume"].dependencies == [by_step["a"]]


def test_lookup_singleton_collection(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    workflow = running_workflow(make_workflow)
    with pytest.raises(LookupError, match="no such collection"):
        workflow.lookup_singleton_collection("debian:package-build-logs")
    logs = factories.CollectionFactory(
        workspace=workspace, name="_", category="debian:package-build-logs"
    )
    assert workflow.lookup_singleton_collection("debian:package-build-logs") == logs


def test_dynamic_data_is_computed_once(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    workflow = running_workflow(make_workflow)
    assert workflow.work_request.dynamic_task_data is None
    assert workflow.get_input_artifacts_ids() == []
    assert workflow.work_request.dynamic_task_data == {
        "subject": None,
        "parameter_summary": "0 noop children",
        "input_artifacts_ids": [],
    }
    workflow.work_request.dynamic_task_data = {"input_artifacts_ids": [5]}
    workflow.ensure_dynamic_data()
    assert workflow.get_input_artifacts_ids() == [5]


def test_orchestrate_populates_and_unblocks(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    root = make_workflow("noop", {"children": 2, "callback": True})
    assert root.status == PENDING
    orchestrate_workflow(root)
    assert root.status == RUNNING
    assert root.started_at is not None
    statuses = sorted((c.workflow_data["step"], c.status.value) for c in root.children)
    assert statuses == [
        ("noop-0", "pending"),
        ("noop-1", "pending"),
        ("summary", "blocked"),
    ]


def test_orchestrated_children_are_stored_as_if_created_one_by_one(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    # The batch insert must store what the ORM would: SQL NULL (not JSON
    # null) for data not computed yet, which the scheduler looks for.
    root = make_workflow("noop", {"children": 2, "callback": True})
    orchestrate_workflow(root)
    db_session.expire_all()
    rows = db_session.execute(
        select(
            models.WorkRequest.id,
            models.WorkRequest.dynamic_task_data.is_(None),
            models.WorkRequest.configured_task_data.is_(None),
            models.WorkRequest.output_data.is_(None),
            models.WorkRequest.created_at.is_not(None),
        ).where(models.WorkRequest.parent_id == root.id)
    ).all()
    assert len(rows) == 3
    children = {c.id: c for c in root.children}
    for work_request_id, *checks in rows:
        child = children[work_request_id]
        # noop children are prepared at creation (they look nothing up).
        expected_dynamic = child.task_type != models.TaskType.WORKER
        assert checks == [expected_dynamic, expected_dynamic, True, True]


def test_orchestrate_completes_a_workflow_without_children(
    make_workflow: MakeWorkflow,
) -> None:
    root = make_workflow("noop", {"children": 0})
    orchestrate_workflow(root)
    assert (root.status, root.result) == (COMPLETED, WorkRequestResult.SUCCESS)


def test_orchestrate_runs_a_callback(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    root = make_workflow("noop", {"children": 1, "callback": True})
    orchestrate_workflow(root)
    by_step = {c.workflow_data["step"]: c for c in root.children}
    mark_completed(db_session, by_step["noop-0"], WorkRequestResult.SUCCESS)
    callback = by_step["summary"]
    assert callback.status == PENDING
    orchestrate_workflow(callback)
    assert (callback.status, callback.result) == (COMPLETED, WorkRequestResult.SUCCESS)
    db_session.expire(root, ["children"])
    assert "summary-noop" in {c.workflow_data["step"] for c in root.children}


def test_orchestrate_refuses_what_it_cannot_run(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    root = make_workflow("noop", {"children": 0})
    orchestrate_workflow(root)
    with pytest.raises(WorkflowRunError, match="completed") as excinfo:
        orchestrate_workflow(root)
    assert excinfo.value.code == "wrong-status"
    task = factories.WorkRequestFactory(workspace=workspace)
    with pytest.raises(WorkflowRunError, match="neither a workflow"):
        orchestrate_workflow(task)
    unknown = factories.WorkRequestFactory(
        workspace=workspace, task_type=TaskType.WORKFLOW, task_name="no-such"
    )
    with pytest.raises(WorkflowRunError, match="no-such") as excinfo:
        orchestrate_workflow(unknown)
    assert excinfo.value.code == "configure-failed"


def test_errors_in_workflow_code_become_run_errors(
    db_session: Session, make_workflow: MakeWorkflow
) -> None:
    root = make_workflow(
        "test_promises", {"names": ["a"], "consumer_lookup": "nothing@debian:suite"}
    )
    with pytest.raises(WorkflowRunError, match="nothing@debian:suite") as excinfo:
        orchestrate_workflow(root)
    assert excinfo.value.code == "orchestrator-failed"
