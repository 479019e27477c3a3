"""The installed versions of the Debian tools, for the worker's metadata.

Versions come from dpkg's database (one `dpkg-query` call), which knows
every tool, including those with no `--version` option (autopkgtest).
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from typing import Any

log = logging.getLogger(__name__)

# Each tool's command and the Debian package that ships it.
TOOL_PACKAGES = {
    "sbuild": "sbuild",
    "mmdebstrap": "mmdebstrap",
    "lintian": "lintian",
    "autopkgtest": "autopkgtest",
    "piuparts": "piuparts",
    "blhc": "blhc",
    "debdiff": "devscripts",
    "mergechanges": "devscripts",
}

QUERY_FORMAT = "${Package}\\t${Version}\\t${db:Status-Status}\\n"


def parse_dpkg_query(text: str) -> dict[str, str]:
    """Installed versions by package from dpkg-query's QUERY_FORMAT lines."""
    versions: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split("\t")
        if len(parts) == 3 and parts[2] == "installed" and parts[1]:
            versions[parts[0]] = parts[1]
    return versions


def installed_versions() -> dict[str, str]:
    """The version of each tool that is installed, by tool name."""
    if shutil.which("dpkg-query") is None:
        return {}
    argv = ["dpkg-query", "--show", f"--showformat={QUERY_FORMAT}"]
    result = subprocess.run(  # noqa: S603
        [*argv, *sorted(set(TOOL_PACKAGES.values()))],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    # dpkg-query exits 1 when some package is unknown; the rest is still valid.
    if result.returncode not in (0, 1):
        log.warning("dpkg-query failed: %s", result.stderr.strip())
        return {}
    packages = parse_dpkg_query(result.stdout)
    return {
        tool: packages[package]
        for tool, package in TOOL_PACKAGES.items()
        if package in packages and shutil.which(tool)
    }


def tool_metadata() -> dict[str, Any]:
    """`<tool>:available` and `<tool>:tool_version` for each installed tool.

    `<tool>:version` is not used: the worker already reports the version of
    its task implementation under that key.
    """
    metadata: dict[str, Any] = {}
    for tool, version in installed_versions().items():
        metadata[f"{tool}:available"] = True
        metadata[f"{tool}:tool_version"] = version
    return metadata
