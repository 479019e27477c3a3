# PYTHON_ARGCOMPLETE_OK
"""`debusine-admin`: administer a debusine instance straight in its database.

Each command is a function `command(args, session, output)` in the module of
its domain; `main()` parses the command line, loads the settings, runs the
command in one transaction and commits it, or rolls everything back and
prints one line on error.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import argcomplete
import plaster
from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from debusine.admin import (
    bootstrap,
    bus,
    collections,
    expiry,
    groups,
    migrate,
    roles,
    scopes,
    templates,
    tokens,
    users,
    workers,
    workspaces,
)
from debusine.admin.common import (
    AFTER_COMMIT_KEY,
    EXIT_ERROR,
    EXIT_USAGE,
    CommandError,
    HelpFormatter,
    Output,
    UsageError,
    integrity_message,
)
from debusine.config import apply_environment
from debusine.models.validation import DomainError

PROG = "debusine-admin"

# The order of the commands in --help.
COMMAND_MODULES = (
    migrate,
    bootstrap,
    scopes,
    users,
    groups,
    workspaces,
    roles,
    tokens,
    workers,
    templates,
    collections,
    expiry,
    bus,
)

DESCRIPTION = """\
Administer a debusine instance: scopes, users, groups, workspaces, roles,
tokens, workers and workflow templates. Commands work directly on the
database named by the configuration, in one transaction each: a command
that fails changes nothing.
"""

EPILOG = """\
configuration:
  The settings are read from the [app:main] section of the ini file given
  with --config, else of the file named by $DEBUSINE_CONFIG, else of
  development.ini in the current directory if there is one. Any setting can
  be overridden by the environment: `a.b` is DEBUSINE_A_B (a leading
  `debusine.` is dropped), e.g. DEBUSINE_SQLALCHEMY_URL. With no
  sqlalchemy.url, the embedded PostgreSQL under debusine.data_dir is used.

exit status:
  0 success, 2 wrong usage, 3 the command failed (the reason is printed on
  one line on stderr, and nothing was changed).

examples:
  debusine-admin migrate
  debusine-admin bootstrap --token-file ~/.config/debusine/admin-token
  debusine-admin create-user alice alice@example.org
  debusine-admin group-members debusine/Admins --add alice
  debusine-admin create-token alice --comment laptop
  debusine-admin COMMAND --help
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=HelpFormatter,
    )
    parser.add_argument(
        "-c",
        "--config",
        metavar="INI",
        help="the ini file with the settings (default: $DEBUSINE_CONFIG, else "
        "./development.ini if it exists, else only defaults and environment)",
    )
    subparsers = parser.add_subparsers(
        title="commands", metavar="COMMAND", dest="command", required=True
    )
    for module in COMMAND_MODULES:
        module.register(subparsers)
    return parser


def config_path(
    option: str | None, environ: dict[str, str] | None = None
) -> str | None:
    """The ini file to read: the option, $DEBUSINE_CONFIG, ./development.ini."""
    environ = dict(os.environ) if environ is None else environ
    if option:
        return option
    if environ.get("DEBUSINE_CONFIG"):
        return environ["DEBUSINE_CONFIG"]
    if Path("development.ini").is_file():
        return "development.ini"
    return None


def load_settings(path: str | None) -> dict[str, Any]:
    """The ini file's [app:main] settings, then the environment's."""
    settings: dict[str, Any] = {}
    if path is not None:
        if not Path(path).is_file():
            raise CommandError(f"cannot read configuration file {path}: no such file")
        try:
            settings = dict(plaster.get_settings(str(Path(path).resolve()), "app:main"))
        except Exception as error:
            first = str(error).splitlines()[0] if str(error) else type(error).__name__
            raise CommandError(
                f"cannot read configuration file {path}: {first}"
            ) from None
    return apply_environment(settings)


def _fail(message: str) -> int:
    text = " ".join(message.split())
    print(f"{PROG}: error: {text}", file=sys.stderr)
    return EXIT_ERROR


def _exit_code(error: SystemExit) -> int:
    if error.code is None:
        return 0
    if isinstance(error.code, int):
        return error.code
    print(error.code, file=sys.stderr)
    return 1


def _open_session(settings: dict[str, Any]) -> tuple[Session, Engine]:
    from debusine.db.session import engine_from_settings

    engine = engine_from_settings(settings)
    return Session(bind=engine), engine


def run(
    args: argparse.Namespace, session: Session, output: Output
) -> list[Callable[[], None]]:
    """Run the parsed command in `session` and commit; return after-commit hooks.

    Everything is rolled back if the command raises.
    """
    session.info[AFTER_COMMIT_KEY] = []
    try:
        args.func(args, session, output)
        session.commit()
    except BaseException:
        session.rollback()
        session.info.pop(AFTER_COMMIT_KEY, None)
        raise
    hooks: list[Callable[[], None]] = session.info.pop(AFTER_COMMIT_KEY, [])
    return hooks


def main(argv: Sequence[str] | None = None, *, session: Session | None = None) -> int:
    """Run `debusine-admin` with `argv`; return the exit status.

    With `session`, the command runs in it (tests); otherwise a session is
    opened on the configured database and closed at the end.
    """
    parser = build_parser()
    argcomplete.autocomplete(parser)
    try:
        args = parser.parse_args(argv)
    except SystemExit as error:
        return _exit_code(error)

    buffer = io.StringIO()
    output = Output(
        buffer,
        yaml_output=getattr(args, "yaml", False),
        interactive=sys.stdout.isatty(),
    )
    engine: Engine | None = None
    try:
        args.settings = load_settings(config_path(args.config))
        if session is None:
            session, engine = _open_session(args.settings)
        hooks = run(args, session, output)
        try:
            for hook in hooks:
                hook()
        finally:
            # Committed: what the command printed is true now.
            sys.stdout.write(buffer.getvalue())
            sys.stdout.flush()
    except UsageError as error:
        args.parser.print_usage(sys.stderr)
        print(f"{args.parser.prog}: error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except (CommandError, DomainError) as error:
        return _fail(str(error))
    except (IntegrityError, DataError) as error:
        return _fail(integrity_message(error))
    except OperationalError as error:
        detail = str(error.orig or error).strip().splitlines()
        return _fail(f"database error: {detail[0] if detail else error}")
    finally:
        if engine is not None:
            assert session is not None
            session.close()
            engine.dispose()
    return 0
