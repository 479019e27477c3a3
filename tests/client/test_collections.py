"""`debusine list-collections`, `show-collection` and `lookup`, end to end."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from tests.client.conftest import Run


def ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def error(result: Any) -> str:
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert len(result.stderr.splitlines()) == 1, result.stderr
    line: str = result.stderr.strip()
    return line.removeprefix("debusine: error: ")


def test_list_and_show_collections(debusine: Run) -> None:
    listed = ok(debusine("list-collections", "--workspace", "System"))
    assert isinstance(listed, list)
    for collection in listed[:2]:
        shown = ok(debusine("show-collection", collection["id"], "--items"))
        assert shown["id"] == collection["id"]
        assert isinstance(shown["items"], list)
    assert error(debusine("show-collection", "999999")) == (
        "Not found: Collection 999999 not found"
    )


def test_lookup(debusine: Run, tmp_path: Path) -> None:
    artifact_id = ok(debusine("create-artifact", "debusine:test"))["artifact_id"]
    result = ok(debusine("lookup", f"{artifact_id}@artifacts"))
    assert result["artifact"] == artifact_id
    result = ok(debusine("lookup", "--multiple", f"[{artifact_id}@artifacts]"))
    assert [r["artifact"] for r in result] == [artifact_id]
    assert error(debusine("lookup", "999999@artifacts")).startswith("Lookup failed: ")
    assert error(debusine("lookup", "--multiple", "7")) == (
        "a multiple lookup is a YAML mapping or list"
    )
