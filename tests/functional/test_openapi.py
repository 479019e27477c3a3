"""The OpenAPI document describes the API from the same marshmallow schemas."""

from __future__ import annotations

import re

from pyramid.interfaces import IRoutesMapper

from tests.conftest import TestApp


def test_openapi_document(webapp: TestApp) -> None:
    spec = webapp.get("/api/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["servers"] == [{"url": "http://testserver"}]
    assert spec["components"]["securitySchemes"]["Token"] == {
        "type": "apiKey",
        "in": "header",
        "name": "Token",
    }
    paths = spec["paths"]
    assert set(paths["/api/1.0/workspace/{workspace}/inheritance/"]) == {"get", "post"}
    post = paths["/api/1.0/workspace/{workspace}/inheritance/"]["post"]
    body = post["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/Inheritance"}
    assert "chain" in spec["components"]["schemas"]["Inheritance"]["properties"]
    error = post["responses"]["400"]["content"]["application/problem+json"]
    assert error["schema"] == {"$ref": "#/components/schemas/Problem"}
    parameters = {p["name"]: p for p in post["parameters"]}
    assert parameters["workspace"]["in"] == "path"
    assert parameters["X-Debusine-Scope"]["in"] == "header"
    listing = paths["/api/1.0/workspace/"]["get"]["responses"]["200"]
    schema = listing["content"]["application/json"]["schema"]
    assert schema["allOf"][0] == {"$ref": "#/components/schemas/Page"}


def test_every_documented_path_is_a_route(webapp: TestApp) -> None:
    """A documented path that no route serves would mislead clients."""
    spec = webapp.get("/api/openapi.json").json
    routes = webapp.app.registry.queryUtility(IRoutesMapper).get_routes()
    for path in spec["paths"]:
        concrete = re.sub(r"{[^}]+}", "1", path)
        assert any(route.match(concrete) is not None for route in routes), (
            f"{path} is documented but not routed"
        )
