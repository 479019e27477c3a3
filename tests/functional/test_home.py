"""The root page and whoami: the application is visibly alive."""

from __future__ import annotations

import webtest

from debusine.models import Worker
from tests.factories import ScopeFactory, TokenFactory, WorkerFactory


def test_home_lists_scopes(webapp: webtest.TestApp) -> None:
    ScopeFactory(name="debian", label="Debian")
    response = webapp.get("/")
    assert response.status_int == 200
    assert response.content_type == "text/html"
    assert "Debian" in response.text
    assert "<code>debian</code>" in response.text


def test_home_without_scopes_says_how_to_create_one(webapp: webtest.TestApp) -> None:
    response = webapp.get("/")
    assert "debusine-admin create-scope" in response.text


def test_whoami_anonymous(webapp: webtest.TestApp) -> None:
    response = webapp.get("/api/1.0/whoami/")
    assert response.json == {
        "authenticated": False,
        "user": None,
        "worker_token": False,
        "worker": None,
    }


def test_whoami_with_user_token(webapp: webtest.TestApp) -> None:
    token = TokenFactory(user__username="alice")
    response = webapp.get("/api/1.0/whoami/", headers={"Token": token.key})
    assert response.json["authenticated"] is True
    assert response.json["user"] == "alice"
    assert response.json["worker_token"] is False
    assert token.last_seen_at is not None


def test_whoami_with_worker_token(webapp: webtest.TestApp) -> None:
    worker: Worker = WorkerFactory(name="builder-1")
    assert worker.token is not None
    response = webapp.get("/api/1.0/whoami/", headers={"Token": worker.token.key})
    assert response.json["worker_token"] is True
    assert response.json["worker"] == "builder-1"
    assert response.json["user"] is None


def test_whoami_disabled_or_unknown_token_is_anonymous(webapp: webtest.TestApp) -> None:
    token = TokenFactory(enabled=False)
    for key in (token.key, "no-such-token"):
        response = webapp.get("/api/1.0/whoami/", headers={"Token": key})
        assert response.json["authenticated"] is False


def test_whoami_expired_token_is_anonymous(webapp: webtest.TestApp) -> None:
    import datetime as dt

    token = TokenFactory(expire_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
    response = webapp.get("/api/1.0/whoami/", headers={"Token": token.key})
    assert response.json["authenticated"] is False


def test_unknown_api_route_is_problem_json(webapp: webtest.TestApp) -> None:
    response = webapp.get("/api/1.0/nothing-here/", status=404)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["title"] == "Not found"
    assert "/api/1.0/nothing-here/" in response.json["detail"]


def test_api_bug_is_a_problem_json_500(app_settings: dict[str, object]) -> None:
    from debusine import configure

    def broken(request: object) -> None:
        raise RuntimeError("a bug")

    config = configure(dict(app_settings))
    config.add_route("test.broken", "/api/1.0/broken/")
    config.add_view(broken, route_name="test.broken")
    app = webtest.TestApp(config.make_wsgi_app())
    response = app.get("/api/1.0/broken/", status=500)
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json["title"] == "Internal server error"
    assert "a bug" not in response.text
