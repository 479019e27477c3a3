"""The qa workflow: each enabled check a sub-workflow, on the right builds."""

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
from tests import factories
from tests.workflows.composite import (
    OPERATIONS,
    children,
    promise_builds,
    rerun,
    source_package,
)
from tests.workflows.conftest import MakeWorkflow

ALL_CHECKS = {
    "enable_autopkgtest": True,
    "enable_reverse_dependencies_autopkgtest": True,
    "enable_lintian": True,
    "enable_piuparts": True,
    "enable_debdiff": True,
    "enable_blhc": True,
}


def internal(name: str) -> str:
    return f"internal@collections/name:{name}"


def test_every_check_on_the_effective_architectures(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    suite = factories.CollectionFactory(workspace=workspace, name="sid")
    source = source_package(workspace, Architecture="any all")
    builds = [internal(f"build-{a}") for a in ("all", "amd64", "arm64", "i386")]
    root = make_workflow(
        "qa",
        {
            "prefix": "p|",
            "source_artifact": source.id,
            "binary_artifacts": builds,
            "vendor": "debian",
            "codename": "sid",
            "architectures": ["all", "amd64", "arm64", "i386"],
            "architectures_allowlist": ["all", "amd64", "arm64"],
            "architectures_denylist": ["arm64"],
            "qa_suite": f"{suite.id}@collections",
            "lintian_fail_on_severity": "warning",
            **ALL_CHECKS,
        },
        priority_base=3,
    )
    promise_builds(root, ["all", "amd64", "arm64", "i386"])
    orchestrate_workflow(root)
    on_arches = [internal("build-all"), internal("build-amd64")]
    common = {
        "prefix": "p|",
        "vendor": "debian",
        "codename": "sid",
        "architectures": ["all", "amd64"],
        "arch_all_host_architecture": "amd64",
    }
    rows = {row[0]: row[1:] for row in children(root)}
    assert sorted(rows) == [
        "autopkgtest", "blhc", "build", "debdiff", "lintian", "piuparts",
        "reverse_dependencies_autopkgtest",
    ]  # fmt: skip
    expected_data = {
        "autopkgtest": {
            "source_artifact": source.id, "binary_artifacts": on_arches,
            **common, "backend": "unshare",
        },
        "reverse_dependencies_autopkgtest": {
            "source_artifact": source.id, "binary_artifacts": on_arches,
            "qa_suite": f"{suite.id}@collections", **common, "backend": "unshare",
        },
        "lintian": {
            "source_artifact": source.id, "binary_artifacts": on_arches,
            **common, "backend": "unshare", "fail_on_severity": "warning",
        },
        "piuparts": {
            "binary_artifacts": on_arches, **common, "backend": "unshare",
        },
        "debdiff": {
            "source_artifact": source.id, "binary_artifacts": on_arches,
            "original": f"{suite.id}@collections", **common,
        },
        "blhc": {
            "prefix": "p|",
            "package_build_logs": {
                "collection": "_@debian:package-build-logs",
                "lookup__same_work_request": on_arches,
            },
        },
    }  # fmt: skip
    for name, data in expected_data.items():
        task_type, task_name, task_data, status, priority, deps = rows[name]
        assert (task_type, task_name, task_data, priority) == (
            "Workflow",
            name,
            data,
            3,
        ), name
        if name == "blhc":
            # Its logs exist once the builds have run.
            assert (status, deps) == ("blocked", ["build"])
        elif name in ("reverse_dependencies_autopkgtest", "debdiff"):
            # The suite is empty: nothing depends on hello, no older version.
            assert (status, deps) == ("completed", [])
        else:
            # Populated at once: its children wait for the builds.
            assert (status, deps) == ("running", []), name


def test_checks_follow_their_flags(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    root = make_workflow(
        "qa",
        {
            "source_artifact": source_package(workspace).id,
            "binary_artifacts": [internal("build-amd64")],
            "vendor": "debian",
            "codename": "sid",
            "architectures": ["amd64"],
            "enable_autopkgtest": False,
            "enable_piuparts": False,
        },
    )
    promise_builds(root, ["amd64"])
    orchestrate_workflow(root)
    assert [row[0] for row in children(root)] == ["build", "lintian"]


def test_architectures_default_to_those_with_environments(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    from debusine.collections import get_manager

    environments = factories.CollectionFactory(
        workspace=workspace, name="debian", category="debian:environments"
    )
    manager = get_manager(workspace_session(workspace), environments)
    for arch in ("amd64", "s390x"):
        tarball = factories.ArtifactFactory(
            workspace=workspace,
            category="debian:system-tarball",
            data={"codename": "sid", "architecture": arch, "vendor": "debian",
                  "variant": None, "mirror": "http://deb.debian.org/debian",
                  "pkglist": {}, "with_dev": True, "with_init": True},
        )  # fmt: skip
        manager.add_artifact(tarball, variables={"codename": "sid"})
    root = make_workflow(
        "qa",
        {
            "source_artifact": source_package(workspace).id,
            "binary_artifacts": [internal("build-amd64")],
            "vendor": "debian",
            "codename": "sid",
            "architectures_denylist": ["s390x"],
            "enable_autopkgtest": False,
            "enable_piuparts": False,
        },
    )
    promise_builds(root, ["amd64"])
    orchestrate_workflow(root)
    lintian = next(row for row in children(root) if row[0] == "lintian")
    assert lintian[3]["architectures"] == ["all", "amd64"]


def workspace_session(workspace: models.Workspace) -> Any:
    from sqlalchemy.orm import Session

    return Session.object_session(workspace)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"enable_reverse_dependencies_autopkgtest": True}, "qa_suite"),
        ({"enable_debdiff": True}, "qa_suite"),
        ({"lintian_fail_on_severity": "fatal"}, "lintian_fail_on_severity"),
        ({"architectures_denylist": "amd64"}, "architectures_denylist"),
        ({"autopkgtest_backend": "docker"}, "autopkgtest_backend"),
        ({"binary_artifacts": None}, "binary_artifacts"),
    ],
)
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, change: dict[str, Any], field: str
) -> None:
    data = {
        "source_artifact": 1,
        "binary_artifacts": [2],
        "vendor": "debian",
        "codename": "sid",
        **change,
    }
    with pytest.raises(TaskDataError) as excinfo:
        make_workflow("qa", data)
    assert list(excinfo.value.errors) == [field]


def test_bad_inputs_are_refused_naming_the_field(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    source = source_package(workspace)
    base = {"vendor": "debian", "codename": "sid", "source_artifact": source.id}
    cases = [
        ({"binary_artifacts": [source.id], "architectures": ["amd64"]},
         "binary_artifacts: artifact"),
        ({"binary_artifacts": [internal("build-amd64")], "architectures": ["amd64"],
          "architectures_denylist": ["amd64"]}, "architectures: no architecture"),
        ({"binary_artifacts": [internal("build-amd64")]},
         "architectures: no architecture"),
        ({"binary_artifacts": [internal("build-mips")], "architectures": ["amd64"]},
         "binary_artifacts: "),
    ]  # fmt: skip
    for task_data, message in cases:
        root = make_workflow("qa", {**base, **task_data})
        promise_builds(root, ["amd64"])
        with pytest.raises(WorkflowValidationError) as excinfo:
            get_workflow(root).validate_input()
        assert str(excinfo.value).startswith(message)


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    flags=st.fixed_dictionaries({flag: st.booleans() for flag in ALL_CHECKS}),
    denylist=st.lists(st.sampled_from(["all", "amd64", "arm64"]), max_size=2),
    operations=OPERATIONS,
)
def test_populate_is_idempotent(
    make_workflow: MakeWorkflow,
    workspace: models.Workspace,
    flags: dict[str, bool],
    denylist: list[str],
    operations: list[tuple[str, int, bool]],
) -> None:
    suite = factories.CollectionFactory(workspace=workspace)
    root = make_workflow(
        "qa",
        {
            "source_artifact": source_package(workspace, Architecture="any all").id,
            "binary_artifacts": [internal(f"build-{a}") for a in ("all", "amd64")],
            "vendor": "debian",
            "codename": "sid",
            "architectures": ["all", "amd64", "arm64"],
            "architectures_denylist": denylist,
            "qa_suite": suite.id,
            **flags,
        },
    )
    promise_builds(root, ["all", "amd64"])
    orchestrate_workflow(root)
    rerun(root, operations)
