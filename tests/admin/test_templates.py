"""create-workflow-template, list-workflow-templates, delete-workflow-template."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from debusine.models import WorkflowTemplate
from tests import factories
from tests.admin.helpers import assert_error


@pytest.fixture
def workspace(db_session):
    return factories.WorkspaceFactory(
        scope=factories.ScopeFactory(name="debian"), name="devs"
    )


def templates(db_session) -> list[tuple[str, str, str, dict, int]]:
    db_session.expire_all()
    return [
        (t.workspace.full_name, t.name, t.task_name, t.task_data, t.priority)
        for t in db_session.scalars(
            select(WorkflowTemplate).order_by(WorkflowTemplate.id)
        )
    ]


def test_create_workflow_template(admin, db_session, workspace, tmp_path):
    data = tmp_path / "sbuild.yaml"
    data.write_text("architectures: [amd64]\nbackend: unshare\n")

    result = admin(
        "create-workflow-template",
        "debian/devs",
        "sbuild-amd64",
        "sbuild",
        "--data",
        str(data),
        "--priority",
        "10",
    )

    assert result.code == 0, result
    assert (
        result.out == "Created workflow template sbuild-amd64 (sbuild) in debian/devs\n"
    )
    assert templates(db_session) == [
        (
            "debian/devs",
            "sbuild-amd64",
            "sbuild",
            {"architectures": ["amd64"], "backend": "unshare"},
            10,
        )
    ]


def test_create_workflow_template_stdin_and_defaults(admin, db_session, workspace):
    assert admin("create-workflow-template", "debian/devs", "noop", "noop").code == 0
    assert (
        admin(
            "create-workflow-template",
            "debian/devs",
            "p",
            "debian_pipeline",
            "--data",
            "-",
            stdin='{"vendor": "debian"}',
        ).code
        == 0
    )

    assert templates(db_session) == [
        ("debian/devs", "noop", "noop", {}, 0),
        ("debian/devs", "p", "debian_pipeline", {"vendor": "debian"}, 0),
    ]


def test_create_workflow_template_duplicate(admin, db_session, workspace, unchanged):
    factories.WorkflowTemplateFactory(workspace=workspace, name="build")
    check = unchanged()

    assert_error(
        admin("create-workflow-template", "debian/devs", "build", "sbuild"),
        "workflow template 'build' already exists in workspace debian/devs",
    )
    check()


def test_create_workflow_template_same_name_elsewhere(admin, workspace):
    factories.WorkflowTemplateFactory(name="build")

    assert admin("create-workflow-template", "debian/devs", "build", "sbuild").code == 0


@pytest.mark.parametrize(
    ("name", "task", "message"),
    [
        ("_build", "sbuild", "invalid workflow template name '_build'"),
        ("build", "Sbuild", "invalid workflow name 'Sbuild'"),
        ("build", "sbuild-x", "invalid workflow name 'sbuild-x'"),
    ],
)
def test_create_workflow_template_invalid_name(
    admin, workspace, unchanged, name, task, message
):
    check = unchanged()

    assert_error(admin("create-workflow-template", "debian/devs", name, task), message)
    check()


def test_create_workflow_template_unknown_workspace(admin, workspace, unchanged):
    check = unchanged()

    assert_error(
        admin("create-workflow-template", "debian/nope", "b", "sbuild"),
        "unknown workspace debian/nope",
    )
    assert_error(
        admin("create-workflow-template", "nope/devs", "b", "sbuild"),
        "unknown scope 'nope'",
    )
    check()


def test_create_workflow_template_bad_data(admin, workspace, unchanged, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("- not\n- a mapping\n")
    check = unchanged()

    assert_error(
        admin(
            "create-workflow-template", "debian/devs", "b", "sbuild", "--data", str(bad)
        ),
        "must contain a mapping, not a list",
    )
    assert_error(
        admin(
            "create-workflow-template",
            "debian/devs",
            "b",
            "sbuild",
            "--data",
            "-",
            stdin="a: b: c",
        ),
        "standard input is not valid YAML or JSON",
    )
    check()


def test_list_workflow_templates(admin, db_session, workspace):
    factories.WorkflowTemplateFactory(
        workspace=workspace, name="b", task_name="sbuild", task_data={"x": 1}
    )
    factories.WorkflowTemplateFactory(workspace=workspace, name="a", priority=5)
    other = factories.WorkspaceFactory(
        scope=factories.ScopeFactory(name="apertis"), name="ws"
    )
    factories.WorkflowTemplateFactory(workspace=other, name="c")

    table = admin("list-workflow-templates")
    data = admin("list-workflow-templates", "--yaml").yaml()
    only = admin("list-workflow-templates", "debian/devs", "--yaml").yaml()

    assert table.code == 0, table
    assert [line.split() for line in table.out.splitlines()[2:]] == [
        ["apertis/ws", "c", "noop", "0"],
        ["debian/devs", "a", "noop", "5"],
        ["debian/devs", "b", "sbuild", "0"],
    ]
    assert data[2] == {
        "workspace": "debian/devs",
        "name": "b",
        "task_name": "sbuild",
        "priority": 0,
        "task_data": {"x": 1},
    }
    assert [t["name"] for t in only] == ["a", "b"]


def test_list_workflow_templates_unknown_workspace(admin):
    assert_error(
        admin("list-workflow-templates", "debian/nope"), "unknown scope 'debian'"
    )


def test_delete_workflow_template(admin, db_session, workspace):
    factories.WorkflowTemplateFactory(workspace=workspace, name="a")
    factories.WorkflowTemplateFactory(workspace=workspace, name="b")

    result = admin("delete-workflow-template", "debian/devs", "a")

    assert result.code == 0, result
    assert result.out == "Deleted workflow template a from debian/devs\n"
    assert [t[1] for t in templates(db_session)] == ["b"]


def test_delete_workflow_template_unknown(admin, workspace, unchanged):
    factories.WorkflowTemplateFactory(name="a")
    check = unchanged()

    assert_error(
        admin("delete-workflow-template", "debian/devs", "a"),
        "unknown workflow template 'a' in workspace debian/devs",
    )
    assert_error(
        admin("delete-workflow-template", "debian/nope", "a"),
        "unknown workspace debian/nope",
    )
    check()
