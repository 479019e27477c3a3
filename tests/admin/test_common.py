"""The helpers every command uses: output, input, argument types."""

from __future__ import annotations

import argparse
import datetime as dt
import enum
import io

import pytest
import yaml

from debusine.admin.common import (
    CommandError,
    Output,
    non_negative_int,
    positive_int,
    read_mapping,
    scoped_name,
)


class Colour(enum.StrEnum):
    RED = "red"


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


ROW = {
    "name": "x[bold]y",
    "none": None,
    "flag": False,
    "colour": Colour.RED,
    "when": dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC),
    "delay": dt.timedelta(days=3),
    "forever": dt.timedelta(0),
    "items": ["a", "b"],
    "data": {"k": [1]},
}
COLUMNS = [(key, key.capitalize()) for key in ROW]


def test_table_output():
    stream = io.StringIO()

    Output(stream).records([ROW], COLUMNS, title="Things")

    lines = stream.getvalue().splitlines()
    assert lines[0] == "Things"
    assert lines[1].split() == [c[1] for c in COLUMNS]
    # Cells are plain text: user data is never read as rich markup.
    assert lines[3].split() == [
        "x[bold]y",
        "-",
        "no",
        "red",
        "2024-05-06",
        "07:08:09",
        "UTC",
        "3",
        "days",
        "never",
        "a,",
        "b",
        '{"k":',
        "[1]}",
    ]
    assert all(line == line.rstrip() for line in lines)


def test_table_output_on_a_terminal():
    stream = FakeTerminal()

    Output(stream).records([ROW], COLUMNS)

    # Printed by rich itself, to the terminal's width, styled if it can be.
    assert "Name" in stream.getvalue()
    assert "Colour" in stream.getvalue()


def test_yaml_output():
    stream = io.StringIO()

    Output(stream, yaml_output=True).records([ROW], COLUMNS[:1])

    assert yaml.safe_load(stream.getvalue()) == [
        {
            "name": "x[bold]y",
            "none": None,
            "flag": False,
            "colour": "red",
            "when": "2024-05-06T07:08:09+00:00",
            "delay": 3,
            "forever": 0,
            "items": ["a", "b"],
            "data": {"k": [1]},
        }
    ]


def test_yaml_partial_days():
    stream = io.StringIO()

    Output(stream).yaml({"d": dt.timedelta(hours=36)})

    assert yaml.safe_load(stream.getvalue()) == {"d": "1 day, 12:00:00"}


def test_read_mapping_file(tmp_path):
    path = tmp_path / "data.yaml"
    path.write_text("a: 1\nwhen: 2024-01-01\nlist: [x, {y: null}]\n")

    assert read_mapping(str(path)) == {
        "a": 1,
        "when": "2024-01-01",
        "list": ["x", {"y": None}],
    }


def test_read_mapping_empty_and_stdin(tmp_path):
    path = tmp_path / "empty"
    path.write_text("")

    assert read_mapping(str(path)) == {}
    assert read_mapping("-", io.StringIO('{"a": [true]}')) == {"a": [True]}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"a: [1", "is not valid YAML or JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"- 1", "must contain a mapping, not a list"),
        (b"a: !!timestamp 2024-01-01", "date values cannot be stored as JSON"),
        (b"a: {[1]: 2}", "is not valid YAML or JSON"),
    ],
)
def test_read_mapping_errors(tmp_path, content, message):
    path = tmp_path / "data"
    path.write_bytes(content)

    with pytest.raises(CommandError, match="data") as error:
        read_mapping(str(path))

    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_read_mapping_unreadable(tmp_path):
    with pytest.raises(CommandError, match=r"cannot read .*: Is a directory"):
        read_mapping(str(tmp_path))


def test_argument_types():
    parse = scoped_name("workspace")
    assert parse("debian/System") == ("debian", "System")
    assert parse("debian/a/b") == ("debian", "a/b")
    for bad in ("debian", "/System", "debian/"):
        with pytest.raises(argparse.ArgumentTypeError, match="SCOPE/WORKSPACE"):
            parse(bad)
    assert positive_int("3") == 3
    assert non_negative_int("0") == 0
    for function, bad in (
        (positive_int, "0"),
        (positive_int, "x"),
        (non_negative_int, "-1"),
    ):
        with pytest.raises(argparse.ArgumentTypeError):
            function(bad)
