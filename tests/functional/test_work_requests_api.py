"""The work-request routes of the JSON API (client-protocol.md routes 1-6, 9)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.models.work_requests import UnblockStrategy, WorkRequestStatus
from debusine.tasks import WorkRequestResult
from debusine.views.api import work_requests as views
from tests import factories
from tests.storage.helpers import World, make_world

PROBLEM = "application/problem+json"


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


def user_of(db: Session, key: str) -> models.User:
    token = db.scalars(
        select(models.Token).where(models.Token.hash == models.auth.hash_token_key(key))
    ).one()
    assert token.user is not None
    return token.user


def superuser_token(db: Session) -> str:
    token = factories.TokenFactory(user=factories.UserFactory(is_superuser=True))
    return str(token.key)


def create(
    app: webtest.TestApp, token: str | None, body: dict[str, Any], status: int = 200
) -> webtest.TestResponse:
    headers = {"Token": token} if token else {}
    return app.post_json("/api/1.0/work-request/", body, headers=headers, status=status)


def problem(response: webtest.TestResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json
    return body


def make_wr(world: World, **kwargs: Any) -> models.WorkRequest:
    kwargs.setdefault("workspace", world.system)
    return factories.WorkRequestFactory(**kwargs)


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, ...]]:
    """Record the orchestrator's after-commit hooks instead of calling them."""
    calls: list[tuple[Any, ...]] = []

    def recorder(name: str) -> Any:
        def record(tm: Any, *args: Any) -> None:
            calls.append((name, *args))

        return record

    for name in ("after_commit_notify", "after_commit_abort"):
        monkeypatch.setattr(views, name, recorder(name))
    return calls


# --- create ---------------------------------------------------------------


def test_create_returns_200_and_the_work_request(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    hooks: list[tuple[Any, ...]],
) -> None:
    body = create(
        webapp,
        world.contributor,
        {
            "task_name": "noop",
            "task_data": {"result": True},
            "event_reactions": {},
            "workspace": "System",
        },
    ).json
    assert body["task_name"] == "noop"
    assert body["task_type"] == "Worker"
    assert body["status"] == "pending"
    assert body["result"] == ""
    assert body["workspace"] == "System"
    assert body["scope"] == "debusine"
    assert body["url"] == f"/debusine/System/work-request/{body['id']}/"
    assert body["created_by"] == user_of(db_session, world.contributor).id
    assert body["artifacts"] == []
    assert body["created_at"].endswith("Z")
    for key in ("started_at", "completed_at", "duration", "worker", "aborted_by"):
        assert body[key] is None
    assert set(body) >= {
        "dynamic_task_data",
        "priority_base",
        "priority_adjustment",
        "workflow_data",
        "event_reactions",
        "task_data",
    }
    assert hooks == [("after_commit_notify",)]
    stored = db_session.get(models.WorkRequest, body["id"])
    assert stored is not None
    assert stored.status == WorkRequestStatus.PENDING


def test_create_in_default_workspace(webapp: webtest.TestApp, world: World) -> None:
    body = create(webapp, world.contributor, {"task_name": "noop"}).json
    assert body["workspace"] == "System"
    assert body["task_data"] == {}


def test_create_refuses_unknown_fields(webapp: webtest.TestApp, world: World) -> None:
    response = create(
        webapp,
        world.contributor,
        {"task_name": "noop", "task_data": {}, "zzz": 1, "priority": 3},
        status=400,
    )
    assert problem(response)["detail"] == "Invalid fields: priority, zzz"


def test_create_unknown_task(webapp: webtest.TestApp, world: World) -> None:
    response = create(
        webapp, world.contributor, {"task_name": "nosuchtask"}, status=400
    )
    assert "nosuchtask" in problem(response)["detail"]


def test_create_server_task_needs_superuser(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    response = create(
        webapp, world.contributor, {"task_name": "servernoop"}, status=400
    )
    assert "servernoop" in problem(response)["detail"]
    body = create(webapp, superuser_token(db_session), {"task_name": "servernoop"}).json
    assert body["task_type"] == "Server"


def test_create_bad_task_data_names_the_field(
    webapp: webtest.TestApp, world: World
) -> None:
    response = create(
        webapp,
        world.contributor,
        {"task_name": "noop", "task_data": {"result": "maybe", "bogus": 1}},
        status=400,
    )
    body = problem(response)
    assert "result" in body["detail"]
    assert "bogus" in body["detail"]
    assert set(body["validation_errors"]["task_data"]) == {"result", "bogus"}


def test_create_missing_task_name(webapp: webtest.TestApp, world: World) -> None:
    response = create(webapp, world.contributor, {"task_data": {}}, status=400)
    assert "task_name" in problem(response)["detail"]


def test_create_not_json(webapp: webtest.TestApp, world: World) -> None:
    response = webapp.post(
        "/api/1.0/work-request/",
        b"{not json",
        headers={"Token": world.contributor, "Content-Type": "application/json"},
        status=400,
    )
    assert problem(response)["title"] == "Invalid JSON"


@pytest.mark.parametrize("who", ["viewer", "nobody", "worker"])
def test_create_needs_contributor(
    webapp: webtest.TestApp, world: World, who: str
) -> None:
    create(webapp, getattr(world, who), {"task_name": "noop"}, status=403)


def test_create_anonymous(webapp: webtest.TestApp, world: World) -> None:
    create(webapp, None, {"task_name": "noop"}, status=403)


def test_create_in_invisible_workspace(webapp: webtest.TestApp, world: World) -> None:
    create(
        webapp,
        world.contributor,
        {"task_name": "noop", "workspace": "Private"},
        status=404,
    )


# --- show and list ----------------------------------------------------------


def test_show(webapp: webtest.TestApp, world: World) -> None:
    worker = factories.WorkerFactory(name="builder")
    started = dt.datetime(2030, 1, 1, 12, 0, tzinfo=dt.UTC)
    wr = make_wr(
        world,
        status=WorkRequestStatus.COMPLETED,
        result=WorkRequestResult.SUCCESS,
        worker=worker,
        started_at=started,
        completed_at=started + dt.timedelta(seconds=42),
    )
    artifact = factories.ArtifactFactory(
        workspace=world.system, created_by_work_request_id=wr.id
    )
    body = webapp.get(
        f"/api/1.0/work-request/{wr.id}/", headers={"Token": world.viewer}
    ).json
    assert body["id"] == wr.id
    assert body["status"] == "completed"
    assert body["result"] == "success"
    assert body["worker"] == "builder"
    assert body["duration"] == 42
    assert body["started_at"] == "2030-01-01T12:00:00Z"
    assert body["artifacts"] == [artifact.id]


def test_show_missing_and_invisible(webapp: webtest.TestApp, world: World) -> None:
    private = make_wr(world, workspace=world.private)
    response = webapp.get(
        f"/api/1.0/work-request/{private.id}/",
        headers={"Token": world.viewer},
        status=404,
    )
    assert problem(response)["title"] == "Not found"
    webapp.get("/api/1.0/work-request/999999999/", status=404)


def test_list_paginates_newest_first(webapp: webtest.TestApp, world: World) -> None:
    base = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    ids = [
        make_wr(world, created_at=base + dt.timedelta(minutes=i)).id for i in range(12)
    ]
    make_wr(world, workspace=world.private)  # invisible to the viewer
    headers = {"Token": world.viewer}
    page = webapp.get("/api/1.0/work-request/", headers=headers).json
    assert page["previous"] is None
    assert [r["id"] for r in page["results"]] == ids[::-1][:10]
    assert page["next"].startswith("http://testserver/api/1.0/work-request/?")
    second = webapp.get(page["next"], headers=headers).json
    assert [r["id"] for r in second["results"]] == ids[::-1][10:]
    assert second["next"] is None


def test_list_filters(webapp: webtest.TestApp, world: World) -> None:
    pending = make_wr(world)
    done = make_wr(
        world,
        status=WorkRequestStatus.COMPLETED,
        result=WorkRequestResult.SUCCESS,
    )
    private = make_wr(world, workspace=world.private)
    headers = {"Token": world.owner}
    page = webapp.get("/api/1.0/work-request/?status=completed", headers=headers).json
    assert [r["id"] for r in page["results"]] == [done.id]
    page = webapp.get("/api/1.0/work-request/?workspace=System", headers=headers).json
    assert {r["id"] for r in page["results"]} == {pending.id, done.id}
    assert private.id not in {r["id"] for r in page["results"]}
    webapp.get("/api/1.0/work-request/?workspace=Private", headers=headers, status=404)
    response = webapp.get(
        "/api/1.0/work-request/?status=bogus", headers=headers, status=400
    )
    assert "bogus" in problem(response)["detail"]


# --- PATCH priority -----------------------------------------------------------


def patch(
    app: webtest.TestApp, wr_id: int, token: str | None, body: Any, status: int = 200
) -> webtest.TestResponse:
    headers = {"Token": token} if token else {}
    return app.patch_json(
        f"/api/1.0/work-request/{wr_id}/", body, headers=headers, status=status
    )


def test_patch_rights(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    creator = user_of(db_session, world.contributor)
    wr = make_wr(world, created_by=creator)
    assert (
        patch(webapp, wr.id, world.contributor, {"priority_adjustment": -5}).json[
            "priority_adjustment"
        ]
        == -5
    )
    response = patch(
        webapp, wr.id, world.contributor, {"priority_adjustment": 1}, status=403
    )
    assert "positive" in problem(response)["detail"]
    # Not the creator: not even a workspace owner may change it.
    patch(webapp, wr.id, world.owner, {"priority_adjustment": -1}, status=403)
    patch(webapp, wr.id, None, {"priority_adjustment": -1}, status=403)
    body = patch(
        webapp, wr.id, superuser_token(db_session), {"priority_adjustment": 10}
    ).json
    assert body["priority_adjustment"] == 10
    db_session.refresh(wr)
    assert wr.priority_adjustment == 10


def test_patch_invalid(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    wr = make_wr(world, created_by=user_of(db_session, world.contributor))
    for body in ({}, {"priority_adjustment": "3"}, {"priority_adjustment": 1.5}):
        response = patch(webapp, wr.id, world.contributor, body, status=400)
        assert "priority_adjustment" in problem(response)["detail"]


# --- retry -------------------------------------------------------------------------


def post(
    app: webtest.TestApp,
    url: str,
    token: str | None,
    body: Any = None,
    status: int = 200,
) -> webtest.TestResponse:
    headers = {"Token": token} if token else {}
    return app.post_json(url, body or {}, headers=headers, status=status)


def test_retry(
    webapp: webtest.TestApp, world: World, hooks: list[tuple[Any, ...]]
) -> None:
    wr = make_wr(
        world, status=WorkRequestStatus.COMPLETED, result=WorkRequestResult.FAILURE
    )
    url = f"/api/1.0/work-request/{wr.id}/retry/"
    post(webapp, url, world.viewer, status=403)
    post(webapp, url, None, status=403)
    body = post(webapp, url, world.contributor).json
    assert body["id"] != wr.id
    assert body["status"] == "pending"
    assert hooks == [("after_commit_notify",)]
    response = post(webapp, url, world.contributor, status=409)
    assert "superseded" in problem(response)["detail"]


def test_retry_successful_is_a_conflict(webapp: webtest.TestApp, world: World) -> None:
    wr = make_wr(
        world, status=WorkRequestStatus.COMPLETED, result=WorkRequestResult.SUCCESS
    )
    response = post(
        webapp, f"/api/1.0/work-request/{wr.id}/retry/", world.owner, status=409
    )
    assert problem(response)["title"] == "Conflict"


# --- abort -------------------------------------------------------------------------


def test_abort_by_owner_stops_running_work(
    webapp: webtest.TestApp, world: World, hooks: list[tuple[Any, ...]]
) -> None:
    worker = factories.WorkerFactory()
    wr = make_wr(world, status=WorkRequestStatus.RUNNING, worker=worker)
    url = f"/api/1.0/work-request/{wr.id}/abort/"
    post(webapp, url, world.contributor, status=403)  # not the creator
    post(webapp, url, world.viewer, status=403)
    body = post(webapp, url, world.owner).json
    assert body["status"] == "aborted"
    assert body["aborted_by"] is not None
    assert hooks == [("after_commit_abort", wr.id, worker.id)]
    # Aborting again is a no-op.
    assert post(webapp, url, world.owner).json["status"] == "aborted"


def test_abort_by_creator(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    wr = make_wr(world, created_by=user_of(db_session, world.contributor))
    body = post(webapp, f"/api/1.0/work-request/{wr.id}/abort/", world.contributor)
    assert body.json["status"] == "aborted"


def test_abort_completed_is_a_conflict(webapp: webtest.TestApp, world: World) -> None:
    wr = make_wr(
        world, status=WorkRequestStatus.COMPLETED, result=WorkRequestResult.SUCCESS
    )
    response = post(
        webapp, f"/api/1.0/work-request/{wr.id}/abort/", world.owner, status=409
    )
    assert "completed" in problem(response)["detail"]


def test_abort_invisible(webapp: webtest.TestApp, world: World) -> None:
    wr = make_wr(world, workspace=world.private)
    post(webapp, f"/api/1.0/work-request/{wr.id}/abort/", world.owner, status=404)


# --- unblock -----------------------------------------------------------------------


def blocked(world: World) -> models.WorkRequest:
    return make_wr(
        world, status=WorkRequestStatus.BLOCKED, unblock_strategy=UnblockStrategy.MANUAL
    )


def test_unblock_notes_then_accept(
    webapp: webtest.TestApp, world: World, hooks: list[tuple[Any, ...]]
) -> None:
    wr = blocked(world)
    url = f"/api/1.0/work-request/{wr.id}/unblock/"
    post(webapp, url, world.contributor, {"notes": "hm"}, status=403)
    body = post(webapp, url, world.owner, {"notes": "looks fine"}).json
    assert body["status"] == "blocked"
    assert hooks == []
    body = post(webapp, url, world.owner, {"action": "accept", "notes": None}).json
    assert body["status"] == "pending"
    log = body["workflow_data"]["manual_unblock"]["log"]
    assert [(e["action"], e["notes"]) for e in log] == [
        (None, "looks fine"),
        ("accept", None),
    ]
    assert hooks == [("after_commit_notify",)]
    response = post(webapp, url, world.owner, {"action": "accept"}, status=409)
    assert "pending" in problem(response)["detail"]


def test_unblock_reject(webapp: webtest.TestApp, world: World) -> None:
    wr = blocked(world)
    body = post(
        webapp,
        f"/api/1.0/work-request/{wr.id}/unblock/",
        world.owner,
        {"action": "reject", "notes": "no"},
    ).json
    assert body["status"] == "aborted"


def test_unblock_invalid(webapp: webtest.TestApp, world: World) -> None:
    wr = blocked(world)
    url = f"/api/1.0/work-request/{wr.id}/unblock/"
    response = post(webapp, url, world.owner, {"action": "maybe"}, status=400)
    assert "action" in problem(response)["detail"]
    deps = make_wr(world, status=WorkRequestStatus.BLOCKED)
    response = post(
        webapp, f"/api/1.0/work-request/{deps.id}/unblock/", world.owner, status=409
    )
    assert "manual" in problem(response)["detail"]


def test_documented_in_openapi(webapp: webtest.TestApp, world: World) -> None:
    paths = webapp.get("/api/openapi.json").json["paths"]
    assert {"get", "post"} <= set(paths["/api/1.0/work-request/"])
    assert {"get", "patch"} <= set(paths["/api/1.0/work-request/{work_request_id}/"])
    for action in ("retry", "abort", "unblock"):
        assert "post" in paths[f"/api/1.0/work-request/{{work_request_id}}/{action}/"]
    assert "get" in paths["/api/1.0/open-metrics/"]


def test_list_completed_at_since(webapp: webtest.TestApp, world: World) -> None:
    base = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    for minutes in (1, 5):
        make_wr(
            world,
            status=WorkRequestStatus.COMPLETED,
            result=WorkRequestResult.SUCCESS,
            completed_at=base + dt.timedelta(minutes=minutes),
        )
    url = "/api/1.0/work-request/?completed_at_since="
    page = webapp.get(url + "2030-01-01T00:03:00Z").json
    assert [r["completed_at"] for r in page["results"]] == ["2030-01-01T00:05:00Z"]
    assert len(webapp.get(url + "2030-01-01T00:00:00").json["results"]) == 2
    response = webapp.get(url + "yesterday", status=400)
    assert "completed_at_since" in problem(response)["detail"]
