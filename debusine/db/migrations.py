"""Running the alembic migrations from code (admin CLI, `make run`, tests)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(
    ini_file: str | Path | None = None,
    *,
    database_url: str | None = None,
    connection: Connection | None = None,
) -> Config:
    """An alembic Config for our migrations, whatever the current directory."""
    config = Config(str(ini_file) if ini_file else None)
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url:
        config.attributes["database_url"] = database_url
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes["configure_logging"] = False
    return config


def upgrade(config: Config, revision: str = "head") -> None:
    command.upgrade(config, revision)


def check(config: Config) -> None:
    """Raise if the models and the migrations disagree."""
    command.check(config)
