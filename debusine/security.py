"""Who is asking: the `Token` header names a user token or a worker token."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyramid.config import Configurator
from pyramid.request import Request
from pyramid.security import Allowed, Denied
from sqlalchemy import select

from debusine.models import Token, User, Worker
from debusine.models.auth import hash_token_key

TOKEN_HEADER = "Token"  # noqa: S105 - a header name, not a secret
# last_seen_at is written at most this often per token, to spare the database.
LAST_SEEN_RESOLUTION = dt.timedelta(minutes=1)


@dataclass(frozen=True)
class Identity:
    """The authenticated caller of a request."""

    token: Token
    user: User | None = None
    worker: Worker | None = None


def identify(request: Request) -> Identity | None:
    """The identity behind the request's token; unknown tokens are anonymous."""
    key = request.headers.get(TOKEN_HEADER, "").strip()
    if not key:
        return None
    db = request.db
    token = db.scalars(select(Token).where(Token.hash == hash_token_key(key))).first()
    now = dt.datetime.now(dt.UTC)
    if token is None or not token.is_usable(now):
        return None
    if token.user is not None and not token.user.is_active:
        return None
    if token.last_seen_at is None or now - token.last_seen_at > LAST_SEEN_RESOLUTION:
        token.last_seen_at = now
    worker = None
    if token.user is None:
        worker = db.scalars(select(Worker).where(Worker.token_id == token.id)).first()
        if worker is None:
            return None
    return Identity(token=token, user=token.user, worker=worker)


class SecurityPolicy:
    """Token authentication. Object permissions are checked in the domain."""

    def identity(self, request: Request) -> Identity | None:
        identity: Identity | None = request.debusine_identity
        return identity

    def authenticated_userid(self, request: Request) -> str | None:
        identity = self.identity(request)
        if identity is None:
            return None
        if identity.user is not None:
            return f"user:{identity.user.id}"
        assert identity.worker is not None
        return f"worker:{identity.worker.id}"

    def permits(
        self, request: Request, context: object, permission: str
    ) -> Allowed | Denied:
        if permission == "authenticated" and self.identity(request) is not None:
            return Allowed("authenticated")
        return Denied(f"{permission} is not granted")

    def remember(self, request: Request, userid: str, **kw: object) -> list[str]:
        return []

    def forget(self, request: Request, **kw: object) -> list[str]:
        return []


def includeme(config: Configurator) -> None:
    config.add_request_method(identify, "debusine_identity", reify=True)
    config.set_security_policy(SecurityPolicy())
