"""What a workflow lays out, as plain data, and realistic Debian inputs.

Shared by the tests of the Debian workflows: `snapshot` gives each child
(by step) with its task, data, dependencies and event reactions, and the
promises in the internal collection, with work request ids replaced by
steps so that two runs compare equal.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.models import CollectionItem, TaskType, WorkRequest
from debusine.workflows import get_workflow
from tests import factories


def _session(root: WorkRequest) -> Session:
    session = Session.object_session(root)
    assert session is not None
    return session


def _steps(root: WorkRequest) -> dict[int, str]:
    return {child.id: child.workflow_data.get("step", "") for child in root.children}


def _replace_ids(value: Any, steps: dict[int, str], keys: tuple[str, ...]) -> Any:
    if isinstance(value, dict):
        return {
            k: (
                f"<{steps.get(v, v)}>"
                if k in keys and isinstance(v, int)
                else _replace_ids(v, steps, keys)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_replace_ids(v, steps, keys) for v in value]
    return value


def children(root: WorkRequest) -> dict[str, dict[str, Any]]:
    """Each child by step: task, data, dependencies, reactions, status."""
    session = _session(root)
    session.flush()
    session.expire(root, ["children"])
    steps = _steps(root)
    laid_out: dict[str, dict[str, Any]] = {}
    for child in root.children:
        step = child.workflow_data.get("step", "")
        assert step not in laid_out, f"two children with step {step!r}"
        laid_out[step] = {
            "task": f"{child.task_type.value}/{child.task_name}",
            "task_data": child.task_data,
            "workflow_data": child.workflow_data,
            "dependencies": sorted(
                d.workflow_data.get("step", "") for d in child.dependencies
            ),
            "event_reactions": _replace_ids(
                child.event_reactions, steps, ("work_request_id",)
            ),
            "status": child.status.value,
        }
    return laid_out


def promises(root: WorkRequest) -> dict[str, dict[str, Any]]:
    """The internal collection's active items by name (ids as steps)."""
    collection = root.internal_collection
    if collection is None:
        return {}
    items = _session(root).scalars(
        select(CollectionItem).where(
            CollectionItem.parent_collection_id == collection.id,
            CollectionItem.removed_at.is_(None),
        )
    )
    steps = _steps(root)
    steps[root.id] = "root"
    return {
        item.name: _replace_ids(
            {"category": item.category, **item.data},
            steps,
            ("promise_work_request_id", "promise_workflow_id"),
        )
        for item in items
    }


def snapshot(root: WorkRequest) -> str:
    """Children and promises, canonical: equal strings, equal structures."""
    return json.dumps(
        {"children": children(root), "promises": promises(root)}, sort_keys=True
    )


# Each operation re-runs orchestration code: populate() or the callbacks,
# from the same Workflow instance or from a fresh one.
OPERATIONS = st.lists(
    st.tuples(st.sampled_from(["populate", "callback"]), st.booleans()),
    min_size=1,
    max_size=5,
)


def rerun(root: WorkRequest, operations: list[tuple[str, bool]]) -> None:
    """Run populate() and every callback again, as `operations` say."""
    workflow = get_workflow(root)
    for operation, fresh in operations:
        if fresh:
            workflow = get_workflow(root)
        if operation == "populate":
            workflow.populate()
        else:
            for child in list(root.children):
                if (child.task_type, child.task_name) == (
                    TaskType.INTERNAL,
                    "workflow",
                ):
                    workflow.callback(child)


def source_package(
    workspace: models.Workspace,
    name: str = "hello",
    version: str = "1.0-1",
    architecture: str = "any all",
    package_list: str = "",
) -> models.Artifact:
    """A debian:source-package artifact as the server stores one."""
    dsc_fields: dict[str, Any] = {
        "Source": name,
        "Version": version,
        "Architecture": architecture,
        "Binary": f"{name}, {name}-data",
        "Files": [],
    }
    if package_list:
        dsc_fields["Package-List"] = package_list
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:source-package",
        data={
            "name": name,
            "version": version,
            "type": "dpkg",
            "dsc_fields": dsc_fields,
        },
    )


def binary_package(
    workspace: models.Workspace,
    package: str,
    architecture: str,
    source: str = "hello",
    version: str = "1.0-1",
) -> models.Artifact:
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:binary-package",
        data={
            "srcpkg_name": source,
            "srcpkg_version": version,
            "deb_fields": {
                "Package": package,
                "Version": version,
                "Architecture": architecture,
            },
            "deb_control_files": [],
        },
    )


def upload(
    session: Session,
    workspace: models.Workspace,
    architectures: str,
    *,
    extends: list[models.Artifact],
    source: str = "hello",
    version: str = "1.0-1",
) -> models.Artifact:
    """A debian:upload extending its source and binary packages."""
    artifact = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:upload",
        data={
            "type": "dpkg",
            "changes_fields": {
                "Source": source,
                "Version": version,
                "Architecture": architectures,
            },
        },
    )
    for target in extends:
        session.add(
            models.ArtifactRelation(
                artifact=artifact,
                target=target,
                type=models.ArtifactRelationType.EXTENDS,
            )
        )
    session.flush()
    return artifact
