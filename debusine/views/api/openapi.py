"""The OpenAPI 3 document of the JSON API, built from the marshmallow schemas.

Views declare themselves with `@documented(...)`; `/api/openapi.json` turns
the declarations into a document with apispec. A route left undocumented
is simply absent from the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from marshmallow import Schema, fields
from pyramid.request import Request
from pyramid.view import view_config

import debusine

F = TypeVar("F", bound=Callable[..., Any])

PROBLEM_CONTENT_TYPE = "application/problem+json"


class ProblemSchema(Schema):
    """An RFC 7807 problem: every API error has this shape."""

    title = fields.String(required=True)
    detail = fields.String()
    validation_errors = fields.Dict()


class PageSchema(Schema):
    next = fields.Url(allow_none=True, metadata={"description": "absolute URL"})
    previous = fields.Url(allow_none=True)


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    summary: str
    request: type[Schema] | None = None
    response: type[Schema] | None = None
    status: int = 200
    many: bool = False
    paginated: bool = False
    query: dict[str, str] = field(default_factory=dict)
    errors: tuple[int, ...] = (400, 403, 404)


OPERATIONS: list[Operation] = []


def documented(
    path: str, method: str, summary: str, **options: Any
) -> Callable[[F], F]:
    """Record a view's operation for the OpenAPI document."""

    def decorator(view: F) -> F:
        OPERATIONS.append(Operation(path, method.lower(), summary, **options))
        return view

    return decorator


def _parameters(operation: Operation) -> list[dict[str, Any]]:
    parameters: list[dict[str, Any]] = []
    for name in re.findall(r"{(\w+)}", operation.path):
        kind = "integer" if name.endswith("id") else "string"
        parameters.append(
            {"in": "path", "name": name, "required": True, "schema": {"type": kind}}
        )
    for name, description in operation.query.items():
        parameters.append(
            {
                "in": "query",
                "name": name,
                "required": False,
                "schema": {"type": "string"},
                "description": description,
            }
        )
    parameters.append(
        {
            "in": "header",
            "name": "X-Debusine-Scope",
            "required": False,
            "schema": {"type": "string"},
            "description": "the scope (default: the server's default scope)",
        }
    )
    return parameters


def _response_schema(operation: Operation) -> dict[str, Any] | None:
    if operation.response is None:
        return None
    item: dict[str, Any] = {"$ref": f"#/components/schemas/{_name(operation.response)}"}
    if operation.paginated:
        return {
            "allOf": [
                {"$ref": "#/components/schemas/Page"},
                {
                    "type": "object",
                    "properties": {"results": {"type": "array", "items": item}},
                },
            ]
        }
    if operation.many:
        return {"type": "array", "items": item}
    return item


def _name(schema: type[Schema]) -> str:
    return schema.__name__.removesuffix("Schema")


def build_spec(server_url: str) -> dict[str, Any]:
    spec = APISpec(
        title="debusine",
        version=debusine.__version__,
        openapi_version="3.0.3",
        plugins=[MarshmallowPlugin()],
        info={"description": "The debusine JSON API (Debusine client protocol 1.0)."},
        servers=[{"url": server_url}],
    )
    spec.components.security_scheme(
        "Token", {"type": "apiKey", "in": "header", "name": "Token"}
    )
    spec.components.schema("Problem", schema=ProblemSchema)
    spec.components.schema("Page", schema=PageSchema)
    seen: set[type[Schema]] = set()
    for operation in OPERATIONS:
        for schema in (operation.request, operation.response):
            if schema is not None and schema not in seen:
                spec.components.schema(_name(schema), schema=schema)
                seen.add(schema)
    paths: dict[str, dict[str, Any]] = {}
    for operation in OPERATIONS:
        responses: dict[str, Any] = {}
        body = _response_schema(operation)
        success: dict[str, Any] = {"description": operation.summary}
        if body is not None:
            success["content"] = {"application/json": {"schema": body}}
        responses[str(operation.status)] = success
        for status in operation.errors:
            responses[str(status)] = {
                "description": "an error, as application/problem+json",
                "content": {
                    PROBLEM_CONTENT_TYPE: {
                        "schema": {"$ref": "#/components/schemas/Problem"}
                    }
                },
            }
        entry: dict[str, Any] = {
            "summary": operation.summary,
            "parameters": _parameters(operation),
            "responses": responses,
            "security": [{"Token": []}, {}],
        }
        if operation.request is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "$ref": f"#/components/schemas/{_name(operation.request)}"
                        }
                    }
                },
            }
        paths.setdefault(operation.path, {})[operation.method] = entry
    for path, operations in sorted(paths.items()):
        spec.path(path=path, operations=operations)
    return spec.to_dict()


@view_config(route_name="api.openapi", request_method="GET", renderer="json")
def openapi(request: Request) -> dict[str, Any]:
    return build_spec(request.application_url)
