"""The worker's dynamic metadata."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from worker.executors.namespaces import id_mapping, namespaces_work
from worker.metadata import collect_metadata


def test_metadata_describes_this_host() -> None:
    metadata = collect_metadata()
    assert metadata["system:worker_type"] == "external"
    assert metadata["system:cpu_count"] >= 1
    assert metadata["system:total_physical_memory"] > 0
    assert metadata["executor:null:available"] is True
    assert metadata["noop:version"] == 1
    # The unshare executor is announced only where a container really runs;
    # CI (DEBUSINE_REQUIRE_E2E=1) sets the machine up for it.
    if os.environ.get("DEBUSINE_REQUIRE_E2E") == "1":
        assert metadata["executor:unshare:available"] is True
    for tool in ("sbuild", "lintian", "debdiff"):
        assert metadata.get(f"{tool}:available") is (
            True if shutil.which(tool) else None
        )


# Without dpkg (not a Debian system) there is nothing to compare with; in CI
# (DEBUSINE_REQUIRE_E2E=1) a missing dpkg is a failure, not a skip.
@pytest.mark.skipif(
    shutil.which("dpkg") is None and os.environ.get("DEBUSINE_REQUIRE_E2E") != "1",
    reason="needs dpkg",
)
def test_architectures_come_from_dpkg() -> None:
    host = subprocess.run(
        ["dpkg", "--print-architecture"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    metadata = collect_metadata()
    assert metadata["system:host_architecture"] == host
    assert metadata["system:architectures"][0] == host


@pytest.mark.parametrize("unshare", ["missing", "refusing"])
def test_unshare_is_not_announced_where_it_does_not_work(
    unshare: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if unshare == "refusing":
        # As on a host whose kernel forbids user namespaces.
        fake = tmp_path / "unshare"
        fake.write_text(
            "#!/bin/sh\necho 'unshare: Operation not permitted' >&2\nexit 1\n"
        )
        fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    namespaces_work.cache_clear()
    try:
        assert "executor:unshare:available" not in collect_metadata()
        # The administrator learns why at start-up.
        assert any(
            record.levelname == "WARNING"
            and "the unshare executor is not available" in record.message
            and ("not installed" if unshare == "missing" else "Operation not")
            in record.message
            for record in caplog.records
        )
    finally:
        namespaces_work.cache_clear()
        # Not the mapping made without newuidmap on PATH.
        id_mapping.cache_clear()


@pytest.mark.skipif(
    shutil.which("dpkg-query") is None
    and os.environ.get("DEBUSINE_REQUIRE_E2E") != "1",
    reason="needs dpkg-query",
)
def test_tools_are_reported_with_their_installed_version() -> None:
    from debusine.tasks import TaskType, get_task_class

    metadata = collect_metadata()
    for tool, package in (("sbuild", "sbuild"), ("mmdebstrap", "mmdebstrap")):
        installed = subprocess.run(
            ["dpkg-query", "--show", "--showformat=${Version}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if installed.returncode != 0 or shutil.which(tool) is None:
            assert f"{tool}:available" not in metadata
            continue
        assert metadata[f"{tool}:tool_version"] == installed.stdout
        # The key a task's REQUIRED_TOOLS asks for is the one reported.
        (required,) = get_task_class(TaskType.WORKER, tool).REQUIRED_TOOLS
        assert metadata[required] is True
