"""Work requests over the JSON API: create, list, show, and manage them.

Wire contract: reference/client-protocol.md §1.2 routes 1-6 and 9. Create
answers 200 (not 201) and, unlike every other route, refuses unknown keys
(`Invalid fields: ...`). Rights (inventory §2): creating and retrying need
a contributor; a positive priority adjustment needs the "manage priorities"
right (superusers), the creator may lower it; abort needs the creator or a
workspace owner; unblock needs an owner.

Views only flush: pyramid_tm commits. What must happen outside the database
(telling the orchestrator about new work, a worker to stop) is registered
to run after the commit.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from urllib.parse import quote

from marshmallow import EXCLUDE, Schema, fields, validate
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import Select, select
from sqlalchemy.orm import joinedload

from debusine.errors import DomainError
from debusine.event_reactions import USER_ACTIONS, EventReactionsError
from debusine.models import Artifact, WorkRequest, Workspace
from debusine.models.work_requests import UnblockStrategy, WorkRequestStatus
from debusine.models.workspaces import WorkspaceRoles
from debusine.orchestration.orchestrator import after_commit_abort, after_commit_notify
from debusine.permissions import (
    can_configure_workspace,
    can_create_work_requests,
    can_display_workspace,
    has_workspace_role,
    visible_workspaces,
)
from debusine.tasks import TaskDataError, TaskType, UnknownTaskError, get_task_class
from debusine.views.api.artifacts import isoformat
from debusine.views.api.base import (
    APIError,
    forbidden,
    get_workspace,
    load_json,
    not_found,
    require_authenticated,
)
from debusine.views.api.openapi import documented
from debusine.views.api.pagination import paginate
from debusine.work_requests import (
    WorkRequestStateError,
    abort,
    accept_manual_unblock,
    create_work_request,
    retry,
    set_priority_adjustment,
)

CREATE_FIELDS = ("task_name", "task_data", "workspace", "event_reactions")


# Schemas ---------------------------------------------------------------


class WorkRequestCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE  # refused before loading, with upstream's message

    task_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    task_data = fields.Dict(load_default=dict)
    workspace = fields.String(load_default=None, allow_none=True)
    event_reactions = fields.Dict(load_default=dict)


class WorkRequestUpdateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    priority_adjustment = fields.Integer(required=True, strict=True)


class WorkRequestUnblockSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    action = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["accept", "reject"]),
    )
    notes = fields.String(load_default=None, allow_none=True)


class EmptySchema(Schema):
    class Meta:
        unknown = EXCLUDE


class WorkRequestResponseSchema(Schema):
    """A work request as the API shows it (dump only)."""

    id = fields.Integer()
    url = fields.String(metadata={"description": "relative URL of its page"})
    created_at = fields.String(metadata={"format": "date-time"})
    started_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    completed_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    duration = fields.Integer(allow_none=True, metadata={"description": "seconds"})
    status = fields.String(
        metadata={"enum": [s.value for s in WorkRequestStatus]},
    )
    result = fields.String()
    worker = fields.String(allow_none=True, metadata={"description": "worker name"})
    task_type = fields.String()
    task_name = fields.String()
    task_data = fields.Dict()
    dynamic_task_data = fields.Dict(allow_none=True)
    priority_base = fields.Integer()
    priority_adjustment = fields.Integer()
    artifacts = fields.List(
        fields.Integer(), metadata={"description": "ids of the artifacts it created"}
    )
    workspace = fields.String()
    scope = fields.String()
    created_by = fields.Integer(allow_none=True, metadata={"description": "user id"})
    aborted_by = fields.Integer(allow_none=True, metadata={"description": "user id"})
    workflow_data = fields.Dict()
    event_reactions = fields.Dict()
    output_data = fields.Dict(
        allow_none=True,
        metadata={"description": "what it produced: errors, a confirmation..."},
    )


# Serialisation -----------------------------------------------------------


def work_request_url(work_request: WorkRequest) -> str:
    """The work request's page, relative (as upstream)."""
    workspace = work_request.workspace
    scope = quote(workspace.scope.name)
    return f"/{scope}/{quote(workspace.name)}/work-request/{work_request.id}/"


def _duration(work_request: WorkRequest) -> int | None:
    if work_request.started_at is None or work_request.completed_at is None:
        return None
    return int((work_request.completed_at - work_request.started_at).total_seconds())


def work_request_response(request: Request, work_request: WorkRequest) -> dict:
    """The `WorkRequestResponse` of client-protocol.md §1.4."""
    artifacts = request.db.scalars(
        select(Artifact.id)
        .where(Artifact.created_by_work_request_id == work_request.id)
        .order_by(Artifact.id)
    ).all()
    return {
        "id": work_request.id,
        "url": work_request_url(work_request),
        "created_at": isoformat(work_request.created_at),
        "started_at": isoformat(work_request.started_at),
        "completed_at": isoformat(work_request.completed_at),
        "duration": _duration(work_request),
        "status": work_request.status.value,
        "result": work_request.result.value,
        "worker": work_request.worker.name if work_request.worker else None,
        "task_type": work_request.task_type.value,
        "task_name": work_request.task_name,
        "task_data": work_request.task_data,
        "dynamic_task_data": work_request.dynamic_task_data,
        "priority_base": work_request.priority_base,
        "priority_adjustment": work_request.priority_adjustment,
        "artifacts": list(artifacts),
        "workspace": work_request.workspace.name,
        "scope": work_request.workspace.scope.name,
        "created_by": work_request.created_by_id,
        "aborted_by": work_request.aborted_by_id,
        "workflow_data": work_request.workflow_data,
        "event_reactions": work_request.event_reactions,
        "output_data": work_request.output_data,
    }


# Helpers -------------------------------------------------------------------


def notify_orchestrator(request: Request) -> None:
    """After commit, tell the orchestrator that there may be work to schedule."""
    after_commit_notify(request.tm)


def stop_on_workers(request: Request, work_request_ids: list[int]) -> None:
    """After commit, have the workers running these aborted requests stop them."""
    if not work_request_ids:
        return
    rows = request.db.execute(
        select(WorkRequest.id, WorkRequest.worker_id).where(
            WorkRequest.id.in_(work_request_ids)
        )
    ).all()
    # Not dict(result): a Result has keys(), so dict() would take it as a mapping.
    workers = {row[0]: row[1] for row in rows}
    for work_request_id in work_request_ids:
        worker_id = workers.get(work_request_id)
        if worker_id is not None:
            after_commit_abort(request.tm, work_request_id, worker_id)


def _refuse_unknown_fields(request: Request) -> None:
    try:
        body = json.loads(request.body or b"null")
    except (ValueError, UnicodeDecodeError):
        return  # load_json reports it
    if isinstance(body, dict):
        unknown = sorted(set(body) - set(CREATE_FIELDS))
        if unknown:
            raise APIError(
                400, "Invalid request", f"Invalid fields: {', '.join(unknown)}"
            )


def _parse_time(value: str) -> dt.datetime:
    try:
        when = dt.datetime.fromisoformat(value)
    except ValueError:
        raise APIError(
            400,
            "Invalid request",
            f"completed_at_since: {value!r} is not an ISO 8601 date/time",
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def _visible_work_request(request: Request) -> WorkRequest:
    work_request_id = int(request.matchdict["work_request_id"])
    work_request = request.db.get(WorkRequest, work_request_id)
    if work_request is None or not can_display_workspace(
        request.db, request.actor, work_request.workspace
    ):
        raise not_found(f"Work request {work_request_id} not found")
    return work_request


def _domain_error(error: DomainError) -> APIError:
    if isinstance(error, WorkRequestStateError):
        return APIError(409, "Conflict", str(error))
    if isinstance(error, TaskDataError):
        return APIError(
            400,
            "Invalid task data",
            str(error),
            validation_errors={"task_data": error.errors},
        )
    if isinstance(error, EventReactionsError):
        return APIError(
            400,
            "Invalid event reactions",
            str(error),
            validation_errors=error.errors,
        )
    if isinstance(error, UnknownTaskError):
        return APIError(
            400,
            "Unknown task",
            str(error),
            validation_errors={"task_name": [str(error)]},
        )
    return APIError(400, "Invalid request", str(error))


def _task_type_for(request: Request, task_name: str) -> TaskType:
    """Users create Worker tasks; superusers also Server tasks."""
    try:
        get_task_class(TaskType.WORKER, task_name)
    except UnknownTaskError as error:
        if request.actor.is_superuser:
            try:
                get_task_class(TaskType.SERVER, task_name)
            except UnknownTaskError:
                pass
            else:
                return TaskType.SERVER
        raise _domain_error(error) from None
    return TaskType.WORKER


# Views ---------------------------------------------------------------------


@documented(
    "/api/1.0/work-request/",
    "post",
    "Create a work request (a Worker task; superusers also Server tasks)",
    request=WorkRequestCreateSchema,
    response=WorkRequestResponseSchema,
    status=200,
)
@view_config(route_name="api.work_requests", request_method="POST", renderer="json")
def create(request: Request) -> dict[str, Any]:
    require_authenticated(request)
    _refuse_unknown_fields(request)
    body = load_json(request, WorkRequestCreateSchema())
    workspace = get_workspace(request, body["workspace"])
    if not can_create_work_requests(request.db, request.actor, workspace):
        raise forbidden(
            f"You may not create work requests in workspace {workspace.full_name}."
        )
    task_type = _task_type_for(request, body["task_name"])
    try:
        work_request = create_work_request(
            request.db,
            workspace=workspace,
            task_type=task_type,
            task_name=body["task_name"],
            task_data=body["task_data"],
            created_by=request.actor.user,
            event_reactions=body["event_reactions"],
            # Users may only ask for notifications; workflows record the rest.
            allowed_reaction_actions=USER_ACTIONS,
        )
    except DomainError as error:
        raise _domain_error(error) from None
    notify_orchestrator(request)
    return work_request_response(request, work_request)


@documented(
    "/api/1.0/work-request/",
    "get",
    "List the work requests you may see, newest first",
    response=WorkRequestResponseSchema,
    paginated=True,
    query={
        "workspace": "only this workspace",
        "status": "only this status (pending, running, completed, aborted, blocked)",
        "completed_at_since": "only those completed after this ISO 8601 time",
        "cursor": "opaque page cursor",
        "page_size": "1 to 100 (default 10)",
    },
)
@view_config(route_name="api.work_requests", request_method="GET", renderer="json")
def list_work_requests(request: Request) -> dict[str, Any]:
    # Each row shows its worker, workspace and scope: load them with it.
    query: Select[tuple[WorkRequest]] = select(WorkRequest).options(
        joinedload(WorkRequest.worker),
        joinedload(WorkRequest.workspace).joinedload(Workspace.scope),
    )
    name = request.params.get("workspace")
    if name:
        workspace = get_workspace(request, name)
        query = query.where(WorkRequest.workspace_id == workspace.id)
    else:
        query = query.where(
            WorkRequest.workspace_id.in_(
                select(Workspace.id)
                .where(Workspace.scope_id == request.debusine_scope.id)
                .where(visible_workspaces(request.actor))
            )
        )
    status = request.params.get("status")
    if status:
        try:
            query = query.where(WorkRequest.status == WorkRequestStatus(status))
        except ValueError:
            raise APIError(
                400,
                "Invalid request",
                f"status: {status!r} is not one of "
                + ", ".join(s.value for s in WorkRequestStatus),
            ) from None
    since = request.params.get("completed_at_since")
    if since:
        query = query.where(WorkRequest.completed_at > _parse_time(since))
    return paginate(
        request,
        query,
        WorkRequest.created_at,
        WorkRequest.id,
        lambda wr: work_request_response(request, wr),
    )


@documented(
    "/api/1.0/work-request/{work_request_id}/",
    "get",
    "Show a work request",
    response=WorkRequestResponseSchema,
)
@view_config(route_name="api.work_request", request_method="GET", renderer="json")
def show(request: Request) -> dict[str, Any]:
    return work_request_response(request, _visible_work_request(request))


@documented(
    "/api/1.0/work-request/{work_request_id}/",
    "patch",
    "Set the priority adjustment (raising it needs the manage-priorities right;"
    " the creator may lower it)",
    request=WorkRequestUpdateSchema,
    response=WorkRequestResponseSchema,
)
@view_config(route_name="api.work_request", request_method="PATCH", renderer="json")
def update(request: Request) -> dict[str, Any]:
    work_request = _visible_work_request(request)
    require_authenticated(request)
    body = load_json(request, WorkRequestUpdateSchema())
    adjustment = body["priority_adjustment"]
    actor = request.actor
    is_creator = actor.user is not None and actor.user.id == work_request.created_by_id
    if not actor.is_superuser:
        if not is_creator:
            raise forbidden(
                f"You may not change the priority of work request {work_request.id}."
            )
        if adjustment > 0:
            raise forbidden(
                "Only users who may manage priorities may set a positive"
                " priority adjustment."
            )
    try:
        set_priority_adjustment(request.db, work_request, adjustment)
    except DomainError as error:
        raise _domain_error(error) from None
    return work_request_response(request, work_request)


@documented(
    "/api/1.0/work-request/{work_request_id}/retry/",
    "post",
    "Retry an aborted or failed work request; answers the new one",
    request=EmptySchema,
    response=WorkRequestResponseSchema,
    errors=(400, 403, 404, 409),
)
@view_config(
    route_name="api.work_request.retry", request_method="POST", renderer="json"
)
def retry_view(request: Request) -> dict[str, Any]:
    work_request = _visible_work_request(request)
    require_authenticated(request)
    if not has_workspace_role(
        request.db, request.actor, work_request.workspace, WorkspaceRoles.CONTRIBUTOR
    ):
        raise forbidden(f"You may not retry work request {work_request.id}.")
    try:
        new = retry(request.db, work_request)
    except DomainError as error:
        raise _domain_error(error) from None
    notify_orchestrator(request)
    return work_request_response(request, new)


@documented(
    "/api/1.0/work-request/{work_request_id}/abort/",
    "post",
    "Abort a work request and its unfinished descendants (running ones are"
    " stopped on their workers)",
    request=EmptySchema,
    response=WorkRequestResponseSchema,
    errors=(403, 404, 409),
)
@view_config(
    route_name="api.work_request.abort", request_method="POST", renderer="json"
)
def abort_view(request: Request) -> dict[str, Any]:
    work_request = _visible_work_request(request)
    require_authenticated(request)
    actor = request.actor
    is_creator = actor.user is not None and actor.user.id == work_request.created_by_id
    if not is_creator and not can_configure_workspace(
        request.db, actor, work_request.workspace
    ):
        raise forbidden(f"You may not abort work request {work_request.id}.")
    try:
        on_workers = abort(request.db, work_request, actor.user)
    except DomainError as error:
        raise _domain_error(error) from None
    request.db.refresh(work_request)
    stop_on_workers(request, on_workers)
    return work_request_response(request, work_request)


@documented(
    "/api/1.0/work-request/{work_request_id}/unblock/",
    "post",
    "Review a manually blocked work request: accept (pending), reject (aborted)"
    " or only record notes",
    request=WorkRequestUnblockSchema,
    response=WorkRequestResponseSchema,
    errors=(400, 403, 404, 409),
)
@view_config(
    route_name="api.work_request.unblock", request_method="POST", renderer="json"
)
def unblock_view(request: Request) -> dict[str, Any]:
    work_request = _visible_work_request(request)
    require_authenticated(request)
    if not can_configure_workspace(request.db, request.actor, work_request.workspace):
        raise forbidden(f"You may not unblock work request {work_request.id}.")
    body = load_json(request, WorkRequestUnblockSchema())
    if work_request.unblock_strategy != UnblockStrategy.MANUAL:
        raise APIError(
            409,
            "Conflict",
            f"Work request {work_request.id} is not blocked for a manual review",
        )
    if work_request.status != WorkRequestStatus.BLOCKED:
        raise APIError(
            409,
            "Conflict",
            f"Work request {work_request.id} is {work_request.status.value},"
            " not blocked",
        )
    user = request.actor.user
    workflow_data = dict(work_request.workflow_data)
    manual = dict(workflow_data.get("manual_unblock") or {})
    log = list(manual.get("log") or [])
    log.append(
        {
            "user_id": user.id if user is not None else None,
            "timestamp": isoformat(dt.datetime.now(dt.UTC)),
            "notes": body["notes"],
            "action": body["action"],
        }
    )
    manual["log"] = log
    workflow_data["manual_unblock"] = manual
    work_request.workflow_data = workflow_data
    request.db.flush()
    if body["action"] == "accept":
        accept_manual_unblock(request.db, work_request)
        notify_orchestrator(request)
    elif body["action"] == "reject":
        stop_on_workers(request, abort(request.db, work_request, user))
        request.db.refresh(work_request)
    return work_request_response(request, work_request)
