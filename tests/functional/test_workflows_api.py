"""Workflow templates and workflows over the API (client-protocol.md routes 10, 11)."""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from debusine import models
from debusine.views.api import workflows as views
from tests import factories
from tests.storage.helpers import World, make_world

PROBLEM = "application/problem+json"


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


@pytest.fixture
def notified(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Record the after-commit wake-ups of the orchestrator."""
    calls: list[Any] = []
    monkeypatch.setattr(views, "after_commit_notify", calls.append)
    return calls


def post(
    app: webtest.TestApp, path: str, token: str | None, body: Any, status: int
) -> webtest.TestResponse:
    headers = {"Token": token} if token else {}
    return app.post_json(f"/api/1.0/{path}/", body, headers=headers, status=status)


def problem(response: webtest.TestResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json
    return body


def count(db: Session, model: Any) -> int:
    return int(db.scalar(select(func.count()).select_from(model)) or 0)


# Templates -----------------------------------------------------------------


def test_owner_creates_a_template(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    body = {
        "name": "noop-two",
        "task_name": "noop",
        "task_data": {"children": 2},
        "priority": 5,
        "workspace": "System",
        "unknown_key": "ignored, as DRF does",
    }
    created = post(webapp, "workflow-template", world.owner, body, 201).json
    assert created == {
        "id": created["id"],
        "url": "/debusine/System/workflow-template/noop-two/",
        "name": "noop-two",
        "task_name": "noop",
        "workspace": "System",
        "task_data": {"children": 2},
        "priority": 5,
    }
    template = db_session.get(models.WorkflowTemplate, created["id"])
    assert template is not None
    assert template.workspace_id == world.system.id


def test_template_in_the_default_workspace(
    webapp: webtest.TestApp, world: World
) -> None:
    body = {"name": "plain", "task_name": "noop", "task_data": {}, "priority": 0}
    created = post(webapp, "workflow-template", world.owner, body, 201).json
    assert created["workspace"] == "System"


@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({"task_data": {"children": "two"}}, "task_data", "children"),
        ({"task_data": {"colour": "red"}}, "task_data", "colour"),
        ({"task_name": "no_such_workflow"}, "task_name", "no_such_workflow"),
        ({"name": "has space"}, "name", "invalid workflow template name"),
        ({"priority": "high"}, "priority", "integer"),
    ],
)
def test_bad_template_is_refused_naming_the_field(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    body: dict[str, Any],
    field: str,
    words: str,
) -> None:
    before = count(db_session, models.WorkflowTemplate)
    full = {"name": "t", "task_name": "noop", "task_data": {}, **body}
    answer = problem(post(webapp, "workflow-template", world.owner, full, 400))
    assert field in answer["validation_errors"]
    assert words in answer["detail"]
    assert count(db_session, models.WorkflowTemplate) == before


def test_duplicate_template_conflicts(webapp: webtest.TestApp, world: World) -> None:
    body = {"name": "twice", "task_name": "noop", "task_data": {}}
    post(webapp, "workflow-template", world.owner, body, 201)
    answer = problem(post(webapp, "workflow-template", world.owner, body, 409))
    assert "twice already exists" in answer["detail"]


def test_only_owners_create_templates(webapp: webtest.TestApp, world: World) -> None:
    body = {"name": "t", "task_name": "noop", "task_data": {}}
    answer = problem(post(webapp, "workflow-template", world.contributor, body, 403))
    assert "workspace owner" in answer["detail"]
    problem(post(webapp, "workflow-template", None, body, 403))
    # A private workspace one cannot see is missing, not forbidden.
    hidden = {**body, "workspace": "Private"}
    problem(post(webapp, "workflow-template", world.owner, hidden, 404))


# Workflows -------------------------------------------------------------------


@pytest.fixture
def template(world: World) -> models.WorkflowTemplate:
    return factories.WorkflowTemplateFactory(
        workspace=world.system,
        name="noop-fixed",
        task_name="noop",
        task_data={"children": 2},
        priority=7,
    )


def test_contributor_starts_a_workflow_template_keys_win(
    webapp: webtest.TestApp,
    world: World,
    template: models.WorkflowTemplate,
    db_session: Session,
    notified: list[Any],
) -> None:
    body = {
        "template_name": "noop-fixed",
        "task_data": {"children": 5, "callback": True},
        "workspace": "System",
    }
    created = post(webapp, "workflow", world.contributor, body, 201).json
    assert created["task_type"] == "Workflow"
    assert created["task_name"] == "noop"
    assert created["status"] == "pending"
    assert created["task_data"] == {"children": 2, "callback": True}
    assert created["priority_base"] == 7
    assert created["workspace"] == "System"
    work_request = db_session.get(models.WorkRequest, created["id"])
    assert work_request is not None
    assert work_request.workflow_template_id == template.id
    assert work_request.internal_collection_id is not None
    assert len(notified) == 1


@pytest.mark.parametrize(
    ("data", "words"),
    [
        ({"children": 1, "failing_children": [3]}, "failing_children"),
        ({"callback": "perhaps"}, "callback"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_bad_run_time_data_leaves_nothing(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    notified: list[Any],
    data: dict[str, Any],
    words: str,
) -> None:
    factories.WorkflowTemplateFactory(
        workspace=world.system, name="open", task_name="noop", task_data={}
    )
    before = (
        count(db_session, models.WorkRequest),
        count(db_session, models.Collection),
    )
    body = {"template_name": "open", "task_data": data}
    answer = problem(post(webapp, "workflow", world.contributor, body, 400))
    assert words in str(answer["validation_errors"]["task_data"])
    after = (
        count(db_session, models.WorkRequest),
        count(db_session, models.Collection),
    )
    assert after == before
    assert notified == []


def test_unknown_template_is_404(webapp: webtest.TestApp, world: World) -> None:
    body = {"template_name": "nope", "task_data": {}}
    answer = problem(post(webapp, "workflow", world.contributor, body, 404))
    assert "nope" in answer["detail"]


def test_viewers_cannot_start_workflows(
    webapp: webtest.TestApp, world: World, template: models.WorkflowTemplate
) -> None:
    body = {"template_name": "noop-fixed", "task_data": {}}
    problem(post(webapp, "workflow", world.viewer, body, 403))
    problem(post(webapp, "workflow", None, body, 403))
    problem(post(webapp, "workflow", world.contributor, {"task_data": {}}, 400))
