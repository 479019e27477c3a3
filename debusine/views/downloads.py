"""Artifact downloads: one file (with HTTP Range), or all of them as a tar.gz.

The URLs are the ones the API hands out in `ArtifactResponse`
(`files[path].url` and `download_tar_gz_url`, client-protocol.md §1.3). The
scope comes from the URL: clients send no scope header on downloads.
Errors are problem+json, like the API's. Bodies are streamed from the file
store: nothing is built whole in memory or on disk.
"""

from __future__ import annotations

import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from debusine.models import Artifact
from debusine.permissions import can_display_workspace
from debusine.storage import LocalStore, default_store
from debusine.storage.local import CHUNK_SIZE
from debusine.views.api.base import APIError, not_found

TAR_BLOCK = tarfile.BLOCKSIZE
TAR_RECORD = tarfile.RECORDSIZE


@dataclass(frozen=True)
class _Member:
    path: str
    sha256: str
    size: int


def _artifact(request: Request) -> Artifact:
    artifact_id = int(request.matchdict["artifact_id"])
    artifact = request.db.get(Artifact, artifact_id)
    if (
        artifact is None
        or artifact.workspace.name != request.matchdict["workspace"]
        or artifact.workspace.scope.name != request.matchdict["scope"]
        or not can_display_workspace(request.db, request.actor, artifact.workspace)
    ):
        raise not_found(f"Artifact {artifact_id} not found")
    return artifact


@view_config(route_name="artifact.download", request_method=("GET", "HEAD"))
def download(request: Request) -> Response:
    artifact = _artifact(request)
    _, store = default_store(
        request.db, request.registry.settings, artifact.workspace.scope
    )
    path = request.matchdict["path"]
    if not path:
        if request.GET.get("archive") != "tar.gz":
            raise APIError(
                400,
                "Invalid request",
                "Give a file path after download/, or ?archive=tar.gz for all files",
            )
        members = [
            _Member(f.path, f.file.hash_digest, f.file.size)
            for f in artifact.files
            if f.complete
        ]
        response = Response(
            app_iter=tar_gz_stream(store, members),
            content_type="application/gzip",
        )
        response.headers["Content-Disposition"] = (
            f'attachment; filename="artifact-{artifact.id}.tar.gz"'
        )
        return response

    fia = next((f for f in artifact.files if f.path == path), None)
    if fia is None:
        raise not_found(f"Artifact {artifact.id} has no file {path!r}")
    if not fia.complete:
        raise not_found(f"File {path!r} of artifact {artifact.id} is not uploaded yet")
    return file_response(
        request, store, fia.file.hash_digest, fia.file.size, fia.content_type
    )


def file_response(
    request: Request,
    store: LocalStore,
    sha256: str,
    size: int,
    content_type: str | None,
) -> Response:
    start, stop, status = 0, size, 200
    headers = {"Accept-Ranges": "bytes"}
    if request.range is not None:
        byte_range = request.range.range_for_length(size)
        if byte_range is None:
            response = Response(status=416)
            response.headers["Content-Range"] = f"bytes */{size}"
            return response
        start, stop = byte_range
        status = 206
        headers["Content-Range"] = f"bytes {start}-{stop - 1}/{size}"
    response = Response(status=status, headers=headers)
    # Set directly: WebOb would add a charset to text types.
    response.headers["Content-Type"] = content_type or "application/octet-stream"
    if request.method == "HEAD":
        response.content_length = stop - start
        return response
    file_wrapper = request.environ.get("wsgi.file_wrapper")
    if file_wrapper is not None:
        # The server sends straight from the file (waitress does not copy it
        # through its output buffer, which spills to disk past a few MiB).
        stream = store.path(sha256, size).open("rb")
        stream.seek(start)
        response.app_iter = file_wrapper(stream, CHUNK_SIZE)
    else:
        response.app_iter = store.read(sha256, size, start, stop)
    response.content_length = stop - start
    return response


def tar_gz_stream(store: LocalStore, members: list[_Member]) -> Iterator[bytes]:
    """A gzip'ed tar of `members`, produced as it is sent.

    Each member is a tar header block, the file's bytes read from the store
    in chunks, and zero padding to the block size; the whole goes through
    one zlib stream with a gzip wrapper. Memory use is one chunk plus
    zlib's window, whatever the sizes.
    """
    compressor = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    written = 0
    for member in members:
        info = tarfile.TarInfo(member.path)
        info.size = member.size
        info.mode = 0o644
        info.type = tarfile.REGTYPE
        header = info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
        written += len(header)
        if out := compressor.compress(header):
            yield out
        for chunk in store.read(member.sha256, member.size):
            if out := compressor.compress(chunk):
                yield out
        padding = -member.size % TAR_BLOCK
        written += member.size + padding
        if out := compressor.compress(b"\0" * padding):
            yield out
    # Two empty blocks end the archive, then padding to a whole record.
    trailer = 2 * TAR_BLOCK
    trailer += -(written + trailer) % TAR_RECORD
    if out := compressor.compress(b"\0" * trailer):
        yield out
    yield compressor.flush()
