"""Workflow templates: what users may start, and starting them.

A template names a workflow class (`task_name`) and fixes part of its task
data, which the user cannot override: `create_workflow` merges the user's
data under the template's (top-level keys only; the template wins).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from debusine.errors import DomainError
from debusine.models import TaskType, User, WorkflowTemplate, WorkRequest, Workspace
from debusine.tasks import TaskDataError, get_task_class
from debusine.work_requests import create_work_request
from debusine.workflows.base import (
    Workflow,
    WorkflowValidationError,
    ensure_internal_collection,
)


def workflow_class(task_name: str) -> type[Workflow]:
    """The registered workflow class (UnknownTaskError lists the known ones)."""
    cls = get_task_class(TaskType.WORKFLOW, task_name)
    if not issubclass(cls, Workflow):
        raise DomainError(f"{task_name!r} is not a workflow")
    return cls


def create_workflow_template(
    session: Session,
    *,
    workspace: Workspace,
    name: str,
    task_name: str,
    task_data: Mapping[str, Any],
    priority: int = 0,
) -> WorkflowTemplate:
    """A new template; TaskDataError names the template data's wrong fields."""
    cls = workflow_class(task_name)
    cls.validate_template_data(task_data)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise DomainError("priority must be an integer")
    template = WorkflowTemplate(
        workspace=workspace,
        name=name,
        task_name=cls.TASK_NAME,
        task_data=dict(task_data),
        priority=priority,
    )
    session.add(template)
    session.flush()
    return template


def merge_task_data(
    template: WorkflowTemplate, user_data: Mapping[str, Any]
) -> dict[str, Any]:
    """The user's data under the template's: the template's keys win."""
    return {**dict(user_data), **template.task_data}


def create_workflow(
    session: Session,
    template: WorkflowTemplate,
    user_data: Mapping[str, Any],
    *,
    created_by: User | None,
) -> WorkRequest:
    """Start a root workflow from a template.

    The merged task data is validated by the workflow's schema
    (TaskDataError names the fields), then by its `validate_input()`
    (WorkflowValidationError); on error nothing is left behind. The
    workflow gets the template's priority, its name in `workflow_data`,
    and its internal collection; it stays pending until the orchestrator
    populates it.
    """
    if not isinstance(user_data, Mapping):
        raise TaskDataError(template.task_name, {"_schema": ["Must be an object."]})
    workflow_class(template.task_name)
    with session.begin_nested():
        work_request = create_work_request(
            session,
            workspace=template.workspace,
            task_type=TaskType.WORKFLOW,
            task_name=template.task_name,
            task_data=merge_task_data(template, user_data),
            created_by=created_by,
            priority_base=template.priority,
            workflow_data={"workflow_template_name": template.name},
        )
        work_request.workflow_template = template
        ensure_internal_collection(work_request)
        workflow = workflow_class(template.task_name)(work_request)
        try:
            workflow.validate_input()
        except WorkflowValidationError:
            raise
        except DomainError as exc:
            raise WorkflowValidationError(str(exc)) from exc
    return work_request


__all__ = [
    "create_workflow",
    "create_workflow_template",
    "merge_task_data",
    "workflow_class",
]
