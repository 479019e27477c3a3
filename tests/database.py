"""Test databases: one per xdist worker, on the embedded PostgreSQL or on
the server named by DEBUSINE_TEST_DATABASE_URL."""

from __future__ import annotations

import os
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import URL, make_url

from debusine.db.embedded import server_url, start_server

ROOT = Path(__file__).resolve().parents[1]
TEST_PGDATA = ROOT / "var" / "test-postgres"


def server_base_url() -> URL:
    """A URL of the test server; only its database name will change."""
    configured = os.environ.get("DEBUSINE_TEST_DATABASE_URL")
    if configured:
        url = make_url(configured)
        if url.drivername in ("postgresql", "postgres"):
            url = url.set(drivername="postgresql+psycopg")
        return url
    return make_url(server_url(start_server(TEST_PGDATA), "postgres"))


def _admin_connection(base: URL) -> psycopg.Connection:
    params: dict[str, object] = {
        "dbname": "postgres",
        "user": base.username or "postgres",
        "autocommit": True,
    }
    if base.password:
        params["password"] = base.password
    if base.host:
        params["host"] = base.host
    if base.port:
        params["port"] = base.port
    if "host" in base.query:
        params["host"] = base.query["host"]
    return psycopg.connect(**params)  # type: ignore[arg-type]


def create_database(base: URL, name: str) -> URL:
    """(Re)create an empty database `name` and return its URL."""
    with _admin_connection(base) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return base.set(database=name)


def drop_database(base: URL, name: str) -> None:
    with _admin_connection(base) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)
            )
        )
