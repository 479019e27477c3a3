"""Collections, their items, and the match constraints between items."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from debusine.models import (
    Collection,
    CollectionItem,
    CollectionItemMatchConstraint,
    CollectionItemType,
    RetainsArtifacts,
)
from debusine.models.collections import (
    SINGLETON_COLLECTION_CATEGORIES,
    check_collection_name,
)
from debusine.models.validation import InvalidName
from tests.factories import (
    ArtifactFactory,
    CollectionFactory,
    UserFactory,
    WorkspaceFactory,
)
from tests.models.conftest import Refused

SINGLETON = "debian:package-build-logs"
NOW = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)

# --- names ----------------------------------------------------------------------


def test_singleton_categories() -> None:
    assert {
        "debian:archive",
        "debian:package-build-logs",
        "debusine:task-history",
    } <= SINGLETON_COLLECTION_CATEGORIES
    assert "debian:suite" not in SINGLETON_COLLECTION_CATEGORIES


@pytest.mark.parametrize("category", sorted(SINGLETON_COLLECTION_CATEGORIES))
def test_singleton_named_underscore(db_session: Session, category: str) -> None:
    collection = CollectionFactory(name="_", category=category)
    assert db_session.get(Collection, collection.id).name == "_"


@pytest.mark.parametrize("first", ["name", "category"])
def test_singleton_with_another_name_refused_in_python(first: str) -> None:
    fields = {"name": "logs", "category": SINGLETON}
    if first == "category":
        fields = {"category": SINGLETON, "name": "logs"}
    with pytest.raises(InvalidName, match=r"singleton category .* must be named '_'"):
        Collection(**fields)


@pytest.mark.parametrize("first", ["name", "category"])
def test_underscore_only_for_singletons_in_python(first: str) -> None:
    fields = {"name": "_", "category": "debian:suite"}
    if first == "category":
        fields = {"category": "debian:suite", "name": "_"}
    with pytest.raises(InvalidName, match="invalid collection name '_'"):
        Collection(**fields)


@pytest.mark.parametrize("name", ["", "1bookworm", "_bookworm", "a b", "a/b", "__"])
@pytest.mark.parametrize("first", ["name", "category"])
def test_invalid_collection_names_in_python(name: str, first: str) -> None:
    fields = {"name": name, "category": "debian:suite"}
    if first == "category":
        fields = {"category": "debian:suite", "name": name}
    with pytest.raises(InvalidName, match="invalid collection name"):
        Collection(**fields)


def test_changing_the_category_rechecks_the_name(db_session: Session) -> None:
    collection = CollectionFactory(name="bookworm", category="debian:suite")
    with pytest.raises(InvalidName):
        collection.category = SINGLETON
    singleton = CollectionFactory(name="_", category=SINGLETON)
    with pytest.raises(InvalidName):
        singleton.category = "debian:suite"
    with pytest.raises(InvalidName):
        singleton.name = "logs"


def test_check_collection_name() -> None:
    check_collection_name("bookworm", "debian:suite")
    check_collection_name("_", SINGLETON)
    with pytest.raises(InvalidName):
        check_collection_name("_", "debian:suite")
    with pytest.raises(InvalidName):
        check_collection_name("bookworm", SINGLETON)


@pytest.mark.parametrize(
    ("name", "category"),
    [
        ("_", "debian:suite"),  # `_` is for singletons only
        ("logs", SINGLETON),  # singletons are named `_`
        ("1bookworm", "debian:suite"),
        ("_x", "debian:suite"),
        ("_x", SINGLETON),
        ("", "debian:suite"),
    ],
)
def test_collection_name_refused_by_database(
    refused: Refused, raw_insert, name: str, category: str
) -> None:
    workspace = WorkspaceFactory()
    with refused("ck_collection_name_valid"):
        raw_insert(Collection, workspace_id=workspace.id, name=name, category=category)


def test_database_accepts_valid_raw_collections(
    db_session: Session, raw_insert
) -> None:
    workspace = WorkspaceFactory()
    raw_insert(Collection, workspace_id=workspace.id, name="_", category=SINGLETON)
    raw_insert(Collection, workspace_id=workspace.id, name="bookworm", category="x:y")
    assert len(db_session.scalars(select(Collection)).all()) == 2


def test_collection_unique_per_workspace_category_and_name(
    refused: Refused, db_session: Session
) -> None:
    first = CollectionFactory(name="bookworm", category="debian:suite")
    CollectionFactory(workspace=first.workspace, name="bookworm", category="debian:x")
    CollectionFactory(name="bookworm", category="debian:suite")  # another workspace
    with refused("uq_collection_workspace_id_category_name"):
        db_session.add(
            Collection(
                workspace=first.workspace, name="bookworm", category="debian:suite"
            )
        )


def test_one_singleton_per_workspace(refused: Refused, db_session: Session) -> None:
    first = CollectionFactory(name="_", category=SINGLETON)
    CollectionFactory(name="_", category=SINGLETON)  # another workspace
    with refused("uq_collection_workspace_id_category_name"):
        db_session.add(
            Collection(workspace=first.workspace, name="_", category=SINGLETON)
        )


def test_retains_artifacts(refused: Refused, raw_insert, db_session: Session) -> None:
    collection = CollectionFactory()
    db_session.expire(collection)
    assert collection.retains_artifacts is RetainsArtifacts.ALWAYS
    workspace = WorkspaceFactory()
    with refused("ck_collection_retains_artifacts"):
        raw_insert(
            Collection,
            workspace_id=workspace.id,
            name="x",
            category="c:d",
            retains_artifacts="sometimes",
        )


# --- items ----------------------------------------------------------------------


def _item(parent: Collection, name: str = "item", **fields: Any) -> CollectionItem:
    values: dict[str, Any] = {
        "parent_collection_id": parent.id,
        "parent_category": parent.category,
        "name": name,
        "child_type": CollectionItemType.BARE,
        "category": "debian:test",
    }
    values.update(fields)
    return CollectionItem(**values)


@pytest.fixture
def suite() -> Collection:
    return CollectionFactory(name="bookworm", category="debian:suite")


def test_valid_items(db_session: Session, suite: Collection) -> None:
    artifact = ArtifactFactory(workspace=suite.workspace)
    child = CollectionFactory(workspace=suite.workspace)
    db_session.add_all(
        [
            _item(suite, "bare", data={"x": 1}),
            _item(suite, "artifact", child_type="a", artifact_id=artifact.id),
            _item(suite, "collection", child_type="c", collection_id=child.id),
        ]
    )
    db_session.flush()
    items = db_session.scalars(
        select(CollectionItem).order_by(CollectionItem.name)
    ).all()
    assert [(i.name, i.child_type) for i in items] == [
        ("artifact", CollectionItemType.ARTIFACT),
        ("bare", CollectionItemType.BARE),
        ("collection", CollectionItemType.COLLECTION),
    ]
    assert items[0].artifact.id == artifact.id
    assert items[2].collection.id == child.id
    assert items[1].parent_collection.id == suite.id


def _inconsistent_items(suite: Collection) -> list[tuple[str, dict[str, Any]]]:
    artifact = ArtifactFactory(workspace=suite.workspace)
    child = CollectionFactory(workspace=suite.workspace)
    return [
        ("bare with an artifact", {"child_type": "b", "artifact_id": artifact.id}),
        ("bare with a collection", {"child_type": "b", "collection_id": child.id}),
        ("artifact item without one", {"child_type": "a"}),
        (
            "artifact item with a collection",
            {"child_type": "a", "artifact_id": artifact.id, "collection_id": child.id},
        ),
        ("collection item without one", {"child_type": "c"}),
        (
            "collection item with an artifact",
            {"child_type": "c", "collection_id": child.id, "artifact_id": artifact.id},
        ),
        (
            "removed artifact item with a collection",
            {"child_type": "a", "collection_id": child.id, "removed_at": NOW},
        ),
    ]


def test_child_type_consistent(
    refused: Refused, db_session: Session, suite: Collection
) -> None:
    for label, fields in _inconsistent_items(suite):
        with refused("ck_collection_item_child_type_consistent"):
            db_session.add(_item(suite, label.replace(" ", "-"), **fields))


def test_removed_items_may_lose_their_child(
    db_session: Session, suite: Collection
) -> None:
    db_session.add_all(
        [
            _item(suite, "a", child_type="a", removed_at=NOW),
            _item(suite, "c", child_type="c", removed_at=NOW),
        ]
    )
    db_session.flush()
    assert len(db_session.scalars(select(CollectionItem)).all()) == 2


def test_child_type_known(refused: Refused, raw_insert, suite: Collection) -> None:
    with refused(
        "ck_collection_item_collection_item_type",
        "ck_collection_item_child_type_consistent",
    ):
        raw_insert(
            CollectionItem,
            parent_collection_id=suite.id,
            parent_category="c",
            name="x",
            child_type="x",
            category="c",
        )


def test_collection_cannot_contain_itself(
    refused: Refused, db_session: Session, suite: Collection
) -> None:
    with refused("ck_collection_item_not_self"):
        db_session.add(_item(suite, child_type="c", collection_id=suite.id))


def test_removed_by_only_when_removed(
    refused: Refused, db_session: Session, suite: Collection
) -> None:
    user = UserFactory()
    with refused("ck_collection_item_removed_by_only_when_removed"):
        db_session.add(_item(suite, removed_by_user_id=user.id))
    db_session.add(_item(suite, removed_by_user_id=user.id, removed_at=NOW))
    db_session.flush()


def test_active_name_unique(
    refused: Refused, db_session: Session, suite: Collection
) -> None:
    db_session.add(_item(suite, "hello_1.0"))
    db_session.flush()
    with refused("uq_collection_item_active_name"):
        db_session.add(_item(suite, "hello_1.0"))


def test_removed_name_can_be_reused(db_session: Session, suite: Collection) -> None:
    first = _item(suite, "hello_1.0")
    db_session.add(first)
    db_session.flush()
    first.removed_at = NOW
    db_session.flush()
    second = _item(suite, "hello_1.0")
    db_session.add(second)
    db_session.flush()
    second.removed_at = NOW + dt.timedelta(days=1)
    db_session.add(_item(suite, "hello_1.0"))
    db_session.flush()
    names = db_session.scalars(
        select(CollectionItem.name).where(CollectionItem.removed_at.is_(None))
    ).all()
    assert names == ["hello_1.0"]
    assert len(db_session.scalars(select(CollectionItem)).all()) == 3


def test_same_name_in_two_collections(db_session: Session, suite: Collection) -> None:
    other = CollectionFactory(workspace=suite.workspace)
    db_session.add_all([_item(suite, "x"), _item(other, "x")])
    db_session.flush()


def test_deleting_a_collection_deletes_its_items_and_constraints(
    db_session: Session, suite: Collection
) -> None:
    item = _item(suite)
    db_session.add(item)
    db_session.flush()
    db_session.add(
        CollectionItemMatchConstraint(
            collection_id=suite.id,
            collection_item_id=item.id,
            constraint_name="pool-file",
            key="k",
            value="v",
        )
    )
    db_session.flush()
    db_session.execute(delete(Collection).where(Collection.id == suite.id))
    assert db_session.scalars(select(CollectionItem.id)).all() == []
    assert db_session.scalars(select(CollectionItemMatchConstraint.id)).all() == []


def test_collection_active_in_another_cannot_be_deleted(
    refused: Refused, db_session: Session, suite: Collection
) -> None:
    child = CollectionFactory(workspace=suite.workspace)
    db_session.add(_item(suite, child_type="c", collection_id=child.id))
    db_session.flush()
    with refused("ck_collection_item_child_type_consistent"):
        db_session.execute(delete(Collection).where(Collection.id == child.id))


# --- match constraints ------------------------------------------------------------


def _constraint(
    collection: Collection,
    value: str,
    *,
    key: str = "pool/main/h/hello/hello.dsc",
    name: str = "pool-file",
    item_id: int = 1,
) -> CollectionItemMatchConstraint:
    return CollectionItemMatchConstraint(
        collection_id=collection.id,
        collection_item_id=item_id,
        constraint_name=name,
        key=key,
        value=value,
    )


def test_match_constraint_refuses_another_value(
    refused: Refused, db_session: Session, suite: Collection
) -> None:
    db_session.add(_constraint(suite, "sha256:aaa"))
    db_session.flush()
    with refused("excl_collection_item_match_constraint_match_value"):
        db_session.add(_constraint(suite, "sha256:bbb", item_id=2))


def test_match_constraint_accepts_the_same_value(
    db_session: Session, suite: Collection
) -> None:
    db_session.add_all([_constraint(suite, "sha256:aaa", item_id=n) for n in (1, 2, 3)])
    db_session.flush()
    assert len(db_session.scalars(select(CollectionItemMatchConstraint)).all()) == 3


def test_match_constraint_scoped_by_collection_name_and_key(
    db_session: Session, suite: Collection
) -> None:
    other = CollectionFactory(workspace=suite.workspace)
    db_session.add_all(
        [
            _constraint(suite, "aaa"),
            _constraint(other, "bbb"),  # another collection
            _constraint(suite, "ccc", name="other-rule"),  # another constraint
            _constraint(suite, "ddd", key="pool/main/h/hello/hello.tar.xz"),  # key
        ]
    )
    db_session.flush()
    assert len(db_session.scalars(select(CollectionItemMatchConstraint)).all()) == 4


def test_match_constraint_outlives_the_item(
    refused: Refused, db_session: Session, suite: Collection
) -> None:
    """The pool file keeps its contents even after its item was removed."""
    item = _item(suite)
    db_session.add(item)
    db_session.flush()
    db_session.add(_constraint(suite, "aaa", item_id=item.id))
    db_session.flush()
    db_session.delete(item)
    db_session.flush()
    with refused("excl_collection_item_match_constraint_match_value"):
        db_session.add(_constraint(suite, "bbb", item_id=item.id + 1))
