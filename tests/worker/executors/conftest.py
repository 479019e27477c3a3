"""A real bookworm system tarball (mmdebstrap) and caches of it.

Building the tarball takes minutes, so it is kept in the repository's
`var/test-cache/` (ignored by git) under the day's date: one build a day,
shared by every test session and xdist worker of that day (a lock file
makes the others wait for the first). Without mmdebstrap or working user
namespaces the tests skip, unless DEBUSINE_REQUIRE_E2E=1, where they fail.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import pytest

from tests.e2e.environments import cached_tarball, need_namespaces
from worker.executors.environment_cache import EnvironmentCache


@pytest.fixture(scope="session")
def namespaces() -> None:
    need_namespaces()


@pytest.fixture(scope="session")
def system_tarball(namespaces: None) -> Path:
    """Today's bookworm `essential` tarball, shared with the other tool tests."""
    return cached_tarball("essential", suffix="tar.xz")


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
