"""create-worker, list-workers, enable-worker, disable-worker, edit-worker-metadata."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
from sqlalchemy import select

from debusine.models import (
    Token,
    Worker,
    WorkerType,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.models.auth import hash_token_key
from tests import factories
from tests.admin.helpers import assert_error, assert_usage_error


def get(db_session, name: str) -> Worker:
    db_session.expire_all()
    return db_session.scalar(select(Worker).where(Worker.name == name))


def test_create_worker(admin, db_session):
    result = admin("create-worker", "builder1.example.org")

    assert result.code == 0, result
    key = result.out.removesuffix("\n")
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    worker = get(db_session, "builder1.example.org")
    assert worker.worker_type == WorkerType.EXTERNAL
    assert worker.token.hash == hash_token_key(key)
    assert worker.token.enabled
    assert worker.token.user is None
    assert worker.activation_token is None
    assert worker.static_metadata == {}


def test_create_signing_worker(admin, db_session):
    assert admin("create-worker", "signer", "--worker-type", "signing").code == 0

    assert get(db_session, "signer").worker_type == WorkerType.SIGNING


def test_create_worker_server_type_refused(admin):
    assert_usage_error(
        admin("create-worker", "x", "--worker-type", "server"), "invalid choice"
    )


def test_create_worker_duplicate(admin, unchanged):
    factories.WorkerFactory(name="builder")
    check = unchanged()

    assert_error(admin("create-worker", "builder"), "worker 'builder' already exists")
    check()


@pytest.mark.parametrize("name", ["_builder", "a b", "b/c", "x" * 256])
def test_create_worker_invalid_name(admin, unchanged, name):
    check = unchanged()

    assert_error(admin("create-worker", name), "invalid worker name")
    check()


def test_list_workers(admin, db_session):
    factories.WorkerFactory(
        name="b-signer", worker_type=WorkerType.SIGNING, static_metadata={"k": "v"}
    )
    disabled = factories.WorkerFactory(name="a-builder")
    disabled.token.enabled = False
    factories.WorkerFactory(name="c-connected", connected_at=dt.datetime.now(dt.UTC))

    table = admin("list-workers")
    data = admin("list-workers", "--yaml").yaml()

    assert table.code == 0, table
    assert [line.split()[:4] for line in table.out.splitlines()[2:]] == [
        ["a-builder", "external", "no", "no"],
        ["b-signer", "signing", "yes", "no"],
        ["c-connected", "external", "yes", "yes"],
    ]
    assert [(w["name"], w["type"], w["enabled"]) for w in data] == [
        ("a-builder", "external", False),
        ("b-signer", "signing", True),
        ("c-connected", "external", True),
    ]
    assert data[1]["static_metadata"] == {"k": "v"}
    assert data[1]["dynamic_metadata"] == {}


def test_enable_disable_worker(admin, db_session):
    worker = factories.WorkerFactory(name="builder")
    worker.token.enabled = False

    enabled = admin("enable-worker", "builder")

    assert enabled.code == 0, enabled
    assert enabled.out == "Enabled worker builder\n"
    assert get(db_session, "builder").token.enabled

    disabled = admin("disable-worker", "builder")

    assert disabled.out == "Disabled worker builder\n"
    assert not get(db_session, "builder").token.enabled


def test_disable_worker_requeues_its_work(admin, db_session):
    worker = factories.WorkerFactory(name="builder")
    now = dt.datetime.now(dt.UTC)
    running = factories.WorkRequestFactory(
        worker=worker, status=WorkRequestStatus.RUNNING, started_at=now
    )
    assigned = factories.WorkRequestFactory(worker=worker)
    done = factories.WorkRequestFactory(
        worker=worker,
        status=WorkRequestStatus.COMPLETED,
        result=WorkRequestResult.SUCCESS,
        started_at=now,
        completed_at=now,
    )
    other = factories.WorkRequestFactory(
        worker=factories.WorkerFactory(), status=WorkRequestStatus.RUNNING
    )
    ids = (running.id, assigned.id, done.id, other.id)

    result = admin("disable-worker", "builder")

    assert result.code == 0, result
    assert result.out == (
        "Disabled worker builder\n"
        f"Put back in the queue: work request {min(ids[:2])}, {max(ids[:2])}\n"
    )
    db_session.expire_all()
    states = {
        wr.id: (wr.status, wr.worker_id is not None, wr.started_at is not None)
        for wr in db_session.scalars(select(WorkRequest).where(WorkRequest.id.in_(ids)))
    }
    assert states == {
        ids[0]: (WorkRequestStatus.PENDING, False, False),
        ids[1]: (WorkRequestStatus.PENDING, False, False),
        ids[2]: (WorkRequestStatus.COMPLETED, True, True),
        ids[3]: (WorkRequestStatus.RUNNING, True, False),
    }


def test_enable_worker_unknown(admin, unchanged):
    check = unchanged()

    assert_error(admin("enable-worker", "nope"), "unknown worker 'nope'")
    assert_error(admin("disable-worker", "nope"), "unknown worker 'nope'")
    check()


def test_enable_worker_without_token(admin, db_session):
    db_session.add(Worker(name="server", worker_type=WorkerType.SERVER))

    assert_error(admin("enable-worker", "server"), "worker 'server' has no token")


def test_edit_worker_metadata_yaml_file(admin, db_session, tmp_path):
    factories.WorkerFactory(name="builder", static_metadata={"old": True})
    path = tmp_path / "meta.yaml"
    path.write_text("system:architectures: [amd64, i386]\nbuilt: 2024-01-01\n")

    result = admin("edit-worker-metadata", "builder", "--set", str(path))

    assert result.code == 0, result
    assert result.out == "Set the static metadata of worker builder\n"
    assert get(db_session, "builder").static_metadata == {
        "system:architectures": ["amd64", "i386"],
        "built": "2024-01-01",
    }


def test_edit_worker_metadata_stdin_json(admin, db_session):
    factories.WorkerFactory(name="builder")

    result = admin(
        "edit-worker-metadata",
        "builder",
        "--set",
        "-",
        stdin=json.dumps({"sbuild:available": False, "n": 1.5}),
    )

    assert result.code == 0, result
    assert get(db_session, "builder").static_metadata == {
        "sbuild:available": False,
        "n": 1.5,
    }


def test_edit_worker_metadata_show(admin):
    factories.WorkerFactory(name="builder", static_metadata={"a": [1, 2]})

    result = admin("edit-worker-metadata", "builder")

    assert result.code == 0
    assert result.yaml() == {"a": [1, 2]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("a: [1, 2\n", "is not valid YAML or JSON"),
        ('{"a": 1', "is not valid YAML or JSON"),
        ("- a\n- b\n", "must contain a mapping, not a list"),
        ("just text", "must contain a mapping, not a str"),
        ("1: one\n", "key 1 is not a string"),
        ("a: !!binary aGVsbG8=\n", "bytes values cannot be stored as JSON"),
    ],
)
def test_edit_worker_metadata_bad_file(admin, db_session, tmp_path, content, message):
    factories.WorkerFactory(name="builder", static_metadata={"old": True})
    path = tmp_path / "meta"
    path.write_text(content)

    result = admin("edit-worker-metadata", "builder", "--set", str(path))

    assert_error(result, str(path), message)
    assert get(db_session, "builder").static_metadata == {"old": True}


def test_edit_worker_metadata_bad_stdin(admin, db_session):
    factories.WorkerFactory(name="builder", static_metadata={"old": True})

    result = admin("edit-worker-metadata", "builder", "--set", "-", stdin="[1\n")

    assert_error(result, "standard input is not valid YAML or JSON", "line 2")
    assert get(db_session, "builder").static_metadata == {"old": True}


def test_edit_worker_metadata_missing_file(admin, db_session, tmp_path):
    factories.WorkerFactory(name="builder", static_metadata={"old": True})
    path = tmp_path / "missing.yaml"

    result = admin("edit-worker-metadata", "builder", "--set", str(path))

    assert_error(result, f"cannot read {path}: No such file or directory")
    assert get(db_session, "builder").static_metadata == {"old": True}


def test_edit_worker_metadata_unknown_worker(admin, tmp_path):
    path = tmp_path / "meta.yaml"
    path.write_text("{}")

    assert_error(
        admin("edit-worker-metadata", "nope", "--set", str(path)),
        "unknown worker 'nope'",
    )


def test_worker_token_is_not_a_user_token(admin, db_session):
    admin("create-worker", "builder")

    assert db_session.scalars(select(Token.user_id)).all() == [None]
