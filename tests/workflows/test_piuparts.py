"""The piuparts workflow: one piuparts run per architecture of the binaries."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from debusine import models
from debusine.tasks import TaskDataError
from debusine.workflows import WorkflowRunError, get_workflow, orchestrate_workflow
from debusine.workflows.base import WorkflowValidationError
from debusine.workflows.piuparts import narrow_match
from tests.workflows.conftest import MakeWorkflow
from tests.workflows.structure import (
    OPERATIONS,
    binary_package,
    children,
    promises,
    rerun,
    snapshot,
    source_package,
)

REPOSITORY = {
    "url": "https://deb.example.org/debian",
    "suite": "trixie-extra",
    "components": ["main"],
}


def test_exact_structure(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    amd64 = binary_package(workspace, "hello", "amd64")
    i386 = binary_package(workspace, "hello", "i386")
    data = binary_package(workspace, "hello-data", "all")
    root = make_workflow(
        "piuparts",
        {
            "binary_artifacts": [amd64.id, i386.id, data.id],
            "vendor": "debian",
            "codename": "trixie",
            "extra_repositories": [REPOSITORY],
        },
    )
    orchestrate_workflow(root)

    def child(arch: str, binary: models.Artifact) -> dict[str, Any]:
        return {
            "task": "Worker/piuparts",
            "task_data": {
                "input": {
                    "binary_artifacts": [
                        f"{binary.id}@artifacts",
                        f"{data.id}@artifacts",
                    ]
                },
                "host_architecture": arch,
                # The task narrows the environment to its architecture.
                "environment": "debian/match:codename=trixie",
                "base_tgz": (
                    f"debian/match:codename=trixie:architecture={arch}:format=tarball"
                ),
                "backend": "unshare",
                "extra_repositories": [{**REPOSITORY, "signing_key": None}],
            },
            "workflow_data": {
                "display_name": f"piuparts {arch}",
                "step": f"piuparts-{arch}",
            },
            "dependencies": [],
            "event_reactions": {},
            "status": "pending",
        }

    assert children(root) == {
        "piuparts-amd64": child("amd64", amd64),
        "piuparts-i386": child("i386", i386),
    }
    # piuparts stores logs, no artifact to promise.
    assert promises(root) == {}


def test_environment_and_base_tgz(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    data = binary_package(workspace, "hello-data", "all")
    common = {"binary_artifacts": [data.id], "vendor": "debian", "codename": "sid"}

    def task_data(**extra: Any) -> dict[str, Any]:
        root = make_workflow("piuparts", {**common, **extra})
        orchestrate_workflow(root)
        (laid_out,) = children(root).values()
        return laid_out["task_data"]  # type: ignore[no-any-return]

    # all-only binaries: tested on the arch-all host; the tarball defaults
    # to the environment given.
    given_env = task_data(
        environment="ports/match:codename=sid:variant=minbase",
        arch_all_host_architecture="arm64",
    )
    assert given_env["host_architecture"] == "arm64"
    assert given_env["environment"] == "ports/match:codename=sid:variant=minbase"
    assert given_env["base_tgz"] == (
        "ports/match:codename=sid:variant=minbase:architecture=arm64:format=tarball"
    )
    assert "extra_repositories" not in given_env
    # A tarball given by id, or naming its architecture, is kept as is.
    assert task_data(base_tgz=1234)["base_tgz"] == 1234
    assert (
        task_data(base_tgz="debian/match:architecture=i386:codename=sid")["base_tgz"]
        == "debian/match:architecture=i386:codename=sid:format=tarball"
    )


def test_narrow_match() -> None:
    assert narrow_match("debian/match:codename=sid", architecture="s390x") == (
        "debian/match:codename=sid:architecture=s390x"
    )
    assert narrow_match("debian/match:", architecture="s390x") == (
        "debian/match:architecture=s390x"
    )
    assert narrow_match("debian/name:tarball:sid:amd64", architecture="s390x") == (
        "debian/name:tarball:sid:amd64"
    )
    assert narrow_match(42, architecture="s390x") == 42


def test_promised_builds_are_waited_for(
    db_session: Session, make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace, architecture="any all")
    root = make_workflow(
        "sbuild",
        {
            "input": {"source_artifact": source.id},
            "target_distribution": "debian:bookworm",
            "architectures": ["all", "arm64", "amd64"],
        },
    )
    orchestrate_workflow(root)
    tests = get_workflow(root).work_request_ensure_child(
        task_type=models.TaskType.WORKFLOW,
        task_name="piuparts",
        task_data={
            "binary_artifacts": [
                "internal@collections/name:build-all",
                "internal@collections/name:build-amd64",
                "internal@collections/name:build-arm64",
            ],
            "vendor": "debian",
            "codename": "bookworm",
            "architectures": ["all", "arm64"],
        },
        workflow_data={"display_name": "piuparts", "step": "piuparts"},
    )
    tests.status = models.WorkRequestStatus.RUNNING
    get_workflow(tests).populate()
    laid_out = children(tests)
    assert list(laid_out) == ["piuparts-arm64"]
    assert laid_out["piuparts-arm64"]["task_data"]["input"]["binary_artifacts"] == [
        "internal@collections/name:build-all",
        "internal@collections/name:build-arm64",
    ]
    (child,) = tests.children
    assert sorted(d.workflow_data["step"] for d in child.dependencies) == [
        "build-all",
        "build-arm64",
    ]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"vendor": None}, "vendor"),
        ({"binary_artifacts": None}, "binary_artifacts"),
        ({"architectures": ["Not An Arch"]}, "architectures"),
        ({"backend": "chroot"}, "backend"),
        ({"extra_repositories": [{"url": "x"}]}, "extra_repositories"),
        ({"base_tgz": ["a", "b"]}, "base_tgz"),
        ({"upgrade_from": "bookworm"}, "upgrade_from"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data = {"binary_artifacts": [2], "vendor": "debian", "codename": "sid"}
    with pytest.raises(TaskDataError) as info:
        make_workflow("piuparts", {**data, **change})
    assert list(info.value.errors) == [field]


def test_bad_input_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    for binaries in ([999_999], [source.id], []):
        root = make_workflow(
            "piuparts",
            {"binary_artifacts": binaries, "vendor": "debian", "codename": "sid"},
        )
        with pytest.raises(WorkflowValidationError, match=r"^binary_artifacts: "):
            get_workflow(root).validate_input()
        with pytest.raises(WorkflowRunError, match="binary_artifacts"):
            orchestrate_workflow(root)
        assert children(root) == {}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    architectures=st.lists(
        st.sampled_from(["all", "amd64", "arm64"]), min_size=1, unique=True
    ),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    architectures: list[str],
    operations: list[tuple[str, bool]],
) -> None:
    binaries = [binary_package(workspace, f"hello-{a}", a) for a in architectures]
    root = make_workflow(
        "piuparts",
        {
            "binary_artifacts": [b.id for b in binaries],
            "vendor": "debian",
            "codename": "sid",
        },
    )
    orchestrate_workflow(root)
    expected = snapshot(root)
    concrete = set(architectures) - {"all"} or {"amd64"}
    assert sorted(json.loads(expected)["children"]) == sorted(
        f"piuparts-{a}" for a in concrete
    )
    rerun(root, operations)
    assert snapshot(root) == expected
