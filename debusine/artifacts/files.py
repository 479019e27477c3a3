"""Describing local files for an artifact: content type and sha256.

Shared by the Debian artifact builders and the client; it imports nothing
beyond the standard library, so the client stays light.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path

CHUNK_SIZE = 1024 * 1024

TEXT_SUFFIXES = (".dsc", ".changes", ".buildinfo", ".md")
DEB_SUFFIXES = (".deb", ".udeb", ".ddeb")
DEB_CONTENT_TYPE = "application/vnd.debian.binary-package"
TEXT_CONTENT_TYPE = "text/plain; charset=utf-8"


def content_type_for(name: str) -> str:
    """The content type a client declares for an artifact file."""
    if name.endswith(TEXT_SUFFIXES):
        return TEXT_CONTENT_TYPE
    if name.endswith(DEB_SUFFIXES):
        return DEB_CONTENT_TYPE
    guessed, encoding = mimetypes.guess_type(name, strict=False)
    if guessed is None or encoding is not None:
        # foo.tar.xz guesses as application/x-tar with encoding xz: the bytes
        # are not a tar, so do not claim it.
        return "application/octet-stream"
    if guessed.startswith("text/"):
        return f"{guessed}; charset=utf-8"
    return guessed


def size_and_sha256(path: Path) -> tuple[int, str]:
    """Size and sha256 hex digest of `path`, read in chunks; raises OSError."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
            size += len(chunk)
    return size, digest.hexdigest()
