"""The upload protocol loop (client-protocol §2), against the real server."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
import requests

from debusine.client.config import ServerConfig
from debusine.client.errors import ClientError
from debusine.client.http import APIClient, ConnectionFailed
from debusine.client.progress import progress_bars
from debusine.client.upload import Uploader, create_artifact
from tests.client.conftest import LiveServer
from tests.functional.test_server_process import free_port


class RecordingUploader(Uploader):
    """An uploader that remembers the Content-Range and status of each PUT."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.puts: list[tuple[str, int]] = []

    def _put(self, url: str, headers: Mapping[str, str], body: Any) -> Any:
        response = super()._put(url, headers, body)
        self.puts.append((headers["Content-Range"], response.status_code))
        return response


@pytest.fixture
def client(live_server: LiveServer) -> APIClient:
    return APIClient(
        ServerConfig("test", live_server.api_url, "debusine", live_server.token)
    )


def declare(client: APIClient, files: dict[str, bytes]) -> dict[str, Any]:
    return {
        "category": "debusine:test",
        "files": {
            name: {
                "size": len(content),
                "checksums": {"sha256": hashlib.sha256(content).hexdigest()},
                "type": "file",
            }
            for name, content in files.items()
        },
        "data": {},
    }


def download(client: APIClient, artifact_id: int, path: str) -> bytes:
    artifact = client.get(f"/artifact/{artifact_id}/")
    assert artifact["files_to_upload"] == []
    response = client.session.get(artifact["files"][path]["url"], timeout=30)
    response.raise_for_status()
    return response.content


def test_chunks_and_nested_paths(client: APIClient, tmp_path: Path) -> None:
    content = bytes(range(256)) * 10  # 2560 bytes: 3 chunks of 1000
    local = tmp_path / "data.bin"
    local.write_bytes(content)
    body = declare(client, {"dir/sub/data.bin": content})
    with progress_bars(enabled=True) as progress:
        uploader = RecordingUploader(client, progress, chunk_size=1000)
        artifact = create_artifact(client, body, {"dir/sub/data.bin": local}, uploader)
    assert uploader.puts == [
        ("bytes */2560", 206),
        ("bytes 0-999/2560", 200),
        ("bytes 1000-1999/2560", 200),
        ("bytes 2000-2559/2560", 201),
    ]
    assert download(client, artifact["id"], "dir/sub/data.bin") == content


def test_resumes_from_what_the_server_has(client: APIClient, tmp_path: Path) -> None:
    content = b"0123456789" * 250
    local = tmp_path / "f"
    local.write_bytes(content)
    artifact = client.post(
        "/artifact/", declare(client, {"f": content}), expected=(201,)
    )
    url = client.url(f"/artifact/{artifact['id']}/files/f/")
    first = requests.put(
        url,
        data=content[:700],
        headers={"Token": client.server.token, "Content-Range": "bytes 0-699/2500"},
        timeout=30,
    )
    assert first.status_code == 200
    assert first.headers["Range"] == "bytes=0-700"

    with progress_bars(enabled=False) as progress:
        uploader = RecordingUploader(client, progress, chunk_size=1000)
        uploader.upload(artifact["id"], "f", local, len(content))
    assert uploader.puts == [
        ("bytes */2500", 206),
        ("bytes 700-1699/2500", 200),
        ("bytes 1700-2499/2500", 201),
    ]
    assert download(client, artifact["id"], "f") == content

    # Complete: the probe says so and nothing is sent again.
    with progress_bars(enabled=False) as progress:
        uploader = RecordingUploader(client, progress, chunk_size=1000)
        uploader.upload(artifact["id"], "f", local, len(content))
    assert uploader.puts == [("bytes */2500", 200)]


def test_hash_mismatch_is_retried_three_times(
    client: APIClient, tmp_path: Path
) -> None:
    local = tmp_path / "f"
    local.write_bytes(b"b" * 100)
    body = declare(client, {"f": b"a" * 100})
    with progress_bars(enabled=False) as progress:
        uploader = RecordingUploader(client, progress)
        with pytest.raises(ClientError, match="does not match its sha256 3 times"):
            create_artifact(client, body, {"f": local}, uploader)
    assert uploader.puts == [("bytes */100", 206), ("bytes 0-99/100", 409)] * 3


def test_server_asks_for_an_undeclared_file(client: APIClient, tmp_path: Path) -> None:
    body = declare(client, {"f": b"content"})
    with (
        progress_bars(enabled=False) as progress,
        pytest.raises(ClientError, match=r"asks for file 'f'.*which was not declared"),
    ):
        create_artifact(client, body, {}, Uploader(client, progress))


def test_problem_during_upload(client: APIClient, tmp_path: Path) -> None:
    local = tmp_path / "f"
    local.write_bytes(b"x" * 10)
    artifact = client.post(
        "/artifact/", declare(client, {"f": b"x" * 10}), expected=(201,)
    )
    with (
        progress_bars(enabled=False) as progress,
        pytest.raises(ClientError, match=r"^Not found: Artifact \d+ has no file 'g'$"),
    ):
        Uploader(client, progress).upload(artifact["id"], "g", local, 10)


def test_connection_failures_are_retried(tmp_path: Path) -> None:
    port = free_port()
    client = APIClient(
        ServerConfig("down", f"http://127.0.0.1:{port}/api", "debusine", "T")
    )
    local = tmp_path / "f"
    local.write_bytes(b"x")
    with progress_bars(enabled=False) as progress:
        uploader = RecordingUploader(client, progress, retry_delay=0)
        with pytest.raises(ConnectionFailed, match="Connection refused"):
            uploader.upload(1, "f", local, 1)
    # Nothing answered, so nothing was recorded: but four attempts were made.
    assert uploader.puts == []
