"""`debusine-signer`: the signing worker daemon.

Not built yet: it arrives with the signing issue.
"""

from __future__ import annotations

import argparse
import sys

import argcomplete


def build_parser() -> argparse.ArgumentParser:
    return argparse.ArgumentParser(
        prog="debusine-signer",
        description=(
            "Signing worker daemon for a debusine server, with its own key store. "
            "Not available yet in this version."
        ),
    )


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)
    parser.parse_args(argv)
    print("debusine-signer: error: the signer is not implemented yet", file=sys.stderr)
    return 3
