"""The application factory's own policies."""

from __future__ import annotations

import pytest
from pyramid.request import Request

from debusine import retry_attempts


@pytest.mark.parametrize(
    ("method", "path", "expected"),
    [
        ("PUT", "/api/1.0/artifact/12/files/hello.dsc/", 1),
        ("PUT", "/api/1.0/artifact/12/files/dir/x.deb/", 1),
        ("POST", "/api/1.0/artifact/", None),
        ("GET", "/api/1.0/artifact/12/files/x/", None),
        ("PUT", "/api/1.0/workspace/x/", None),
    ],
)
def test_uploads_are_not_retried(method: str, path: str, expected: int | None) -> None:
    request = Request.blank(path, method=method)
    assert retry_attempts(request) == expected
