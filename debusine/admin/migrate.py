"""`migrate`: bring the database schema up to date."""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from debusine.admin.common import CommandError, Output, add_command


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "migrate",
        migrate,
        help="apply the database migrations (alembic upgrade)",
        description="Apply the database migrations up to REVISION (the latest by "
        "default), in one transaction. Run it after every upgrade of debusine; "
        "running it again does nothing.",
        epilog="examples:\n  debusine-admin migrate\n"
        "  DEBUSINE_SQLALCHEMY_URL=postgresql+psycopg://debusine@/debusine "
        "debusine-admin migrate",
    )
    parser.add_argument(
        "revision",
        nargs="?",
        default="head",
        metavar="REVISION",
        help="the alembic revision to upgrade to (default: head)",
    )


def current_revision(session: Session) -> str | None:
    from alembic.runtime.migration import MigrationContext

    return MigrationContext.configure(session.connection()).get_current_revision()


def migrate(args: argparse.Namespace, session: Session, out: Output) -> None:
    # alembic is imported here only: it slows down every other command.
    from alembic.util import CommandError as AlembicError

    from debusine.db.migrations import alembic_config, upgrade

    before = current_revision(session)
    # The migrations run on the session's connection, inside the command's
    # transaction: PostgreSQL's DDL is transactional, so a failure changes
    # nothing.
    try:
        upgrade(alembic_config(connection=session.connection()), args.revision)
    except AlembicError as error:
        raise CommandError(f"cannot migrate to {args.revision}: {error}") from None
    after = current_revision(session)
    if before == after:
        out.line(f"The database is already at revision {after}.")
    else:
        out.line(
            f"Migrated the database from revision {before or '(empty)'} to {after}."
        )
