"""What one orchestration shares between the Workflow objects it builds.

`orchestrate_workflow` populates a workflow and, in the same transaction,
the sub-workflows it lays out, each through a Workflow object of its own.
For as long as the outermost call lasts (or, for workflow code run outside
it, the transaction), they share an `OrchestrationRun`:

* each workflow's current children, indexed by what makes two children
  the same, so `work_request_ensure_child` asks the database at most once
  per workflow, and never for a workflow created in this run (it has no
  children but those the run made);
* the children created, whose `on_creation` reactions run once the
  outermost call has laid everything out: workflows record reactions on a
  child after creating it (`record_build_log`...), and those must run too.

Children are created `deferred` (see `create_work_request`): complete, with
their ids from the sequence, but outside the session. The promises they
make (items of the workflow-internal collection) are deferred the same way
(see debusine.collections.base.DEFERRED_ITEMS_KEY). Before the session's
next flush, or next statement that names their tables (a query of
collections or workspaces does not wait for them), the run inserts all
those not inserted yet, with their dependencies, in one statement, then
attaches them to the session as loaded objects: the ORM's unit of work,
which costs more per object than the INSERT itself, never sees them as
new. Changes made to them afterwards are ordinary updates.
"""

from __future__ import annotations

import functools
import weakref
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Executable, Table, event, inspect
from sqlalchemy.orm import (
    ORMExecuteState,
    Session,
    SessionTransaction,
    make_transient_to_detached,
)
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.sql import ClauseElement, visitors

from debusine.collections.base import DEFERRED_ITEMS_KEY
from debusine.db.base import Base
from debusine.db.bulk_insert import insert_into_tables
from debusine.models import CollectionItem, WorkRequest
from debusine.models.work_requests import work_request_dependency
from debusine.tasks import TaskType

_KEY = "debusine.orchestration_run"

ChildKey = tuple[str, str, str, str]


@dataclass
class OrchestrationRun:
    # Per workflow id: its current children by key (see Workflow._child_key).
    children: dict[int, dict[ChildKey, WorkRequest]] = field(default_factory=dict)
    # Work requests created in this run, in order, for their on_creation
    # reactions.
    created: list[WorkRequest] = field(default_factory=list)
    # The same by id: a workflow among them has no children but the run's,
    # and they may not be in the identity map yet (session.get would flush
    # and query for each).
    created_by_id: dict[int, WorkRequest] = field(default_factory=dict)
    # Created, not inserted yet (see insert_unsaved).
    unsaved: list[WorkRequest] = field(default_factory=list)
    # Collection items added while laying out children, not inserted yet.
    unsaved_items: list[CollectionItem] = field(default_factory=list)
    # Nesting of orchestrate_workflow calls: the outermost one finishes.
    depth: int = 0

    @classmethod
    def of(cls, session: Session) -> OrchestrationRun:
        """The session's current run, started if there is none."""
        run = session.info.get(_KEY)
        if run is None:
            run = session.info[_KEY] = cls()
        assert isinstance(run, OrchestrationRun)
        return run

    def enter(self, session: Session) -> None:
        """An orchestrate_workflow call starts (the outermost one defers
        collection items too)."""
        self.depth += 1
        if self.depth == 1:
            session.info[DEFERRED_ITEMS_KEY] = self.unsaved_items

    def leave(self, session: Session) -> None:
        self.depth -= 1
        if self.depth == 0:
            OrchestrationRun.end(session)

    @staticmethod
    def end(session: Session) -> None:
        session.info.pop(_KEY, None)
        session.info.pop(DEFERRED_ITEMS_KEY, None)

    def record_created(self, work_request: WorkRequest) -> None:
        """A deferred child (see `create_work_request`): inserted before the
        session next talks to the database."""
        self.unsaved.append(work_request)
        self.created.append(work_request)
        self.created_by_id[work_request.id] = work_request
        if work_request.task_type == TaskType.WORKFLOW:
            self.children[work_request.id] = {}

    def get(self, session: Session, work_request_id: int) -> WorkRequest | None:
        """The work request `work_request_id`, from the run if it made it."""
        made = self.created_by_id.get(work_request_id)
        if made is not None and not (inspect(made).detached or inspect(made).deleted):
            return made
        return session.get(WorkRequest, work_request_id)

    def insert_unsaved(self, session: Session) -> None:
        """Insert the children and items created since the last time, in
        one batch."""
        if not (self.unsaved or self.unsaved_items):
            return
        batch, self.unsaved = self.unsaved, []
        items = list(self.unsaved_items)
        self.unsaved_items.clear()
        for obj in (*batch, *items):
            # A relationship from an object in the session (a promise's
            # workflow, a dependency) may have cascaded it in as pending.
            if inspect(obj).pending:
                session.expunge(obj)
        connection = session.connection()
        # One statement: foreign keys (dependencies and items name work
        # requests) are checked once all its rows are in.
        insert_into_tables(
            connection,
            [
                (WorkRequest.__table__, [_row(wr) for wr in batch]),
                (
                    work_request_dependency,
                    [
                        {"work_request_id": wr.id, "dependency_id": dependency.id}
                        for wr in batch
                        for dependency in wr.dependencies
                    ],
                ),
                (CollectionItem.__table__, [_row(i) for i in items]),
            ],
        )
        for work_request in batch:
            _forget_backref_changes(work_request)
        for obj in (*batch, *items):
            make_transient_to_detached(obj)
        # Only now: adding one cascades to those it refers to, which must
        # already be known as rows (detached), not as new objects.
        for obj in (*batch, *items):
            session.add(obj)

    def touches_unsaved(self, statement: Executable) -> bool:
        """Whether `statement` names a table holding rows not inserted yet."""
        if not (self.unsaved or self.unsaved_items):
            return False
        waiting = set()
        if self.unsaved:
            waiting |= _WORK_REQUEST_TABLES
        if self.unsaved_items:
            waiting.add(CollectionItem.__table__)
        named = _tables_named(statement)
        # Text names no Table: treated as reading anything.
        return not named or not waiting.isdisjoint(named)

    def take_created(self) -> list[WorkRequest]:
        """The children created so far that are still in the session."""
        created, self.created = self.created, []
        # A rolled-back savepoint leaves its objects transient or detached.
        return [wr for wr in created if inspect(wr).persistent or inspect(wr).pending]


_WORK_REQUEST_TABLES = {WorkRequest.__table__, work_request_dependency}

# Per statement object: most are built once and run again and again (lazy
# loads, the cached statements of lookups).
_tables_of: weakref.WeakKeyDictionary[ClauseElement, frozenset[Table]] = (
    weakref.WeakKeyDictionary()
)


def _tables_named(statement: Executable) -> frozenset[Table]:
    if not isinstance(statement, ClauseElement):
        return frozenset()
    tables = _tables_of.get(statement)
    if tables is None:
        tables = _tables_of[statement] = frozenset(
            e for e in visitors.iterate(statement) if isinstance(e, Table)
        )
    return tables


def _row(obj: Base) -> dict[str, Any]:
    values = inspect(obj).dict
    return {name: values[key] for key, name in _columns(type(obj))}


@functools.cache
def _columns(cls: type[Base]) -> tuple[tuple[str, str], ...]:
    """(attribute, column name) of each of the class's columns."""
    return tuple((key, column.name) for key, column in inspect(cls).columns.items())


def _forget_backref_changes(work_request: WorkRequest) -> None:
    # The parent's `children` and each dependency's `reverse_dependencies`,
    # if loaded, recorded this request as added: the rows are in now, so
    # the unit of work must not insert them again.
    parent = work_request.parent
    if parent is not None and "children" in inspect(parent).dict:
        set_committed_value(parent, "children", list(parent.children))
    for dependency in work_request.dependencies:
        if "reverse_dependencies" in inspect(dependency).dict:
            set_committed_value(
                dependency,
                "reverse_dependencies",
                list(dependency.reverse_dependencies),
            )


def _before_flush(session: Session, flush_context: Any, instances: Any) -> None:
    run = session.info.get(_KEY)
    if run is not None:
        run.insert_unsaved(session)


def _forget_children(session: Session) -> None:
    # A bulk statement (a retry re-pointing dependencies...) may change what
    # the indexes hold: let them load again from the database.
    run = session.info.get(_KEY)
    if run is not None:
        run.children.clear()
        run.created_by_id.clear()


def _forget_rolled_back(session: Session, *args: Any) -> None:
    # A rollback (of the transaction or of a savepoint) takes back rows the
    # indexes may hold, and the children not inserted yet belong to the
    # workflow code that failed.
    run = session.info.get(_KEY)
    if run is not None:
        _forget_children(session)
        run.unsaved.clear()
        run.unsaved_items.clear()


def _before_statement(orm_execute_state: ORMExecuteState) -> None:
    session = orm_execute_state.session
    run = session.info.get(_KEY)
    if run is None:
        return
    # What the statement reads or changes must include the run's children.
    # A query that reads none of their tables (a collection, a workspace)
    # lets them wait: the later ones join the same INSERT, and changes
    # made to them meanwhile need no UPDATE.
    if orm_execute_state.is_select and not run.touches_unsaved(
        orm_execute_state.statement
    ):
        return
    run.insert_unsaved(session)
    if not orm_execute_state.is_select:
        _forget_children(session)


def _follow_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        OrchestrationRun.end(session)


event.listen(Session, "after_soft_rollback", _forget_rolled_back)
event.listen(Session, "do_orm_execute", _before_statement)
event.listen(Session, "before_flush", _before_flush)
event.listen(Session, "after_transaction_end", _follow_transaction_end)

__all__ = ["OrchestrationRun"]
