"""Benchmark: building a package through debusine against sbuild by hand.

    python bench/build_overhead.py

Starts the whole system in real processes (server with its orchestrator
and bus broker on a throw-away database, one worker), makes the bookworm
environment with the `update_environments` workflow (not timed), then
times, in the same run:

* through debusine: from starting an `sbuild` workflow for amd64 on the
  test package (tests/e2e/packages.py) to the workflow's completion, with
  the scheduler, the worker, the environment cache and the uploads;
* by hand: `sbuild` in unshare mode from the same tarball (downloaded from
  the environment artifact) on the same `.dsc`, with the same options.

Prints both times and
`FIGURE build_overhead_ratio <debusine/by hand> ratio target <=1.10`.
Needs the e2e tools (mmdebstrap, sbuild) and the user's subordinate ids.
Not a test.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import yaml

from bench.support import fresh_database
from tests.e2e.environments import CODENAME, MIRROR
from tests.e2e.packages import make_source_package
from tests.functional.system import INI, System, running_system
from tests.functional.test_server_process import BIN, admin

TARGET = 1.10


def client(system: System, *args: str) -> str:
    config = system.directory / "client.ini"
    if not config.exists():
        config.write_text(
            "[General]\ndefault-server = bench\n\n[server:bench]\n"
            f"api-url = {system.base_url}/api\nscope = debusine\n"
            f"token = {system.headers['Token']}\n"
        )
    return subprocess.run(
        [str(BIN / "debusine"), "--config", str(config), *args],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def start_workflow(system: System, task_name: str, task_data: dict[str, object]) -> int:
    system.api(
        "POST",
        "/workflow-template/",
        json={"name": task_name, "task_name": task_name, "task_data": task_data},
    )
    created = system.api(
        "POST", "/workflow/", json={"template_name": task_name, "task_data": {}}
    )
    return int(created["id"])


def wait_success(system: System, work_request_id: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = system.api("GET", f"/work-request/{work_request_id}/")
        if data["status"] in ("completed", "aborted"):
            if data["result"] != "success":
                sys.exit(f"work request {work_request_id}: {data['result']}")
            return
        time.sleep(0.2)
    sys.exit(f"work request {work_request_id} not done in {timeout} s")


def environment_tarball(system: System, directory: Path) -> Path:
    """The tarball update_environments made, downloaded into `directory`."""
    found = system.api(
        "POST",
        "/lookup/single/",
        json={
            "lookup": f"debian/match:codename={CODENAME}",
            "default_category": "debian:environments",
            "expect_type": "artifact",
        },
    )
    artifact_id = int(found["artifact"])
    client(system, "download-artifact", str(artifact_id), "--target-directory",
           str(directory))  # fmt: skip
    [tarball] = directory.glob("*.tar*")
    return tarball


def main() -> None:
    with (
        tempfile.TemporaryDirectory(prefix="debusine-bench-build-") as scratch,
        fresh_database("build-overhead") as url,
    ):
        root = Path(scratch)
        (root / "system").mkdir()
        dsc = make_source_package(root / "package")
        with running_system(url, root / "system", heartbeat_interval=2) as system:
            admin(
                ["create-collection", "debusine/System", "debian",
                 "debian:environments"],
                INI,
                system.env,
            )  # fmt: skip
            system.start_worker("bench")
            system.wait_connected("bench")
            wait_success(
                system,
                start_workflow(
                    system,
                    "update_environments",
                    {
                        "vendor": "debian",
                        "targets": [
                            {
                                "codenames": [CODENAME],
                                "architectures": ["amd64"],
                                "mmdebstrap_template": {
                                    "bootstrap_options": {"variant": "buildd"},
                                    "bootstrap_repositories": [
                                        {"mirror": MIRROR, "components": ["main"]}
                                    ],
                                },
                            }
                        ],
                    },
                ),
                1200,
            )
            tarball = environment_tarball(system, root / "tarball")
            imported = client(system, "import-debian-artifact", str(dsc))
            source = int(yaml.safe_load(imported)["artifact_id"])
            started = time.monotonic()
            build = start_workflow(
                system,
                "sbuild",
                {
                    "input": {"source_artifact": source},
                    "target_distribution": f"debian:{CODENAME}",
                    "architectures": ["amd64"],
                },
            )
            wait_success(system, build, 1200)
            through_debusine = time.monotonic() - started

        output = root / "by-hand"
        output.mkdir()
        started = time.monotonic()
        subprocess.run(
            ["sbuild", "--chroot-mode=unshare", f"--chroot={tarball}",
             f"--dist={CODENAME}", "--arch=amd64", "--arch-any", "--no-arch-all",
             "--no-source", "--no-run-lintian", "--no-run-piuparts",
             "--no-run-autopkgtest", "--bd-uninstallable-explainer=dose3",
             str(dsc)],
            cwd=output, check=True, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        by_hand = time.monotonic() - started

    ratio = through_debusine / by_hand
    print(f"build through debusine: {through_debusine:.1f} s")
    print(f"build by hand: {by_hand:.1f} s")
    print(f"FIGURE build_overhead_ratio {ratio:.2f} ratio target <={TARGET:.2f}")


if __name__ == "__main__":
    main()
