"""`debusine-worker`: the external worker daemon.

Not built yet: the worker connects to the server's ZeroMQ bus and runs tasks
in executors; it arrives with the work-request and bus issue.
"""

from __future__ import annotations

import argparse
import sys

import argcomplete


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="debusine-worker",
        description=(
            "External worker daemon for a debusine server. "
            "Not available yet in this version."
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)
    parser.parse_args(argv)
    print("debusine-worker: error: the worker is not implemented yet", file=sys.stderr)
    return 3
