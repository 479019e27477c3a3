"""Primary keys taken from a table's sequence before the row is inserted.

An object with its id known before the flush can be referred to at once
(a promise names its work request, a dependency row names both ends), so
code that creates many related rows need not flush after each one: they
are all inserted in one batch later. Ids are taken
from the `serial` column's sequence a block at a time, in one query; a
block's unused ids are simply never used (sequences have gaps anyway).

The pool belongs to the database connection, not to the session: a
sequence's values are never taken back (not even by a rollback), so ids
taken in one transaction stay good for the next one on the same connection,
and an orchestrator running one short transaction after another asks the
sequence once per thousand rows rather than once per transaction. A
connection never changes database, so a pool can never hold ids of
another database (a dropped and re-created one included).
"""

from __future__ import annotations

from collections import deque

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

_POOL_KEY = "debusine.id_pool"
_FIRST_BLOCK = 16
_LARGEST_BLOCK = 1024


def _nextvals(table: str, count: int) -> Select[tuple[int]]:
    # A SELECT (not text()): caches that drop on writes see it as a read.
    sequence = func.pg_get_serial_sequence(table, "id")
    return select(func.nextval(sequence)).select_from(func.generate_series(1, count))


class _Pool:
    def __init__(self) -> None:
        self.ids: deque[int] = deque()
        # Grows as the connection keeps asking: one query per block, and a
        # connection that wants one id does not waste a thousand.
        self.block = _FIRST_BLOCK


def next_id(session: Session, table: str) -> int:
    """An id for a new row of `table` (whose `id` column is a serial)."""
    pools: dict[str, _Pool] = session.connection().info.setdefault(_POOL_KEY, {})
    pool = pools.setdefault(table, _Pool())
    if not pool.ids:
        pool.ids.extend(session.scalars(_nextvals(table, pool.block)).all())
        pool.block = min(pool.block * 2, _LARGEST_BLOCK)
    return pool.ids.popleft()


__all__ = ["next_id"]
