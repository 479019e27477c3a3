"""The client's configuration file and command line, without a server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from debusine.client.config import ConfigError, config_path, load_server
from tests.client.conftest import Run, write_config


def test_default_server(tmp_path: Path) -> None:
    path = write_config(tmp_path / "c.ini", "http://example.org/api/", "TOKEN", "sc")
    server = load_server(path)
    assert server.name == "test"
    assert server.api_url == "http://example.org/api"
    assert server.scope == "sc"
    assert server.token == "TOKEN"


def test_server_option_picks_a_section(tmp_path: Path) -> None:
    path = tmp_path / "c.ini"
    path.write_text(
        "[General]\ndefault-server = a\n\n"
        "[server:a]\napi-url = http://a/api\nscope = debusine\ntoken = A\n\n"
        "[server:b]\napi-url = https://b:8443/api\nscope = other\ntoken = B\n"
    )
    assert load_server(path).token == "A"
    chosen = load_server(path, "b")
    assert (chosen.api_url, chosen.scope, chosen.token) == (
        "https://b:8443/api",
        "other",
        "B",
    )
    with pytest.raises(ConfigError, match=r"no \[server:c\] section \(servers: a, b\)"):
        load_server(path, "c")


def test_single_server_needs_no_default(tmp_path: Path) -> None:
    path = tmp_path / "c.ini"
    path.write_text("[server:only]\napi-url = http://h/api\nscope = s\ntoken = T\n")
    assert load_server(path).name == "only"


def test_several_servers_and_no_default(tmp_path: Path) -> None:
    path = tmp_path / "c.ini"
    path.write_text(
        "[server:a]\napi-url = http://a/api\nscope = s\ntoken = A\n"
        "[server:b]\napi-url = http://b/api\nscope = s\ntoken = B\n"
    )
    with pytest.raises(ConfigError, match="give --server NAME or set default-server"):
        load_server(path)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[server:x]\nscope = s\ntoken = T\n", r"\[server:x\] needs api-url"),
        ("[server:x]\napi-url = http://h/api\ntoken = T\n", "needs scope"),
        ("[server:x]\napi-url = http://h/api\nscope = s\n", "needs token"),
        ("[server:x]\napi-url = h/api\nscope = s\ntoken = T\n", "not an http"),
        ("api-url = http://h\n", "not a valid ini file"),
        ("[General]\ndefault-server = y\n", r"no \[server:y\] section"),
    ],
)
def test_invalid_config(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "c.ini"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_server(path)


def test_missing_config_says_what_to_write(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as error:
        load_server(tmp_path / "nope.ini")
    message = str(error.value)
    assert "\n" not in message
    assert str(tmp_path / "nope.ini") in message
    assert "[server:NAME]" in message
    assert "api-url = " in message


def test_config_path_precedence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    assert config_path(None) == tmp_path / ".config/debusine/client/config.ini"
    monkeypatch.setenv("DEBUSINE_CLIENT_CONFIG", "/env.ini")
    assert config_path(None) == Path("/env.ini")
    assert config_path("/option.ini") == Path("/option.ini")


# The command line -------------------------------------------------------

COMMANDS = [
    "create-artifact",
    "import-debian-artifact",
    "download-artifact",
    "show-artifact",
    "show-artifact-relations",
    "list-workspaces",
    "workspace-inheritance",
    "list-collections",
    "show-collection",
    "lookup",
]


@pytest.mark.parametrize("command", COMMANDS)
def test_each_command_has_help(run_client: Run, command: str) -> None:
    result = run_client(command, "--help")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: debusine {command}")


def test_no_command_is_a_usage_error(run_client: Run) -> None:
    result = run_client()
    assert result.returncode == 2
    assert "required: COMMAND" in result.stderr


def test_bad_argument_is_a_usage_error(run_client: Run) -> None:
    result = run_client("show-artifact", "abc")
    assert result.returncode == 2
    assert "is not an id" in result.stderr


def test_missing_default_config(run_client: Run, client_home: Path) -> None:
    result = run_client("list-workspaces")
    assert result.returncode == 3
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("debusine: error: no client configuration at ")
    assert str(client_home / ".config/debusine/client/config.ini") in lines[0]


def test_config_option_and_environment(run_client: Run, tmp_path: Path) -> None:
    result = run_client("--config", tmp_path / "a.ini", "list-workspaces")
    assert result.returncode == 3
    assert f"no client configuration at {tmp_path / 'a.ini'}" in result.stderr
    result = run_client("list-workspaces", config=tmp_path / "b.ini")
    assert f"no client configuration at {tmp_path / 'b.ini'}" in result.stderr


def test_unknown_server_option(run_client: Run, tmp_path: Path) -> None:
    config = write_config(tmp_path / "c.ini", "http://127.0.0.1:1/api", "T")
    result = run_client("--server", "other", "list-workspaces", config=config)
    assert result.returncode == 3
    assert result.stderr.strip() == (
        f"debusine: error: {config} has no [server:other] section (servers: test): "
        "add one with api-url, scope and token"
    )


def test_server_down(run_client: Run, tmp_path: Path) -> None:
    from tests.functional.test_server_process import free_port

    port = free_port()
    config = write_config(tmp_path / "c.ini", f"http://127.0.0.1:{port}/api", "T")
    result = run_client("show-artifact", "1", config=config)
    assert result.returncode == 3
    assert result.stderr.strip() == (
        f"debusine: error: cannot connect to http://127.0.0.1:{port}/api/1.0/"
        "artifact/1/: Connection refused"
    )


def test_client_does_not_import_the_server_stack() -> None:
    """The client runs where only requests, argcomplete, rich, PyYAML are."""
    code = (
        "import sys\n"
        "import debusine.client.cli, debusine.client.commands\n"
        "import debusine.client.upload, debusine.client.download\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pyramid', 'sqlalchemy', 'psycopg', 'marshmallow', 'zmq', 'webob'))\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_debian_parsers_do_not_import_the_database_layer() -> None:
    """import-debian-artifact needs python-debian and marshmallow, no database."""
    code = (
        "import sys\n"
        "import debusine.artifacts.local\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('pyramid', 'sqlalchemy', 'psycopg', 'zmq', 'webob'))\n"
        "print(bad)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
