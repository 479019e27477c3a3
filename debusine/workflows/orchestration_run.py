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

Children are created `deferred` (see `create_work_request`): their ids come
from the sequence, and the session inserts them in batches at its next
flush instead of one round trip each.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event, inspect
from sqlalchemy.orm import ORMExecuteState, Session, SessionTransaction

from debusine.models import WorkRequest
from debusine.tasks import TaskType

_KEY = "debusine.orchestration_run"

ChildKey = tuple[str, str, str, str]


@dataclass
class OrchestrationRun:
    # Per workflow id: its current children by key (see Workflow._child_key).
    children: dict[int, dict[ChildKey, WorkRequest]] = field(default_factory=dict)
    # Work requests created in this run, in order, for their on_creation
    # reactions; their ids, for "has no children but the run's".
    created: list[WorkRequest] = field(default_factory=list)
    created_ids: set[int] = field(default_factory=set)
    # Not flushed yet, hence not in the identity map: session.get would
    # flush and query for each.
    created_by_id: dict[int, WorkRequest] = field(default_factory=dict)
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

    @staticmethod
    def end(session: Session) -> None:
        session.info.pop(_KEY, None)

    def record_created(self, work_request: WorkRequest) -> None:
        self.created.append(work_request)
        self.created_ids.add(work_request.id)
        self.created_by_id[work_request.id] = work_request
        if work_request.task_type == TaskType.WORKFLOW:
            self.children[work_request.id] = {}

    def get(self, session: Session, work_request_id: int) -> WorkRequest | None:
        """The work request `work_request_id`, from the run if it made it."""
        made = self.created_by_id.get(work_request_id)
        if made is not None and (inspect(made).pending or inspect(made).persistent):
            return made
        return session.get(WorkRequest, work_request_id)

    def take_created(self) -> list[WorkRequest]:
        """The children created so far that are still in the session."""
        created, self.created = self.created, []
        # A rolled-back savepoint leaves its objects transient or detached.
        return [wr for wr in created if inspect(wr).persistent or inspect(wr).pending]


def _forget_children(session: Session, *args: Any) -> None:
    # A rollback (of the transaction or of a savepoint) takes back rows the
    # indexes may hold, and a bulk statement (a retry re-pointing
    # dependencies...) may change them: let them load again from the
    # database (which the autoflush first brings up to date).
    run = session.info.get(_KEY)
    if run is not None:
        run.children.clear()
        run.created_ids.clear()
        run.created_by_id.clear()


def _follow_bulk(orm_execute_state: ORMExecuteState) -> None:
    if not orm_execute_state.is_select:
        _forget_children(orm_execute_state.session)


def _follow_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        OrchestrationRun.end(session)


event.listen(Session, "after_soft_rollback", _forget_children)
event.listen(Session, "do_orm_execute", _follow_bulk)
event.listen(Session, "after_transaction_end", _follow_transaction_end)

__all__ = ["OrchestrationRun"]
