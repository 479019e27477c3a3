"""The `noop` workflow: noop worker children, and an optional callback step.

It exercises the engine without Debian tools: `children` noop tasks
(those listed in `failing_children` fail, tolerated when `allow_failure`),
and with `callback`, a `summary` callback that waits for them all and then
adds one more noop child.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from debusine.tasks import TaskDataSchema, TaskType
from debusine.work_requests import add_dependency
from debusine.workflows.base import Workflow

MAX_CHILDREN = 10_000


class NoopWorkflowData(TaskDataSchema):
    children = fields.Integer(
        strict=True, load_default=1, validate=validate.Range(min=0, max=MAX_CHILDREN)
    )
    failing_children = fields.List(
        fields.Integer(strict=True, validate=validate.Range(min=0)),
        load_default=list,
    )
    allow_failure = fields.Boolean(load_default=False)
    callback = fields.Boolean(load_default=False)

    @validates_schema
    def _failing_exist(self, data: dict[str, Any], **kwargs: Any) -> None:
        count = data.get("children", 1)
        missing = sorted(i for i in data.get("failing_children", []) if i >= count)
        if missing:
            raise ValidationError(
                f"children {missing} do not exist (there are {count}, numbered from 0)",
                "failing_children",
            )


class NoopWorkflow(Workflow):
    """Lays out `children` noop tasks; see the module docstring."""

    TASK_NAME = "noop"
    SCHEMA = NoopWorkflowData

    def build_dynamic_data(self) -> dict[str, Any]:
        return {
            "subject": None,
            "parameter_summary": f"{self.data['children']} noop children",
            "input_artifacts_ids": [],
        }

    def populate(self) -> None:
        failing = set(self.data["failing_children"])
        children = []
        for index in range(self.data["children"]):
            workflow_data: dict[str, Any] = {
                "display_name": f"noop {index}",
                "step": f"noop-{index}",
            }
            if index in failing and self.data["allow_failure"]:
                workflow_data["allow_failure"] = True
            children.append(
                self.work_request_ensure_child(
                    task_type=TaskType.WORKER,
                    task_name="noop",
                    task_data={"result": index not in failing},
                    workflow_data=workflow_data,
                )
            )
        if self.data["callback"]:
            summary = self.create_workflow_callback("summary", "Summary")
            for child in children:
                add_dependency(self.session, summary, child)

    def callback_summary(self) -> None:
        self.work_request_ensure_child(
            task_type=TaskType.WORKER,
            task_name="noop",
            task_data={"result": True},
            workflow_data={"display_name": "summary", "step": "summary-noop"},
        )
