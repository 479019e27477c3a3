"""Collections over the JSON API: list, show, items, and lookups.

Upstream serves lookups to workers only; here users may look up too, with
their own permissions: private workspaces stay invisible either way.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import Schema, fields, validate
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import Select, select

from debusine.collections import (
    ExpectType,
    InvalidLookup,
    LookupFailed,
    LookupResult,
    NotFound,
    lookup_multiple,
    lookup_single,
)
from debusine.models import Collection, CollectionItem, WorkRequest, Workspace
from debusine.permissions import can_display_workspace
from debusine.views.api.base import APIError, get_workspace, load_json, not_found
from debusine.views.api.openapi import documented
from debusine.views.api.pagination import paginate


def _timestamp(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def _seconds(value: dt.timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


class CollectionSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String()
    scope = fields.String()
    workspace = fields.String()
    data = fields.Dict()
    retains_artifacts = fields.String()
    full_history_retention_period = fields.Float(
        allow_none=True, metadata={"description": "seconds; null is forever"}
    )
    metadata_only_retention_period = fields.Float(allow_none=True)
    created_at = fields.String(metadata={"format": "date-time"})


class CollectionItemSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    category = fields.String()
    child_type = fields.String(
        metadata={"description": "b(are), a(rtifact), c(ollection)"}
    )
    data = fields.Dict()
    artifact = fields.Integer(allow_none=True)
    collection = fields.Integer(allow_none=True)
    created_at = fields.String(metadata={"format": "date-time"})
    removed_at = fields.String(allow_none=True, metadata={"format": "date-time"})


def collection_json(collection: Collection) -> dict[str, Any]:
    return {
        "id": collection.id,
        "name": collection.name,
        "category": collection.category,
        "scope": collection.workspace.scope.name,
        "workspace": collection.workspace.name,
        "data": collection.data,
        "retains_artifacts": str(collection.retains_artifacts),
        "full_history_retention_period": _seconds(
            collection.full_history_retention_period
        ),
        "metadata_only_retention_period": _seconds(
            collection.metadata_only_retention_period
        ),
        "created_at": _timestamp(collection.created_at),
    }


def item_json(item: CollectionItem) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "category": item.category,
        "child_type": str(item.child_type),
        "data": item.data,
        "artifact": item.artifact_id,
        "collection": item.collection_id,
        "created_at": _timestamp(item.created_at),
        "removed_at": _timestamp(item.removed_at),
    }


def _visible_collection(request: Request) -> Collection:
    collection_id = int(request.matchdict["collection_id"])
    collection = request.db.get(Collection, collection_id)
    if collection is None or not can_display_workspace(
        request.db, request.actor, collection.workspace
    ):
        raise not_found(f"Collection {collection_id} not found")
    return collection


@documented(
    "/api/1.0/collection/",
    "get",
    "List the collections of a workspace",
    response=CollectionSchema,
    paginated=True,
    query={
        "workspace": "the workspace (default: the scope's default workspace)",
        "category": "only collections of this category",
        "cursor": "opaque page cursor",
        "page_size": "1 to 100 (default 10)",
    },
)
@view_config(route_name="api.collections", request_method="GET", renderer="json")
def list_collections(request: Request) -> dict[str, Any]:
    workspace = get_workspace(request, request.params.get("workspace"))
    query: Select[tuple[Collection]] = select(Collection).where(
        Collection.workspace_id == workspace.id
    )
    if request.params.get("category"):
        query = query.where(Collection.category == request.params["category"])
    return paginate(
        request, query, Collection.created_at, Collection.id, collection_json
    )


@documented(
    "/api/1.0/collection/{collection_id}/",
    "get",
    "Show a collection",
    response=CollectionSchema,
)
@view_config(route_name="api.collection", request_method="GET", renderer="json")
def show_collection(request: Request) -> dict[str, Any]:
    return collection_json(_visible_collection(request))


@documented(
    "/api/1.0/collection/{collection_id}/items/",
    "get",
    "List a collection's items, newest first",
    response=CollectionItemSchema,
    paginated=True,
    query={
        "name": "exact item name",
        "name__startswith": "item name prefix",
        "category": "item category",
        "include_removed": "1 to include removed items (history)",
        "cursor": "opaque page cursor",
        "page_size": "1 to 100 (default 10)",
    },
)
@view_config(route_name="api.collection.items", request_method="GET", renderer="json")
def list_items(request: Request) -> dict[str, Any]:
    collection = _visible_collection(request)
    params = request.params
    query: Select[tuple[CollectionItem]] = select(CollectionItem).where(
        CollectionItem.parent_collection_id == collection.id
    )
    if params.get("include_removed") not in ("1", "true", "yes"):
        query = query.where(CollectionItem.removed_at.is_(None))
    if params.get("name"):
        query = query.where(CollectionItem.name == params["name"])
    if params.get("name__startswith"):
        prefix = params["name__startswith"]
        query = query.where(CollectionItem.name.startswith(prefix, autoescape=True))
    if params.get("category"):
        query = query.where(CollectionItem.category == params["category"])
    return paginate(
        request, query, CollectionItem.created_at, CollectionItem.id, item_json
    )


class LookupRequestSchema(Schema):
    workspace = fields.String(load_default=None)
    work_request = fields.Integer(
        load_default=None,
        metadata={
            "description": "resolve in this work request's workspace and workflow"
        },
    )
    expect_type = fields.String(
        load_default=None, validate=validate.OneOf([t.value for t in ExpectType])
    )
    default_category = fields.String(load_default=None)


class SingleLookupRequestSchema(LookupRequestSchema):
    lookup = fields.Raw(
        required=True, metadata={"description": "a single lookup: a string or an id"}
    )


class MultipleLookupRequestSchema(LookupRequestSchema):
    lookup = fields.Raw(
        required=True, metadata={"description": "a dict lookup or a list of lookups"}
    )


class LookupResultSchema(Schema):
    result_type = fields.String(metadata={"description": "b, a or c"})
    collection_item = fields.Integer(allow_none=True)
    artifact = fields.Integer(allow_none=True)
    collection = fields.Integer(allow_none=True)


def result_json(result: LookupResult) -> dict[str, Any]:
    return {
        "result_type": str(result.result_type),
        "collection_item": result.collection_item.id
        if result.collection_item
        else None,
        "artifact": result.artifact.id if result.artifact else None,
        "collection": result.collection.id if result.collection else None,
    }


def _lookup_context(request: Request, body: dict[str, Any]) -> dict[str, Any]:
    """The workspace (and workflow) a lookup is resolved in."""
    workflow_root: WorkRequest | None = None
    if body["work_request"] is not None:
        work_request = request.db.get(WorkRequest, body["work_request"])
        if work_request is None or not can_display_workspace(
            request.db, request.actor, work_request.workspace
        ):
            raise not_found(f"Work request {body['work_request']} not found")
        workspace: Workspace = work_request.workspace
        workflow_root = work_request
        while workflow_root.parent is not None:
            workflow_root = workflow_root.parent
    else:
        workspace = get_workspace(request, body["workspace"])
    return {
        "workspace": workspace,
        "actor": request.actor,
        "expect_type": body["expect_type"],
        "default_category": body["default_category"],
        "workflow_root": workflow_root,
    }


def _lookup_error(error: LookupFailed) -> APIError:
    if isinstance(error, NotFound):
        return APIError(404, "Lookup failed", str(error))
    if isinstance(error, InvalidLookup):
        return APIError(400, "Invalid lookup", str(error))
    return APIError(400, "Lookup failed", str(error))


@documented(
    "/api/1.0/lookup/single/",
    "post",
    "Resolve a single lookup",
    request=SingleLookupRequestSchema,
    response=LookupResultSchema,
)
@view_config(route_name="api.lookup.single", request_method="POST", renderer="json")
def single_lookup(request: Request) -> dict[str, Any]:
    body = load_json(request, SingleLookupRequestSchema())
    context = _lookup_context(request, body)
    if not isinstance(body["lookup"], str | int) or isinstance(body["lookup"], bool):
        raise APIError(400, "Invalid lookup", "lookup must be a string or an integer")
    try:
        result = lookup_single(request.db, body["lookup"], **context)
    except LookupFailed as error:
        raise _lookup_error(error) from None
    return result_json(result)


@documented(
    "/api/1.0/lookup/multiple/",
    "post",
    "Resolve a multiple lookup",
    request=MultipleLookupRequestSchema,
    response=LookupResultSchema,
    many=True,
)
@view_config(route_name="api.lookup.multiple", request_method="POST", renderer="json")
def multiple_lookup(request: Request) -> list[dict[str, Any]]:
    body = load_json(request, MultipleLookupRequestSchema())
    context = _lookup_context(request, body)
    try:
        results = lookup_multiple(request.db, body["lookup"], **context)
    except LookupFailed as error:
        raise _lookup_error(error) from None
    return [result_json(result) for result in results]
