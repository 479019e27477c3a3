"""The generated source packages are real: dpkg-source builds them and
python-debian reads the .dsc back with the requested properties."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from debian.deb822 import Dsc

from tests.e2e.packages import (
    LINTIAN_WARNING_TAG,
    MISSING_BUILD_DEPENDENCY,
    OVERRIDDEN_LINTIAN_TAG,
    PackageSpecError,
    make_source_package,
)

pytestmark = pytest.mark.skipif(
    shutil.which("dpkg-source") is None
    and os.environ.get("DEBUSINE_REQUIRE_E2E") != "1",
    reason="dpkg-source (dpkg-dev) is not installed",
)


def read_dsc(path: Path) -> Dsc:
    with path.open() as stream:
        return Dsc(stream)


def test_default_package_has_any_and_all_binaries_and_a_testsuite(tmp_path):
    dsc_path = make_source_package(tmp_path)

    assert dsc_path == tmp_path / "debusine-hello_1.0-1.dsc"
    dsc = read_dsc(dsc_path)
    assert dsc["Source"] == "debusine-hello"
    assert dsc["Version"] == "1.0-1"
    assert dsc["Format"] == "3.0 (quilt)"
    assert dsc["Architecture"].split() == ["any", "all"]
    assert dsc["Binary"].split(", ") == ["debusine-hello", "debusine-hello-data"]
    assert dsc["Build-Depends"] == "debhelper-compat (= 13)"
    assert dsc["Testsuite"] == "autopkgtest"
    names = sorted(entry["name"] for entry in dsc["Files"])
    assert names == [
        "debusine-hello_1.0-1.debian.tar.xz",
        "debusine-hello_1.0.orig.tar.gz",
    ]
    for name in names:
        assert (tmp_path / name).is_file()


def test_dsc_files_are_complete_and_extract(tmp_path):
    dsc_path = make_source_package(tmp_path / "src", name="hello-two", version="2.1")

    # dpkg-source -x checks every listed file and its checksums.
    subprocess.run(
        ["dpkg-source", "-x", str(dsc_path), str(tmp_path / "out")],
        check=True,
        capture_output=True,
    )
    tree = tmp_path / "out"
    assert (tree / "hello.c").is_file()
    assert (tree / "debian/source/format").read_text() == "3.0 (native)\n"
    assert read_dsc(dsc_path)["Format"] == "3.0 (native)"


def test_unsatisfiable_build_depends(tmp_path):
    dsc = read_dsc(make_source_package(tmp_path, unsatisfiable_build_depends=True))

    assert MISSING_BUILD_DEPENDENCY in dsc["Build-Depends"]


def test_lintian_warning_is_a_missing_manual_page(tmp_path):
    make_source_package(tmp_path / "warn")
    make_source_package(tmp_path / "clean", lintian_warning=False)

    assert LINTIAN_WARNING_TAG == "no-manual-page"
    warn = tmp_path / "warn/debusine-hello-1.0/debian"
    clean = tmp_path / "clean/debusine-hello-1.0/debian"
    assert not (warn / "debusine-hello.manpages").exists()
    assert (clean / "debusine-hello.manpages").read_text() == (
        "debian/debusine-hello.1\n"
    )
    assert (clean / "debusine-hello.1").is_file()


def test_varied_tests_declare_each_outcome(tmp_path):
    make_source_package(tmp_path, varied_tests=True)

    control = (tmp_path / "debusine-hello-1.0/debian/tests/control").read_text()
    for name in ("greets", "skips", "flaky", "fails"):
        assert f"test-name={name}" in control
    assert "Restrictions: skippable" in control
    assert "Restrictions: flaky" in control


def test_without_hardening_the_rules_override_the_flags(tmp_path):
    make_source_package(tmp_path / "a")
    make_source_package(tmp_path / "b", hardening=False)

    rules_a = (tmp_path / "a/debusine-hello-1.0/debian/rules").read_text()
    rules_b = (tmp_path / "b/debusine-hello-1.0/debian/rules").read_text()
    assert "hardening=+all" in rules_a
    assert "override_dh_auto_build" in rules_b
    assert "LDFLAGS=" in rules_b


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad_Name"}, "invalid source package name"),
        ({"version": "1.0-"}, "invalid version"),
        ({"version": "1:1.0-1"}, "epochs are not supported"),
    ],
)
def test_bad_spec_is_refused_before_writing(tmp_path, kwargs, message):
    with pytest.raises(PackageSpecError, match=message):
        make_source_package(tmp_path / "dest", **kwargs)

    assert not (tmp_path / "dest").exists()


def test_existing_tree_is_refused(tmp_path):
    make_source_package(tmp_path)

    with pytest.raises(PackageSpecError, match="already exists"):
        make_source_package(tmp_path)


def test_failing_build_and_lintian_override(tmp_path):
    make_source_package(tmp_path, failing_build=True)

    debian = tmp_path / "debusine-hello-1.0/debian"
    assert "exit 1" in (debian / "rules").read_text()
    overrides = (debian / "source/lintian-overrides").read_text()
    assert f"debusine-hello source: {OVERRIDDEN_LINTIAN_TAG}" in overrides
