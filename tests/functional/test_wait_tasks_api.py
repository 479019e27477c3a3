"""The API that completes wait tasks: external-debsign (route 7) and confirm."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import webtest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.models import TaskType, WorkRequestResult, WorkRequestStatus
from debusine.views.api import wait_tasks as views
from debusine.work_requests import add_dependency
from tests import factories
from tests.functional.test_work_requests_api import user_of
from tests.storage.helpers import World, make_world

PROBLEM = "application/problem+json"
RUNNING = WorkRequestStatus.RUNNING


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


@pytest.fixture
def notified(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    monkeypatch.setattr(views, "after_commit_notify", calls.append)
    return calls


def post(
    app: webtest.TestApp, path: str, token: str | None, body: Any, status: int
) -> webtest.TestResponse:
    headers = {"Token": token} if token else {}
    return app.post_json(path, body, headers=headers, status=status)


def problem(response: webtest.TestResponse) -> dict[str, Any]:
    assert response.headers["Content-Type"] == PROBLEM
    body: dict[str, Any] = response.json
    return body


def wait_request(world: World, name: str, **kwargs: Any) -> models.WorkRequest:
    kwargs.setdefault("status", RUNNING)
    kwargs.setdefault("task_data", {})
    return factories.WorkRequestFactory(
        workspace=world.system, task_type=TaskType.WAIT, task_name=name, **kwargs
    )


# Confirm ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "result"),
    [("accept", WorkRequestResult.SUCCESS), ("reject", WorkRequestResult.FAILURE)],
)
def test_contributor_decides_and_the_decision_is_recorded(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    notified: list[Any],
    action: str,
    result: WorkRequestResult,
) -> None:
    confirm = wait_request(world, "confirm")
    after = factories.WorkRequestFactory(workspace=world.system)
    add_dependency(db_session, after, confirm)
    db_session.flush()
    assert after.status == WorkRequestStatus.BLOCKED
    before = dt.datetime.now(dt.UTC)

    answer = post(
        webapp,
        f"/api/1.0/work-request/{confirm.id}/confirm/",
        world.contributor,
        {"action": action, "comment": "lintian is clean"},
        200,
    ).json

    assert answer["status"] == "completed"
    assert answer["result"] == result.value
    decision = answer["output_data"]["confirmation"]
    reviewer = user_of(db_session, world.contributor)
    assert decision["action"] == action
    assert decision["user"] == reviewer.username
    assert decision["user_id"] == reviewer.id
    assert decision["comment"] == "lintian is clean"
    assert dt.datetime.fromisoformat(decision["timestamp"]) >= before
    db_session.expire_all()
    # Accepted: what waited may run; rejected: it is aborted.
    expected = (
        WorkRequestStatus.PENDING if action == "accept" else WorkRequestStatus.ABORTED
    )
    assert after.status == expected
    assert len(notified) == 1


def test_viewer_cannot_confirm(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    confirm = wait_request(world, "confirm")
    answer = problem(
        post(
            webapp,
            f"/api/1.0/work-request/{confirm.id}/confirm/",
            world.viewer,
            {"action": "accept"},
            403,
        )
    )
    assert "contributor" in answer["detail"]
    db_session.expire_all()
    assert confirm.status == RUNNING


@pytest.mark.parametrize(
    ("kwargs", "body", "status", "words"),
    [
        ({}, {"action": "maybe"}, 400, "action"),
        ({}, {}, 400, "action"),
        ({"status": WorkRequestStatus.PENDING}, {"action": "accept"}, 409, "pending"),
        ({"task_name": "delay"}, {"action": "accept"}, 400, "not a Wait confirm"),
    ],
)
def test_confirm_refuses(
    webapp: webtest.TestApp,
    world: World,
    kwargs: dict[str, Any],
    body: dict[str, Any],
    status: int,
    words: str,
) -> None:
    name = kwargs.pop("task_name", "confirm")
    if name == "delay":
        kwargs["task_data"] = {"delay_until": "2030-01-01T00:00:00+00:00"}
    confirm = wait_request(world, name, **kwargs)
    answer = problem(
        post(
            webapp,
            f"/api/1.0/work-request/{confirm.id}/confirm/",
            world.owner,
            body,
            status,
        )
    )
    assert words in answer["detail"]


# External signature ----------------------------------------------------------


def upload(
    workspace: models.Workspace,
    files: dict[str, models.File],
    *,
    created_by: models.User | None,
    category: str = "debian:upload",
    complete: bool = True,
) -> models.Artifact:
    artifact = factories.ArtifactFactory(
        workspace=workspace, category=category, created_by=created_by
    )
    for path, file in files.items():
        artifact.files.append(
            models.FileInArtifact(path=path, file=file, complete=complete)
        )
    factories._current_session().flush()
    return artifact


@pytest.fixture
def signing(world: World, db_session: Session) -> dict[str, Any]:
    """An unsigned upload, its externaldebsign (created by the contributor)."""
    creator = user_of(db_session, world.contributor)
    files = {
        name: factories.FileFactory()
        for name in ("hello_1.0-1.dsc", "hello_1.0.orig.tar.gz", "hello_1.0-1.changes")
    }
    unsigned = upload(world.system, files, created_by=None)
    request = wait_request(
        world,
        "externaldebsign",
        task_data={"unsigned": unsigned.id},
        dynamic_task_data={"unsigned_id": unsigned.id},
        created_by=creator,
    )
    return {"creator": creator, "files": files, "unsigned": unsigned, "wr": request}


def signed_files(signing: dict[str, Any], **changed: Any) -> dict[str, models.File]:
    files = dict(signing["files"])
    files.update(changed)
    return files


def provide(
    app: webtest.TestApp,
    token: str,
    signing: dict[str, Any],
    artifact: Any,
    status: int,
) -> webtest.TestResponse:
    return post(
        app,
        f"/api/1.0/work-request/{signing['wr'].id}/external-debsign/",
        token,
        {"signed_artifact": artifact.id},
        status,
    )


def test_get_answers_the_upload_to_sign(
    webapp: webtest.TestApp, world: World, signing: dict[str, Any]
) -> None:
    answer = webapp.get(
        f"/api/1.0/work-request/{signing['wr'].id}/external-debsign/",
        headers={"Token": world.viewer},
    ).json
    assert answer["dynamic_task_data"]["unsigned_id"] == signing["unsigned"].id
    assert answer["task_name"] == "externaldebsign"


def test_creator_provides_the_signed_upload(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    signing: dict[str, Any],
    notified: list[Any],
) -> None:
    files = signed_files(
        signing,
        **{
            "hello_1.0-1.changes": factories.FileFactory(),
            "hello_1.0-1.dsc": factories.FileFactory(),
        },
    )
    signed = upload(world.system, files, created_by=signing["creator"])

    answer = provide(webapp, world.contributor, signing, signed, 200).json

    assert (answer["status"], answer["result"]) == ("completed", "success")
    assert answer["artifacts"] == [signed.id]
    relation = db_session.scalars(
        select(models.ArtifactRelation).where(
            models.ArtifactRelation.artifact_id == signed.id
        )
    ).one()
    assert relation.target_id == signing["unsigned"].id
    assert relation.type == "relates-to"
    assert len(notified) == 1


@pytest.mark.parametrize(
    ("case", "words"),
    [
        ("unchanged", "is the unsigned one"),
        ("new file", "does not: extra.txt"),
        ("missing file", "lacks files"),
        ("tarball changed", "also changes: hello_1.0.orig.tar.gz"),
        ("not an upload", "not a debian:upload"),
        ("incomplete", "missing the contents"),
        ("someone else's", "not an artifact you created"),
    ],
)
def test_bad_signed_upload_is_refused(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    signing: dict[str, Any],
    case: str,
    words: str,
) -> None:
    changes = {"hello_1.0-1.changes": factories.FileFactory()}
    files = signed_files(signing, **changes)
    kwargs: dict[str, Any] = {"created_by": signing["creator"]}
    if case == "unchanged":
        files = signed_files(signing)
    elif case == "new file":
        files["extra.txt"] = factories.FileFactory()
    elif case == "missing file":
        del files["hello_1.0.orig.tar.gz"]
    elif case == "tarball changed":
        files["hello_1.0.orig.tar.gz"] = factories.FileFactory()
    elif case == "not an upload":
        kwargs["category"] = "debian:source-package"
    elif case == "incomplete":
        kwargs["complete"] = False
    elif case == "someone else's":
        kwargs["created_by"] = user_of(db_session, world.owner)
    signed = upload(world.system, files, **kwargs)

    answer = problem(provide(webapp, world.contributor, signing, signed, 400))

    assert words in answer["detail"]
    assert "signed_artifact" in answer["validation_errors"]
    db_session.expire_all()
    assert signing["wr"].status == RUNNING
    assert signed.created_by_work_request_id is None


def test_only_the_creator_may_provide_it(
    webapp: webtest.TestApp, world: World, signing: dict[str, Any]
) -> None:
    signed = upload(world.system, signed_files(signing), created_by=None)
    answer = problem(provide(webapp, world.owner, signing, signed, 403))
    assert "Only the creator" in answer["detail"]
