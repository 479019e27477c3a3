"""`piuparts` on the worker: real piuparts (as root) from a bookworm tarball
on the binaries of a package built here."""

from __future__ import annotations

import os
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
    upload_environment,
)
from tests.worker.tasks.live import admin as admin
from tests.worker.tasks.live import engine as engine
from tests.worker.tasks.live import hello_build as hello_build
from tests.worker.tasks.live import live_server as live_server

pytestmark = pytest.mark.timeout(900)


@pytest.fixture(autouse=True)
def _piuparts() -> None:
    need(shutil.which("piuparts") is not None, "needs piuparts")
    need(os.geteuid() == 0, "piuparts needs root")


def run_piuparts(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    build: Build,
    base: Path,
) -> tuple[dict[str, Any], str, int, list[int]]:
    binaries = upload_binaries(admin, build)
    base_id = upload_environment(admin, base)
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "piuparts",
        {
            "input": {"binary_artifacts": binaries},
            "host_architecture": "amd64",
            "environment": base_id,
            "base_tgz": base_id,
        },
        {
            "binary_artifacts_ids": binaries,
            "environment_id": base_id,
            "base_tgz_id": base_id,
        },
    )
    return result, log, assigned.work_request_id, [*binaries, base_id]


def test_the_binaries_install_upgrade_and_remove_cleanly(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
    buildd_tarball: Path,
) -> None:
    result, log, work_request, inputs = run_piuparts(
        tmp_path, live_server, admin, engine, hello_build, buildd_tarball
    )
    assert result == {"result": "success"}, log
    assert "piuparts: version 1." in log
    assert "bookworm from http://deb.debian.org/debian" in log
    (logs,) = outputs(admin, engine, work_request)["debusine:work-request-debug-logs"]
    assert logs.relations == relates_to(inputs)
    piuparts_log = logs.files["piuparts.log"]
    assert "piuparts version 1.1.7 starting up." in piuparts_log
    assert "PASS: All tests." in piuparts_log
    assert piuparts_log.rstrip().endswith("piuparts run ends.")
    # Both packages were tested, from the gzip copy of the tarball.
    assert "debusine-hello_1.0-1_amd64.deb" in piuparts_log
    assert "debusine-hello-data_1.0-1_all.deb" in piuparts_log
    assert f"--basetgz={tmp_path}/work/base.tgz" in log


def test_a_base_that_is_no_tarball_is_an_error(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    hello_build: Build,
) -> None:
    bogus = tmp_path / "bookworm.tar.xz"
    bogus.write_text("not compressed at all\n")
    result, log, work_request, _ = run_piuparts(
        tmp_path, live_server, admin, engine, hello_build, bogus
    )
    assert result["result"] == "error", log
    (error,) = result["errors"]
    assert error["code"] == "invalid-input"
    assert "base_tgz bookworm.tar.xz cannot be read" in error["message"]
    found = outputs(admin, engine, work_request)
    assert "debusine:work-request-debug-logs" in found
    assert not (tmp_path / "work" / "base.tgz").exists()
