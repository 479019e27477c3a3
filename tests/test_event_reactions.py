"""Event reactions, run at each event on the real database."""

from __future__ import annotations

import datetime as dt
import socket
from collections.abc import Iterator
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Message
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import get_manager
from debusine.event_reactions import (
    USER_ACTIONS,
    EventReactionsError,
    parse_delay,
    run_reactions,
    validate_event_reactions,
)
from debusine.models import (
    CollectionItem,
    TaskType,
    UnblockStrategy,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.models.work_requests import NotificationMethod
from debusine.orchestration.scheduler import assign_many
from debusine.work_requests import (
    Completion,
    accept_manual_unblock,
    complete_many,
    create_work_request,
    mark_completed,
    retry,
)
from debusine.workflows import Workflow, get_workflow
from tests import factories


@pytest.fixture
def workspace(db_session: Session) -> models.Workspace:
    return factories.WorkspaceFactory()


def make(session: Session, workspace: models.Workspace, **kwargs: Any) -> WorkRequest:
    kwargs.setdefault("task_type", TaskType.WORKER)
    kwargs.setdefault("task_name", "noop")
    kwargs.setdefault("task_data", {})
    kwargs.setdefault("created_by", None)
    return create_work_request(session, workspace=workspace, **kwargs)


def scratch(workspace: models.Workspace, name: str = "scratch") -> models.Collection:
    """A collection that takes any artifact or bare item by name."""
    return factories.CollectionFactory(
        workspace=workspace, name=name, category="debusine:workflow-internal"
    )


def active(session: Session, collection: models.Collection) -> dict[str, Any]:
    session.flush()
    items = session.scalars(
        select(CollectionItem).where(
            CollectionItem.parent_collection_id == collection.id,
            CollectionItem.removed_at.is_(None),
        )
    )
    return {item.name: item for item in items}


def test_parse_delay() -> None:
    assert parse_delay("30m") == dt.timedelta(minutes=30)
    assert parse_delay("2h") == dt.timedelta(hours=2)
    assert parse_delay("1d") == dt.timedelta(days=1)
    assert parse_delay("1w") == dt.timedelta(weeks=1)
    for bad in ("0m", "5", "1y", "m", "-1h"):
        with pytest.raises(ValueError, match="not a delay"):
            parse_delay(bad)


@pytest.mark.parametrize(
    ("reactions", "field", "message"),
    [
        ({"on_start": []}, "event_reactions.on_start", "Unknown event"),
        ({"on_success": {}}, "event_reactions.on_success", "list"),
        ({"on_success": [{"action": "explode"}]}, ".0.action", "Unknown action"),
        (
            {"on_failure": [{"action": "retry-with-delays", "delays": ["1y"]}]},
            "event_reactions.on_failure.0.delays",
            "not a delay",
        ),
        (
            {"on_success": [{"action": "update-collection-with-data", "data": {}}]},
            "event_reactions.on_success.0.collection",
            "required",
        ),
        (
            {
                "on_success": [
                    {
                        "action": "update-collection-with-artifacts",
                        "collection": "x@debian:suite",
                        "artifact_filters": {"colour": "red"},
                    }
                ]
            },
            "event_reactions.on_success.0.artifact_filters",
            "data__KEY",
        ),
        (
            {
                "on_success": [
                    {
                        "action": "update-collection-with-artifacts",
                        "collection": "x@debian:suite",
                        "artifact_filters": {},
                        "variables": {"$name": "$[[["},
                    }
                ]
            },
            "event_reactions.on_success.0.variables",
            "JSONPath",
        ),
        (
            {"on_success": [{"action": "send-notification", "channel": "c", "x": 1}]},
            "event_reactions.on_success.0.x",
            "Unknown field",
        ),
    ],
)
def test_validation_names_the_bad_field(
    reactions: dict[str, Any], field: str, message: str
) -> None:
    with pytest.raises(EventReactionsError) as excinfo:
        validate_event_reactions(reactions)
    paths = [path for path in excinfo.value.errors if path.endswith(field)]
    assert paths, excinfo.value.errors
    assert message in " ".join(excinfo.value.errors[paths[0]])
    assert field in str(excinfo.value)


def test_creation_refuses_bad_reactions_and_leaves_nothing(
    db_session: Session, workspace: models.Workspace
) -> None:
    before = db_session.scalar(
        select(models.WorkRequest.id).order_by(WorkRequest.id.desc()).limit(1)
    )
    with pytest.raises(EventReactionsError, match="Action 'retry-with-delays' may not"):
        make(
            db_session,
            workspace,
            event_reactions={
                "on_failure": [{"action": "retry-with-delays", "delays": ["1h"]}]
            },
            allowed_reaction_actions=USER_ACTIONS,
        )
    with pytest.raises(EventReactionsError, match="No notification channel named"):
        make(
            db_session,
            workspace,
            event_reactions={
                "on_success": [{"action": "send-notification", "channel": "nope"}]
            },
        )
    after = db_session.scalar(
        select(models.WorkRequest.id).order_by(WorkRequest.id.desc()).limit(1)
    )
    assert after == before


def running_root(session: Session, workspace: models.Workspace) -> Workflow:
    root = create_work_request(
        session,
        workspace=workspace,
        task_type=TaskType.WORKFLOW,
        task_name="noop",
        task_data={"children": 0},
        created_by=None,
    )
    root.status = WorkRequestStatus.RUNNING
    session.flush()
    return get_workflow(root)


def test_child_success_replaces_the_promise_with_the_artifact(
    db_session: Session, workspace: models.Workspace
) -> None:
    workflow = running_root(db_session, workspace)
    child = workflow.work_request_ensure_child(
        task_name="noop", task_data={}, workflow_data={"step": "build"}
    )
    Workflow.provides_artifact(child, "debusine:test", "build-amd64", data={"a": 1})
    internal = workflow.work_request.internal_collection
    assert internal is not None
    assert active(db_session, internal)["build-amd64"].category == "debusine:promise"
    other = factories.ArtifactFactory(workspace=workspace, category="debian:upload")
    other.created_by_work_request_id = child.id
    made = factories.ArtifactFactory(workspace=workspace)
    made.created_by_work_request_id = child.id
    db_session.flush()

    assert mark_completed(db_session, child, WorkRequestResult.SUCCESS)

    item = active(db_session, internal)["build-amd64"]
    assert item.child_type == models.CollectionItemType.ARTIFACT
    assert item.artifact_id == made.id
    assert item.data == {"a": 1}
    assert child.result == WorkRequestResult.SUCCESS


def test_jsonpath_variables_and_name_template(
    db_session: Session, workspace: models.Workspace
) -> None:
    target = scratch(workspace)
    work_request = make(
        db_session,
        workspace,
        event_reactions={
            "on_success": [
                {
                    "action": "update-collection-with-artifacts",
                    "collection": "scratch@debusine:workflow-internal",
                    "name_template": "{package}_{arch}",
                    "variables": {"$package": "$.deb.Package", "arch": "amd64"},
                    "artifact_filters": {"data__deb__Package": "hello"},
                    "created_at": "2024-05-01T00:00:00+00:00",
                }
            ]
        },
    )
    hello = factories.ArtifactFactory(
        workspace=workspace, data={"deb": {"Package": "hello"}}
    )
    bye = factories.ArtifactFactory(
        workspace=workspace, data={"deb": {"Package": "bye"}}
    )
    for artifact in (hello, bye):
        artifact.created_by_work_request_id = work_request.id
    db_session.flush()

    mark_completed(db_session, work_request, "success")

    items = active(db_session, target)
    assert list(items) == ["hello_amd64"]
    assert items["hello_amd64"].artifact_id == hello.id
    assert items["hello_amd64"].data == {"package": "hello", "arch": "amd64"}
    assert items["hello_amd64"].created_at == dt.datetime(2024, 5, 1, tzinfo=dt.UTC)


def test_failing_reaction_rolls_back_and_completes_as_error(
    db_session: Session, workspace: models.Workspace
) -> None:
    target = scratch(workspace)
    work_request = make(
        db_session,
        workspace,
        event_reactions={
            "on_success": [
                {
                    "action": "update-collection-with-data",
                    "collection": "scratch@debusine:workflow-internal",
                    "category": "debusine:test",
                    "name_template": "run-{n}",
                    "data": {"n": 1},
                },
                {
                    "action": "update-collection-with-data",
                    "collection": "missing@debusine:workflow-internal",
                    "category": "debusine:test",
                    "name_template": "never",
                },
            ],
            "on_failure": [
                {
                    "action": "update-collection-with-data",
                    "collection": "scratch@debusine:workflow-internal",
                    "category": "debusine:test",
                    "name_template": "failed",
                }
            ],
        },
    )
    dependent = make(db_session, workspace, dependencies=[work_request])

    mark_completed(db_session, work_request, "success")

    assert work_request.status == WorkRequestStatus.COMPLETED
    assert work_request.result == WorkRequestResult.ERROR
    (error,) = work_request.output_data["errors"]
    assert error["code"] == "event-reaction-failed"
    assert "on_success reaction 1 (update-collection-with-data)" in error["message"]
    assert "missing@debusine:workflow-internal" in error["message"]
    # The first reaction's item is gone; on_failure ran instead.
    assert list(active(db_session, target)) == ["failed"]
    assert dependent.status == WorkRequestStatus.ABORTED


def test_batch_completion_runs_reactions_of_those_that_have_some(
    db_session: Session, workspace: models.Workspace
) -> None:
    target = scratch(workspace)
    worker = factories.WorkerFactory(
        connected_at=dt.datetime.now(dt.UTC), concurrency=3
    )

    def reaction(name: str) -> dict[str, Any]:
        return {
            "action": "update-collection-with-data",
            "collection": "scratch@debusine:workflow-internal",
            "category": "debusine:test",
            "name_template": name,
        }

    succeeds = make(
        db_session,
        workspace,
        event_reactions={
            "on_success": [reaction("ok")],
            "on_failure": [reaction("wrong")],
        },
    )
    fails = make(
        db_session, workspace, event_reactions={"on_failure": [reaction("failed")]}
    )
    plain = make(db_session, workspace)
    for request in (succeeds, fails, plain):
        request.worker = worker
        request.status = WorkRequestStatus.RUNNING
    db_session.flush()

    complete_many(
        db_session,
        [
            Completion(succeeds.id, worker.id, "success"),
            Completion(fails.id, worker.id, "failure"),
            Completion(plain.id, worker.id, "success"),
        ],
    )

    assert sorted(active(db_session, target)) == ["failed", "ok"]
    assert plain.result == WorkRequestResult.SUCCESS


def test_on_creation_and_on_unblock(
    db_session: Session, workspace: models.Workspace
) -> None:
    target = scratch(workspace)
    first = make(db_session, workspace)

    def reaction(name: str) -> dict[str, Any]:
        return {
            "action": "update-collection-with-data",
            "collection": target.id,
            "category": "debusine:test",
            "name_template": name + "-{who}",
            "data": {"who": "second"},
        }

    second = make(
        db_session,
        workspace,
        dependencies=[first],
        event_reactions={
            "on_creation": [reaction("created")],
            "on_unblock": [reaction("unblocked")],
        },
    )
    assert second.status == WorkRequestStatus.BLOCKED
    assert list(active(db_session, target)) == ["created-second"]

    mark_completed(db_session, first, "success")

    assert second.status == WorkRequestStatus.PENDING
    assert sorted(active(db_session, target)) == ["created-second", "unblocked-second"]


def _unblocked_reaction(target: models.Collection, name: str) -> dict[str, Any]:
    return {
        "action": "update-collection-with-data",
        "collection": target.id,
        "category": "debusine:test",
        "name_template": name,
        "data": {},
    }


def test_a_manually_accepted_request_runs_its_on_unblock_reactions(
    db_session: Session, workspace: models.Workspace
) -> None:
    target = scratch(workspace)
    reviewed = make(
        db_session,
        workspace,
        unblock_strategy=UnblockStrategy.MANUAL,
        event_reactions={"on_unblock": [_unblocked_reaction(target, "accepted")]},
    )
    assert reviewed.status == WorkRequestStatus.BLOCKED

    accept_manual_unblock(db_session, reviewed)

    assert reviewed.status == WorkRequestStatus.PENDING
    assert list(active(db_session, target)) == ["accepted"]


def test_a_retry_that_may_run_at_once_runs_its_on_unblock_reactions(
    db_session: Session, workspace: models.Workspace
) -> None:
    target = scratch(workspace)
    failed = make(
        db_session,
        workspace,
        event_reactions={"on_unblock": [_unblocked_reaction(target, "retried")]},
    )
    mark_completed(db_session, failed, "failure")
    assert list(active(db_session, target)) == []

    new = retry(db_session, failed)

    assert new.status == WorkRequestStatus.PENDING
    assert list(active(db_session, target)) == ["retried"]


def test_retry_with_delays_waits_then_gives_up(
    db_session: Session, workspace: models.Workspace
) -> None:
    reactions = {
        "on_failure": [{"action": "retry-with-delays", "delays": ["30m", "2h"]}]
    }
    first = make(db_session, workspace, event_reactions=reactions)
    started = dt.datetime.now(dt.UTC)

    mark_completed(db_session, first, "failure")

    second = db_session.scalars(
        select(WorkRequest).where(WorkRequest.supersedes_id == first.id)
    ).one()
    assert second.workflow_data["retry_count"] == 1
    assert second.status == WorkRequestStatus.BLOCKED
    (delay,) = second.dependencies
    assert (delay.task_type, delay.task_name) == (TaskType.WAIT, "delay")
    until = dt.datetime.fromisoformat(delay.task_data["delay_until"])
    assert dt.timedelta(minutes=29) < until - started < dt.timedelta(minutes=31)

    mark_completed(db_session, delay, "success")
    assert second.status == WorkRequestStatus.PENDING
    mark_completed(db_session, second, "error")
    third = db_session.scalars(
        select(WorkRequest).where(WorkRequest.supersedes_id == second.id)
    ).one()
    (delay,) = [
        d for d in third.dependencies if d.status != WorkRequestStatus.COMPLETED
    ]
    until = dt.datetime.fromisoformat(delay.task_data["delay_until"])
    assert until - started > dt.timedelta(minutes=119)

    mark_completed(db_session, delay, "success")
    mark_completed(db_session, third, "failure")
    # Both delays used: no fourth run.
    assert (
        db_session.scalars(
            select(WorkRequest).where(WorkRequest.supersedes_id == third.id)
        ).all()
        == []
    )


def test_task_history_is_recorded_where_the_workspace_keeps_one(
    db_session: Session, workspace: models.Workspace
) -> None:
    without = make(db_session, workspace)
    assert without.event_reactions == {}
    history = factories.CollectionFactory(
        workspace=workspace, name="_", category="debusine:task-history"
    )
    work_request = make(db_session, workspace)
    work_request.dynamic_task_data = {"subject": "hello", "runtime_context": "sid"}
    assert [r["action"] for r in work_request.event_reactions["on_success"]] == [
        "record-in-task-history"
    ]

    mark_completed(
        db_session,
        work_request,
        "failure",
        {"runtime_statistics": {"duration": 7}},
    )

    (item,) = active(db_session, history).values()
    assert item.name == f"Worker:noop:hello:sid:{work_request.id}"
    assert item.data["result"] == "failure"
    assert item.data["runtime_statistics"] == {"duration": 7}
    lookup = get_manager(db_session, history).lookup(
        "last-failure:Worker:noop:hello:sid"
    )
    assert lookup is not None
    assert lookup.id == item.id


def test_skip_if_lookup_result_changed_on_assignment(
    db_session: Session, workspace: models.Workspace
) -> None:
    target = scratch(workspace)
    manager = get_manager(db_session, target)
    old = manager.add_bare_data("debusine:test", name="latest", data={"v": 1})
    worker = factories.WorkerFactory(
        connected_at=dt.datetime.now(dt.UTC), concurrency=2
    )

    def request(item_id: int) -> WorkRequest:
        return make(
            db_session,
            workspace,
            event_reactions={
                "on_assignment": [
                    {
                        "action": "skip-if-lookup-result-changed",
                        "lookup": "scratch@debusine:workflow-internal/name:latest",
                        "collection_item_id": item_id,
                    }
                ]
            },
        )

    same = request(old.id)
    assignments = assign_many(db_session, [worker.id])
    assert [a.work_request_id for a in assignments] == [same.id]

    new = manager.add_bare_data(
        "debusine:test", name="latest", data={"v": 2}, replace=True
    )
    changed = request(old.id)
    assert assign_many(db_session, [worker.id]) == []
    db_session.refresh(changed)
    assert changed.status == WorkRequestStatus.COMPLETED
    assert changed.result == WorkRequestResult.SKIPPED
    assert str(new.id) in changed.output_data["skip_reason"]


def test_run_reactions_with_none_is_a_no_op(
    db_session: Session, workspace: models.Workspace
) -> None:
    work_request = make(db_session, workspace)
    assert run_reactions(db_session, work_request, "on_success")


# --- notifications ----------------------------------------------------------------


class Inbox(Message):
    def __init__(self) -> None:
        super().__init__()
        self.messages: list[Any] = []

    def handle_message(self, message: Any) -> None:
        self.messages.append(message)


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, Inbox]]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield controller, inbox
    controller.stop()


def test_notification_is_sent_after_commit_only(
    db_session: Session,
    workspace: models.Workspace,
    smtp_server: tuple[Controller, Inbox],
) -> None:
    controller, inbox = smtp_server
    db_session.add(
        models.NotificationChannel(
            name="admins",
            method=NotificationMethod.EMAIL,
            data={
                "from": "debusine@example.org",
                "to": ["admins@example.org"],
                "smtp_host": controller.hostname,
                "smtp_port": controller.port,
            },
        )
    )
    db_session.commit()
    reactions = {
        "on_failure": [
            {
                "action": "send-notification",
                "channel": "admins",
                "data": {"cc": ["cc@example.org"]},
            }
        ]
    }
    rolled_back = make(
        db_session,
        workspace,
        event_reactions=reactions,
        allowed_reaction_actions=USER_ACTIONS,
    )
    mark_completed(db_session, rolled_back, "failure")
    db_session.rollback()
    assert inbox.messages == []

    work_request = make(db_session, workspace, event_reactions=reactions)
    mark_completed(db_session, work_request, "error")
    assert inbox.messages == []  # not before the commit
    db_session.commit()

    (message,) = inbox.messages
    assert message["Subject"] == (f"WorkRequest {work_request.id} completed in error")
    assert message["To"] == "admins@example.org"
    assert message["Cc"] == "cc@example.org"
    assert f"Work request {work_request.id}" in message.get_payload()
