"""Lookups: naming artifacts, collections and collection items.

Single lookups (`lookup_single`) take the string form
`FIRST/SEGMENT/...` or an integer. The first segment is one of
`NNN@artifacts`, `NNN@collections`, `internal@collections` (the root
workflow's internal collection), `_@SINGLETON-CATEGORY` or
`NAME@CATEGORY` (`NAME` alone when the context gives a default
category); a collection named that way is searched for in the workspace,
then through its inheritance chain depth first in chain order, only
through workspaces the actor may see. Each later segment is resolved by
the collection's manager. A workspace the actor may not see looks
exactly like one that does not exist.

Multiple lookups (`lookup_multiple`) take a dict (`collection` plus
filters on its active items) or a list of single lookups and dicts.
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, aliased

from debusine.collections.base import (
    InvalidLookupSegment,
    get_manager,
    record_items_read,
)
from debusine.db.transaction_cache import TransactionCache
from debusine.models import (
    Artifact,
    Collection,
    CollectionItem,
    CollectionItemType,
    WorkRequest,
    Workspace,
    WorkspaceChain,
)
from debusine.models.collections import SINGLETON_COLLECTION_CATEGORIES
from debusine.models.validation import DomainError
from debusine.permissions import Actor, visible_workspaces


class LookupFailed(DomainError, LookupError):
    """A lookup that cannot be resolved; the message names the failing part."""


class InvalidLookup(LookupFailed):
    """A lookup that is not well formed."""


class NotFound(LookupFailed):
    """Nothing (visible) matches."""


class WrongType(LookupFailed):
    """The lookup found something of another kind than expected."""


class ExpectType(enum.StrEnum):
    BARE = "bare"
    ARTIFACT = "artifact"
    ARTIFACT_OR_PROMISE = "artifact-or-promise"
    COLLECTION = "collection"
    ANY = "any"


@dataclass(frozen=True)
class LookupResult:
    result_type: CollectionItemType
    collection_item: CollectionItem | None = None
    artifact: Artifact | None = None
    collection: Collection | None = None


def _from_item(item: CollectionItem) -> LookupResult:
    return LookupResult(
        result_type=item.child_type,
        collection_item=item,
        artifact=item.artifact,
        collection=item.collection,
    )


# --- the workspace chain -----------------------------------------------------


def _actor_key(actor: Actor) -> tuple[str, int | None]:
    if actor.worker is not None or actor.is_superuser:
        return ("all", None)
    if actor.user is None:
        return ("anonymous", None)
    return ("user", actor.user.id)


@functools.lru_cache(maxsize=256)
def _chain_query(actor_key: tuple[str, int | None], visible: Any) -> Any:
    int_array = ARRAY(Integer)
    start = (
        select(
            Workspace.id.label("workspace_id"),
            literal([], int_array).label("sort_key"),
            func.array_append(literal([], int_array), Workspace.id).label("path"),
        )
        .where(Workspace.id == bindparam("workspace_id"), visible)
        .cte("chain", recursive=True)
    )
    link = aliased(WorkspaceChain)
    step = (
        select(
            link.parent_id,
            func.array_append(start.c.sort_key, link.order),
            func.array_append(start.c.path, link.parent_id),
        )
        .join(start, link.child_id == start.c.workspace_id)
        # visible_workspaces() speaks of `Workspace`: apply it to the parent.
        .where(
            link.parent_id != func.all(start.c.path),
            link.parent_id.in_(select(Workspace.id).where(visible)),
        )
    )
    chain = start.union_all(step)
    return (
        select(Collection)
        .join(chain, Collection.workspace_id == chain.c.workspace_id)
        .where(
            Collection.name == bindparam("name"),
            Collection.category == bindparam("category"),
        )
        .order_by(chain.c.sort_key)
        .limit(1)
    )


def find_collection(
    session: Session,
    workspace: Workspace,
    actor: Actor,
    name: str,
    category: str,
) -> Collection | None:
    """The first collection `name@category` in `workspace`'s inheritance chain.

    One recursive CTE walks the chain depth first in `order` (the sort key
    is the path of orders from the start), skipping workspaces the actor
    may not see (and so everything reached only through them), and never
    visiting a workspace twice on one path. The statement is built once
    per actor.
    """
    key = _actor_key(actor)
    query = _chain_query(key, _VisibleClause(key, actor))
    return session.scalar(
        query, {"workspace_id": workspace.id, "name": name, "category": category}
    )


class _VisibleClause:
    """visible_workspaces(actor), hashed by the actor's key for the cache."""

    def __init__(self, key: tuple[str, int | None], actor: Actor) -> None:
        self.key = key
        self.actor = actor

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _VisibleClause) and other.key == self.key

    def __clause_element__(self) -> ColumnElement[bool]:
        return visible_workspaces(self.actor)


def _visible_workspace_ids(actor: Actor) -> Any:
    return select(Workspace.id).where(visible_workspaces(actor))


# --- single lookups ------------------------------------------------------------


def _check_type(result: LookupResult, expect_type: ExpectType, lookup: str) -> None:
    kind = result.result_type
    ok = {
        ExpectType.ANY: True,
        ExpectType.BARE: kind == CollectionItemType.BARE,
        ExpectType.ARTIFACT: kind == CollectionItemType.ARTIFACT,
        ExpectType.COLLECTION: kind == CollectionItemType.COLLECTION,
        ExpectType.ARTIFACT_OR_PROMISE: kind == CollectionItemType.ARTIFACT
        or (
            kind == CollectionItemType.BARE
            and result.collection_item is not None
            and result.collection_item.category == "debusine:promise"
        ),
    }[expect_type]
    if not ok:
        names = {"a": "an artifact", "b": "bare data", "c": "a collection"}
        raise WrongType(f"{lookup}: expected {expect_type}, found {names[kind]}")


# Workflows look up the same `NNN@artifacts` for each child they lay out.
_visible_artifacts = TransactionCache("visible_artifacts", (Artifact, Workspace))
# ... and the same promises by name (`internal@collections/name:build-amd64`).
_named_lookups = TransactionCache(
    "named_lookups", (Artifact, Workspace, Collection, CollectionItem)
)


def _first_segment(
    session: Session,
    segment: str,
    *,
    workspace: Workspace,
    actor: Actor,
    default_category: str | None,
    workflow_root: WorkRequest | None,
) -> LookupResult:
    name, at, category = segment.partition("@")
    if not at:
        if default_category is None:
            raise InvalidLookup(
                f"{segment}: the first segment must be NAME@CATEGORY"
                " (no default category here)"
            )
        name, category = segment, default_category
    if not name or not category:
        raise InvalidLookup(f"{segment}: the first segment must be NAME@CATEGORY")
    if category == "artifacts":
        if not name.isdigit():
            raise InvalidLookup(f"{segment}: expected NNN@artifacts")
        key = (_actor_key(actor), int(name))
        cache = _visible_artifacts(session)
        artifact = cache.get(key)
        if artifact is None:
            artifact = session.scalar(
                select(Artifact).where(
                    Artifact.id == int(name),
                    Artifact.workspace_id.in_(_visible_workspace_ids(actor)),
                )
            )
            if artifact is not None:
                cache[key] = artifact
        if artifact is None:
            raise NotFound(f"{segment}: no such artifact")
        return LookupResult(CollectionItemType.ARTIFACT, artifact=artifact)
    if category == "collections":
        if name == "internal":
            collection = (
                workflow_root.internal_collection if workflow_root is not None else None
            )
            if workflow_root is None:
                raise NotFound(f"{segment}: only workflows have an internal collection")
        elif name.isdigit():
            collection = session.scalar(
                select(Collection).where(
                    Collection.id == int(name),
                    Collection.workspace_id.in_(_visible_workspace_ids(actor)),
                )
            )
        else:
            raise InvalidLookup(
                f"{segment}: expected NNN@collections or internal@collections"
            )
        if collection is None:
            raise NotFound(f"{segment}: no such collection")
        return LookupResult(CollectionItemType.COLLECTION, collection=collection)
    if name.startswith("_") and (
        name != "_" or category not in SINGLETON_COLLECTION_CATEGORIES
    ):
        raise InvalidLookup(
            f"{segment}: only singleton categories"
            f" ({', '.join(sorted(SINGLETON_COLLECTION_CATEGORIES))}) are named _"
        )
    collection = find_collection(session, workspace, actor, name, category)
    if collection is None:
        raise NotFound(f"{segment}: no such collection")
    return LookupResult(CollectionItemType.COLLECTION, collection=collection)


def lookup_single(
    session: Session,
    lookup: str | int,
    *,
    workspace: Workspace,
    actor: Actor,
    expect_type: ExpectType | str | None = None,
    default_category: str | None = None,
    workflow_root: WorkRequest | None = None,
) -> LookupResult:
    """Resolve one single lookup; raise a `LookupFailed` naming the failure."""
    expected = ExpectType(expect_type) if expect_type is not None else ExpectType.ANY
    if isinstance(lookup, bool):
        raise InvalidLookup(f"{lookup!r}: not a lookup")
    if isinstance(lookup, int):
        if expected == ExpectType.ARTIFACT or expected == (
            ExpectType.ARTIFACT_OR_PROMISE
        ):
            lookup = f"{lookup}@artifacts"
        elif expected == ExpectType.COLLECTION:
            lookup = f"{lookup}@collections"
        else:
            raise InvalidLookup(
                f"{lookup}: an integer lookup needs an expected artifact or collection"
            )
    if not isinstance(lookup, str) or not lookup:
        raise InvalidLookup(f"{lookup!r}: a lookup is a non-empty string or an integer")
    segments = lookup.split("/")
    # Results found by name only stay true until an item is removed (an
    # added item cannot change them): kept for the transaction.
    cache_key = None
    if len(segments) > 1 and all(s.startswith("name:") for s in segments[1:]):
        cache_key = (
            lookup,
            expected,
            default_category,
            workspace.id,
            _actor_key(actor),
            workflow_root.id if workflow_root is not None else None,
        )
        cached = _named_lookups(session).get(cache_key)
        if cached is not None:
            result, read = cached
            for collection in read:
                record_items_read(session, collection)
            return result
    read = []
    result = _first_segment(
        session,
        segments[0],
        workspace=workspace,
        actor=actor,
        default_category=default_category,
        workflow_root=workflow_root,
    )
    for index, segment in enumerate(segments[1:], start=1):
        path = "/".join(segments[: index + 1])
        if result.result_type != CollectionItemType.COLLECTION:
            raise InvalidLookup(
                f"{path}: {'/'.join(segments[:index])} is not a collection"
            )
        if result.collection is None:
            raise NotFound(f"{path}: the collection is no longer available")
        if not segment:
            raise InvalidLookup(f"{path}: empty segment")
        read.append(result.collection)
        try:
            item = get_manager(session, result.collection).lookup(segment)
        except InvalidLookupSegment as exc:
            raise InvalidLookup(f"{path}: {exc}") from None
        if item is None:
            raise NotFound(f"{path}: no such item")
        result = _from_item(item)
    _check_type(result, expected, lookup)
    if cache_key is not None:
        _named_lookups(session)[cache_key] = (result, read)
    return result


# --- multiple lookups ------------------------------------------------------------

_STRING_FILTERS = {
    "": lambda column, value: column == value,
    "startswith": lambda column, value: column.startswith(value, autoescape=True),
    "endswith": lambda column, value: column.endswith(value, autoescape=True),
    "contains": lambda column, value: column.contains(value, autoescape=True),
}
_CHILD_TYPES = {
    "bare": [CollectionItemType.BARE],
    "artifact": [CollectionItemType.ARTIFACT],
    "collection": [CollectionItemType.COLLECTION],
    "any": list(CollectionItemType),
}


def _string_filter(column: Any, key: str, suffix: str, value: Any) -> Any:
    if suffix not in _STRING_FILTERS:
        raise InvalidLookup(f"{key}: unknown filter suffix {suffix!r}")
    if suffix and not isinstance(value, str):
        raise InvalidLookup(f"{key}: expects a string")
    return _STRING_FILTERS[suffix](column, value)


def _lookup_dict(
    session: Session,
    lookup: Mapping[str, Any],
    *,
    context: dict[str, Any],
) -> list[LookupResult]:
    if "collection" not in lookup:
        raise InvalidLookup("a lookup dict needs a 'collection'")
    collection_lookup = lookup["collection"]
    found = lookup_single(
        session, collection_lookup, expect_type=ExpectType.COLLECTION, **context
    )
    collection = found.collection
    if collection is None:
        raise NotFound(f"{collection_lookup}: the collection is no longer available")
    child_type = lookup.get("child_type", "artifact")
    if child_type not in _CHILD_TYPES:
        raise InvalidLookup(
            f"child_type: expected one of {', '.join(_CHILD_TYPES)}, got {child_type!r}"
        )
    conditions: list[ColumnElement[bool]] = [
        CollectionItem.parent_collection_id == collection.id,
        CollectionItem.removed_at.is_(None),
        CollectionItem.child_type.in_(_CHILD_TYPES[child_type]),
    ]
    manager = get_manager(session, collection)
    for key, value in lookup.items():
        if key in ("collection", "child_type"):
            continue
        if key == "category":
            conditions.append(CollectionItem.category == value)
            continue
        field, _, rest = key.partition("__")
        if field == "name":
            conditions.append(_string_filter(CollectionItem.name, key, rest, value))
        elif field == "data":
            data_key, _, suffix = rest.partition("__")
            if not data_key:
                raise InvalidLookup(f"{key}: expected data__KEY")
            if not suffix and not isinstance(value, str):
                conditions.append(CollectionItem.data.contains({data_key: value}))
            else:
                conditions.append(
                    _string_filter(
                        CollectionItem.data[data_key].astext, key, suffix, value
                    )
                )
        elif field == "lookup" and rest:

            def resolve(nested: Any) -> list[LookupResult]:
                return lookup_multiple(
                    session,
                    nested,
                    expect_type=ExpectType.ARTIFACT_OR_PROMISE,
                    **context,
                )

            try:
                conditions.append(manager.lookup_filter(rest, value, resolve))
            except InvalidLookupSegment as exc:
                raise InvalidLookup(f"{key}: {exc}") from None
        else:
            raise InvalidLookup(f"{key}: unknown lookup key")
    items = session.scalars(
        select(CollectionItem).where(and_(*conditions)).order_by(CollectionItem.id)
    )
    return [_from_item(item) for item in items]


def lookup_multiple(
    session: Session,
    lookup: Mapping[str, Any] | Sequence[Any],
    *,
    workspace: Workspace,
    actor: Actor,
    expect_type: ExpectType | str | None = None,
    default_category: str | None = None,
    workflow_root: WorkRequest | None = None,
) -> list[LookupResult]:
    """Resolve a dict lookup or a list of single and dict lookups, in order."""
    context: dict[str, Any] = {
        "workspace": workspace,
        "actor": actor,
        "default_category": default_category,
        "workflow_root": workflow_root,
    }
    expected = ExpectType(expect_type) if expect_type is not None else ExpectType.ANY
    if isinstance(lookup, Mapping):
        parts: Sequence[Any] = [lookup]
    elif isinstance(lookup, Sequence) and not isinstance(lookup, str):
        parts = lookup
    else:
        raise InvalidLookup(f"{lookup!r}: a multiple lookup is a dict or a list")
    results: list[LookupResult] = []
    for part in parts:
        if isinstance(part, Mapping):
            found = _lookup_dict(session, part, context=context)
            for result in found:
                _check_type(result, expected, str(dict(part)))
            results.extend(found)
        else:
            results.append(
                lookup_single(session, part, expect_type=expected, **context)
            )
    return results
