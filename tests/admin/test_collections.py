"""create-collection, edit-collection, delete-collection."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from debusine.models import Collection, CollectionItem
from tests import factories
from tests.admin.helpers import assert_error

FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


@pytest.fixture
def workspace(db_session):
    return factories.WorkspaceFactory(
        scope=factories.ScopeFactory(name="debian"), name="devs"
    )


def collections(db_session, category=None) -> list[Collection]:
    db_session.expire_all()
    query = select(Collection).order_by(Collection.id)
    if category:
        query = query.where(Collection.category == category)
    return list(db_session.scalars(query))


def test_create_a_suite_with_data(admin, db_session, workspace, tmp_path):
    data = tmp_path / "suite.yaml"
    data.write_text(
        "components: [main, contrib]\narchitectures: [amd64, arm64]\n"
        f"signing_keys: [{FINGERPRINT}]\nrelease_fields: {{Origin: Debian}}\n"
    )
    result = admin(
        "create-collection",
        "debian/devs",
        "bookworm",
        "debian:suite",
        "--data",
        str(data),
        "--full-history-retention",
        "30",
    )
    assert result.code == 0, result
    assert result.out == "Created debian:suite collection bookworm in debian/devs\n"
    [suite] = collections(db_session, "debian:suite")
    assert suite.data["signing_keys"] == [FINGERPRINT]
    assert suite.data["architectures"] == ["amd64", "arm64"]
    assert suite.full_history_retention_period == dt.timedelta(days=30)
    assert suite.metadata_only_retention_period is None


@pytest.mark.parametrize(
    ("argv", "stdin", "fragments"),
    [
        (["sid", "debian:nonsense"], None, ["unknown collection category"]),
        (["_", "debian:suite"], None, ["invalid"]),
        (["x", "debian:archive"], None, ["singleton", "'_'"]),
        (
            ["sid", "debian:suite", "--data", "-"],
            "signing_keys: [nothex]\n",
            ["signing_keys", "fingerprint"],
        ),
        (
            ["sid", "debian:suite", "--data", "-"],
            "components: main\n",
            ["components", "Not a valid list"],
        ),
        (
            ["qa", "debian:qa-results", "--data", "-"],
            "old_items_to_keep: 0\n",
            ["old_items_to_keep"],
        ),
        (
            ["sid", "debian:suite", "--data", "-"],
            "archtectures: [amd64]\n",
            ["archtectures", "Unknown field"],
        ),
    ],
)
def test_create_refuses_bad_input(admin, db_session, workspace, argv, stdin, fragments):
    before = len(collections(db_session))
    result = admin("create-collection", "debian/devs", *argv, stdin=stdin)
    assert_error(result, *fragments)
    assert len(collections(db_session)) == before


def test_create_twice(admin, db_session, workspace):
    assert admin("create-collection", "debian/devs", "sid", "debian:suite").code == 0
    result = admin("create-collection", "debian/devs", "sid", "debian:suite")
    assert_error(result, "already exists")


def test_edit_collection(admin, db_session, workspace):
    assert admin("create-collection", "debian/devs", "sid", "debian:suite").code == 0
    result = admin(
        "edit-collection",
        "debian/devs",
        "sid",
        "debian:suite",
        "--data",
        "-",
        "--retains-artifacts",
        "never",
        stdin="may_reuse_versions: true\n",
    )
    assert result.code == 0, result
    [suite] = collections(db_session, "debian:suite")
    assert suite.data == {"may_reuse_versions": True}
    assert suite.retains_artifacts.value == "never"
    assert_error(
        admin("edit-collection", "debian/devs", "nope", "debian:suite"),
        "no debian:suite collection 'nope'",
    )


def test_archive_signing_keys(admin, db_session, workspace):
    workspace.create_singleton_collections(db_session)
    result = admin(
        "edit-collection",
        "debian/devs",
        "_",
        "debian:archive",
        "--data",
        "-",
        stdin=f"signing_keys: [{FINGERPRINT}]\n",
    )
    assert result.code == 0, result
    [archive] = collections(db_session, "debian:archive")
    assert archive.data == {"signing_keys": [FINGERPRINT]}


def test_delete_refuses_a_collection_with_items(admin, db_session, workspace):
    suite = factories.CollectionFactory(
        workspace=workspace, name="sid", category="debian:suite"
    )
    db_session.add(
        CollectionItem(
            parent_collection_id=suite.id,
            parent_category=suite.category,
            name="note",
            child_type="b",
            category="debusine:test",
            data={},
        )
    )
    db_session.flush()
    assert_error(
        admin("delete-collection", "debian/devs", "sid", "debian:suite"),
        "1 active items",
        "--force",
    )
    assert len(collections(db_session, "debian:suite")) == 1
    result = admin("delete-collection", "debian/devs", "sid", "debian:suite", "--force")
    assert result.code == 0, result
    assert collections(db_session, "debian:suite") == []
