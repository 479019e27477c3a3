"""`debusine:workflow-internal` lookups by name: cached per transaction, never stale."""

from __future__ import annotations

import pytest
from sqlalchemy import update
from sqlalchemy.orm import Session

from debusine import models
from debusine.collections import get_manager
from debusine.collections.workflow_internal import PROMISE
from tests import factories


@pytest.fixture
def internal(db_session: Session) -> models.Collection:
    workspace = factories.WorkspaceFactory(public=True)
    collection = factories.CollectionFactory(
        workspace=workspace, name="workflow-1", category="debusine:workflow-internal"
    )
    db_session.flush()
    return collection


def promise(
    session: Session, collection: models.Collection, name: str, wr: int
) -> None:
    get_manager(session, collection).add_bare_data(
        PROMISE, name=name, data={"promise_work_request_id": wr}, replace=True
    )


def found(session: Session, collection: models.Collection, name: str) -> object:
    item = get_manager(session, collection).lookup(name)
    return None if item is None else item.data["promise_work_request_id"]


def test_lookups_follow_additions_and_replacements(
    db_session: Session, internal: models.Collection
) -> None:
    assert found(db_session, internal, "build-amd64") is None
    promise(db_session, internal, "build-amd64", 1)
    assert found(db_session, internal, "build-amd64") == 1
    promise(db_session, internal, "build-amd64", 2)
    assert found(db_session, internal, "name:build-amd64") == 2
    item = get_manager(db_session, internal).lookup("build-amd64")
    assert item is not None
    get_manager(db_session, internal).remove_item(item)
    assert found(db_session, internal, "build-amd64") is None


def test_rolled_back_addition_is_not_found(
    db_session: Session, internal: models.Collection
) -> None:
    promise(db_session, internal, "build-i386", 1)
    savepoint = db_session.begin_nested()
    promise(db_session, internal, "build-arm64", 2)
    assert found(db_session, internal, "build-arm64") == 2
    savepoint.rollback()
    assert found(db_session, internal, "build-arm64") is None
    assert found(db_session, internal, "build-i386") == 1


def test_bulk_removal_is_seen(db_session: Session, internal: models.Collection) -> None:
    promise(db_session, internal, "build-all", 1)
    assert found(db_session, internal, "build-all") == 1
    db_session.execute(
        update(models.CollectionItem)
        .where(models.CollectionItem.parent_collection_id == internal.id)
        .values(removed_at="now()")
    )
    assert found(db_session, internal, "build-all") is None


def test_next_transaction_sees_other_sessions_items(
    db_session: Session, internal: models.Collection
) -> None:
    assert found(db_session, internal, "sign") is None
    db_session.commit()
    other = Session(
        bind=db_session.connection(), join_transaction_mode="create_savepoint"
    )
    promise(other, other.get_one(models.Collection, internal.id), "sign", 7)
    other.commit()
    other.close()
    assert found(db_session, internal, "sign") == 7
