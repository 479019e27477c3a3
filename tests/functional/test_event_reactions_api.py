"""Event reactions given to the work-request API: notifications only."""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from debusine import models
from debusine.models.work_requests import NotificationMethod
from tests.storage.helpers import World, make_world


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


def post(app: webtest.TestApp, world: World, reactions: Any, status: int) -> Any:
    return app.post_json(
        "/api/1.0/work-request/",
        {"task_name": "noop", "workspace": "System", "event_reactions": reactions},
        headers={"Token": world.contributor},
        status=status,
    )


@pytest.mark.parametrize(
    ("reactions", "field"),
    [
        (
            {"on_failure": [{"action": "retry-with-delays", "delays": ["1h"]}]},
            "event_reactions.on_failure.0.action",
        ),
        (
            {"on_success": [{"action": "send-notification", "channel": "nope"}]},
            "event_reactions.on_success.0.channel",
        ),
        ({"on_finish": []}, "event_reactions.on_finish"),
    ],
)
def test_bad_reactions_are_a_problem_naming_the_field(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    reactions: dict[str, Any],
    field: str,
) -> None:
    before = db_session.scalar(select(func.count(models.WorkRequest.id)))
    response = post(webapp, world, reactions, 400)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["title"] == "Invalid event reactions"
    assert field in response.json["detail"]
    assert field in response.json["validation_errors"]
    assert db_session.scalar(select(func.count(models.WorkRequest.id))) == before


def test_notification_reaction_is_accepted(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    db_session.add(
        models.NotificationChannel(
            name="team",
            method=NotificationMethod.EMAIL,
            data={"from": "ci@example.org", "to": ["team@example.org"]},
        )
    )
    reactions = {"on_failure": [{"action": "send-notification", "channel": "team"}]}
    body = post(webapp, world, reactions, 200).json
    assert body["event_reactions"] == reactions
