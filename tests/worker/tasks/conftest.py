"""Fixtures of the worker-task tests that run real Debian tools.

The tarballs come from tests/e2e/environments.py (built once a day, shared
by all sessions); tests that need sbuild's unshare mode also check the
user's subordinate ids.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e import environments


@pytest.fixture(scope="session")
def buildd_tarball() -> Path:
    """Today's bookworm `buildd` system tarball (.tar.zst)."""
    return environments.buildd_tarball()


@pytest.fixture(scope="session")
def sbuild_ready(buildd_tarball: Path) -> Path:
    """sbuild can build in unshare mode here; the tarball it builds in."""
    environments.need_tools("sbuild")
    environments.need_subordinate_ids()
    return buildd_tarball
