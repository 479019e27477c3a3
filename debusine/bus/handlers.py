"""`BusHandlers` backed by the database: the broker's source of truth."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from debusine.bus.broker import WorkerIdentity
from debusine.models import Token, Worker
from debusine.models.auth import hash_token_key

NOT_WIRED = "wired in the scheduler integration"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class DatabaseBusHandlers:
    """Each call runs in its own transaction, committed before it returns."""

    def __init__(self, session_factory: sessionmaker[Session]) -> None:
        self.session_factory = session_factory

    def authenticate(self, token: str) -> WorkerIdentity | None:
        """The worker whose enabled, unexpired token has this key, if any."""
        now = _now()
        with self.session_factory() as session:
            row = session.execute(
                select(Worker.id, Worker.name, Worker.worker_type, Token)
                .join(Token, Worker.token_id == Token.id)
                .where(Token.hash == hash_token_key(token))
            ).one_or_none()
            if row is None or not row.Token.is_usable(now):
                return None
            return WorkerIdentity(row.id, row.name, str(row.worker_type))

    def worker_ready(self, worker: WorkerIdentity, metadata: dict[str, Any]) -> None:
        now = _now()
        with self.session_factory.begin() as session:
            session.execute(
                update(Worker)
                .where(Worker.id == worker.id)
                .values(
                    connected_at=now,
                    last_heartbeat_at=now,
                    dynamic_metadata=metadata,
                    dynamic_metadata_updated_at=now,
                )
            )

    def worker_lost(self, worker: WorkerIdentity) -> None:
        with self.session_factory.begin() as session:
            session.execute(
                update(Worker).where(Worker.id == worker.id).values(connected_at=None)
            )

    def next_assignment(self, worker: WorkerIdentity) -> dict[str, Any] | None:
        raise NotImplementedError(f"next_assignment is {NOT_WIRED}")

    def progress(
        self, worker: WorkerIdentity, work_request_id: int, body: dict[str, Any]
    ) -> None:
        raise NotImplementedError(f"progress is {NOT_WIRED}")

    def finished(
        self,
        worker: WorkerIdentity,
        work_request_id: int,
        result: str,
        output_data: dict[str, Any],
    ) -> None:
        raise NotImplementedError(f"finished is {NOT_WIRED}")
