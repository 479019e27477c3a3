"""A local content-addressed file store: files named by their sha256 and size.

A file lives at `<base>/<sha[0:2]>/<sha[2:4]>/<sha>_<size>`. New content is
streamed into a temporary file under `<base>/tmp/` (same filesystem, so the
final `os.replace` is atomic), hashed on the way, fsynced, and moved into
place only if its sha256 and size are the declared ones. Reads and writes go
through CHUNK_SIZE buffers, so memory stays flat whatever the file size.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

CHUNK_SIZE = 1 << 20


class Readable(Protocol):
    def read(self, size: int = -1, /) -> bytes: ...


class HashMismatch(ValueError):
    """The content does not have the declared sha256 and size."""

    def __init__(
        self, expected_sha256: str, expected_size: int, sha256: str, size: int
    ) -> None:
        super().__init__(
            f"expected sha256 {expected_sha256} and size {expected_size}, "
            f"received sha256 {sha256} and size {size}"
        )
        self.expected_sha256 = expected_sha256
        self.expected_size = expected_size
        self.sha256 = sha256
        self.size = size


def copy_stream(
    source: Readable,
    target: BinaryIO,
    hasher: hashlib._Hash | None = None,
    limit: int | None = None,
) -> int:
    """Copy `source` into `target` (at most `limit` bytes); the count copied."""
    copied = 0
    while limit is None or copied < limit:
        want = CHUNK_SIZE if limit is None else min(CHUNK_SIZE, limit - copied)
        chunk = source.read(want)
        if not chunk:
            break
        if hasher is not None:
            hasher.update(chunk)
        target.write(chunk)
        copied += len(chunk)
    return copied


def hash_file(path: Path, limit: int | None = None) -> hashlib._Hash:
    """The sha256 state of the first `limit` bytes of `path` (all by default)."""
    hasher = hashlib.sha256()
    remaining = limit
    with path.open("rb") as stream:
        while remaining is None or remaining > 0:
            want = CHUNK_SIZE if remaining is None else min(CHUNK_SIZE, remaining)
            chunk = stream.read(want)
            if not chunk:
                break
            hasher.update(chunk)
            if remaining is not None:
                remaining -= len(chunk)
    return hasher


class LocalStore:
    """The files of one `Local` FileStore, under `base_directory`."""

    def __init__(self, base_directory: Path | str) -> None:
        self.base_directory = Path(base_directory)

    @property
    def tmp_directory(self) -> Path:
        return self.base_directory / "tmp"

    def ensure_tmp_directory(self) -> Path:
        self.tmp_directory.mkdir(parents=True, exist_ok=True)
        return self.tmp_directory

    def remove_stale_temporary_files(self, older_than: float) -> int:
        """Remove files under tmp/ not modified since `older_than` (epoch).

        They are what abandoned uploads left; a live upload writes to its
        file at every chunk. How many were removed.
        """
        removed = 0
        try:
            entries = list(os.scandir(self.tmp_directory))
        except FileNotFoundError:
            return 0
        for entry in entries:
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                if entry.stat(follow_symlinks=False).st_mtime >= older_than:
                    continue
                os.unlink(entry.path)
            except FileNotFoundError:
                continue
            removed += 1
        return removed

    def path(self, sha256: str, size: int) -> Path:
        sha256 = sha256.lower()
        return self.base_directory / sha256[0:2] / sha256[2:4] / f"{sha256}_{size}"

    def exists(self, sha256: str, size: int) -> bool:
        return self.path(sha256, size).is_file()

    def remove(self, sha256: str, size: int) -> bool:
        """Delete a stored file; False if it was not there."""
        try:
            self.path(sha256, size).unlink()
        except FileNotFoundError:
            return False
        return True

    def add_stream(self, source: Readable, sha256: str, size: int) -> Path:
        """Store the content of `source`, which must have this sha256 and size.

        On a mismatch nothing is stored, the temporary file is removed, and
        HashMismatch is raised. Reads at most size + 1 bytes of `source`.
        """
        tmp = self.ensure_tmp_directory()
        fd, name = tempfile.mkstemp(dir=tmp, prefix="add-")
        temp = Path(name)
        try:
            hasher = hashlib.sha256()
            with os.fdopen(fd, "wb") as target:
                copied = copy_stream(source, target, hasher, limit=size + 1)
                target.flush()
                os.fsync(target.fileno())
            if copied != size or hasher.hexdigest() != sha256.lower():
                raise HashMismatch(sha256, size, hasher.hexdigest(), copied)
            return self.add_verified_file(temp, sha256, size)
        finally:
            with contextlib.suppress(FileNotFoundError):
                temp.unlink()

    def add_verified_file(self, temp: Path, sha256: str, size: int) -> Path:
        """Move `temp`, already checked to have this sha256 and size, into place.

        `temp` must be on the store's filesystem (under tmp_directory). If
        the content is already stored, `temp` is simply removed.
        """
        final = self.path(sha256, size)
        if final.is_file():
            temp.unlink()
            return final
        with temp.open("rb") as stream:
            os.fsync(stream.fileno())
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(temp, final)
        return final

    def read(
        self, sha256: str, size: int, start: int = 0, stop: int | None = None
    ) -> Iterator[bytes]:
        """The bytes [start, stop) of a stored file, in CHUNK_SIZE pieces."""
        stop = size if stop is None else min(stop, size)
        with self.path(sha256, size).open("rb") as stream:
            stream.seek(start)
            remaining = stop - start
            while remaining > 0:
                chunk = stream.read(min(CHUNK_SIZE, remaining))
                if not chunk:
                    raise OSError(
                        f"stored file {sha256}_{size} is shorter than its size"
                    )
                remaining -= len(chunk)
                yield chunk
