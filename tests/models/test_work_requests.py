"""Work requests, their dependencies, workflow templates and notification channels."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session

from debusine.models import (
    NotificationChannel,
    TaskType,
    UnblockStrategy,
    WorkflowTemplate,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
    work_request_dependency,
)
from debusine.models.validation import InvalidName
from tests.factories import (
    CollectionFactory,
    WorkerFactory,
    WorkflowTemplateFactory,
    WorkRequestFactory,
    WorkspaceFactory,
)
from tests.models.conftest import Refused

S = WorkRequestStatus
R = WorkRequestResult


def _raw(raw_insert, **values) -> int:
    workspace = WorkspaceFactory()
    fields = {"workspace_id": workspace.id, "task_type": "Worker", "task_name": "noop"}
    fields.update(values)
    return raw_insert(WorkRequest, **fields)


def test_defaults(db_session: Session) -> None:
    work_request = WorkRequestFactory()
    db_session.expire(work_request)
    assert work_request.status is S.PENDING
    assert work_request.result is R.NONE
    assert work_request.task_type is TaskType.WORKER
    assert work_request.unblock_strategy is UnblockStrategy.DEPS
    assert (work_request.priority_base, work_request.priority_adjustment) == (0, 0)
    assert work_request.workflows_need_update is False
    assert work_request.parent is None
    assert work_request.dependencies == []


def test_server_defaults(db_session: Session, raw_insert) -> None:
    work_request = db_session.get(WorkRequest, _raw(raw_insert))
    assert (work_request.status, work_request.result) == (S.PENDING, R.NONE)
    assert work_request.unblock_strategy is UnblockStrategy.DEPS
    assert work_request.task_data == {}


# --- status and result ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "result"),
    [
        (S.PENDING, R.NONE),
        (S.BLOCKED, R.NONE),
        (S.RUNNING, R.NONE),
        (S.COMPLETED, R.SUCCESS),
        (S.COMPLETED, R.FAILURE),
        (S.COMPLETED, R.ERROR),
        (S.COMPLETED, R.SKIPPED),
        (S.ABORTED, R.NONE),
        (S.ABORTED, R.ERROR),
    ],
)
def test_consistent_status_and_result(
    db_session: Session, status: S, result: R
) -> None:
    work_request = WorkRequestFactory(status=status, result=result)
    db_session.expire(work_request)
    assert (work_request.status, work_request.result) == (status, result)


@pytest.mark.parametrize("status", [S.PENDING, S.BLOCKED, S.RUNNING])
@pytest.mark.parametrize("result", [R.SUCCESS, R.FAILURE, R.ERROR, R.SKIPPED])
def test_result_only_when_finished(
    refused: Refused, db_session: Session, status: S, result: R
) -> None:
    workspace = WorkspaceFactory()
    with refused("ck_work_request_result_only_when_finished"):
        db_session.add(
            WorkRequest(
                workspace=workspace, task_name="noop", status=status, result=result
            )
        )


def test_completed_has_result(refused: Refused, db_session: Session) -> None:
    work_request = WorkRequestFactory(status=S.RUNNING)
    with refused("ck_work_request_completed_has_result"):
        db_session.execute(
            update(WorkRequest)
            .where(WorkRequest.id == work_request.id)
            .values(status=S.COMPLETED)
        )


def test_unknown_status_refused(refused: Refused, raw_insert) -> None:
    with refused("ck_work_request_work_request_status"):
        _raw(raw_insert, status="done")
    with refused("ck_work_request_work_request_status"):
        _raw(raw_insert, status="PENDING")


def test_unknown_result_refused(refused: Refused, raw_insert) -> None:
    with refused("ck_work_request_work_request_result"):
        _raw(raw_insert, status="completed", result="ok")


def test_unknown_task_type_refused(refused: Refused, raw_insert) -> None:
    with refused("ck_work_request_task_type"):
        _raw(raw_insert, task_type="worker")
    with refused("ck_work_request_task_type"):
        _raw(raw_insert, task_type="Celery")


def test_unknown_unblock_strategy_refused(refused: Refused, raw_insert) -> None:
    with refused("ck_work_request_unblock_strategy"):
        _raw(raw_insert, unblock_strategy="auto")


def test_unknown_workflow_runtime_status_refused(refused: Refused, raw_insert) -> None:
    with refused("ck_work_request_workflow_runtime_status"):
        _raw(raw_insert, workflow_runtime_status="sleeping")


def test_enums_are_stored_by_value(db_session: Session) -> None:
    work_request = WorkRequestFactory(
        task_type=TaskType.SIGNING, status=S.COMPLETED, result=R.SUCCESS
    )
    row = db_session.execute(
        select(
            WorkRequest.__table__.c.task_type,
            WorkRequest.__table__.c.status,
            WorkRequest.__table__.c.result,
        ).where(WorkRequest.__table__.c.id == work_request.id)
    ).one()
    assert tuple(row) == ("Signing", "completed", "success")


# --- workflow structure ---------------------------------------------------------------


def test_parent_and_children(db_session: Session) -> None:
    workflow = WorkRequestFactory(task_type=TaskType.WORKFLOW, task_name="sbuild")
    children = [
        WorkRequestFactory(workspace=workflow.workspace, parent=workflow)
        for _ in range(2)
    ]
    db_session.expire(workflow)
    assert sorted(c.id for c in workflow.children) == sorted(c.id for c in children)
    assert children[0].parent is workflow


def test_parent_not_self(refused: Refused, db_session: Session) -> None:
    work_request = WorkRequestFactory()
    with refused("ck_work_request_parent_not_self"):
        db_session.execute(
            update(WorkRequest)
            .where(WorkRequest.id == work_request.id)
            .values(parent_id=work_request.id)
        )


def test_deleting_a_workflow_deletes_its_children(db_session: Session) -> None:
    workflow = WorkRequestFactory(task_type=TaskType.WORKFLOW)
    child = WorkRequestFactory(workspace=workflow.workspace, parent=workflow)
    grandchild = WorkRequestFactory(workspace=workflow.workspace, parent=child)
    ids = [child.id, grandchild.id]
    db_session.expire(workflow)
    assert workflow.children == [child]
    db_session.delete(workflow)
    db_session.flush()
    db_session.expire_all()
    assert (
        db_session.scalars(select(WorkRequest).where(WorkRequest.id.in_(ids))).all()
        == []
    )


def test_deleting_a_workflow_in_the_database_deletes_its_children(
    db_session: Session,
) -> None:
    workflow = WorkRequestFactory(task_type=TaskType.WORKFLOW)
    child = WorkRequestFactory(workspace=workflow.workspace, parent=workflow)
    child_id = child.id
    db_session.execute(delete(WorkRequest).where(WorkRequest.id == workflow.id))
    db_session.expire_all()
    assert db_session.get(WorkRequest, child_id) is None


def test_dependencies(db_session: Session) -> None:
    a, b, c = (WorkRequestFactory() for _ in range(3))
    a.dependencies = [b, c]
    c.dependencies = [b]
    db_session.flush()
    db_session.expire_all()
    assert {w.id for w in a.dependencies} == {b.id, c.id}
    assert {w.id for w in b.reverse_dependencies} == {a.id, c.id}
    assert [w.id for w in c.reverse_dependencies] == [a.id]
    assert a.reverse_dependencies == []
    assert b.dependencies == []


def test_dependency_on_itself_refused(refused: Refused, db_session: Session) -> None:
    work_request = WorkRequestFactory()
    with refused("ck_work_request_dependency_not_self"):
        work_request.dependencies.append(work_request)
    with refused("ck_work_request_dependency_not_self"):
        db_session.execute(
            insert(work_request_dependency).values(
                work_request_id=work_request.id, dependency_id=work_request.id
            )
        )


def test_duplicate_dependency_refused(refused: Refused, db_session: Session) -> None:
    a, b = WorkRequestFactory(), WorkRequestFactory()
    a.dependencies.append(b)
    db_session.flush()
    with refused("pk_work_request_dependency"):
        db_session.execute(
            insert(work_request_dependency).values(
                work_request_id=a.id, dependency_id=b.id
            )
        )


def test_deleting_a_dependency_unlinks_it(db_session: Session) -> None:
    a, b = WorkRequestFactory(), WorkRequestFactory()
    a.dependencies.append(b)
    db_session.flush()
    db_session.delete(b)
    db_session.flush()
    db_session.expire_all()
    assert a.dependencies == []


@pytest.mark.parametrize(
    ("base", "adjustment", "effective"),
    [(0, 0, 0), (5, 0, 5), (5, -10, -5), (-1, 3, 2)],
)
def test_priority_effective(base: int, adjustment: int, effective: int) -> None:
    work_request = WorkRequest(priority_base=base, priority_adjustment=adjustment)
    assert work_request.priority_effective == effective


def test_pending_queue_order(db_session: Session) -> None:
    """The scheduler's ordering: effective priority, highest first, then age."""
    low = WorkRequestFactory(priority_base=1)
    high = WorkRequestFactory(priority_base=0, priority_adjustment=5)
    middle = WorkRequestFactory(priority_base=3)
    WorkRequestFactory(priority_base=100, status=S.BLOCKED)
    queue = db_session.scalars(
        select(WorkRequest.id)
        .where(WorkRequest.status == S.PENDING)
        .order_by(
            (WorkRequest.priority_base + WorkRequest.priority_adjustment).desc(),
            WorkRequest.created_at,
        )
    ).all()
    assert queue == [high.id, middle.id, low.id]


def test_supersedes_unique(refused: Refused, db_session: Session) -> None:
    old = WorkRequestFactory(status=S.COMPLETED, result=R.ERROR)
    retry = WorkRequestFactory(workspace=old.workspace, supersedes=old)
    assert retry.supersedes is old
    with refused("uq_work_request_supersedes_id"):
        db_session.add(
            WorkRequest(workspace=old.workspace, task_name="noop", supersedes=old)
        )


def test_deleting_the_superseded_keeps_the_retry(db_session: Session) -> None:
    old = WorkRequestFactory(status=S.COMPLETED, result=R.ERROR)
    retry = WorkRequestFactory(workspace=old.workspace, supersedes=old)
    db_session.delete(old)
    db_session.flush()
    db_session.refresh(retry)
    assert retry.supersedes_id is None


def test_one_internal_collection_per_work_request(
    refused: Refused, db_session: Session
) -> None:
    workflow = WorkRequestFactory(task_type=TaskType.WORKFLOW)
    collection = CollectionFactory(
        workspace=workflow.workspace,
        name=f"workflow-{workflow.id}",
        category="debusine:workflow-internal",
    )
    workflow.internal_collection = collection
    db_session.flush()
    with refused("uq_work_request_internal_collection_id"):
        WorkRequestFactory(workspace=workflow.workspace, internal_collection=collection)


def test_deleting_the_worker_or_template_keeps_the_work_request(
    db_session: Session,
) -> None:
    worker = WorkerFactory()
    template = WorkflowTemplateFactory()
    work_request = WorkRequestFactory(
        workspace=template.workspace,
        worker=worker,
        workflow_template=template,
        status=S.RUNNING,
    )
    db_session.delete(worker)
    db_session.delete(template)
    db_session.flush()
    db_session.refresh(work_request)
    assert (work_request.worker_id, work_request.workflow_template_id) == (None, None)


# --- workflow templates ---------------------------------------------------------------


@pytest.mark.parametrize("name", ["", "1sbuild", "_sbuild", "a b", "a/b"])
def test_invalid_template_name_refused_in_python(name: str) -> None:
    with pytest.raises(InvalidName, match="invalid workflow template name"):
        WorkflowTemplate(name=name)


@pytest.mark.parametrize("name", ["", "1sbuild", "_sbuild", "a b"])
def test_invalid_template_name_refused_by_database(
    refused: Refused, raw_insert, name: str
) -> None:
    workspace = WorkspaceFactory()
    with refused("ck_workflow_template_name_valid"):
        raw_insert(
            WorkflowTemplate, workspace_id=workspace.id, name=name, task_name="x"
        )


def test_template_name_unique_per_workspace(
    refused: Refused, db_session: Session
) -> None:
    first = WorkflowTemplateFactory(name="sbuild-amd64")
    WorkflowTemplateFactory(name="sbuild-amd64")  # another workspace
    with refused("uq_workflow_template_workspace_id_name"):
        db_session.add(
            WorkflowTemplate(
                workspace=first.workspace, name="sbuild-amd64", task_name="x"
            )
        )


# --- notification channels ------------------------------------------------------------


def test_notification_channel(db_session: Session) -> None:
    channel = NotificationChannel(
        name="a" * 20, method="email", data={"to": ["a@example.org"]}
    )
    db_session.add(channel)
    db_session.flush()
    db_session.expire(channel)
    assert channel.name == "a" * 20


@pytest.mark.parametrize("name", ["a" * 21, "", "1x", "_x", "a b"])
def test_invalid_channel_name_refused_in_python(name: str) -> None:
    with pytest.raises(InvalidName, match="invalid notification channel name"):
        NotificationChannel(name=name, method="email")


@pytest.mark.parametrize("name", ["", "1x", "_x", "a b"])
def test_invalid_channel_name_refused_by_database(
    refused: Refused, raw_insert, name: str
) -> None:
    with refused("ck_notification_channel_name_valid"):
        raw_insert(NotificationChannel, name=name, method="email")


def test_channel_name_longer_than_20_refused_by_database(
    db_session: Session, raw_insert
) -> None:
    with pytest.raises(DataError, match="too long"), db_session.begin_nested():
        raw_insert(NotificationChannel, name="a" * 21, method="email")


def test_channel_name_unique(refused: Refused, db_session: Session) -> None:
    db_session.add(NotificationChannel(name="team", method="email"))
    db_session.flush()
    with refused("uq_notification_channel_name"):
        db_session.add(NotificationChannel(name="team", method="email"))


def test_channel_method_known(refused: Refused, raw_insert) -> None:
    with refused("ck_notification_channel_notification_method"):
        raw_insert(NotificationChannel, name="team", method="irc")
