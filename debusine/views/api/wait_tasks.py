"""The API routes that complete wait tasks: a signature, a confirmation.

* `GET /api/1.0/work-request/{id}/external-debsign/` (client-protocol.md
  route 7): the `externaldebsign` work request, whose
  `dynamic_task_data.unsigned_id` is the `debian:upload` to sign; anyone
  who may see it.
* `POST` there `{signed_artifact: id}`: only the work request's creator. The
  signed artifact must be a complete `debian:upload` of the same workspace,
  created by that user, with the unsigned upload's paths and no others,
  a different `.changes`, and only the `.changes`, `.dsc` and `.buildinfo`
  changed (what signing changes). It then relates to the unsigned upload,
  is attributed to the work request, and the work request succeeds.
* `POST /api/1.0/work-request/{id}/confirm/ {action: accept|reject,
  comment}`: a `confirm` step; workspace contributors and owners. The
  decision (action, user, time, comment) goes into the work request's
  `output_data.confirmation`; accept completes it with success, reject with
  failure (what depends on it is then aborted).

Each answers the work request; the orchestrator is woken after the commit
so that the workflow moves on at once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from marshmallow import EXCLUDE, Schema, fields, validate
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select

from debusine.artifacts.categories import ArtifactCategory, ArtifactRelationType
from debusine.models import Artifact, ArtifactRelation, WorkRequest
from debusine.models.work_requests import TaskType, WorkRequestStatus
from debusine.orchestration.orchestrator import after_commit_notify
from debusine.orchestration.wait_tasks import flag_workflows
from debusine.permissions import (
    can_confirm_work_request,
    can_display_workspace,
    can_provide_signature,
)
from debusine.tasks import WorkRequestResult
from debusine.views.api.artifacts import isoformat
from debusine.views.api.base import (
    APIError,
    forbidden,
    load_json,
    not_found,
    require_authenticated,
)
from debusine.views.api.openapi import documented
from debusine.views.api.work_requests import (
    WorkRequestResponseSchema,
    work_request_response,
)
from debusine.work_requests import mark_completed

# What signing a source or binary upload may change.
SIGNED_SUFFIXES = (".changes", ".dsc", ".buildinfo")
MAX_COMMENT = 10_000


class SignatureSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    signed_artifact = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1)
    )


class ConfirmSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    action = fields.String(required=True, validate=validate.OneOf(["accept", "reject"]))
    comment = fields.String(
        load_default="", allow_none=True, validate=validate.Length(max=MAX_COMMENT)
    )


def _visible(request: Request) -> WorkRequest:
    work_request_id = int(request.matchdict["work_request_id"])
    work_request = request.db.get(WorkRequest, work_request_id)
    if work_request is None or not can_display_workspace(
        request.db, request.actor, work_request.workspace
    ):
        raise not_found(f"Work request {work_request_id} not found")
    return work_request


def _wait_task(request: Request, task_name: str) -> WorkRequest:
    """The visible work request, which must be this wait task."""
    work_request = _visible(request)
    if work_request.task_type != TaskType.WAIT or work_request.task_name != task_name:
        raise APIError(
            400,
            "Invalid request",
            f"Work request {work_request.id} is a {work_request.task_type.value}"
            f" {work_request.task_name} task, not a Wait {task_name} task",
        )
    return work_request


def _require_waiting(work_request: WorkRequest) -> None:
    if work_request.status != WorkRequestStatus.RUNNING:
        raise APIError(
            409,
            "Conflict",
            f"Work request {work_request.id} is {work_request.status.value}:"
            " it is not waiting",
        )


def _complete(
    request: Request,
    work_request: WorkRequest,
    result: WorkRequestResult,
    output_data: dict[str, Any] | None = None,
) -> dict[str, Any]:
    mark_completed(request.db, work_request, result, output_data)
    flag_workflows(work_request)
    request.db.flush()
    after_commit_notify(request.tm)
    return work_request_response(request, work_request)


# External signature ----------------------------------------------------------


@documented(
    "/api/1.0/work-request/{work_request_id}/external-debsign/",
    "get",
    "The externaldebsign work request: dynamic_task_data.unsigned_id is the"
    " upload to sign",
    response=WorkRequestResponseSchema,
)
@view_config(
    route_name="api.work_request.external_debsign",
    request_method="GET",
    renderer="json",
)
def external_debsign_get(request: Request) -> dict[str, Any]:
    require_authenticated(request)
    return work_request_response(request, _wait_task(request, "externaldebsign"))


def _files(artifact: Artifact) -> dict[str, bytes]:
    return {f.path: f.file.sha256 for f in artifact.files}


def _check_signed(signed: Artifact, unsigned: Artifact) -> None:
    """Raise a 400 problem unless `signed` is `unsigned`, signed."""

    def refuse(detail: str) -> APIError:
        return APIError(
            400,
            "Invalid signed upload",
            detail,
            validation_errors={"signed_artifact": [detail]},
        )

    if signed.category != ArtifactCategory.UPLOAD:
        raise refuse(
            f"Artifact {signed.id} is a {signed.category}, not a"
            f" {ArtifactCategory.UPLOAD}"
        )
    incomplete = sorted(f.path for f in signed.files if not f.complete)
    if incomplete:
        raise refuse(
            f"Artifact {signed.id} is missing the contents of: {', '.join(incomplete)}"
        )
    signed_files, unsigned_files = _files(signed), _files(unsigned)
    added = sorted(set(signed_files) - set(unsigned_files))
    if added:
        raise refuse(
            f"Artifact {signed.id} has files the unsigned upload {unsigned.id}"
            f" does not: {', '.join(added)}"
        )
    missing = sorted(set(unsigned_files) - set(signed_files))
    if missing:
        raise refuse(
            f"Artifact {signed.id} lacks files of the unsigned upload"
            f" {unsigned.id}: {', '.join(missing)}"
        )
    changed = {
        path for path, digest in signed_files.items() if unsigned_files[path] != digest
    }
    if not any(path.endswith(".changes") for path in changed):
        raise refuse(
            f"The .changes of artifact {signed.id} is the unsigned one: sign it"
        )
    others = sorted(path for path in changed if not path.endswith(SIGNED_SUFFIXES))
    if others:
        raise refuse(
            f"Signing changes only .changes, .dsc and .buildinfo files; artifact"
            f" {signed.id} also changes: {', '.join(others)}"
        )


@documented(
    "/api/1.0/work-request/{work_request_id}/external-debsign/",
    "post",
    "Provide the signed upload of a waiting externaldebsign work request"
    " (its creator only)",
    request=SignatureSchema,
    response=WorkRequestResponseSchema,
    errors=(400, 403, 404, 409),
)
@view_config(
    route_name="api.work_request.external_debsign",
    request_method="POST",
    renderer="json",
)
def external_debsign_post(request: Request) -> dict[str, Any]:
    require_authenticated(request)
    work_request = _wait_task(request, "externaldebsign")
    if not can_provide_signature(request.actor, work_request):
        raise forbidden(
            f"Only the creator of work request {work_request.id} may provide"
            " its signature."
        )
    body = load_json(request, SignatureSchema())
    _require_waiting(work_request)
    unsigned_id = (work_request.dynamic_task_data or {}).get("unsigned_id")
    unsigned = request.db.get(Artifact, unsigned_id) if unsigned_id else None
    if unsigned is None:
        raise APIError(
            409,
            "Conflict",
            f"Work request {work_request.id} has no unsigned upload to compare with",
        )
    signed = request.db.get(Artifact, body["signed_artifact"])
    if (
        signed is None
        or signed.workspace_id != work_request.workspace_id
        or signed.created_by_id != work_request.created_by_id
    ):
        detail = (
            f"Artifact {body['signed_artifact']} is not an artifact you created"
            f" in workspace {work_request.workspace.full_name}"
        )
        raise APIError(
            400,
            "Invalid signed upload",
            detail,
            validation_errors={"signed_artifact": [detail]},
        )
    _check_signed(signed, unsigned)
    relation = request.db.scalar(
        select(ArtifactRelation).where(
            ArtifactRelation.artifact_id == signed.id,
            ArtifactRelation.target_id == unsigned.id,
            ArtifactRelation.type == ArtifactRelationType.RELATES_TO,
        )
    )
    if relation is None:
        request.db.add(
            ArtifactRelation(
                artifact=signed, target=unsigned, type=ArtifactRelationType.RELATES_TO
            )
        )
    signed.created_by_work_request_id = work_request.id
    return _complete(request, work_request, WorkRequestResult.SUCCESS)


# Confirmation ----------------------------------------------------------------


@documented(
    "/api/1.0/work-request/{work_request_id}/confirm/",
    "post",
    "Accept (success) or reject (failure) a waiting confirm step, with a"
    " comment (workspace contributors and owners)",
    request=ConfirmSchema,
    response=WorkRequestResponseSchema,
    errors=(400, 403, 404, 409),
)
@view_config(
    route_name="api.work_request.confirm", request_method="POST", renderer="json"
)
def confirm(request: Request) -> dict[str, Any]:
    require_authenticated(request)
    work_request = _wait_task(request, "confirm")
    if not can_confirm_work_request(request.db, request.actor, work_request):
        raise forbidden(
            f"You may not confirm work request {work_request.id}: it needs a"
            f" contributor of workspace {work_request.workspace.full_name}."
        )
    body = load_json(request, ConfirmSchema())
    _require_waiting(work_request)
    user = request.actor.user
    decision = {
        "action": body["action"],
        "user_id": user.id if user is not None else None,
        "user": user.username if user is not None else None,
        "timestamp": isoformat(dt.datetime.now(dt.UTC)),
        "comment": body["comment"] or "",
    }
    result = (
        WorkRequestResult.SUCCESS
        if body["action"] == "accept"
        else WorkRequestResult.FAILURE
    )
    return _complete(request, work_request, result, {"confirmation": decision})
