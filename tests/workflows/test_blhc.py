"""The blhc workflow: one hardening check per build log."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import get_manager
from debusine.tasks import TaskDataError
from debusine.workflows import WorkflowRunError, get_workflow, orchestrate_workflow
from debusine.workflows.base import WorkflowValidationError
from tests import factories
from tests.workflows.conftest import MakeWorkflow
from tests.workflows.structure import (
    OPERATIONS,
    binary_package,
    children,
    promises,
    rerun,
    snapshot,
)

LOGS = "_@debian:package-build-logs"


@pytest.fixture
def build_logs(workspace: models.Workspace) -> models.Collection:
    return factories.CollectionFactory(
        workspace=workspace, name="_", category="debian:package-build-logs"
    )


def build(
    db_session: Session,
    logs: models.Collection,
    architecture: str,
    source: str = "hello",
) -> tuple[models.Artifact, models.Artifact]:
    """A build of `source` on `architecture`: its upload and its filed log."""
    made, variables = _built(db_session, logs, architecture, source)
    log = factories.ArtifactFactory(
        workspace=logs.workspace,
        category="debian:package-build-log",
        created_by_work_request_id=variables["work_request_id"],
        data={
            "source": source,
            "version": "1.0-1",
            "architecture": architecture,
            "filename": f"{source}_1.0-1_{architecture}.buildlog",
        },
    )
    get_manager(db_session, logs).add_artifact(log, variables=variables)
    return made, log


def build_in_progress(
    db_session: Session, logs: models.Collection, architecture: str
) -> models.Artifact:
    """A build filed when it was created: its log does not exist yet."""
    made, variables = _built(db_session, logs, architecture, "hello")
    get_manager(db_session, logs).add_bare_data(
        "debian:package-build-log", data=variables
    )
    return made


def _built(
    db_session: Session, logs: models.Collection, architecture: str, source: str
) -> tuple[models.Artifact, dict[str, Any]]:
    workspace = logs.workspace
    work_request = factories.WorkRequestFactory(workspace=workspace, task_name="noop")
    db_session.flush()
    variables = {
        "work_request_id": work_request.id,
        "vendor": "debian",
        "codename": "trixie",
        "architecture": architecture,
        "srcpkg_name": source,
        "srcpkg_version": "1.0-1",
    }
    made = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:upload",
        created_by_work_request_id=work_request.id,
        data={
            "type": "dpkg",
            "changes_fields": {
                "Source": source,
                "Version": "1.0-1",
                "Architecture": architecture,
            },
        },
    )
    return made, variables


def _promise(arch: str, prefix: str = "") -> dict[str, Any]:
    return {
        "action": "update-collection-with-artifacts",
        "collection": "internal@collections",
        "name_template": f"{prefix}blhc-{arch}",
        "variables": {"architecture": arch},
        "artifact_filters": {"category": "debian:blhc"},
    }


def test_exact_structure(
    db_session: Session,
    make_workflow: MakeWorkflow,
    build_logs: models.Collection,
) -> None:
    """The logs of the builds that made the binaries, as `qa` asks for them."""
    amd64, amd64_log = build(db_session, build_logs, "amd64")
    arm64, arm64_log = build(db_session, build_logs, "arm64")
    build(db_session, build_logs, "amd64", source="other")
    in_progress = build_in_progress(db_session, build_logs, "s390x")
    root = make_workflow(
        "blhc",
        {
            "prefix": "qa|",
            "package_build_logs": {
                "collection": LOGS,
                "lookup__same_work_request": [
                    amd64.id,
                    arm64.id,
                    f"{in_progress.id}@artifacts",
                ],
            },
            "extra_flags": ["--bindnow", "--pie"],
        },
    )
    orchestrate_workflow(root)

    def child(arch: str, log: models.Artifact) -> dict[str, Any]:
        return {
            "task": "Worker/blhc",
            "task_data": {
                "input": {"artifact": f"{log.id}@artifacts"},
                "extra_flags": ["--bindnow", "--pie"],
            },
            "workflow_data": {
                "display_name": f"blhc hello 1.0-1 {arch}",
                "step": f"blhc-{arch}",
            },
            "dependencies": [],
            "event_reactions": {"on_success": [_promise(arch, "qa|")]},
            "status": "pending",
        }

    assert children(root) == {
        "blhc-amd64": child("amd64", amd64_log),
        "blhc-arm64": child("arm64", arm64_log),
    }
    assert promises(root)["qa|blhc-arm64"] == {
        "category": "debusine:promise",
        "promise_work_request_id": "<blhc-arm64>",
        "promise_workflow_id": "<root>",
        "promise_category": "debian:blhc",
        "architecture": "arm64",
    }
    assert root.dynamic_task_data["input_artifacts_ids"] == sorted(
        [amd64_log.id, arm64_log.id]
    )


def test_logs_sharing_an_architecture(
    db_session: Session,
    make_workflow: MakeWorkflow,
    build_logs: models.Collection,
) -> None:
    """A retried build leaves two logs: each is checked, under its own name."""
    _, first = build(db_session, build_logs, "amd64")
    _, second = build(db_session, build_logs, "amd64")
    _, single = build(db_session, build_logs, "i386")
    root = make_workflow(
        "blhc", {"package_build_logs": [second.id, first.id, single.id]}
    )
    orchestrate_workflow(root)
    laid_out = children(root)
    assert sorted(laid_out) == sorted(
        [f"blhc-amd64-{first.id}", f"blhc-amd64-{second.id}", "blhc-i386"]
    )
    assert laid_out[f"blhc-amd64-{first.id}"]["task_data"]["input"] == {
        "artifact": f"{first.id}@artifacts"
    }
    assert sorted(promises(root)) == sorted(laid_out)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"package_build_logs": None}, "package_build_logs"),
        ({"package_build_logs": "hello"}, "package_build_logs"),
        ({"extra_flags": ["--rm-rf"]}, "extra_flags"),
        ({"prefix": "a/b"}, "prefix"),
        ({"fail_on": "warnings"}, "fail_on"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    with pytest.raises(TaskDataError) as info:
        make_workflow("blhc", {"package_build_logs": [1], **change})
    assert list(info.value.errors) == [field]


def test_bad_input_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    binary = binary_package(workspace, "hello", "amd64")
    for lookup in (
        [999_999],
        [binary.id],
        # No build logs collection in this workspace.
        {"collection": LOGS},
        ["internal@collections/name:build-amd64"],
    ):
        root = make_workflow("blhc", {"package_build_logs": lookup})
        with pytest.raises(WorkflowValidationError, match=r"^package_build_logs: "):
            get_workflow(root).validate_input()
        with pytest.raises(WorkflowRunError, match="package_build_logs"):
            orchestrate_workflow(root)
        assert children(root) == {}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    architectures=st.lists(st.sampled_from(["amd64", "arm64", "i386"]), max_size=4),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    db_session: Session,
    make_workflow: MakeWorkflow,
    build_logs: models.Collection,
    architectures: list[str],
    operations: list[tuple[str, bool]],
) -> None:
    made = [build(db_session, build_logs, arch)[0] for arch in architectures]
    root = make_workflow(
        "blhc",
        {
            "package_build_logs": {
                "collection": LOGS,
                "lookup__same_work_request": [m.id for m in made],
            }
        },
    )
    orchestrate_workflow(root)
    expected = snapshot(root)
    assert len(json.loads(expected)["children"]) == len(architectures)
    rerun(root, operations)
    assert snapshot(root) == expected
