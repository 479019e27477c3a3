"""The client's workflow commands (client-protocol.md routes 10 and 11)."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from debusine.client.commands import _read_data, absolute, output
from debusine.client.errors import ClientError
from debusine.client.http import APIClient

Command = Callable[[argparse.Namespace, APIClient], None]
Add = Callable[[Any, str, Command, str], argparse.ArgumentParser]


def cmd_create_workflow_template(args: argparse.Namespace, client: APIClient) -> None:
    body: dict[str, Any] = {
        "name": args.name,
        "task_name": args.task_name,
        "task_data": _read_data(args.data),
        "priority": args.priority,
    }
    if args.workspace:
        body["workspace"] = args.workspace
    created = client.post("/workflow-template/", body, expected=(201,))
    if not isinstance(created, dict) or "id" not in created:
        raise ClientError(
            "the server's answer to POST /workflow-template/ is not a template"
        )
    output(
        {
            "result": "success",
            "message": "Workflow template registered: "
            + absolute(client, str(created.get("url", ""))),
            "workflow_template_id": created["id"],
        }
    )


def cmd_create_workflow(args: argparse.Namespace, client: APIClient) -> None:
    body: dict[str, Any] = {
        "template_name": args.template_name,
        "task_data": _read_data(args.data),
    }
    if args.workspace:
        body["workspace"] = args.workspace
    created = client.post("/workflow/", body, expected=(201,))
    if not isinstance(created, dict) or "id" not in created:
        raise ClientError("the server's answer to POST /workflow/ is not a workflow")
    output(
        {
            "result": "success",
            "message": "Workflow created: "
            + absolute(client, str(created.get("url", ""))),
            "workflow_id": created["id"],
            "status": created.get("status"),
        }
    )


def add_commands(subparsers: Any, add: Add) -> None:
    """Register the workflow commands with the `debusine` parser."""
    template = add(
        subparsers,
        "create-workflow-template",
        cmd_create_workflow_template,
        "Create a workflow template: a named workflow that contributors of the"
        " workspace may start with create-workflow (needs a workspace owner)",
    )
    template.epilog = (
        "The template's task data (--data) is fixed: when a workflow is started"
        " from it, its keys win over the data given to create-workflow.\n"
        "example: debusine create-workflow-template build-amd64 sbuild"
        " --data sbuild.yaml"
    )
    template.formatter_class = argparse.RawDescriptionHelpFormatter
    template.add_argument("name", help="the template's name, e.g. build-amd64")
    template.add_argument(
        "task_name", help="the workflow it starts, e.g. noop, sbuild, package_upload"
    )
    template.add_argument(
        "--workspace", help="workspace (default: the scope's default)"
    )
    template.add_argument(
        "--data",
        metavar="FILE",
        help="the template's task data, a YAML file (- for stdin)",
    )
    template.add_argument(
        "--priority",
        type=int,
        default=0,
        metavar="N",
        help="base priority of the workflows it starts (default 0)",
    )

    workflow = add(
        subparsers,
        "create-workflow",
        cmd_create_workflow,
        "Start a workflow from a workflow template (needs a workspace contributor)",
    )
    workflow.epilog = (
        "Your task data (--data) is merged under the template's: keys the"
        " template sets cannot be changed.\n"
        "example: echo 'source_artifact: 42' | debusine create-workflow"
        " build-amd64 --data -"
    )
    workflow.formatter_class = argparse.RawDescriptionHelpFormatter
    workflow.add_argument(
        "template_name", metavar="TEMPLATE", help="the workflow template's name"
    )
    workflow.add_argument(
        "--workspace", help="workspace (default: the scope's default)"
    )
    workflow.add_argument(
        "--data", metavar="FILE", help="your task data, a YAML file (- for stdin)"
    )
