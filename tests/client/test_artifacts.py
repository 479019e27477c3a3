"""`debusine` artifact commands end to end, against a real server process."""

from __future__ import annotations

import hashlib
import tarfile
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.artifacts.conftest import Packages
from tests.client.conftest import LiveServer, Run, write_config

MIB = 1024 * 1024


def ok(result: Any) -> Any:
    assert result.returncode == 0, result.stderr
    return yaml.safe_load(result.stdout)


def one_line_error(result: Any) -> str:
    assert result.returncode == 3, (result.stdout, result.stderr)
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    line: str = lines[0]
    assert line.startswith("debusine: error: ")
    return line.removeprefix("debusine: error: ")


def big_file(path: Path, size: int) -> Path:
    block = hashlib.sha256(path.name.encode()).digest() * (MIB // 32)
    with path.open("wb") as f:
        written = 0
        counter = 0
        while written < size:
            chunk = (counter.to_bytes(8, "big") + block)[: size - written]
            f.write(chunk)
            written += len(chunk)
            counter += 1
    return path


def test_create_and_download_both_ways(debusine: Run, tmp_path: Path) -> None:
    source = tmp_path / "source"
    (source / "logs").mkdir(parents=True)
    (source / "README.md").write_text("# hello\n")
    (source / "logs" / "build.log").write_text("built\n" * 100)
    (source / "empty").write_bytes(b"")
    big = big_file(source / "big.bin", 50 * MIB + 12345)  # two chunks
    data = tmp_path / "data.yaml"
    data.write_text("key: value\nnumbers: [1, 2]\n")

    created = ok(
        debusine(
            "create-artifact",
            "debusine:test",
            "--workspace",
            "System",
            "--data",
            data,
            "--upload-base-directory",
            source,
            "--upload",
            "README.md",
            "logs/build.log",
            "empty",
            big,
        )
    )
    assert created["result"] == "success"
    # The empty file is complete at creation: nothing to upload.
    assert created["files_to_upload"] == 3
    artifact_id = created["artifact_id"]
    assert created["message"].endswith(f"/debusine/System/artifact/{artifact_id}/")

    shown = ok(debusine("show-artifact", artifact_id))
    assert shown["id"] == artifact_id
    assert shown["category"] == "debusine:test"
    assert shown["data"] == {"key": "value", "numbers": [1, 2]}
    assert shown["files_to_upload"] == []
    assert sorted(shown["files"]) == ["README.md", "big.bin", "empty", "logs/build.log"]

    # Files one by one (a file is over 20 MiB), sha256 checked on the way.
    out = tmp_path / "files"
    result = ok(debusine("download-artifact", artifact_id, "--target-directory", out))
    assert result["files"] == ["README.md", "big.bin", "empty", "logs/build.log"]
    for name in result["files"]:
        assert (out / name).read_bytes() == (source / name).read_bytes(), name
    assert not list(out.rglob(".*.part"))

    # As a tarball.
    out = tmp_path / "tarball"
    result = ok(
        debusine(
            "download-artifact", artifact_id, "--tarball", "--target-directory", out
        )
    )
    tarball = out / f"artifact-{artifact_id}.tar.gz"
    assert result["tarball"] == str(tarball)
    with tarfile.open(tarball) as tar:
        assert sorted(tar.getnames()) == [
            "README.md",
            "big.bin",
            "empty",
            "logs/build.log",
        ]
        extracted = tar.extractfile("big.bin")
        assert extracted is not None
        assert (
            hashlib.sha256(extracted.read()).digest()
            == hashlib.sha256(big.read_bytes()).digest()
        )


def test_small_artifact_is_extracted_from_its_tarball(
    debusine: Run, tmp_path: Path
) -> None:
    files = []
    for index in range(3):
        path = tmp_path / f"f{index}.txt"
        path.write_text(f"file {index}\n" * (index + 1))
        files.append(path)
    created = ok(
        debusine("create-artifact", "debusine:test", "--upload", *files, input="")
    )
    out = tmp_path / "out"
    # The current directory is the default target.
    out.mkdir()
    result = ok(debusine("download-artifact", created["artifact_id"], cwd=out))
    assert result["files"] == ["f0.txt", "f1.txt", "f2.txt"]
    for path in files:
        assert (out / path.name).read_text() == path.read_text()


def test_second_upload_of_the_same_content_sends_nothing(
    debusine: Run, tmp_path: Path
) -> None:
    path = tmp_path / "same.txt"
    path.write_text("deduplicated\n")
    first = ok(debusine("create-artifact", "debusine:test", "--upload", path))
    assert first["files_to_upload"] == 1
    second = ok(debusine("create-artifact", "debusine:test", "--upload", path))
    assert second["files_to_upload"] == 0
    assert second["artifact_id"] != first["artifact_id"]


def test_data_from_standard_input(debusine: Run) -> None:
    created = ok(
        debusine("create-artifact", "debusine:test", "--data", "-", input="a: 1\n")
    )
    assert ok(debusine("show-artifact", created["artifact_id"]))["data"] == {"a": 1}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: [1\n", "standard input is not valid YAML: "),
        ("- 1\n", "standard input must hold a mapping"),
    ],
)
def test_invalid_data(debusine: Run, text: str, message: str) -> None:
    result = debusine("create-artifact", "debusine:test", "--data", "-", input=text)
    assert one_line_error(result).startswith(message)


def test_missing_upload_file(debusine: Run, tmp_path: Path) -> None:
    result = debusine("create-artifact", "debusine:test", "--upload", tmp_path / "no")
    assert one_line_error(result) == f"{tmp_path / 'no'}: no such file"


def test_upload_outside_base_directory(debusine: Run, tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "f").write_text("x")
    result = debusine(
        "create-artifact",
        "debusine:test",
        "--upload-base-directory",
        tmp_path / "base",
        "--upload",
        tmp_path / "f",
    )
    assert one_line_error(result) == (
        f"{tmp_path / 'f'} is not inside --upload-base-directory {tmp_path / 'base'}"
    )


def test_unknown_workspace_is_the_servers_problem(debusine: Run) -> None:
    result = debusine("create-artifact", "debusine:test", "--workspace", "nope")
    assert one_line_error(result).startswith("Not found: ")


def test_unknown_artifact(debusine: Run, tmp_path: Path) -> None:
    expected = "Not found: Artifact 999999 not found"
    assert one_line_error(debusine("show-artifact", "999999")) == expected
    result = debusine("download-artifact", "999999", "--target-directory", tmp_path)
    assert one_line_error(result) == expected


def test_bad_token(run_client: Run, live_server: LiveServer, tmp_path: Path) -> None:
    config = write_config(tmp_path / "bad.ini", live_server.api_url, "not-a-token")
    result = run_client("create-artifact", "debusine:test", config=config)
    message = one_line_error(result)
    assert message.startswith("Forbidden: ")
    # The System workspace is private: a stranger sees nothing.
    result = run_client("show-artifact", "1", config=config)
    assert one_line_error(result).startswith("Not found: ")


def test_server_down(run_client: Run, tmp_path: Path) -> None:
    from tests.functional.test_server_process import free_port

    port = free_port()
    config = write_config(tmp_path / "c.ini", f"http://127.0.0.1:{port}/api", "T")
    path = tmp_path / "f"
    path.write_text("x")
    result = run_client(
        "create-artifact", "debusine:test", "--upload", path, config=config
    )
    assert one_line_error(result) == (
        f"cannot connect to http://127.0.0.1:{port}/api/1.0/artifact/: "
        "Connection refused"
    )


# Debian artifacts -------------------------------------------------------


def test_import_dsc(debusine: Run, packages: Packages, tmp_path: Path) -> None:
    created = ok(debusine("import-debian-artifact", packages.dsc))
    assert created["category"] == "debian:source-package"
    assert created["files_to_upload"] in (0, 3)  # 0 if another test sent them
    shown = ok(debusine("show-artifact", created["artifact_id"]))
    assert shown["data"]["name"] == "hello"
    assert sorted(shown["files"]) == sorted(
        [packages.dsc.name, packages.orig.name, packages.debian_tar.name]
    )
    # Imported again: the files are already in the workspace.
    again = ok(debusine("import-debian-artifact", packages.dsc))
    assert again["files_to_upload"] == 0
    out = tmp_path / "out"
    ok(debusine("download-artifact", created["artifact_id"], "--target-directory", out))
    assert (out / packages.dsc.name).read_bytes() == packages.dsc.read_bytes()
    assert (out / packages.orig.name).read_bytes() == packages.orig.read_bytes()


def test_import_deb(debusine: Run, packages: Packages) -> None:
    created = ok(debusine("import-debian-artifact", packages.deb))
    assert created["category"] == "debian:binary-package"
    shown = ok(debusine("show-artifact", created["artifact_id"]))
    assert list(shown["files"]) == [packages.deb.name]
    assert shown["data"]["deb_fields"]["Package"] == "hello"


def test_import_changes_with_relations(debusine: Run, packages: Packages) -> None:
    created = ok(debusine("import-debian-artifact", packages.changes))
    assert created["category"] == "debian:upload"
    upload_id = created["artifact_id"]
    assert [r["category"] for r in created["extends"]] == [
        "debian:source-package",
        "debian:binary-package",
    ]
    assert all(isinstance(r["relation_id"], int) for r in created["extends"])
    targets = [r["artifact_id"] for r in created["extends"]]
    assert [r["artifact_id"] for r in created["relates_to"]] == targets

    relations = ok(debusine("show-artifact-relations", upload_id))
    assert sorted((r["target"], r["type"]) for r in relations) == sorted(
        (target, kind) for target in targets for kind in ("extends", "relates-to")
    )
    assert all(r["artifact"] == upload_id for r in relations)
    reverse = ok(debusine("show-artifact-relations", targets[0], "--reverse"))
    assert sorted(r["type"] for r in reverse if r["artifact"] == upload_id) == [
        "extends",
        "relates-to",
    ]
    upload = ok(debusine("show-artifact", upload_id))
    assert packages.changes.name in upload["files"]
    assert packages.deb.name in upload["files"]


def test_import_unknown_kind_of_file(debusine: Run, tmp_path: Path) -> None:
    path = tmp_path / "x.txt"
    path.write_text("x")
    assert one_line_error(debusine("import-debian-artifact", path)) == (
        f"{path}: cannot import: give a .changes, .dsc or .deb file"
    )


def test_import_broken_dsc(debusine: Run, tmp_path: Path) -> None:
    path = tmp_path / "broken.dsc"
    path.write_text("not a dsc\n")
    message = one_line_error(debusine("import-debian-artifact", path))
    assert str(path) in message


def test_expire_at(debusine: Run) -> None:
    created = ok(
        debusine(
            "create-artifact", "debusine:test", "--expire-at", "2999-01-31T12:00:00Z"
        )
    )
    # The server keeps a delay from its clock: allow it a little drift.
    assert created["expire_at"].startswith(("2999-01-31T11:59:", "2999-01-31T12:00:"))
    result = debusine("create-artifact", "debusine:test", "--expire-at", "soon")
    assert one_line_error(result).startswith("--expire-at 'soon' is not an ISO 8601")
    result = debusine("create-artifact", "debusine:test", "--expire-at", "2001-01-01")
    assert one_line_error(result) == "Invalid request: expire_at: must be in the future"
