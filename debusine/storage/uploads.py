"""Partial uploads: one temporary file per file of an artifact being uploaded.

The temporary file's length *is* the number of bytes received: chunks are
appended in order, and a chunk that arrives short is cut off again, so the
file on disk is always a prefix of what the client sends. Its path is fixed
by the FileInArtifact id, so a rolled-back transaction cannot lose track of
it.

The sha256 is computed on the way in. Python cannot save a hash state, so a
process keeps, per upload, the state after the last chunk it wrote; a chunk
that arrives at another process (or after a restart) re-reads the prefix
once to rebuild it. The result is the same either way.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import BinaryIO, NoReturn

from debusine.storage.local import HashMismatch, LocalStore, Readable, hash_file

# file_in_artifact id -> (bytes hashed, hash state); bounded, least recent out.
_HASH_CACHE_SIZE = 256
_hash_cache: OrderedDict[int, tuple[int, hashlib._Hash]] = OrderedDict()
_hash_cache_lock = threading.Lock()


# Request body reads: large enough that a 50 MiB chunk is a few dozen reads,
# hash updates (which release the GIL) and writes.
READ_SIZE = 4 * 1024 * 1024


def _write_all(target: BinaryIO, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = target.write(view)
        view = view[written or 0 :]


class UploadGone(ValueError):
    """The data received so far was removed (the upload was abandoned)."""


class ShortChunk(ValueError):
    """The request body was shorter or longer than its Content-Range said."""


def _cached_hash(key: int, offset: int) -> hashlib._Hash | None:
    with _hash_cache_lock:
        entry = _hash_cache.get(key)
        if entry is None or entry[0] != offset:
            return None
        return entry[1].copy()


def _remember_hash(key: int, offset: int, hasher: hashlib._Hash) -> None:
    with _hash_cache_lock:
        _hash_cache[key] = (offset, hasher)
        _hash_cache.move_to_end(key)
        while len(_hash_cache) > _HASH_CACHE_SIZE:
            _hash_cache.popitem(last=False)


def _forget_hash(key: int) -> None:
    with _hash_cache_lock:
        _hash_cache.pop(key, None)


class PartialUpload:
    """The upload in progress of one FileInArtifact into `store`."""

    def __init__(self, store: LocalStore, file_in_artifact_id: int) -> None:
        self.store = store
        self.key = file_in_artifact_id
        self.path = store.tmp_directory / f"upload-{file_in_artifact_id}"

    def received(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def discard(self) -> None:
        _forget_hash(self.key)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def append(self, start: int, body: Readable, length: int) -> int:
        """Write `length` bytes of `body` at `start`; the new received count.

        `start` must be the current received count (the caller checks it).
        A body of the wrong length raises ShortChunk and leaves the file as
        it was before the call.
        """
        self.store.ensure_tmp_directory()
        hasher = _cached_hash(self.key, start)
        if hasher is None:
            hasher = hash_file(self.path, start) if start else hashlib.sha256()
        # Never create the file past its start: if expiry removed it after
        # the caller counted it, a new file would start with a hole.
        flags = os.O_WRONLY | (os.O_CREAT if start == 0 else 0)
        try:
            fd = os.open(self.path, flags, 0o600)
        except FileNotFoundError:
            self._gone()
        # Unbuffered: each large read goes to the file in one write.
        with os.fdopen(fd, "wb", buffering=0) as target:
            if os.fstat(fd).st_size != start:
                self._gone()
            target.seek(start)
            written = 0
            while written < length + 1:
                chunk = body.read(min(READ_SIZE, length + 1 - written))
                if not chunk:
                    break
                hasher.update(chunk)
                _write_all(target, chunk)
                written += len(chunk)
            if written != length:
                target.truncate(start)
                got = f"only {written}" if written < length else "more than"
                raise ShortChunk(
                    f"The request body has {got} bytes, but its Content-Range "
                    f"announces {length}"
                )
            target.truncate(start + length)
        _remember_hash(self.key, start + length, hasher)
        return start + length

    def finish(self, sha256: str, size: int) -> Path:
        """Move the complete upload into the store, if its hash matches.

        On a mismatch the partial data is discarded (the client restarts
        the file) and HashMismatch is raised.
        """
        hasher = _cached_hash(self.key, size)
        if hasher is None:
            hasher = hash_file(self.path, size)
        received = self.received()
        if received != size or hasher.hexdigest() != sha256.lower():
            self.discard()
            raise HashMismatch(sha256, size, hasher.hexdigest(), received)
        _forget_hash(self.key)
        try:
            return self.store.add_verified_file(self.path, sha256, size)
        except FileNotFoundError:
            # Removed (by expiry) after it was hashed: nothing is stored.
            self._gone()

    def _gone(self) -> NoReturn:
        _forget_hash(self.key)
        raise UploadGone(
            "the data received for this file was removed (idle upload expired)"
        )
