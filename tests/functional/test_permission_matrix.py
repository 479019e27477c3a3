"""Every API route against every kind of caller, on a private workspace.

Callers: anonymous, a viewer, a contributor and an owner of the workspace,
the owner of a workspace in another scope, and a worker. A private
workspace must look missing (404) to whoever may not see it, and only
contributors, owners and workers may write.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pyramid.interfaces import IRoutesMapper
from sqlalchemy.orm import Session

from debusine import models
from tests import factories
from tests.conftest import TestApp

CALLERS = ("anonymous", "viewer", "contributor", "owner", "other_scope", "worker")
CONTENT = b"hello\n"
DIGEST = hashlib.sha256(CONTENT).hexdigest()


@dataclass
class Setup:
    tokens: dict[str, str | None]
    artifact_id: int
    target_id: int
    collection_id: int
    # Work requests in Lab: one created by the owner, an aborted one (to
    # retry) and one blocked for a manual review (to unblock).
    work_request_id: int = 0
    aborted_id: int = 0
    blocked_id: int = 0
    # Running wait tasks: an externaldebsign created by the owner, a confirm.
    debsign_id: int = 0
    confirm_id: int = 0


def grant(session: Session, workspace: models.Workspace, role: str) -> str:
    user = factories.UserFactory()
    group = factories.GroupFactory(scope=workspace.scope)
    session.add(models.GroupMembership(group=group, user=user))
    session.add(
        models.WorkspaceRole(
            workspace=workspace, group=group, role=models.WorkspaceRoles(role)
        )
    )
    session.flush()
    return str(factories.TokenFactory(user=user).key)


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_settings, "debusine.data_dir": str(tmp_path)}


@pytest.fixture
def setup(webapp: TestApp, db_session: Session) -> Setup:
    scope = factories.ScopeFactory(name="debusine")
    lab = factories.WorkspaceFactory(scope=scope, name="Lab")
    elsewhere = factories.WorkspaceFactory(name="Elsewhere")
    tokens: dict[str, str | None] = {
        "anonymous": None,
        "viewer": grant(db_session, lab, "viewer"),
        "contributor": grant(db_session, lab, "contributor"),
        "owner": grant(db_session, lab, "owner"),
        "other_scope": grant(db_session, elsewhere, "owner"),
        "worker": str(factories.WorkerFactory().token.key),
    }
    owner = {"Token": str(tokens["owner"]), "X-Debusine-Scope": "debusine"}
    ids = []
    for _ in range(2):
        created = webapp.post_json(
            "/api/1.0/artifact/",
            {
                "category": "debusine:test",
                "workspace": "Lab",
                "files": {
                    "hello.txt": {"size": len(CONTENT), "checksums": {"sha256": DIGEST}}
                },
                "data": {},
            },
            headers=owner,
        ).json
        ids.append(created["id"])
    webapp.put(
        f"/api/1.0/artifact/{ids[0]}/files/hello.txt/",
        CONTENT,
        headers={"Token": str(tokens["owner"])},
        status=201,
    )
    lab_collection = factories.CollectionFactory(
        workspace=lab, name="sid", category="debian:suite"
    )
    created = webapp.post_json(
        "/api/1.0/work-request/",
        {"task_name": "noop", "task_data": {}, "workspace": "Lab"},
        headers=owner,
    ).json
    aborted = factories.WorkRequestFactory(
        workspace=lab, status=models.WorkRequestStatus.ABORTED
    )
    blocked = factories.WorkRequestFactory(
        workspace=lab,
        status=models.WorkRequestStatus.BLOCKED,
        unblock_strategy=models.UnblockStrategy.MANUAL,
    )
    factories.WorkflowTemplateFactory(workspace=lab, name="noop", task_name="noop")
    owner_user = db_session.get(models.WorkRequest, created["id"]).created_by
    debsign = factories.WorkRequestFactory(
        workspace=lab,
        task_type=models.TaskType.WAIT,
        task_name="externaldebsign",
        task_data={"unsigned": ids[1]},
        status=models.WorkRequestStatus.RUNNING,
        dynamic_task_data={"unsigned_id": ids[1]},
        created_by=owner_user,
    )
    confirm = factories.WorkRequestFactory(
        workspace=lab,
        task_type=models.TaskType.WAIT,
        task_name="confirm",
        task_data={},
        status=models.WorkRequestStatus.RUNNING,
    )
    return Setup(
        tokens,
        ids[0],
        ids[1],
        lab_collection.id,
        work_request_id=created["id"],
        aborted_id=aborted.id,
        blocked_id=blocked.id,
        debsign_id=debsign.id,
        confirm_id=confirm.id,
    )


Action = Callable[[TestApp, dict[str, str], Setup], int]


def call(
    app: TestApp, method: str, url: str, headers: dict[str, str], **kw: Any
) -> int:
    response = app.request(
        url, method=method, headers=headers, expect_errors=True, **kw
    )
    if response.status_int >= 400:
        assert response.headers["Content-Type"] == "application/problem+json", url
    return int(response.status_int)


def json_call(
    app: TestApp, method: str, url: str, headers: dict[str, str], body: Any
) -> int:
    return call(
        app,
        method,
        url,
        {**headers, "Content-Type": "application/json"},
        body=json.dumps(body).encode(),
    )


ACTIONS: dict[str, Action] = {
    "show workspace": lambda a, h, s: call(a, "GET", "/api/1.0/workspace/Lab/", h),
    "get inheritance": lambda a, h, s: call(
        a, "GET", "/api/1.0/workspace/Lab/inheritance/", h
    ),
    "set inheritance": lambda a, h, s: json_call(
        a, "POST", "/api/1.0/workspace/Lab/inheritance/", h, {"chain": []}
    ),
    "create artifact": lambda a, h, s: json_call(
        a,
        "POST",
        "/api/1.0/artifact/",
        h,
        {"category": "debusine:test", "workspace": "Lab", "files": {}, "data": {}},
    ),
    "get artifact": lambda a, h, s: call(
        a, "GET", f"/api/1.0/artifact/{s.artifact_id}/", h
    ),
    "upload probe": lambda a, h, s: call(
        a,
        "PUT",
        f"/api/1.0/artifact/{s.target_id}/files/hello.txt/",
        {**h, "Content-Range": f"bytes */{len(CONTENT)}"},
    ),
    "download file": lambda a, h, s: call(
        a, "GET", f"/debusine/Lab/artifact/{s.artifact_id}/download/hello.txt", h
    ),
    "download tarball": lambda a, h, s: call(
        a, "GET", f"/debusine/Lab/artifact/{s.artifact_id}/download/?archive=tar.gz", h
    ),
    "create relation": lambda a, h, s: json_call(
        a,
        "POST",
        "/api/1.0/artifact-relation/",
        h,
        {"artifact": s.artifact_id, "target": s.target_id, "type": "relates-to"},
    ),
    "list collections": lambda a, h, s: call(
        a, "GET", "/api/1.0/collection/?workspace=Lab", h
    ),
    "show collection": lambda a, h, s: call(
        a, "GET", f"/api/1.0/collection/{s.collection_id}/", h
    ),
    "collection items": lambda a, h, s: call(
        a, "GET", f"/api/1.0/collection/{s.collection_id}/items/", h
    ),
    "lookup": lambda a, h, s: json_call(
        a,
        "POST",
        "/api/1.0/lookup/single/",
        h,
        {"lookup": "sid@debian:suite", "workspace": "Lab"},
    ),
    "list work requests": lambda a, h, s: call(
        a, "GET", "/api/1.0/work-request/?workspace=Lab", h
    ),
    "show work request": lambda a, h, s: call(
        a, "GET", f"/api/1.0/work-request/{s.work_request_id}/", h
    ),
    "create work request": lambda a, h, s: json_call(
        a,
        "POST",
        "/api/1.0/work-request/",
        h,
        {"task_name": "noop", "task_data": {}, "workspace": "Lab"},
    ),
    "lower priority": lambda a, h, s: json_call(
        a,
        "PATCH",
        f"/api/1.0/work-request/{s.work_request_id}/",
        h,
        {"priority_adjustment": -1},
    ),
    "retry work request": lambda a, h, s: json_call(
        a, "POST", f"/api/1.0/work-request/{s.aborted_id}/retry/", h, {}
    ),
    "unblock work request": lambda a, h, s: json_call(
        a,
        "POST",
        f"/api/1.0/work-request/{s.blocked_id}/unblock/",
        h,
        {"notes": "seen", "action": None},
    ),
    "abort work request": lambda a, h, s: json_call(
        a, "POST", f"/api/1.0/work-request/{s.work_request_id}/abort/", h, {}
    ),
    "create workflow template": lambda a, h, s: json_call(
        a,
        "POST",
        "/api/1.0/workflow-template/",
        h,
        {"name": "more", "task_name": "noop", "task_data": {}, "workspace": "Lab"},
    ),
    "create workflow": lambda a, h, s: json_call(
        a,
        "POST",
        "/api/1.0/workflow/",
        h,
        {"template_name": "noop", "task_data": {}, "workspace": "Lab"},
    ),
    "get external-debsign": lambda a, h, s: call(
        a, "GET", f"/api/1.0/work-request/{s.debsign_id}/external-debsign/", h
    ),
    "post external-debsign": lambda a, h, s: json_call(
        a,
        "POST",
        f"/api/1.0/work-request/{s.debsign_id}/external-debsign/",
        h,
        {"signed_artifact": s.artifact_id},
    ),
    "confirm work request": lambda a, h, s: json_call(
        a,
        "POST",
        f"/api/1.0/work-request/{s.confirm_id}/confirm/",
        h,
        {"action": "accept", "comment": "looks good"},
    ),
    "open metrics": lambda a, h, s: call(a, "GET", "/api/1.0/open-metrics/", h),
}

# Expected status per caller, in CALLERS order.
READ = (404, 200, 200, 200, 404, 200)
EXPECTED: dict[str, tuple[int, ...]] = {
    "show workspace": READ,
    "get inheritance": READ,
    "set inheritance": (404, 403, 403, 200, 404, 403),
    "create artifact": (403, 403, 201, 201, 404, 201),
    "get artifact": READ,
    "upload probe": (404, 403, 206, 206, 404, 206),
    "download file": READ,
    "download tarball": READ,
    # The contributor creates the relation; the owner and the worker then
    # get the existing one (200), as the client protocol says.
    "create relation": (403, 403, 201, 200, 404, 200),
    "list collections": READ,
    "show collection": READ,
    "collection items": READ,
    "lookup": READ,
    "list work requests": READ,
    "show work request": READ,
    "create work request": (403, 403, 200, 200, 404, 403),
    # Only the creator (here the owner) may lower it; raising needs a superuser.
    "lower priority": (404, 403, 403, 200, 404, 403),
    # The contributor's retry supersedes it: the owner's then conflicts.
    "retry work request": (404, 403, 200, 409, 404, 403),
    "unblock work request": (404, 403, 403, 200, 404, 403),
    # The owner is both the creator and a workspace owner.
    "abort work request": (404, 403, 403, 200, 404, 403),
    # Templates fix what contributors may start: owners only.
    "create workflow template": (403, 403, 403, 201, 404, 403),
    "create workflow": (403, 403, 201, 201, 404, 403),
    "get external-debsign": (403, 200, 200, 200, 404, 200),
    # Only the creator (the owner) may; its artifact is no debian:upload.
    "post external-debsign": (403, 403, 403, 400, 404, 403),
    # The contributor accepts it: the owner's answer then conflicts.
    "confirm work request": (403, 403, 200, 409, 404, 403),
    # Public, as upstream: counts only, nothing private.
    "open metrics": (200, 200, 200, 200, 200, 200),
}


@pytest.mark.parametrize("action", sorted(ACTIONS))
def test_permission_matrix(webapp: TestApp, setup: Setup, action: str) -> None:
    got = []
    for caller in CALLERS:
        token = setup.tokens[caller]
        headers = {"X-Debusine-Scope": "debusine"}
        if token is not None:
            headers["Token"] = token
        got.append(ACTIONS[action](webapp, headers, setup))
    assert dict(zip(CALLERS, got, strict=True)) == dict(
        zip(CALLERS, EXPECTED[action], strict=True)
    )


def test_every_api_route_is_in_the_matrix(webapp: TestApp) -> None:
    """A new route must join the matrix (or be listed here as exempt)."""
    exempt = {
        "api.whoami",  # answers everyone about themselves
        "api.openapi",  # public description
        "api.workspaces",  # lists only what the caller may see (tested apart)
        "api.artifact.noslash",  # a redirect to api.artifact
        "api.relations",  # POST in the matrix; GET filters (tested apart)
        "api.relation",  # DELETE: tested in test_relations_api
        "api.lookup.multiple",  # same checks as api.lookup.single
        "api.artifact.upload",  # "upload probe"
        "artifact.download",  # "download file", "download tarball"
        "api.work_request.log",  # tested in test_work_request_logs
    }
    covered = {
        "api.workspace",
        "api.workspace.inheritance",
        "api.artifacts",
        "api.artifact",
        "api.collections",
        "api.collection",
        "api.collection.items",
        "api.lookup.single",
        "api.work_requests",
        "api.work_request",
        "api.work_request.retry",
        "api.work_request.abort",
        "api.work_request.unblock",
        "api.work_request.external_debsign",
        "api.work_request.confirm",
        "api.workflow_templates",
        "api.workflows",
        "api.open_metrics",
    }
    mapper = webapp.app.registry.queryUtility(IRoutesMapper)
    names = {route.name for route in mapper.get_routes()}
    unlisted = (
        {n for n in names if n.startswith(("api.", "artifact."))} - exempt - covered
    )
    assert unlisted == set()
