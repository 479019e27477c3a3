"""piuparts: the command line and the verdict of its log.

piuparts 1.1.7 has no unshare mode: it chroots and mounts /proc, so it
needs real root (or a user namespace with its own mounts). Its --basetgz
must be a gzip tarball (it unpacks with `tar -zxf`), so a `.tar.zst`
environment has to be recompressed first.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from worker.tools import DISTRIBUTION_RE, ToolCommandError, ToolOutputError, check_name

_LINE_RE = re.compile(r"^\d+m\d+\.\ds (?P<level>[A-Z]+): (?P<message>.*)$")
_VERSION_RE = re.compile(r"^piuparts version (\S+) starting up\.$")


@dataclass(frozen=True)
class PiupartsResult:
    passed: bool
    piuparts_version: str | None
    # "PASS: ..." lines: each test that passed.
    passed_tests: list[str]
    # "FAIL: ..." and ERROR lines: why it failed.
    failures: list[str]


def parse_log(text: str) -> PiupartsResult:
    """Read piuparts' log (stdout); a log without its end is an error."""
    version = None
    passed_tests: list[str] = []
    failures: list[str] = []
    ended = False
    for line in text.splitlines():
        match = _LINE_RE.match(line)
        if match is None:
            continue  # continuation lines of DUMP output
        level, message = match["level"], match["message"]
        if (found := _VERSION_RE.match(message)) is not None:
            version = found.group(1)
        if message == "piuparts run ends.":
            ended = True
        elif message.startswith("PASS: "):
            passed_tests.append(message[len("PASS: ") :])
        elif message.startswith("FAIL: ") or level == "ERROR":
            failures.append(message)
    if version is None:
        raise ToolOutputError("not a piuparts log (no 'piuparts version' line)")
    if not ended:
        raise ToolOutputError("piuparts log is truncated: no 'piuparts run ends.'")
    passed = not failures and any(t.startswith("All tests") for t in passed_tests)
    return PiupartsResult(passed, version, passed_tests, failures)


def piuparts_command(
    debs: Sequence[Path],
    *,
    distribution: str,
    mirror: str,
    base_tgz: Path,
) -> list[str]:
    """The piuparts argv testing `debs` from a gzip base tarball."""
    if not debs:
        raise ToolCommandError("piuparts: no packages to test")
    check_name("distribution", distribution, DISTRIBUTION_RE)
    if not mirror.startswith(("http://", "https://", "file:/")) or " " in mirror:
        raise ToolCommandError(f"piuparts: invalid mirror {mirror!r}")
    if not base_tgz.name.endswith((".tgz", ".tar.gz")):
        raise ToolCommandError(
            f"piuparts needs a gzip base tarball (.tar.gz), not {base_tgz.name!r}"
        )
    return [
        "piuparts",
        f"--basetgz={base_tgz}",
        f"--distribution={distribution}",
        f"--mirror={mirror}",
        *(str(d) for d in debs),
    ]
