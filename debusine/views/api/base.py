"""Helpers every JSON API view uses: errors, request bodies, workspaces, URLs."""

from __future__ import annotations

import json
from typing import Any

from marshmallow import Schema, ValidationError
from pyramid.request import Request
from sqlalchemy import select

from debusine.models import Workspace
from debusine.permissions import can_display_workspace


class APIError(Exception):
    """An error answered as application/problem+json (see problems.py)."""

    def __init__(
        self, status: int, title: str, detail: str | None = None, **extra: Any
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.extra = extra


def not_found(detail: str) -> APIError:
    return APIError(404, "Not found", detail)


def forbidden(detail: str) -> APIError:
    return APIError(403, "Forbidden", detail)


def require_authenticated(request: Request) -> None:
    if request.actor.is_anonymous:
        raise forbidden("Authentication credentials were not provided.")


def load_json(request: Request, schema: Schema) -> dict[str, Any]:
    """The request's JSON body validated by `schema`, or a 400 problem."""
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError) as error:
        raise APIError(
            400, "Invalid JSON", f"The request body is not JSON: {error}"
        ) from None
    if not isinstance(body, dict):
        raise APIError(400, "Invalid request", "The request body must be a JSON object")
    try:
        loaded: dict[str, Any] = schema.load(body)
    except ValidationError as error:
        raise APIError(
            400,
            "Invalid request",
            "; ".join(_flatten_messages(error.messages)),
            validation_errors=error.messages,
        ) from None
    return loaded


def _flatten_messages(messages: Any, prefix: str = "") -> list[str]:
    if isinstance(messages, dict):
        out: list[str] = []
        for key, value in messages.items():
            out += _flatten_messages(value, f"{prefix}{key}.")
        return out
    if isinstance(messages, list):
        return [f"{prefix.rstrip('.')}: {m}" if prefix else str(m) for m in messages]
    return [f"{prefix.rstrip('.')}: {messages}"]


def get_workspace(request: Request, name: str | None = None) -> Workspace:
    """A workspace of the request's scope the caller may see, or 404.

    With no name, the default workspace. Invisible workspaces are reported as
    missing, so that their existence does not leak.
    """
    scope = request.debusine_scope
    name = name or str(request.registry.settings["debusine.default_workspace"])
    workspace = request.db.scalars(
        select(Workspace).where(Workspace.scope_id == scope.id, Workspace.name == name)
    ).first()
    if workspace is None or not can_display_workspace(
        request.db, request.actor, workspace
    ):
        raise not_found(f"Workspace {name} not found in scope {scope.name}")
    return workspace
