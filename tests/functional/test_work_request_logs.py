"""/api/1.0/work-request/{id}/log/: follow a task's live log."""

from __future__ import annotations

from typing import Any

import pytest
import webtest
from sqlalchemy.orm import Session

from debusine import work_requests
from debusine.models import WorkRequest, WorkRequestResult, Workspace
from debusine.orchestration.logs import read_log, store_chunk, store_progress
from tests.storage.helpers import World, make_world


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


def noop(session: Session, workspace: Workspace) -> WorkRequest:
    return work_requests.create_work_request(
        session,
        workspace=workspace,
        task_type="Worker",
        task_name="noop",
        task_data={},
        created_by=None,
    )


def get_log(
    app: webtest.TestApp,
    work_request_id: int,
    token: str | None = None,
    status: int = 200,
    **params: Any,
) -> Any:
    headers = {"Token": token} if token else {}
    return app.get(
        f"/api/1.0/work-request/{work_request_id}/log/",
        params=params,
        headers=headers,
        status=status,
    )


def test_follow_a_running_log(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    wr = noop(db_session, world.system)
    empty = get_log(webapp, wr.id).json
    assert empty == {"chunks": [], "next": 0, "complete": False, "progress": None}

    store_chunk(db_session, wr.id, 0, "one\n")
    store_chunk(db_session, wr.id, 1, "err\n", "stderr")
    assert not store_chunk(db_session, wr.id, 1, "again\n", "stderr")  # duplicate
    store_progress(db_session, wr.id, 1, 0.5)
    store_progress(db_session, wr.id, 0, 0.1)  # older: ignored
    page = get_log(webapp, wr.id).json
    assert page == {
        "chunks": [
            {"name": "log", "sequence": 0, "data": "one\n"},
            {"name": "stderr", "sequence": 1, "data": "err\n"},
        ],
        "next": 2,
        "complete": False,
        "progress": 0.5,
    }
    assert get_log(webapp, wr.id, name="stderr").json["chunks"] == [
        {"name": "stderr", "sequence": 1, "data": "err\n"}
    ]
    assert get_log(webapp, wr.id, since=2).json["chunks"] == []

    store_chunk(db_session, wr.id, 2, "two\n")
    work_requests.mark_completed(db_session, wr, WorkRequestResult.SUCCESS)
    rest = get_log(webapp, wr.id, since=page["next"]).json
    assert rest["chunks"] == [{"name": "log", "sequence": 2, "data": "two\n"}]
    assert rest["next"] == 3
    assert rest["complete"] is True


def test_pages(webapp: webtest.TestApp, world: World, db_session: Session) -> None:
    wr = noop(db_session, world.system)
    for sequence in range(3):
        store_chunk(db_session, wr.id, sequence, f"{sequence}\n")
    work_requests.mark_completed(db_session, wr, WorkRequestResult.SUCCESS)
    first = read_log(db_session, wr, limit=2)
    assert [c["sequence"] for c in first.chunks] == [0, 1]
    assert not first.complete
    second = read_log(db_session, wr, since=first.next, limit=2)
    assert [c["sequence"] for c in second.chunks] == [2]
    assert second.complete


def test_a_page_never_splits_a_sequence(world: World, db_session: Session) -> None:
    wr = noop(db_session, world.system)
    store_chunk(db_session, wr.id, 0, "a")
    store_chunk(db_session, wr.id, 1, "b")
    store_chunk(db_session, wr.id, 1, "c", "stderr")
    first = read_log(db_session, wr, limit=2)
    assert [c["data"] for c in first.chunks] == ["a"]
    assert first.next == 1
    second = read_log(db_session, wr, since=first.next, limit=2)
    assert [c["data"] for c in second.chunks] == ["b", "c"]


def test_visibility(webapp: webtest.TestApp, world: World, db_session: Session) -> None:
    public = noop(db_session, world.system)
    private = noop(db_session, world.private)
    store_chunk(db_session, private.id, 0, "secret\n")
    assert get_log(webapp, public.id).json["chunks"] == []
    assert get_log(webapp, public.id, world.nobody).status_int == 200
    for token in (None, world.nobody, world.owner):
        problem = get_log(webapp, private.id, token, status=404)
        assert problem.content_type == "application/problem+json"
        assert "secret" not in problem.text
    # Same answer as for a work request that does not exist.
    assert get_log(webapp, private.id + 1000, status=404).json["title"] == "Not found"
    # Workers see every workspace.
    chunks = get_log(webapp, private.id, world.worker).json["chunks"]
    assert chunks == [{"name": "log", "sequence": 0, "data": "secret\n"}]


@pytest.mark.parametrize(
    "params", [{"since": "-1"}, {"since": "x"}, {"since": "9" * 30}, {"name": ""}]
)
def test_invalid_parameters(
    webapp: webtest.TestApp, world: World, db_session: Session, params: Any
) -> None:
    wr = noop(db_session, world.system)
    problem = get_log(webapp, wr.id, status=400, **params)
    assert problem.json["title"] == "Invalid request"


def test_documented(webapp: webtest.TestApp, world: World) -> None:
    spec = webapp.get("/api/openapi.json").json
    assert "get" in spec["paths"]["/api/1.0/work-request/{work_request_id}/log/"]
