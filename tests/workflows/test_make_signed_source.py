"""The make_signed_source workflow: extract, sign, assemble, then build."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from debusine import models
from debusine.tasks import TaskDataError
from debusine.workflows import (
    Workflow,
    WorkflowValidationError,
    get_workflow,
    orchestrate_workflow,
)
from tests.workflows.composite import (
    OPERATIONS,
    binary_package,
    promises,
    rerun,
    tree,
    upload,
)
from tests.workflows.conftest import MakeWorkflow

ENV = "debian/match:codename=trixie"


def test_each_template_signed_assembled_and_built_on_its_architecture(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    amd64 = upload(workspace, architecture="amd64", binaries="grub-efi-amd64-bin")
    arch_all = upload(workspace, architecture="all", binaries="grub-common")
    arm64 = upload(workspace, architecture="arm64", binaries="grub-efi-arm64-bin")
    template = binary_package(workspace, "grub-efi-amd64-signed-template", "amd64")
    root = make_workflow(
        "make_signed_source",
        {
            "binary_artifacts": [amd64.id, arch_all.id, arm64.id],
            "signing_template_artifacts": [template.id],
            "vendor": "debian",
            "codename": "trixie",
            "purpose": "uefi",
            "key": "ABCDEF",
        },
        priority_base=1,
    )
    orchestrate_workflow(root)
    key = "amd64-grub-efi-amd64-signed-template"
    assert tree(root) == [
        (f"assemble-signed-source-{key}", "Worker", "assemblesignedsource",
         {"environment": ENV, "template": f"{template.id}@artifacts",
          "signed": [f"internal@collections/name:signing-output-{key}"]},
         "blocked", 1, [f"sign-{key}"]),
        (f"extract-for-signing-{key}", "Worker", "extractforsigning",
         {"input": {"template_artifact": f"{template.id}@artifacts",
                    "binary_artifacts": [f"{amd64.id}@artifacts",
                                         f"{arch_all.id}@artifacts"]},
          "environment": ENV},
         "pending", 1, []),
        (f"sbuild-signed-source-{key}", "Workflow", "sbuild",
         {"prefix": f"signed-source-{key}|",
          "input": {"source_artifact":
                    f"internal@collections/name:signed-source-package-{key}"},
          "target_distribution": "debian:trixie", "backend": "unshare",
          "architectures": ["all", "amd64"]},
         "blocked", 1, [f"assemble-signed-source-{key}"]),
        (f"sign-{key}", "Signing", "sign",
         {"purpose": "uefi", "key": "ABCDEF",
          "unsigned": [f"internal@collections/name:signing-input-{key}"]},
         "blocked", 1, [f"extract-for-signing-{key}"]),
    ]  # fmt: skip
    assert promises(root) == {
        f"signing-input-{key}": (
            "debusine:signing-input",
            f"extract-for-signing-{key}",
        ),
        f"signing-output-{key}": ("debusine:signing-output", f"sign-{key}"),
        f"signed-source-package-{key}": (
            "debian:source-package",
            f"assemble-signed-source-{key}",
        ),
        f"signed-source-{key}": ("debian:upload", f"assemble-signed-source-{key}"),
    }


def test_promised_builds_and_templates_are_waited_for(
    make_workflow: MakeWorkflow,
) -> None:
    root = make_workflow(
        "make_signed_source",
        {
            "binary_artifacts": ["internal@collections/name:build-amd64"],
            "signing_template_artifacts": [
                "internal@collections/name:signing-template-amd64-shim-template"
            ],
            "vendor": "debian",
            "codename": "trixie",
            "architectures": ["amd64", "arm64"],
            "purpose": "uefi",
            "key": "ABCDEF",
        },
    )
    root.status = models.WorkRequestStatus.RUNNING
    workflow = get_workflow(root)
    build = workflow.work_request_ensure_child(
        task_name="noop", task_data={}, workflow_data={"step": "build"}
    )
    Workflow.provides_artifact(
        build, "debian:upload", "build-amd64", data={"architecture": "amd64"}
    )
    Workflow.provides_artifact(
        build,
        "debian:binary-package",
        "signing-template-amd64-shim-template",
        data={"architecture": "amd64", "binary_package_name": "shim-template"},
    )
    workflow.populate()
    rows = {row[0]: row for row in tree(root)}
    extract = rows["extract-for-signing-amd64-shim-template"]
    assert extract[4:] == ("blocked", 0, ["build"])
    sbuild = rows["sbuild-signed-source-amd64-shim-template"]
    assert sbuild[3]["architectures"] == ["all", "amd64", "arm64"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"purpose": "gpg"}, "purpose"),
        ({"key": ""}, "key"),
        ({"vendor": None}, "vendor"),
        ({"binary_artifacts": 3}, "binary_artifacts"),
        ({"architectures": ["AMD 64"]}, "architectures"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data: dict[str, Any] = {
        "binary_artifacts": [1],
        "signing_template_artifacts": [2],
        "vendor": "debian",
        "codename": "trixie",
        "purpose": "uefi",
        "key": "ABCDEF",
        **change,
    }
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("make_signed_source", data)
    assert list(excinfo.value.errors) == [field]


def test_bad_inputs_are_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    amd64 = upload(workspace, architecture="amd64")
    base = {"vendor": "debian", "codename": "sid", "purpose": "uefi", "key": "K"}
    cases = [
        ({"binary_artifacts": [amd64.id], "signing_template_artifacts": [amd64.id]},
         "signing_template_artifacts: artifact"),
        ({"binary_artifacts": ["nothing@artifacts"],
          "signing_template_artifacts": [amd64.id]}, "binary_artifacts: "),
    ]  # fmt: skip
    for task_data, message in cases:
        root = make_workflow("make_signed_source", {**base, **task_data})
        with pytest.raises(WorkflowValidationError) as excinfo:
            get_workflow(root).validate_input()
        assert str(excinfo.value).startswith(message)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    templates=st.sets(st.sampled_from(["amd64", "arm64", "i386"]), min_size=1),
    architectures=st.none() | st.just(["amd64", "i386"]),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    templates: set[str],
    architectures: list[str] | None,
    operations: list[tuple[str, int, bool]],
) -> None:
    binaries = [upload(workspace, architecture=a).id for a in ("amd64", "arm64")]
    root = make_workflow(
        "make_signed_source",
        {
            "binary_artifacts": binaries,
            "signing_template_artifacts": [
                binary_package(workspace, f"t-{arch}", arch).id
                for arch in sorted(templates)
            ],
            "vendor": "debian",
            "codename": "sid",
            "architectures": architectures,
            "purpose": "uefi",
            "key": "K",
        },
    )
    orchestrate_workflow(root)
    rerun(root, operations)
