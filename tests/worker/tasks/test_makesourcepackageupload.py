"""`makesourcepackageupload` on the worker: dpkg-genchanges in the buildd
environment (unshare executor) on a source package made by the test."""

from __future__ import annotations

from pathlib import Path

import pytest
from debian.deb822 import Changes, Dsc
from sqlalchemy import Engine

from debusine.artifacts.local import source_package_from_dsc
from debusine.client.http import APIClient
from tests.client.conftest import LiveServer
from tests.e2e.packages import make_source_package
from tests.worker.tasks.live import admin as admin
from tests.worker.tasks.live import assign, outputs, run_worker_task, upload
from tests.worker.tasks.live import engine as engine
from tests.worker.tasks.live import live_server as live_server
from tests.worker.tasks.test_sbuild import upload_environment

pytestmark = pytest.mark.timeout(900)


def test_a_source_package_becomes_a_source_only_upload(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    buildd_tarball: Path,
) -> None:
    environment = upload_environment(admin, buildd_tarball)
    dsc = make_source_package(tmp_path / "source", version="1.0-1")
    source = upload(admin, source_package_from_dsc(dsc))
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "makesourcepackageupload",
        {
            "input": {"source_artifact": source},
            "environment": "debian/match:codename=bookworm",
            "target_distribution": "bookworm-backports",
        },
        {"source_artifact_id": source, "environment_id": environment},
        timeout=800,
    )
    assert result == {"result": "success"}, log
    assert "dpkg-dev: version 1.21." in log

    (made,) = outputs(admin, engine, assigned.work_request_id)["debian:upload"]
    name = "debusine-hello_1.0-1_source.changes"
    changes = Changes(made.files[name])
    assert changes["Architecture"] == "source"
    assert changes["Distribution"] == "bookworm-backports"
    assert changes["Source"] == "debusine-hello"
    listed = {entry["name"] for entry in changes["Files"]}
    assert listed == {entry["name"] for entry in Dsc(dsc.read_text())["Files"]} | {
        dsc.name
    }
    assert set(made.files) == listed | {name}
    assert made.relations == [("extends", source), ("relates-to", source)]
