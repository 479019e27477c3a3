"""The debian_pipeline workflow on a real server, orchestrator and workers.

A user's whole path, in real processes and with the real Debian tools:
`update_environments` bootstraps bookworm with mmdebstrap into
`debian@debian:environments`; a tiny source package made here (a C
program, an autopkgtest, no manual page) is imported with the CLI and
goes through `debian_pipeline`: sbuild on amd64 and all, lintian (which
finds `no-manual-page`), autopkgtest, piuparts, blhc and debdiff. Every
artifact the pipeline made downloads through the CLI with the files its
data names. A package with an unsatisfiable build-dependency ends with
the sbuild error `bd-uninstallable` and a readable reason.

On a failure the work-request tree and the processes' logs are printed.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from tests.e2e.environments import (
    CODENAME,
    MIRROR,
    need_namespaces,
    need_subordinate_ids,
    need_tools,
)
from tests.e2e.packages import (
    LINTIAN_WARNING_TAG,
    OVERRIDDEN_LINTIAN_TAG,
    make_source_package,
)
from tests.functional.system import INI, System, running_system
from tests.functional.test_server_process import BIN, admin

# mmdebstrap ~1.5 min, two sbuilds ~2 min each, autopkgtest and piuparts
# ~2.5 min each on a loaded 2-core machine, plus the failing build.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(1800)]

TOOLS = (
    "mmdebstrap",
    "sbuild",
    "lintian",
    "autopkgtest",
    "piuparts",
    "blhc",
    "debdiff",
    "dpkg-source",
    "zstd",
)
WORKSPACE = "debusine/System"
ENVIRONMENTS = "debian"
SUITE = "bookworm-e2e"


@pytest.fixture
def system(scratch_database: str, tmp_path: Path) -> Iterator[System]:
    need_tools(*TOOLS)
    need_namespaces()
    need_subordinate_ids()
    # Slow heartbeats: the tools keep both cores busy.
    with running_system(
        scratch_database, tmp_path, heartbeat_interval=2, liveness=15
    ) as system:
        admin(
            ["create-collection", WORKSPACE, ENVIRONMENTS, "debian:environments"],
            INI,
            system.env,
        )
        (tmp_path / "suite.yaml").write_text(
            "components: [main]\narchitectures: [amd64, all]\n"
        )
        admin(
            ["create-collection", WORKSPACE, SUITE, "debian:suite",
             "--data", str(tmp_path / "suite.yaml")],
            INI,
            system.env,
        )  # fmt: skip
        yield system


# -- what a failure shows ------------------------------------------------------


def _tree(system: System) -> str:
    with system.database.connect() as connection:
        rows = connection.execute(
            sqlalchemy.text(
                "SELECT wr.id, wr.parent_id, wr.task_type, wr.task_name, wr.status,"
                " wr.result, wr.output_data, worker.name AS worker"
                " FROM work_request AS wr LEFT JOIN worker"
                " ON worker.id = wr.worker_id ORDER BY wr.id"
            )
        ).all()
    children: dict[int | None, list[Any]] = {}
    for row in rows:
        children.setdefault(row.parent_id, []).append(row)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for row in children.get(parent, []):
            errors = (row.output_data or {}).get("errors")
            lines.append(
                f"{'  ' * depth}#{row.id} {row.task_type}:{row.task_name}"
                f" {row.status}/{row.result} on {row.worker}"
                + (f" errors={json.dumps(errors)}" if errors else "")
            )
            walk(row.id, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def _report(system: System) -> None:
    print("== work requests ==")
    print(_tree(system))
    print("== server log (tail) ==")
    print(system.server_log()[-20000:])
    for name in system.workers:
        print(f"== worker {name} log (tail) ==")
        print(system.worker_log(name)[-20000:])


# -- driving it as a user ------------------------------------------------------


def _client(system: System, *args: str) -> str:
    config = system.directory / "client.ini"
    if not config.exists():
        config.write_text(
            "[General]\ndefault-server = e2e\n\n[server:e2e]\n"
            f"api-url = {system.base_url}/api\nscope = debusine\n"
            f"token = {system.headers['Token']}\n"
        )
    result = subprocess.run(
        [str(BIN / "debusine"), "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, f"debusine {args}: {result.stderr}"
    return result.stdout


def _start_workflow(
    system: System, template: str, task_name: str, task_data: dict[str, Any]
) -> int:
    system.api(
        "POST",
        "/workflow-template/",
        json={"name": template, "task_name": task_name, "task_data": task_data},
    )
    created = system.api(
        "POST", "/workflow/", json={"template_name": template, "task_data": {}}
    )
    return int(created["id"])


def _wait_done(system: System, work_request_id: int, timeout: float) -> Any:
    """The request once completed (or aborted), failing after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        data = system.api("GET", f"/work-request/{work_request_id}/")
        if data["status"] in ("completed", "aborted"):
            return data
        for name, process in system.workers.items():
            if process.poll() is not None:
                pytest.fail(f"worker {name} exited with {process.returncode}")
        if time.monotonic() > deadline:
            pytest.fail(f"work request {work_request_id} not done in {timeout} s")
        time.sleep(2)


def _requests(system: System, root: int) -> list[Any]:
    """Every request under `root` (root included), with its artifacts."""
    with system.database.connect() as connection:
        return list(
            connection.execute(
                sqlalchemy.text(
                    "WITH RECURSIVE tree AS (SELECT * FROM work_request WHERE id = :id"
                    " UNION ALL SELECT wr.* FROM work_request AS wr"
                    " JOIN tree ON wr.parent_id = tree.id)"
                    " SELECT id, task_type, task_name, status, result, output_data"
                    " FROM tree ORDER BY id"
                ),
                {"id": root},
            ).all()
        )


def _artifacts(system: System, work_request_id: int) -> list[Any]:
    with system.database.connect() as connection:
        return list(
            connection.execute(
                sqlalchemy.text(
                    "SELECT id, category, data FROM artifact"
                    " WHERE created_by_work_request_id = :id ORDER BY id"
                ),
                {"id": work_request_id},
            ).all()
        )


def _start_environments(system: System) -> int:
    return _start_workflow(
        system,
        "environments",
        "update_environments",
        {
            "vendor": "debian",
            "targets": [
                {
                    "codenames": [CODENAME],
                    "architectures": ["amd64"],
                    "variants": ["sbuild", "autopkgtest", "piuparts", "lintian"],
                    "mmdebstrap_template": {
                        "bootstrap_options": {"variant": "buildd"},
                        "bootstrap_repositories": [
                            {"mirror": MIRROR, "components": ["main"]}
                        ],
                    },
                }
            ],
        },
    )


def _import(system: System, dsc: Path) -> int:
    output = _client(system, "import-debian-artifact", str(dsc))
    return int(_parse_id(output))


def _parse_id(output: str) -> int:
    import yaml

    parsed = yaml.safe_load(output)
    if isinstance(parsed, dict):
        for key in ("artifact_id", "id"):
            if key in parsed:
                return int(parsed[key])
    raise AssertionError(f"no artifact id in {output!r}")


def _publish_old_version(system: System, source: int) -> None:
    """The suite holds an older version, for debdiff to compare with."""
    root = _start_workflow(
        system,
        "publish",
        "package_publish",
        {"source_artifact": source, "target_suite": f"{SUITE}@debian:suite"},
    )
    done = _wait_done(system, root, 300)
    assert done["result"] == "success", _tree(system)


def _pipeline(system: System, source: int, name: str, **extra: Any) -> int:
    return _start_workflow(
        system,
        f"pipeline-{name}",
        "debian_pipeline",
        {
            "source_artifact": source,
            "vendor": "debian",
            "codename": CODENAME,
            "architectures": ["amd64", "all"],
            "arch_all_host_architecture": "amd64",
            **extra,
        },
    )


def test_debian_pipeline_end_to_end(system: System, tmp_path: Path) -> None:
    try:
        _check_pipeline(system, tmp_path)
    except BaseException:
        _report(system)
        raise


def _check_pipeline(system: System, tmp_path: Path) -> None:
    system.start_worker("e2e-one")
    system.start_worker("e2e-two")
    system.wait_connected("e2e-one")
    system.wait_connected("e2e-two")
    good = make_source_package(tmp_path / "good", "debusine-hello", "1.0-1")
    old = make_source_package(tmp_path / "old", "debusine-hello", "0.9-1")
    bad = make_source_package(
        tmp_path / "bad", "debusine-unbuildable", "1.0-1",
        unsatisfiable_build_depends=True,
    )  # fmt: skip

    # The imports and the publication need no worker: they go on meanwhile.
    environments = _start_environments(system)
    good_source = _import(system, good)
    bad_source = _import(system, bad)
    _publish_old_version(system, _import(system, old))
    done = _wait_done(system, environments, 900)
    assert done["result"] == "success", _tree(system)
    pipeline = _pipeline(
        system,
        good_source,
        "good",
        enable_lintian=True,
        enable_autopkgtest=True,
        enable_piuparts=True,
        enable_blhc=True,
        enable_debdiff=True,
        qa_suite=f"{SUITE}@debian:suite",
    )
    failing = _pipeline(
        system,
        bad_source,
        "bad",
        enable_lintian=False,
        enable_autopkgtest=False,
        enable_piuparts=False,
        architectures=["amd64"],
    )

    done = _wait_done(system, pipeline, 1500)
    tree = _tree(system)
    by_name: dict[str, list[Any]] = {}
    for row in _requests(system, pipeline):
        by_name.setdefault(row.task_name, []).append(row)
    assert done["result"] == "success", tree
    sbuilds = [r for r in by_name["sbuild"] if r.task_type.lower() == "worker"]
    assert len(sbuilds) == 2, tree
    for name in ("lintian", "autopkgtest", "piuparts", "blhc", "debdiff"):
        workers = [r for r in by_name.get(name, []) if r.task_type.lower() == "worker"]
        assert workers, f"no {name} worker task\n{tree}"
        assert all(r.result == "success" for r in workers), tree

    # Every artifact of the pipeline downloads with the files it lists.
    downloaded: dict[int, Path] = {}
    artifacts: dict[str, list[Any]] = {}
    for row in _requests(system, pipeline):
        for artifact in _artifacts(system, row.id):
            target = tmp_path / "downloads" / str(artifact.id)
            target.mkdir(parents=True)
            _client(
                system, "download-artifact", str(artifact.id),
                "--target-directory", str(target),
            )  # fmt: skip
            shown = system.api("GET", f"/artifact/{artifact.id}/")
            assert shown["files"], artifact
            for path, spec in shown["files"].items():
                assert (target / path).stat().st_size == spec["size"], path
            downloaded[artifact.id] = target
            artifacts.setdefault(artifact.category, []).append(artifact)

    # The builds: the C program (and its debug symbols) on amd64, its data
    # package from the all build.
    built = {
        tuple(
            subprocess.run(
                ["dpkg-deb", "--field", str(deb), "Package", "Version",
                 "Architecture"],
                capture_output=True, text=True, check=True,
            ).stdout.split()[1::2]
        )
        for artifact in artifacts["debian:binary-package"]
        for deb in downloaded[artifact.id].glob("*.deb")
    }  # fmt: skip
    assert built == {
        ("debusine-hello", "1.0-1", "amd64"),
        ("debusine-hello-dbgsym", "1.0-1", "amd64"),
        ("debusine-hello-data", "1.0-1", "all"),
    }, built

    # lintian finds the deliberate warning, in its data and its analysis.
    lintian = {a.data["architecture"]: a for a in artifacts["debian:lintian"]}
    assert LINTIAN_WARNING_TAG in lintian["amd64"].data["summary"]["tags_found"]
    analysis = json.loads(
        (downloaded[lintian["amd64"].id] / "analysis.json").read_text()
    )
    assert LINTIAN_WARNING_TAG in {tag["tag"] for tag in analysis["tags"]}
    assert (
        OVERRIDDEN_LINTIAN_TAG
        in lintian["source"].data["summary"]["overridden_tags_found"]
    )

    # autopkgtest ran the package's one test, which passed.
    [autopkgtest] = artifacts["debian:autopkgtest"]
    assert {
        name: result["status"] for name, result in autopkgtest.data["results"].items()
    } == {"greets": "PASS"}

    # debdiff compared the new source with the suite's 0.9-1.
    debdiffs = artifacts["debian:debdiff"]
    assert any(
        "debusine-hello_0.9-1.dsc" in a.data["original"]
        and "debusine-hello_1.0-1.dsc" in a.data["new"]
        for a in debdiffs
    ), [a.data for a in debdiffs]
    assert artifacts["debian:blhc"], artifacts.keys()

    bad_done = _wait_done(system, failing, 900)
    assert bad_done["result"] == "failure", _tree(system)
    bad_builds = [
        r for r in _requests(system, failing)
        if r.task_type.lower() == "worker" and r.task_name == "sbuild"
    ]  # fmt: skip
    assert bad_builds, _tree(system)
    for row in bad_builds:
        errors = (row.output_data or {}).get("errors") or []
        assert [e["code"] for e in errors] == ["bd-uninstallable"], errors
        assert "debusine-no-such-package" in errors[0]["message"], errors
