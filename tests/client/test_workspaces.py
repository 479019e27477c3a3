"""`debusine list-workspaces` and `workspace-inheritance`, end to end."""

from __future__ import annotations

import uuid
from typing import Any

import yaml

from debusine.client.config import ServerConfig
from debusine.client.http import APIClient
from tests.client.conftest import LiveServer, Run


def ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def error(result: Any) -> str:
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    line: str = result.stderr.strip()
    return line.removeprefix("debusine: error: ")


def workspaces(live_server: LiveServer, count: int) -> list[str]:
    names = [f"ws{uuid.uuid4().hex[:8]}" for _ in range(count)]
    for name in names:
        live_server.admin("create-workspace", f"debusine/{name}")
    return names


def test_list_workspaces_follows_pages(live_server: LiveServer, debusine: Run) -> None:
    created = workspaces(live_server, 3)
    listed = ok(debusine("list-workspaces"))
    names = [w["name"] for w in listed]
    assert set(created) | {"System"} <= set(names)
    assert all(w["scope"] == "debusine" for w in listed)

    client = APIClient(
        ServerConfig("t", live_server.api_url, "debusine", live_server.token)
    )
    one_by_one = [w["name"] for w in client.paginated("/workspace/", {"page_size": 1})]
    assert one_by_one == names


def test_workspace_inheritance(live_server: LiveServer, debusine: Run) -> None:
    a, b, c = workspaces(live_server, 3)

    def chain(result: Any) -> list[str]:
        return [f"{e['scope']}/{e['workspace']}" for e in ok(result)["chain"]]

    assert chain(debusine("workspace-inheritance", a)) == []
    assert chain(debusine("workspace-inheritance", a, "--set", b)) == [f"debusine/{b}"]
    assert chain(debusine("workspace-inheritance", a, "--append", f"debusine/{c}")) == [
        f"debusine/{b}",
        f"debusine/{c}",
    ]
    assert chain(debusine("workspace-inheritance", a, "--prepend", "System")) == [
        "debusine/System",
        f"debusine/{b}",
        f"debusine/{c}",
    ]
    assert chain(debusine("workspace-inheritance", a, "--remove", b)) == [
        "debusine/System",
        f"debusine/{c}",
    ]
    assert chain(debusine("workspace-inheritance", a)) == [
        "debusine/System",
        f"debusine/{c}",
    ]
    assert chain(debusine("workspace-inheritance", a, "--set")) == []


def test_workspace_inheritance_errors(live_server: LiveServer, debusine: Run) -> None:
    a, b = workspaces(live_server, 2)
    assert error(debusine("workspace-inheritance", a, "--append", "nope")) == (
        "Invalid inheritance chain: workspace debusine/nope not found"
    )
    assert error(debusine("workspace-inheritance", a, "--remove", b)) == (
        f"{b} is not in the inheritance chain"
    )
    ok(debusine("workspace-inheritance", b, "--set", a))
    message = error(debusine("workspace-inheritance", a, "--set", b))
    assert message.startswith("Invalid inheritance chain: ")
    assert error(debusine("workspace-inheritance", "nope")).startswith("Not found: ")
    assert error(debusine("workspace-inheritance", a, "--append", "a/b/c")) == (
        "'a/b/c': name a workspace as WORKSPACE or SCOPE/WORKSPACE"
    )
