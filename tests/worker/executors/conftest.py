"""A real bookworm system tarball (mmdebstrap) and caches of it.

Building the tarball takes minutes, so it is kept in the repository's
`var/test-cache/` (ignored by git) under the day's date: one build a day,
shared by every test session and xdist worker of that day (a lock file
makes the others wait for the first). Without mmdebstrap or working user
namespaces the tests skip, unless DEBUSINE_REQUIRE_E2E=1, where they fail.
"""

from __future__ import annotations

import datetime
import fcntl
import io
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

from worker.executors.environment_cache import EnvironmentCache
from worker.executors.namespaces import namespaces_work

REPOSITORY = Path(__file__).resolve().parents[3]
TARBALL_CACHE = REPOSITORY / "var" / "test-cache"
MIRROR = "http://deb.debian.org/debian"


def need(condition: bool, reason: str) -> None:
    """Skip without `reason`'s tool, or fail when end-to-end tests are required."""
    if condition:
        return
    if os.environ.get("DEBUSINE_REQUIRE_E2E") == "1":
        pytest.fail(f"{reason} (DEBUSINE_REQUIRE_E2E=1)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def namespaces() -> None:
    need(
        shutil.which("unshare") is not None and namespaces_work(),
        "needs util-linux unshare and user namespaces",
    )


@pytest.fixture(scope="session")
def system_tarball(namespaces: None) -> Path:
    need(shutil.which("mmdebstrap") is not None, "needs mmdebstrap")
    TARBALL_CACHE.mkdir(parents=True, exist_ok=True)
    today = datetime.date.today().isoformat()
    tarball = TARBALL_CACHE / f"bookworm-essential-{today}.tar.xz"
    with (TARBALL_CACHE / "bookworm-essential.lock").open("ab") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not tarball.is_file():
            for old in TARBALL_CACHE.glob("bookworm-essential-*.tar.xz"):
                old.unlink()
            partial = tarball.with_name(f".partial-{os.getpid()}.tar.xz")
            result = subprocess.run(
                [
                    "mmdebstrap",
                    "--quiet",
                    "--variant=essential",
                    "bookworm",
                    str(partial),
                    MIRROR,
                ],
                capture_output=True,
                text=True,
                check=False,
            )
            if result.returncode != 0:
                partial.unlink(missing_ok=True)
                pytest.fail(f"mmdebstrap failed: {result.stderr[-2000:]}")
            partial.rename(tarball)
    return tarball


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> EnvironmentCache:
    """One cache per session: the bookworm tarball is unpacked once."""
    return EnvironmentCache(tmp_path_factory.mktemp("environment-cache"))


@pytest.fixture
def make_tarball(tmp_path: Path) -> Callable[..., Path]:
    """A small tarball that looks like a system: /usr/bin and `size` bytes."""

    def make(name: str, size: int = 1000, compression: str = "xz") -> Path:
        path = tmp_path / f"{name}.tar.{compression}"
        mode: Literal["w:xz", "w:gz"] = "w:gz" if compression == "gz" else "w:xz"
        with tarfile.open(path, mode) as archive:
            for directory in ("usr", "usr/bin", "etc"):
                info = tarfile.TarInfo(directory)
                info.type = tarfile.DIRTYPE
                info.mode = 0o755
                archive.addfile(info)
            data = name.encode().ljust(size, b".")
            info = tarfile.TarInfo("etc/payload")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        return path

    return make
