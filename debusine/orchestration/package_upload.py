"""The `packageupload` server task: send a `debian:upload` to an upload queue.

As dput and dupload do: every file of the upload goes to the queue's
directory, the `.changes` last, so that the queue daemon, which acts on
`.changes` files, never sees one before the files it lists. With
`delayed_days` N the files go to the queue's `DELAYED/N-day` directory
(ftp-master's delayed queue).

Targets: `ftp://[user[:password]@]host[:port]/path/` (ftplib, anonymous by
default, passive mode, binary transfers) and `file:///path/` (a local queue
directory: files are written under temporary names and renamed into place
only once all are written, the `.changes` last). `sftp://` is not supported
yet: no SSH library is pinned.

Results: a queue that cannot be reached, refuses the login or a file, or
lacks the directory completes the task as `failure` (as upstream Debusine
does), with `output_data.errors` and what was already sent. Debusine's
side worked; the target the user gave, or the queue behind it, said no,
which the user can act on (fix the target, the credentials, the upload,
or retry later). What is wrong on this server's side (not a
`debian:upload`, a file missing from the store, an unsupported scheme)
raises, so the task completes as `error`, before anything is sent.
"""

from __future__ import annotations

import contextlib
import ftplib
import logging
import os
import posixpath
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import SplitResult, unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine.artifacts.categories import ArtifactCategory
from debusine.models import Artifact, FileInArtifact, FileInStore, FileStore
from debusine.models.files import FileStoreBackend
from debusine.orchestration.server_tasks import (
    Outcome,
    ServerTaskContext,
    ServerTaskFailed,
)
from debusine.storage import local_store

log = logging.getLogger(__name__)

# Seconds any one FTP operation (connect, a reply, a block of data) may take.
DEFAULT_TIMEOUT = 60.0
FTP_PORT = 21
CHANGES = ".changes"
# Mode of the files put in a local queue: its daemon may run as another user.
QUEUE_FILE_MODE = 0o644


class UploadFailed(Exception):
    """The queue did not take the upload; `code` names why."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


class Queue(Protocol):
    """Where an upload's files go, one at a time, `.changes` last."""

    sent: list[str]

    def send(self, name: str, source: Path) -> None: ...

    def finish(self) -> None:
        """All files were sent: make them visible to the queue daemon."""

    def close(self) -> None:
        """Release what the queue holds; undo what `finish` did not publish."""


# --- the files ---------------------------------------------------------------


def _upload_artifact(context: ServerTaskContext) -> Artifact:
    dynamic = context.work_request.dynamic_task_data or {}
    artifact_id = dynamic.get("upload_id")
    if artifact_id is None:
        return context.artifact(context.data["input"]["upload"])
    artifact = context.session.get(Artifact, artifact_id)
    if artifact is None:
        raise ServerTaskFailed(
            f"Artifact {artifact_id} to upload no longer exists", code="invalid-upload"
        )
    return artifact


def _stored_path(session: Session, file_in_artifact: FileInArtifact) -> Path:
    """Where the store keeps the file's bytes (the first local store that has it)."""
    file = file_in_artifact.file
    stores = session.scalars(
        select(FileStore)
        .join(FileInStore, FileInStore.store_id == FileStore.id)
        .where(FileInStore.file_id == file.id)
        .order_by(FileStore.id)
    )
    for store in stores:
        if store.backend != FileStoreBackend.LOCAL:
            continue
        path = local_store(store).path(file.hash_digest, file.size)
        if path.is_file():
            return path
    raise ServerTaskFailed(
        f"{file_in_artifact.path} of artifact {file_in_artifact.artifact_id}"
        " is in no local file store of this server",
        code="file-missing",
    )


def upload_files(session: Session, artifact: Artifact) -> list[tuple[str, Path]]:
    """The upload's files (name, stored path) in sending order: `.changes` last."""
    if artifact.category != ArtifactCategory.UPLOAD:
        raise ServerTaskFailed(
            f"Artifact {artifact.id} is a {artifact.category}, not a"
            f" {ArtifactCategory.UPLOAD}: only uploads can be sent to a queue",
            code="invalid-upload",
        )
    files = sorted(artifact.files, key=lambda f: (f.path.endswith(CHANGES), f.path))
    changes = [f.path for f in files if f.path.endswith(CHANGES)]
    if len(changes) != 1:
        raise ServerTaskFailed(
            f"Artifact {artifact.id} has {len(changes)} .changes files; an upload"
            " has exactly one",
            code="invalid-upload",
        )
    for file in files:
        if "/" in file.path or file.path.startswith("."):
            raise ServerTaskFailed(
                f"Artifact {artifact.id}: {file.path!r} is not a plain file name"
                " an upload queue takes",
                code="invalid-upload",
            )
        if not file.complete:
            raise ServerTaskFailed(
                f"{file.path} of artifact {artifact.id} is not uploaded yet",
                code="incomplete-upload",
            )
    return [(file.path, _stored_path(session, file)) for file in files]


# --- the target ----------------------------------------------------------------


def shown_target(parts: SplitResult) -> str:
    """The target URL without its password (it goes to output and logs)."""
    netloc = parts.hostname or ""
    if ":" in netloc:
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    if parts.username is not None:
        netloc = f"{parts.username}@{netloc}"
    return parts._replace(netloc=netloc).geturl()


def queue_directory(parts: SplitResult, delayed_days: int | None) -> str:
    """The directory the files go to: the target's, or its `DELAYED/N-day`."""
    directory = unquote(parts.path)
    if delayed_days is not None:
        directory = posixpath.join(directory, "DELAYED", f"{delayed_days}-day")
    return directory


class FtpQueue:
    """An FTP upload queue: passive mode, binary transfers."""

    def __init__(self, parts: SplitResult, directory: str, timeout: float) -> None:
        self.sent: list[str] = []
        self.host = parts.hostname or ""
        port = parts.port or FTP_PORT
        user = unquote(parts.username or "") or "anonymous"
        # The Debian upload queues speak plain FTP; the files are signed.
        self.ftp = ftplib.FTP(timeout=timeout)  # noqa: S321
        with self._closed_on_error(
            f"Cannot connect to the FTP server {self.host} port {port}",
            "connection-failed",
        ):
            self.ftp.connect(self.host, port)
        with self._closed_on_error(
            f"The FTP server {self.host} refused the login of {user!r}",
            "login-refused",
        ):
            # ftplib gives the conventional anonymous password when none is set.
            self.ftp.login(user, unquote(parts.password or ""))
            self.ftp.set_pasv(True)
        if directory:
            with self._closed_on_error(
                f"The FTP server {self.host} has no directory {directory!r}"
                " to upload to",
                "directory-missing",
            ):
                self.ftp.cwd(directory)

    @contextlib.contextmanager
    def _closed_on_error(self, message: str, code: str) -> Iterator[None]:
        """An FTP error while setting up closes the connection: UploadFailed."""
        try:
            yield
        except ftplib.all_errors as error:
            self.ftp.close()
            raise UploadFailed(f"{message}: {error}", code=code) from None

    def send(self, name: str, source: Path) -> None:
        with source.open("rb") as stream:
            try:
                self.ftp.storbinary(f"STOR {name}", stream)
            except ftplib.error_perm as error:
                raise UploadFailed(
                    f"The FTP server {self.host} refused {name}: {error}",
                    code="file-refused",
                ) from None
            except ftplib.all_errors as error:
                raise UploadFailed(
                    f"Sending {name} to the FTP server {self.host} failed: {error}",
                    code="transfer-failed",
                ) from None
        self.sent.append(name)

    def finish(self) -> None:
        # Every file was stored: a lost goodbye changes nothing.
        with contextlib.suppress(*ftplib.all_errors):
            self.ftp.quit()

    def close(self) -> None:
        self.ftp.close()


class DirectoryQueue:
    """A local queue directory: temporary names first, renamed at the end."""

    def __init__(self, directory: str) -> None:
        self.sent: list[str] = []
        self.directory = Path(directory)
        self._written: list[tuple[Path, str]] = []
        if not self.directory.is_dir():
            raise UploadFailed(
                f"The upload queue directory {directory} does not exist",
                code="directory-missing",
            )

    def send(self, name: str, source: Path) -> None:
        try:
            # A dot name a queue daemon ignores, unique among concurrent uploads.
            fd, temporary = tempfile.mkstemp(
                dir=self.directory, prefix=f".{name}.", suffix=".part"
            )
        except OSError as error:
            raise UploadFailed(
                f"Cannot write to the upload queue directory {self.directory}:"
                f" {error.strerror}",
                code="file-refused",
            ) from None
        self._written.append((Path(temporary), name))
        try:
            with os.fdopen(fd, "wb") as target, source.open("rb") as stream:
                shutil.copyfileobj(stream, target)
                target.flush()
                os.fsync(target.fileno())
            os.chmod(temporary, QUEUE_FILE_MODE)
        except OSError as error:
            raise UploadFailed(
                f"Writing {name} to {self.directory} failed: {error}",
                code="transfer-failed",
            ) from None

    def finish(self) -> None:
        # In sending order: the .changes, last, is renamed last.
        while self._written:
            temporary, name = self._written[0]
            try:
                os.replace(temporary, self.directory / name)
            except OSError as error:
                raise UploadFailed(
                    f"Putting {name} into {self.directory} failed: {error}",
                    code="transfer-failed",
                ) from None
            self._written.pop(0)
            self.sent.append(name)

    def close(self) -> None:
        for temporary, _ in self._written:
            temporary.unlink(missing_ok=True)
        self._written.clear()


def open_queue(parts: SplitResult, directory: str, timeout: float) -> Queue:
    if parts.scheme == "ftp":
        return FtpQueue(parts, directory, timeout)
    if parts.scheme == "file":
        return DirectoryQueue(directory)
    if parts.scheme == "sftp":
        raise ServerTaskFailed(
            "sftp:// upload targets are not supported by this server yet;"
            " use an ftp:// target (or file:// for a local queue directory)",
            code="sftp-not-supported",
        )
    raise ServerTaskFailed(
        f"{parts.scheme}:// upload targets are not supported",
        code="unsupported-target",
    )


# --- the task -------------------------------------------------------------------


def upload_package(
    context: ServerTaskContext, timeout: float = DEFAULT_TIMEOUT
) -> Outcome:
    """Send the upload's files to the target queue, `.changes` last."""
    files = upload_files(context.session, _upload_artifact(context))
    parts = urlsplit(context.data["target"])
    directory = queue_directory(parts, context.data["delayed_days"])
    target = shown_target(parts)
    output: dict[str, Any] = {
        "target": target,
        "directory": directory,
        "delayed_days": context.data["delayed_days"],
        "files": [name for name, _ in files],
    }
    sent: list[str] = []
    try:
        queue = open_queue(parts, directory, timeout)
        sent = queue.sent
        with contextlib.closing(queue):
            for name, source in files:
                log.info(
                    "packageupload %s: uploading %s to %s (%s)",
                    context.work_request.id,
                    name,
                    target,
                    directory,
                )
                queue.send(name, source)
            queue.finish()
    except UploadFailed as error:
        log.warning(
            "packageupload %s to %s failed: %s", context.work_request.id, target, error
        )
        return Outcome(
            success=False,
            output_data={
                **output,
                "uploaded": list(sent),
                "errors": [{"code": error.code, "message": str(error)}],
            },
        )
    log.info(
        "packageupload %s: %d files uploaded to %s",
        context.work_request.id,
        len(sent),
        target,
    )
    return Outcome(output_data={**output, "uploaded": list(sent)})


__all__ = [
    "DEFAULT_TIMEOUT",
    "DirectoryQueue",
    "FtpQueue",
    "UploadFailed",
    "open_queue",
    "queue_directory",
    "shown_target",
    "upload_files",
    "upload_package",
]
