"""`blhc` on the worker: real blhc on the build logs of packages built here."""

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
def _blhc() -> None:
    need(shutil.which("blhc") is not None, "needs blhc")


def run_blhc(
    tmp_path: Path,
    live_server: LiveServer,
    engine: Engine,
    build_log: int,
    **task_data: object,
) -> tuple[dict[str, Any], str, int]:
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "blhc",
        {"input": {"artifact": build_log}, **task_data},
        {"artifact_id": build_log},
    )
    return result, log, assigned.work_request_id


def test_missing_hardening_flags_fail_the_task(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    build_log = upload_build_log(admin, hello_build)
    result, log, work_request = run_blhc(tmp_path, live_server, engine, build_log)
    assert result == {"result": "failure"}, log
    assert "blhc: version 0." in log
    found = outputs(admin, engine, work_request)
    (report,) = found["debian:blhc"]
    assert report.data == {}
    assert report.relations == relates_to([build_log])
    text = report.files["blhc.txt"]
    # The package's rules call make with fixed flags: the hardening is gone.
    assert "CFLAGS missing (" in text
    assert "-fstack-protector-strong" in text
    assert "CPPFLAGS missing (-D_FORTIFY_SOURCE=2)" in text
    assert "LDFLAGS missing (-Wl,-z,relro)" in text
    assert "blhc: found missing-hardening-flags" in log
    (logs,) = found["debusine:work-request-debug-logs"]
    assert "[exit status 8]" in logs.files["cmd-output.log"]


def test_a_hardened_build_passes_and_flags_reach_blhc(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build_2: Build,
) -> None:
    build_log = upload_build_log(admin, hello_build_2)
    result, log, work_request = run_blhc(
        tmp_path, live_server, engine, build_log, extra_flags=["--line-numbers"]
    )
    assert result == {"result": "success"}, log
    (report,) = outputs(admin, engine, work_request)["debian:blhc"]
    assert report.files["blhc.txt"] == ""
    assert "blhc --line-numbers " in log


def test_an_artifact_that_is_no_build_log_is_an_error(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    source = upload_source(admin, hello_build)
    result, log, work_request = run_blhc(tmp_path, live_server, engine, source)
    assert result["result"] == "error", log
    (error,) = result["errors"]
    assert error["code"] == "invalid-input"
    assert "is not a build log" in error["message"]
    found = outputs(admin, engine, work_request)
    assert "debian:blhc" not in found
    assert "debusine:work-request-debug-logs" in found
