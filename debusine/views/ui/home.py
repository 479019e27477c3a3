"""The front page: what this instance has, at a glance."""

from __future__ import annotations

from typing import Any

from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import func, select

from debusine.models import Scope, Workspace


@view_config(route_name="home", request_method="GET", renderer="home.jinja2")
def home(request: Request) -> dict[str, Any]:
    db = request.db
    workspace_count = (
        select(func.count(Workspace.id))
        .where(Workspace.scope_id == Scope.id, Workspace.public)
        .scalar_subquery()
    )
    scopes = db.execute(select(Scope, workspace_count).order_by(Scope.name)).all()
    return {"scopes": [(scope, count) for scope, count in scopes]}
