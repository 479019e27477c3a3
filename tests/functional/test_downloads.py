"""/{scope}/{workspace}/artifact/{id}/download/: files, ranges and tar.gz."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path
from typing import Any

import pytest
import webtest
from sqlalchemy.orm import Session

from tests.storage.helpers import (
    World,
    create_artifact,
    make_world,
    sha256,
    upload,
)

FILES = {
    "hello_1.0.dsc": b"Format: 3.0 (quilt)\n",
    "sub/dir/data.bin": bytes(range(256)) * 20,
    "empty": b"",
    "p" * 120 + "/long-name": b"long path member",
}


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_settings, "debusine.data_dir": str(tmp_path)}


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


def uploaded(
    app: webtest.TestApp, token: str, files: dict[str, bytes], **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = create_artifact(app, token, files, **extra).json
    for path in body["files_to_upload"]:
        upload(app, token, body["id"], path, files[path], status=201)
    return body


def test_download_file(webapp: webtest.TestApp, world: World) -> None:
    spec = {
        "size": 4,
        "checksums": {"sha256": sha256(b"abcd")},
        "content_type": "text/plain; charset=utf-8",
    }
    body = webapp.post_json(
        "/api/1.0/artifact/",
        {"category": "c", "files": {"a.dsc": spec}},
        headers={"Token": world.contributor},
    ).json
    upload(webapp, world.contributor, body["id"], "a.dsc", b"abcd", status=201)
    response = webapp.get(body["files"]["a.dsc"]["url"])
    assert response.body == b"abcd"
    assert response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Content-Length"] == "4"
    # Same content, already complete in the workspace at creation.
    other = create_artifact(webapp, world.contributor, {"b": b"abcd"}).json
    assert other["files_to_upload"] == []
    response = webapp.get(other["files"]["b"]["url"], headers={"Token": world.viewer})
    assert response.headers["Content-Type"] == "application/octet-stream"
    assert response.body == b"abcd"
    head = webapp.head(other["files"]["b"]["url"])
    assert head.headers["Content-Length"] == "4"


def test_download_nested_path_and_empty(webapp: webtest.TestApp, world: World) -> None:
    body = uploaded(webapp, world.contributor, FILES)
    for path, data in FILES.items():
        response = webapp.get(body["files"][path]["url"])
        assert response.body == data


def test_download_range(webapp: webtest.TestApp, world: World) -> None:
    data = bytes(range(256)) * 20
    body = uploaded(webapp, world.contributor, {"f": data})
    url = body["files"]["f"]["url"]
    response = webapp.get(url, headers={"Range": "bytes=10-19"}, status=206)
    assert response.body == data[10:20]
    assert response.headers["Content-Range"] == f"bytes 10-19/{len(data)}"
    assert response.headers["Content-Length"] == "10"
    response = webapp.get(url, headers={"Range": "bytes=5000-"}, status=206)
    assert response.body == data[5000:]
    response = webapp.get(url, headers={"Range": "bytes=-7"}, status=206)
    assert response.body == data[-7:]
    response = webapp.get(url, headers={"Range": "bytes=99999-"}, status=416)
    assert response.headers["Content-Range"] == f"bytes */{len(data)}"
    assert webapp.get(url).headers["Accept-Ranges"] == "bytes"


def test_download_tar_gz(webapp: webtest.TestApp, world: World) -> None:
    body = uploaded(webapp, world.contributor, FILES)
    response = webapp.get(body["download_tar_gz_url"])
    assert response.headers["Content-Type"] == "application/gzip"
    with tarfile.open(fileobj=io.BytesIO(response.body), mode="r:gz") as tar:
        names = tar.getnames()
        assert sorted(names) == sorted(FILES)
        for name, data in FILES.items():
            member = tar.extractfile(name)
            assert member is not None
            assert member.read() == data


def test_download_tar_gz_empty_artifact(webapp: webtest.TestApp, world: World) -> None:
    body = uploaded(webapp, world.contributor, {})
    response = webapp.get(body["download_tar_gz_url"])
    with tarfile.open(fileobj=io.BytesIO(response.body), mode="r:gz") as tar:
        assert tar.getnames() == []


def test_download_errors(webapp: webtest.TestApp, world: World) -> None:
    body = create_artifact(webapp, world.contributor, {"f": b"1", "g": b"2"}).json
    base = f"/debusine/System/artifact/{body['id']}/download/"
    upload(webapp, world.contributor, body["id"], "g", b"2", status=201)
    # Not uploaded yet.
    webapp.get(base + "f", status=404)
    webapp.get(base + "nope", status=404)
    response = webapp.get(base, status=400)
    assert response.headers["Content-Type"] == "application/problem+json"
    webapp.get(f"/debusine/Private/artifact/{body['id']}/download/g", status=404)
    webapp.get(f"/other/System/artifact/{body['id']}/download/g", status=404)
    webapp.get("/debusine/System/artifact/999999/download/g", status=404)
    # Incomplete files are left out of the tarball.
    response = webapp.get(body["download_tar_gz_url"])
    with tarfile.open(fileobj=io.BytesIO(response.body), mode="r:gz") as tar:
        assert tar.getnames() == ["g"]


def test_download_private_is_404(webapp: webtest.TestApp, world: World) -> None:
    body = uploaded(webapp, world.worker, {"f": b"secret"}, workspace="Private")
    url = body["files"]["f"]["url"]
    for token in (None, world.nobody, world.contributor, world.owner):
        headers = {"Token": token} if token else {}
        response = webapp.get(url, headers=headers, status=404)
        assert b"secret" not in response.body
        webapp.get(body["download_tar_gz_url"], headers=headers, status=404)
    assert webapp.get(url, headers={"Token": world.worker}).body == b"secret"
