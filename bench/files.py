"""Upload and download a 1 GiB file through a real server; compare with `cp`.

Run as `.venv/bin/python bench/files.py` from the source tree. It creates a
fresh database (on PostgreSQL at 127.0.0.1:5432 as `postgres` with trust
auth if it answers, else on the embedded PostgreSQL), migrates it, starts
`debusine-server development.ini` on a free port with its data in a
temporary directory, bootstraps an admin token, then:

- times `cp` of a 1 GiB random file on the same disk;
- uploads it with the client protocol (probe, then 50 MiB chunks);
- downloads it (streamed, 1 MiB reads);
- samples the server's peak RSS (VmHWM) during the transfers.

It prints `FIGURE name value unit target ...` lines. Not a test.
"""

from __future__ import annotations

import hashlib
import mmap
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import psycopg
import requests
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from debusine.db.migrations import alembic_config, upgrade  # noqa: E402

# 1 GiB by default; BENCH_FILE_MIB=2048 for the 2 GiB memory check.
SIZE = int(os.environ.get("BENCH_FILE_MIB", "1024")) << 20
CHUNK = 50 * 1024 * 1024
TIMEOUT = 600
BIN = ROOT / ".venv" / "bin"


def server_url() -> URL:
    local = make_url("postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    try:
        psycopg.connect(
            "host=127.0.0.1 port=5432 user=postgres dbname=postgres"
        ).close()
    except psycopg.Error:
        from tests.database import server_base_url

        return server_base_url()
    return local


def create_database(base: URL, name: str) -> str:
    from tests.database import create_database as create

    return create(base, name).render_as_string(hide_password=False)


def drop_database(base: URL, name: str) -> None:
    from tests.database import drop_database as drop

    drop(base, name)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def make_file(path: Path) -> str:
    hasher = hashlib.sha256()
    block = os.urandom(1 << 20)
    with path.open("wb") as out:
        for i in range(SIZE >> 20):
            # Vary each MiB a little so that nothing can deduplicate it.
            chunk = i.to_bytes(8, "little") + block[8:]
            hasher.update(chunk)
            out.write(chunk)
    return hasher.hexdigest()


class PeakRSS(threading.Thread):
    """Samples VmHWM (and VmRSS) of a process until stopped."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.stopped = threading.Event()

    def sample(self) -> None:
        try:
            status = Path(f"/proc/{self.pid}/status").read_text()
        except OSError:
            return
        for line in status.splitlines():
            if line.startswith(("VmHWM:", "VmRSS:")):
                self.peak_kb = max(self.peak_kb, int(line.split()[1]))

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            self.sample()
        self.sample()


def wait_for(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except requests.ConnectionError:
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer at {url}")


def upload(api: str, token: str, artifact_id: int, path: str, source: Path) -> None:
    url = f"{api}/1.0/artifact/{artifact_id}/files/{path}/"
    headers = {"Token": token}
    size = source.stat().st_size
    probe = requests.put(
        url, headers={**headers, "Content-Range": f"bytes */{size}"}, timeout=TIMEOUT
    )
    if probe.status_code == 200:
        return
    assert probe.status_code == 206, probe.text
    start = int(probe.headers["Range"].split("-")[1])
    with (
        source.open("rb") as stream,
        mmap.mmap(stream.fileno(), 0, access=mmap.ACCESS_READ) as data,
    ):
        while start < size:
            end = min(start + CHUNK, size) - 1
            response = requests.put(
                url,
                data=data[start : end + 1],
                headers={**headers, "Content-Range": f"bytes {start}-{end}/{size}"},
                timeout=TIMEOUT,
            )
            if response.status_code == 201:
                return
            assert response.status_code == 200, response.text
            start = int(response.headers["Range"].split("-")[1])
    raise RuntimeError("the upload ended without a 201")


def download(url: str, token: str, target: Path) -> str:
    hasher = hashlib.sha256()
    with requests.get(
        url, headers={"Token": token}, stream=True, timeout=TIMEOUT
    ) as response:
        response.raise_for_status()
        with target.open("wb") as out:
            for chunk in response.iter_content(1 << 20):
                hasher.update(chunk)
                out.write(chunk)
    return hasher.hexdigest()


def main() -> int:
    base = server_url()
    name = f"debusine_bench_{uuid.uuid4().hex[:8]}"
    database = create_database(base, name)
    work = Path(tempfile.mkdtemp(prefix="debusine-bench-", dir=ROOT / "var"))
    server: subprocess.Popen[bytes] | None = None
    try:
        upgrade(alembic_config(database_url=database))
        data_dir = work / "data"
        data_dir.mkdir()
        env = {
            **os.environ,
            "DEBUSINE_SQLALCHEMY_URL": database,
            "DEBUSINE_DATA_DIR": str(data_dir),
            "DEBUSINE_ORCHESTRATOR": "false",
            "DEBUSINE_BUS_BIND": f"tcp://127.0.0.1:{free_port()}",
        }
        token_file = work / "token"
        subprocess.run(
            [BIN / "debusine-admin", "bootstrap", "--token-file", str(token_file)],
            cwd=ROOT,
            env=env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        token = token_file.read_text().strip()
        port = free_port()
        server = subprocess.Popen(
            [
                BIN / "debusine-server",
                "development.ini",
                "--listen",
                f"127.0.0.1:{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=(work / "server.log").open("wb"),
        )
        root = f"http://127.0.0.1:{port}"
        wait_for(root + "/api/1.0/whoami/", time.monotonic() + 60)

        source = work / "big.bin"
        digest = make_file(source)
        # The real `cp`, then the same copy flushed to disk: the server
        # fsyncs what it stores, so the second is the like-for-like cost.
        start = time.monotonic()
        subprocess.run(["cp", str(source), str(work / "copy.bin")], check=True)
        cp_time = time.monotonic() - start
        subprocess.run(["sync", "-f", str(work / "copy.bin")], check=True)
        cp_sync_time = time.monotonic() - start
        (work / "copy.bin").unlink()

        rss = PeakRSS(server.pid)
        rss.start()
        created = requests.post(
            root + "/api/1.0/artifact/",
            json={
                "category": "debusine:test",
                "files": {
                    "big.bin": {
                        "size": SIZE,
                        "checksums": {"sha256": digest},
                        "type": "file",
                    }
                },
                "data": {},
            },
            headers={"Token": token},
            timeout=TIMEOUT,
        )
        assert created.status_code == 201, created.text
        artifact = created.json()
        start = time.monotonic()
        upload(root + "/api", token, artifact["id"], "big.bin", source)
        upload_time = time.monotonic() - start

        start = time.monotonic()
        got = download(artifact["files"]["big.bin"]["url"], token, work / "down.bin")
        download_time = time.monotonic() - start
        rss.stopped.set()
        rss.join()
        assert got == digest, "the downloaded file differs"

        print(
            f"# cp {cp_time:.2f}s (with sync {cp_sync_time:.2f}s), "
            f"upload {upload_time:.2f}s, "
            f"download {download_time:.2f}s of {SIZE} bytes"
        )
        print(f"FIGURE upload_vs_cp {cp_time / upload_time:.2f} ratio target >=0.5")
        print(f"FIGURE download_vs_cp {cp_time / download_time:.2f} ratio target >=0.5")
        print(f"FIGURE upload_server_rss_mb {rss.peak_kb / 1024:.0f} MB target <=150")
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
        shutil.rmtree(work, ignore_errors=True)
        drop_database(base, name)


if __name__ == "__main__":
    sys.exit(main())
