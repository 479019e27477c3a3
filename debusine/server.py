"""`debusine-server`: serve the application described by an ini file.

Like `pserve`, but it can override the listening address from the command
line, and it turns SIGTERM into a clean exit so that an embedded PostgreSQL
started by the application is stopped with it.

`[server:main] use` picks the server: `egg:waitress#main` (one process,
threads; `make run` with development.ini) or `egg:gunicorn#main` (a master
and gthread worker processes that stream request bodies and send files
with sendfile; production.ini), see debusine.gunicorn_app.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
from pathlib import Path
from typing import Any

import argcomplete
import plaster
import waitress

log = logging.getLogger("debusine.server")

DEFAULT_CONFIG = "development.ini"
WAITRESS = "egg:waitress#main"
GUNICORN = "egg:gunicorn#main"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="debusine-server",
        description=(
            "Serve the debusine web application and JSON API. Settings come from "
            "the ini file's [app:main] section and DEBUSINE_* environment "
            "variables; with no sqlalchemy.url, an embedded PostgreSQL is started "
            "under debusine.data_dir and stopped on exit."
        ),
        epilog="example: debusine-server production.ini --listen 0.0.0.0:6543",
    )
    parser.add_argument(
        "config",
        nargs="?",
        default=os.environ.get("DEBUSINE_CONFIG", DEFAULT_CONFIG),
        help="the ini file (default: $DEBUSINE_CONFIG or %(default)s)",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="address to listen on, instead of the ini file's [server:main] listen",
    )
    return parser


def _terminate(signum: int, frame: object) -> None:
    raise SystemExit(0)


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argcomplete.autocomplete(parser)
    args = parser.parse_args(argv)
    config = Path(args.config)
    if not config.is_file():
        print(f"debusine-server: error: no such ini file: {config}", file=sys.stderr)
        return 3
    uri = str(config.resolve())
    plaster.setup_logging(uri)
    signal.signal(signal.SIGTERM, _terminate)
    loader = plaster.get_loader(uri, protocols=["wsgi"])
    app = loader.get_wsgi_app("main")
    server_settings: dict[str, Any] = dict(loader.get_settings("server:main"))
    use = server_settings.get("use", WAITRESS)
    if use == GUNICORN:
        return serve_gunicorn(uri, server_settings, args.listen)
    if use != WAITRESS:
        print(
            f"debusine-server: error: [server:main] use = {use}: expected "
            f"{WAITRESS} or {GUNICORN}",
            file=sys.stderr,
        )
        return 3
    server_settings.pop("use", None)
    if args.listen:
        server_settings.pop("host", None)
        server_settings.pop("port", None)
        server_settings["listen"] = args.listen
    orchestrator = start_orchestrator(app)
    log.info(
        "debusine-server serving %s", server_settings.get("listen", "0.0.0.0:8080")
    )
    try:
        waitress.serve(app, **server_settings)
    except (KeyboardInterrupt, SystemExit):
        log.info("debusine-server stopping")
    finally:
        if orchestrator is not None:
            orchestrator.stop()
    return 0


def serve_gunicorn(
    uri: str, server_settings: dict[str, Any], listen: str | None
) -> int:
    from debusine.gunicorn_app import ServerConfigError, serve

    master = os.getpid()
    try:
        serve(uri, server_settings, listen)
    except ServerConfigError as error:
        print(f"debusine-server: error: {error}", file=sys.stderr)
        return 3
    except (KeyboardInterrupt, SystemExit) as stop:
        # The arbiter exits with SystemExit once its workers are stopped;
        # a forked worker process leaves through here too, with its status.
        code = stop.code if isinstance(stop, SystemExit) else 0
        if os.getpid() == master:
            log.info("debusine-server stopping")
        return code if isinstance(code, int) else 0
    return 0


def start_orchestrator(app: Any) -> Any:
    """Start the orchestrator when `debusine.orchestrator` is true, else None.

    Here and not in the WSGI app factory: only the serving process runs it
    (tests and tools build the application many times). It becomes active
    or waits as a hot standby (see debusine.orchestration.orchestrator).
    """
    from debusine.orchestration.orchestrator import Orchestrator, orchestrator_enabled

    registry = getattr(app, "registry", None)
    if registry is None:
        return None
    settings = registry.settings
    factory = registry.get("debusine.db_session_factory")
    if not orchestrator_enabled(settings) or factory is None:
        return None
    log.info("debusine-server starting the orchestrator")
    return Orchestrator(settings, factory).start()


if __name__ == "__main__":
    sys.exit(main())
