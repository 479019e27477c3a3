"""Live logs and progress of running work requests, as workers report them.

Each PARTIAL message of the bus (see debusine/bus/PROTOCOL.md) carries a
`sequence` number per work request; its log chunk is stored once per
(work request, log name, sequence), so a chunk delivered twice is stored
once. The complete log is uploaded as an artifact at the end of the task;
these rows let a client follow a task while it runs.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, CheckConstraint, Float, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from debusine.db.base import Base, created_at_column


class WorkRequestLog(Base):
    """One chunk of a work request's log."""

    __tablename__ = "work_request_log"
    __table_args__ = (CheckConstraint("sequence >= 0", name="sequence_not_negative"),)

    work_request_id: Mapped[int] = mapped_column(
        ForeignKey("work_request.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    sequence: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    data: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = created_at_column()


class WorkRequestProgress(Base):
    """The latest progress (0..1) a worker reported for a work request."""

    __tablename__ = "work_request_progress"
    __table_args__ = (
        CheckConstraint("progress >= 0 AND progress <= 1", name="progress_range"),
    )

    work_request_id: Mapped[int] = mapped_column(
        ForeignKey("work_request.id", ondelete="CASCADE"), primary_key=True
    )
    progress: Mapped[float] = mapped_column(Float)
    sequence: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[dt.datetime] = created_at_column()
