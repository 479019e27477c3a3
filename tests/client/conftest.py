"""A real debusine-server for the client's tests, and a way to run `debusine`.

One server (with its own database and data directory) per xdist worker; each
test writes its own client configuration pointing at it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import URL

from debusine.db.migrations import alembic_config, upgrade

# The real Debian packages the artifact tests build, shared with tests/artifacts.
from tests.artifacts.conftest import packages as packages
from tests.database import ROOT, create_database, drop_database
from tests.functional.test_server_process import free_port, run_server, stop, wait_for

BIN = Path(sys.executable).parent
CLIENT = BIN / "debusine"


@dataclass(frozen=True)
class LiveServer:
    base_url: str
    api_url: str
    token: str
    env: dict[str, str]

    def admin(self, *args: str) -> str:
        result = subprocess.run(
            [
                str(BIN / "debusine-admin"),
                "--config",
                str(ROOT / "production.ini"),
                *args,
            ],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        return result.stdout


def clean_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DEBUSINE_")}


@pytest.fixture(scope="session")
def live_server(
    server_url: URL,
    worker_id: str,
    testrun_uid: str,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[LiveServer]:
    name = f"debusine_client_{testrun_uid[:8]}_{worker_id}"
    database = create_database(server_url, name).render_as_string(hide_password=False)
    upgrade(alembic_config(database_url=database))
    data = tmp_path_factory.mktemp("server-data")
    env = {
        **clean_environment(),
        "DEBUSINE_SQLALCHEMY_URL": database,
        "DEBUSINE_DATA_DIR": str(data),
        "DEBUSINE_ORCHESTRATOR": "false",
    }
    token_file = data / "admin-token"
    port = free_port()
    server = LiveServer(
        base_url=f"http://127.0.0.1:{port}",
        api_url=f"http://127.0.0.1:{port}/api",
        token="",
        env=env,
    )
    server.admin("bootstrap", "--token-file", str(token_file))
    server = LiveServer(
        base_url=server.base_url,
        api_url=server.api_url,
        token=token_file.read_text().strip(),
        env=env,
    )
    process = run_server("production.ini", port, env)
    try:
        wait_for(f"{server.base_url}/api/1.0/whoami/", process)
        yield server
    finally:
        stop(process)
        drop_database(server_url, name)


def write_config(
    path: Path, api_url: str, token: str, scope: str = "debusine", name: str = "test"
) -> Path:
    path.write_text(
        f"[General]\ndefault-server = {name}\n\n"
        f"[server:{name}]\napi-url = {api_url}\nscope = {scope}\ntoken = {token}\n"
    )
    return path


Run = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def client_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    return home


@pytest.fixture
def run_client(client_home: Path) -> Run:
    """Run `debusine ARGS...` with HOME in tmp (so no developer's config)."""

    def run(
        *args: str | Path,
        config: Path | None = None,
        input: str | None = None,
        cwd: Path | None = None,
        env: dict[str, str] | None = None,
    ) -> subprocess.CompletedProcess[str]:
        environment = {**clean_environment(), "HOME": str(client_home), **(env or {})}
        if config is not None:
            environment["DEBUSINE_CLIENT_CONFIG"] = str(config)
        return subprocess.run(
            [str(CLIENT), *map(str, args)],
            env=environment,
            capture_output=True,
            text=True,
            input=input,
            cwd=cwd,
            timeout=300,
        )

    return run


@pytest.fixture
def config(tmp_path: Path, live_server: LiveServer) -> Path:
    return write_config(tmp_path / "config.ini", live_server.api_url, live_server.token)


@pytest.fixture
def debusine(run_client: Run, config: Path) -> Run:
    """`debusine` configured for the live server as admin."""

    def run(*args: str | Path, **kwargs: object) -> subprocess.CompletedProcess[str]:
        return run_client(*args, config=config, **kwargs)

    return run
