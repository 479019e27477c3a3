"""Tool output captured from real runs on the generated test packages.

data/ holds, unedited: sbuild 0.85 logs (bookworm, unshare mode) of a
successful build, a build with an unsatisfiable build-dependency, a build
failing in its test step and a build without hardening flags; lintian
2.116 JSON and text output; autopkgtest 5.28's summary and output files;
a piuparts 1.1.7 log; blhc 0.13 and debdiff (devscripts 2.23) outputs.
"""

from __future__ import annotations

from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data"


@pytest.fixture
def fixture_text():
    def read(name: str) -> str:
        return (DATA / name).read_text()

    return read
