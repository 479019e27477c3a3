"""`debusine`: the command-line client.

Not built yet: its commands (create-artifact, import-debian-artifact,
download-artifact, work requests, workflows) arrive with the artifacts and
work-request issues. Until then it says so instead of pretending.
"""

from __future__ import annotations

import argparse
import sys

import argcomplete


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="debusine",
        description=(
            "Command-line client for a debusine server's JSON API. "
            "Not available yet in this version: no client command is implemented."
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)
    parser.parse_args(argv)
    print("debusine: error: the client has no commands yet", file=sys.stderr)
    return 3
