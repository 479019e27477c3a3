"""`lintian` on the worker: real lintian on a package built here, outputs on
a real server."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from debusine.client.http import APIClient
from tests.client.conftest import LiveServer
from tests.e2e.environments import need
from tests.e2e.packages import LINTIAN_WARNING_TAG, OVERRIDDEN_LINTIAN_TAG
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
from tests.worker.tasks.live import live_server as live_server

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(autouse=True)
def _lintian() -> None:
    need(shutil.which("lintian") is not None, "needs lintian")


def run_lintian(
    tmp_path: Path,
    live_server: LiveServer,
    engine: Engine,
    source: int | None,
    binaries: list[int],
    **task_data: object,
) -> tuple[dict[str, Any], str, int]:
    assigned = assign(engine)
    given: dict[str, object] = {"binary_artifacts": binaries}
    if source is not None:
        given["source_artifact"] = source
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "lintian",
        {"input": given, **task_data},
        {"source_artifact_id": source, "binary_artifacts_ids": binaries},
    )
    return result, log, assigned.work_request_id


def test_the_warning_is_found_and_fails_at_warning_severity(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    source = upload_source(admin, hello_build)
    binaries = upload_binaries(admin, hello_build)
    result, log, work_request = run_lintian(
        tmp_path, live_server, engine, source, binaries, fail_on_severity="warning"
    )
    assert result == {"result": "failure"}, log
    assert "lintian: version 2." in log

    found = outputs(admin, engine, work_request)
    by_group = {a.data["architecture"]: a for a in found["debian:lintian"]}
    assert sorted(by_group) == ["all", "amd64", "source"]

    # The C program lacks its manual page: a warning of the amd64 binary.
    amd64 = by_group["amd64"]
    summary = amd64.data["summary"]
    assert LINTIAN_WARNING_TAG in summary["tags_found"]
    assert summary["tags_count_by_severity"]["warning"] >= 1
    assert summary["package_filename"] == {
        "debusine-hello": "debusine-hello_1.0-1_amd64.deb"
    }
    assert summary["lintian_version"].startswith("2.")
    assert summary["distribution"] == "debian:unstable"
    analysis = json.loads(amd64.files["analysis.json"])
    assert analysis["summary"] == summary
    assert {
        "tag": LINTIAN_WARNING_TAG,
        "severity": "warning",
        "package": "debusine-hello",
        "note": "",
        "pointer": "usr/bin/debusine-hello",
        "explanation": "",
        "comment": "",
    } in analysis["tags"]
    assert (
        f"W: debusine-hello: {LINTIAN_WARNING_TAG} [usr/bin/debusine-hello]\n"
        in amd64.files["lintian.txt"]
    )
    # The counts are those of the hints listed.
    listed = [t["severity"] for t in analysis["tags"]]
    assert summary["tags_count_by_severity"] == {
        s: listed.count(s) for s in summary["tags_count_by_severity"]
    }

    # Each group holds its own hints and relates to what was checked.
    source_summary = by_group["source"].data["summary"]
    assert OVERRIDDEN_LINTIAN_TAG in source_summary["overridden_tags_found"]
    assert OVERRIDDEN_LINTIAN_TAG not in source_summary["tags_found"]
    assert LINTIAN_WARNING_TAG not in source_summary["tags_found"]
    assert (
        f"O: debusine-hello source: {OVERRIDDEN_LINTIAN_TAG}"
        in by_group["source"].files["lintian.txt"]
    )
    assert by_group["source"].relations == relates_to([source])
    all_packages = by_group["all"].data["summary"]["package_filename"]
    assert all_packages == {"debusine-hello-data": "debusine-hello-data_1.0-1_all.deb"}
    assert LINTIAN_WARNING_TAG not in by_group["all"].data["summary"]["tags_found"]
    assert by_group["all"].relations + amd64.relations == relates_to(binaries)

    # The log of the run is kept.
    (logs,) = found["debusine:work-request-debug-logs"]
    assert logs.files["cmd-output.log"].startswith("lintian version 2.")
    assert "lintian: failure: tags at or above warning" in log


def test_default_severity_passes_and_output_selects_the_groups(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    binaries = upload_binaries(admin, hello_build)
    result, log, work_request = run_lintian(
        tmp_path,
        live_server,
        engine,
        None,
        binaries,
        output={"binary_all_analysis": False},
        target_distribution="debian:bookworm",
    )
    # Warnings only: below the default `error`.
    assert result == {"result": "success"}, log
    (amd64,) = outputs(admin, engine, work_request)["debian:lintian"]
    assert amd64.data["architecture"] == "amd64"
    assert amd64.data["summary"]["distribution"] == "debian:bookworm"
    assert LINTIAN_WARNING_TAG in amd64.data["summary"]["tags_found"]


def test_a_source_that_is_not_a_source_package_is_an_error(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    build_log = upload_build_log(admin, hello_build)
    result, log, work_request = run_lintian(
        tmp_path, live_server, engine, build_log, []
    )
    assert result["result"] == "error", log
    (error,) = result["errors"]
    assert error["code"] == "invalid-input"
    assert "must hold exactly one .dsc, it holds 0" in error["message"]
    found = outputs(admin, engine, work_request)
    assert "debian:lintian" not in found
    # Even so, the task's log is on the server.
    (logs,) = found["debusine:work-request-debug-logs"]
    assert logs.relations == relates_to([build_log])
