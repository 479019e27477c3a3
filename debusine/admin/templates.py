"""`create-workflow-template`, `list-workflow-templates`, `delete-workflow-template`."""

from __future__ import annotations

import argparse
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine.admin.common import (
    CommandError,
    Output,
    add_command,
    add_output_options,
    flush_unique,
    get_workflow_template,
    get_workspace,
    read_mapping,
    scoped_name,
)
from debusine.models import Scope, WorkflowTemplate, Workspace
from debusine.models.validation import InvalidName, validate_name

# Workflow names are Python-style identifiers: sbuild, debian_pipeline...
TASK_NAME_RE = re.compile(r"[a-z][a-z0-9_]*")


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "create-workflow-template",
        create_workflow_template,
        help="create a workflow template in a workspace",
        description="Create the workflow template NAME in SCOPE/WORKSPACE, "
        "which starts the workflow TASK_NAME. Its task data (a YAML or JSON "
        "mapping read from --data FILE, `-` for standard input) is fixed: users "
        "starting the workflow provide the rest. Work requests created from it "
        "get the template's priority.",
        epilog="examples:\n"
        "  debusine-admin create-workflow-template debian/developers sbuild-amd64 "
        "sbuild --data sbuild.yaml\n"
        "  echo '{architectures: [amd64]}' | debusine-admin create-workflow-template "
        "debian/developers build sbuild --data - --priority 10",
    )
    parser.add_argument(
        "workspace",
        metavar="SCOPE/WORKSPACE",
        type=scoped_name("workspace"),
        help="the workspace",
    )
    parser.add_argument("name", metavar="NAME", help="the template's name")
    parser.add_argument(
        "task_name",
        metavar="TASK_NAME",
        help="the workflow the template starts, e.g. sbuild or debian_pipeline",
    )
    parser.add_argument(
        "--data",
        metavar="FILE",
        help="the template's task data, YAML or JSON (`-`: standard input)",
    )
    parser.add_argument(
        "--priority",
        type=int,
        default=0,
        help="the base priority of the work requests it creates",
    )

    parser = add_command(
        subparsers,
        "list-workflow-templates",
        list_workflow_templates,
        help="list the workflow templates",
        description="List the workflow templates of SCOPE/WORKSPACE, or of every "
        "workspace; --yaml also shows their task data.",
    )
    parser.add_argument(
        "workspace",
        metavar="SCOPE/WORKSPACE",
        type=scoped_name("workspace"),
        nargs="?",
        help="only this workspace",
    )
    add_output_options(parser)

    parser = add_command(
        subparsers,
        "delete-workflow-template",
        delete_workflow_template,
        help="delete a workflow template",
        description="Delete the workflow template NAME of SCOPE/WORKSPACE. "
        "Workflows already started from it are kept.",
        epilog="example:\n"
        "  debusine-admin delete-workflow-template debian/developers sbuild-amd64",
    )
    parser.add_argument(
        "workspace",
        metavar="SCOPE/WORKSPACE",
        type=scoped_name("workspace"),
        help="the workspace",
    )
    parser.add_argument("name", metavar="NAME", help="the template's name")


def create_workflow_template(
    args: argparse.Namespace, session: Session, out: Output
) -> None:
    workspace = get_workspace(session, *args.workspace)
    validate_name("workflow template", args.name)
    if not TASK_NAME_RE.fullmatch(args.task_name):
        raise InvalidName(
            f"invalid workflow name {args.task_name!r}: it must start with a "
            "lowercase letter and contain only lowercase letters, digits and _"
        )
    message = (
        f"workflow template {args.name!r} already exists in workspace "
        f"{workspace.full_name}"
    )
    exists = session.scalar(
        select(WorkflowTemplate).where(
            WorkflowTemplate.workspace_id == workspace.id,
            WorkflowTemplate.name == args.name,
        )
    )
    if exists is not None:
        raise CommandError(message)
    task_data = read_mapping(args.data) if args.data else {}
    session.add(
        WorkflowTemplate(
            workspace=workspace,
            name=args.name,
            task_name=args.task_name,
            task_data=task_data,
            priority=args.priority,
        )
    )
    flush_unique(session, message)
    out.line(
        f"Created workflow template {args.name} ({args.task_name}) in "
        f"{workspace.full_name}"
    )


def list_workflow_templates(
    args: argparse.Namespace, session: Session, out: Output
) -> None:
    query = (
        select(WorkflowTemplate, Scope.name, Workspace.name)
        .join(Workspace, WorkflowTemplate.workspace_id == Workspace.id)
        .join(Scope, Workspace.scope_id == Scope.id)
        .order_by(Scope.name, Workspace.name, WorkflowTemplate.name)
    )
    if args.workspace:
        workspace = get_workspace(session, *args.workspace)
        query = query.where(WorkflowTemplate.workspace_id == workspace.id)
    rows = [
        {
            "workspace": f"{scope_name}/{workspace_name}",
            "name": template.name,
            "task_name": template.task_name,
            "priority": template.priority,
            "task_data": template.task_data,
        }
        for template, scope_name, workspace_name in session.execute(query)
    ]
    out.records(
        rows,
        [
            ("workspace", "Workspace"),
            ("name", "Name"),
            ("task_name", "Workflow"),
            ("priority", "Priority"),
        ],
    )


def delete_workflow_template(
    args: argparse.Namespace, session: Session, out: Output
) -> None:
    workspace = get_workspace(session, *args.workspace)
    template = get_workflow_template(session, workspace, args.name)
    session.delete(template)
    session.flush()
    out.line(f"Deleted workflow template {args.name} from {workspace.full_name}")
