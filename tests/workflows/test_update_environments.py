"""The update_environments workflow: mmdebstrap per codename and architecture."""

from __future__ import annotations

import json
from typing import Any

import pytest
import webtest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from debusine import models
from debusine.tasks import TaskDataError
from debusine.workflows import WorkflowRunError, get_workflow, orchestrate_workflow
from debusine.workflows.base import WorkflowValidationError
from tests import factories
from tests.storage.helpers import make_world
from tests.workflows.conftest import MakeWorkflow
from tests.workflows.structure import OPERATIONS, children, promises, rerun, snapshot

TEMPLATE = {
    "bootstrap_options": {"variant": "buildd", "extra_packages": ["eatmydata"]},
    "bootstrap_repositories": [
        {"mirror": "http://deb.debian.org/debian", "components": ["main"]}
    ],
}


@pytest.fixture(autouse=True)
def environments(workspace: models.Workspace) -> models.Collection:
    """The collection the tarballs go to: without it the workflow is refused."""
    return factories.CollectionFactory(
        workspace=workspace, name="debian", category="debian:environments"
    )


def _reaction(codename: str, variant: str | None, backend: str | None) -> Any:
    return {
        "action": "update-collection-with-artifacts",
        "collection": "debian@debian:environments",
        "variables": {"codename": codename, "variant": variant, "backend": backend},
        "artifact_filters": {"category": "debian:system-tarball"},
    }


def test_exact_structure(make_workflow: MakeWorkflow) -> None:
    root = make_workflow(
        "update_environments",
        {
            "vendor": "debian",
            "targets": [
                {
                    "codenames": ["bookworm", "trixie"],
                    "codename_aliases": {"trixie": ["testing"]},
                    "variants": ["buildd", "sbuild"],
                    "backends": ["unshare"],
                    "architectures": ["amd64", "arm64"],
                    "mmdebstrap_template": TEMPLATE,
                }
            ],
        },
    )
    orchestrate_workflow(root)
    laid_out = children(root)
    assert sorted(laid_out) == [
        "mmdebstrap-bookworm-amd64",
        "mmdebstrap-bookworm-arm64",
        "mmdebstrap-trixie-amd64",
        "mmdebstrap-trixie-arm64",
    ]
    trixie_arm64 = laid_out["mmdebstrap-trixie-arm64"]
    assert trixie_arm64 == {
        "task": "Worker/mmdebstrap",
        "task_data": {
            "bootstrap_options": {
                "variant": "buildd",
                "extra_packages": ["eatmydata"],
                "architecture": "arm64",
            },
            "bootstrap_repositories": [
                {
                    "mirror": "http://deb.debian.org/debian",
                    "components": ["main"],
                    "suite": "trixie",
                }
            ],
        },
        "workflow_data": {
            "display_name": "Build tarball for trixie/arm64",
            "step": "mmdebstrap-trixie-arm64",
            "group": "trixie",
        },
        "dependencies": [],
        "event_reactions": {
            "on_success": [
                _reaction("trixie", "buildd", "unshare"),
                _reaction("trixie", "sbuild", "unshare"),
                _reaction("testing", "buildd", "unshare"),
                _reaction("testing", "sbuild", "unshare"),
            ]
        },
        "status": "pending",
    }
    assert laid_out["mmdebstrap-bookworm-amd64"]["event_reactions"] == {
        "on_success": [
            _reaction("bookworm", "buildd", "unshare"),
            _reaction("bookworm", "sbuild", "unshare"),
        ]
    }
    # The template is not changed in the stored task data.
    assert root.task_data["targets"][0]["mmdebstrap_template"] == TEMPLATE
    assert promises(root) == {}
    assert root.dynamic_task_data["parameter_summary"] == "debian: bookworm, trixie"


def test_no_variants_or_backends_file_it_once(make_workflow: MakeWorkflow) -> None:
    root = make_workflow(
        "update_environments",
        {
            "vendor": "debian",
            "targets": [
                {
                    "codenames": ["sid"],
                    "architectures": ["i386"],
                    "mmdebstrap_template": {
                        **TEMPLATE,
                        "bootstrap_repositories": [
                            {"mirror": "http://deb.debian.org/debian",
                             "suite": "unstable", "components": ["main"]}
                        ],
                    },
                }
            ],
        },
    )  # fmt: skip
    orchestrate_workflow(root)
    child = children(root)["mmdebstrap-sid-i386"]
    # A suite the template names is kept.
    assert child["task_data"]["bootstrap_repositories"][0]["suite"] == "unstable"
    assert child["event_reactions"] == {"on_success": [_reaction("sid", None, None)]}


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"targets": []}, "targets"),
        ({"vendor": "de bian", "targets": [{"codenames": ["sid"],
          "architectures": ["amd64"], "mmdebstrap_template": {}}]}, "vendor"),
        ({"targets": [{"codenames": [], "architectures": ["amd64"],
                       "mmdebstrap_template": {}}]}, "targets"),
        ({"targets": [{"codenames": ["sid"], "architectures": ["amd64"],
                       "mmdebstrap_template": {}, "backends": ["qemu"]}]}, "targets"),
    ],
)  # fmt: skip
def test_bad_task_data_names_the_field(
    make_workflow: MakeWorkflow, data: dict[str, Any], field: str
) -> None:
    with pytest.raises(TaskDataError) as info:
        make_workflow("update_environments", {"vendor": "debian", **data})
    assert list(info.value.errors) == [field]


def test_a_bad_template_is_refused_naming_it(make_workflow: MakeWorkflow) -> None:
    root = make_workflow(
        "update_environments",
        {
            "vendor": "debian",
            "targets": [
                {
                    "codenames": ["sid"],
                    "architectures": ["amd64"],
                    "mmdebstrap_template": {"bootstrap_repositories": []},
                }
            ],
        },
    )
    with pytest.raises(
        WorkflowValidationError,
        match=r"^targets\[0\]\.mmdebstrap_template: .*bootstrap_repositories",
    ):
        get_workflow(root).validate_input()
    with pytest.raises(WorkflowRunError, match="mmdebstrap_template"):
        orchestrate_workflow(root)
    assert children(root) == {}


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    codenames=st.lists(st.sampled_from(["bookworm", "trixie", "sid"]), min_size=1,
                       unique=True),
    architectures=st.lists(st.sampled_from(["amd64", "arm64"]), min_size=1,
                           unique=True),
    variants=st.lists(st.sampled_from(["buildd", "apt"]), unique=True),
    operations=OPERATIONS,
)  # fmt: skip
def test_populate_is_idempotent(
    make_workflow: MakeWorkflow,
    codenames: list[str],
    architectures: list[str],
    variants: list[str],
    operations: list[tuple[str, bool]],
) -> None:
    root = make_workflow(
        "update_environments",
        {
            "vendor": "debian",
            "targets": [
                {
                    "codenames": codenames,
                    "architectures": architectures,
                    "variants": variants,
                    "mmdebstrap_template": TEMPLATE,
                }
            ],
        },
    )
    orchestrate_workflow(root)
    expected = snapshot(root)
    assert len(json.loads(expected)["children"]) == len(codenames) * len(architectures)
    rerun(root, operations)
    assert snapshot(root) == expected


def _sid(vendor: str = "debian") -> dict[str, Any]:
    return {
        "vendor": vendor,
        "targets": [
            {
                "codenames": ["sid"],
                "architectures": ["amd64"],
                "mmdebstrap_template": TEMPLATE,
            }
        ],
    }


def test_a_missing_collection_is_refused_before_any_build(
    make_workflow: MakeWorkflow, workspace: models.Workspace
) -> None:
    root = make_workflow("update_environments", _sid("ubuntu"))
    expected = (
        rf"^vendor: ubuntu@debian:environments: no such collection in"
        rf" {workspace.full_name} or the workspaces it inherits"
        rf" .*`debusine-admin create-collection"
        rf" {workspace.full_name} ubuntu debian:environments`$"
    )
    with pytest.raises(WorkflowValidationError, match=expected):
        get_workflow(root).validate_input()
    # Orchestrating it anyway (e.g. removed since): no mmdebstrap child either.
    with pytest.raises(WorkflowRunError, match="ubuntu@debian:environments"):
        orchestrate_workflow(root)
    assert children(root) == {}


def test_the_collection_of_an_inherited_workspace_is_used(
    make_workflow: MakeWorkflow, workspace: models.Workspace, db_session: Session
) -> None:
    parent = factories.WorkspaceFactory(scope=workspace.scope, public=True)
    factories.CollectionFactory(
        workspace=parent, name="ubuntu", category="debian:environments"
    )
    workspace.set_inheritance(db_session, [parent])
    db_session.flush()
    root = make_workflow("update_environments", _sid("ubuntu"))
    get_workflow(root).validate_input()
    orchestrate_workflow(root)
    assert list(children(root)) == ["mmdebstrap-sid-amd64"]


def test_the_api_refuses_it_naming_the_collection(
    webapp: webtest.TestApp, db_session: Session
) -> None:
    world = make_world()
    factories.WorkflowTemplateFactory(
        workspace=world.system, name="envs", task_name="update_environments"
    )
    before = db_session.scalar(select(func.count()).select_from(models.WorkRequest))
    answer = webapp.post_json(
        "/api/1.0/workflow/",
        {"template_name": "envs", "task_data": _sid(), "workspace": "System"},
        headers={"Token": world.contributor},
        status=400,
    )
    assert answer.headers["Content-Type"] == "application/problem+json"
    assert answer.json["detail"] == (
        "vendor: debian@debian:environments: no such collection in debusine/System"
        " or the workspaces it inherits (the tarballs are added to it); create it"
        " with `debusine-admin create-collection debusine/System debian"
        " debian:environments`"
    )
    after = db_session.scalar(select(func.count()).select_from(models.WorkRequest))
    assert after == before
    # Once the collection exists, the same request is accepted.
    factories.CollectionFactory(
        workspace=world.system, name="debian", category="debian:environments"
    )
    webapp.post_json(
        "/api/1.0/workflow/",
        {"template_name": "envs", "task_data": _sid(), "workspace": "System"},
        headers={"Token": world.contributor},
        status=201,
    )
