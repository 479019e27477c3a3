"""Helpers of the composite-workflow tests: whole trees, promises, re-runs."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections.workflow_internal import PROMISE
from debusine.models import CollectionItem, TaskType, WorkRequest
from debusine.workflows import get_workflow
from debusine.workflows.base import workflow_root
from tests import factories


def _session(work_request: WorkRequest) -> Session:
    session = Session.object_session(work_request)
    assert session is not None
    return session


def _label(work_request: WorkRequest) -> str:
    return str(work_request.workflow_data.get("step") or work_request.task_name)


def descendants(root: WorkRequest) -> list[WorkRequest]:
    session = _session(root)
    session.flush()
    found: list[WorkRequest] = []
    queue = [root]
    while queue:
        node = queue.pop(0)
        session.expire(node, ["children"])
        children = sorted(node.children, key=lambda c: c.id)
        found += children
        queue += [c for c in children if c.task_type == TaskType.WORKFLOW]
    return found


def path(work_request: WorkRequest) -> str:
    parts = []
    node: WorkRequest | None = work_request
    while node is not None and node.parent is not None:
        parts.append(_label(node))
        node = node.parent
    return "/".join(reversed(parts))


def tree(root: WorkRequest) -> list[tuple[Any, ...]]:
    """Every descendant: where it sits, what it runs, what it waits for."""
    rows = []
    for child in descendants(root):
        rows.append(
            (
                path(child),
                child.task_type.value,
                child.task_name,
                json.loads(json.dumps(child.task_data)),
                child.status.value,
                child.priority_base,
                sorted(path(d) for d in child.dependencies),
            )
        )
    return sorted(rows, key=lambda row: (row[0], json.dumps(row, sort_keys=True)))


def snapshot(root: WorkRequest) -> tuple[Any, ...]:
    """The tree with workflow data, reactions and promises: compared on re-runs."""
    rows = []
    for child in descendants(root):
        rows.append(
            json.dumps(
                [
                    path(child),
                    child.task_type.value,
                    child.task_name,
                    child.task_data,
                    child.workflow_data,
                    child.event_reactions,
                    child.status.value,
                    child.priority_base,
                    sorted(path(d) for d in child.dependencies),
                ],
                sort_keys=True,
            )
        )
    return (sorted(rows), promises(root))


def promises(root: WorkRequest) -> dict[str, tuple[str, str]]:
    """Promise name -> (category, path of the work request that will provide it)."""
    collection = workflow_root(root).internal_collection
    if collection is None:
        return {}
    session = _session(root)
    items = session.scalars(
        select(CollectionItem).where(
            CollectionItem.parent_collection_id == collection.id,
            CollectionItem.removed_at.is_(None),
            CollectionItem.category == PROMISE,
        )
    )
    found = {}
    for item in items:
        provider = session.get(WorkRequest, item.data["promise_work_request_id"])
        assert provider is not None
        found[item.name] = (item.data["promise_category"], path(provider))
    return found


def by_path(root: WorkRequest) -> dict[str, WorkRequest]:
    return {path(child): child for child in descendants(root)}


# Operations re-running orchestration code: populate() of the root or of a
# sub-workflow (by index), or every callback, from the same Workflow
# instances or fresh ones.
OPERATIONS = st.lists(
    st.tuples(
        st.sampled_from(["populate", "callbacks"]),
        st.integers(min_value=0, max_value=20),
        st.booleans(),
    ),
    min_size=1,
    max_size=5,
)


def rerun(root: WorkRequest, operations: list[tuple[str, int, bool]]) -> None:
    """Re-run populate/callbacks as `operations` say, checking nothing changes."""
    expected = snapshot(root)
    workflows = [root] + [
        c for c in descendants(root) if c.task_type == TaskType.WORKFLOW
    ]
    instances = {w.id: get_workflow(w) for w in workflows}
    for operation, which, fresh in operations:
        target = workflows[which % len(workflows)]
        if fresh:
            instances[target.id] = get_workflow(target)
        workflow = instances[target.id]
        if operation == "populate":
            if target.status == models.WorkRequestStatus.RUNNING:
                workflow.populate()
        else:
            for child in descendants(root):
                if (
                    child.parent_id == target.id
                    and (child.task_type, child.task_name)
                    == (TaskType.INTERNAL, "workflow")
                    and child.status != models.WorkRequestStatus.BLOCKED
                ):
                    workflow.callback(child)
        assert snapshot(root) == expected


def source_package(
    workspace: models.Workspace,
    name: str = "hello",
    version: str = "1.0-1",
    **dsc_fields: str,
) -> models.Artifact:
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:source-package",
        data={
            "name": name,
            "version": version,
            "type": "dpkg",
            "dsc_fields": {"Source": name, "Version": version, **dsc_fields},
        },
    )


def upload(
    workspace: models.Workspace,
    source: str = "hello",
    architecture: str = "source",
    binaries: str = "",
) -> models.Artifact:
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:upload",
        data={
            "type": "dpkg",
            "changes_fields": {
                "Source": source,
                "Architecture": architecture,
                "Binary": binaries,
            },
        },
    )


def binary_package(
    workspace: models.Workspace,
    package: str,
    architecture: str,
    *,
    source: str = "hello",
    version: str = "1.0-1",
    depends: str = "",
) -> models.Artifact:
    fields = {"Package": package, "Version": version, "Architecture": architecture}
    if depends:
        fields["Depends"] = depends
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:binary-package",
        data={
            "srcpkg_name": source,
            "srcpkg_version": version,
            "deb_fields": fields,
            "deb_control_files": [],
        },
    )


def children(workflow: WorkRequest) -> list[tuple[Any, ...]]:
    """The workflow's own children (not their descendants), as `tree` rows."""
    return [row for row in tree(workflow) if "/" not in row[0]]


def promise_builds(
    root: WorkRequest, architectures: list[str], source: str = "hello"
) -> WorkRequest:
    """A `build` child of the running root promising `build-{arch}` uploads."""
    from debusine.workflows import Workflow

    root.status = models.WorkRequestStatus.RUNNING
    workflow = get_workflow(root)
    build = workflow.work_request_ensure_child(
        task_name="noop", task_data={}, workflow_data={"step": "build"}
    )
    for arch in architectures:
        Workflow.provides_artifact(
            build,
            "debian:upload",
            f"build-{arch}",
            data={
                "architecture": arch,
                "binary_names": [f"{source}-{arch}"],
                "source_package_name": source,
            },
        )
    return build
