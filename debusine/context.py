"""Per-request context: who acts (`request.actor`) and in which scope.

API requests name their scope with the `X-Debusine-Scope` header; without
it, `debusine.default_scope` applies (as upstream). HTML pages will take the
scope from the URL.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from debusine.models import Scope
from debusine.permissions import ANONYMOUS, Actor

if TYPE_CHECKING:
    from pyramid.config import Configurator
    from pyramid.request import Request

SCOPE_HEADER = "X-Debusine-Scope"


class UnknownScope(LookupError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Scope {name!r} not found")
        self.name = name


def request_actor(request: Request) -> Actor:
    identity = request.identity
    if identity is None:
        return ANONYMOUS
    return Actor(user=identity.user, worker=identity.worker)


def scope_name(request: Request) -> str:
    """The name of the scope the request is about."""
    header = request.headers.get(SCOPE_HEADER, "").strip()
    if header:
        return header
    return str(request.registry.settings["debusine.default_scope"])


def request_scope(request: Request) -> Scope:
    """The request's scope; raises UnknownScope."""
    name = scope_name(request)
    scope = request.db.scalars(select(Scope).where(Scope.name == name)).first()
    if scope is None:
        raise UnknownScope(name)
    return scope


def includeme(config: Configurator) -> None:
    config.add_request_method(request_actor, "actor", reify=True)
    config.add_request_method(request_scope, "debusine_scope", reify=True)
