from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from worker.tools.versions import (
    TOOL_PACKAGES,
    installed_versions,
    parse_dpkg_query,
    tool_metadata,
)


def test_parse_dpkg_query_keeps_installed_packages():
    text = (
        "sbuild\t0.85.0\tinstalled\n"
        "piuparts\t1.1.7\tconfig-files\n"
        "lintian\t\tnot-installed\n"
    )

    assert parse_dpkg_query(text) == {"sbuild": "0.85.0"}


@pytest.mark.skipif(
    shutil.which("sbuild") is None and os.environ.get("DEBUSINE_REQUIRE_E2E") != "1",
    reason="the Debian tools are not installed",
)
def test_versions_match_dpkg():
    versions = installed_versions()

    assert set(versions) == set(TOOL_PACKAGES)
    for tool, package in TOOL_PACKAGES.items():
        expected = subprocess.run(
            ["dpkg-query", "--show", "--showformat=${Version}", package],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        assert versions[tool] == expected
    metadata = tool_metadata()
    assert metadata["sbuild:available"] is True
    assert metadata["sbuild:tool_version"] == versions["sbuild"]
    assert "sbuild:version" not in metadata
