"""Helpers of the composite workflows: sub-workflows and lookup lists.

A composite workflow lays out other workflows as children. A sub-workflow
whose inputs already exist is populated at once, in the same transaction
(its promises are then known to what follows); one that waits for
promised inputs depends on their work requests and is populated by the
orchestrator when it becomes pending.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from debusine.collections import ExpectType, LookupResult
from debusine.collections.workflow_internal import PROMISE
from debusine.models import CollectionItemType, WorkRequest, WorkRequestStatus
from debusine.tasks import TaskType
from debusine.work_requests import add_dependency
from debusine.workflows.base import (
    LookupMultiple,
    Workflow,
    WorkflowValidationError,
    orchestrate_workflow,
)


def ensure_sub_workflow(
    workflow: Workflow,
    *,
    task_name: str,
    task_data: Mapping[str, Any],
    workflow_data: Mapping[str, Any],
    requires: Sequence[int | str | LookupMultiple] = (),
    after: Sequence[WorkRequest] = (),
    relative_priority: int = 0,
) -> WorkRequest:
    """A child workflow, idempotent.

    It depends on the promises in `requires` and on the work requests
    `after`; it is populated at once unless it waits for them.
    """
    child = workflow.work_request_ensure_child(
        task_type=TaskType.WORKFLOW,
        task_name=task_name,
        task_data=task_data,
        workflow_data=workflow_data,
        relative_priority=relative_priority,
    )
    for lookup in requires:
        Workflow.requires_artifact(child, lookup)
    for dependency in after:
        add_dependency(workflow.session, child, dependency)
    if child.status == WorkRequestStatus.PENDING:
        orchestrate_workflow(child)
    return child


def internal(name: str) -> str:
    """The lookup of `name` in the root workflow's internal collection."""
    return f"internal@collections/name:{name}"


def is_promise(result: LookupResult) -> bool:
    item = result.collection_item
    return (
        result.result_type == CollectionItemType.BARE
        and item is not None
        and item.category == PROMISE
    )


def single_lookup_for(result: LookupResult) -> str:
    """A single lookup that finds `result` again: `NNN@artifacts` or a promise."""
    if result.artifact is not None:
        return f"{result.artifact.id}@artifacts"
    if is_promise(result):
        assert result.collection_item is not None
        return internal(result.collection_item.name)
    raise WorkflowValidationError(
        f"lookup result {result.collection_item or result.collection} is neither"
        " an artifact nor a promise"
    )


def lookup_single_or_promise(
    workflow: Workflow, field: str, lookup: int | str
) -> LookupResult:
    """Resolve an input lookup; a failure is a WorkflowValidationError naming it."""
    try:
        return workflow.lookup(lookup, expect_type=ExpectType.ARTIFACT_OR_PROMISE)
    except LookupError as exc:
        raise WorkflowValidationError(f"{field}: {exc}") from exc


def lookup_multiple_or_promises(
    workflow: Workflow, field: str, lookup: LookupMultiple
) -> list[LookupResult]:
    try:
        return workflow.lookup_multiple(
            lookup, expect_type=ExpectType.ARTIFACT_OR_PROMISE
        )
    except LookupError as exc:
        raise WorkflowValidationError(f"{field}: {exc}") from exc


def result_category(result: LookupResult) -> str:
    if result.artifact is not None:
        return result.artifact.category
    assert result.collection_item is not None
    return str(result.collection_item.data.get("promise_category", ""))


def check_categories(
    field: str, results: Sequence[LookupResult], allowed: Sequence[str]
) -> None:
    """Each result is an artifact, or a promise, of one of `allowed`."""
    for result in results:
        if not (result.artifact is not None or is_promise(result)):
            raise WorkflowValidationError(
                f"{field}: expected artifacts or promises, found"
                f" {single_lookup_description(result)}"
            )
        category = result_category(result)
        if category not in allowed:
            raise WorkflowValidationError(
                f"{field}: {single_lookup_description(result)} is a {category};"
                f" expected {' or '.join(allowed)}"
            )


def single_lookup_description(result: LookupResult) -> str:
    if result.artifact is not None:
        return f"artifact {result.artifact.id}"
    if result.collection_item is not None:
        return f"collection item {result.collection_item.name!r}"
    return "a collection"


def real_artifact_ids(results: Sequence[LookupResult]) -> list[int]:
    return sorted({r.artifact.id for r in results if r.artifact is not None})


def drop_none(data: Mapping[str, Any]) -> dict[str, Any]:
    """Task data without the optional keys left unset."""
    return {key: value for key, value in data.items() if value is not None}


__all__ = [
    "check_categories",
    "drop_none",
    "ensure_sub_workflow",
    "internal",
    "is_promise",
    "lookup_multiple_or_promises",
    "lookup_single_or_promise",
    "real_artifact_ids",
    "result_category",
    "single_lookup_for",
]
