"""What a file path inside an artifact may be.

Paths may contain directories (`foo/bar.txt`) but must stay inside the
artifact: no absolute paths, no `.` or `..` segments, no empty segments, no
NUL or other control characters, and at most ARTIFACT_PATH_MAX_LENGTH
characters (each segment at most 255 bytes, the usual file name limit).
"""

from __future__ import annotations

from debusine.errors import DomainError

ARTIFACT_PATH_MAX_LENGTH = 500
SEGMENT_MAX_BYTES = 255


class InvalidArtifactPath(DomainError):
    pass


def validate_artifact_path(path: str) -> str:
    """Return `path` if it is a valid artifact file path, else raise."""
    if not isinstance(path, str) or not path:
        raise InvalidArtifactPath("empty file path")
    if len(path) > ARTIFACT_PATH_MAX_LENGTH:
        raise InvalidArtifactPath(
            f"file path longer than {ARTIFACT_PATH_MAX_LENGTH} characters: "
            f"{path[:40]!r}..."
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in path):
        raise InvalidArtifactPath(f"file path with a control character: {path!r}")
    if path.startswith("/"):
        raise InvalidArtifactPath(f"absolute file path: {path!r}")
    for segment in path.split("/"):
        if segment == "":
            raise InvalidArtifactPath(f"file path with an empty segment: {path!r}")
        if segment in (".", ".."):
            raise InvalidArtifactPath(f"file path with a {segment!r} segment: {path!r}")
        if len(segment.encode()) > SEGMENT_MAX_BYTES:
            raise InvalidArtifactPath(
                f"file name longer than {SEGMENT_MAX_BYTES} bytes in {path[:40]!r}"
            )
    return path
