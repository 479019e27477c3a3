from __future__ import annotations

from pathlib import Path

import pytest

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.schemas import validate_artifact_data
from worker.tools import ToolCommandError, ToolOutputError
from worker.tools.debdiff import (
    artifact_data,
    binary_command,
    parse_output,
    source_command,
)


def test_source_differences(fixture_text):
    summary = parse_output(fixture_text("debdiff-source.txt"), 1)

    assert not summary.identical
    assert summary.changed_files == {
        "debian/changelog": (1, 1),
        "debian/rules": (2, 1),
    }


def test_binary_differences(fixture_text):
    summary = parse_output(fixture_text("debdiff-binary.txt"), 1)

    assert summary.files_added == []
    assert summary.files_removed == []
    assert summary.control_changes == {
        "debusine-hello": [
            "Depends: libc6 (>= 2.34), debusine-hello-data (= [-1.0-1)-] {+1.0-2)+}",
            "Version: [-1.0-1-] {+1.0-2+}",
        ],
        "debusine-hello-data": ["Version: [-1.0-1-] {+1.0-2+}"],
    }


def test_file_list_differences():
    text = (
        "[The following lists of changes regard files as different if they have\n"
        "different names, permissions or owners.]\n\n"
        "Files in second set of .debs but not in first\n"
        "---------------------------------------------\n"
        "-rw-r--r--  root/root   /usr/share/doc/x/NEWS.gz\n\n"
        "Files in first set of .debs but not in second\n"
        "---------------------------------------------\n"
        "-rwxr-xr-x  root/root   /usr/bin/old-tool\n"
    )

    summary = parse_output(text, 1)

    assert summary.files_added == ["/usr/share/doc/x/NEWS.gz"]
    assert summary.files_removed == ["/usr/bin/old-tool"]


def test_identical():
    summary = parse_output("", 0)

    assert summary.identical
    assert summary.changed_files == {}


def test_failure_exit_is_an_error():
    with pytest.raises(ToolOutputError, match="exit code 255: Can't read"):
        parse_output("Can't read file: x.dsc\n", 255)


def test_differences_not_understood(fixture_text):
    with pytest.raises(ToolOutputError, match="none were understood"):
        parse_output("something else entirely\n", 1)


def test_artifact_data_validates():
    data = artifact_data("hello_1.0-1.dsc", "hello_1.0-2.dsc")

    assert validate_artifact_data(ArtifactCategory.DEBDIFF, data) == data


def test_commands():
    assert source_command(Path("a_1.dsc"), Path("a_2.dsc"), ["--diffstat"]) == [
        "debdiff",
        "--diffstat",
        "a_1.dsc",
        "a_2.dsc",
    ]
    assert binary_command([Path("a_1_all.deb")], [Path("a_2_all.deb")]) == [
        "debdiff",
        "--from",
        "a_1_all.deb",
        "--to",
        "a_2_all.deb",
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: source_command(Path("a.deb"), Path("b.dsc")), "needs .dsc"),
        (lambda: binary_command([], [Path("b.deb")]), "on both sides"),
        (lambda: binary_command([Path("a.dsc")], [Path("b.deb")]), "needs .deb"),
        (
            lambda: source_command(Path("a.dsc"), Path("b.dsc"), ["--exec=rm"]),
            "not allowed",
        ),
    ],
)
def test_commands_refuse_bad_input(call, message):
    with pytest.raises(ToolCommandError, match=message):
        call()
