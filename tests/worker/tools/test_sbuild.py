from __future__ import annotations

from pathlib import Path

import pytest

from debusine.artifacts.categories import ArtifactCategory, BareDataCategory
from debusine.artifacts.schemas import validate_artifact_data, validate_bare_data
from worker.tools import ToolCommandError, ToolOutputError
from worker.tools.sbuild import (
    BuildOutcome,
    package_build_log_data,
    parse_build_log,
    sbuild_command,
)


def test_successful_build(fixture_text):
    log = parse_build_log(fixture_text("sbuild-successful.build"))

    assert log.outcome is BuildOutcome.SUCCESS
    assert (log.source, log.version) == ("debusine-hello", "1.0-1")
    assert log.architecture == "amd64"
    assert log.distribution == "bookworm"
    assert log.status == "successful"
    assert log.fail_stage is None
    assert log.bd_uninstallable is None
    assert log.reason is None
    assert log.summary["Build-Time"] == "9"


def test_bd_uninstallable_is_not_a_build_failure(fixture_text):
    log = parse_build_log(fixture_text("sbuild-bd-uninstallable.build"))

    assert log.outcome is BuildOutcome.BD_UNINSTALLABLE
    assert log.source == "debusine-unbuildable"
    assert log.fail_stage == "install-deps"
    assert log.reason == (
        "missing build-dependency debusine-no-such-package:amd64 (>= 99)"
    )
    report = log.bd_uninstallable
    assert report is not None
    assert report["broken-packages"] == 1
    assert report["report"][0]["status"] == "broken"


def test_bd_uninstallable_without_dose_report_uses_apt(fixture_text):
    text = fixture_text("sbuild-bd-uninstallable.build")
    # As with --bd-uninstallable-explainer=none: only apt's words remain.
    start = text.index("output-version: 1.2")
    end = text.index("broken-packages: 1") + len("broken-packages: 1")
    log = parse_build_log(text[:start] + text[end:])

    assert log.outcome is BuildOutcome.BD_UNINSTALLABLE
    assert log.bd_uninstallable is None
    assert log.reason == (
        "Depends: debusine-no-such-package (>= 99) but it is not installable"
    )


def test_build_failure_gives_stage_and_error(fixture_text):
    log = parse_build_log(fixture_text("sbuild-build-failure.build"))

    assert log.outcome is BuildOutcome.BUILD_FAILURE
    assert log.status == "attempted"
    assert log.fail_stage == "build"
    assert log.bd_uninstallable is None
    assert log.reason == (
        "attempted in stage build: Build failure (dpkg-buildpackage died)"
    )


@pytest.mark.parametrize(
    "name",
    [
        "sbuild-successful.build",
        "sbuild-bd-uninstallable.build",
        "sbuild-build-failure.build",
    ],
)
def test_build_log_data_validates(fixture_text, name):
    log = parse_build_log(fixture_text(name))

    data = package_build_log_data(log, "x_1_amd64.build")
    assert validate_artifact_data(ArtifactCategory.PACKAGE_BUILD_LOG, data) == data
    assert validate_bare_data(BareDataCategory.PACKAGE_BUILD_LOG, data) == data


def test_truncated_log_is_an_error(fixture_text):
    text = fixture_text("sbuild-successful.build")

    with pytest.raises(ToolOutputError, match="no Summary section"):
        parse_build_log(text[: len(text) // 2])


@pytest.mark.parametrize("text", ["", "hello\n", "{}"])
def test_not_a_build_log(text):
    with pytest.raises(ToolOutputError, match="not an sbuild build log"):
        parse_build_log(text)


def test_broken_dose_report_is_an_error(fixture_text):
    text = fixture_text("sbuild-bd-uninstallable.build").replace(
        "  status: broken", "  status: [broken"
    )

    with pytest.raises(ToolOutputError, match="dose-distcheck report"):
        parse_build_log(text)


def test_summary_without_status(fixture_text):
    text = fixture_text("sbuild-successful.build").replace("Status: successful\n", "")

    with pytest.raises(ToolOutputError, match="lacks Status"):
        parse_build_log(text)


def test_command_for_any_and_all():
    argv = sbuild_command(
        Path("/w/hello_1.0-1.dsc"),
        distribution="bookworm",
        host_architecture="amd64",
        environment=Path("/cache/bookworm.tar.zst"),
        build_arch_all=True,
        build_profiles=["nocheck"],
    )

    assert argv[0] == "sbuild"
    assert "--chroot-mode=unshare" in argv
    assert "--chroot=/cache/bookworm.tar.zst" in argv
    assert "--dist=bookworm" in argv
    assert "--arch=amd64" in argv
    assert "--arch-any" in argv
    assert "--arch-all" in argv
    assert "--no-source" in argv
    assert "--profiles=nocheck" in argv
    for tool in ("lintian", "piuparts", "autopkgtest"):
        assert f"--no-run-{tool}" in argv
    assert argv[-1] == "/w/hello_1.0-1.dsc"


def test_command_all_only():
    argv = sbuild_command(
        Path("a.dsc"),
        distribution="trixie",
        host_architecture="arm64",
        environment=Path("t.tar.zst"),
        build_arch_any=False,
        build_arch_all=True,
    )

    assert "--no-arch-any" in argv
    assert "--arch-all" in argv


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"distribution": "book worm"}, "invalid distribution"),
        ({"host_architecture": "--arch=x"}, "invalid architecture"),
        ({"build_arch_any": False}, "nothing to build"),
        ({"build_profiles": ["no check"]}, "invalid build profile"),
        ({"extra_options": ["-v"]}, "is not --option"),
    ],
)
def test_command_refuses_bad_task_data(kwargs, message):
    arguments = {
        "distribution": "bookworm",
        "host_architecture": "amd64",
        "environment": Path("t.tar.zst"),
        **kwargs,
    }
    with pytest.raises(ToolCommandError, match=message):
        sbuild_command(Path("a.dsc"), **arguments)
