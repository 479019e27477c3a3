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
for and add nothing: it is not run. A new collection item, a removed one,
a collection's changed data or a new debusine version changes the
fingerprint, and populate runs. The database computes the fingerprint:
keeping it and checking it are one statement each.

Not covered:

* a collection found by name that a collection of the same name, created
  later in a nearer workspace, now hides (populate would use the new one);
* a change committed by another transaction while populate runs, after
  populate read the collection and before the fingerprint is taken (each
  statement sees the latest commits, in PostgreSQL's default isolation):
  the fingerprint includes it though populate did not see it.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    Text,
    Update,
    and_,
    bindparam,
    cast,
    func,
    literal,
    literal_column,
    select,
    update,
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


def _collections_state(is_recorded: ColumnElement[bool]) -> ColumnElement[Any]:
    """Per recorded collection, in id order: its data, and which of its items
    are active (an item never changes but to be removed; a replacement is a
    new item)."""
    item = CollectionItem
    items = (
        select(
            func.concat(
                func.count(item.id),
                ":",
                func.md5(
                    func.string_agg(
                        cast(item.id, Text),
                        aggregate_order_by(literal_column("','"), item.id),
                    )
                ),
            )
        )
        .where(
            and_(item.parent_collection_id == Collection.id, item.removed_at.is_(None))
        )
        .scalar_subquery()
    )
    return (
        select(
            func.string_agg(
                func.concat(
                    Collection.id,
                    ":",
                    func.md5(cast(Collection.data, Text)),
                    ":",
                    items,
                ),
                aggregate_order_by(literal_column("';'"), Collection.id),
            )
        )
        .where(is_recorded)
        .scalar_subquery()
    )


def _fingerprint(is_recorded: ColumnElement[bool]) -> ColumnElement[str]:
    """What the work request row's populate depends on, hashed, for the
    collections `is_recorded` selects."""
    return func.md5(
        func.concat_ws(
            "|",
            literal(debusine.__version__, Text),
            WorkRequest.task_name,
            cast(WorkRequest.version, Text),
            cast(WorkRequest.task_data, Text),
            func.coalesce(cast(WorkRequest.dynamic_task_data, Text), ""),
            func.coalesce(_collections_state(is_recorded), ""),
        )
    )


# The statements are built once: building such a tree and its cache key
# costs more than running it.


@functools.cache
def _check_statement() -> Select[tuple[bool]]:
    # The work request is that of the enclosing query, two levels up.
    recorded = select(
        cast(
            func.jsonb_array_elements_text(WorkRequest.populate_memo["collections"]),
            Integer,
        )
    ).correlate(WorkRequest)
    # = ANY(ARRAY(...)): looked up by primary key, not by scanning collections.
    holds = WorkRequest.populate_memo["fingerprint"].astext == _fingerprint(
        Collection.id == func.any(func.array(recorded.scalar_subquery()))
    )
    return select(holds).where(WorkRequest.id == bindparam("memo_of"))


@functools.cache
def _remember_statement() -> Update:
    ids = bindparam("ids", type_=ARRAY(Integer))
    return (
        update(WorkRequest)
        .where(WorkRequest.id == bindparam("memo_of"))
        .values(
            populate_memo=func.jsonb_build_object(
                "fingerprint",
                _fingerprint(Collection.id == func.any(ids)),
                "collections",
                ids,
            )
        )
        .execution_options(synchronize_session=False)
    )


def remember(
    session: Session, work_request: WorkRequest, collection_ids: Iterable[int]
) -> None:
    """Keep the fingerprint of what the populate that just ran depended on."""
    session.flush()  # the fingerprint covers the row as it is now
    session.execute(
        _remember_statement(),
        {"memo_of": work_request.id, "ids": sorted(set(collection_ids))},
    )
    session.expire(work_request, ["populate_memo"])


def unchanged(session: Session, work_request: WorkRequest) -> bool:
    """A running workflow whose populate would add nothing now."""
    if (
        work_request.status != WorkRequestStatus.RUNNING
        or not work_request.populate_memo
    ):
        return False
    return bool(session.scalar(_check_statement(), {"memo_of": work_request.id}))


__all__ = ["recording_items_read", "remember", "unchanged"]
