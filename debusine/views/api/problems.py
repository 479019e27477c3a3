"""RFC 7807 problem responses, as the Debusine client expects them.

The client recognises an error body only when the Content-Type is exactly
`application/problem+json`, with no charset parameter.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from pyramid.httpexceptions import HTTPException
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import exception_view_config, notfound_view_config

from debusine.context import UnknownScope
from debusine.views.api.base import APIError

PROBLEM_CONTENT_TYPE = "application/problem+json"

log = logging.getLogger(__name__)


def problem_response(
    status: int, title: str, detail: str | None = None, **extra: Any
) -> Response:
    body: dict[str, Any] = {"title": title}
    if detail is not None:
        body["detail"] = detail
    body.update(extra)
    response = Response(status=status, body=json.dumps(body).encode())
    # Set the header directly: WebOb would append "; charset=UTF-8".
    response.headers["Content-Type"] = PROBLEM_CONTENT_TYPE
    return response


@notfound_view_config(path_info=r"^/api/")
def api_not_found(request: Request) -> Response:
    return problem_response(404, "Not found", f"No API endpoint at {request.path}")


@exception_view_config(HTTPException, path_info=r"^/api/")
def api_http_exception(exc: HTTPException, request: Request) -> Response:
    if exc.code is not None and exc.code < 400:
        return exc
    return problem_response(exc.code or 500, exc.title, exc.detail or exc.explanation)


@exception_view_config(APIError)
def api_error(exc: APIError, request: Request) -> Response:
    return problem_response(exc.status, exc.title, exc.detail, **exc.extra)


@exception_view_config(UnknownScope)
def unknown_scope(exc: UnknownScope, request: Request) -> Response:
    return problem_response(404, "Not found", str(exc))


@exception_view_config(Exception, path_info=r"^/api/")
def api_server_error(exc: Exception, request: Request) -> Response:
    # A bug, not bad input: log it in full, tell the client only that it
    # happened and where to look.
    log.exception("Unhandled error in %s %s", request.method, request.path)
    return problem_response(
        500,
        "Internal server error",
        "The server failed to handle this request; the error is in its log.",
    )
