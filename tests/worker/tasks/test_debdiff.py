"""`debdiff` on the worker: real debdiff between two versions built here."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from debusine.client.http import APIClient
from tests.client.conftest import LiveServer
from tests.e2e.environments import need
from tests.worker.tasks.live import (
    Build,
    assign,
    outputs,
    relates_to,
    run_worker_task,
    upload_binaries,
    upload_build_log,
    upload_source,
)
from tests.worker.tasks.live import admin as admin
from tests.worker.tasks.live import engine as engine
from tests.worker.tasks.live import hello_build as hello_build
from tests.worker.tasks.live import hello_build_2 as hello_build_2
from tests.worker.tasks.live import live_server as live_server

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(autouse=True)
def _debdiff() -> None:
    need(shutil.which("debdiff") is not None, "needs devscripts' debdiff")


def run_debdiff(
    tmp_path: Path,
    live_server: LiveServer,
    engine: Engine,
    given: dict[str, object],
    dynamic: dict[str, object],
    **task_data: object,
) -> tuple[dict[str, Any], str, int]:
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "debdiff",
        {"input": given, "host_architecture": "amd64", **task_data},
        dynamic,
    )
    return result, log, assigned.work_request_id


def test_two_sources_show_the_new_version(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
    hello_build_2: Build,
) -> None:
    old, new = upload_source(admin, hello_build), upload_source(admin, hello_build_2)
    result, log, work_request = run_debdiff(
        tmp_path,
        live_server,
        engine,
        {"source_artifacts": [old, new]},
        {"original_id": old, "new_id": new},
    )
    assert result == {"result": "success"}, log
    assert "debdiff: version 2." in log
    found = outputs(admin, engine, work_request)
    (diff,) = found["debian:debdiff"]
    assert diff.data == {
        "original": "debusine-hello_1.0-1.dsc",
        "new": "debusine-hello_1.0-2.dsc",
    }
    assert diff.relations == relates_to([old, new])
    text = diff.files["debdiff.txt"]
    # The changelog's new entry, and the manual page version 1.0-2 adds.
    assert "+debusine-hello (1.0-2) unstable; urgency=medium" in text
    assert "-debusine-hello (1.0-1) unstable; urgency=medium" in text
    assert "debian/debusine-hello.1" in text
    assert "debusine:work-request-debug-logs" in found


def test_two_sets_of_binaries_show_the_version_change(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
    hello_build_2: Build,
) -> None:
    old = upload_binaries(admin, hello_build)
    new = upload_binaries(admin, hello_build_2)
    result, log, work_request = run_debdiff(
        tmp_path,
        live_server,
        engine,
        {"binary_artifacts": [old, new]},
        {"original_ids": old, "new_ids": new},
    )
    assert result == {"result": "success"}, log
    (diff,) = outputs(admin, engine, work_request)["debian:debdiff"]
    assert diff.data["original"] == (
        "debusine-hello-data_1.0-1_all.deb debusine-hello_1.0-1_amd64.deb"
    )
    assert diff.relations == relates_to(old + new)
    text = diff.files["debdiff.txt"]
    assert "Version: [-1.0-1-] {+1.0-2+}" in text
    # The manual page is new in 1.0-2.
    assert "/usr/share/man/man1/debusine-hello.1.gz" in text


def test_a_build_log_is_not_a_source_to_compare(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    old, new = upload_source(admin, hello_build), upload_build_log(admin, hello_build)
    result, log, work_request = run_debdiff(
        tmp_path,
        live_server,
        engine,
        {"source_artifacts": [old, new]},
        {"original_id": old, "new_id": new},
    )
    assert result["result"] == "error", log
    assert result["errors"][0]["code"] == "invalid-input"
    assert "debian:debdiff" not in outputs(admin, engine, work_request)
