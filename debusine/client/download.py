"""Downloading an artifact: each file, or all of them as a tar.gz.

Files are streamed to a temporary file beside their target, hashed on the
way, and renamed only when their size and sha256 are the ones the server
declared. A tarball is read with `tarfile` as a stream: only regular files
whose names are safe relative paths (no absolute path, no `..`, nothing
leading outside the target directory) are written, each verified the same way.
"""

from __future__ import annotations

import hashlib
import os
import tarfile
import tempfile
import zlib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import IO, Any

from debusine.client.errors import ClientError
from debusine.client.http import APIClient
from debusine.client.progress import Progress

CHUNK_SIZE = 1024 * 1024
# Upstream's heuristic (`Debusine._should_download_as_tarball`).
TARBALL_MAX_FILE_SIZE = 20 * 1024 * 1024
TARBALL_MAX_TOTAL_SIZE = 100 * 1024 * 1024


def safe_destination(target: Path, path: str) -> Path:
    """Where artifact file `path` goes under `target`, refusing escapes."""
    segments = path.split("/")
    if (
        not path
        or "\0" in path
        or path.startswith("/")
        or any(segment in ("", ".", "..") for segment in segments)
    ):
        raise ClientError(f"refusing to write {path!r}: not a safe relative path")
    destination = target.joinpath(*segments)
    root = target.resolve()
    if not destination.parent.resolve().is_relative_to(root):
        raise ClientError(f"refusing to write {path!r}: it leads outside {target}")
    return destination


def should_use_tarball(files: Mapping[str, Any]) -> bool:
    sizes = [int(spec.get("size", 0)) for spec in files.values()]
    return (
        len(sizes) > 1
        and max(sizes) <= TARBALL_MAX_FILE_SIZE
        and sum(sizes) < TARBALL_MAX_TOTAL_SIZE
    )


def _umask() -> int:
    """The process's umask (reading it means setting it: put it back at once)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_verified(
    source: Iterable[bytes],
    destination: Path,
    expected: Mapping[str, Any] | None,
    on_write: Any = None,
) -> None:
    """Write `source` beside `destination`, check it, then rename it there."""
    destination.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    size = 0
    fd, temporary = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    try:
        with os.fdopen(fd, "wb") as out:
            for chunk in source:
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if on_write is not None:
                    on_write(len(chunk))
        if expected is not None:
            want_size = expected.get("size")
            want_sha256 = (expected.get("checksums") or {}).get("sha256")
            if want_size is not None and size != want_size:
                raise ClientError(
                    f"{destination}: received {size} bytes, expected {want_size}"
                )
            if want_sha256 and digest.hexdigest() != want_sha256.lower():
                raise ClientError(
                    f"{destination}: sha256 {digest.hexdigest()} does not match "
                    f"the artifact's {want_sha256}"
                )
        # mkstemp made it 0600: give it the mode any new file gets.
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, destination)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _read_chunks(stream: IO[bytes]) -> Iterable[bytes]:
    while chunk := stream.read(CHUNK_SIZE):
        yield chunk


class Downloader:
    def __init__(self, client: APIClient, progress: Progress) -> None:
        self.client = client
        self.progress = progress

    def _stream(self, url: str) -> Any:
        # As upstream: the Token (from the session), no scope header.
        response = self.client.send("GET", url, stream=True)
        self.client.check(response, (200,))
        return response

    def download_file(
        self, url: str, destination: Path, spec: Mapping[str, Any]
    ) -> None:
        task = self.progress.add(destination.name, spec.get("size"))
        with self._stream(url) as response:
            try:
                _write_verified(
                    response.iter_content(CHUNK_SIZE),
                    destination,
                    spec,
                    lambda n: self.progress.advance(task, n),
                )
            except OSError as error:
                raise ClientError(f"cannot write {destination}: {error}") from None

    def save_tarball(self, url: str, destination: Path) -> None:
        task = self.progress.add(destination.name, None)
        with self._stream(url) as response:
            try:
                _write_verified(
                    response.iter_content(CHUNK_SIZE),
                    destination,
                    None,
                    lambda n: self.progress.advance(task, n),
                )
            except OSError as error:
                raise ClientError(f"cannot write {destination}: {error}") from None

    def extract_tarball(
        self, url: str, target: Path, files: Mapping[str, Any]
    ) -> list[str]:
        """Extract the artifact's tar.gz into `target`; the paths written."""
        total = sum(int(spec.get("size", 0)) for spec in files.values())
        task = self.progress.add(f"{target}/", total)
        written: list[str] = []
        with self._stream(url) as response:
            try:
                with tarfile.open(fileobj=response.raw, mode="r|gz") as tar:
                    for member in tar:
                        if member.isdir():
                            continue
                        if not member.isreg():
                            raise ClientError(
                                f"refusing to extract {member.name!r}: not a "
                                "regular file"
                            )
                        if member.name not in files:
                            raise ClientError(
                                f"refusing to extract {member.name!r}: not a file "
                                "of the artifact"
                            )
                        destination = safe_destination(target, member.name)
                        stream = tar.extractfile(member)
                        assert stream is not None  # a regular file
                        _write_verified(
                            _read_chunks(stream),
                            destination,
                            files[member.name],
                            lambda n: self.progress.advance(task, n),
                        )
                        written.append(member.name)
            except (tarfile.TarError, EOFError, zlib.error) as error:
                raise ClientError(
                    f"the tarball from {url} is invalid: {error}"
                ) from None
            except OSError as error:
                raise ClientError(f"cannot extract into {target}: {error}") from None
        missing = sorted(set(files) - set(written))
        if missing:
            raise ClientError(f"the tarball from {url} lacks {', '.join(missing)}")
        return written
