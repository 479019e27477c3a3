"""`mergeuploads` on the worker: real mergechanges on uploads built here."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from debian.deb822 import Changes
from sqlalchemy import Engine

from debusine.artifacts.local import upload_from_changes
from debusine.client.http import APIClient
from tests.client.conftest import LiveServer
from tests.e2e.environments import need_tools
from tests.worker.tasks.live import (
    BUILD_ENV,
    Build,
    assign,
    build_package,
    outputs,
    run_worker_task,
    upload,
)
from tests.worker.tasks.live import admin as admin
from tests.worker.tasks.live import engine as engine
from tests.worker.tasks.live import live_server as live_server

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Build, Path, Path]:
    """A binary build and the source-only .changes of the same version."""
    need_tools("mergechanges", "dpkg-genchanges")
    directory = tmp_path_factory.mktemp("merge")
    build = build_package(directory, "1.0-1")
    tree = next(p for p in directory.iterdir() if p.is_dir())
    source_changes = directory / "debusine-hello_1.0-1_source.changes"
    subprocess.run(
        ["dpkg-genchanges", "-S", f"-O{source_changes}"],
        cwd=tree,
        check=True,
        capture_output=True,
        env=BUILD_ENV,
    )
    return build, source_changes, directory / "debusine-hello_1.0-1_amd64.changes"


def upload_changes(admin: APIClient, changes: Path) -> int:
    return upload(admin, upload_from_changes(changes).artifacts[0])


def test_a_source_and_a_binary_upload_are_merged(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    built: tuple[Build, Path, Path],
) -> None:
    _, source_changes, binary_changes = built
    inputs = [
        upload_changes(admin, source_changes),
        upload_changes(admin, binary_changes),
    ]
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "mergeuploads",
        {"input": {"uploads": inputs}},
        {"uploads_ids": inputs},
    )
    assert result == {"result": "success"}, log
    assert "mergechanges: version 2." in log

    (merged,) = outputs(admin, engine, assigned.work_request_id)["debian:upload"]
    name = "debusine-hello_1.0-1_multi.changes"
    changes = Changes(merged.files[name])
    assert set(changes["Architecture"].split()) == {"source", "amd64", "all"}
    expected = {
        entry["name"]
        for path in (source_changes, binary_changes)
        for entry in Changes(path.read_text())["Files"]
    }
    assert {entry["name"] for entry in changes["Files"]} == expected
    assert set(merged.files) == expected | {name}
    assert merged.data["changes_fields"]["Architecture"] == changes["Architecture"]
    assert merged.relations == sorted(
        [("extends", i) for i in inputs] + [("relates-to", i) for i in inputs]
    )


def test_the_same_upload_twice_is_refused(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    built: tuple[Build, Path, Path],
) -> None:
    _, source_changes, _ = built
    inputs = [upload_changes(admin, source_changes)] * 2
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "mergeuploads",
        {"input": {"uploads": inputs}},
        {"uploads_ids": inputs},
    )
    assert result["result"] == "error", log
    assert result["errors"][0]["code"] == "invalid-input"
    assert source_changes.name in result["errors"][0]["message"]
    assert "debian:upload" not in outputs(admin, engine, assigned.work_request_id)
