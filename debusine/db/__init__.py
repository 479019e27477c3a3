"""Database wiring: one engine per process, one session per request."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from debusine.db.session import (
    engine_from_settings,
    session_factory,
    transactional_session,
)

if TYPE_CHECKING:
    # Only the web application needs Pyramid; the admin CLI imports this
    # package too and should not pay for it.
    from pyramid.config import Configurator
    from pyramid.request import Request


def _request_db(request: Request) -> Session:
    factory = request.registry["debusine.db_session_factory"]
    session = transactional_session(factory, request.tm)
    request.add_finished_callback(lambda _: session.close())
    return session


def includeme(config: Configurator) -> None:
    from pyramid_retry import mark_error_retryable

    settings: dict[str, Any] = config.get_settings()
    connection = settings.get("debusine.db_connection")
    if connection is not None:
        # Tests: every request gets its own session on the test's connection,
        # in a savepoint that the request's transaction commits or rolls back.
        config.registry["debusine.db_session_factory"] = sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint"
        )
    else:
        engine = engine_from_settings(settings)
        config.registry["debusine.db_engine"] = engine
        config.registry["debusine.db_session_factory"] = session_factory(engine)
    config.add_request_method(_request_db, "db", reify=True)
    # A unique-constraint race between two identical requests (a double
    # submit) is worth one more try: the second one then sees the first's row.
    mark_error_retryable(IntegrityError)
