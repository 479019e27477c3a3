"""`mmdebstrap` on the worker: a real bootstrap from the Debian mirror, the
tarball and its data checked on a real server."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from sqlalchemy import Engine

from debusine.client.http import APIClient
from tests.client.conftest import LiveServer
from tests.e2e.environments import (
    ARCHITECTURE,
    CODENAME,
    MIRROR,
    need_namespaces,
    need_tools,
)
from tests.worker.tasks.live import admin as admin
from tests.worker.tasks.live import assign, outputs, run_worker_task
from tests.worker.tasks.live import engine as engine
from tests.worker.tasks.live import live_server as live_server
from worker.tasks.mmdebstrap import installed_packages, os_release_id

pytestmark = pytest.mark.timeout(1200)


def test_a_bootstrap_makes_a_system_tarball(
    tmp_path: Path, live_server: LiveServer, admin: APIClient, engine: Engine
) -> None:
    need_namespaces()
    need_tools("mmdebstrap", "zstd")
    assigned = assign(engine)
    # `essential` is the smallest variant with an installed dpkg database.
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "mmdebstrap",
        {
            "bootstrap_options": {
                "architecture": ARCHITECTURE,
                "variant": "essential",
                "extra_packages": ["hello"],
            },
            "bootstrap_repositories": [
                {"mirror": MIRROR, "suite": CODENAME, "components": ["main"]}
            ],
            "customization_script": "echo debusine > /etc/debusine-customized\n",
        },
        {},
        timeout=1100,
    )
    assert result == {"result": "success"}, log
    assert "mmdebstrap: version 1." in log

    found = outputs(admin, engine, assigned.work_request_id)
    (tarball,) = found["debian:system-tarball"]
    data = tarball.data
    assert data["vendor"] == "debian"
    assert data["codename"] == CODENAME
    assert data["architecture"] == ARCHITECTURE
    assert data["variant"] == "essential"
    assert data["components"] == ["main"]
    assert data["mirror"] == MIRROR
    assert data["filename"] == "system.tar.zst"
    assert data["with_dev"] is True
    assert data["with_init"] is False
    assert data["pkglist"]["hello"].startswith("2.10")
    assert "dpkg" in data["pkglist"]
    assert "apt" not in data["pkglist"]  # not in the essential variant

    # The stored tarball is the system: hello and the customization in it.
    stored = tmp_path / "system.tar.zst"
    url = admin.get(f"/artifact/{tarball.id}/")["files"]["system.tar.zst"]["url"]
    stored.write_bytes(admin.send("GET", url).content)
    members = subprocess.run(
        ["tar", "--list", "--file", str(stored)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert "./usr/bin/hello" in members
    assert "./etc/debusine-customized" in members


def test_a_failing_bootstrap_is_an_error_with_its_log(
    tmp_path: Path, live_server: LiveServer, admin: APIClient, engine: Engine
) -> None:
    need_namespaces()
    need_tools("mmdebstrap")
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "mmdebstrap",
        {
            "bootstrap_options": {"architecture": ARCHITECTURE, "variant": "extract"},
            "bootstrap_repositories": [
                {"mirror": MIRROR, "suite": "no-such-suite", "components": ["main"]}
            ],
        },
        {},
        timeout=600,
    )
    assert result["result"] == "error", log
    assert result["errors"][0]["code"] == "mmdebstrap-failed"
    found = outputs(admin, engine, assigned.work_request_id)
    assert "debian:system-tarball" not in found
    (debug,) = found["debusine:work-request-debug-logs"]
    assert "no-such-suite" in debug.files["cmd-output.log"]


def test_the_data_comes_from_the_systems_own_files() -> None:
    status = (
        "Package: dpkg\nStatus: install ok installed\nVersion: 1.21.22\n\n"
        "Package: gone\nStatus: deinstall ok config-files\nVersion: 1.0\n\n"
        "Package: base-files\nStatus: install ok installed\nVersion: 12.4\n"
    )
    assert installed_packages(status) == {"base-files": "12.4", "dpkg": "1.21.22"}
    assert os_release_id('PRETTY_NAME="Debian"\nID=debian\n') == "debian"
    assert os_release_id('ID="ubuntu"\n') == "ubuntu"
    assert os_release_id("NAME=x\n") is None
