"""Upload and download a 1 GiB file through a real server; compare with `cp`.

Run as `.venv/bin/python bench/files.py` from the source tree. It creates a
fresh database (on PostgreSQL at 127.0.0.1:5432 as `postgres` with trust
auth if it answers, else on the embedded PostgreSQL), migrates it,
bootstraps an admin token, then:

- times `cp` of a 1 GiB random file on the same disk (and, informational,
  `cp` followed by `sync`: the server fsyncs what it stores);
- starts `debusine-server production.ini` (gunicorn) on a free port with its
  data in a temporary directory, uploads the file with the client's code
  (probe, then 50 MiB chunks), downloads it with the client's code, and
  samples the peak RSS of the server's processes during the transfers;
- does the same with `development.ini` (waitress) for comparison, unless
  BENCH_WAITRESS=0.

It prints `FIGURE name value unit target ...` lines. Not a test.
"""

from __future__ import annotations

import contextlib
import hashlib
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

from debusine.client.config import ServerConfig  # noqa: E402
from debusine.client.download import Downloader  # noqa: E402
from debusine.client.http import APIClient  # noqa: E402
from debusine.client.progress import progress_bars  # noqa: E402
from debusine.client.upload import Uploader  # noqa: E402
from debusine.db.migrations import alembic_config, upgrade  # noqa: E402

# 1 GiB by default; BENCH_FILE_MIB=2048 for the 2 GiB memory check.
SIZE = int(os.environ.get("BENCH_FILE_MIB", "1024")) << 20
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


def process_tree(pid: int) -> list[int]:
    """`pid` and its descendants (gunicorn: the master and its workers)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").glob("*/children"):
            with contextlib.suppress(OSError):
                todo.extend(int(child) for child in task.read_text().split())
    return pids


def status_kb(pid: int, field: str) -> int:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in status.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


class PeakRSS(threading.Thread):
    """Samples the server's processes until stopped.

    `peak_kb` is the largest peak RSS (VmHWM) of one process, the one that
    handles the transfers; `total_kb` the largest sum of RSS over them all.
    """

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_kb = 0
        self.total_kb = 0
        self.stopped = threading.Event()

    def sample(self) -> None:
        pids = process_tree(self.pid)
        for pid in pids:
            self.peak_kb = max(self.peak_kb, status_kb(pid, "VmHWM"))
        self.total_kb = max(self.total_kb, sum(status_kb(p, "VmRSS") for p in pids))

    def run(self) -> None:
        while not self.stopped.wait(0.05):
            self.sample()
        self.sample()


def wait_for(url: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            requests.get(url, timeout=2)
            return
        except (requests.ConnectionError, requests.Timeout):
            # gunicorn accepts before its worker has loaded the application.
            time.sleep(0.2)
    raise RuntimeError(f"the server did not answer at {url}")


def sync() -> None:
    # Each measure starts with no dirty pages left by the one before.
    subprocess.run(["sync"], check=True)


def measure_cp(source: Path, work: Path) -> tuple[float, float]:
    """Seconds for `cp`, and for `cp` then `sync` of the copy."""
    copy = work / "copy.bin"
    sync()
    start = time.monotonic()
    subprocess.run(["cp", str(source), str(copy)], check=True)
    cp_time = time.monotonic() - start
    subprocess.run(["sync", "-f", str(copy)], check=True)
    cp_sync_time = time.monotonic() - start
    copy.unlink()
    return cp_time, cp_sync_time


class Transfers:
    """Times one upload and one download through a server started from `ini`."""

    def __init__(self, ini: str, env: dict[str, str], work: Path) -> None:
        self.ini = ini
        self.work = work / ini.removesuffix(".ini")
        data_dir = self.work / "data"
        data_dir.mkdir(parents=True)
        self.env = {
            **env,
            "DEBUSINE_DATA_DIR": str(data_dir),
            "DEBUSINE_BUS_BIND": f"tcp://127.0.0.1:{free_port()}",
        }
        self.upload_time = self.download_time = 0.0
        self.peak_kb = self.total_kb = 0

    def run(self, token: str, source: Path, digest: str) -> None:
        port = free_port()
        server = subprocess.Popen(
            [BIN / "debusine-server", self.ini, "--listen", f"127.0.0.1:{port}"],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=(self.work / "server.log").open("wb"),
        )
        try:
            root = f"http://127.0.0.1:{port}"
            wait_for(root + "/api/1.0/whoami/", time.monotonic() + 60)
            self._transfer(server.pid, root, token, source, digest)
        finally:
            server.terminate()
            server.wait(60)

    def _transfer(
        self, pid: int, root: str, token: str, source: Path, digest: str
    ) -> None:
        client = APIClient(ServerConfig("bench", root + "/api", "debusine", token))
        rss = PeakRSS(pid)
        rss.start()
        spec = {"size": SIZE, "checksums": {"sha256": digest}, "type": "file"}
        artifact = client.post(
            "/artifact/",
            {"category": "debusine:test", "files": {"big.bin": spec}, "data": {}},
            expected=(201,),
        )
        target = self.work / "down.bin"
        with progress_bars(False) as progress:
            sync()
            start = time.monotonic()
            Uploader(client, progress).upload(artifact["id"], "big.bin", source, SIZE)
            self.upload_time = time.monotonic() - start
            sync()
            start = time.monotonic()
            Downloader(client, progress).download_file(
                artifact["files"]["big.bin"]["url"], target, spec
            )
            self.download_time = time.monotonic() - start
        rss.stopped.set()
        rss.join()
        target.unlink()
        self.peak_kb, self.total_kb = rss.peak_kb, rss.total_kb


def bench_server(
    ini: str, base: URL, work: Path, source: Path, digest: str
) -> Transfers:
    """Transfers through a server from `ini`, on a database of its own."""
    name = f"debusine_bench_{uuid.uuid4().hex[:8]}"
    database = create_database(base, name)
    try:
        upgrade(alembic_config(database_url=database))
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("DEBUSINE_")},
            "DEBUSINE_SQLALCHEMY_URL": database,
            "DEBUSINE_ORCHESTRATOR": "false",
        }
        transfers = Transfers(ini, env, work)
        token_file = transfers.work / "token"
        subprocess.run(
            [BIN / "debusine-admin", "bootstrap", "--token-file", str(token_file)],
            cwd=ROOT,
            env=transfers.env,
            check=True,
            stdout=subprocess.DEVNULL,
        )
        transfers.run(token_file.read_text().strip(), source, digest)
        return transfers
    finally:
        drop_database(base, name)


def main() -> int:
    base = server_url()
    (ROOT / "var").mkdir(exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="debusine-bench-", dir=ROOT / "var"))
    try:
        source = work / "big.bin"
        digest = make_file(source)
        cp_time, cp_sync_time = measure_cp(source, work)
        gunicorn = bench_server("production.ini", base, work, source, digest)
        waitress = None
        if os.environ.get("BENCH_WAITRESS", "1") != "0":
            waitress = bench_server("development.ini", base, work, source, digest)
        print(
            f"# {SIZE} bytes: cp {cp_time:.2f}s (with sync {cp_sync_time:.2f}s); "
            f"gunicorn upload {gunicorn.upload_time:.2f}s, "
            f"download {gunicorn.download_time:.2f}s"
            + (
                f"; waitress upload {waitress.upload_time:.2f}s, "
                f"download {waitress.download_time:.2f}s"
                if waitress
                else ""
            )
        )
        up, down = gunicorn.upload_time, gunicorn.download_time
        print(f"FIGURE upload_vs_cp {cp_time / up:.2f} ratio target >=0.5")
        print(f"FIGURE download_vs_cp {cp_time / down:.2f} ratio target >=0.5")
        print(
            f"FIGURE upload_server_rss_mb {gunicorn.peak_kb / 1024:.0f} MB target <=150"
        )
        print(f"FIGURE server_tree_rss_mb {gunicorn.total_kb / 1024:.0f} MB")
        print(f"FIGURE upload_vs_cp_sync {cp_sync_time / up:.2f} ratio")
        print(f"FIGURE download_vs_cp_sync {cp_sync_time / down:.2f} ratio")
        if waitress is not None:
            print(
                f"FIGURE waitress_upload_vs_cp {cp_time / waitress.upload_time:.2f} "
                "ratio"
            )
            print(
                "FIGURE waitress_download_vs_cp "
                f"{cp_time / waitress.download_time:.2f} ratio"
            )
            print(f"FIGURE waitress_server_rss_mb {waitress.peak_kb / 1024:.0f} MB")
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
