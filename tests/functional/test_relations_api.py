"""/api/1.0/artifact-relation/: create, list and delete relations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import webtest
from sqlalchemy.orm import Session

from tests.storage.helpers import World, create_artifact, make_world


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_settings, "debusine.data_dir": str(tmp_path)}


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


def new_artifact(app: webtest.TestApp, token: str, **extra: Any) -> int:
    artifact_id: int = create_artifact(app, token, {}, **extra).json["id"]
    return artifact_id


def relate(
    app: webtest.TestApp,
    token: str | None,
    artifact: int,
    target: int,
    kind: str = "extends",
    status: int | None = None,
) -> Any:
    headers = {"Token": token} if token else {}
    return app.post_json(
        "/api/1.0/artifact-relation/",
        {"artifact": artifact, "target": target, "type": kind},
        headers=headers,
        status=status,
    )


def test_create_then_existing(webapp: webtest.TestApp, world: World) -> None:
    a = new_artifact(webapp, world.contributor)
    b = new_artifact(webapp, world.contributor)
    created = relate(webapp, world.contributor, a, b, "relates-to")
    assert created.status_int == 201
    assert created.json == {
        "id": created.json["id"],
        "artifact": a,
        "target": b,
        "type": "relates-to",
    }
    again = relate(webapp, world.contributor, a, b, "relates-to")
    assert again.status_int == 200
    assert again.json == created.json
    other = relate(webapp, world.contributor, a, b, "built-using")
    assert other.status_int == 201
    assert other.json["id"] != created.json["id"]


@pytest.mark.parametrize(
    "body",
    [
        {"artifact": 1, "target": 2, "type": "nonsense"},
        {"artifact": 1, "type": "extends"},
        {"artifact": "x", "target": 2, "type": "extends"},
    ],
)
def test_create_invalid_is_400(
    webapp: webtest.TestApp, world: World, body: dict[str, Any]
) -> None:
    response = webapp.post_json(
        "/api/1.0/artifact-relation/",
        body,
        headers={"Token": world.contributor},
        status=400,
    )
    assert response.headers["Content-Type"] == "application/problem+json"


def test_create_self_is_400(webapp: webtest.TestApp, world: World) -> None:
    a = new_artifact(webapp, world.contributor)
    relate(webapp, world.contributor, a, a, status=400)


def test_create_permissions(webapp: webtest.TestApp, world: World) -> None:
    a = new_artifact(webapp, world.contributor)
    b = new_artifact(webapp, world.contributor)
    secret = new_artifact(webapp, world.worker, workspace="Private")
    relate(webapp, None, a, b, status=403)
    relate(webapp, world.nobody, a, b, status=403)
    relate(webapp, world.viewer, a, b, status=403)
    relate(webapp, world.contributor, a, secret, status=404)
    relate(webapp, world.contributor, secret, a, status=404)
    relate(webapp, world.contributor, a, 999999, status=404)
    relate(webapp, world.worker, a, secret, status=201)
    relate(webapp, world.owner, a, b, status=201)


def test_list(webapp: webtest.TestApp, world: World) -> None:
    a = new_artifact(webapp, world.contributor)
    b = new_artifact(webapp, world.contributor)
    c = new_artifact(webapp, world.contributor)
    secret = new_artifact(webapp, world.worker, workspace="Private")
    r1 = relate(webapp, world.contributor, a, b).json
    r2 = relate(webapp, world.contributor, a, c, "built-using").json
    r3 = relate(webapp, world.contributor, c, b, "relates-to").json
    relate(webapp, world.worker, a, secret)
    assert webapp.get(f"/api/1.0/artifact-relation/?artifact={a}").json == [r1, r2]
    listed = webapp.get(f"/api/1.0/artifact-relation/?target_artifact={b}").json
    assert listed == [r1, r3]
    # The worker sees the relation to the private artifact too.
    as_worker = webapp.get(
        f"/api/1.0/artifact-relation/?artifact={a}", headers={"Token": world.worker}
    ).json
    assert len(as_worker) == 3
    webapp.get(f"/api/1.0/artifact-relation/?artifact={secret}", status=404)
    webapp.get(f"/api/1.0/artifact-relation/?target_artifact={secret}", status=404)
    webapp.get("/api/1.0/artifact-relation/", status=400)
    webapp.get("/api/1.0/artifact-relation/?artifact=x", status=400)
    webapp.get(
        f"/api/1.0/artifact-relation/?artifact={a}&target_artifact={b}", status=400
    )


def test_delete(webapp: webtest.TestApp, world: World) -> None:
    a = new_artifact(webapp, world.contributor)
    b = new_artifact(webapp, world.contributor)
    secret = new_artifact(webapp, world.worker, workspace="Private")
    relation = relate(webapp, world.contributor, a, b).json["id"]
    hidden = relate(webapp, world.worker, a, secret).json["id"]
    url = f"/api/1.0/artifact-relation/{relation}/"
    webapp.delete(url, status=403)
    webapp.delete(url, headers={"Token": world.viewer}, status=403)
    webapp.delete(
        f"/api/1.0/artifact-relation/{hidden}/",
        headers={"Token": world.contributor},
        status=404,
    )
    response = webapp.delete(url, headers={"Token": world.contributor}, status=204)
    assert response.body == b""
    webapp.delete(url, headers={"Token": world.contributor}, status=404)
    assert webapp.get(f"/api/1.0/artifact-relation/?artifact={a}").json == []
