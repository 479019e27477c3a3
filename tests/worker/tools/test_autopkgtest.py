from __future__ import annotations

import json
from pathlib import Path

import pytest

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.schemas import validate_artifact_data
from worker.tools import ToolCommandError, ToolOutputError
from worker.tools.autopkgtest import (
    artifact_data,
    autopkgtest_command,
    fails,
    is_infrastructure_failure,
    parse_summary,
    parse_testpkg_version,
)


def test_results_per_test(fixture_text):
    parsed = parse_summary(fixture_text("autopkgtest/summary"))

    assert parsed.problems == []
    assert {name: r.status for name, r in parsed.results.items()} == {
        "greets": "PASS",
        "skips": "SKIP",
        "flaky": "FLAKY",
        "fails": "FAIL",
    }
    assert parsed.results["greets"].details is None
    assert parsed.results["skips"].details == ("exit status 77 and marked as skippable")
    assert parsed.results["fails"].details == "non-zero exit status 1"


def test_testpkg_version(fixture_text):
    assert parse_testpkg_version(fixture_text("autopkgtest/testpkg-version")) == (
        "debusine-hello",
        "1.0-1",
    )


def test_artifact_data_validates(fixture_text):
    results = parse_summary(fixture_text("autopkgtest/summary")).results
    info = json.loads(fixture_text("autopkgtest/testinfo.json"))

    data = artifact_data(
        results,
        cmdline=info["virt_server"],
        source_name="debusine-hello",
        source_version="1.0-1",
        architecture="amd64",
        distribution="debian:bookworm",
    )

    assert validate_artifact_data(ArtifactCategory.AUTOPKGTEST, data) == data
    assert data["results"]["flaky"] == {
        "status": "FLAKY",
        "details": "non-zero exit status 1",
    }


@pytest.mark.parametrize(
    ("fail_on", "expected"),
    [
        ({}, True),
        ({"failed_test": False}, False),
        ({"failed_test": False, "flaky_test": True}, True),
        ({"failed_test": False, "skipped_test": True}, True),
    ],
)
def test_fail_on(fixture_text, fail_on, expected):
    results = parse_summary(fixture_text("autopkgtest/summary")).results

    assert fails(results, **fail_on) is expected


def test_only_passing_tests_do_not_fail(fixture_text):
    summary = fixture_text("autopkgtest/summary").splitlines()[0] + "\n"

    assert not fails(parse_summary(summary).results, flaky_test=True, skipped_test=True)


def test_blame_lines_are_problems():
    # What autopkgtest writes when the test dependencies cannot be installed.
    parsed = parse_summary(
        "greets               FAIL badpkg\n"
        "blame: debusine-hello_1.0-1.dsc\n"
        "badpkg: Test dependencies are unsatisfiable.\n"
    )

    assert parsed.results["greets"].status == "FAIL"
    assert parsed.problems == [
        "blame: debusine-hello_1.0-1.dsc",
        "badpkg: Test dependencies are unsatisfiable.",
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "summary is empty"),
        ("greets  WEIRD\n", "line 1 not understood"),
        ("greets\n", "line 1 not understood"),
    ],
)
def test_malformed_summary(text, message):
    with pytest.raises(ToolOutputError, match=message):
        parse_summary(text)


def test_malformed_testpkg_version():
    with pytest.raises(ToolOutputError, match="testpkg-version"):
        parse_testpkg_version("debusine-hello\n")


@pytest.mark.parametrize(
    ("code", "infrastructure"),
    [
        (0, False),
        (2, False),
        (4, False),
        (8, False),
        (12, False),
        (16, True),
        (20, True),
    ],
)
def test_exit_codes(code, infrastructure):
    assert is_infrastructure_failure(code) is infrastructure


def test_command_uses_unshare_with_the_tarball():
    argv = autopkgtest_command(
        Path("/w/hello_1.0-1.dsc"),
        [Path("/w/hello_1.0-1_amd64.deb")],
        output_dir=Path("/w/out"),
        summary_file=Path("/w/summary"),
        environment=Path("/cache/bookworm.tar.zst"),
        architecture="amd64",
        include_tests=["greets"],
        exclude_tests=["flaky"],
        needs_internet="skip",
        timeouts={"test": 600, "factor": 1.5},
        extra_environment={"LANG": "C.UTF-8"},
    )

    separator = argv.index("--")
    assert argv[separator:] == [
        "--",
        "unshare",
        "--tarball",
        "/cache/bookworm.tar.zst",
        "--arch",
        "amd64",
    ]
    assert argv[separator - 2 : separator] == [
        "/w/hello_1.0-1.dsc",
        "/w/hello_1.0-1_amd64.deb",
    ]
    for option in (
        "--output-dir=/w/out",
        "--summary-file=/w/summary",
        "--setup-commands=apt-get update",
        "--needs-internet=skip",
        "--test-name=greets",
        "--skip-test=flaky",
        "--timeout-test=600",
        "--timeout-factor=1.5",
        "--env=LANG=C.UTF-8",
    ):
        assert option in argv


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"architecture": "amd 64"}, "invalid architecture"),
        ({"needs_internet": "maybe"}, "needs_internet"),
        ({"timeouts": {"forever": 1}}, "unknown autopkgtest timeout"),
        ({"timeouts": {"test": 0}}, "positive number"),
        ({"timeouts": {"test": 1.5}}, "positive number"),
        ({"include_tests": ["a b"]}, "invalid test name"),
        ({"extra_environment": {"A=B": "c"}}, "invalid variable"),
    ],
)
def test_command_refuses_bad_task_data(kwargs, message):
    arguments = {
        "output_dir": Path("o"),
        "summary_file": Path("s"),
        "environment": Path("t.tar.zst"),
        "architecture": "amd64",
        **kwargs,
    }
    with pytest.raises(ToolCommandError, match=message):
        autopkgtest_command(Path("a.dsc"), [], **arguments)
