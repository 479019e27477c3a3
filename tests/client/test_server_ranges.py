"""Downloads from a real waitress server, where files are sent by file_wrapper."""

from __future__ import annotations

import hashlib
import os

import requests

from tests.client.conftest import LiveServer


def test_full_and_range_downloads_through_waitress(live_server: LiveServer) -> None:
    content = os.urandom(3 * 1024 * 1024 + 17)
    digest = hashlib.sha256(content).hexdigest()
    headers = {"Token": live_server.token}
    created = requests.post(
        f"{live_server.api_url}/1.0/artifact/",
        json={
            "category": "debusine:test",
            "files": {
                "blob.bin": {"size": len(content), "checksums": {"sha256": digest}}
            },
            "data": {},
        },
        headers=headers,
        timeout=30,
    )
    assert created.status_code == 201, created.text
    artifact = created.json()
    if artifact["files_to_upload"]:
        uploaded = requests.put(
            f"{live_server.api_url}/1.0/artifact/{artifact['id']}/files/blob.bin/",
            data=content,
            headers=headers,
            timeout=30,
        )
        assert uploaded.status_code == 201, uploaded.text
    url = artifact["files"]["blob.bin"]["url"]

    full = requests.get(url, headers=headers, timeout=30)
    assert full.status_code == 200
    assert full.content == content
    assert full.headers["Content-Length"] == str(len(content))

    start, stop = 1024 * 1024 - 5, 2 * 1024 * 1024 + 9
    part = requests.get(
        url, headers={**headers, "Range": f"bytes={start}-{stop}"}, timeout=30
    )
    assert part.status_code == 206
    assert part.content == content[start : stop + 1]
    assert part.headers["Content-Range"] == f"bytes {start}-{stop}/{len(content)}"

    tail = requests.get(url, headers={**headers, "Range": "bytes=-10"}, timeout=30)
    assert tail.content == content[-10:]
