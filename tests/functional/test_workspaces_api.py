"""Workspaces over the JSON API: list, show, inheritance."""

from __future__ import annotations

from sqlalchemy.orm import Session

from debusine.models import (
    GroupMembership,
    Scope,
    User,
    Workspace,
    WorkspaceRole,
    WorkspaceRoles,
)
from tests.conftest import TestApp
from tests.factories import (
    GroupFactory,
    ScopeFactory,
    TokenFactory,
    UserFactory,
    WorkerFactory,
    WorkspaceFactory,
)


def grant(session: Session, user: User, workspace: Workspace, role: str) -> None:
    group = GroupFactory(scope=workspace.scope)
    session.add(GroupMembership(group=group, user=user))
    session.add(
        WorkspaceRole(workspace=workspace, group=group, role=WorkspaceRoles(role))
    )
    session.flush()


def headers(user: User | None = None, scope: Scope | None = None) -> dict[str, str]:
    result = {}
    if user is not None:
        result["Token"] = TokenFactory(user=user).key
    if scope is not None:
        result["X-Debusine-Scope"] = scope.name
    return result


def test_list_shows_only_visible_workspaces_of_the_scope(
    webapp: TestApp, db_session: Session
) -> None:
    scope = ScopeFactory()
    public = WorkspaceFactory(scope=scope, public=True, name="public")
    private = WorkspaceFactory(scope=scope, name="private")
    granted = WorkspaceFactory(scope=scope, name="granted")
    WorkspaceFactory(public=True, name="elsewhere")
    user = UserFactory()
    grant(db_session, user, granted, "viewer")

    anonymous = webapp.get("/api/1.0/workspace/", headers=headers(scope=scope)).json
    assert [w["name"] for w in anonymous["results"]] == ["public"]
    assert anonymous["next"] is None

    listed = webapp.get("/api/1.0/workspace/", headers=headers(user, scope)).json
    assert {w["name"] for w in listed["results"]} == {"public", "granted"}
    assert private.name not in {w["name"] for w in listed["results"]}
    assert public.id in {w["id"] for w in listed["results"]}


def test_list_paginates_with_absolute_next(webapp: TestApp) -> None:
    scope = ScopeFactory()
    for n in range(25):
        WorkspaceFactory(scope=scope, public=True, name=f"ws{n}")
    url = "/api/1.0/workspace/?page_size=10"
    names: list[str] = []
    pages = 0
    while url:
        page = webapp.get(url, headers=headers(scope=scope)).json
        names += [w["name"] for w in page["results"]]
        url = page["next"]
        pages += 1
        if url:
            assert url.startswith("http://testserver/api/1.0/workspace/?")
    assert pages == 3
    assert sorted(names) == sorted(f"ws{n}" for n in range(25))
    assert len(set(names)) == 25


def test_bad_cursor_and_page_size_are_problems(webapp: TestApp) -> None:
    scope = ScopeFactory()
    for query in ("cursor=%%%", "page_size=0", "page_size=abc"):
        response = webapp.get(
            f"/api/1.0/workspace/?{query}", headers=headers(scope=scope), status=400
        )
        assert response.headers["Content-Type"] == "application/problem+json"


def test_unknown_scope_is_404_problem(webapp: TestApp) -> None:
    response = webapp.get(
        "/api/1.0/workspace/", headers={"X-Debusine-Scope": "nope"}, status=404
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["detail"] == "Scope 'nope' not found"


def test_show_workspace_with_roles(webapp: TestApp, db_session: Session) -> None:
    workspace = WorkspaceFactory(name="dev")
    user = UserFactory()
    grant(db_session, user, workspace, "contributor")
    data = webapp.get(
        "/api/1.0/workspace/dev/", headers=headers(user, workspace.scope)
    ).json
    assert data["name"] == "dev"
    assert data["scope"] == workspace.scope.name
    assert data["roles"] == ["contributor", "viewer"]
    assert data["inherits"] == []


def test_private_workspace_is_not_found_not_forbidden(webapp: TestApp) -> None:
    workspace = WorkspaceFactory(name="secret")
    for user in (None, UserFactory()):
        response = webapp.get(
            "/api/1.0/workspace/secret/",
            headers=headers(user, workspace.scope),
            status=404,
        )
        assert response.json["detail"] == (
            f"Workspace secret not found in scope {workspace.scope.name}"
        )


def test_worker_token_sees_private_workspace(webapp: TestApp) -> None:
    workspace = WorkspaceFactory(name="secret")
    worker = WorkerFactory()
    response = webapp.get(
        "/api/1.0/workspace/secret/",
        headers={"Token": worker.token.key, "X-Debusine-Scope": workspace.scope.name},
    )
    assert response.json["name"] == "secret"


def test_owner_sets_inheritance_chain(webapp: TestApp, db_session: Session) -> None:
    child = WorkspaceFactory(name="child")
    base = WorkspaceFactory(scope=child.scope, name="base", public=True)
    other_scope = WorkspaceFactory(name="shared", public=True)
    owner = UserFactory()
    grant(db_session, owner, child, "owner")
    chain = [
        {"workspace": "base"},
        {"scope": other_scope.scope.name, "workspace": "shared"},
    ]
    response = webapp.post_json(
        "/api/1.0/workspace/child/inheritance/",
        {"chain": chain},
        headers=headers(owner, child.scope),
    )
    assert response.json["chain"] == [
        {"id": base.id, "scope": child.scope.name, "workspace": "base"},
        {"id": other_scope.id, "scope": other_scope.scope.name, "workspace": "shared"},
    ]
    got = webapp.get(
        "/api/1.0/workspace/child/inheritance/", headers=headers(owner, child.scope)
    )
    assert got.json == response.json
    assert [w.id for w in child.inherits] == [base.id, other_scope.id]


def test_inheritance_cycle_is_refused_and_nothing_changes(
    webapp: TestApp, db_session: Session
) -> None:
    a = WorkspaceFactory(name="a")
    b = WorkspaceFactory(scope=a.scope, name="b")
    owner = UserFactory(is_superuser=True)
    webapp.post_json(
        "/api/1.0/workspace/b/inheritance/",
        {"chain": [{"workspace": "a"}]},
        headers=headers(owner, a.scope),
    )
    response = webapp.post_json(
        "/api/1.0/workspace/a/inheritance/",
        {"chain": [{"workspace": "b"}]},
        headers=headers(owner, a.scope),
        status=400,
    )
    assert response.headers["Content-Type"] == "application/problem+json"
    assert "already inherits from" in response.json["detail"]
    assert a.inherits == []
    assert [w.id for w in b.inherits] == [a.id]


def test_inheritance_needs_owner(webapp: TestApp, db_session: Session) -> None:
    child = WorkspaceFactory(name="child", public=True)
    WorkspaceFactory(scope=child.scope, name="base", public=True)
    contributor = UserFactory()
    grant(db_session, contributor, child, "contributor")
    for user in (None, contributor):
        webapp.post_json(
            "/api/1.0/workspace/child/inheritance/",
            {"chain": [{"workspace": "base"}]},
            headers=headers(user, child.scope),
            status=403,
        )
    assert child.inherits == []


def test_inheritance_from_invisible_workspace_is_refused(
    webapp: TestApp, db_session: Session
) -> None:
    child = WorkspaceFactory(name="child")
    WorkspaceFactory(scope=child.scope, name="hidden")
    owner = UserFactory()
    grant(db_session, owner, child, "owner")
    for entry in (
        {"workspace": "hidden"},
        {"workspace": "missing"},
        {"id": 999999},
        {},
    ):
        response = webapp.post_json(
            "/api/1.0/workspace/child/inheritance/",
            {"chain": [entry]},
            headers=headers(owner, child.scope),
            status=400,
        )
        assert response.headers["Content-Type"] == "application/problem+json"


def test_malformed_inheritance_bodies(webapp: TestApp) -> None:
    child = WorkspaceFactory(name="child")
    admin = UserFactory(is_superuser=True)
    auth = headers(admin, child.scope)
    url = "/api/1.0/workspace/child/inheritance/"
    webapp.post(url, "not json", headers=auth, status=400)
    webapp.post_json(url, ["a list"], headers=auth, status=400)
    response = webapp.post_json(url, {"chain": "x"}, headers=auth, status=400)
    assert "chain" in response.json["validation_errors"]
    webapp.post_json(url, {}, headers=auth, status=400)
