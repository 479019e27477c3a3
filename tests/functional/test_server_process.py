"""The real `debusine-server` process, as `make run` starts it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.database import ROOT

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"server exited with {process.returncode}:\n{output}")
        try:
            requests.get(url, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):
            # gunicorn accepts before its worker has loaded the application.
            time.sleep(0.2)
    pytest.fail(f"server did not answer on {url} within {timeout}s")


def run_server(ini: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [
            str(BIN / "debusine-server"),
            str(ROOT / ini),
            "--listen",
            f"127.0.0.1:{port}",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )


def stop(process: subprocess.Popen[bytes]) -> int:
    process.send_signal(signal.SIGTERM)
    try:
        return process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()


@pytest.fixture
def base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("DEBUSINE_")}


def admin(args: list[str], ini: str, env: dict[str, str]) -> str:
    result = subprocess.run(
        [str(BIN / "debusine-admin"), "--config", str(ROOT / ini), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_production_ini_against_configured_database(
    scratch_database: str, base_env: dict[str, str], tmp_path: Path
) -> None:
    env = {
        **base_env,
        "DEBUSINE_SQLALCHEMY_URL": scratch_database,
        "DEBUSINE_BUS_BIND": f"tcp://127.0.0.1:{free_port()}",
        "DEBUSINE_DATA_DIR": str(tmp_path / "data"),
    }
    token_file = tmp_path / "token"
    admin(["bootstrap", "--token-file", str(token_file)], "production.ini", env)
    port = free_port()
    process = run_server("production.ini", port, env)
    try:
        wait_for(f"http://127.0.0.1:{port}/", process)
        home = requests.get(f"http://127.0.0.1:{port}/", timeout=10)
        assert home.status_code == 200
        assert "<code>debusine</code>" in home.text
        whoami = requests.get(
            f"http://127.0.0.1:{port}/api/1.0/whoami/",
            headers={"Token": token_file.read_text().strip()},
            timeout=10,
        )
        assert whoami.json()["user"] == "admin"
    finally:
        assert stop(process) == 0


@pytest.fixture
def embedded_data_dir() -> Iterator[Path]:
    # Not under tmp_path: the embedded server's socket path must stay short.
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="dbs-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_development_ini_starts_and_stops_embedded_postgresql(
    embedded_data_dir: Path, base_env: dict[str, str]
) -> None:
    env = {
        **base_env,
        "DEBUSINE_DATA_DIR": str(embedded_data_dir),
        "DEBUSINE_BUS_BIND": f"tcp://127.0.0.1:{free_port()}",
    }
    admin(["migrate"], "development.ini", env)
    pgdata = embedded_data_dir / "postgres"
    assert (pgdata / "PG_VERSION").exists()
    # The admin command stopped the server it started.
    assert not (pgdata / "postmaster.pid").exists()

    port = free_port()
    process = run_server("development.ini", port, env)
    try:
        wait_for(f"http://127.0.0.1:{port}/api/1.0/whoami/", process)
        response = requests.get(f"http://127.0.0.1:{port}/api/1.0/whoami/", timeout=10)
        assert response.json()["authenticated"] is False
        assert (pgdata / "postmaster.pid").exists()
    finally:
        assert stop(process) == 0
    assert not (pgdata / "postmaster.pid").exists()


def test_missing_ini_file_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "debusine-server"), str(tmp_path / "nope.ini")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "no such ini file" in result.stderr
