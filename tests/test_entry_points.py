"""Every console script installs, explains itself, and says what is missing."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


@pytest.mark.parametrize(
    "script",
    [
        "debusine-server",
        "debusine-admin",
        "debusine-worker",
        "debusine-signer",
        "debusine",
    ],
)
def test_help(script: str) -> None:
    result = subprocess.run(
        [str(BIN / script), "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"usage: {script}")


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("debusine-signer", "the signer is not implemented yet"),
    ],
)
def test_unbuilt_components_say_so(script: str, message: str) -> None:
    result = subprocess.run(
        [str(BIN / script)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 3
    assert result.stderr.strip() == f"{script}: error: {message}"
