"""`sbuild` on the worker: real sbuild builds packages made by the test, in
the shared bookworm buildd tarball, outputs checked on a real server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from debian.deb822 import Changes
from debian.debfile import DebFile
from sqlalchemy import Engine

from debusine.artifacts.local import LocalArtifact, source_package_from_dsc
from debusine.client.http import APIClient
from tests.client.conftest import LiveServer
from tests.e2e.environments import ARCHITECTURE, CODENAME, MIRROR
from tests.e2e.packages import MISSING_BUILD_DEPENDENCY, make_source_package
from tests.worker.tasks.live import Output, assign, outputs, run_worker_task, upload
from tests.worker.tasks.live import admin as admin
from tests.worker.tasks.live import engine as engine
from tests.worker.tasks.live import live_server as live_server

pytestmark = pytest.mark.timeout(1200)


@pytest.fixture(scope="module")
def environment_id(admin: APIClient, sbuild_ready: Path) -> int:
    return upload_environment(admin, sbuild_ready)


def upload_environment(admin: APIClient, tarball: Path) -> int:
    """The buildd tarball as a debian:system-tarball on the server."""
    name = "system.tar.zst"
    return upload(
        admin,
        LocalArtifact(
            "debian:system-tarball",
            {
                "filename": name,
                "vendor": "debian",
                "codename": CODENAME,
                "components": ["main"],
                "mirror": MIRROR,
                "variant": "buildd",
                "pkglist": {},
                "architecture": ARCHITECTURE,
                "with_dev": True,
                "with_init": False,
            },
            {name: tarball},
        ),
    )


def build(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    environment_id: int,
    **knobs: Any,
) -> tuple[dict[str, Any], str, int, int, dict[str, list[Output]]]:
    dsc = make_source_package(tmp_path / "source", **knobs)
    source = upload(admin, source_package_from_dsc(dsc))
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "sbuild",
        {
            "input": {"source_artifact": source},
            "host_architecture": ARCHITECTURE,
            "environment": f"debian/match:codename={CODENAME}",
            "build_components": ["any", "all"],
        },
        {"source_artifact_id": source, "environment_id": environment_id},
        timeout=1100,
    )
    found = outputs(admin, engine, assigned.work_request_id)
    return result, log, source, assigned.work_request_id, found


def test_the_package_builds_on_amd64_and_all(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    environment_id: int,
) -> None:
    result, log, source, _, found = build(
        tmp_path, live_server, admin, engine, environment_id
    )
    assert result == {"result": "success"}, log
    assert "sbuild: version 0." in log

    (upload_artifact,) = found["debian:upload"]
    changes_name = "debusine-hello_1.0-1_amd64.changes"
    changes = Changes(upload_artifact.files[changes_name])
    assert changes["Source"] == "debusine-hello"
    assert changes["Version"] == "1.0-1"
    assert changes["Distribution"] == CODENAME
    assert set(changes["Architecture"].split()) == {"amd64", "all"}
    listed = {entry["name"] for entry in changes["Files"]}
    assert set(upload_artifact.files) == listed | {changes_name}
    assert upload_artifact.data["changes_fields"]["Source"] == "debusine-hello"

    binaries = {
        b.data["deb_fields"]["Package"]: b for b in found["debian:binary-package"]
    }
    assert {"debusine-hello", "debusine-hello-data"} <= set(binaries)
    assert {f for b in binaries.values() for f in b.files} == {
        name for name in listed if name.endswith(".deb")
    }
    program = binaries["debusine-hello"]
    assert program.data["deb_fields"]["Architecture"] == "amd64"
    assert binaries["debusine-hello-data"].data["deb_fields"]["Architecture"] == "all"
    assert program.data["srcpkg_name"] == "debusine-hello"
    assert program.data["srcpkg_version"] == "1.0-1"
    # The .deb on the server is the package sbuild built, its data from it.
    deb_path = tmp_path / "program.deb"
    (deb_name,) = program.files
    response = admin.send(
        "GET", admin.get(f"/artifact/{program.id}/")["files"][deb_name]["url"]
    )
    deb_path.write_bytes(response.content)
    control = DebFile(str(deb_path)).debcontrol()
    assert control["Version"] == program.data["deb_fields"]["Version"] == "1.0-1"
    assert "/usr/bin/debusine-hello" in "".join(
        DebFile(str(deb_path)).data.tgz().getnames()
    ).replace("./", "/")

    for binary in binaries.values():
        assert binary.relations == [("built-using", source)]
    ids = sorted(b.id for b in binaries.values())
    assert upload_artifact.relations == sorted(
        [("extends", i) for i in ids] + [("relates-to", i) for i in ids]
    )

    (build_log,) = found["debian:package-build-log"]
    (log_name,) = build_log.files
    assert log_name == "debusine-hello_1.0-1_amd64.build"
    assert build_log.data == {
        "source": "debusine-hello",
        "version": "1.0-1",
        "architecture": "amd64",
        "filename": log_name,
        "bd_uninstallable": None,
    }
    assert "Status: successful" in build_log.files[log_name]
    assert build_log.relations == sorted(
        [("relates-to", source)] + [("relates-to", i) for i in ids]
    )
    (debug_logs,) = found["debusine:work-request-debug-logs"]
    assert debug_logs.relations == [("relates-to", source)]


def test_an_unsatisfiable_build_dependency_is_bd_uninstallable(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    environment_id: int,
) -> None:
    result, log, source, _, found = build(
        tmp_path,
        live_server,
        admin,
        engine,
        environment_id,
        name="debusine-unmet",
        unsatisfiable_build_depends=True,
    )
    assert result["result"] == "failure", log
    (error,) = result["output_data"]["errors"]
    assert error["code"] == "bd-uninstallable"
    missing = MISSING_BUILD_DEPENDENCY.split()[0]
    assert missing in error["message"]

    assert "debian:binary-package" not in found
    assert "debian:upload" not in found
    (build_log,) = found["debian:package-build-log"]
    assert build_log.data["source"] == "debusine-unmet"
    assert build_log.data["bd_uninstallable"] is not None
    assert missing in str(build_log.data["bd_uninstallable"])
    assert build_log.relations == [("relates-to", source)]
