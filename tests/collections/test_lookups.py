"""Single and multiple lookups, inheritance and privacy."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import (
    InvalidLookup,
    LookupFailed,
    NotFound,
    WrongType,
    lookup_multiple,
    lookup_single,
)
from debusine.permissions import ANONYMOUS, Actor
from tests import factories
from tests.collections.conftest import (
    binary_package,
    collection,
    manager,
    source_package,
)


@dataclass
class World:
    child: models.Workspace
    parent: models.Workspace
    grandparent: models.Workspace
    private: models.Workspace
    suite: models.Collection  # trixie@debian:suite in child


@pytest.fixture
def world(db_session: Session) -> World:
    scope = factories.ScopeFactory()
    child = factories.WorkspaceFactory(scope=scope, name="child", public=True)
    parent = factories.WorkspaceFactory(scope=scope, name="parent", public=True)
    grandparent = factories.WorkspaceFactory(scope=scope, name="gp", public=True)
    private = factories.WorkspaceFactory(scope=scope, name="secret", public=False)
    child.set_inheritance(db_session, [parent, private])
    parent.set_inheritance(db_session, [grandparent])
    suite = collection(child, "trixie", "debian:suite")
    m = manager(db_session, suite)
    m.add_artifact(source_package(db_session, child, "hello", "1-1"))
    m.add_artifact(source_package(db_session, child, "hello", "2-1"))
    m.add_artifact(binary_package(db_session, child, "hello", "2-1", "amd64"))
    return World(child, parent, grandparent, private, suite)


def single(session: Session, world: World, lookup: str | int, **kwargs: object):  # type: ignore[no-untyped-def]
    kwargs.setdefault("actor", ANONYMOUS)
    return lookup_single(session, lookup, workspace=world.child, **kwargs)  # type: ignore[arg-type]


def test_collection_and_items(db_session: Session, world: World) -> None:
    result = single(db_session, world, "trixie@debian:suite")
    assert result.result_type == "c"
    assert result.collection == world.suite
    result = single(db_session, world, "trixie@debian:suite/source:hello")
    assert result.result_type == "a"
    assert result.collection_item is not None
    assert result.collection_item.name == "hello_2-1"
    assert result.artifact == result.collection_item.artifact
    result = single(db_session, world, "trixie@debian:suite/binary:hello_amd64")
    assert result.artifact is not None
    assert result.artifact.category == "debian:binary-package"
    assert (
        single(db_session, world, "trixie@debian:suite/hello_1-1").artifact is not None
    )


def test_error_names_failing_segment(db_session: Session, world: World) -> None:
    with pytest.raises(
        NotFound, match=r"^trixie@debian:suite/source:nothere: no such item$"
    ):
        single(db_session, world, "trixie@debian:suite/source:nothere")
    with pytest.raises(NotFound, match=r"^bookworm@debian:suite: no such collection$"):
        single(db_session, world, "bookworm@debian:suite/source:hello")
    with pytest.raises(
        InvalidLookup,
        match=r"^trixie@debian:suite/source:hello/x: "
        r"trixie@debian:suite/source:hello is not a collection$",
    ):
        single(db_session, world, "trixie@debian:suite/source:hello/x")
    with pytest.raises(InvalidLookup, match="binary:NAME_ARCH"):
        single(db_session, world, "trixie@debian:suite/binary:hello")
    with pytest.raises(InvalidLookup, match="NAME@CATEGORY"):
        single(db_session, world, "trixie/source:hello")
    # LookupFailed is a LookupError too.
    with pytest.raises(LookupError):
        single(db_session, world, "nothing@debian:suite")


def test_default_category(db_session: Session, world: World) -> None:
    result = single(
        db_session,
        world,
        "trixie/source-version:hello_1-1",
        default_category="debian:suite",
    )
    assert result.collection_item is not None
    assert result.collection_item.name == "hello_1-1"


def test_by_id(db_session: Session, world: World) -> None:
    artifact = source_package(db_session, world.parent, "x", "1")
    assert single(db_session, world, f"{artifact.id}@artifacts").artifact == artifact
    assert (
        single(db_session, world, artifact.id, expect_type="artifact").artifact
        == artifact
    )
    assert (
        single(db_session, world, f"{world.suite.id}@collections").collection
        == world.suite
    )
    assert (
        single(db_session, world, world.suite.id, expect_type="collection").collection
        == world.suite
    )
    with pytest.raises(InvalidLookup, match="integer lookup"):
        single(db_session, world, artifact.id)
    with pytest.raises(NotFound, match=r"^999999999@artifacts: no such artifact$"):
        single(db_session, world, "999999999@artifacts")
    with pytest.raises(NotFound, match=r"^999999999@collections: no such collection$"):
        single(db_session, world, "999999999@collections")
    with pytest.raises(InvalidLookup):
        single(db_session, world, "abc@artifacts")


def test_private_workspace_looks_missing(db_session: Session, world: World) -> None:
    hidden_artifact = factories.ArtifactFactory(workspace=world.private)
    hidden_collection = collection(world.private, "secret", "debian:suite")
    for lookup, missing in [
        (f"{hidden_artifact.id}@artifacts", "999999998@artifacts"),
        (f"{hidden_collection.id}@collections", "999999998@collections"),
        ("secret@debian:suite", "nosuch@debian:suite"),
    ]:
        with pytest.raises(NotFound) as hidden:
            single(db_session, world, lookup)
        with pytest.raises(NotFound) as absent:
            single(db_session, world, missing)
        assert str(hidden.value).replace(lookup, "X") == str(absent.value).replace(
            missing, "X"
        )
    # A user with a role on the private workspace sees it.
    user = factories.UserFactory()
    group = factories.GroupFactory(scope=world.private.scope)
    db_session.add(models.GroupMembership(group=group, user=user))
    db_session.add(
        models.WorkspaceRole(
            workspace=world.private, group=group, role=models.WorkspaceRoles.VIEWER
        )
    )
    db_session.flush()
    actor = Actor(user=user)
    assert single(db_session, world, "secret@debian:suite", actor=actor).collection
    assert single(
        db_session, world, f"{hidden_artifact.id}@artifacts", actor=actor
    ).artifact


def test_inheritance_chain_order(db_session: Session, world: World) -> None:
    gp = collection(world.grandparent, "shared", "debian:environments")
    assert single(db_session, world, "shared@debian:environments").collection == gp
    # The parent comes before the grandparent...
    parent = collection(world.parent, "shared", "debian:environments")
    assert single(db_session, world, "shared@debian:environments").collection == parent
    # ...and the workspace itself before both.
    own = collection(world.child, "shared", "debian:environments")
    assert single(db_session, world, "shared@debian:environments").collection == own
    # Depth first: the grandparent (through parent, order 0) comes before
    # the private workspace's sibling chain entries at order 1.
    only_gp = collection(world.grandparent, "deep", "debian:environments")
    collection(world.private, "deep", "debian:environments")
    superuser = Actor(user=factories.UserFactory(is_superuser=True))
    assert (
        single(
            db_session, world, "deep@debian:environments", actor=superuser
        ).collection
        == only_gp
    )


def test_inheritance_skips_invisible_links(db_session: Session, world: World) -> None:
    # Something only reachable through the private workspace is not found.
    behind = factories.WorkspaceFactory(scope=world.child.scope, public=True)
    world.private.set_inheritance(db_session, [behind])
    collection(behind, "behind", "debian:suite")
    with pytest.raises(NotFound, match="no such collection"):
        single(db_session, world, "behind@debian:suite")
    superuser = Actor(user=factories.UserFactory(is_superuser=True))
    assert single(db_session, world, "behind@debian:suite", actor=superuser).collection


def test_inheritance_cycle_safe(db_session: Session, world: World) -> None:
    # Cycles cannot be made through set_inheritance; force one in the table.
    db_session.add(
        models.WorkspaceChain(
            child_id=world.grandparent.id, parent_id=world.child.id, order=0
        )
    )
    db_session.flush()
    with pytest.raises(NotFound):
        single(db_session, world, "nowhere@debian:suite")
    assert single(db_session, world, "trixie@debian:suite").collection == world.suite


def test_singleton_and_internal(db_session: Session, world: World) -> None:
    world.child.create_singleton_collections(db_session)
    result = single(db_session, world, "_@debusine:task-history")
    assert result.collection is not None
    assert result.collection.category == "debusine:task-history"
    with pytest.raises(InvalidLookup, match="singleton"):
        single(db_session, world, "_@debian:suite")
    with pytest.raises(InvalidLookup, match="singleton"):
        single(db_session, world, "_x@debian:suite")

    internal = collection(world.child, "workflow-1", "debusine:workflow-internal")
    workflow = factories.WorkRequestFactory(
        workspace=world.child, internal_collection=internal
    )
    artifact = factories.ArtifactFactory(workspace=world.child)
    manager(db_session, internal).add_artifact(artifact, name="build-amd64")
    result = single(
        db_session,
        world,
        "internal@collections/name:build-amd64",
        workflow_root=workflow,
    )
    assert result.artifact == artifact
    with pytest.raises(NotFound, match="internal@collections"):
        single(db_session, world, "internal@collections")
    with pytest.raises(
        NotFound, match=r"^internal@collections/name:nothing: no such item$"
    ):
        single(
            db_session,
            world,
            "internal@collections/name:nothing",
            workflow_root=workflow,
        )


def test_expect_type(db_session: Session, world: World) -> None:
    with pytest.raises(WrongType, match="expected artifact, found a collection"):
        single(db_session, world, "trixie@debian:suite", expect_type="artifact")
    with pytest.raises(WrongType, match="expected collection, found an artifact"):
        single(
            db_session,
            world,
            "trixie@debian:suite/source:hello",
            expect_type="collection",
        )
    internal = collection(world.child, "wf", "debusine:workflow-internal")
    m = manager(db_session, internal)
    m.add_bare_data("debusine:promise", name="p", data={"promise_work_request_id": 1})
    m.add_bare_data("debusine:test", name="b")
    assert single(
        db_session,
        world,
        "wf@debusine:workflow-internal/p",
        expect_type="artifact-or-promise",
    ).collection_item
    with pytest.raises(WrongType):
        single(
            db_session,
            world,
            "wf@debusine:workflow-internal/b",
            expect_type="artifact-or-promise",
        )
    assert (
        single(
            db_session, world, "wf@debusine:workflow-internal/b", expect_type="bare"
        ).result_type
        == "b"
    )


def multiple(session: Session, world: World, lookup: object, **kwargs: object):  # type: ignore[no-untyped-def]
    return lookup_multiple(  # type: ignore[misc]
        session,
        lookup,
        workspace=world.child,
        actor=ANONYMOUS,
        **kwargs,  # type: ignore[arg-type]
    )


def names(results: list) -> list[str]:  # type: ignore[type-arg]
    return [r.collection_item.name for r in results]


def test_multiple_dict(db_session: Session, world: World) -> None:
    base = {"collection": "trixie@debian:suite"}
    assert names(multiple(db_session, world, base)) == [
        "hello_1-1",
        "hello_2-1",
        "hello_2-1_amd64",
    ]
    assert names(
        multiple(db_session, world, {**base, "category": "debian:binary-package"})
    ) == ["hello_2-1_amd64"]
    assert names(multiple(db_session, world, {**base, "name": "hello_1-1"})) == [
        "hello_1-1"
    ]
    assert names(
        multiple(db_session, world, {**base, "name__startswith": "hello_2"})
    ) == ["hello_2-1", "hello_2-1_amd64"]
    assert names(multiple(db_session, world, {**base, "name__endswith": "_amd64"})) == [
        "hello_2-1_amd64"
    ]
    assert names(multiple(db_session, world, {**base, "name__contains": "1-1"})) == [
        "hello_1-1"
    ]
    assert names(
        multiple(db_session, world, {**base, "data__architecture": "amd64"})
    ) == ["hello_2-1_amd64"]
    assert names(
        multiple(db_session, world, {**base, "data__version__startswith": "1"})
    ) == ["hello_1-1"]
    assert multiple(db_session, world, {**base, "child_type": "bare"}) == []
    assert len(multiple(db_session, world, {**base, "child_type": "any"})) == 3
    assert names(
        multiple(
            db_session,
            world,
            {"collection": "trixie", "name": "hello_1-1"},
            default_category="debian:suite",
        )
    ) == ["hello_1-1"]


def test_multiple_errors(db_session: Session, world: World) -> None:
    with pytest.raises(InvalidLookup, match="unknown lookup key"):
        multiple(db_session, world, {"collection": "trixie@debian:suite", "x": 1})
    with pytest.raises(InvalidLookup, match="needs a 'collection'"):
        multiple(db_session, world, {"name": "x"})
    with pytest.raises(InvalidLookup, match="child_type"):
        multiple(
            db_session, world, {"collection": "trixie@debian:suite", "child_type": "x"}
        )
    with pytest.raises(InvalidLookup, match="no lookup filter"):
        multiple(
            db_session,
            world,
            {"collection": "trixie@debian:suite", "lookup__same_work_request": []},
        )
    with pytest.raises(WrongType):
        multiple(db_session, world, {"collection": "trixie@debian:suite/source:hello"})
    with pytest.raises(LookupFailed, match="secret@debian:suite: no such collection"):
        multiple(db_session, world, {"collection": "secret@debian:suite"})


def test_multiple_list(db_session: Session, world: World) -> None:
    artifact = factories.ArtifactFactory(workspace=world.child)
    results = multiple(
        db_session,
        world,
        [
            {"collection": "trixie@debian:suite", "name__startswith": "hello_1"},
            "trixie@debian:suite/binary:hello_amd64",
            artifact.id,
        ],
        expect_type="artifact",
    )
    assert len(results) == 3
    assert results[0].collection_item.name == "hello_1-1"
    assert results[1].collection_item.name == "hello_2-1_amd64"
    assert results[2].artifact == artifact
