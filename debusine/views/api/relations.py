"""Relations between artifacts over the JSON API (client-protocol.md 15-16)."""

from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import aliased

from debusine.models import Artifact, ArtifactRelation, ArtifactRelationType, Workspace
from debusine.permissions import can_create_artifacts, visible_workspaces
from debusine.views.api.artifacts import get_visible_artifact
from debusine.views.api.base import (
    APIError,
    forbidden,
    load_json,
    not_found,
    require_authenticated,
)
from debusine.views.api.openapi import documented


class RelationCreateSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    artifact = fields.Integer(required=True, strict=True)
    target = fields.Integer(required=True, strict=True)
    type = fields.String(
        required=True,
        validate=validate.OneOf([t.value for t in ArtifactRelationType]),
    )


class RelationSchema(Schema):
    id = fields.Integer()
    artifact = fields.Integer()
    target = fields.Integer()
    type = fields.String()


def relation_response(relation: ArtifactRelation) -> dict[str, Any]:
    return {
        "id": relation.id,
        "artifact": relation.artifact_id,
        "target": relation.target_id,
        "type": str(relation.type),
    }


def _check_may_relate(request: Request, artifact: Artifact) -> None:
    if not can_create_artifacts(request.db, request.actor, artifact.workspace):
        raise forbidden(
            "You may not change the relations of artifacts in workspace "
            f"{artifact.workspace.full_name}."
        )


@documented(
    "/api/1.0/artifact-relation/",
    "post",
    "Relate two artifacts (201; 200 if the relation exists)",
    request=RelationCreateSchema,
    response=RelationSchema,
    status=201,
)
@view_config(route_name="api.relations", request_method="POST", renderer="json")
def create_relation(request: Request) -> dict[str, Any]:
    require_authenticated(request)
    body = load_json(request, RelationCreateSchema())
    artifact = get_visible_artifact(request, body["artifact"])
    target = get_visible_artifact(request, body["target"])
    _check_may_relate(request, artifact)
    if artifact.id == target.id:
        raise APIError(
            400, "Invalid request", "An artifact cannot be related to itself"
        )
    kind = ArtifactRelationType(body["type"])
    relation = request.db.scalars(
        select(ArtifactRelation).where(
            ArtifactRelation.artifact_id == artifact.id,
            ArtifactRelation.target_id == target.id,
            ArtifactRelation.type == kind,
        )
    ).first()
    if relation is None:
        relation = ArtifactRelation(artifact=artifact, target=target, type=kind)
        request.db.add(relation)
        request.db.flush()
        request.response.status_int = 201
    return relation_response(relation)


@documented(
    "/api/1.0/artifact-relation/",
    "get",
    "The relations of an artifact",
    response=RelationSchema,
    many=True,
    query={
        "artifact": "relations from this artifact",
        "target_artifact": "relations to it",
    },
)
@view_config(route_name="api.relations", request_method="GET", renderer="json")
def list_relations(request: Request) -> list[dict[str, Any]]:
    params = {k: request.GET.get(k) for k in ("artifact", "target_artifact")}
    given = {k: v for k, v in params.items() if v}
    if len(given) != 1:
        raise APIError(
            400,
            "Invalid request",
            "Give exactly one of the query parameters artifact and target_artifact",
        )
    key, value = next(iter(given.items()))
    if not value.isdigit():
        raise APIError(400, "Invalid request", f"{key}: {value!r} is not an integer")
    artifact = get_visible_artifact(request, int(value))
    # The artifact at the other end must be visible too.
    other = aliased(Artifact)
    if key == "artifact":
        mine, theirs = ArtifactRelation.artifact_id, ArtifactRelation.target_id
    else:
        mine, theirs = ArtifactRelation.target_id, ArtifactRelation.artifact_id
    relations = request.db.scalars(
        select(ArtifactRelation)
        .join(other, other.id == theirs)
        .join(Workspace, Workspace.id == other.workspace_id)
        .where(mine == artifact.id, visible_workspaces(request.actor))
        .order_by(ArtifactRelation.id)
    )
    return [relation_response(r) for r in relations]


@documented(
    "/api/1.0/artifact-relation/{relation_id}/",
    "delete",
    "Delete a relation",
    status=204,
)
@view_config(route_name="api.relation", request_method="DELETE")
def delete_relation(request: Request) -> Response:
    require_authenticated(request)
    relation_id = int(request.matchdict["relation_id"])
    relation = request.db.get(ArtifactRelation, relation_id)
    if relation is None:
        raise not_found(f"Artifact relation {relation_id} not found")
    try:
        artifact = get_visible_artifact(request, relation.artifact_id)
        get_visible_artifact(request, relation.target_id)
    except APIError:
        raise not_found(f"Artifact relation {relation_id} not found") from None
    _check_may_relate(request, artifact)
    request.db.delete(relation)
    request.db.flush()
    return Response(status=204)
