"""The package_upload workflow: sign, then upload each upload (or one merged)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session

from debusine import models
from debusine.tasks import TaskDataError
from debusine.workflows import (
    WorkflowValidationError,
    get_workflow,
    orchestrate_workflow,
)
from tests.workflows.composite import (
    OPERATIONS,
    promises,
    rerun,
    source_package,
    tree,
    upload,
)
from tests.workflows.conftest import MakeWorkflow

TARGET = "ftp://anonymous@ftp.upload.debian.org/pub/UploadQueue/"


def test_each_upload_signed_with_the_key_then_uploaded(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = upload(workspace)
    amd64 = upload(workspace, architecture="amd64", binaries="hello")
    root = make_workflow(
        "package_upload",
        {
            "source_artifact": source.id,
            "binary_artifacts": [amd64.id],
            "key": "ABCDEF0123456789",
            "target": TARGET,
            "delayed_days": 3,
        },
        priority_base=2,
    )
    orchestrate_workflow(root)
    assert tree(root) == [
        ("debsign-0", "Signing", "debsign",
         {"unsigned": f"{source.id}@artifacts", "key": "ABCDEF0123456789"},
         "pending", 2, []),
        ("debsign-1", "Signing", "debsign",
         {"unsigned": f"{amd64.id}@artifacts", "key": "ABCDEF0123456789"},
         "pending", 2, []),
        ("package-upload-0", "Server", "packageupload",
         {"input": {"upload": "internal@collections/name:package-upload-signed-0"},
          "target": TARGET, "delayed_days": 3},
         "blocked", 2, ["debsign-0"]),
        ("package-upload-1", "Server", "packageupload",
         {"input": {"upload": "internal@collections/name:package-upload-signed-1"},
          "target": TARGET, "delayed_days": 3},
         "blocked", 2, ["debsign-1"]),
    ]  # fmt: skip
    assert promises(root) == {
        "package-upload-signed-0": ("debian:upload", "debsign-0"),
        "package-upload-signed-1": ("debian:upload", "debsign-1"),
    }
    assert root.dynamic_task_data == {
        "subject": "hello",
        "parameter_summary": f"Upload to {TARGET}",
        "input_artifacts_ids": sorted([source.id, amd64.id]),
    }


def test_source_package_made_into_an_upload_merged_and_signed_by_the_user(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    amd64 = upload(workspace, architecture="amd64", binaries="hello")
    root = make_workflow(
        "package_upload",
        {
            "prefix": "main|",
            "source_artifact": source.id,
            "binary_artifacts": [amd64.id],
            "merge_uploads": True,
            "since_version": "0.9-1",
            "target": TARGET,
            "vendor": "debian",
            "codename": "trixie",
        },
    )
    orchestrate_workflow(root)
    env = "debian/match:codename=trixie"
    assert tree(root) == [
        ("external-debsign-0", "Wait", "externaldebsign",
         {"unsigned": "internal@collections/name:main|package-upload-merged"},
         "blocked", 0, ["merge-uploads"]),
        ("merge-uploads", "Worker", "mergeuploads",
         {"input": {"uploads": ["internal@collections/name:main|package-upload-source",
                                f"{amd64.id}@artifacts"]}},
         "blocked", 0, ["source-package-upload"]),
        ("package-upload-0", "Server", "packageupload",
         {"input": {"upload": "internal@collections/name:main|package-upload-signed-0"},
          "target": TARGET},
         "blocked", 0, ["external-debsign-0"]),
        ("source-package-upload", "Worker", "makesourcepackageupload",
         {"input": {"source_artifact": f"{source.id}@artifacts"},
          "since_version": "0.9-1", "environment": env},
         "pending", 0, []),
    ]  # fmt: skip
    wait = next(c for c in root.children if c.task_name == "externaldebsign")
    assert wait.workflow_data["needs_input"] is True
    assert promises(root) == {
        "main|package-upload-source": ("debian:upload", "source-package-upload"),
        "main|package-upload-merged": ("debian:upload", "merge-uploads"),
        "main|package-upload-signed-0": ("debian:upload", "external-debsign-0"),
    }


def test_unsigned_upload_goes_straight_to_the_queue(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    amd64 = upload(workspace, architecture="amd64", binaries="hello")
    root = make_workflow(
        "package_upload",
        {
            "binary_artifacts": [amd64.id],
            "require_signature": False,
            "target": "sftp://upload.example.org/queue",
        },
    )
    orchestrate_workflow(root)
    assert tree(root) == [
        ("package-upload-0", "Server", "packageupload",
         {"input": {"upload": f"{amd64.id}@artifacts"},
          "target": "sftp://upload.example.org/queue"},
         "pending", 0, []),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("task_data", "field"),
    [
        ({"target": TARGET}, "source_artifact"),
        ({"source_artifact": 1, "target": "http://example.org/"}, "target"),
        ({"source_artifact": 1}, "target"),
        ({"source_artifact": 1, "target": TARGET, "delayed_days": 16}, "delayed_days"),
        ({"source_artifact": True, "target": TARGET}, "source_artifact"),
        ({"binary_artifacts": "x", "target": TARGET}, "binary_artifacts"),
        ({"source_artifact": 1, "target": TARGET, "colour": 1}, "colour"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, task_data: dict[str, Any], field: str
) -> None:
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("package_upload", task_data)
    assert list(excinfo.value.errors) == [field]


def test_bad_inputs_are_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    no_environment = make_workflow(
        "package_upload", {"source_artifact": source.id, "target": TARGET}
    )
    with pytest.raises(WorkflowValidationError, match=r"^vendor: required"):
        get_workflow(no_environment).validate_input()
    wrong = make_workflow(
        "package_upload",
        {"source_artifact": source.id, "binary_artifacts": [source.id],
         "target": TARGET, "vendor": "debian", "codename": "sid"},
    )  # fmt: skip
    with pytest.raises(WorkflowValidationError, match=r"^binary_artifacts: artifact"):
        get_workflow(wrong).validate_input()
    missing = make_workflow(
        "package_upload", {"source_artifact": "nothing@artifacts", "target": TARGET}
    )
    with pytest.raises(WorkflowValidationError, match=r"^source_artifact: "):
        get_workflow(missing).validate_input()


@st.composite
def upload_task_data(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "source_is_package": draw(st.booleans()),
        "binaries": draw(st.integers(min_value=0, max_value=2)),
        "merge_uploads": draw(st.booleans()),
        "key": draw(st.sampled_from([None, "ABCDEF"])),
        "require_signature": draw(st.booleans()),
    }


@settings(
    max_examples=20,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(choice=upload_task_data(), operations=OPERATIONS)
def test_populate_is_idempotent(
    db_session: Session,
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    choice: dict[str, Any],
    operations: list[tuple[str, int, bool]],
) -> None:
    source = (
        source_package(workspace) if choice["source_is_package"] else upload(workspace)
    )
    binaries = [
        upload(workspace, architecture=arch, binaries="hello").id
        for arch in ["amd64", "arm64"][: choice["binaries"]]
    ]
    data: dict[str, Any] = {
        "source_artifact": source.id,
        "binary_artifacts": binaries,
        "merge_uploads": choice["merge_uploads"],
        "require_signature": choice["require_signature"],
        "target": TARGET,
        "vendor": "debian",
        "codename": "sid",
    }
    if choice["key"]:
        data["key"] = choice["key"]
    root = make_workflow("package_upload", data)
    orchestrate_workflow(root)
    rerun(root, operations)
