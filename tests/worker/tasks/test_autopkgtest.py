"""`autopkgtest` on the worker: real autopkgtest in an unshare testbed made
from a bookworm tarball, on a package whose tests pass, skip, flake and fail."""

from __future__ import annotations

import json
import shutil
import tarfile
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from debusine.client.http import APIClient
from tests.client.conftest import LiveServer
from tests.e2e.environments import need, need_namespaces
from tests.worker.tasks.live import (
    Build,
    assign,
    outputs,
    run_worker_task,
    upload_binaries,
    upload_environment,
    upload_source,
)
from tests.worker.tasks.live import admin as admin
from tests.worker.tasks.live import engine as engine
from tests.worker.tasks.live import hello_build as hello_build
from tests.worker.tasks.live import live_server as live_server

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(autouse=True)
def _autopkgtest() -> None:
    need(shutil.which("autopkgtest") is not None, "needs autopkgtest")
    need_namespaces()


def run_autopkgtest(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    build: Build,
    environment: Path,
    **task_data: Any,
) -> tuple[dict[str, Any], str, int]:
    source = upload_source(admin, build)
    binaries = upload_binaries(admin, build)
    environment_id = upload_environment(admin, environment)
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "autopkgtest",
        {
            "input": {"source_artifact": source, "binary_artifacts": binaries},
            "host_architecture": "amd64",
            "environment": environment_id,
            **task_data,
        },
        {
            "source_artifact_id": source,
            "binary_artifacts_ids": binaries,
            "environment_id": environment_id,
        },
    )
    return result, log, assigned.work_request_id


def test_each_test_has_its_result_and_a_failed_test_fails(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
    buildd_tarball: Path,
) -> None:
    result, log, work_request = run_autopkgtest(
        tmp_path,
        live_server,
        admin,
        engine,
        hello_build,
        buildd_tarball,
        timeout={"test": 300},
    )
    assert result == {"result": "failure"}, log
    assert "autopkgtest: version 5." in log
    found = outputs(admin, engine, work_request)
    (tests,) = found["debian:autopkgtest"]
    assert tests.data["results"] == {
        "greets": {"status": "PASS", "details": None},
        "skips": {
            "status": "SKIP",
            "details": "exit status 77 and marked as skippable",
        },
        "flaky": {"status": "FLAKY", "details": "non-zero exit status 1"},
        "fails": {"status": "FAIL", "details": "non-zero exit status 1"},
    }
    assert tests.data["source_package"] == {
        "name": "debusine-hello",
        "version": "1.0-1",
        "url": None,
    }
    assert tests.data["architecture"] == "amd64"
    assert tests.data["distribution"] == "debian:bookworm"
    assert "--timeout-test=300" in tests.data["cmdline"]
    assert "-- unshare --tarball" in tests.data["cmdline"]
    # The output directory, without the copies of the binaries.
    assert tests.files["testpkg-version"].strip() == "debusine-hello 1.0-1"
    assert "deliberate failure" in tests.files["fails-stderr"]
    assert "greets" in json.dumps(tests.files["log"])
    assert not any(path.startswith("binaries/") for path in tests.files)
    (logs,) = found["debusine:work-request-debug-logs"]
    assert "fails                FAIL" in logs.files["summary"]
    assert "autopkgtest: failure" in log


def test_a_broken_testbed_is_an_error_with_a_code(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    # A "system" with nothing in it: the testbed cannot even start.
    empty = tmp_path / "empty.tar.xz"
    with tarfile.open(empty, "w:xz") as archive:
        info = tarfile.TarInfo("etc")
        info.type = tarfile.DIRTYPE
        archive.addfile(info)
    result, log, work_request = run_autopkgtest(
        tmp_path, live_server, admin, engine, hello_build, empty
    )
    assert result["result"] == "error", log
    (error,) = result["errors"]
    assert error["code"] == "autopkgtest-testbed-failure"
    assert "exit status 16: testbed failure" in error["message"]
    found = outputs(admin, engine, work_request)
    assert "debian:autopkgtest" not in found
    (logs,) = found["debusine:work-request-debug-logs"]
    assert "[exit status 16]" in logs.files["cmd-output.log"]


def test_extra_repositories_are_refused_rather_than_ignored(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    result, log, _ = run_autopkgtest(
        tmp_path,
        live_server,
        admin,
        engine,
        hello_build,
        hello_build.build_log,
        extra_repositories=[
            {
                "url": "http://deb.example.org/debian",
                "suite": "bookworm",
                "components": ["main"],
            }
        ],
    )
    assert result["result"] == "error", log
    assert result["errors"][0]["code"] == "unsupported-option", result
    assert "extra_repositories" in result["errors"][0]["message"]
