"""Live logs and progress of work requests: storing what workers report, reading it.

Workers stream log chunks and progress in PARTIAL messages of the bus, each
with a `sequence` number per work request (PROTOCOL.md). A chunk is stored
once per (work request, log name, sequence): a duplicate is ignored, and a
gap (a chunk lost while the connection was down) stays a gap. A client
follows a running task by asking for the chunks from a sequence number on
(`read_log`), then again from the `next` it was given, until `complete`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from debusine.models import WorkRequest, WorkRequestStatus
from debusine.models.work_request_logs import WorkRequestLog, WorkRequestProgress

DEFAULT_LOG_NAME = "log"
# How many chunks one read returns at most.
PAGE_SIZE = 500

_FINISHED = (WorkRequestStatus.COMPLETED, WorkRequestStatus.ABORTED)


def _clean(data: str) -> str:
    # PostgreSQL text cannot hold NUL; a task's output may.
    return data.replace("\x00", "\ufffd")


def store_chunk(
    session: Session,
    work_request_id: int,
    sequence: int,
    data: str,
    name: str | None = None,
) -> bool:
    """Store one log chunk; False if it was there already (idempotent)."""
    result = session.execute(
        insert(WorkRequestLog)
        .values(
            work_request_id=work_request_id,
            name=name or DEFAULT_LOG_NAME,
            sequence=sequence,
            data=_clean(data),
        )
        .on_conflict_do_nothing()
        .returning(WorkRequestLog.sequence)
    )
    return result.first() is not None


def store_progress(
    session: Session, work_request_id: int, sequence: int, progress: float
) -> None:
    """Record the progress unless a later message (by sequence) already did."""
    statement = insert(WorkRequestProgress).values(
        work_request_id=work_request_id, progress=progress, sequence=sequence
    )
    session.execute(
        statement.on_conflict_do_update(
            index_elements=[WorkRequestProgress.work_request_id],
            set_={
                "progress": statement.excluded.progress,
                "sequence": statement.excluded.sequence,
                "updated_at": statement.excluded.updated_at,
            },
            where=WorkRequestProgress.sequence <= statement.excluded.sequence,
        )
    )


@dataclass
class LogPage:
    """Chunks in order, where to continue, and whether the log is complete."""

    chunks: list[dict[str, Any]] = field(default_factory=list)
    next: int = 0
    complete: bool = False
    progress: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "chunks": self.chunks,
            "next": self.next,
            "complete": self.complete,
            "progress": self.progress,
        }


def read_log(
    session: Session,
    work_request: WorkRequest,
    *,
    name: str | None = None,
    since: int = 0,
    limit: int = PAGE_SIZE,
) -> LogPage:
    """The chunks with sequence >= `since` (of log `name`, or of every log).

    `next` is the sequence to ask from next time. `complete` is true when
    the work request has finished and this page holds the rest of its log.
    """
    # Read the status first: a chunk stored after it is still in this page
    # or the next, never skipped by a premature `complete`.
    finished = work_request.status in _FINISHED
    query = (
        select(WorkRequestLog.name, WorkRequestLog.sequence, WorkRequestLog.data)
        .where(
            WorkRequestLog.work_request_id == work_request.id,
            WorkRequestLog.sequence >= since,
        )
        .order_by(WorkRequestLog.sequence, WorkRequestLog.name)
        .limit(limit + 1)
    )
    if name is not None:
        query = query.where(WorkRequestLog.name == name)
    rows = session.execute(query).all()
    more = len(rows) > limit
    if more:
        split = rows[limit].sequence
        rows = rows[:limit]
        if rows[0].sequence != split:
            # Never split one sequence number (several log names) across
            # pages: the next page starts with the whole of it.
            rows = [row for row in rows if row.sequence != split]
    return LogPage(
        chunks=[
            {"name": row.name, "sequence": row.sequence, "data": row.data}
            for row in rows
        ],
        next=(rows[-1].sequence + 1) if rows else since,
        complete=finished and not more,
        progress=session.scalar(
            select(WorkRequestProgress.progress).where(
                WorkRequestProgress.work_request_id == work_request.id
            )
        ),
    )


__all__ = [
    "DEFAULT_LOG_NAME",
    "LogPage",
    "read_log",
    "store_chunk",
    "store_progress",
]
