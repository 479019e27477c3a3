"""What every `debusine-admin` command shares: errors, output, lookups, input."""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import json
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

import yaml
from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from debusine.models import (
    Group,
    Scope,
    Token,
    User,
    Worker,
    WorkflowTemplate,
    Workspace,
)

# The exit status of every error the command reports itself (bad names,
# unknown objects, duplicates...); argparse's usage errors exit with 2.
EXIT_ERROR = 3
EXIT_USAGE = 2

# Callbacks a command registers to run once its transaction is committed
# (writing a file that must only exist if the database has what it names).
AFTER_COMMIT_KEY = "debusine.admin.after_commit"

Command = Callable[[argparse.Namespace, Session, "Output"], None]


class CommandError(Exception):
    """An error reported as one line on stderr, with exit status 3."""


class UsageError(Exception):
    """A combination of options argparse cannot check; exit status 2."""


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` after the command's transaction is committed."""
    session.info.setdefault(AFTER_COMMIT_KEY, []).append(callback)


# ---------------------------------------------------------------------------
# Argument parsing helpers


class HelpFormatter(argparse.HelpFormatter):
    """Wrap prose, keep indented lines (examples, lists) as they are; show defaults."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        lines: list[str] = []
        paragraph: list[str] = []

        def flush() -> None:
            if paragraph:
                lines.extend(
                    textwrap.wrap(
                        " ".join(paragraph),
                        width,
                        initial_indent=indent,
                        subsequent_indent=indent,
                    )
                )
                paragraph.clear()

        for line in text.splitlines():
            if line and not line[0].isspace():
                paragraph.append(line.strip())
                continue
            flush()
            lines.append(indent + line if line.strip() else "")
        flush()
        return "\n".join(lines)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        help_text = action.help or ""
        if (
            "%(default)" not in help_text
            and action.default not in (None, False, argparse.SUPPRESS)
            and action.option_strings
            and not isinstance(action.default, list)
        ):
            help_text += " (default: %(default)s)"
        return help_text


def add_command(
    subparsers: argparse._SubParsersAction[argparse.ArgumentParser],
    name: str,
    func: Command,
    *,
    help: str,
    description: str | None = None,
    epilog: str | None = None,
) -> argparse.ArgumentParser:
    """Add the sub-command `name`, run by `func(args, session, output)`."""
    parser = subparsers.add_parser(
        name,
        help=help,
        description=description or help,
        epilog=epilog,
        formatter_class=HelpFormatter,
    )
    parser.set_defaults(func=func, parser=parser)
    return parser


def add_output_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--yaml",
        action="store_true",
        help="print YAML (every field) instead of a table",
    )


def scoped_name(kind: str) -> Callable[[str], tuple[str, str]]:
    """An argparse type for `SCOPE/NAME`, returning (scope, name)."""

    def parse(value: str) -> tuple[str, str]:
        scope, slash, name = value.partition("/")
        if not slash or not scope or not name:
            raise argparse.ArgumentTypeError(
                f"{value!r} is not of the form SCOPE/{kind.upper()}"
            )
        return scope, name

    parse.__name__ = f"SCOPE/{kind}"
    return parse


def positive_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number <= 0:
        raise argparse.ArgumentTypeError(f"{value!r} is not a positive number")
    return number


def non_negative_int(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a number") from None
    if number < 0:
        raise argparse.ArgumentTypeError(f"{value!r} is negative")
    return number


# ---------------------------------------------------------------------------
# Output


def _plain(value: Any) -> Any:
    """`value` made of YAML/JSON scalars, lists and mappings only."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.days if value.total_seconds() % 86400 == 0 else str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> Text:
    """A table cell; Text so that user data is never read as rich markup."""
    if value is None:
        return Text("-")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    if isinstance(value, enum.Enum):
        return Text(str(value.value))
    if isinstance(value, dt.datetime):
        return Text(value.strftime("%Y-%m-%d %H:%M:%S %Z").strip())
    if isinstance(value, dt.timedelta):
        return Text(f"{value.days} days" if value else "never")
    if isinstance(value, list | tuple):
        return Text(", ".join(str(_plain(v)) for v in value))
    if isinstance(value, Mapping):
        return Text(json.dumps(_plain(value), sort_keys=True))
    return Text(str(value))


class Output:
    """Where a command prints: plain lines, tables or YAML.

    `main()` gives commands a buffer, copied to stdout only once the command's
    transaction is committed: nothing is announced that did not happen.
    """

    def __init__(
        self,
        stream: TextIO,
        *,
        yaml_output: bool = False,
        interactive: bool | None = None,
    ) -> None:
        self.stream = stream
        self.yaml_output = yaml_output
        # A terminal gets its width and colours; anything else wide plain text.
        self.interactive = stream.isatty() if interactive is None else interactive

    def line(self, text: str = "") -> None:
        print(text, file=self.stream)

    def yaml(self, data: Any) -> None:
        self.stream.write(
            yaml.safe_dump(
                _plain(data),
                sort_keys=False,
                allow_unicode=True,
                default_flow_style=False,
            )
        )

    def records(
        self,
        rows: Sequence[Mapping[str, Any]],
        columns: Sequence[tuple[str, str]],
        *,
        title: str | None = None,
    ) -> None:
        """Print `rows`: a table of `columns` (key, heading), or all as YAML."""
        if self.yaml_output:
            self.yaml(list(rows))
            return
        if title:
            self.line(title)
        table = Table(box=box.SIMPLE_HEAD, show_edge=False)
        for _key, heading in columns:
            table.add_column(heading)
        for row in rows:
            table.add_row(*(_cell(row.get(key)) for key, _heading in columns))
        console = Console(
            file=self.stream,
            highlight=False,
            width=None if self.interactive else 200,
            force_terminal=self.interactive,
            no_color=not self.interactive,
        )
        if self.interactive:
            console.print(table)
            return
        with console.capture() as capture:
            console.print(table)
        for line in capture.get().splitlines():
            self.line(line.rstrip())


# ---------------------------------------------------------------------------
# Lookups: each raises CommandError naming what is missing


def get_scope(session: Session, name: str) -> Scope:
    scope = session.scalar(select(Scope).where(Scope.name == name))
    if scope is None:
        raise CommandError(f"unknown scope {name!r}")
    return scope


def get_user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise CommandError(f"unknown user {username!r}")
    return user


def get_group(session: Session, scope: Scope, name: str) -> Group:
    """The group `name` of `scope`; `SCOPE/NAME` is accepted for that scope."""
    prefix, slash, bare = name.rpartition("/")
    if slash:
        if prefix != scope.name:
            raise CommandError(
                f"group {name!r} is not in scope {scope.name!r}: "
                "roles take groups of their own scope"
            )
        name = bare
    group = session.scalar(
        select(Group).where(Group.scope_id == scope.id, Group.name == name)
    )
    if group is None:
        raise CommandError(f"unknown group {scope.name}/{name}")
    return group


def get_workspace(session: Session, scope_name: str, name: str) -> Workspace:
    scope = get_scope(session, scope_name)
    workspace = session.scalar(
        select(Workspace).where(Workspace.scope_id == scope.id, Workspace.name == name)
    )
    if workspace is None:
        raise CommandError(f"unknown workspace {scope_name}/{name}")
    return workspace


def get_worker(session: Session, name: str) -> Worker:
    worker = session.scalar(select(Worker).where(Worker.name == name))
    if worker is None:
        raise CommandError(f"unknown worker {name!r}")
    return worker


def get_token(session: Session, token_id: int) -> Token:
    token = session.get(Token, token_id)
    if token is None:
        raise CommandError(f"unknown token {token_id}")
    return token


def get_workflow_template(
    session: Session, workspace: Workspace, name: str
) -> WorkflowTemplate:
    template = session.scalar(
        select(WorkflowTemplate).where(
            WorkflowTemplate.workspace_id == workspace.id,
            WorkflowTemplate.name == name,
        )
    )
    if template is None:
        raise CommandError(
            f"unknown workflow template {name!r} in workspace {workspace.full_name}"
        )
    return template


# ---------------------------------------------------------------------------
# Writing


def is_unique_violation(error: IntegrityError) -> bool:
    return getattr(error.orig, "sqlstate", None) == "23505"


def violated_constraint(error: IntegrityError) -> str | None:
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def flush_unique(
    session: Session,
    message: str,
    by_constraint: Mapping[str, str] | None = None,
) -> None:
    """Flush; a unique violation (another writer won a race) becomes `message`.

    `by_constraint` gives a more precise message for some constraint names.
    """
    try:
        session.flush()
    except IntegrityError as error:
        if not is_unique_violation(error):
            raise
        constraint = violated_constraint(error)
        text = (by_constraint or {}).get(constraint or "", message)
        raise CommandError(text) from None


def integrity_message(error: DBAPIError) -> str:
    """A one-line description of a constraint the database enforced."""
    diag = getattr(error.orig, "diag", None)
    primary = getattr(diag, "message_primary", None) or str(error.orig)
    return f"the database refused the change: {primary.splitlines()[0]}"


# ---------------------------------------------------------------------------
# Reading YAML/JSON input


class _Loader(yaml.SafeLoader):
    """YAML without implicit timestamps: dates stay strings, as in JSON."""


_Loader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag != "tag:yaml.org,2002:timestamp"
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _check_json(value: Any, where: str) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                raise CommandError(f"{where}: key {key!r} is not a string")
            _check_json(item, where)
    elif isinstance(value, list):
        for item in value:
            _check_json(item, where)
    elif value is not None and not isinstance(value, str | int | float | bool):
        raise CommandError(
            f"{where}: {type(value).__name__} values cannot be stored as JSON"
        )


def read_mapping(path: str, stdin: TextIO | None = None) -> dict[str, Any]:
    """The YAML or JSON mapping in the file `path` (`-`: standard input).

    An empty document is an empty mapping.
    """
    if path == "-":
        where = "standard input"
        text = (stdin or sys.stdin).read()
    else:
        where = path
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(f"cannot read {path}: {error.strerror}") from None
        except UnicodeDecodeError:
            raise CommandError(f"cannot read {path}: it is not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as error:
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        mark = getattr(error, "problem_mark", None)
        position = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise CommandError(
            f"{where} is not valid YAML or JSON: {problem}{position}"
        ) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise CommandError(
            f"{where} must contain a mapping, not a {type(data).__name__}"
        )
    _check_json(data, where)
    return data
