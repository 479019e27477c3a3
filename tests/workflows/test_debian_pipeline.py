"""debian_pipeline: sbuild, qa, confirm, make_signed_source and uploads."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from debusine import models
from debusine.tasks import TaskDataError
from debusine.workflows import (
    WorkflowValidationError,
    get_workflow,
    orchestrate_workflow,
)
from tests.workflows.composite import (
    OPERATIONS,
    by_path,
    children,
    rerun,
    source_package,
)
from tests.workflows.conftest import MakeWorkflow

TARGET = "ftp://anonymous@ftp.upload.debian.org/pub/UploadQueue/"


def internal(name: str) -> str:
    return f"internal@collections/name:{name}"


def pipeline_data(source: models.Artifact, **changes: Any) -> dict[str, Any]:
    return {
        "source_artifact": source.id,
        "vendor": "debian",
        "codename": "sid",
        "architectures": ["all", "amd64", "arm64"],
        "architectures_denylist": ["arm64"],
        **changes,
    }


def test_build_check_confirm_sign_and_upload(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace, "grub2", Architecture="any all")
    root = make_workflow(
        "debian_pipeline",
        pipeline_data(
            source,
            signing_template_names={"amd64": ["grub-efi-amd64-signed-template"]},
            enable_piuparts=False,
            enable_make_signed_source=True,
            make_signed_source_purpose="uefi",
            make_signed_source_key="SIGNINGKEY",
            enable_confirmation=True,
            enable_upload=True,
            upload_since_version="2.06-1",
        ),
        priority_base=4,
    )
    orchestrate_workflow(root)
    key = "amd64-grub-efi-amd64-signed-template"
    builds = [internal("build-all"), internal("build-amd64")]
    upload_common = {
        "merge_uploads": True, "since_version": "2.06-1", "require_signature": True,
        "target": TARGET, "vendor": "debian", "codename": "sid",
    }  # fmt: skip
    assert children(root) == [
        ("confirm", "Wait", "confirm", {"confirm_label": "Sign and upload"},
         "blocked", 4, ["qa", "sbuild"]),
        ("make-signed-source", "Workflow", "make_signed_source",
         {"binary_artifacts": builds,
          "signing_template_artifacts": [
              internal("signing-template-amd64-grub-efi-amd64-signed-template")],
          "vendor": "debian", "codename": "sid", "architectures": ["all", "amd64"],
          "purpose": "uefi", "key": "SIGNINGKEY", "sbuild_backend": "unshare"},
         "running", 4, []),
        ("qa", "Workflow", "qa",
         {"vendor": "debian", "codename": "sid", "architectures": ["all", "amd64"],
          "architectures_denylist": ["arm64"], "arch_all_host_architecture": "amd64",
          "enable_autopkgtest": True, "autopkgtest_backend": "unshare",
          "enable_reverse_dependencies_autopkgtest": False,
          "enable_lintian": True, "lintian_backend": "unshare",
          "enable_piuparts": False, "piuparts_backend": "unshare",
          "enable_debdiff": False, "enable_blhc": False,
          "source_artifact": source.id, "binary_artifacts": builds},
         "running", 4, []),
        ("sbuild", "Workflow", "sbuild",
         {"input": {"source_artifact": source.id},
          "target_distribution": "debian:sid", "backend": "unshare",
          "architectures": ["all", "amd64"], "arch_all_host_architecture": "amd64",
          "signing_template_names": {"amd64": ["grub-efi-amd64-signed-template"]}},
         "running", 4, []),
        ("upload", "Workflow", "package_upload",
         {"prefix": "", "source_artifact": source.id, "binary_artifacts": builds,
          **upload_common},
         "running", 4, []),
        (f"upload-signed-source-{key}", "Workflow", "package_upload",
         {"prefix": f"signed-source-{key}|",
          "source_artifact": internal(f"signed-source-{key}"),
          "binary_artifacts": {"collection": "internal@collections",
                               "name__startswith": f"signed-source-{key}|build-"},
          **upload_common},
         "blocked", 4, [f"make-signed-source/sbuild-signed-source-{key}"]),
    ]  # fmt: skip
    nodes = by_path(root)
    # The builds run now; signing and uploading wait for the confirmation.
    assert nodes["sbuild/build-amd64"].status.value == "pending"
    assert nodes["qa/lintian"].status.value == "running"
    extract = nodes[f"make-signed-source/extract-for-signing-{key}"]
    assert "confirm" in [d.workflow_data["step"] for d in extract.dependencies]
    for path, node in nodes.items():
        if path.startswith("upload/"):
            assert "confirm" in [d.workflow_data["step"] for d in node.dependencies]
    assert nodes["confirm"].workflow_data["needs_input"] is True


def test_only_what_is_enabled(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace, Architecture="all")
    root = make_workflow(
        "debian_pipeline",
        pipeline_data(
            source,
            enable_autopkgtest=False,
            enable_lintian=False,
            enable_piuparts=False,
            signing_template_names={"amd64": ["x"]},
        ),
    )
    orchestrate_workflow(root)
    # No QA, no signing (not enabled), no confirmation, no upload.
    assert [row[0] for row in children(root)] == ["sbuild"]
    assert sorted(by_path(root)) == ["sbuild", "sbuild/build-all"]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"enable_make_signed_source": True}, "make_signed_source_purpose"),
        ({"enable_make_signed_source": True, "make_signed_source_purpose": "uefi"},
         "make_signed_source_key"),
        ({"enable_upload": True, "upload_target": "https://example.org/"},
         "upload_target"),
        ({"enable_upload": True, "upload_include_source": False,
          "upload_include_binaries": False}, "upload_include_source"),
        ({"signing_template_names": {"amd64": "x"}}, "signing_template_names"),
        ({"enable_confirmation": "perhaps"}, "enable_confirmation"),
    ],
)  # fmt: skip
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data = {"source_artifact": 1, "vendor": "debian", "codename": "sid", **change}
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("debian_pipeline", data)
    assert list(excinfo.value.errors) == [field]


def test_bad_inputs_are_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    binary = factories_upload(workspace)
    cases = [
        (pipeline_data(source, architectures_allowlist=["s390x"]),
         "architectures: no architecture"),
        (pipeline_data(binary), "source_artifact: artifact"),
        (pipeline_data(source, source_artifact="nothing@artifacts"),
         "source_artifact: "),
    ]  # fmt: skip
    for task_data, message in cases:
        root = make_workflow("debian_pipeline", task_data)
        with pytest.raises(WorkflowValidationError) as excinfo:
            get_workflow(root).validate_input()
        assert str(excinfo.value).startswith(message)


def factories_upload(workspace: models.Workspace) -> models.Artifact:
    from tests.workflows.composite import binary_package

    return binary_package(workspace, "hello", "amd64")


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    flags=st.fixed_dictionaries(
        {
            "enable_lintian": st.booleans(),
            "enable_autopkgtest": st.booleans(),
            "enable_make_signed_source": st.booleans(),
            "enable_confirmation": st.booleans(),
            "enable_upload": st.booleans(),
            "upload_merge_uploads": st.booleans(),
        }
    ),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    flags: dict[str, bool],
    operations: list[tuple[str, int, bool]],
) -> None:
    source = source_package(workspace, Architecture="any all")
    root = make_workflow(
        "debian_pipeline",
        pipeline_data(
            source,
            enable_piuparts=False,
            signing_template_names={"amd64": ["t"]},
            make_signed_source_purpose="uefi",
            make_signed_source_key="K",
            **flags,
        ),
    )
    orchestrate_workflow(root)
    rerun(root, operations)
