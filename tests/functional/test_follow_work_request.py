"""scripts/follow-work-request, the README's way to follow a workflow.

Against a real server and worker: a `noop` workflow that succeeds ends the
script with status 0, one with a failing child with 1 and that child's
errors and log; a bad configuration is one line and status 3.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.database import ROOT
from tests.functional.system import System, running_system
from tests.functional.test_server_process import BIN

pytestmark = pytest.mark.timeout(300)

SCRIPT = ROOT / "scripts" / "follow-work-request"


@pytest.fixture
def system(scratch_database: str, tmp_path: Path) -> Iterator[System]:
    with running_system(scratch_database, tmp_path) as system:
        system.start_worker("follower")
        system.wait_connected("follower")
        yield system


def _workflow(system: System, name: str, task_data: dict[str, Any]) -> int:
    system.api(
        "POST",
        "/workflow-template/",
        json={"name": name, "task_name": "noop", "task_data": task_data},
    )
    created = system.api(
        "POST", "/workflow/", json={"template_name": name, "task_data": {}}
    )
    return int(created["id"])


def _follow(
    system: System, *args: str, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    config = system.directory / "client.ini"
    config.write_text(
        "[General]\ndefault-server = local\n\n[server:local]\n"
        f"api-url = {system.base_url}/api\nscope = debusine\n"
        f"token = {system.headers['Token']}\n"
    )
    return subprocess.run(
        [str(BIN / "python"), str(SCRIPT), "--config", str(config), *args],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=240,
    )


def test_follows_a_workflow_to_its_success(system: System) -> None:
    root = _workflow(system, "two", {"children": 2})
    # As `debusine create-workflow ... | scripts/follow-work-request -`.
    created = f"result: success\nworkflow_id: {root}\nstatus: pending\n"

    result = _follow(system, "-", "--interval", "0.5", stdin=created)

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith(created)
    assert f"#{root} noop (Workflow) completed/success" in result.stdout
    children = [
        line for line in result.stdout.splitlines() if "(Worker) completed/" in line
    ]
    assert len(children) == 2, result.stdout
    assert all("completed/success on follower" in line for line in children)


def test_a_failing_child_shows_its_errors_and_log(system: System) -> None:
    root = _workflow(system, "one-fails", {"children": 2, "failing_children": [1]})

    result = _follow(system, str(root), "--interval", "0.5")

    assert result.returncode == 1, result.stdout + result.stderr
    assert f"#{root} noop (Workflow) completed/failure" in result.stdout
    [failed] = [line for line in result.stdout.splitlines() if line.startswith("== #")]
    assert "(Worker) completed/failure on follower" in failed
    failed_id = failed.split()[1].lstrip("#")
    assert f"(debusine show-work-request {failed_id}; its log:)" in result.stdout


def test_a_missing_configuration_is_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [str(BIN / "python"), str(SCRIPT), "--config", str(tmp_path / "none"), "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 3
    assert result.stdout == ""
    assert result.stderr.startswith("follow-work-request: no client configuration")
    assert len(result.stderr.splitlines()) == 1


@pytest.mark.parametrize(
    ("argument", "stdin", "message"),
    [
        ("latest", "", "'latest' is not a work request id (or -)"),
        ("-", "result: failure\n", "no workflow_id or work_request_id on stdin"),
    ],
)
def test_no_id_is_one_line(
    tmp_path: Path, argument: str, stdin: str, message: str
) -> None:
    config = tmp_path / "client.ini"
    config.write_text(
        "[server:local]\napi-url = http://127.0.0.1:9/api\nscope = s\ntoken = t\n"
    )
    result = subprocess.run(
        [str(BIN / "python"), str(SCRIPT), "--config", str(config), argument],
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )

    assert result.returncode == 3
    assert result.stderr == f"follow-work-request: {message}\n"
