"""Orchestrating a running workflow again populates only when something changed."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import get_manager
from debusine.workflows import orchestrate_workflow
from debusine.workflows.debian_pipeline import DebianPipelineWorkflow
from debusine.workflows.sbuild import SbuildWorkflow
from tests import factories
from tests.workflows.composite import by_path, children, source_package
from tests.workflows.conftest import MakeWorkflow
from tests.workflows.test_workflow_utils import tarball


@pytest.fixture
def populates(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the workflows whose populate runs, in order."""
    ran: list[str] = []
    for cls in (DebianPipelineWorkflow, SbuildWorkflow):
        real = cls.populate

        def counting(self: object, real: object = real) -> None:
            ran.append(self.TASK_NAME)  # type: ignore[attr-defined]
            real(self)  # type: ignore[operator]

        monkeypatch.setattr(cls, "populate", counting)
    return ran


@pytest.fixture
def environments(db_session: Session, workspace: models.Workspace) -> models.Collection:
    collection = factories.CollectionFactory(
        workspace=workspace, name="debian", category="debian:environments"
    )
    get_manager(db_session, collection).add_artifact(tarball(workspace, "sid", "amd64"))
    return collection


def pipeline(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> models.WorkRequest:
    source = source_package(workspace, "hello", Architecture="any all")
    # No architectures given: those of the environments available.
    return make_workflow(
        "debian_pipeline",
        {"source_artifact": source.id, "vendor": "debian", "codename": "sid"},
    )


def build_amd64_succeeded(
    db_session: Session, workspace: models.Workspace, root: models.WorkRequest
) -> None:
    """The pipeline's amd64 build artifact replaces its promise."""
    build = factories.ArtifactFactory(
        workspace=workspace,
        category="debian:upload",
        data={"type": "dpkg", "changes_fields": {"Architecture": "amd64"}},
    )
    assert root.internal_collection is not None
    get_manager(db_session, root.internal_collection).add_artifact(
        build, name="build-amd64", replace=True
    )


def test_nothing_changed_populate_does_not_run_again(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    environments: models.Collection,
    populates: list[str],
) -> None:
    root = pipeline(make_workflow, workspace)
    orchestrate_workflow(root)
    assert populates == ["debian_pipeline", "sbuild"]
    laid_out = children(root)
    assert root.populate_memo is not None
    assert root.populate_memo["collections"] == sorted(
        [environments.id, root.internal_collection_id]
    )

    populates.clear()
    orchestrate_workflow(root)
    orchestrate_workflow(root)
    assert populates == []
    assert children(root) == laid_out


def test_a_new_environment_populates_again(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    environments: models.Collection,
    populates: list[str],
) -> None:
    root = pipeline(make_workflow, workspace)
    orchestrate_workflow(root)
    assert by_path(root)["sbuild"].task_data["architectures"] == ["all", "amd64"]

    get_manager(db_session, environments).add_artifact(
        tarball(workspace, "sid", "arm64")
    )
    populates.clear()
    orchestrate_workflow(root)
    assert populates[0] == "debian_pipeline"
    # The pipeline now asks for arm64 too: a build workflow for the three.
    architectures = sorted(
        tuple(child.task_data["architectures"])
        for child in root.children
        if child.task_name == "sbuild"
    )
    assert architectures == [("all", "amd64"), ("all", "amd64", "arm64")]

    populates.clear()
    orchestrate_workflow(root)
    assert populates == []


def test_a_fulfilled_promise_populates_again(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    environments: models.Collection,
    populates: list[str],
) -> None:
    root = pipeline(make_workflow, workspace)
    orchestrate_workflow(root)
    build_amd64_succeeded(db_session, workspace, root)
    populates.clear()
    orchestrate_workflow(root)
    assert populates == ["debian_pipeline"]


def test_a_change_to_another_workflows_collection_is_not_this_ones(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    environments: models.Collection,
    populates: list[str],
) -> None:
    first = pipeline(make_workflow, workspace)
    second = pipeline(make_workflow, workspace)
    orchestrate_workflow(first)
    orchestrate_workflow(second)
    # A promise of the second pipeline is fulfilled: only it populates again.
    build_amd64_succeeded(db_session, workspace, second)
    populates.clear()
    orchestrate_workflow(first)
    assert populates == []
    orchestrate_workflow(second)
    assert populates == ["debian_pipeline"]


def test_a_removed_item_populates_again(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    environments: models.Collection,
    populates: list[str],
) -> None:
    manager = get_manager(db_session, environments)
    arm64 = manager.add_artifact(tarball(workspace, "sid", "arm64"))
    root = pipeline(make_workflow, workspace)
    orchestrate_workflow(root)
    manager.remove_item(arm64)
    populates.clear()
    orchestrate_workflow(root)
    assert populates == ["debian_pipeline", "sbuild"]


def test_changed_task_data_populates_again(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    environments: models.Collection,
    populates: list[str],
) -> None:
    root = pipeline(make_workflow, workspace)
    orchestrate_workflow(root)
    root.task_data = {**root.task_data, "enable_lintian": False}
    populates.clear()
    orchestrate_workflow(root)
    assert populates == ["debian_pipeline"]


def test_a_sub_workflow_populated_in_its_parents_run_has_no_memo(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    environments: models.Collection,
    populates: list[str],
) -> None:
    root = pipeline(make_workflow, workspace)
    orchestrate_workflow(root)
    sbuild = by_path(root)["sbuild"]
    assert sbuild.populate_memo is None
    populates.clear()
    orchestrate_workflow(sbuild)
    assert populates == ["sbuild"]
    # Orchestrated on its own, it remembers: the next time is a no-op.
    assert sbuild.populate_memo is not None
    populates.clear()
    orchestrate_workflow(sbuild)
    assert populates == []
