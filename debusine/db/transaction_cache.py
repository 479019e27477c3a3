"""Caches that live as long as a transaction and no longer than its data.

Creating thousands of work requests in one transaction asks the same
questions again and again (does this workspace keep a task history? which
artifact is `42@artifacts`?). A `TransactionCache` keeps the answers in
the session, and forgets them all when they may have changed: at the end
of the outermost transaction, on any rollback, when the session writes an
object of one of the watched classes, or on any bulk UPDATE/DELETE/INSERT
statement.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction


class TransactionCache:
    """A per-session dict, emptied whenever its answers may be stale."""

    def __init__(self, name: str, watched: tuple[type, ...]) -> None:
        self.key = f"debusine.transaction_cache.{name}"
        self.watched = watched
        event.listen(Session, "after_flush", self._follow_flush)
        event.listen(Session, "do_orm_execute", self._follow_bulk)
        event.listen(Session, "after_transaction_end", self._follow_end)
        event.listen(Session, "after_soft_rollback", self._drop)

    def __call__(self, session: Session) -> dict[Any, Any]:
        cache: dict[Any, Any] = session.info.setdefault(self.key, {})
        return cache

    def _drop(self, session: Session, *args: Any) -> None:
        session.info.pop(self.key, None)

    def _follow_flush(self, session: Session, flush_context: Any) -> None:
        if self.key not in session.info:
            return
        for obj in (*session.new, *session.dirty, *session.deleted):
            if isinstance(obj, self.watched):
                self._drop(session)
                return

    def _follow_bulk(self, orm_execute_state: ORMExecuteState) -> None:
        if not orm_execute_state.is_select:
            self._drop(orm_execute_state.session)

    def _follow_end(self, session: Session, transaction: SessionTransaction) -> None:
        # Flushes run in subtransactions of their own: only the outermost counts.
        if transaction.parent is None:
            self._drop(session)


__all__ = ["TransactionCache"]
