"""Driving the Debian-tool worker tasks against a real server.

A test builds a tiny package on the host (`dpkg-buildpackage`, no
chroot: the tasks under test only read its results), uploads what it needs
as artifacts, and runs the task as the daemon does
(`python -m worker.run_task SPEC`) for a running work request of a worker
whose token the spec carries. The outputs are then read back from the
server: the artifacts the work request created, their data, files and
relations.

Test modules import the fixtures they use from here (`engine`, `admin`,
`live_server`, `hello_build`...).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from debusine.artifacts.local import (
    LocalArtifact,
    binary_package_from_deb,
    source_package_from_dsc,
)
from debusine.client.http import APIClient
from debusine.client.progress import progress_bars
from debusine.client.upload import Uploader, create_artifact
from debusine.models import Artifact
from tests.client.conftest import LiveServer
from tests.client.conftest import live_server as live_server
from tests.database import ROOT
from tests.e2e.environments import need
from tests.e2e.packages import make_source_package
from tests.worker.test_task_io import Assigned
from tests.worker.test_task_io import admin as admin
from tests.worker.test_task_io import assign as assign
from tests.worker.test_task_io import engine as engine

BUILD_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "DEB_BUILD_OPTIONS": ""}


@dataclass(frozen=True)
class Build:
    """A source package and what `dpkg-buildpackage -b` made of it."""

    dsc: Path
    debs: list[Path]
    build_log: Path
    version: str


def build_package(directory: Path, version: str, **knobs: Any) -> Build:
    """Make the test package at `version` and build its binaries on the host."""
    need(
        shutil.which("dpkg-buildpackage") is not None
        and shutil.which("dh") is not None,
        "needs dpkg-dev and debhelper to build the test package",
    )
    dsc = make_source_package(directory, version=version, **knobs)
    tree = next(p for p in directory.iterdir() if p.is_dir())
    build = subprocess.run(
        ["dpkg-buildpackage", "-us", "-uc", "-b"],
        cwd=tree,
        capture_output=True,
        text=True,
        env=BUILD_ENV,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    # The dpkg-buildpackage output is a build log as blhc reads them.
    log = directory / f"{dsc.stem}_amd64.build"
    log.write_text(build.stdout + build.stderr)
    debs = sorted(p for p in directory.glob("*.deb") if "-dbgsym_" not in p.name)
    return Build(dsc, debs, log, version)


@pytest.fixture(scope="session")
def hello_build(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Version 1.0-1: a lintian warning, no hardening, tests of each outcome."""
    return build_package(
        tmp_path_factory.mktemp("hello-1"),
        "1.0-1",
        hardening=False,
        varied_tests=True,
    )


@pytest.fixture(scope="session")
def hello_build_2(tmp_path_factory: pytest.TempPathFactory) -> Build:
    """Version 1.0-2: a manual page, hardened, one passing test."""
    return build_package(
        tmp_path_factory.mktemp("hello-2"), "1.0-2", lintian_warning=False
    )


def upload(admin: APIClient, artifact: LocalArtifact) -> int:
    """Create `artifact` in debusine/System; its id."""
    with progress_bars(enabled=False) as progress:
        created = create_artifact(
            admin,
            artifact.create_request(workspace="System"),
            dict(artifact.files),
            Uploader(admin, progress),
        )
    return int(created["id"])


def upload_source(admin: APIClient, build: Build) -> int:
    return upload(admin, source_package_from_dsc(build.dsc))


def upload_binaries(admin: APIClient, build: Build) -> list[int]:
    return [upload(admin, binary_package_from_deb(deb)) for deb in build.debs]


def upload_build_log(admin: APIClient, build: Build) -> int:
    name, version = build.dsc.stem.split("_")
    return upload(
        admin,
        LocalArtifact(
            "debian:package-build-log",
            {
                "source": name,
                "version": version,
                "architecture": "amd64",
                "filename": build.build_log.name,
            },
            {build.build_log.name: build.build_log},
        ),
    )


def run_worker_task(
    tmp_path: Path,
    live_server: LiveServer,
    assigned: Assigned,
    task_name: str,
    task_data: dict[str, Any],
    dynamic_task_data: dict[str, Any],
    timeout: float = 600,
) -> tuple[dict[str, Any], str]:
    """`python -m worker.run_task` as the daemon starts it: (result, log)."""
    work = tmp_path / "work"
    work.mkdir()
    spec = {
        "work_request_id": assigned.work_request_id,
        "task_name": task_name,
        "task_data": task_data,
        "work_directory": str(work),
        "api_url": live_server.api_url,
        "token": assigned.token,
        "result_file": str(work / "result.json"),
        "dynamic_task_data": dynamic_task_data,
        "scope": "debusine",
        "workspace": "System",
        "sys_path": [str(ROOT)],
    }
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps(spec))
    process = subprocess.run(
        [sys.executable, "-m", "worker.run_task", str(spec_file)],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    result = json.loads((work / "result.json").read_text())
    return result, process.stdout + process.stderr


@dataclass(frozen=True)
class Output:
    """An artifact a work request created, as the server returns it."""

    id: int
    category: str
    data: dict[str, Any]
    # Path -> content (text).
    files: dict[str, str]
    relations: list[tuple[str, int]]


def outputs(
    admin: APIClient, engine: Engine, work_request_id: int
) -> dict[str, list[Output]]:
    """The artifacts the work request created, by category."""
    with Session(engine) as session:
        ids = session.scalars(
            select(Artifact.id)
            .where(Artifact.created_by_work_request_id == work_request_id)
            .order_by(Artifact.id)
        ).all()
    found: dict[str, list[Output]] = {}
    for artifact_id in ids:
        artifact = admin.get(f"/artifact/{artifact_id}/")
        files = {
            path: admin.send("GET", spec["url"]).text
            for path, spec in artifact["files"].items()
        }
        relations = admin.get("/artifact-relation/", params={"artifact": artifact_id})
        found.setdefault(artifact["category"], []).append(
            Output(
                id=artifact_id,
                category=artifact["category"],
                data=artifact["data"],
                files=files,
                relations=sorted((r["type"], r["target"]) for r in relations),
            )
        )
    return found


def relates_to(ids: Sequence[int]) -> list[tuple[str, int]]:
    return sorted(("relates-to", i) for i in ids)


def upload_environment(
    admin: APIClient, tarball: Path, codename: str = "bookworm"
) -> int:
    """A debian:system-tarball of `tarball` (as mmdebstrap's task makes them)."""
    return upload(
        admin,
        LocalArtifact(
            "debian:system-tarball",
            {
                "filename": tarball.name,
                "vendor": "debian",
                "codename": codename,
                "components": ["main"],
                "mirror": "http://deb.debian.org/debian",
                "variant": "buildd",
                "pkglist": {},
                "architecture": "amd64",
                "with_dev": True,
                "with_init": False,
            },
            {tarball.name: tarball},
        ),
    )
