from __future__ import annotations

import json
from pathlib import Path

import pytest

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.schemas import validate_artifact_data, validate_artifact_files
from tests.e2e.packages import LINTIAN_WARNING_TAG, OVERRIDDEN_LINTIAN_TAG
from worker.tools import ToolCommandError, ToolOutputError
from worker.tools.lintian import (
    analysis,
    artifact_data,
    fails_on,
    lintian_command,
    parse_json,
    parse_text,
    split_by_architecture,
    summary,
)


def report(fixture_text):
    return parse_json(fixture_text("lintian.json"))


def test_deliberate_warning_found_with_its_severity(fixture_text):
    parsed = report(fixture_text)

    assert parsed.lintian_version == "2.116.3+deb12u1"
    [warning] = [t for t in parsed.tags if t.tag == LINTIAN_WARNING_TAG]
    assert warning.severity == "warning"
    assert warning.package == "debusine-hello"
    assert warning.package_type == "binary"
    assert warning.architecture == "amd64"
    assert warning.filename == "debusine-hello_1.0-1_amd64.deb"
    assert warning.pointer == "usr/bin/debusine-hello"


def test_override_experimental_and_pointer_lines(fixture_text):
    tags = report(fixture_text).tags

    [overridden] = [t for t in tags if t.tag == OVERRIDDEN_LINTIAN_TAG]
    assert overridden.severity == "overridden"
    assert overridden.package_type == "source"
    assert overridden.comment == "The generated package has no upstream to watch."
    [experimental] = [t for t in tags if t.tag == "upstream-metadata-file-is-missing"]
    assert experimental.severity == "experimental"
    closes = [t for t in tags if t.tag == "initial-upload-closes-no-bugs"]
    assert {t.package for t in closes} == {"debusine-hello", "debusine-hello-data"}
    assert {t.pointer for t in closes} == {
        "usr/share/doc/debusine-hello/changelog.Debian.gz:1",
        "usr/share/doc/debusine-hello-data/changelog.Debian.gz:1",
    }


def test_text_output_agrees_with_json(fixture_text):
    text_tags = parse_text(fixture_text("lintian.txt"))
    json_tags = report(fixture_text).tags

    def key(t):
        return (t.tag, t.severity, t.package, t.note, t.pointer, t.comment)

    assert sorted(map(key, text_tags)) == sorted(map(key, json_tags))


def test_summary_counts_by_severity(fixture_text):
    parsed = report(fixture_text)

    data = summary(
        parsed.tags, lintian_version=parsed.lintian_version, distribution="bookworm"
    )

    assert data["tags_count_by_severity"] == {
        "error": 0,
        "warning": 4,
        "info": 3,
        "pedantic": 1,
        "experimental": 1,
        "overridden": 1,
        "classification": 0,
    }
    assert LINTIAN_WARNING_TAG in data["tags_found"]
    assert OVERRIDDEN_LINTIAN_TAG not in data["tags_found"]
    assert data["overridden_tags_found"] == [OVERRIDDEN_LINTIAN_TAG]
    # The source's name is taken by its binary of the same name first.
    assert data["package_filename"] == {
        "debusine-hello": "debusine-hello_1.0-1_amd64.deb",
        "debusine-hello-data": "debusine-hello-data_1.0-1_all.deb",
    }


def test_groups_by_architecture_validate_as_artifacts(fixture_text):
    parsed = report(fixture_text)
    groups = split_by_architecture(parsed.tags)

    assert set(groups) == {"source", "all", "amd64"}
    assert {t.tag for t in groups["source"]} >= {OVERRIDDEN_LINTIAN_TAG}
    assert LINTIAN_WARNING_TAG in {t.tag for t in groups["amd64"]}
    assert LINTIAN_WARNING_TAG not in {t.tag for t in groups["all"]}
    for architecture, tags in groups.items():
        data = summary(tags, lintian_version="2.116.3", distribution="debian:bookworm")
        artifact = artifact_data(architecture, data)
        assert validate_artifact_data(ArtifactCategory.LINTIAN, artifact) == artifact
        document = analysis(tags, data)
        assert json.loads(json.dumps(document)) == document
        assert document["version"] == "1.0"
        assert len(document["tags"]) == len(tags)
    validate_artifact_files(ArtifactCategory.LINTIAN, ["lintian.txt", "analysis.json"])


def test_analysis_tags_are_sorted_with_upstream_keys(fixture_text):
    tags = report(fixture_text).tags
    document = analysis(tags, {})

    rows = document["tags"]
    assert set(rows[0]) == {
        "tag",
        "severity",
        "package",
        "note",
        "pointer",
        "explanation",
        "comment",
    }
    assert rows == sorted(rows, key=lambda r: (r["package"],))


@pytest.mark.parametrize(
    ("fail_on", "fails"),
    [
        ("error", False),
        ("warning", True),
        ("info", True),
        ("none", False),
    ],
)
def test_fail_on_severity(fixture_text, fail_on, fails):
    data = summary(report(fixture_text).tags, lintian_version="x", distribution=None)

    assert fails_on(data, fail_on) is fails


def test_fail_on_unknown_severity(fixture_text):
    data = summary([], lintian_version="x", distribution=None)

    with pytest.raises(ToolCommandError, match="unknown fail_on_severity 'fatal'"):
        fails_on(data, "fatal")


def test_truncated_json_is_an_error(fixture_text):
    text = fixture_text("lintian.json")

    with pytest.raises(ToolOutputError, match="not valid JSON"):
        parse_json(text[: len(text) // 2])


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[]", "no 'groups' list"),
        ('{"groups": [{"input_files": []}]}', "lacks an expected field"),
        (
            '{"groups": [{"source_name": "x", "input_files": '
            '[{"path": "x.tar.gz", "hints": []}]}]}',
            "unexpected input file",
        ),
    ],
)
def test_malformed_json(text, message):
    with pytest.raises(ToolOutputError, match=message):
        parse_json(text)


def test_text_garbage_line_is_an_error():
    with pytest.raises(ToolOutputError, match="line 2 not understood"):
        parse_text("W: pkg: some-tag\nSegmentation fault\n")


def test_command_shows_every_hint_in_json():
    argv = lintian_command(
        [Path("a.dsc"), Path("a_1_all.deb")],
        include_tags=["no-manual-page"],
        exclude_tags=["debian-watch-file-is-missing"],
    )

    assert argv[0] == "lintian"
    for option in (
        "--display-info",
        "--display-experimental",
        "--pedantic",
        "--show-overrides",
        "--fail-on=none",
        "--tags=no-manual-page",
        "--suppress-tags=debian-watch-file-is-missing",
    ):
        assert option in argv
    assert argv[argv.index("--exp-output") + 1] == "format=json"
    assert argv[-2:] == ["a.dsc", "a_1_all.deb"]
    assert "--exp-output" not in lintian_command([Path("a.dsc")], json_output=False)


@pytest.mark.parametrize(
    ("files", "tags", "message"),
    [
        ([], [], "no files"),
        ([Path("a.dsc")], ["--evil"], "invalid tag name"),
    ],
)
def test_command_refuses_bad_input(files, tags, message):
    with pytest.raises(ToolCommandError, match=message):
        lintian_command(files, include_tags=tags)
