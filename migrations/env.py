"""Alembic environment: the database comes from the application's settings.

Run through `debusine-admin migrate` (or `alembic -c development.ini ...`);
with no `sqlalchemy.url`, the embedded PostgreSQL is started.
"""

from __future__ import annotations

from logging.config import fileConfig

from alembic import context
from sqlalchemy import create_engine, pool

import debusine.models  # noqa: F401  (registers every table)
from debusine.config import apply_environment
from debusine.db.base import metadata
from debusine.db.session import database_url

config = context.config


def _url() -> str:
    # A connection handed over by the caller (tests, debusine-admin) wins.
    url = config.attributes.get("database_url")
    if url:
        return str(url)
    settings = apply_environment(config.get_section("app:main", {}))
    return database_url(settings)


def run_migrations_offline() -> None:
    context.configure(
        url=_url(), target_metadata=metadata, literal_binds=True, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    if config.config_file_name is not None and config.attributes.get(
        "configure_logging", True
    ):
        fileConfig(config.config_file_name, disable_existing_loggers=False)
    engine = create_engine(_url(), poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection: object) -> None:
    context.configure(
        connection=connection, target_metadata=metadata, compare_type=True
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
