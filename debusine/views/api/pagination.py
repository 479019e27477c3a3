"""Cursor pagination, as the Debusine client expects it.

The page is `{"next": URL|null, "previous": null, "results": [...]}` with
an absolute `next`, newest first. The cursor is opaque to clients: it is the
sort key of the last row of the page, so a page costs one indexed query
however deep it is. Clients page forward only (upstream's client follows
`next` and never `previous`), so `previous` is always null.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from pyramid.request import Request
from sqlalchemy import Select, and_, or_
from sqlalchemy.orm import InstrumentedAttribute

from debusine.views.api.base import APIError

T = TypeVar("T")

PAGE_SIZE = 10
MAX_PAGE_SIZE = 100


def _encode(created_at: dt.datetime, row_id: int) -> str:
    raw = f"{created_at.isoformat()}|{row_id}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(cursor: str) -> tuple[dt.datetime, int]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        stamp, row_id = raw.rsplit("|", 1)
        return dt.datetime.fromisoformat(stamp), int(row_id)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise APIError(400, "Invalid cursor", f"Invalid cursor: {cursor!r}") from None


def _page_size(request: Request) -> int:
    value = request.params.get("page_size")
    if value is None:
        return PAGE_SIZE
    if not value.isdigit() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise APIError(
            400, "Invalid page size", f"page_size must be between 1 and {MAX_PAGE_SIZE}"
        )
    return int(value)


def paginate(
    request: Request,
    query: Select[tuple[T]],
    created_at: InstrumentedAttribute[dt.datetime],
    row_id: InstrumentedAttribute[int],
    serialize: Callable[[T], dict[str, Any]],
) -> dict[str, Any]:
    """One page of `query` (newest first) and the links to its neighbours."""
    size = _page_size(request)
    cursor = request.params.get("cursor")
    query = query.order_by(created_at.desc(), row_id.desc())
    if cursor:
        after_created, after_id = _decode(cursor)
        query = query.where(
            or_(
                created_at < after_created,
                and_(created_at == after_created, row_id < after_id),
            )
        )
    rows: Sequence[T] = request.db.scalars(query.limit(size + 1)).all()
    page, more = rows[:size], len(rows) > size
    next_url = None
    if more:
        last = page[-1]
        key = _encode(getattr(last, created_at.key), getattr(last, row_id.key))
        next_url = request.current_route_url(_query={**request.GET, "cursor": key})
    return {
        "next": next_url,
        "previous": None,
        "results": [serialize(row) for row in page],
    }
