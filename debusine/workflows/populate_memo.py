"""Whether orchestrating a running workflow again could change anything.

What `populate()` lays out depends only on the workflow's task data and
dynamic data, the workflow code, and the active items of the collections
its code reads (the promises in its internal collection, environments, a
suite...); artifacts never change. So while a workflow populates, the
collections whose items its own code reads are recorded (see
debusine.collections.base.ITEMS_READ_KEY; reads made while creating a child,
for its default reactions or task configuration, or by a sub-workflow's
populate, are not its own), and afterwards a fingerprint of all of them is
kept in `populate_memo`. When the running workflow is orchestrated again
and the fingerprint is the same, populate would find every child it asks
for and add nothing: it is not run. A new collection item, a removed one, a
collection's changed data or a new debusine version changes the
fingerprint, and populate runs.

Not covered: a collection found by name that a collection of the same name,
created later in a nearer workspace, now hides (populate would use the new
one).
"""

from __future__ import annotations

import functools
import hashlib
import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    Integer,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.orm import Session

import debusine
from debusine.collections.base import ITEMS_READ_KEY
from debusine.models import Collection, CollectionItem, WorkRequest, WorkRequestStatus

_ABSENT = object()


@contextmanager
def recording_items_read(session: Session, into: set[int] | None) -> Iterator[None]:
    """Record the collections whose items are read into `into` (None: do not
    record) until the block ends; the enclosing recording then goes on."""
    previous = session.info.get(ITEMS_READ_KEY, _ABSENT)
    if into is None:
        session.info.pop(ITEMS_READ_KEY, None)
    else:
        session.info[ITEMS_READ_KEY] = into
    try:
        yield
    finally:
        if previous is _ABSENT:
            session.info.pop(ITEMS_READ_KEY, None)
        else:
            session.info[ITEMS_READ_KEY] = previous


@functools.cache
def _collections_state() -> Select[Any]:
    # Per collection: its data, and which items are active (an item never
    # changes but to be removed; a replacement is a new item).
    item = CollectionItem
    return (
        select(
            Collection.id,
            func.md5(cast(Collection.data, Text)),
            func.count(item.id),
            func.md5(
                func.string_agg(
                    cast(item.id, Text),
                    aggregate_order_by(literal_column("','"), item.id),
                )
            ),
        )
        .outerjoin(
            item,
            and_(item.parent_collection_id == Collection.id, item.removed_at.is_(None)),
        )
        # = ANY(array): one statement text for any number of ids, so it is
        # compiled and prepared once.
        .where(Collection.id == func.any(bindparam("ids", type_=ARRAY(Integer))))
        .group_by(Collection.id)
        .order_by(Collection.id)
    )


def fingerprint(
    session: Session, work_request: WorkRequest, collection_ids: Iterable[int]
) -> str:
    """What the workflow's populate depends on, hashed."""
    ids = sorted(set(collection_ids))
    state = (
        [list(row) for row in session.execute(_collections_state(), {"ids": ids})]
        if ids
        else []
    )
    payload = [
        debusine.__version__,
        work_request.task_name,
        work_request.version,
        work_request.task_data,
        work_request.dynamic_task_data,
        state,
    ]
    encoded = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(encoded.encode()).hexdigest()


def remember(
    session: Session, work_request: WorkRequest, collection_ids: Iterable[int]
) -> None:
    """Keep the fingerprint of what the populate that just ran depended on."""
    ids = sorted(set(collection_ids))
    work_request.populate_memo = {
        "fingerprint": fingerprint(session, work_request, ids),
        "collections": ids,
    }


def unchanged(session: Session, work_request: WorkRequest) -> bool:
    """A running workflow whose populate would add nothing now."""
    memo = work_request.populate_memo
    if work_request.status != WorkRequestStatus.RUNNING or not memo:
        return False
    return bool(
        memo.get("fingerprint")
        == fingerprint(session, work_request, memo.get("collections") or [])
    )


__all__ = ["fingerprint", "recording_items_read", "remember", "unchanged"]
