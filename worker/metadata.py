"""What the worker tells the server about itself in READY (dynamic metadata).

The scheduler matches tasks against these keys (`system:architectures`,
`executor:<name>:available`, `<tool>:available`); `<tool>:tool_version`
tells which version of each Debian tool the worker has. Static metadata
set by an administrator on the server wins over them.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
from typing import Any

from worker.executors import available_executors
from worker.executors.namespaces import namespaces_problem
from worker.tasks import worker_tasks
from worker.tools.versions import tool_metadata

log = logging.getLogger(__name__)

ARCHITECTURE_RE = re.compile(r"[a-z0-9][a-z0-9-]*")


def _run(argv: list[str]) -> list[str] | None:
    """The words of `argv`'s output, or None if it is missing or fails."""
    if shutil.which(argv[0]) is None:
        return None
    try:
        result = subprocess.run(  # noqa: S603
            argv, capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.SubprocessError) as error:
        log.warning("metadata: %s failed: %s", " ".join(argv), error)
        return None
    if result.returncode != 0:
        log.warning(
            "metadata: %s exited with %d: %s",
            " ".join(argv),
            result.returncode,
            result.stderr.strip(),
        )
        return None
    return result.stdout.split()


def architectures() -> tuple[str | None, list[str]]:
    """(host architecture, every architecture this host can run)."""
    host_words = _run(["dpkg", "--print-architecture"])
    host = host_words[0] if host_words else None
    found: list[str] = [host] if host else []
    for words in (
        _run(["dpkg", "--print-foreign-architectures"]),
        # arch-test lists what the host can actually execute.
        _run(["arch-test"]),
    ):
        for architecture in words or []:
            if ARCHITECTURE_RE.fullmatch(architecture) and architecture not in found:
                found.append(architecture)
    return host, found


def total_physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError):
        return None


def collect_metadata() -> dict[str, Any]:
    host, archs = architectures()
    metadata: dict[str, Any] = {
        "system:worker_type": "external",
        "system:architectures": archs,
        "system:cpu_count": os.cpu_count() or 1,
    }
    if host:
        metadata["system:host_architecture"] = host
    memory = total_physical_memory()
    if memory:
        metadata["system:total_physical_memory"] = memory
    executors = available_executors()
    for name in executors:
        metadata[f"executor:{name}:available"] = True
    if "unshare" not in executors:
        # Else the tasks that need it (sbuild...) stay pending with no word why.
        log.warning(
            "the unshare executor is not available, so this worker takes no "
            "task that needs it (sbuild, autopkgtest...): %s",
            namespaces_problem(),
        )
    # `<tool>:available` (what tasks' REQUIRED_TOOLS ask for) and
    # `<tool>:tool_version` of each installed Debian tool.
    metadata.update(tool_metadata())
    for name, task in sorted(worker_tasks().items()):
        metadata[f"{name}:version"] = task.version()
    return metadata
