"""`debusine-server` under gunicorn (production.ini), as a real process tree."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests
from sqlalchemy.engine import make_url

from debusine.client.config import ServerConfig
from debusine.client.download import Downloader
from debusine.client.http import APIClient
from debusine.client.progress import Progress, progress_bars
from debusine.client.upload import Uploader
from debusine.orchestration.orchestrator import ADVISORY_LOCK_KEY
from tests.database import ROOT
from tests.functional.test_server_process import BIN, admin, free_port, wait_for

CHUNK = 1 << 20
ACTIVE = "orchestrator: active (advisory lock held)"


@pytest.fixture
def progress() -> Iterator[Progress]:
    with progress_bars(False) as bars:
        yield bars


def gunicorn_ini(tmp_path: Path, workers: int) -> Path:
    """production.ini with `workers` processes."""
    text = (ROOT / "production.ini").read_text()
    assert "\nuse = egg:gunicorn#main\n" in text
    ini = tmp_path / "gunicorn.ini"
    ini.write_text(text.replace("\nworkers = 1\n", f"\nworkers = {workers}\n"))
    return ini


def advisory_lock_holders(database: str) -> list[int]:
    conninfo = (
        make_url(database)
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )
    with psycopg.connect(conninfo) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND database = (SELECT oid FROM pg_database"
            "                 WHERE datname = current_database())"
            " AND ((classid::bigint << 32) | objid::bigint) = %s",
            (ADVISORY_LOCK_KEY,),
        ).fetchall()
    return [row[0] for row in rows]


def wait_until(condition: object, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(condition) and condition():
            return
        time.sleep(0.2)
    pytest.fail("timed out")


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        found += [int(child) for child in task.read_text().split()]
    return found


def test_gunicorn_streams_uploads_serves_ranges_and_runs_one_orchestrator(
    scratch_database: str, tmp_path: Path, progress: Progress
) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("DEBUSINE_")},
        "DEBUSINE_SQLALCHEMY_URL": scratch_database,
        "DEBUSINE_BUS_BIND": f"tcp://127.0.0.1:{free_port()}",
        "DEBUSINE_DATA_DIR": str(tmp_path / "data"),
    }
    ini = gunicorn_ini(tmp_path, workers=2)
    token_file = tmp_path / "token"
    admin(["bootstrap", "--token-file", str(token_file)], str(ini), env)
    token = token_file.read_text().strip()
    port = free_port()
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [BIN / "debusine-server", str(ini), "--listen", f"127.0.0.1:{port}"],
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        root = f"http://127.0.0.1:{port}"
        wait_for(root + "/api/1.0/whoami/", server)
        wait_until(lambda: len(children(server.pid)) == 2)
        workers = children(server.pid)
        # Both workers are candidates; exactly one holds the lock.
        wait_until(lambda: log.read_text().count("starting the orchestrator") == 2)
        wait_until(lambda: len(advisory_lock_holders(scratch_database)) == 1)
        time.sleep(3)  # a second activation would show by now
        assert log.read_text().count(ACTIVE) == 1
        assert len(advisory_lock_holders(scratch_database)) == 1

        # Several chunks through the client's own upload code.
        data = os.urandom(3 * CHUNK + 12345)
        source = tmp_path / "big.bin"
        source.write_bytes(data)
        spec = {
            "size": len(data),
            "checksums": {"sha256": hashlib.sha256(data).hexdigest()},
            "type": "file",
        }
        client = APIClient(ServerConfig("test", root + "/api", "debusine", token))
        artifact = client.post(
            "/artifact/",
            {"category": "debusine:test", "files": {"big.bin": spec}, "data": {}},
            expected=(201,),
        )
        puts: list[str] = []
        uploader = Uploader(client, progress, chunk_size=CHUNK)
        original_put = uploader._put

        def counting_put(url: str, headers: Mapping[str, str], body: Any) -> Any:
            puts.append(headers["Content-Range"])
            return original_put(url, headers, body)

        uploader._put = counting_put  # type: ignore[method-assign]
        uploader.upload(artifact["id"], "big.bin", source, len(data))
        assert puts[0] == f"bytes */{len(data)}"
        assert len(puts) == 1 + 4
        stored = next((tmp_path / "data" / "store").rglob(f"*_{len(data)}"))
        assert stored.read_bytes() == data

        url = artifact["files"]["big.bin"]["url"]
        part = requests.get(
            url,
            headers={"Token": token, "Range": f"bytes={CHUNK - 7}-{2 * CHUNK + 99}"},
            timeout=30,
        )
        assert part.status_code == 206
        assert part.headers["Content-Range"] == (
            f"bytes {CHUNK - 7}-{2 * CHUNK + 99}/{len(data)}"
        )
        assert part.content == data[CHUNK - 7 : 2 * CHUNK + 100]
        tail = requests.get(
            url, headers={"Token": token, "Range": "bytes=-10"}, timeout=30
        )
        assert tail.status_code == 206
        assert tail.content == data[-10:]
        Downloader(client, progress).download_file(url, tmp_path / "down.bin", spec)
        assert (tmp_path / "down.bin").read_bytes() == data
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            code = server.wait(timeout=60)
        finally:
            if server.poll() is None:
                server.kill()
    assert code == 0, log.read_text()
    assert all(not Path(f"/proc/{pid}").exists() for pid in workers)
    wait_until(lambda: advisory_lock_holders(scratch_database) == [])


def test_unknown_gunicorn_setting_is_a_clear_error(tmp_path: Path) -> None:
    ini = tmp_path / "bad.ini"
    text = (ROOT / "production.ini").read_text()
    ini.write_text(text.replace("\nworkers = 1\n", "\nworkers = 1\nwrokers = 2\n"))
    result = subprocess.run(
        [BIN / "debusine-server", str(ini)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 3
    assert "wrokers: not a gunicorn setting" in result.stderr
