"""Real Debian system tarballs for the tests that run Debian tools.

mmdebstrap builds them from the Debian mirror, which takes a minute or
more, so each is kept in the repository's `var/test-cache/` (ignored by
git) under the day's date: one build a day per kind, shared by every test
session and xdist worker of that day (a lock file makes the others wait for
the first build). The `buildd` variant is what sbuild, autopkgtest and
piuparts need; `.tar.zst` keeps compressing and unpacking it quick (the host
needs `zstd`).

Without the tools the tests skip, unless DEBUSINE_REQUIRE_E2E=1 (CI), where
a missing tool fails them: see `need()`.
"""

from __future__ import annotations

import datetime
import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from worker.executors.namespaces import namespaces_work

REPOSITORY = Path(__file__).resolve().parents[2]
TARBALL_CACHE = REPOSITORY / "var" / "test-cache"
MIRROR = "http://deb.debian.org/debian"
CODENAME = "bookworm"
ARCHITECTURE = "amd64"
# mmdebstrap on a loaded machine with a slow mirror.
BUILD_TIMEOUT = 900


def need(condition: bool, reason: str) -> None:
    """Skip without `reason`'s tool, or fail when end-to-end tests are required."""
    if condition:
        return
    if os.environ.get("DEBUSINE_REQUIRE_E2E") == "1":
        pytest.fail(f"{reason} (DEBUSINE_REQUIRE_E2E=1)")
    pytest.skip(reason)


def need_tools(*tools: str) -> None:
    """Each of `tools` on PATH (else skip, or fail in CI)."""
    missing = [tool for tool in tools if shutil.which(tool) is None]
    need(not missing, f"needs {', '.join(missing)}")


def need_namespaces() -> None:
    need(
        shutil.which("unshare") is not None and namespaces_work(),
        "needs util-linux unshare and user namespaces",
    )


def need_subordinate_ids() -> None:
    """sbuild's unshare mode maps the user to its /etc/subuid and subgid range."""
    import getpass

    user = getpass.getuser()
    for path in (Path("/etc/subuid"), Path("/etc/subgid")):
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except OSError:
            lines = []
        need(
            any(line.split(":")[0] == user for line in lines),
            f"needs an entry for {user} in {path}",
        )


def cached_tarball(
    variant: str, *, suffix: str = "tar.zst", include: tuple[str, ...] = ()
) -> Path:
    """Today's `CODENAME` tarball of `variant` (built now if it is not there).

    Fails the test (with mmdebstrap's last words) if mmdebstrap fails.
    """
    need_namespaces()
    need_tools("mmdebstrap", *(["zstd"] if suffix.endswith("zst") else []))
    TARBALL_CACHE.mkdir(parents=True, exist_ok=True)
    kind = "-".join([CODENAME, variant, *include])
    today = datetime.date.today().isoformat()
    tarball = TARBALL_CACHE / f"{kind}-{today}.{suffix}"
    with (TARBALL_CACHE / f"{kind}.lock").open("ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if tarball.is_file():
            return tarball
        for old in TARBALL_CACHE.glob(f"{kind}-*.{suffix}"):
            old.unlink()
        partial = tarball.with_name(f".partial-{kind}-{os.getpid()}.{suffix}")
        argv = ["mmdebstrap", "--quiet", f"--variant={variant}"]
        if include:
            argv.append(f"--include={','.join(include)}")
        argv += [f"--architectures={ARCHITECTURE}", CODENAME, str(partial), MIRROR]
        try:
            result = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                check=False,
                timeout=BUILD_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            partial.unlink(missing_ok=True)
            pytest.fail(f"mmdebstrap took longer than {BUILD_TIMEOUT} s")
        if result.returncode != 0:
            partial.unlink(missing_ok=True)
            pytest.fail(f"mmdebstrap failed: {result.stderr[-2000:]}")
        partial.rename(tarball)
    return tarball


def buildd_tarball() -> Path:
    """Today's bookworm `buildd` tarball (sbuild's unshare mode builds in it)."""
    return cached_tarball("buildd")
