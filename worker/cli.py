"""`debusine-worker`: the external worker daemon.

It connects to the server's ZeroMQ bus (see `debusine/bus/PROTOCOL.md`),
reports what it can run (`worker.metadata`) and runs the tasks it is given
in a child process (`worker.daemon`). Exit status 3 when the configuration
is missing or wrong.
"""

from __future__ import annotations

import argparse
import logging
import sys

import argcomplete

from worker.config import (
    SYSTEM_CONFIG,
    ConfigError,
    config_path,
    load_config,
    user_config_path,
)

EXIT_CONFIG = 3
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="debusine-worker",
        description="External worker daemon for a debusine server: connects "
        "to its bus, takes work requests and runs them in child processes. "
        "Stops on SIGTERM or SIGINT (a running task is killed and reported "
        "as an error with code worker-shutdown).",
        epilog=f"configuration: --config FILE, else {user_config_path()} if it "
        f"exists, else {SYSTEM_CONFIG}",
    )
    parser.add_argument(
        "--config",
        metavar="FILE",
        help="the configuration file (INI, section [General])",
    )
    parser.add_argument(
        "--log-level",
        default="INFO",
        type=str.upper,
        choices=LOG_LEVELS,
        help="the lowest level logged to stderr (default: INFO)",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    try:
        config = load_config(config_path(args.config))
        try:
            config.work_directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(
                f"cannot create the work directory {config.work_directory}: "
                f"{error.strerror}; set work-directory in {config.path}"
            ) from None
    except ConfigError as error:
        print(f"debusine-worker: error: {error}", file=sys.stderr)
        return EXIT_CONFIG

    logging.basicConfig(
        level=args.log_level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    from worker.daemon import WorkerDaemon
    from worker.metadata import collect_metadata

    WorkerDaemon(config, collect_metadata()).run_forever()
    return 0
