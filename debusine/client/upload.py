"""Creating an artifact and uploading its files (client-protocol §2).

For each file the server lists in `files_to_upload`:

1. probe with `PUT .../files/PATH/` and `Content-Range: bytes */SIZE`:
   200 means complete, 206 with `Range: bytes=0-N` means N bytes are there;
2. send the rest in chunks of at most 50 MiB with
   `Content-Range: bytes START-END/SIZE`: 200 with `Range: bytes=0-N` means
   go on from N, 201 means complete and verified, 409 means the hash did not
   match (the server dropped what it had): start the file again, 3 tries;
3. a connection failure is retried 3 times (after a pause), from a new probe.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from debusine.client.errors import ClientError
from debusine.client.http import APIClient, ConnectionFailed
from debusine.client.progress import Progress

MAX_CHUNK_SIZE = 50 * 1024 * 1024
HASH_MISMATCH_ATTEMPTS = 3
CONNECTION_RETRIES = 3
RETRY_DELAY = 5.0
RANGE_RE = re.compile(r"^bytes=0-(\d+)$")


class _HashMismatch(Exception):
    pass


# Pieces handed to the socket: large, so that a 50 MiB chunk costs a few
# dozen Python calls (a file-like body is read 16 KiB at a time by urllib3).
SEND_PIECE_SIZE = 4 * 1024 * 1024


class ChunkBody:
    """`length` bytes of `file` from `start`, read as requests sends them.

    An iterable with a length and no `read`: requests then sends a
    Content-Length and urllib3 writes each piece as it is read.
    """

    def __init__(
        self, file: IO[bytes], start: int, length: int, on_read: Callable[[int], None]
    ) -> None:
        self.file = file
        self.start = start
        self.length = length
        self.on_read = on_read

    def __len__(self) -> int:
        return self.length

    def __iter__(self) -> Iterator[bytes]:
        self.file.seek(self.start)
        remaining = self.length
        while remaining > 0:
            data = self.file.read(min(SEND_PIECE_SIZE, remaining))
            if not data:
                raise ClientError(
                    f"{self.file.name}: the file became shorter while sent"
                )
            remaining -= len(data)
            self.on_read(len(data))
            yield data


def _received(response: Any, url: str) -> int:
    header = response.headers.get("Range")
    match = RANGE_RE.match(header.strip()) if header else None
    if match is None:
        raise ClientError(
            f"the server's answer to PUT {url} (HTTP {response.status_code}) "
            f"has no valid Range header ({header!r})"
        )
    return int(match[1])


class Uploader:
    def __init__(
        self,
        client: APIClient,
        progress: Progress,
        *,
        chunk_size: int = MAX_CHUNK_SIZE,
        retry_delay: float = RETRY_DELAY,
    ) -> None:
        self.client = client
        self.progress = progress
        self.chunk_size = chunk_size
        self.retry_delay = retry_delay

    def upload(self, artifact_id: int, path: str, local: Path, size: int) -> None:
        """Upload one file of an artifact, resuming what the server has."""
        url = self.client.url(f"/artifact/{artifact_id}/files/{quote(path)}/")
        task = self.progress.add(path, size)
        for _attempt in range(HASH_MISMATCH_ATTEMPTS):
            try:
                self._upload_once(url, local, size, task)
                return
            except _HashMismatch:
                continue
        raise ClientError(
            f"upload of {path} failed: the server received content that does not "
            f"match its sha256 {HASH_MISMATCH_ATTEMPTS} times (did {local} change?)"
        )

    def _put(self, url: str, headers: Mapping[str, str], body: Any) -> Any:
        return self.client.send("PUT", url, headers=dict(headers), data=body)

    def _upload_once(self, url: str, local: Path, size: int, task: int) -> None:
        failures = 0
        offset: int | None = None  # None: ask the server (probe)
        try:
            file = local.open("rb")
        except OSError as error:
            raise ClientError(f"cannot read {local}: {error.strerror}") from None
        with file:
            while True:
                try:
                    if offset is None:
                        response = self._put(
                            url, {"Content-Range": f"bytes */{size}"}, b""
                        )
                        if response.status_code == 200:
                            self.progress.reset(task, size)
                            return
                        if response.status_code != 206:
                            self.client.check(response, ())
                        offset = _received(response, url)
                        self.progress.reset(task, offset)
                        continue
                    if offset >= size:
                        raise ClientError(
                            f"PUT {url}: the server has all {size} bytes but does "
                            "not report the file complete"
                        )
                    end = min(offset + self.chunk_size, size) - 1
                    body = ChunkBody(
                        file,
                        offset,
                        end - offset + 1,
                        lambda n: self.progress.advance(task, n),
                    )
                    response = self._put(
                        url, {"Content-Range": f"bytes {offset}-{end}/{size}"}, body
                    )
                except ConnectionFailed:
                    failures += 1
                    if failures > CONNECTION_RETRIES:
                        raise
                    time.sleep(self.retry_delay)
                    offset = None
                    continue
                failures = 0
                status = response.status_code
                if status == 201:
                    self.progress.reset(task, size)
                    return
                if status == 200:
                    offset = _received(response, url)
                    self.progress.reset(task, offset)
                elif status == 409:
                    self.progress.reset(task, 0)
                    raise _HashMismatch
                else:
                    self.client.check(response, ())


def create_artifact(
    client: APIClient,
    body: Mapping[str, Any],
    local_files: Mapping[str, Path],
    uploader: Uploader,
) -> dict[str, Any]:
    """POST the artifact, then upload every file the server asks for."""
    artifact = client.post("/artifact/", body, expected=(201,))
    if (
        not isinstance(artifact, dict)
        or not isinstance(artifact.get("id"), int)
        or not isinstance(artifact.get("files_to_upload"), list)
    ):
        raise ClientError("the server's answer to POST /artifact/ is not an artifact")
    for path in artifact["files_to_upload"]:
        if path not in local_files:
            raise ClientError(
                f"the server asks for file {path!r} of artifact {artifact['id']}, "
                "which was not declared"
            )
        uploader.upload(
            artifact["id"], path, local_files[path], body["files"][path]["size"]
        )
    return artifact
