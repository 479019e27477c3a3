"""Fixtures shared by the whole suite.

Each xdist worker gets its own database, migrated once from `migrations/`.
Each test runs inside a transaction that is rolled back at the end; code
under test that commits only releases a savepoint.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import webtest
from sqlalchemy import Connection, Engine, create_engine, pool
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from debusine import configure
from debusine.db.migrations import alembic_config, upgrade
from tests import factories
from tests.database import create_database, drop_database, server_base_url


@pytest.fixture(scope="session")
def server_url() -> URL:
    return server_base_url()


@pytest.fixture(scope="session")
def database_url(server_url: URL, worker_id: str, testrun_uid: str) -> Iterator[str]:
    # Named by run too: two runs on one server must not drop each other's.
    name = f"debusine_test_{testrun_uid[:8]}_{worker_id}"
    url = create_database(server_url, name)
    rendered = url.render_as_string(hide_password=False)
    upgrade(alembic_config(database_url=rendered))
    yield rendered
    drop_database(server_url, name)


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url, poolclass=pool.NullPool)
    yield engine
    engine.dispose()


@pytest.fixture
def connection(engine: Engine) -> Iterator[Connection]:
    with engine.connect() as connection:
        outer = connection.begin()
        yield connection
        outer.rollback()


@pytest.fixture
def db_session(connection: Connection) -> Iterator[Session]:
    """A session whose commits stay inside the test's transaction."""
    session = Session(bind=connection, join_transaction_mode="create_savepoint")
    factories.bind(session)
    yield session
    factories.bind(None)
    session.close()


@pytest.fixture
def scratch_database(
    server_url: URL, worker_id: str, testrun_uid: str
) -> Iterator[str]:
    """A fresh migrated database for code that must really commit (subprocesses)."""
    name = f"debusine_scratch_{testrun_uid[:8]}_{worker_id}"
    url = create_database(server_url, name).render_as_string(hide_password=False)
    upgrade(alembic_config(database_url=url))
    yield url
    drop_database(server_url, name)


@pytest.fixture
def app_settings(connection: Connection, tmp_path: Path) -> dict[str, Any]:
    return {
        "debusine.db_connection": connection,
        "debusine.data_dir": str(tmp_path / "data"),
    }


class TestApp(webtest.TestApp):
    """WebTest on the app, sharing the test's database connection.

    Each request runs in its own session and savepoint, committed or rolled
    back by pyramid_tm as in production. The test's session is flushed
    before a request (so the request sees what the test made) and expired
    after it (so the test sees what the request changed).
    """

    def __init__(self, app: Any, session: Session, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.session = session

    def do_request(self, *args: Any, **kwargs: Any) -> Any:
        self.session.flush()
        try:
            return super().do_request(*args, **kwargs)
        finally:
            self.session.expire_all()


def make_webapp(settings: dict[str, Any], session: Session) -> TestApp:
    app = configure(dict(settings)).make_wsgi_app()
    return TestApp(app, session, extra_environ={"HTTP_HOST": "testserver"})


@pytest.fixture
def webapp(app_settings: dict[str, Any], db_session: Session) -> TestApp:
    return make_webapp(app_settings, db_session)


@pytest.fixture(autouse=True)
def _no_debusine_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The developer's DEBUSINE_* variables must not leak into the tests."""
    for name in list(os.environ):
        if name.startswith("DEBUSINE_") and name not in (
            "DEBUSINE_TEST_DATABASE_URL",
            "DEBUSINE_REQUIRE_E2E",
        ):
            monkeypatch.delenv(name)
