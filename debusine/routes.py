"""Every URL of the application, in one place."""

from __future__ import annotations

from pyramid.config import Configurator


def includeme(config: Configurator) -> None:
    config.add_route("home", "/")
    config.add_route("api.whoami", "/api/1.0/whoami/")
