"""Artifact file path rules."""

from __future__ import annotations

import pytest

from debusine.artifacts.paths import InvalidArtifactPath, validate_artifact_path


@pytest.mark.parametrize(
    "path", ["hello_1.0.dsc", "dir/sub/file.txt", "a" * 255, "with space.txt", "ü.txt"]
)
def test_valid_paths(path: str) -> None:
    assert validate_artifact_path(path) == path


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("", "empty file path"),
        ("/etc/passwd", "absolute"),
        ("../x", "'..' segment"),
        ("a/../b", "'..' segment"),
        ("./a", "'.' segment"),
        ("a//b", "empty segment"),
        ("a/", "empty segment"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("a" * 256, "longer than 255 bytes"),
        ("d/" * 250 + "x", "longer than 500 characters"),
    ],
)
def test_invalid_paths(path: str, message: str) -> None:
    with pytest.raises(InvalidArtifactPath, match=message):
        validate_artifact_path(path)
