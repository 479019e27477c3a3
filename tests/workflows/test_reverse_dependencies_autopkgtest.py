"""reverse_dependencies_autopkgtest: the suite's packages whose tests use ours."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import get_manager
from debusine.tasks import TaskDataError
from debusine.workflows import (
    Workflow,
    WorkflowValidationError,
    get_workflow,
    orchestrate_workflow,
)
from debusine.workflows.reverse_dependencies_autopkgtest import (
    relation_names,
    runs_autopkgtest,
)
from tests import factories
from tests.workflows.composite import (
    OPERATIONS,
    binary_package,
    rerun,
    source_package,
    tree,
    upload,
)
from tests.workflows.conftest import MakeWorkflow

BUILD = "internal@collections/name:build-amd64"


def add_source(
    db_session: Session,
    suite: models.Collection,
    name: str,
    version: str,
    binaries: dict[str, str],
    **dsc_fields: str,
) -> models.Artifact:
    """A source package and its binaries (name -> Depends) in the suite."""
    manager = get_manager(db_session, suite)
    source = source_package(suite.workspace, name, version, **dsc_fields)
    manager.add_artifact(source)
    for binary, depends in binaries.items():
        manager.add_artifact(
            binary_package(
                suite.workspace,
                binary,
                "amd64",
                source=name,
                version=version,
                depends=depends,
            )
        )
    return source


@pytest.fixture
def suite(db_session: Session, workspace: models.Workspace) -> models.Collection:
    """sid, with reverse dependencies of hello (and packages that are not)."""
    suite = factories.CollectionFactory(
        workspace=workspace, name="sid", category="debian:suite"
    )
    add_source(
        db_session, suite, "hello", "0.9-1", {"hello-bin": ""}, Testsuite="autopkgtest"
    )
    add_source(
        db_session,
        suite,
        "uses-hello",
        "2.0-1",
        {"uses-hello": "libc6 (>= 2.36), foo | hello-bin (>= 1.0)"},
        Testsuite="autopkgtest",
    )
    add_source(
        db_session,
        suite,
        "triggered",
        "1.0-3",
        {"python3-triggered": "python3"},
        Testsuite="autopkgtest-pkg-python",
        **{"Testsuite-Triggers": "libhello1, python3-all"},
    )
    add_source(db_session, suite, "untested", "1.0-1", {"untested": "hello-bin"})
    add_source(
        db_session,
        suite,
        "unrelated",
        "1.0-1",
        {"unrelated": "libc6"},
        Testsuite="autopkgtest",
    )
    add_source(
        db_session,
        suite,
        "denied",
        "1.0-1",
        {"denied": "libhello1"},
        Testsuite="autopkgtest",
    )
    add_source(
        db_session,
        suite,
        "sourceonly",
        "1.0-1",
        {},
        Testsuite="autopkgtest",
        **{"Testsuite-Triggers": "hello-bin"},
    )
    return suite  # fmt: skip


def with_build_promise(root: models.WorkRequest) -> Workflow:
    """The root running, with a build child promising hello's amd64 upload."""
    root.status = models.WorkRequestStatus.RUNNING
    workflow = get_workflow(root)
    build = workflow.work_request_ensure_child(
        task_name="noop", task_data={}, workflow_data={"step": "build"}
    )
    Workflow.provides_artifact(
        build,
        "debian:upload",
        "build-amd64",
        data={
            "architecture": "amd64",
            "binary_names": ["hello-bin", "libhello1"],
            "source_package_name": "hello",
        },
    )
    return workflow


def test_one_autopkgtest_sub_workflow_per_reverse_dependency(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    suite: models.Collection,
) -> None:
    source = source_package(workspace, "hello", "1.0-1")
    extra = upload(workspace, "libfoo", "amd64", "libfoo1").id
    artifacts = db_session.scalars(
        select(models.Artifact).where(models.Artifact.workspace_id == workspace.id)
    ).all()
    uses = {
        a.data["name"]: a.id for a in artifacts if a.category == "debian:source-package"
    }
    binaries = {
        a.data["deb_fields"]["Package"]: a.id
        for a in artifacts
        if a.category == "debian:binary-package"
    }
    root = make_workflow(
        "reverse_dependencies_autopkgtest",
        {
            "prefix": "qa|",
            "source_artifact": source.id,
            "binary_artifacts": [BUILD],
            "context_artifacts": [extra],
            "qa_suite": "sid@debian:suite",
            "vendor": "debian",
            "codename": "sid",
            "architectures": ["amd64"],
            "packages_denylist": ["denied"],
            "debug_level": 1,
        },
        priority_base=10,
    )
    with_build_promise(root).populate()
    common = {
        "context_artifacts": [BUILD, extra],
        "vendor": "debian",
        "codename": "sid",
        "backend": "unshare",
        "architectures": ["amd64"],
        "arch_all_host_architecture": "amd64",
        "debug_level": 1,
    }
    # Priority 10 - 5; waiting for the build they test against.
    assert tree(root) == [
        ("autopkgtest-triggered_1.0-3", "Workflow", "autopkgtest",
         {"prefix": "qa|triggered_1.0-3|",
          "source_artifact": f"{uses['triggered']}@artifacts",
          "binary_artifacts": [f"{binaries['python3-triggered']}@artifacts"],
          **common},
         "blocked", 5, ["build"]),
        ("autopkgtest-uses-hello_2.0-1", "Workflow", "autopkgtest",
         {"prefix": "qa|uses-hello_2.0-1|",
          "source_artifact": f"{uses['uses-hello']}@artifacts",
          "binary_artifacts": [f"{binaries['uses-hello']}@artifacts"],
          **common},
         "blocked", 5, ["build"]),
        ("build", "Worker", "noop", {}, "pending", 10, []),
    ]  # fmt: skip


def test_allowlist_restricts_the_packages_tested(
    make_workflow: MakeWorkflow, workspace: models.Workspace, suite: models.Collection
) -> None:
    root = make_workflow(
        "reverse_dependencies_autopkgtest",
        {
            "source_artifact": source_package(workspace, "hello", "1.0-1").id,
            "binary_artifacts": [BUILD],
            "qa_suite": suite.id,
            "vendor": "debian",
            "codename": "sid",
            "packages_allowlist": ["triggered", "denied"],
        },
    )
    workflow = with_build_promise(root)
    found = workflow.reverse_dependencies()  # type: ignore[attr-defined]
    assert [(r.name, r.version) for r in found] == [
        ("denied", "1.0-1"),
        ("triggered", "1.0-3"),
    ]


def test_field_parsing() -> None:
    assert runs_autopkgtest("autopkgtest")
    assert runs_autopkgtest("autopkgtest-pkg-perl, autopkgtest")
    assert not runs_autopkgtest("")
    assert not runs_autopkgtest("simpletest")
    assert relation_names("a (>= 1) | b [amd64], c:any") == {"a", "b", "c"}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"qa_suite": None}, "qa_suite"),
        ({"debug_level": 4}, "debug_level"),
        ({"packages_denylist": "x"}, "packages_denylist"),
        ({"backend": "qemu"}, "backend"),
        ({"prefix": "a/b"}, "prefix"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data = {
        "source_artifact": 1,
        "binary_artifacts": [2],
        "qa_suite": "sid@debian:suite",
        "vendor": "debian",
        "codename": "sid",
        **change,
    }
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("reverse_dependencies_autopkgtest", data)
    assert list(excinfo.value.errors) == [field]


def test_bad_inputs_are_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace, suite: models.Collection
) -> None:
    source = source_package(workspace, "hello", "1.0-1")
    qa = factories.CollectionFactory(workspace=workspace, category="debian:qa-results")
    base = {"vendor": "debian", "codename": "sid", "source_artifact": source.id}
    cases = [
        ({"binary_artifacts": [source.id], "qa_suite": suite.id},
         "binary_artifacts: artifact"),
        ({"binary_artifacts": [BUILD], "qa_suite": f"{qa.id}@collections"},
         "qa_suite: "),
        ({"binary_artifacts": [BUILD], "qa_suite": "nope@debian:suite"},
         "qa_suite: "),
    ]  # fmt: skip
    for task_data, message in cases:
        root = make_workflow("reverse_dependencies_autopkgtest", {**base, **task_data})
        with pytest.raises(WorkflowValidationError) as excinfo:
            with_build_promise(root).validate_input()
        assert str(excinfo.value).startswith(message)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    denylist=st.lists(st.sampled_from(["uses-hello", "triggered", "denied"])),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    suite: models.Collection,
    denylist: list[str],
    operations: list[tuple[str, int, bool]],
) -> None:
    root = make_workflow(
        "reverse_dependencies_autopkgtest",
        {
            "source_artifact": source_package(workspace, "hello", "1.0-1").id,
            "binary_artifacts": [BUILD],
            "qa_suite": suite.id,
            "vendor": "debian",
            "codename": "sid",
            "packages_denylist": denylist,
        },
    )
    with_build_promise(root)
    orchestrate_workflow(root)
    rerun(root, operations)
