"""The live log of a work request over the JSON API (our addition).

`GET /api/1.0/work-request/{id}/log/?name=NAME&since=SEQ` returns the log
chunks the worker has streamed so far, from sequence `since` on (default
0), in order: `{"chunks": [{"name", "sequence", "data"}], "next": SEQ,
"complete": bool, "progress": float|null}`. To follow a running task, ask
again with `since=next` until `complete` is true (the task has finished
and every stored chunk was returned). Chunks lost while a worker was
disconnected stay missing: the complete log is the task's log artifact.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields
from pyramid.request import Request
from pyramid.view import view_config

from debusine.models import WorkRequest
from debusine.orchestration.logs import read_log
from debusine.permissions import can_display_workspace
from debusine.views.api.base import APIError, not_found
from debusine.views.api.openapi import documented

MAX_NAME_LENGTH = 255


class LogChunkSchema(Schema):
    name = fields.String(metadata={"description": "the log's name, e.g. `log`"})
    sequence = fields.Integer()
    data = fields.String()


class WorkRequestLogSchema(Schema):
    chunks = fields.List(fields.Nested(LogChunkSchema))
    next = fields.Integer(metadata={"description": "pass as `since` next time"})
    complete = fields.Boolean(
        metadata={"description": "the task finished and nothing follows"}
    )
    progress = fields.Float(
        allow_none=True, metadata={"description": "0..1, as the worker reported"}
    )


def _since(request: Request) -> int:
    value = request.GET.get("since", "0")
    if not value.isdigit() or len(value) > 18:
        raise APIError(
            400,
            "Invalid request",
            f"since: {value!r} is not a sequence number (an integer >= 0)",
        )
    return int(value)


def _name(request: Request) -> str | None:
    name = request.GET.get("name")
    if name is not None and not 0 < len(name) <= MAX_NAME_LENGTH:
        raise APIError(
            400,
            "Invalid request",
            f"name: a log name has 1 to {MAX_NAME_LENGTH} characters",
        )
    return name


@documented(
    "/api/1.0/work-request/{work_request_id}/log/",
    "get",
    "The live log of a work request, from a sequence number on",
    response=WorkRequestLogSchema,
    query={
        "name": "only this log (default: every log of the task)",
        "since": "the first sequence number to return (default 0)",
    },
    errors=(400, 404),
)
@view_config(route_name="api.work_request.log", request_method="GET", renderer="json")
def work_request_log(request: Request) -> dict[str, Any]:
    work_request_id = int(request.matchdict["work_request_id"])
    since = _since(request)
    name = _name(request)
    work_request = (
        request.db.get(WorkRequest, work_request_id)
        if work_request_id < 2**63
        else None
    )
    if work_request is None or not can_display_workspace(
        request.db, request.actor, work_request.workspace
    ):
        raise not_found(f"Work request {work_request_id} not found")
    return read_log(request.db, work_request, name=name, since=since).as_json()
