"""Artifacts over the JSON API: create, show, and upload their files.

Wire contract: reference/client-protocol.md §1.2 routes 12-14, §1.4 and §2.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote

from marshmallow import EXCLUDE, Schema, fields, validate
from pyramid.httpexceptions import HTTPMovedPermanently
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import exists, select

from debusine.artifacts.paths import InvalidArtifactPath, validate_artifact_path
from debusine.artifacts.schemas import (
    InvalidArtifactData,
    InvalidArtifactFiles,
    validate_artifact_data,
    validate_artifact_files,
)
from debusine.models import (
    Artifact,
    FileInArtifact,
    FileUpload,
    WorkRequest,
)
from debusine.permissions import can_create_artifacts, can_display_workspace
from debusine.storage import (
    HashMismatch,
    PartialUpload,
    ShortChunk,
    UploadGone,
    default_store,
    get_or_create_file,
    record_in_store,
)
from debusine.views.api.base import (
    APIError,
    forbidden,
    get_workspace,
    load_json,
    not_found,
    require_authenticated,
)
from debusine.views.api.openapi import documented

SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")


class ChecksumsSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sha256 = fields.String(
        required=True,
        validate=validate.Regexp(SHA256_RE, error="Not a sha256 hex digest."),
    )


class FileSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    size = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    checksums = fields.Nested(ChecksumsSchema, required=True)
    type = fields.String(load_default="file", validate=validate.OneOf(["file"]))
    content_type = fields.String(load_default=None, allow_none=True)


class ArtifactCreateSchema(Schema):
    # DRF leniency: unknown keys are ignored (client-protocol.md §5.7).
    class Meta:
        unknown = EXCLUDE

    category = fields.String(required=True, validate=validate.Length(min=1, max=255))
    workspace = fields.String(load_default=None, allow_none=True)
    files = fields.Dict(
        keys=fields.String(), values=fields.Nested(FileSchema), load_default=dict
    )
    data = fields.Dict(load_default=dict)
    work_request = fields.Integer(load_default=None, allow_none=True, strict=True)
    expire_at = fields.AwareDateTime(
        load_default=None, allow_none=True, default_timezone=dt.UTC
    )


class ArtifactFileSchema(Schema):
    size = fields.Integer()
    checksums = fields.Dict(keys=fields.String(), values=fields.String())
    type = fields.String()
    url = fields.Url(metadata={"description": "absolute download URL"})
    content_type = fields.String(allow_none=True)


class ArtifactResponseSchema(Schema):
    """An artifact as the API shows it (dump only)."""

    id = fields.Integer()
    url = fields.String()
    scope = fields.String()
    workspace = fields.String()
    category = fields.String()
    created_at = fields.String(metadata={"format": "date-time"})
    data = fields.Dict()
    download_tar_gz_url = fields.Url()
    files_to_upload = fields.List(fields.String())
    expire_at = fields.String(allow_none=True, metadata={"format": "date-time"})
    files = fields.Dict(keys=fields.String(), values=fields.Nested(ArtifactFileSchema))


def isoformat(value: dt.datetime | None) -> str | None:
    """ISO 8601 in UTC with a `Z`, as DRF writes datetimes."""
    if value is None:
        return None
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def artifact_path_url(artifact: Artifact) -> str:
    """The artifact's page, relative (as upstream)."""
    workspace = artifact.workspace
    scope = quote(workspace.scope.name)
    return f"/{scope}/{quote(workspace.name)}/artifact/{artifact.id}/"


def download_base_url(request: Request, artifact: Artifact) -> str:
    """The absolute base of the artifact's download URLs (ends with `/`)."""
    return f"{request.application_url}{artifact_path_url(artifact)}download/"


def expire_at(artifact: Artifact) -> dt.datetime | None:
    delay = artifact.expiration_delay
    if delay is None:
        delay = artifact.workspace.default_expiration_delay
    if not delay:
        return None
    return artifact.created_at + delay


def artifact_response(request: Request, artifact: Artifact) -> dict[str, Any]:
    """The `ArtifactResponse` of client-protocol.md §1.4."""
    base = download_base_url(request, artifact)
    files: dict[str, Any] = {}
    to_upload: list[str] = []
    for fia in artifact.files:
        files[fia.path] = {
            "size": fia.file.size,
            "checksums": {"sha256": fia.file.hash_digest},
            "type": "file",
            "url": base + quote(fia.path),
            "content_type": fia.content_type,
        }
        if not fia.complete:
            to_upload.append(fia.path)
    return {
        "id": artifact.id,
        "url": artifact_path_url(artifact),
        "scope": artifact.workspace.scope.name,
        "workspace": artifact.workspace.name,
        "category": artifact.category,
        "created_at": isoformat(artifact.created_at),
        "expire_at": isoformat(expire_at(artifact)),
        "data": artifact.data,
        "download_tar_gz_url": base + "?archive=tar.gz",
        "files_to_upload": to_upload,
        "files": files,
    }


def get_visible_artifact(request: Request, artifact_id: int) -> Artifact:
    """The artifact if the caller may see its workspace, else 404."""
    artifact = request.db.get(Artifact, artifact_id)
    if artifact is None or not can_display_workspace(
        request.db, request.actor, artifact.workspace
    ):
        raise not_found(f"Artifact {artifact_id} not found")
    return artifact


def _check_work_request(request: Request, work_request_id: int | None) -> None:
    if work_request_id is None:
        return
    worker = request.actor.worker
    if worker is None:
        raise forbidden("Only workers may set work_request when creating artifacts.")
    work_request = request.db.get(WorkRequest, work_request_id)
    if work_request is None:
        raise APIError(
            400, "Invalid request", f"work_request: {work_request_id} does not exist"
        )
    if work_request.worker_id != worker.id:
        raise forbidden(
            f"Work request {work_request_id} is not assigned to worker {worker.name}."
        )


@documented(
    "/api/1.0/artifact/",
    "post",
    "Create an artifact; then upload the files listed in files_to_upload",
    request=ArtifactCreateSchema,
    response=ArtifactResponseSchema,
    status=201,
)
@view_config(route_name="api.artifacts", request_method="POST", renderer="json")
def create_artifact(request: Request) -> dict[str, Any]:
    require_authenticated(request)
    body = load_json(request, ArtifactCreateSchema())
    workspace = get_workspace(request, body["workspace"])
    if not can_create_artifacts(request.db, request.actor, workspace):
        raise forbidden(
            f"You may not create artifacts in workspace {workspace.full_name}."
        )
    _check_work_request(request, body["work_request"])
    errors: dict[str, list[str]] = {}
    for path in body["files"]:
        try:
            validate_artifact_path(path)
        except InvalidArtifactPath as error:
            errors[path] = [str(error)]
    if errors:
        raise APIError(
            400,
            "Invalid request",
            "; ".join(f"files: {m[0]}" for m in errors.values()),
            validation_errors={"files": errors},
        )
    data = _validated_data(body["category"], body["data"], list(body["files"]))
    now = dt.datetime.now(dt.UTC)
    expiration_delay = None
    if body["expire_at"] is not None:
        if body["expire_at"] <= now:
            raise APIError(400, "Invalid request", "expire_at: must be in the future")
        expiration_delay = body["expire_at"] - now

    db = request.db
    artifact = Artifact(
        category=body["category"],
        workspace=workspace,
        data=data,
        expiration_delay=expiration_delay,
        created_by_id=request.actor.user.id if request.actor.user else None,
        created_by_work_request_id=body["work_request"],
    )
    db.add(artifact)
    for path, spec in body["files"].items():
        file = get_or_create_file(
            db, bytes.fromhex(spec["checksums"]["sha256"]), spec["size"]
        )
        # Complete at once: nothing to send, or the content is already in
        # this workspace (the uploader proved it had it then).
        complete = file.size == 0 or bool(
            db.scalar(
                select(
                    exists().where(
                        FileInArtifact.file_id == file.id,
                        FileInArtifact.complete.is_(True),
                        FileInArtifact.artifact_id == Artifact.id,
                        Artifact.workspace_id == workspace.id,
                    )
                )
            )
        )
        if file.size == 0:
            file_store, store = default_store(
                db, request.registry.settings, workspace.scope
            )
            store.add_stream(_Empty(), file.hash_digest, 0)
            record_in_store(db, file_store, file)
        artifact.files.append(
            FileInArtifact(
                path=path,
                file=file,
                complete=complete,
                content_type=spec["content_type"],
            )
        )
    db.flush()
    db.refresh(artifact)
    request.response.status_int = 201
    return artifact_response(request, artifact)


def _validated_data(category: str, data: dict[str, Any], paths: list[str]) -> Any:
    """The artifact's data checked against its category, and its file set."""
    try:
        checked = validate_artifact_data(category, data)
        validate_artifact_files(category, paths, checked)
    except InvalidArtifactData as error:
        raise APIError(
            400,
            "Invalid artifact data",
            str(error),
            validation_errors={"data": {error.field or "": [str(error)]}},
        ) from None
    except InvalidArtifactFiles as error:
        raise APIError(400, "Invalid artifact files", str(error)) from None
    return checked


class _Empty:
    def read(self, size: int = -1, /) -> bytes:
        return b""


@documented(
    "/api/1.0/artifact/{artifact_id}/",
    "get",
    "Show an artifact",
    response=ArtifactResponseSchema,
)
@view_config(route_name="api.artifact", request_method="GET", renderer="json")
def get_artifact(request: Request) -> dict[str, Any]:
    artifact = get_visible_artifact(request, int(request.matchdict["artifact_id"]))
    return artifact_response(request, artifact)


@view_config(route_name="api.artifact.noslash", request_method="GET")
def get_artifact_noslash(request: Request) -> Response:
    # Django's APPEND_SLASH, which `debusine download-artifact` relies on.
    location = request.path_url + "/"
    if request.query_string:
        location += "?" + request.query_string
    return HTTPMovedPermanently(location=location)


CONTENT_RANGE_RE = re.compile(r"^bytes (?:(\*)|(\d+)-(\d+))/(\d+)$")


def _upload_gone(path: str, error: UploadGone) -> APIError:
    # 409, as for a hash mismatch: the client starts the file again.
    return APIError(
        409,
        "Upload expired",
        f"The partial upload of {path!r} was abandoned ({error}); "
        "upload the file again.",
    )


def _range_header(received: int) -> dict[str, str]:
    # Not RFC 7233: N is the count received, not an inclusive end (§2).
    return {"Range": f"bytes=0-{received}"}


@documented(
    "/api/1.0/artifact/{artifact_id}/files/{path}/",
    "put",
    "Upload a file's bytes (Content-Range: `bytes */SIZE` probes; answers 206 "
    "or 200 with `Range: bytes=0-RECEIVED`, 201 when complete, 409 on a hash "
    "mismatch)",
    status=201,
    errors=(400, 403, 404, 409, 416),
)
@view_config(route_name="api.artifact.upload", request_method="PUT")
def upload_file(request: Request) -> Response:
    """One PUT of the upload protocol (client-protocol.md §2)."""
    artifact_id = int(request.matchdict["artifact_id"])
    path = request.matchdict["path"].removesuffix("/")
    db = request.db
    artifact = get_visible_artifact(request, artifact_id)
    if not can_create_artifacts(db, request.actor, artifact.workspace):
        if request.actor.is_anonymous:
            raise forbidden("Authentication credentials were not provided.")
        raise forbidden(
            f"You may not upload files to artifacts in workspace "
            f"{artifact.workspace.full_name}."
        )
    # Lock the file's row: two PUTs of one file are applied one at a time.
    fia = db.scalars(
        select(FileInArtifact)
        .where(FileInArtifact.artifact_id == artifact.id, FileInArtifact.path == path)
        .with_for_update()
    ).first()
    if fia is None:
        raise not_found(f"Artifact {artifact_id} has no file {path!r}")
    size = fia.file.size
    sha256 = fia.file.hash_digest

    header = request.headers.get("Content-Range")
    if header is None:
        probe, start, end = False, 0, size - 1
    else:
        match = CONTENT_RANGE_RE.match(header.strip())
        if match is None:
            raise APIError(
                400,
                "Invalid Content-Range",
                f"Content-Range {header!r} is not 'bytes START-END/SIZE' "
                "or 'bytes */SIZE'",
            )
        if int(match[4]) != size:
            raise APIError(
                400,
                "Invalid Content-Range",
                f"Content-Range size {match[4]} is not the file's size {size}",
            )
        probe = match[1] is not None
        start, end = (0, 0) if probe else (int(match[2]), int(match[3]))
        if not probe and (end < start or end >= size):
            raise APIError(
                400,
                "Invalid Content-Range",
                f"Content-Range {header!r} is outside the file's {size} bytes",
            )

    if fia.complete:
        return Response(status=200)

    file_store, store = default_store(
        db, request.registry.settings, artifact.workspace.scope
    )
    upload = PartialUpload(store, fia.id)
    received = upload.received()
    if probe:
        return Response(status=206, headers=_range_header(received))

    if header is None and received:
        # The whole file again: start over.
        upload.discard()
        received = 0
    if start != received:
        raise APIError(
            416,
            "Range not satisfiable",
            f"This chunk starts at byte {start} but {received} bytes have been "
            f"received: send the chunk starting at {received}.",
        )
    length = end - start + 1
    try:
        received = upload.append(start, request.body_file, length)
    except ShortChunk as error:
        raise APIError(400, "Truncated upload", str(error)) from None
    except UploadGone as error:
        raise _upload_gone(path, error) from None

    now = dt.datetime.now(dt.UTC)
    record = db.scalars(
        select(FileUpload).where(FileUpload.file_in_artifact_id == fia.id)
    ).first()
    if received < size:
        if record is None:
            db.add(
                FileUpload(
                    file_in_artifact=fia, path=str(upload.path), last_activity_at=now
                )
            )
        else:
            record.last_activity_at = now
        return Response(status=200, headers=_range_header(received))

    if record is not None:
        db.delete(record)
    try:
        upload.finish(sha256, size)
    except UploadGone as error:
        raise _upload_gone(path, error) from None
    except HashMismatch as error:
        raise APIError(
            409,
            "Hash mismatch",
            f"The uploaded file {path!r} does not match its declaration ({error}); "
            "the data received was discarded, upload the file again.",
        ) from None
    record_in_store(db, file_store, fia.file)
    fia.complete = True
    return Response(status=201)
