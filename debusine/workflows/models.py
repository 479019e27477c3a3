"""Schemas of what workflows store on work requests: `workflow_data`."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate

from debusine.tasks import TaskDataError
from debusine.tasks.base import schema_of


class ManualUnblockEntrySchema(Schema):
    class Meta:
        unknown = RAISE

    user_id = fields.Integer(strict=True, required=True)
    timestamp = fields.String(required=True)
    notes = fields.String(load_default=None, allow_none=True)
    action = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.OneOf(["accept", "reject"]),
    )


class ManualUnblockSchema(Schema):
    class Meta:
        unknown = RAISE

    log = fields.List(fields.Nested(ManualUnblockEntrySchema), load_default=list)


class WorkRequestWorkflowDataSchema(Schema):
    """`WorkRequest.workflow_data`: how a work request sits in its workflow.

    Unknown keys are refused, as upstream's model forbids extras.
    """

    class Meta:
        unknown = RAISE

    allow_failure = fields.Boolean()
    display_name = fields.String()
    step = fields.String(validate=validate.Length(min=1))
    group = fields.String()
    workflow_template_name = fields.String()
    manual_unblock = fields.Nested(ManualUnblockSchema)
    needs_input = fields.Boolean()
    retry_count = fields.Integer(strict=True, validate=validate.Range(min=0))
    visible = fields.Boolean()


def validate_workflow_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Check `data` against the schema; return it as given (no defaults added).

    Keeping it as given keeps `work_request_ensure_child`'s comparison with
    stored children exact.
    """
    try:
        encoded = json.dumps(data, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise TaskDataError("workflow_data", {"_schema": [str(exc)]}) from exc
    _check_workflow_data(encoded)
    return dict(data)


# Workflows give the same few workflow_data over and over ("sbuild amd64"
# in every pipeline): a check is a pure function of the data, so valid data
# is remembered (as JSON text) and not checked again.
@functools.lru_cache(maxsize=4096)
def _check_workflow_data(encoded: str) -> None:
    try:
        schema_of(WorkRequestWorkflowDataSchema).load(json.loads(encoded))
    except ValidationError as exc:
        messages = exc.messages
        if not isinstance(messages, dict):
            messages = {"_schema": messages}
        raise TaskDataError("workflow_data", messages) from exc
