"""Engine and session setup; `request.db` for Pyramid views."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import transaction
import zope.sqlalchemy
from sqlalchemy import Engine, create_engine
from sqlalchemy.orm import Session, sessionmaker

from debusine.db.embedded import embedded_database_url


def database_url(settings: dict[str, Any]) -> str:
    """The configured `sqlalchemy.url`, or one on the embedded server."""
    url = (settings.get("sqlalchemy.url") or "").strip()
    if url:
        return str(url)
    return embedded_database_url(Path(settings.get("debusine.data_dir") or "var"))


def engine_from_settings(settings: dict[str, Any]) -> Engine:
    return create_engine(
        database_url(settings),
        isolation_level="READ COMMITTED",
        pool_size=int(settings.get("sqlalchemy.pool_size", 10)),
        max_overflow=int(settings.get("sqlalchemy.max_overflow", 20)),
        pool_pre_ping=True,
    )


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine)


def transactional_session(
    factory: sessionmaker[Session],
    transaction_manager: transaction.TransactionManager,
) -> Session:
    """A session joined to `transaction_manager`: it commits when the manager does."""
    session = factory()
    zope.sqlalchemy.register(session, transaction_manager=transaction_manager)
    return session
