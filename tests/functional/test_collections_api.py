"""Collections and lookups over the JSON API."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from debusine import models
from tests import factories
from tests.collections.conftest import (
    binary_package,
    collection,
    manager,
    source_package,
)
from tests.conftest import TestApp


@pytest.fixture
def scope() -> models.Scope:
    return factories.ScopeFactory(name="debusine")


@pytest.fixture
def base(scope: models.Scope) -> models.Workspace:
    return factories.WorkspaceFactory(scope=scope, name="base", public=True)


@pytest.fixture
def child(
    scope: models.Scope, base: models.Workspace, db_session: Session
) -> models.Workspace:
    child = factories.WorkspaceFactory(scope=scope, name="System", public=True)
    child.set_inheritance(db_session, [base])
    return child


@pytest.fixture
def suite(db_session: Session, base: models.Workspace) -> models.Collection:
    suite = collection(base, "trixie", "debian:suite")
    m = manager(db_session, suite)
    m.add_artifact(source_package(db_session, base, "hello", "1.0-1"))
    m.add_artifact(source_package(db_session, base, "hello", "1.1-1"))
    m.add_artifact(binary_package(db_session, base, "hello", "1.1-1", "amd64"))
    return suite


def test_list_and_show_collections(
    webapp: TestApp, base: models.Workspace, suite: models.Collection
) -> None:
    listed = webapp.get("/api/1.0/collection/?workspace=base").json
    assert [c["name"] for c in listed["results"]] == ["trixie"]
    shown = webapp.get(f"/api/1.0/collection/{suite.id}/").json
    assert shown["category"] == "debian:suite"
    assert shown["workspace"] == "base"
    filtered = webapp.get("/api/1.0/collection/?workspace=base&category=debian:archive")
    assert filtered.json["results"] == []


def test_items_with_filters_and_history(
    webapp: TestApp, suite: models.Collection, db_session: Session
) -> None:
    url = f"/api/1.0/collection/{suite.id}/items/"
    names = {item["name"] for item in webapp.get(url).json["results"]}
    assert names == {"hello_1.0-1", "hello_1.1-1", "hello_1.1-1_amd64"}
    prefix = webapp.get(url + "?name__startswith=hello_1.1").json["results"]
    assert {item["name"] for item in prefix} == {"hello_1.1-1", "hello_1.1-1_amd64"}
    item = next(i for i in prefix if i["name"] == "hello_1.1-1")
    assert item["child_type"] == "a"
    assert item["category"] == "debian:source-package"

    m = manager(db_session, suite)
    removed = db_session.get(models.CollectionItem, item["id"])
    assert removed is not None
    m.remove_item(removed)
    active = {i["name"] for i in webapp.get(url).json["results"]}
    assert "hello_1.1-1" not in active
    history = webapp.get(url + "?include_removed=1&name=hello_1.1-1").json["results"]
    assert [i["removed_at"] is not None for i in history] == [True]


def test_private_collection_is_not_found(webapp: TestApp, scope: models.Scope) -> None:
    private = factories.WorkspaceFactory(scope=scope, name="private")
    hidden = collection(private, "secret", "debian:suite")
    webapp.get(f"/api/1.0/collection/{hidden.id}/", status=404)
    webapp.get(f"/api/1.0/collection/{hidden.id}/items/", status=404)
    webapp.get("/api/1.0/collection/?workspace=private", status=404)
    worker = factories.WorkerFactory()
    assert (
        webapp.get(
            f"/api/1.0/collection/{hidden.id}/", headers={"Token": worker.token.key}
        ).json["name"]
        == "secret"
    )


def test_single_lookup_through_inheritance(
    webapp: TestApp, child: models.Workspace, suite: models.Collection
) -> None:
    result = webapp.post_json(
        "/api/1.0/lookup/single/",
        {"lookup": "trixie@debian:suite/source:hello", "expect_type": "artifact"},
    ).json
    assert result["result_type"] == "a"
    item = result["collection_item"]
    got = webapp.get(f"/api/1.0/collection/{suite.id}/items/?name=hello_1.1-1").json
    assert got["results"][0]["id"] == item
    assert result["artifact"] == got["results"][0]["artifact"]


def test_single_lookup_errors(
    webapp: TestApp, child: models.Workspace, suite: models.Collection
) -> None:
    missing = webapp.post_json(
        "/api/1.0/lookup/single/",
        {"lookup": "trixie@debian:suite/source:nothere"},
        status=404,
    )
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert "source:nothere" in missing.json["detail"]
    webapp.post_json("/api/1.0/lookup/single/", {"lookup": ""}, status=400)
    webapp.post_json("/api/1.0/lookup/single/", {"lookup": True}, status=400)
    webapp.post_json("/api/1.0/lookup/single/", {}, status=400)
    webapp.post_json(
        "/api/1.0/lookup/single/",
        {"lookup": "trixie@debian:suite", "expect_type": "nonsense"},
        status=400,
    )


def test_lookup_into_private_workspace_fails_as_not_found(
    webapp: TestApp, scope: models.Scope, db_session: Session
) -> None:
    private = factories.WorkspaceFactory(scope=scope, name="private")
    collection(private, "sid", "debian:suite")
    public = factories.WorkspaceFactory(scope=scope, name="System", public=True)
    public.set_inheritance(db_session, [private])
    hidden = webapp.post_json(
        "/api/1.0/lookup/single/", {"lookup": "sid@debian:suite"}, status=404
    ).json["detail"]
    absent = webapp.post_json(
        "/api/1.0/lookup/single/", {"lookup": "nosuch@debian:suite"}, status=404
    ).json["detail"]
    assert hidden.replace("sid", "X") == absent.replace("nosuch", "X")


def test_multiple_lookup(
    webapp: TestApp, child: models.Workspace, suite: models.Collection
) -> None:
    results = webapp.post_json(
        "/api/1.0/lookup/multiple/",
        {
            "lookup": {
                "collection": "trixie@debian:suite",
                "category": "debian:source-package",
            }
        },
    ).json
    assert len(results) == 2
    assert {r["result_type"] for r in results} == {"a"}


def test_openapi_documents_collections(webapp: TestApp) -> None:
    paths = webapp.get("/api/openapi.json").json["paths"]
    assert "/api/1.0/lookup/single/" in paths
    assert "/api/1.0/collection/{collection_id}/items/" in paths
