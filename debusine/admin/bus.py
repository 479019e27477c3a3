"""`bus-keys`: the server's CURVE key pair for the worker bus."""

from __future__ import annotations

import argparse
from pathlib import Path

from sqlalchemy.orm import Session

from debusine.admin.common import Output, add_command
from debusine.bus.keys import ensure_server_keys, load_public_key


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = add_command(
        subparsers,
        "bus-keys",
        bus_keys,
        help="create the bus key pair and print its public key",
        description="Create the server's CURVE key pair for the worker bus "
        "under <debusine.data_dir>/bus/ unless it exists (the secret key file "
        "is readable by its owner only), and print the public key alone on "
        "its line: every worker needs it in its configuration. With --show, "
        "only print the public key of the existing pair.",
        epilog="examples:\n"
        "  debusine-admin bus-keys\n"
        "  debusine-admin bus-keys --show > server.public-key",
    )
    parser.add_argument(
        "--show",
        action="store_true",
        help="print the existing public key, do not create a pair",
    )


def bus_keys(args: argparse.Namespace, session: Session, out: Output) -> None:
    data_dir = Path(args.settings.get("debusine.data_dir") or "var")
    if args.show:
        public = load_public_key(data_dir)
    else:
        public, _ = ensure_server_keys(data_dir)
    out.line(public.decode())
