from __future__ import annotations

from pathlib import Path

import pytest

from worker.tools import ToolCommandError, ToolOutputError
from worker.tools.piuparts import parse_log, piuparts_command


def test_passing_run(fixture_text):
    result = parse_log(fixture_text("piuparts-pass.log"))

    assert result.passed
    assert result.piuparts_version == "1.1.7"
    assert result.passed_tests == ["Installation and purging test.", "All tests."]
    assert result.failures == []


def test_fail_line_fails_the_run(fixture_text):
    # piuparts logs FAIL at ERROR level, then ends the run through panic().
    lines = fixture_text("piuparts-pass.log").splitlines()
    cut = next(i for i, line in enumerate(lines) if "PASS: Installation" in line)
    failing = [
        *lines[:cut],
        "1m40.0s ERROR: FAIL: Package purging left files on system:",
        "  /etc/debusine-hello/leftover\t not owned",
        "1m40.1s ERROR: piuparts run ends.",
    ]

    result = parse_log("\n".join(failing))

    assert not result.passed
    assert result.failures == ["FAIL: Package purging left files on system:"]


def test_truncated_log_is_an_error(fixture_text):
    text = fixture_text("piuparts-pass.log")

    with pytest.raises(ToolOutputError, match="truncated"):
        parse_log(text[: len(text) // 2])


def test_not_a_piuparts_log():
    with pytest.raises(ToolOutputError, match="not a piuparts log"):
        parse_log("E: something else\n")


def test_command():
    argv = piuparts_command(
        [Path("a_1_amd64.deb"), Path("a-data_1_all.deb")],
        distribution="bookworm",
        mirror="http://deb.debian.org/debian",
        base_tgz=Path("/cache/bookworm.tar.gz"),
    )

    assert argv == [
        "piuparts",
        "--basetgz=/cache/bookworm.tar.gz",
        "--distribution=bookworm",
        "--mirror=http://deb.debian.org/debian",
        "a_1_amd64.deb",
        "a-data_1_all.deb",
    ]


@pytest.mark.parametrize(
    ("debs", "kwargs", "message"),
    [
        ([], {}, "no packages"),
        ([Path("a.deb")], {"base_tgz": Path("b.tar.zst")}, "gzip base tarball"),
        ([Path("a.deb")], {"mirror": "ftp://x y"}, "invalid mirror"),
        ([Path("a.deb")], {"distribution": ""}, "invalid distribution"),
    ],
)
def test_command_refuses_bad_input(debs, kwargs, message):
    arguments = {
        "distribution": "bookworm",
        "mirror": "http://deb.debian.org/debian",
        "base_tgz": Path("b.tgz"),
        **kwargs,
    }
    with pytest.raises(ToolCommandError, match=message):
        piuparts_command(debs, **arguments)
