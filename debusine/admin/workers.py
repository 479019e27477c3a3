"""`create-worker`, `list-workers`, `enable-worker`, `disable-worker`,
`edit-worker-metadata`."""

from __future__ import annotations

import argparse
import re

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from debusine.admin.common import (
    CommandError,
    Output,
    add_command,
    add_output_options,
    flush_unique,
    get_worker,
    read_mapping,
)
from debusine.admin.tokens import new_token
from debusine.models import Worker, WorkerType
from debusine.models.validation import InvalidName

# Worker names are usually host names (FQDN), possibly with a suffix.
WORKER_NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
WORKER_NAME_MAX_LENGTH = 255


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "create-worker",
        create_worker,
        help="register a worker and print its token's key",
        description="Register the worker NAME with an enabled token, and print "
        "the token's key on stdout, alone on its line: put it in the worker's "
        "`token` file. The key is shown only this once.",
        epilog="examples:\n"
        "  debusine-admin create-worker builder1.example.org > token\n"
        "  debusine-admin create-worker signer.example.org --worker-type signing",
    )
    parser.add_argument(
        "name", metavar="NAME", help="the worker's name, usually its host name"
    )
    parser.add_argument(
        "--worker-type",
        choices=[WorkerType.EXTERNAL.value, WorkerType.SIGNING.value],
        default=WorkerType.EXTERNAL.value,
        help="external workers run builds and tests; signing workers sign",
    )

    parser = add_command(
        subparsers,
        "list-workers",
        list_workers,
        help="list the workers",
        description="List the workers: type, whether enabled and connected, "
        "and (with --yaml) their metadata.",
    )
    add_output_options(parser)

    for name, func, help_text in (
        ("enable-worker", enable_worker, "let a worker connect and take work"),
        (
            "disable-worker",
            disable_worker,
            "stop a worker: disable its token and requeue its work",
        ),
    ):
        parser = add_command(
            subparsers,
            name,
            func,
            help=help_text,
            description=help_text[0].upper() + help_text[1:] + ".",
            epilog=f"example:\n  debusine-admin {name} builder1.example.org",
        )
        parser.add_argument("name", metavar="NAME", help="the worker's name")

    parser = add_command(
        subparsers,
        "edit-worker-metadata",
        edit_worker_metadata,
        help="show or replace a worker's static metadata",
        description="Replace the static metadata of worker NAME with the "
        "mapping in FILE (YAML or JSON; `-` reads standard input), or print it "
        "as YAML without --set. Static metadata is set by the administrator and "
        "wins over what the worker reports about itself, e.g. "
        "`system:architectures: [amd64, i386]`.",
        epilog="examples:\n"
        "  debusine-admin edit-worker-metadata builder1.example.org\n"
        "  debusine-admin edit-worker-metadata builder1.example.org --set meta.yaml\n"
        "  echo '{\"sbuild:available\": false}' | "
        "debusine-admin edit-worker-metadata builder1.example.org --set -",
    )
    parser.add_argument("name", metavar="NAME", help="the worker's name")
    parser.add_argument(
        "--set",
        metavar="FILE",
        dest="metadata_file",
        help="the file with the new metadata, `-` for standard input",
    )


def validate_worker_name(name: str) -> str:
    if not WORKER_NAME_RE.fullmatch(name):
        raise InvalidName(
            f"invalid worker name {name!r}: it must start with a letter or a digit "
            "and contain only letters, digits and . _ -"
        )
    if len(name) > WORKER_NAME_MAX_LENGTH:
        raise InvalidName(
            f"invalid worker name {name!r}: longer than {WORKER_NAME_MAX_LENGTH}"
        )
    return name


def create_worker(args: argparse.Namespace, session: Session, out: Output) -> None:
    name = validate_worker_name(args.name)
    message = f"worker {name!r} already exists"
    if session.scalar(select(Worker).where(Worker.name == name)) is not None:
        raise CommandError(message)
    token, key = new_token(session, None, comment=f"worker {name}")
    session.add(
        Worker(name=name, worker_type=WorkerType(args.worker_type), token=token)
    )
    flush_unique(session, message)
    out.line(key)


def list_workers(args: argparse.Namespace, session: Session, out: Output) -> None:
    workers = session.scalars(
        select(Worker)
        .options(selectinload(Worker.token), selectinload(Worker.activation_token))
        .order_by(Worker.name)
    )
    rows = [
        {
            "name": worker.name,
            "type": worker.worker_type,
            "enabled": _enabled(worker),
            "connected": worker.connected,
            "registered_at": worker.registered_at,
            "last_heartbeat_at": worker.last_heartbeat_at,
            "concurrency": worker.concurrency,
            "static_metadata": worker.static_metadata,
            "dynamic_metadata": worker.dynamic_metadata,
        }
        for worker in workers
    ]
    out.records(
        rows,
        [
            ("name", "Name"),
            ("type", "Type"),
            ("enabled", "Enabled"),
            ("connected", "Connected"),
            ("registered_at", "Registered"),
            ("last_heartbeat_at", "Last heartbeat"),
        ],
    )


def _enabled(worker: Worker) -> bool:
    tokens = [t for t in (worker.token, worker.activation_token) if t is not None]
    return any(token.enabled for token in tokens)


def _set_enabled(session: Session, name: str, enabled: bool) -> Worker:
    worker = get_worker(session, name)
    tokens = [t for t in (worker.token, worker.activation_token) if t is not None]
    if not tokens:
        raise CommandError(f"worker {name!r} has no token to enable or disable")
    for token in tokens:
        token.enabled = enabled
    session.flush()
    return worker


def enable_worker(args: argparse.Namespace, session: Session, out: Output) -> None:
    _set_enabled(session, args.name, True)
    out.line(f"Enabled worker {args.name}")


def disable_worker(args: argparse.Namespace, session: Session, out: Output) -> None:
    worker = _set_enabled(session, args.name, False)
    requeued = worker.deassign_work_requests(session)
    out.line(f"Disabled worker {args.name}")
    if requeued:
        out.line(
            "Put back in the queue: work request "
            + ", ".join(str(i) for i in sorted(requeued))
        )


def edit_worker_metadata(
    args: argparse.Namespace, session: Session, out: Output
) -> None:
    worker = get_worker(session, args.name)
    if args.metadata_file is None:
        out.yaml(worker.static_metadata)
        return
    worker.static_metadata = read_mapping(args.metadata_file)
    session.flush()
    out.line(f"Set the static metadata of worker {worker.name}")
