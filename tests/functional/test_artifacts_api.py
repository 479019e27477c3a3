"""POST/GET /api/1.0/artifact/ and the upload protocol, over HTTP."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

import pytest
import webtest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from debusine import models
from debusine.storage import LocalStore
from tests.factories import WorkRequestFactory
from tests.storage.helpers import (
    World,
    create_artifact,
    file_spec,
    make_world,
    sha256,
    upload,
)


@pytest.fixture
def app_settings(app_settings: dict[str, Any], tmp_path: Path) -> dict[str, Any]:
    return {**app_settings, "debusine.data_dir": str(tmp_path)}


@pytest.fixture
def world(db_session: Session) -> World:
    return make_world()


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def stored_files(store: LocalStore) -> list[Path]:
    if not store.base_directory.exists():
        return []
    return sorted(
        p
        for p in store.base_directory.rglob("*")
        if p.is_file() and "tmp" not in p.relative_to(store.base_directory).parts
    )


def count(db: Session, model: type) -> int:
    return db.scalar(select(func.count()).select_from(model)) or 0


# --- create -------------------------------------------------------------


def test_create_response_shape(webapp: webtest.TestApp, world: World) -> None:
    data = b"hello\n"
    response = webapp.post_json(
        "/api/1.0/artifact/",
        {
            "category": "debusine:test",
            "workspace": "System",
            "files": {"dir/a.txt": file_spec(data, "text/plain; charset=utf-8")},
            "data": {"name": "hello"},
            "work_request": None,
            "expire_at": None,
            "unknown_key": "ignored",
        },
        headers={"Token": world.contributor},
        status=201,
    )
    body = response.json
    artifact_id = body["id"]
    base = f"http://testserver/debusine/System/artifact/{artifact_id}/download/"
    assert body["url"] == f"/debusine/System/artifact/{artifact_id}/"
    assert body["workspace"] == "System"
    assert body["scope"] == "debusine"
    assert body["category"] == "debusine:test"
    assert body["data"] == {"name": "hello"}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z", body["created_at"])
    assert body["download_tar_gz_url"] == base + "?archive=tar.gz"
    assert body["files_to_upload"] == ["dir/a.txt"]
    assert body["expire_at"] is None
    assert body["files"] == {
        "dir/a.txt": {
            "size": 6,
            "checksums": {"sha256": sha256(data)},
            "type": "file",
            "url": base + "dir/a.txt",
            "content_type": "text/plain; charset=utf-8",
        }
    }


def test_create_default_workspace_and_created_by(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    body = create_artifact(webapp, world.contributor, {"a": b"x"}).json
    artifact = db_session.get(models.Artifact, body["id"])
    assert artifact is not None
    assert artifact.workspace_id == world.system.id
    assert artifact.created_by is not None


def test_create_zero_size_and_known_files_are_complete(
    webapp: webtest.TestApp, world: World
) -> None:
    first = create_artifact(webapp, world.contributor, {"a": b"known"}).json
    assert first["files_to_upload"] == ["a"]
    upload(webapp, world.contributor, first["id"], "a", b"known", status=201)
    second = create_artifact(
        webapp, world.contributor, {"b": b"known", "empty": b"", "c": b"new"}
    ).json
    assert second["files_to_upload"] == ["c"]
    # Not yet complete anywhere: still to upload.
    third = create_artifact(webapp, world.contributor, {"c": b"new"}).json
    assert third["files_to_upload"] == ["c"]


def test_known_file_in_another_workspace_must_be_uploaded(
    webapp: webtest.TestApp, world: World
) -> None:
    from tests.storage.helpers import grant

    first = create_artifact(webapp, world.contributor, {"a": b"known"}).json
    upload(webapp, world.contributor, first["id"], "a", b"known", status=201)
    token = grant(world.private, models.WorkspaceRoles.CONTRIBUTOR)
    other = create_artifact(webapp, token, {"a": b"known"}, workspace="Private")
    assert other.json["files_to_upload"] == ["a"]


def test_create_expire_at(webapp: webtest.TestApp, world: World) -> None:
    when = dt.datetime.now(dt.UTC) + dt.timedelta(days=2)
    body = create_artifact(
        webapp, world.contributor, {}, expire_at=when.isoformat()
    ).json
    assert body["expire_at"] is not None
    assert body["expire_at"].endswith("Z")
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    create_artifact(
        webapp, world.contributor, {}, expire_at=past.isoformat(), status=400
    )


@pytest.mark.parametrize(
    "path", ["/abs", "a/../b", "a//b", "./a", "a/", "", "x" * 501, "a\nb"]
)
def test_create_bad_path_is_400_nothing_stored(
    webapp: webtest.TestApp, world: World, db_session: Session, path: str
) -> None:
    before = count(db_session, models.Artifact)
    response = create_artifact(
        webapp, world.contributor, {"good": b"1", path: b"2"}, status=400
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    assert count(db_session, models.Artifact) == before
    assert count(db_session, models.File) == 0


@pytest.mark.parametrize(
    "body",
    [
        {"files": {}},
        {"category": "c", "files": {"a": {"size": -1, "checksums": {"sha256": "0"}}}},
        {"category": "c", "files": {"a": {"size": 1, "checksums": {"sha256": "zz"}}}},
        {"category": "c", "files": {"a": {"size": 1}}},
        {"category": "c", "data": []},
        {"category": "c", "files": {"a": {"size": "1", "checksums": {}}}},
    ],
)
def test_create_invalid_body_is_400(
    webapp: webtest.TestApp, world: World, db_session: Session, body: dict[str, Any]
) -> None:
    response = webapp.post_json(
        "/api/1.0/artifact/", body, headers={"Token": world.contributor}, status=400
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "validation_errors" in response.json
    assert count(db_session, models.Artifact) == 0


def test_create_not_json_is_400(webapp: webtest.TestApp, world: World) -> None:
    webapp.post(
        "/api/1.0/artifact/",
        b"{not json",
        headers={"Token": world.contributor, "Content-Type": "application/json"},
        status=400,
    )


def test_create_permissions(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    response = webapp.post_json("/api/1.0/artifact/", {"category": "c"}, status=403)
    assert response.headers["Content-Type"] == "application/problem+json"
    create_artifact(webapp, world.nobody, {}, status=403)
    create_artifact(webapp, world.viewer, {}, status=403)
    create_artifact(webapp, world.contributor, {}, status=201)
    create_artifact(webapp, world.owner, {}, status=201)
    create_artifact(webapp, world.worker, {}, status=201)
    # A private workspace the caller cannot see does not exist for them.
    response = create_artifact(
        webapp, world.contributor, {}, workspace="Private", status=404
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    create_artifact(webapp, world.contributor, {}, workspace="Nope", status=404)
    create_artifact(webapp, world.worker, {}, workspace="Private", status=201)


def test_create_work_request_only_for_workers(
    webapp: webtest.TestApp, world: World, db_session: Session
) -> None:
    work_request = WorkRequestFactory(workspace=world.system)
    create_artifact(
        webapp, world.contributor, {}, work_request=work_request.id, status=403
    )
    # Not assigned to this worker.
    create_artifact(webapp, world.worker, {}, work_request=work_request.id, status=403)
    create_artifact(webapp, world.worker, {}, work_request=999999, status=400)
    work_request.worker_id = world.worker_id
    db_session.flush()
    body = create_artifact(webapp, world.worker, {}, work_request=work_request.id).json
    artifact = db_session.get(models.Artifact, body["id"])
    assert artifact is not None
    assert artifact.created_by_work_request_id == work_request.id


def test_unknown_scope_header_is_404(webapp: webtest.TestApp, world: World) -> None:
    webapp.post_json(
        "/api/1.0/artifact/",
        {"category": "c"},
        headers={"Token": world.contributor, "X-Debusine-Scope": "nope"},
        status=404,
    )


# --- get ----------------------------------------------------------------


def test_get_and_noslash_redirect(webapp: webtest.TestApp, world: World) -> None:
    created = create_artifact(webapp, world.contributor, {"a": b"1"}).json
    got = webapp.get(f"/api/1.0/artifact/{created['id']}/").json
    assert got == created
    response = webapp.get(
        f"/api/1.0/artifact/{created['id']}", headers={"Token": world.viewer}
    )
    assert response.status_int == 301
    assert response.location == f"http://testserver/api/1.0/artifact/{created['id']}/"
    assert response.follow(headers={"Token": world.viewer}).json == created


def test_get_private_is_404(webapp: webtest.TestApp, world: World) -> None:
    body = create_artifact(webapp, world.worker, {}, workspace="Private").json
    for token in (None, world.contributor, world.nobody):
        headers = {"Token": token} if token else {}
        response = webapp.get(
            f"/api/1.0/artifact/{body['id']}/", headers=headers, status=404
        )
        assert response.headers["Content-Type"] == "application/problem+json"
    webapp.get(f"/api/1.0/artifact/{body['id']}/", headers={"Token": world.worker})
    webapp.get("/api/1.0/artifact/999999/", status=404)


# --- upload -------------------------------------------------------------


def test_upload_protocol_wire_example(
    webapp: webtest.TestApp, world: World, store: LocalStore, db_session: Session
) -> None:
    """client-protocol.md §2, scaled down by 1024 (60 KiB in 50 KiB chunks)."""
    size = 62_914_560 // 1024
    chunk = 52_428_800 // 1024
    data = bytes(i % 251 for i in range(size))
    artifact = create_artifact(webapp, world.contributor, {"big.bin": data}).json
    aid = artifact["id"]

    probe = upload(webapp, world.contributor, aid, "big.bin", b"", f"bytes */{size}")
    assert probe.status_int == 206
    assert probe.headers["Range"] == "bytes=0-0"

    first = upload(
        webapp, world.contributor, aid, "big.bin", data[:chunk],
        f"bytes 0-{chunk - 1}/{size}",
    )  # fmt: skip
    assert first.status_int == 200
    assert first.headers["Range"] == f"bytes=0-{chunk}"
    assert count(db_session, models.FileUpload) == 1

    probe = upload(webapp, world.contributor, aid, "big.bin", b"", f"bytes */{size}")
    assert probe.status_int == 206
    assert probe.headers["Range"] == f"bytes=0-{chunk}"

    last = upload(
        webapp, world.contributor, aid, "big.bin", data[chunk:],
        f"bytes {chunk}-{size - 1}/{size}",
    )  # fmt: skip
    assert last.status_int == 201
    assert stored_files(store) == [store.path(sha256(data), size)]
    assert store.path(sha256(data), size).read_bytes() == data
    assert count(db_session, models.FileUpload) == 0
    assert count(db_session, models.FileInStore) == 1

    probe = upload(webapp, world.contributor, aid, "big.bin", b"", f"bytes */{size}")
    assert probe.status_int == 200
    # Already complete: accepted without rewriting.
    again = upload(
        webapp, world.contributor, aid, "big.bin", b"x" * 10, f"bytes 0-9/{size}"
    )
    assert again.status_int == 200
    assert store.path(sha256(data), size).read_bytes() == data
    got = webapp.get(f"/api/1.0/artifact/{aid}/").json
    assert got["files_to_upload"] == []


def test_upload_many_chunks(
    webapp: webtest.TestApp, world: World, store: LocalStore
) -> None:
    data = bytes(range(256)) * 40
    size = len(data)
    aid = create_artifact(webapp, world.contributor, {"f": data}).json["id"]
    for start in range(0, size, 1000):
        end = min(start + 1000, size) - 1
        response = upload(
            webapp, world.contributor, aid, "f", data[start : end + 1],
            f"bytes {start}-{end}/{size}",
        )  # fmt: skip
        if end < size - 1:
            assert response.status_int == 200
            assert response.headers["Range"] == f"bytes=0-{end + 1}"
    assert response.status_int == 201
    assert store.path(sha256(data), size).read_bytes() == data


def test_upload_whole_file_without_content_range(
    webapp: webtest.TestApp, world: World, store: LocalStore
) -> None:
    data = b"whole file"
    aid = create_artifact(webapp, world.contributor, {"sub/dir/f": data}).json["id"]
    # A partial upload first: the whole-file PUT starts over.
    upload(webapp, world.contributor, aid, "sub/dir/f", b"who", "bytes 0-2/10")
    response = upload(webapp, world.contributor, aid, "sub/dir/f", data)
    assert response.status_int == 201
    assert store.path(sha256(data), len(data)).read_bytes() == data


def test_upload_hash_mismatch_then_retry(
    webapp: webtest.TestApp, world: World, store: LocalStore, db_session: Session
) -> None:
    data = b"0123456789"
    aid = create_artifact(webapp, world.contributor, {"f": data}).json["id"]
    upload(webapp, world.contributor, aid, "f", b"01234", "bytes 0-4/10", status=200)
    response = upload(
        webapp, world.contributor, aid, "f", b"XXXXX", "bytes 5-9/10", status=409
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    assert stored_files(store) == []
    assert list(store.tmp_directory.iterdir()) == []
    # The partial data was discarded: the client restarts from 0.
    probe = upload(webapp, world.contributor, aid, "f", b"", "bytes */10")
    assert probe.status_int == 206
    assert probe.headers["Range"] == "bytes=0-0"
    upload(webapp, world.contributor, aid, "f", data[:5], "bytes 0-4/10", status=200)
    upload(webapp, world.contributor, aid, "f", data[5:], "bytes 5-9/10", status=201)
    assert stored_files(store) == [store.path(sha256(data), 10)]


def test_upload_truncated_chunk_is_400(
    webapp: webtest.TestApp, world: World, store: LocalStore
) -> None:
    data = b"0123456789"
    aid = create_artifact(webapp, world.contributor, {"f": data}).json["id"]
    response = upload(
        webapp, world.contributor, aid, "f", b"0123", "bytes 0-4/10", status=400
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    probe = upload(webapp, world.contributor, aid, "f", b"", "bytes */10")
    assert probe.headers["Range"] == "bytes=0-0"
    # A whole-file PUT that is short cannot complete either.
    upload(webapp, world.contributor, aid, "f", b"01234", status=400)
    assert stored_files(store) == []


@pytest.mark.parametrize(
    ("content_range", "status"),
    [
        ("bytes 0-4", 400),
        ("bytes=0-4/10", 400),
        ("bytes a-b/10", 400),
        ("items 0-4/10", 400),
        ("bytes 0-4/11", 400),  # not the declared size
        ("bytes 5-10/10", 400),  # beyond the declared size
        ("bytes 4-2/10", 400),
        ("bytes 5-9/10", 416),  # nothing received yet
    ],
)
def test_upload_bad_range(
    webapp: webtest.TestApp,
    world: World,
    store: LocalStore,
    content_range: str,
    status: int,
) -> None:
    aid = create_artifact(webapp, world.contributor, {"f": b"0123456789"}).json["id"]
    response = upload(
        webapp, world.contributor, aid, "f", b"56789", content_range, status=status
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    probe = upload(webapp, world.contributor, aid, "f", b"", "bytes */10")
    assert probe.headers["Range"] == "bytes=0-0"
    assert stored_files(store) == []


def test_upload_out_of_order_chunk_is_416(
    webapp: webtest.TestApp, world: World
) -> None:
    aid = create_artifact(webapp, world.contributor, {"f": b"0123456789"}).json["id"]
    upload(webapp, world.contributor, aid, "f", b"01234", "bytes 0-4/10", status=200)
    upload(webapp, world.contributor, aid, "f", b"01234", "bytes 0-4/10", status=416)
    upload(webapp, world.contributor, aid, "f", b"6789", "bytes 6-9/10", status=416)
    probe = upload(webapp, world.contributor, aid, "f", b"", "bytes */10")
    assert probe.headers["Range"] == "bytes=0-5"


def test_upload_unknown_artifact_or_path_is_404(
    webapp: webtest.TestApp, world: World
) -> None:
    aid = create_artifact(webapp, world.contributor, {"f": b"1"}).json["id"]
    upload(webapp, world.contributor, aid, "g", b"1", status=404)
    upload(webapp, world.contributor, 999999, "f", b"1", status=404)


def test_upload_zero_size_is_complete(webapp: webtest.TestApp, world: World) -> None:
    aid = create_artifact(webapp, world.contributor, {"e": b""}).json["id"]
    probe = upload(webapp, world.contributor, aid, "e", b"", "bytes */0")
    assert probe.status_int == 200


def test_upload_permissions(
    webapp: webtest.TestApp, world: World, store: LocalStore
) -> None:
    data = b"perm"
    aid = create_artifact(webapp, world.contributor, {"f": data}).json["id"]
    webapp.put(f"/api/1.0/artifact/{aid}/files/f/", data, status=403)
    for token in (world.nobody, world.viewer):
        upload(webapp, token, aid, "f", data, status=403)
    assert stored_files(store) == []
    upload(webapp, world.worker, aid, "f", data, status=201)
    private = create_artifact(
        webapp, world.worker, {"f": b"secret"}, workspace="Private"
    ).json["id"]
    upload(webapp, world.contributor, private, "f", b"secret", status=404)
    upload(webapp, world.owner, private, "f", b"secret", status=404)


@pytest.mark.parametrize(
    ("category", "data", "files", "message"),
    [
        (
            "debian:source-package",
            {"name": "hello"},
            ["hello_1.0.dsc"],
            "field 'version': Missing data for required field",
        ),
        (
            "debian:binary-package",
            {
                "srcpkg_name": "hello",
                "srcpkg_version": "1.0",
                "deb_fields": {},
                "deb_control_files": [],
            },
            ["a.deb", "b.deb"],
            "exactly one",
        ),
        ("debian:no-such-category", {}, ["x"], "debian:no-such-category"),
    ],
)
def test_create_invalid_category_data_is_400_nothing_stored(
    webapp: webtest.TestApp,
    world: World,
    db_session: Session,
    category: str,
    data: dict[str, Any],
    files: list[str],
    message: str,
) -> None:
    before = count(db_session, models.Artifact)
    response = webapp.post_json(
        "/api/1.0/artifact/",
        {
            "category": category,
            "files": {name: file_spec(b"x", "text/plain") for name in files},
            "data": data,
        },
        headers={"Token": world.contributor},
        status=400,
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    assert message in response.json["detail"]
    assert count(db_session, models.Artifact) == before
