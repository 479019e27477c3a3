"""Workflow templates and workflows over the JSON API.

Wire contract: reference/client-protocol.md §1.2 routes 10 and 11 (tier 1):
both answer 201; unknown request keys are ignored (as DRF does). Creating a
template needs a workspace owner (templates fix what contributors may
start); starting a workflow needs a contributor. The template's task data
is checked against the workflow's schema, the run-time data merged under
it (the template's keys win) and checked again: a wrong field is named in
`validation_errors`, and nothing is left behind.

After the commit the orchestrator is woken, so the new workflow is
populated at once.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from marshmallow import EXCLUDE, Schema, fields, validate
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from debusine.errors import DomainError
from debusine.models import WorkflowTemplate
from debusine.models.validation import InvalidName, validate_name
from debusine.orchestration.orchestrator import after_commit_notify
from debusine.permissions import can_create_workflow_templates, can_start_workflows
from debusine.tasks import TaskDataError, UnknownTaskError
from debusine.views.api.base import (
    APIError,
    forbidden,
    get_workspace,
    load_json,
    not_found,
    require_authenticated,
)
from debusine.views.api.openapi import documented
from debusine.views.api.work_requests import (
    WorkRequestResponseSchema,
    work_request_response,
)
from debusine.workflows.base import WorkflowValidationError
from debusine.workflows.templates import create_workflow, create_workflow_template

# PostgreSQL's integer column.
MAX_PRIORITY = 2**31 - 1


class WorkflowTemplateCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = fields.String(required=True, validate=validate.Length(min=1, max=255))
    task_name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    task_data = fields.Dict(load_default=dict)
    priority = fields.Integer(
        load_default=0,
        strict=True,
        validate=validate.Range(min=-MAX_PRIORITY, max=MAX_PRIORITY),
    )
    workspace = fields.String(load_default=None, allow_none=True)


class WorkflowTemplateResponseSchema(Schema):
    id = fields.Integer()
    url = fields.String(metadata={"description": "relative URL of its page"})
    name = fields.String()
    task_name = fields.String()
    workspace = fields.String()
    task_data = fields.Dict()
    priority = fields.Integer()


class WorkflowCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    template_name = fields.String(
        required=True, validate=validate.Length(min=1, max=255)
    )
    task_data = fields.Dict(load_default=dict)
    workspace = fields.String(load_default=None, allow_none=True)


def template_url(template: WorkflowTemplate) -> str:
    workspace = template.workspace
    return (
        f"/{quote(workspace.scope.name)}/{quote(workspace.name)}"
        f"/workflow-template/{quote(template.name)}/"
    )


def template_response(template: WorkflowTemplate) -> dict[str, Any]:
    """The `WorkflowTemplateResponse` of the client protocol."""
    return {
        "id": template.id,
        "url": template_url(template),
        "name": template.name,
        "task_name": template.task_name,
        "workspace": template.workspace.name,
        "task_data": template.task_data,
        "priority": template.priority,
    }


def _invalid(title: str, field: str, error: Exception) -> APIError:
    return APIError(400, title, str(error), validation_errors={field: [str(error)]})


@documented(
    "/api/1.0/workflow-template/",
    "post",
    "Create a workflow template (workspace owners)",
    request=WorkflowTemplateCreateSchema,
    response=WorkflowTemplateResponseSchema,
    status=201,
    errors=(400, 403, 404, 409),
)
@view_config(
    route_name="api.workflow_templates", request_method="POST", renderer="json"
)
def create_template(request: Request) -> dict[str, Any]:
    require_authenticated(request)
    body = load_json(request, WorkflowTemplateCreateSchema())
    workspace = get_workspace(request, body["workspace"])
    if not can_create_workflow_templates(request.db, request.actor, workspace):
        raise forbidden(
            f"You may not create workflow templates in workspace"
            f" {workspace.full_name}: it needs a workspace owner."
        )
    try:
        validate_name("workflow template", body["name"])
    except InvalidName as error:
        raise _invalid("Invalid request", "name", error) from None
    exists = request.db.scalar(
        select(WorkflowTemplate.id).where(
            WorkflowTemplate.workspace_id == workspace.id,
            WorkflowTemplate.name == body["name"],
        )
    )
    conflict = APIError(
        409,
        "Conflict",
        f"Workflow template {body['name']} already exists in workspace"
        f" {workspace.full_name}",
    )
    if exists is not None:
        raise conflict
    try:
        with request.db.begin_nested():
            template = create_workflow_template(
                request.db,
                workspace=workspace,
                name=body["name"],
                task_name=body["task_name"],
                task_data=body["task_data"],
                priority=body["priority"],
            )
    except UnknownTaskError as error:
        raise _invalid("Unknown workflow", "task_name", error) from None
    except TaskDataError as error:
        raise APIError(
            400,
            "Invalid task data",
            str(error),
            validation_errors={"task_data": error.errors},
        ) from None
    except IntegrityError:
        # Another request created it since the check above.
        raise conflict from None
    except DomainError as error:
        raise APIError(400, "Invalid request", str(error)) from None
    request.response.status_int = 201
    return template_response(template)


@documented(
    "/api/1.0/workflow/",
    "post",
    "Start a workflow from a template (contributors); the template's task"
    " data wins over yours",
    request=WorkflowCreateSchema,
    response=WorkRequestResponseSchema,
    status=201,
    errors=(400, 403, 404),
)
@view_config(route_name="api.workflows", request_method="POST", renderer="json")
def create(request: Request) -> dict[str, Any]:
    require_authenticated(request)
    body = load_json(request, WorkflowCreateSchema())
    workspace = get_workspace(request, body["workspace"])
    if not can_start_workflows(request.db, request.actor, workspace):
        raise forbidden(
            f"You may not start workflows in workspace {workspace.full_name}."
        )
    template = request.db.scalars(
        select(WorkflowTemplate).where(
            WorkflowTemplate.workspace_id == workspace.id,
            WorkflowTemplate.name == body["template_name"],
        )
    ).one_or_none()
    if template is None:
        raise not_found(
            f"Workflow template {body['template_name']} not found in workspace"
            f" {workspace.full_name}"
        )
    try:
        work_request = create_workflow(
            request.db, template, body["task_data"], created_by=request.actor.user
        )
    except TaskDataError as error:
        raise APIError(
            400,
            "Invalid task data",
            str(error),
            validation_errors={"task_data": error.errors},
        ) from None
    except WorkflowValidationError as error:
        raise _invalid("Invalid workflow", "task_data", error) from None
    except UnknownTaskError as error:
        # The template names a workflow this server no longer has.
        raise APIError(400, "Unknown workflow", str(error)) from None
    except DomainError as error:
        raise APIError(400, "Invalid request", str(error)) from None
    after_commit_notify(request.tm)
    request.response.status_int = 201
    return work_request_response(request, work_request)
