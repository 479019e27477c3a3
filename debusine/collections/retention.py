"""Retention of removed collection items.

A removed item keeps its artifact until the collection's
`full_history_retention_period` has passed since its removal; then the
artifact is unlinked (the item's metadata stays). After a further
`metadata_only_retention_period` the item itself is deleted. An unset
period means "forever".
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, delete, update
from sqlalchemy.orm import Session

from debusine.models import Collection, CollectionItem


@dataclass(frozen=True)
class RetentionReport:
    unlinked: int
    deleted: int


def apply_retention(session: Session, now: dt.datetime) -> RetentionReport:
    """Unlink then delete removed items whose retention periods are over."""
    full = Collection.full_history_retention_period
    meta = Collection.metadata_only_retention_period
    expired_full = (
        (Collection.id == CollectionItem.parent_collection_id)
        & CollectionItem.removed_at.is_not(None)
        & full.is_not(None)
        & (CollectionItem.removed_at + full <= now)
    )
    deleted = session.execute(
        delete(CollectionItem)
        .where(expired_full, meta.is_not(None))
        .where(CollectionItem.removed_at + full + meta <= now)
        .execution_options(synchronize_session=False)
    )
    unlinked = session.execute(
        update(CollectionItem)
        .where(expired_full)
        .where(
            CollectionItem.artifact_id.is_not(None)
            | CollectionItem.collection_id.is_not(None)
        )
        .values(artifact_id=None, collection_id=None)
        .execution_options(synchronize_session=False)
    )
    session.expire_all()
    return RetentionReport(
        unlinked=cast(CursorResult[Any], unlinked).rowcount,
        deleted=cast(CursorResult[Any], deleted).rowcount,
    )
