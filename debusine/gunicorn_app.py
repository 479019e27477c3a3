"""Serving with gunicorn: a master process and gthread worker processes.

Why gunicorn: it hands the application the request body as it arrives on
the socket (waitress reads it whole first, spooling it to a temporary
file), and it sends files with sendfile(2) through `wsgi.file_wrapper`.

What must not cross a fork is made after it: each worker process loads
the WSGI application itself (its own database engine and pool) and starts
its own orchestrator candidate (its own ZeroMQ context). Candidates share
the PostgreSQL advisory lock, so exactly one is active in the deployment;
the others are hot standbys that take over if its process dies.

The master only starts the embedded PostgreSQL when no `sqlalchemy.url` is
configured, once, before forking: the workers get its URL through
DEBUSINE_SQLALCHEMY_URL, and the master's exit stops it (the embedded
server's atexit hook is a no-op in forked children, whose pids it does not
know).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from typing import Any

import plaster
from gunicorn.app.base import BaseApplication  # type: ignore[import-untyped]
from gunicorn.config import Config  # type: ignore[import-untyped]

log = logging.getLogger("debusine.server")

# What production expects unless the ini file says otherwise. No control
# socket: its default path is per user, so two servers would share it.
DEFAULTS = {
    "worker_class": "gthread",
    "threads": "8",
    "control_socket_disable": "true",
}


class ServerConfigError(ValueError):
    """A [server:main] setting gunicorn does not accept."""


def gunicorn_options(
    server_settings: Mapping[str, str], listen: str | None
) -> dict[str, str]:
    """Gunicorn settings from [server:main]; `listen` (as waitress) is `bind`."""
    options = {**DEFAULTS, **server_settings}
    options.pop("use", None)
    if listen is not None:
        options.pop("bind", None)
        options["listen"] = listen
    if "listen" in options:
        options["bind"] = options.pop("listen")
    config = Config()
    for key, value in options.items():
        if key not in config.settings:
            raise ServerConfigError(f"[server:main] {key}: not a gunicorn setting")
        try:
            config.set(key, value)
        except (TypeError, ValueError) as error:
            raise ServerConfigError(f"[server:main] {key}: {error}") from None
    return options


def export_database_url(loader: Any) -> None:
    """Start the embedded PostgreSQL here if needed; workers get its URL."""
    from debusine.config import apply_environment
    from debusine.db.session import database_url

    settings = apply_environment(loader.get_settings("app:main"))
    if not str(settings.get("sqlalchemy.url") or "").strip():
        url = database_url(settings)
        os.environ["DEBUSINE_SQLALCHEMY_URL"] = url


class DebusineGunicorn(BaseApplication):
    """The debusine application under a gunicorn arbiter."""

    def __init__(self, uri: str, options: Mapping[str, str]) -> None:
        self.uri = uri
        self.options = dict(options)
        super().__init__(prog="debusine-server")

    def do_load_config(self) -> None:
        # gunicorn's own version prints and exits 1; options are checked
        # beforehand (gunicorn_options) so errors here are not the user's.
        self.load_default_config()
        self.load_config()
        self.cfg.validate()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("post_worker_init", _post_worker_init)
        self.cfg.set("worker_exit", _worker_exit)

    def load(self) -> Any:
        # Runs in each worker after the fork (preload_app is off).
        return plaster.get_loader(self.uri, protocols=["wsgi"]).get_wsgi_app("main")


def _post_worker_init(worker: Any) -> None:
    from debusine.server import start_orchestrator

    worker.debusine_orchestrator = start_orchestrator(worker.wsgi)


def _worker_exit(server: Any, worker: Any) -> None:
    orchestrator = getattr(worker, "debusine_orchestrator", None)
    if orchestrator is not None:
        orchestrator.stop()


def serve(uri: str, server_settings: Mapping[str, str], listen: str | None) -> None:
    """Run the gunicorn master until it is told to stop (SIGTERM, SIGINT)."""
    options = gunicorn_options(server_settings, listen)
    loader = plaster.get_loader(uri, protocols=["wsgi"])
    export_database_url(loader)
    log.info("debusine-server (gunicorn) serving %s", options.get("bind"))
    DebusineGunicorn(uri, options).run()
