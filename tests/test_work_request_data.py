"""Configured and dynamic task data: task configuration, then real lookups."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from marshmallow import Schema, fields
from sqlalchemy import event
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import get_manager
from debusine.collections.task_configuration import CONFIGURATION
from debusine.errors import DomainError
from debusine.orchestration.scheduler import assign_many
from debusine.tasks import BaseTask, TaskDataSchema, TaskType
from debusine.tasks.base import (
    Resolved,
    ResolvedLookup,
    environment_lookup,
    multiple_lookup,
    single_lookup,
)
from debusine.work_request_data import (
    DynamicDataError,
    ensure_dynamic_data,
    merge_task_configuration,
    prepare_pending_work,
)
from debusine.work_requests import create_work_request
from tests import factories
from tests.collections.conftest import binary_package, collection, source_package
from tests.test_permissions import member_with_role


class _Input(Schema):
    source_artifact = fields.Raw(required=True)
    binary_artifacts = fields.Raw(load_default=None)


class _BuildData(TaskDataSchema):
    input = fields.Nested(_Input, required=True)
    environment = fields.String(load_default=None)
    host_architecture = fields.String(load_default="amd64")
    build_profiles = fields.List(fields.String(), load_default=None)
    timeout = fields.Integer(load_default=None)
    maintainer = fields.String(load_default=None)


class DynamicBuild(BaseTask):
    """A build-like task: a source, binaries, an environment."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "testdynamicbuild"
    TASK_VERSION = 3
    SCHEMA = _BuildData
    EXECUTOR_BACKEND = "unshare"
    LOOKUPS = (
        single_lookup("input.source_artifact"),
        multiple_lookup("input.binary_artifacts"),
        environment_lookup(),
    )

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        source = resolved.get("source_artifact_id")
        environment = resolved.get("environment_id")
        described: dict[str, Any] = {}
        if isinstance(source, ResolvedLookup):
            described["subject"] = source.data.get("name")
        if isinstance(environment, ResolvedLookup):
            described["configuration_context"] = environment.data.get("codename")
        return described


@dataclass
class World:
    workspace: models.Workspace
    parent: models.Workspace
    user: models.User
    source: models.Artifact
    binaries: list[models.Artifact]
    bookworm: models.Artifact
    trixie: models.Artifact
    environments: models.Collection


def _tarball(workspace: models.Workspace, codename: str) -> models.Artifact:
    return factories.ArtifactFactory(
        workspace=workspace,
        category="debian:system-tarball",
        data={"codename": codename, "architecture": "amd64", "vendor": "debian"},
    )


@pytest.fixture
def world(db_session: Session) -> World:
    scope = factories.ScopeFactory()
    workspace = factories.WorkspaceFactory(scope=scope, public=False)
    # The environments and the suite come from a public parent workspace.
    parent = factories.WorkspaceFactory(scope=scope, public=True)
    workspace.set_inheritance(db_session, [parent])
    user = member_with_role(db_session, workspace, models.WorkspaceRoles.CONTRIBUTOR)
    suite = collection(parent, "trixie", "debian:suite")
    source = source_package(db_session, parent, "hello", "1.0-1")
    binaries = [
        binary_package(db_session, parent, "hello", "1.0-1", "amd64"),
        binary_package(db_session, parent, "hello-doc", "1.0-1", "all", "hello"),
    ]
    suite_manager = get_manager(db_session, suite)
    for artifact in [source, *binaries]:
        suite_manager.add_artifact(artifact)
    environments = collection(parent, "debian", "debian:environments")
    bookworm, trixie = _tarball(parent, "bookworm"), _tarball(parent, "trixie")
    get_manager(db_session, environments).add_artifact(bookworm)
    get_manager(db_session, environments).add_artifact(trixie)
    return World(
        workspace, parent, user, source, binaries, bookworm, trixie, environments
    )


def build_request(world: World, **task_data: Any) -> models.WorkRequest:
    data: dict[str, Any] = {
        "input": {
            "source_artifact": "trixie@debian:suite/source:hello",
            "binary_artifacts": {
                "collection": "trixie@debian:suite",
                "category": "debian:binary-package",
                "data__srcpkg_name": "hello",
            },
        },
        "environment": "debian/match:codename=bookworm",
    }
    data.update(task_data)
    return factories.WorkRequestFactory(
        workspace=world.workspace,
        task_name="testdynamicbuild",
        task_data=data,
        created_by=world.user,
    )


def configuration(
    workspace: models.Workspace, *entries: dict[str, Any], name: str = "default"
) -> models.Collection:
    coll = collection(workspace, name, "debusine:task-configuration")
    manager = get_manager(factories._current_session(), coll)
    for entry in entries:
        manager.add_bare_data(CONFIGURATION, data=entry)
    return coll


def test_lookups_are_resolved_and_stored(db_session: Session, world: World) -> None:
    work_request = build_request(world)
    ensure_dynamic_data(db_session, work_request)
    assert work_request.dynamic_task_data == {
        "source_artifact_id": world.source.id,
        "binary_artifacts_ids": sorted(a.id for a in world.binaries),
        "environment_id": world.bookworm.id,
        "subject": "hello",
        "configuration_context": "bookworm",
    }
    # No task configuration: the task data as given.
    assert work_request.configured_task_data == work_request.task_data
    assert work_request.version == 3


def test_a_list_of_lookups_and_integer_ids(db_session: Session, world: World) -> None:
    work_request = build_request(
        world,
        input={
            "source_artifact": world.source.id,
            "binary_artifacts": [
                f"{world.binaries[1].id}@artifacts",
                "trixie@debian:suite/binary:hello_amd64",
            ],
        },
        environment=f"{world.trixie.id}@artifacts",
    )
    ensure_dynamic_data(db_session, work_request)
    dynamic = work_request.dynamic_task_data
    assert dynamic is not None
    assert dynamic["source_artifact_id"] == world.source.id
    assert dynamic["binary_artifacts_ids"] == [
        world.binaries[1].id,
        world.binaries[0].id,
    ]
    assert dynamic["environment_id"] == world.trixie.id


def test_environment_lookup_gets_the_task_architecture(
    db_session: Session, world: World
) -> None:
    # Only an arm64 tarball exists for bookworm: an amd64 task must not get it.
    environments = get_manager(db_session, world.environments)
    arm64 = factories.ArtifactFactory(
        workspace=world.parent,
        category="debian:system-tarball",
        data={"codename": "sid", "architecture": "arm64"},
    )
    environments.add_artifact(arm64)
    work_request = build_request(world, environment="debian/match:codename=sid")
    with pytest.raises(DynamicDataError) as info:
        ensure_dynamic_data(db_session, work_request)
    assert "lookup environment" in str(info.value)
    assert "architecture=amd64" in str(info.value)
    arm = build_request(
        world, environment="debian/match:codename=sid", host_architecture="arm64"
    )
    ensure_dynamic_data(db_session, arm)
    assert arm.dynamic_task_data is not None
    assert arm.dynamic_task_data["environment_id"] == arm64.id


def test_a_failed_lookup_names_the_lookup_and_segment(
    db_session: Session, world: World
) -> None:
    work_request = build_request(
        world, input={"source_artifact": "trixie@debian:suite/source:nothere"}
    )
    with pytest.raises(DynamicDataError) as info:
        ensure_dynamic_data(db_session, work_request)
    message = str(info.value)
    assert isinstance(info.value, DomainError)
    assert f"Work request {work_request.id}" in message
    assert "lookup input.source_artifact" in message
    assert "trixie@debian:suite/source:nothere: no such item" in message
    # Nothing half-written.
    assert work_request.dynamic_task_data is None
    assert work_request.configured_task_data is None


def test_lookups_use_the_creator_permissions(db_session: Session, world: World) -> None:
    # A private workspace in the chain: its suite is invisible to the creator.
    secret = factories.WorkspaceFactory(scope=world.workspace.scope, public=False)
    world.workspace.set_inheritance(db_session, [secret, world.parent])
    hidden = collection(secret, "hidden", "debian:suite")
    get_manager(db_session, hidden).add_artifact(
        source_package(db_session, secret, "secretpkg", "1-1")
    )
    work_request = build_request(
        world, input={"source_artifact": "hidden@debian:suite/source:secretpkg"}
    )
    with pytest.raises(DynamicDataError, match=r"hidden@debian:suite: no such"):
        ensure_dynamic_data(db_session, work_request)
    # Once the creator may see it, the same lookup resolves.
    _grant_viewer(db_session, secret, world.user)
    ensure_dynamic_data(db_session, work_request)
    assert work_request.dynamic_task_data is not None
    assert work_request.dynamic_task_data["subject"] == "secretpkg"


def _grant_viewer(
    session: Session, workspace: models.Workspace, user: models.User
) -> None:
    group = factories.GroupFactory(scope=workspace.scope)
    session.add(models.GroupMembership(group=group, user=user))
    session.add(
        models.WorkspaceRole(
            workspace=workspace, group=group, role=models.WorkspaceRoles.VIEWER
        )
    )
    session.flush()


def test_computed_data_is_left_alone(db_session: Session, world: World) -> None:
    work_request = build_request(
        world, input={"source_artifact": "trixie@debian:suite/source:nothere"}
    )
    work_request.dynamic_task_data = {"source_artifact_id": 42}
    work_request.configured_task_data = {"kept": True}
    ensure_dynamic_data(db_session, work_request)
    assert work_request.dynamic_task_data == {"source_artifact_id": 42}
    assert work_request.configured_task_data == {"kept": True}


def test_task_configuration_applies_by_level(db_session: Session, world: World) -> None:
    default = configuration(
        world.workspace,
        {"template": "quick", "default_values": {"timeout": 60}},
        {
            "task_type": "Worker",
            "task_name": "testdynamicbuild",
            "use_templates": ["quick"],
            "default_values": {"build_profiles": ["nocheck"], "maintainer": "a"},
            "lock_values": ["maintainer"],
        },
        {
            "task_type": "Worker",
            "task_name": "testdynamicbuild",
            "context": "bookworm",
            "delete_values": ["timeout"],
            "override_values": {"maintainer": "ignored: locked"},
        },
        {
            "task_type": "Worker",
            "task_name": "testdynamicbuild",
            "subject": "hello",
            "context": "bookworm",
            # Build hello in trixie instead: the environment is resolved again.
            "override_values": {"environment": "debian/match:codename=trixie"},
        },
        {
            "task_type": "Worker",
            "task_name": "testdynamicbuild",
            "subject": "other",
            "override_values": {"host_architecture": "s390x"},
        },
    )
    work_request = build_request(world, build_profiles=None)
    ensure_dynamic_data(db_session, work_request)
    configured = work_request.configured_task_data
    assert configured is not None
    assert configured["environment"] == "debian/match:codename=trixie"
    assert configured["build_profiles"] == ["nocheck"]  # the default filled a null
    assert configured["maintainer"] == "a"
    assert "timeout" not in configured  # the context level deleted it
    assert "host_architecture" not in configured  # another subject's entry
    # The user's own data is kept as given.
    assert work_request.task_data["environment"] == "debian/match:codename=bookworm"
    dynamic = work_request.dynamic_task_data
    assert dynamic is not None
    assert dynamic["environment_id"] == world.trixie.id
    assert dynamic["configuration_context"] == "trixie"
    assert dynamic["task_configuration_id"] == default.id


def test_configuration_does_not_override_user_values_with_defaults(
    db_session: Session, world: World
) -> None:
    configuration(
        world.parent,  # inherited from the parent workspace
        {
            "task_type": "Worker",
            "task_name": "testdynamicbuild",
            "default_values": {"timeout": 60, "maintainer": "config"},
        },
    )
    work_request = build_request(world, timeout=5)
    ensure_dynamic_data(db_session, work_request)
    assert work_request.configured_task_data is not None
    assert work_request.configured_task_data["timeout"] == 5
    assert work_request.configured_task_data["maintainer"] == "config"


def test_a_named_configuration_collection(db_session: Session, world: World) -> None:
    configuration(
        world.workspace,
        {
            "task_type": "Worker",
            "task_name": "testdynamicbuild",
            "override_values": {"timeout": 1},
        },
        name="experiment",
    )
    work_request = build_request(world, task_configuration="experiment")
    ensure_dynamic_data(db_session, work_request)
    assert work_request.configured_task_data is not None
    assert work_request.configured_task_data["timeout"] == 1


@pytest.mark.parametrize(
    ("task_configuration", "message"),
    [
        (
            "missing",
            r"lookup task_configuration \('missing'\) failed: missing: no such",
        ),
        ("trixie@debian:suite", r"is a debian:suite collection, not a"),
    ],
)
def test_a_bad_configuration_collection(
    db_session: Session, world: World, task_configuration: str, message: str
) -> None:
    work_request = build_request(world, task_configuration=task_configuration)
    with pytest.raises(DynamicDataError, match=message):
        ensure_dynamic_data(db_session, work_request)
    assert work_request.dynamic_task_data is None


def test_configuration_that_breaks_the_task_data(
    db_session: Session, world: World
) -> None:
    configuration(
        world.workspace,
        {
            "task_type": "Worker",
            "task_name": "testdynamicbuild",
            "override_values": {"timeout": "soon"},
        },
    )
    work_request = build_request(world)
    with pytest.raises(
        DynamicDataError, match=r"invalid task data after task configuration.*timeout"
    ):
        ensure_dynamic_data(db_session, work_request)
    assert work_request.configured_task_data is None


def test_a_missing_template_is_an_error(db_session: Session, world: World) -> None:
    configuration(
        world.workspace,
        {
            "task_type": "Worker",
            "task_name": "testdynamicbuild",
            "use_templates": ["nope"],
        },
    )
    with pytest.raises(DynamicDataError, match=r"uses template 'nope'"):
        ensure_dynamic_data(db_session, build_request(world))


@pytest.fixture
def statements(db_session: Session) -> Iterator[list[str]]:
    seen: list[str] = []
    engine = db_session.get_bind()

    def record(*args: Any) -> None:
        seen.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    yield seen
    event.remove(engine, "before_cursor_execute", record)


def test_noop_is_cheap(db_session: Session, statements: list[str]) -> None:
    user = factories.UserFactory()
    work_request = factories.WorkRequestFactory(created_by=user)
    db_session.flush()
    statements.clear()
    ensure_dynamic_data(db_session, work_request)
    # One query looks for a task configuration; the update is the flush.
    selects = [
        s for s in statements if s.lstrip().upper().startswith(("SELECT", "WITH"))
    ]
    assert len(selects) == 1, statements
    assert work_request.dynamic_task_data == {}
    assert work_request.configured_task_data == {"result": True}


def test_merge_rules() -> None:
    merged = merge_task_configuration(
        {"a": 1, "b": None, "c": 3},
        [
            {"default_values": {"a": 10, "b": 20, "d": 40}, "lock_values": ["d"]},
            {"override_values": {"c": 30, "d": 0}, "delete_values": ["d"]},
        ],
    )
    assert merged == {"a": 1, "b": 20, "c": 30, "d": 40}


def test_merge_refuses_malformed_entries() -> None:
    with pytest.raises(DynamicDataError, match="lock_values must be a list"):
        merge_task_configuration({}, [{"lock_values": "a"}])


def test_the_scheduler_hands_out_prepared_requests_only(
    db_session: Session, world: World
) -> None:
    def create(source: str) -> models.WorkRequest:
        return create_work_request(
            db_session,
            workspace=world.workspace,
            task_type=TaskType.WORKER,
            task_name="testdynamicbuild",
            task_data={
                "input": {"source_artifact": source},
                "environment": "debian/match:codename=bookworm",
            },
            created_by=world.user,
        )

    good = create("trixie@debian:suite/source:hello")
    bad = create("trixie@debian:suite/source:nothere")
    dependent = create_work_request(
        db_session,
        workspace=world.workspace,
        task_type=TaskType.WORKER,
        task_name="noop",
        task_data={},
        created_by=world.user,
        dependencies=[bad],
    )
    assert good.dynamic_task_data is None  # resolved when runnable, not before
    workers = [
        factories.WorkerFactory(
            connected_at=dt.datetime.now(dt.UTC),
            dynamic_metadata={
                "system:architectures": ["amd64"],
                "executor:unshare:available": True,
            },
        )
        for _ in range(2)
    ]

    assignments = assign_many(db_session, [w.id for w in workers], start=True)

    assert [a.work_request_id for a in assignments] == [good.id]
    db_session.refresh(good)
    assert good.dynamic_task_data is not None
    assert good.dynamic_task_data["source_artifact_id"] == world.source.id
    assert good.dynamic_task_data["environment_id"] == world.bookworm.id
    db_session.refresh(bad)
    assert bad.status == models.WorkRequestStatus.COMPLETED
    assert bad.result == models.WorkRequestResult.ERROR
    [error] = bad.output_data["errors"]
    assert error["code"] == "dynamic-data-failed"
    assert "nothere" in error["message"]
    # Its dependent cannot run either.
    db_session.refresh(dependent)
    assert dependent.status == models.WorkRequestStatus.ABORTED
    # Nothing left to prepare: a second round hands out nothing more.
    assert prepare_pending_work(db_session) == []
