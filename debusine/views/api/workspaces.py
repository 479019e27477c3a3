"""Workspaces: list, show, and the inheritance chain (client protocol #22)."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select

from debusine.models import Scope, Workspace
from debusine.models.validation import DomainError
from debusine.models.workspaces import InheritanceCycle
from debusine.permissions import (
    can_configure_workspace,
    can_display_workspace,
    visible_workspaces,
    workspace_roles,
)
from debusine.views.api.base import APIError, forbidden, get_workspace, load_json
from debusine.views.api.openapi import documented
from debusine.views.api.pagination import paginate


def _days(delay: Any) -> float | None:
    return None if delay is None else delay.total_seconds() / 86400


def chain_entry(workspace: Workspace) -> dict[str, Any]:
    return {
        "id": workspace.id,
        "scope": workspace.scope.name,
        "workspace": workspace.name,
    }


def workspace_json(request: Request, workspace: Workspace) -> dict[str, Any]:
    return {
        "id": workspace.id,
        "name": workspace.name,
        "scope": workspace.scope.name,
        "public": workspace.public,
        "default_expiration_delay": _days(workspace.default_expiration_delay),
        "expiration_delay": _days(workspace.expiration_delay),
        "created_at": workspace.created_at.isoformat().replace("+00:00", "Z"),
        "inherits": [chain_entry(parent) for parent in workspace.inherits],
        "roles": sorted(workspace_roles(request.db, request.actor, workspace)),
    }


class ChainEntrySchema(Schema):
    id = fields.Integer(load_default=None)
    scope = fields.String(load_default=None)
    workspace = fields.String(load_default=None)


class InheritanceSchema(Schema):
    chain = fields.List(
        fields.Nested(ChainEntrySchema),
        required=True,
        validate=validate.Length(max=100),
    )


class WorkspaceSchema(Schema):
    """A workspace as the API shows it (dump only)."""

    id = fields.Integer()
    name = fields.String()
    scope = fields.String()
    public = fields.Boolean()
    default_expiration_delay = fields.Float(
        allow_none=True, metadata={"description": "days; 0 means never"}
    )
    expiration_delay = fields.Float(allow_none=True, metadata={"description": "days"})
    created_at = fields.String(metadata={"format": "date-time"})
    inherits = fields.List(fields.Nested(ChainEntrySchema))
    roles = fields.List(fields.String(), metadata={"description": "the caller's roles"})


@documented(
    "/api/1.0/workspace/",
    "get",
    "List the workspaces of the scope the caller may see",
    response=WorkspaceSchema,
    paginated=True,
    query={"cursor": "opaque page cursor", "page_size": "1 to 100 (default 10)"},
)
@view_config(route_name="api.workspaces", request_method="GET", renderer="json")
def list_workspaces(request: Request) -> dict[str, Any]:
    """The workspaces of the request's scope the caller may see, newest first."""
    scope = request.debusine_scope
    query = select(Workspace).where(
        Workspace.scope_id == scope.id, visible_workspaces(request.actor)
    )
    return paginate(
        request,
        query,
        Workspace.created_at,
        Workspace.id,
        lambda workspace: workspace_json(request, workspace),
    )


@documented(
    "/api/1.0/workspace/{workspace}/",
    "get",
    "Show a workspace",
    response=WorkspaceSchema,
)
@view_config(route_name="api.workspace", request_method="GET", renderer="json")
def show_workspace(request: Request) -> dict[str, Any]:
    workspace = get_workspace(request, request.matchdict["workspace"])
    return workspace_json(request, workspace)


@documented(
    "/api/1.0/workspace/{workspace}/inheritance/",
    "get",
    "The workspaces this one inherits from, in order",
    response=InheritanceSchema,
)
@view_config(
    route_name="api.workspace.inheritance", request_method="GET", renderer="json"
)
def get_inheritance(request: Request) -> dict[str, Any]:
    workspace = get_workspace(request, request.matchdict["workspace"])
    return {"chain": [chain_entry(parent) for parent in workspace.inherits]}


@documented(
    "/api/1.0/workspace/{workspace}/inheritance/",
    "post",
    "Replace the inheritance chain (workspace owners)",
    request=InheritanceSchema,
    response=InheritanceSchema,
)
@view_config(
    route_name="api.workspace.inheritance", request_method="POST", renderer="json"
)
def set_inheritance(request: Request) -> dict[str, Any]:
    """Replace the chain; entries name a workspace by id or by scope and name."""
    workspace = get_workspace(request, request.matchdict["workspace"])
    if not can_configure_workspace(request.db, request.actor, workspace):
        raise forbidden(
            f"Only owners of {workspace.full_name} may change its inheritance"
        )
    body = load_json(request, InheritanceSchema())
    parents = [_resolve_entry(request, entry) for entry in body["chain"]]
    try:
        workspace.set_inheritance(request.db, parents)
    except (InheritanceCycle, DomainError) as error:
        raise APIError(400, "Invalid inheritance chain", str(error)) from None
    return {"chain": [chain_entry(parent) for parent in workspace.inherits]}


def _resolve_entry(request: Request, entry: dict[str, Any]) -> Workspace:
    """The workspace an entry names, if the caller may see it."""
    db = request.db
    if entry["id"] is not None:
        found = db.get(Workspace, entry["id"])
        label = f"workspace #{entry['id']}"
    elif entry["workspace"]:
        scope_name = entry["scope"] or request.debusine_scope.name
        found = db.scalars(
            select(Workspace)
            .join(Scope)
            .where(Scope.name == scope_name, Workspace.name == entry["workspace"])
        ).first()
        label = f"workspace {scope_name}/{entry['workspace']}"
    else:
        raise APIError(
            400,
            "Invalid inheritance chain",
            "each entry needs an id or a workspace name",
        )
    if found is None or not can_display_workspace(db, request.actor, found):
        raise APIError(400, "Invalid inheritance chain", f"{label} not found")
    return found
