"""Helpers shared by the file-store, artifact, relation and download tests."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import webtest

from debusine import models
from tests import factories
from tests.factories import GroupFactory, ScopeFactory, TokenFactory, WorkspaceFactory


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def grant(workspace: models.Workspace, role: models.WorkspaceRoles | None) -> str:
    """The key of a new user's token, with `role` on `workspace` (or none)."""
    token = TokenFactory()
    if role is not None:
        session = factories._current_session()
        group = GroupFactory(scope=workspace.scope)
        session.add(models.GroupMembership(group_id=group.id, user_id=token.user.id))
        session.add(
            models.WorkspaceRole(
                workspace_id=workspace.id, group_id=group.id, role=role
            )
        )
        session.flush()
    key: str = token.key
    return key


@dataclass
class World:
    scope: models.Scope
    system: models.Workspace
    private: models.Workspace
    owner: str
    contributor: str
    viewer: str
    nobody: str
    worker: str
    worker_id: int


def make_world() -> World:
    """The default scope with a public `System` workspace and a private one."""
    scope = ScopeFactory(name="debusine")
    system = WorkspaceFactory(scope=scope, name="System", public=True)
    private = WorkspaceFactory(scope=scope, name="Private", public=False)
    worker = factories.WorkerFactory()
    return World(
        scope=scope,
        system=system,
        private=private,
        owner=grant(system, models.WorkspaceRoles.OWNER),
        contributor=grant(system, models.WorkspaceRoles.CONTRIBUTOR),
        viewer=grant(system, models.WorkspaceRoles.VIEWER),
        nobody=grant(system, None),
        worker=worker.token.key,
        worker_id=worker.id,
    )


def file_spec(data: bytes, content_type: str | None = None) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "size": len(data),
        "checksums": {"sha256": sha256(data)},
        "type": "file",
    }
    if content_type is not None:
        spec["content_type"] = content_type
    return spec


def create_artifact(
    app: webtest.TestApp,
    token: str,
    files: dict[str, bytes],
    status: int = 201,
    **extra: Any,
) -> Any:
    body = {
        "category": "debusine:test",
        "files": {path: file_spec(data) for path, data in files.items()},
        "data": {"a": 1},
        **extra,
    }
    return app.post_json(
        "/api/1.0/artifact/", body, headers={"Token": token}, status=status
    )


def upload(
    app: webtest.TestApp,
    token: str,
    artifact_id: int,
    path: str,
    body: bytes,
    content_range: str | None = None,
    status: int | None = None,
) -> Any:
    headers = {"Token": token}
    if content_range is not None:
        headers["Content-Range"] = content_range
    return app.put(
        f"/api/1.0/artifact/{artifact_id}/files/{path}/",
        body,
        headers=headers,
        status=status,
    )
