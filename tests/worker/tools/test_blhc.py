from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.schemas import validate_artifact_data, validate_artifact_files
from worker.tools import ToolCommandError, ToolOutputError
from worker.tools.blhc import blhc_command, exit_conditions, parse_output

# blhc's exit codes for each captured output (recorded with the fixtures).
MISSING_FLAGS_EXIT = 8
NO_COMPILER_EXIT = 1


def test_missing_flags_found(fixture_text):
    report = parse_output(fixture_text("blhc-missing-flags.txt"), MISSING_FLAGS_EXIT)

    assert report.conditions == ["missing-hardening-flags"]
    assert not report.clean
    assert [m.kind for m in report.missing] == ["CFLAGS", "CPPFLAGS", "LDFLAGS"]
    cppflags = report.missing[1]
    assert cppflags.flags == ["-D_FORTIFY_SOURCE=2"]
    assert cppflags.command == "cc  -O2  -o debusine-hello hello.c"
    assert "-Wl,-z,relro" in report.missing[2].flags


def test_buildd_output(fixture_text):
    report = parse_output(fixture_text("blhc-buildd.txt"), 0)

    assert not report.clean
    assert report.buildd_tags == [
        (
            "dpkg-buildflags-missing",
            "CPPFLAGS 1 (of 1), CFLAGS 1 (of 1), LDFLAGS 1 (of 1) missing",
        )
    ]


def test_clean_build(fixture_text):
    report = parse_output(fixture_text("blhc-clean.txt"), 0)

    assert report.clean
    assert report.conditions == []


def test_no_compiler_commands(fixture_text):
    report = parse_output(fixture_text("blhc-no-compiler.txt"), NO_COMPILER_EXIT)

    assert report.conditions == ["no-compiler-commands"]
    assert report.messages == ["No compiler commands!"]
    assert report.clean


def test_line_numbers():
    report = parse_output(
        "364:LDFLAGS missing (-Wl,-z,relro): cc -o x x.c\n", MISSING_FLAGS_EXIT
    )

    assert report.missing[0].line == 364


def test_artifact_is_the_text_file():
    assert validate_artifact_data(ArtifactCategory.BLHC, {}) == {}
    validate_artifact_files(ArtifactCategory.BLHC, ["blhc.txt"])


@pytest.mark.parametrize("code", [2, 10, 64, -9])
def test_blhc_failure_exit_codes(code):
    with pytest.raises(ToolOutputError, match=f"exit code {code}"):
        exit_conditions(code)


def test_unknown_line_is_an_error():
    with pytest.raises(ToolOutputError, match="line 1 not understood"):
        parse_output("Use of uninitialized value in perl\n", 0)


def test_missing_flags_exit_without_findings_is_an_error(fixture_text):
    with pytest.raises(ToolOutputError, match="listed none"):
        parse_output("", MISSING_FLAGS_EXIT)


def test_command():
    assert blhc_command(Path("x.build"), ["--all", "--buildd"]) == [
        "blhc",
        "--all",
        "--buildd",
        "x.build",
    ]
    with pytest.raises(ToolCommandError, match="'--arch=i386' is not allowed"):
        blhc_command(Path("x.build"), ["--arch=i386"])


@pytest.mark.skipif(
    shutil.which("blhc") is None and os.environ.get("DEBUSINE_REQUIRE_E2E") != "1",
    reason="blhc is not installed",
)
def test_real_blhc_on_the_captured_build_logs():
    data = Path(__file__).parent / "data"
    for log, clean in (
        ("sbuild-no-hardening.build", False),
        ("sbuild-successful.build", True),
    ):
        argv = blhc_command(data / log, ["--line-numbers"])
        run = subprocess.run(argv, capture_output=True, text=True, check=False)

        report = parse_output(run.stdout, run.returncode)
        assert report.clean is clean
    assert report.missing == []
