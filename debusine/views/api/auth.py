"""Who the caller is, so that clients and operators can check a token."""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from pyramid.request import Request
from pyramid.view import view_config

from debusine.views.api.openapi import documented


class WhoAmISchema(Schema):
    authenticated = fields.Boolean()
    user = fields.String(allow_none=True)
    worker_token = fields.Boolean()
    worker = fields.String(allow_none=True)


@documented(
    "/api/1.0/whoami/",
    "get",
    "Who the token belongs to",
    response=WhoAmISchema,
    errors=(),
)
@view_config(route_name="api.whoami", request_method="GET", renderer="json")
def whoami(request: Request) -> dict[str, Any]:
    identity = request.identity
    user = identity.user if identity else None
    worker = identity.worker if identity else None
    return {
        "authenticated": identity is not None,
        "user": user.username if user else None,
        "worker_token": worker is not None,
        "worker": worker.name if worker else None,
    }
