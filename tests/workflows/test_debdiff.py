"""The debdiff workflow: the new source and binaries against a suite's."""

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
    source_package,
    upload,
)


class Suite:
    """`trixie`: hello 0.9-1 (hello on amd64 and i386, hello-data), and cruft."""

    def __init__(self, db_session: Session, workspace: models.Workspace) -> None:
        self.collection = factories.CollectionFactory(
            workspace=workspace, name="trixie", category="debian:suite"
        )
        manager = get_manager(db_session, self.collection)
        self.source = source_package(workspace, version="0.9-1")
        manager.add_artifact(self.source)
        self.binaries: dict[str, models.Artifact] = {}
        for package, arch in (
            ("hello", "amd64"),
            ("hello", "i386"),
            ("hello-data", "all"),
        ):
            self.binaries[arch] = binary_package(
                workspace, package, arch, version="0.9-1"
            )
            manager.add_artifact(self.binaries[arch])
        # Binaries of an older version, and of another source: never compared.
        manager.add_artifact(
            binary_package(workspace, "hello-old", "amd64", version="0.8-1")
        )
        manager.add_artifact(source_package(workspace, "other", "2.0-1"))
        manager.add_artifact(
            binary_package(workspace, "other", "amd64", source="other", version="2.0-1")
        )


@pytest.fixture
def suite(db_session: Session, workspace: models.Workspace) -> Suite:
    return Suite(db_session, workspace)


def _promise(label: str, prefix: str = "") -> dict[str, Any]:
    return {
        "action": "update-collection-with-artifacts",
        "collection": "internal@collections",
        "name_template": f"{prefix}debdiff-{label}",
        "variables": {"architecture": label},
        "artifact_filters": {"category": "debian:debdiff"},
    }


def test_exact_structure(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    suite: Suite,
) -> None:
    source = source_package(workspace)
    amd64 = binary_package(workspace, "hello", "amd64")
    arm64 = binary_package(workspace, "hello", "arm64")
    data = binary_package(workspace, "hello-data", "all")
    root = make_workflow(
        "debdiff",
        {
            "prefix": "qa|",
            "source_artifact": source.id,
            "binary_artifacts": [amd64.id, arm64.id, data.id],
            "original": "trixie@debian:suite",
            "vendor": "debian",
            "codename": "trixie",
            "extra_flags": ["--diffstat"],
        },
    )
    orchestrate_workflow(root)
    old = suite.binaries
    assert children(root) == {
        "debdiff-source": {
            "task": "Worker/debdiff",
            "task_data": {
                "input": {"source_artifacts": [f"{suite.source.id}@artifacts",
                                               source.id]},
                "host_architecture": "amd64",
                "extra_flags": ["--diffstat"],
            },
            "workflow_data": {"display_name": "debdiff source",
                              "step": "debdiff-source"},
            "dependencies": [],
            "event_reactions": {"on_success": [_promise("source", "qa|")]},
            "status": "pending",
        },
        # The suite has no arm64 binaries: nothing to compare them with.
        "debdiff-amd64": {
            "task": "Worker/debdiff",
            "task_data": {
                "input": {"binary_artifacts": [
                    [f"{old['amd64'].id}@artifacts", f"{old['all'].id}@artifacts"],
                    [f"{amd64.id}@artifacts", f"{data.id}@artifacts"],
                ]},
                "host_architecture": "amd64",
                "extra_flags": ["--diffstat"],
            },
            "workflow_data": {"display_name": "debdiff amd64",
                              "step": "debdiff-amd64"},
            "dependencies": [],
            "event_reactions": {"on_success": [_promise("amd64", "qa|")]},
            "status": "pending",
        },
    }  # fmt: skip
    assert promises(root)["qa|debdiff-amd64"] == {
        "category": "debusine:promise",
        "promise_work_request_id": "<debdiff-amd64>",
        "promise_workflow_id": "<root>",
        "promise_category": "debian:debdiff",
        "architecture": "amd64",
    }


def test_all_and_any_are_compared_together(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    suite: Suite,
) -> None:
    """hello became arch:all: its all binaries meet the suite's i386 ones."""
    source = source_package(workspace, architecture="all")
    data = binary_package(workspace, "hello", "all")
    built = upload(db_session, workspace, "source all", extends=[source, data])
    root = make_workflow(
        "debdiff",
        {
            "source_artifact": built.id,
            "binary_artifacts": [data.id],
            "original": f"{suite.collection.id}@collections",
            "arch_all_host_architecture": "i386",
        },
    )
    orchestrate_workflow(root)
    laid_out = children(root)
    assert sorted(laid_out) == ["debdiff-i386", "debdiff-source"]
    # The upload's source package is compared.
    assert laid_out["debdiff-source"]["task_data"]["input"] == {
        "source_artifacts": [
            f"{suite.source.id}@artifacts",
            f"{source.id}@artifacts",
        ]
    }
    assert laid_out["debdiff-i386"]["task_data"] == {
        "input": {
            "binary_artifacts": [
                [
                    f"{suite.binaries['i386'].id}@artifacts",
                    f"{suite.binaries['all'].id}@artifacts",
                ],
                [f"{data.id}@artifacts"],
            ]
        },
        "host_architecture": "i386",
        "extra_flags": [],
    }


def test_new_package_has_nothing_to_compare(
    make_workflow: MakeWorkflow, workspace: models.Workspace, suite: Suite
) -> None:
    source = source_package(workspace, name="brand-new")
    binary = binary_package(workspace, "brand-new", "amd64", source="brand-new")
    root = make_workflow(
        "debdiff",
        {
            "source_artifact": source.id,
            "binary_artifacts": [binary.id],
            "original": "trixie@debian:suite",
        },
    )
    orchestrate_workflow(root)
    assert children(root) == {}
    # Nothing to wait for: done at once, successfully.
    assert root.status == models.WorkRequestStatus.COMPLETED
    assert root.result == models.WorkRequestResult.SUCCESS


def test_promised_builds_are_waited_for(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    suite: Suite,
) -> None:
    source = source_package(workspace, architecture="any all")
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": source.id},
            "target_distribution": "debian:trixie",
            "architectures": ["all", "i386"],
        },
    )
    orchestrate_workflow(root)
    diffs = get_workflow(root).work_request_ensure_child(
        task_type=models.TaskType.WORKFLOW,
        task_name="debdiff",
        task_data={
            "source_artifact": source.id,
            "binary_artifacts": [
                "internal@collections/name:build-all",
                "internal@collections/name:build-i386",
            ],
            "original": "trixie@debian:suite",
        },
        workflow_data={"display_name": "debdiff", "step": "debdiff"},
    )
    diffs.status = models.WorkRequestStatus.RUNNING
    get_workflow(diffs).populate()
    laid_out = children(diffs)
    assert sorted(laid_out) == ["debdiff-i386", "debdiff-source"]
    assert laid_out["debdiff-i386"]["task_data"]["input"]["binary_artifacts"][1] == [
        "internal@collections/name:build-all",
        "internal@collections/name:build-i386",
    ]
    dependencies = {
        child.workflow_data["step"]: sorted(
            d.workflow_data["step"] for d in child.dependencies
        )
        for child in diffs.children
    }
    assert dependencies == {
        "debdiff-source": [],
        "debdiff-i386": ["build-all", "build-i386"],
    }


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"original": None}, "original"),
        ({"source_artifact": ["a", "b"]}, "source_artifact"),
        ({"extra_flags": ["--exec"]}, "extra_flags"),
        ({"architectures": "amd64"}, "architectures"),
        ({"compare_with": "sid"}, "compare_with"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data = {"source_artifact": 1, "original": "trixie@debian:suite"}
    with pytest.raises(TaskDataError) as info:
        make_workflow("debdiff", {**data, **change})
    assert list(info.value.errors) == [field]


def test_bad_input_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace, suite: Suite
) -> None:
    source = source_package(workspace)
    binary = binary_package(workspace, "hello", "amd64")
    factories.CollectionFactory(
        workspace=workspace, name="debian", category="debian:environments"
    )
    good = {
        "source_artifact": source.id,
        "binary_artifacts": [binary.id],
        "original": "trixie@debian:suite",
    }
    for change, field in (
        ({"original": "bookworm@debian:suite"}, "original"),
        ({"original": "debian@debian:environments"}, "original"),
        ({"source_artifact": binary.id}, "source_artifact"),
        ({"source_artifact": 999_999}, "source_artifact"),
        ({"binary_artifacts": [source.id]}, "binary_artifacts"),
    ):
        root = make_workflow("debdiff", {**good, **change})
        with pytest.raises(WorkflowValidationError, match=rf"^{field}: "):
            get_workflow(root).validate_input()
        with pytest.raises(WorkflowRunError, match=field):
            orchestrate_workflow(root)
        assert children(root) == {}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    architectures=st.lists(
        st.sampled_from(["all", "amd64", "i386", "arm64"]), unique=True
    ),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    suite: Suite,
    architectures: list[str],
    operations: list[tuple[str, bool]],
) -> None:
    source = source_package(workspace)
    binaries = [binary_package(workspace, f"hello-{a}", a) for a in architectures]
    root = make_workflow(
        "debdiff",
        {
            "source_artifact": source.id,
            "binary_artifacts": [b.id for b in binaries],
            "original": "trixie@debian:suite",
        },
    )
    orchestrate_workflow(root)
    expected = snapshot(root)
    # The suite has amd64, i386 and all binaries; all binaries meet the
    # suite's amd64 ones on the default arch-all host.
    tasks = set(architectures) - {"all"} or ({"amd64"} if architectures else set())
    assert sorted(json.loads(expected)["children"]) == sorted(
        ["debdiff-source", *(f"debdiff-{a}" for a in tasks - {"arm64"})]
    )
    rerun(root, operations)
    assert snapshot(root) == expected
