"""Downloads refuse to write outside their target or to keep a bad file.

A small real HTTP server (http.server in a thread) serves tarballs and files
that a debusine server would never produce.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from debusine.client.config import ServerConfig
from debusine.client.download import Downloader, safe_destination, should_use_tarball
from debusine.client.errors import ClientError
from debusine.client.http import APIClient
from debusine.client.progress import progress_bars


class Served:
    def __init__(self) -> None:
        self.bodies: dict[str, bytes] = {}
        self.headers: list[dict[str, str]] = []


@pytest.fixture
def served() -> Iterator[tuple[str, Served]]:
    state = Served()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.headers.append(dict(self.headers))
            body = state.bodies.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


def downloader(base: str) -> Downloader:
    client = APIClient(ServerConfig("t", f"{base}/api", "debusine", "TOKEN"))
    return Downloader(client, progress_bars(enabled=False).__enter__())


def spec(content: bytes) -> dict[str, Any]:
    return {
        "size": len(content),
        "checksums": {"sha256": hashlib.sha256(content).hexdigest()},
    }


def tarball(members: list[tarfile.TarInfo], contents: list[bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for member, content in zip(members, contents, strict=True):
            member.size = len(content)
            tar.addfile(member, io.BytesIO(content) if member.isreg() else None)
    return buffer.getvalue()


@pytest.mark.parametrize(
    "path", ["", "/etc/passwd", "../x", "a/../../x", "a//b", "./a", "a/.", "a\0b"]
)
def test_unsafe_paths(tmp_path: Path, path: str) -> None:
    with pytest.raises(ClientError, match="not a safe relative path"):
        safe_destination(tmp_path, path)


def test_symlinked_directory_does_not_lead_out(tmp_path: Path) -> None:
    (tmp_path / "target").mkdir()
    (tmp_path / "target" / "link").symlink_to(tmp_path)
    with pytest.raises(ClientError, match="leads outside"):
        safe_destination(tmp_path / "target", "link/x")
    assert safe_destination(tmp_path / "target", "a/b") == tmp_path / "target/a/b"


def test_tarball_heuristic() -> None:
    small = {"size": 10}
    assert not should_use_tarball({"a": small})
    assert should_use_tarball({"a": small, "b": small})
    assert not should_use_tarball({"a": small, "b": {"size": 21 * 1024 * 1024}})
    many = {str(i): {"size": 20 * 1024 * 1024} for i in range(5)}
    assert not should_use_tarball(many)


def test_file_with_wrong_hash_is_not_kept(
    served: tuple[str, Served], tmp_path: Path
) -> None:
    base, state = served
    state.bodies["/f"] = b"evil"
    with pytest.raises(ClientError, match=r"sha256 \w+ does not match"):
        downloader(base).download_file(f"{base}/f", tmp_path / "f", spec(b"good"))
    assert list(tmp_path.iterdir()) == []
    # The token goes with downloads, the scope does not (as upstream).
    assert state.headers[0]["Token"] == "TOKEN"
    assert "X-Debusine-Scope" not in state.headers[0]


def test_truncated_file_is_not_kept(served: tuple[str, Served], tmp_path: Path) -> None:
    base, state = served
    state.bodies["/f"] = b"goo"
    with pytest.raises(ClientError, match="received 3 bytes, expected 4"):
        downloader(base).download_file(f"{base}/f", tmp_path / "f", spec(b"good"))
    assert list(tmp_path.iterdir()) == []


def test_tarball_extraction(served: tuple[str, Served], tmp_path: Path) -> None:
    base, state = served
    directory = tarfile.TarInfo("dir")
    directory.type = tarfile.DIRTYPE
    state.bodies["/t"] = tarball(
        [directory, tarfile.TarInfo("dir/a"), tarfile.TarInfo("b")], [b"", b"A", b"B"]
    )
    files = {"dir/a": spec(b"A"), "b": spec(b"B")}
    written = downloader(base).extract_tarball(f"{base}/t", tmp_path, files)
    assert written == ["dir/a", "b"]
    assert (tmp_path / "dir/a").read_bytes() == b"A"
    assert (tmp_path / "b").read_bytes() == b"B"


def _symlink(name: str, target: str) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = target
    return info


@pytest.mark.parametrize(
    ("members", "contents", "files", "message"),
    [
        ([tarfile.TarInfo("../evil")], [b"x"], {"../evil": spec(b"x")}, "not a safe"),
        (
            [tarfile.TarInfo("/etc/evil")],
            [b"x"],
            {"/etc/evil": spec(b"x")},
            "not a safe",
        ),
        ([_symlink("a", "/etc/passwd")], [b""], {"a": spec(b"")}, "not a regular file"),
        ([tarfile.TarInfo("other")], [b"x"], {"a": spec(b"x")}, "not a file of the"),
        ([tarfile.TarInfo("a")], [b"y"], {"a": spec(b"x")}, "does not match"),
        ([tarfile.TarInfo("a")], [b"x"], {"a": spec(b"x"), "b": spec(b"")}, "lacks b"),
    ],
)
def test_tarball_refusals(
    served: tuple[str, Served],
    tmp_path: Path,
    members: list[tarfile.TarInfo],
    contents: list[bytes],
    files: dict[str, Any],
    message: str,
) -> None:
    base, state = served
    state.bodies["/t"] = tarball(members, contents)
    target = tmp_path / "target"
    target.mkdir()
    with pytest.raises(ClientError, match=message):
        downloader(base).extract_tarball(f"{base}/t", target, files)
    assert not (tmp_path / "evil").exists()
    # Only verified files are kept (a complete one before the missing one).
    kept = sorted(p.name for p in target.iterdir())
    assert kept == (["a"] if message == "lacks b" else [])


def test_not_a_tarball(served: tuple[str, Served], tmp_path: Path) -> None:
    base, state = served
    state.bodies["/t"] = b"this is not gzip"
    with pytest.raises(ClientError, match="is invalid"):
        downloader(base).extract_tarball(f"{base}/t", tmp_path, {"a": spec(b"")})


def test_downloaded_file_gets_the_umask_mode(
    served: tuple[str, Served], tmp_path: Path
) -> None:
    base, state = served
    state.bodies["/f"] = b"good"
    previous = os.umask(0o022)
    try:
        downloader(base).download_file(f"{base}/f", tmp_path / "f", spec(b"good"))
    finally:
        os.umask(previous)

    assert (tmp_path / "f").read_bytes() == b"good"
    assert (tmp_path / "f").stat().st_mode & 0o777 == 0o644
