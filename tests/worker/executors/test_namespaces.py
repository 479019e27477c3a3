"""The id mapping of the unshare executor's user namespaces."""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.environments import need
from worker.executors.namespaces import (
    SUBGID_FILE,
    SUBUID_FILE,
    IdMapping,
    SubordinateRange,
    id_mapping,
    map_auto_shim,
    mapping_for,
    namespaces_problem,
    namespaces_work,
    subordinate_range,
    suggested_line,
)

# A uid no account of this host has, so only literal matches count.
UID = 4_000_000_123


def write(path: Path, *lines: str) -> Path:
    path.write_text("".join(f"{line}\n" for line in lines))
    return path


def script(path: Path, *lines: str) -> Path:
    """An executable shell script."""
    write(path, "#!/bin/sh", *lines).chmod(0o755)
    return path


def fake_unshare(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *lines: str) -> None:
    """An `unshare` first in PATH that runs `lines` instead."""
    script(tmp_path / "unshare", *lines)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")


@pytest.fixture
def ids(tmp_path: Path) -> tuple[Path, Path]:
    """Empty /etc/subuid and /etc/subgid stand-ins."""
    return write(tmp_path / "subuid"), write(tmp_path / "subgid")


def test_the_users_block_is_found_by_name(tmp_path: Path) -> None:
    file = write(tmp_path / "subuid", "worker:300000:65536")
    assert subordinate_range(file, "worker", UID) == SubordinateRange(300000, 65536)


def test_the_users_block_is_found_by_numeric_uid(tmp_path: Path) -> None:
    file = write(tmp_path / "subuid", f"{UID}:300000:70000")
    assert subordinate_range(file, "worker", UID) == SubordinateRange(300000, 70000)


def test_another_users_first_line_is_not_taken(tmp_path: Path) -> None:
    # What made util-linux 2.38's --map-auto fail: useradd had put
    # embedded_postgres (a non-numeric name, read as uid 0) first.
    file = write(
        tmp_path / "subuid",
        "embedded_postgres:100000:65536",
        "0:150000:65536",  # uid 0, not ours
        "worker:200000:65536",
    )
    assert subordinate_range(file, "worker", UID) == SubordinateRange(200000, 65536)


def test_blocks_too_small_and_malformed_lines_are_skipped(tmp_path: Path) -> None:
    file = write(
        tmp_path / "subuid",
        "# a comment",
        "worker:100000",
        "worker:x:65536",
        "worker:100000:1000",
        "worker:200000:65536",
    )
    assert subordinate_range(file, "worker", UID) == SubordinateRange(200000, 65536)


def test_no_entry_or_no_file_is_no_block(tmp_path: Path) -> None:
    file = write(tmp_path / "subuid", "other:100000:65536")
    assert subordinate_range(file, "worker", UID) is None
    assert subordinate_range(tmp_path / "missing", "worker", UID) is None


def test_the_user_is_root_inside_and_its_blocks_are_ids_1_to_65536(
    ids: tuple[Path, Path],
) -> None:
    subuid, subgid = ids
    write(subuid, "other:100000:65536", "worker:200000:65536")
    write(subgid, f"{UID}:300000:100000")
    mapping, reason = mapping_for("worker", UID, subuid=subuid, subgid=subgid)
    assert mapping == IdMapping(
        "full",
        (
            "--map-root-user",
            "--map-users=200000,1,65536",
            "--map-groups=300000,1,65536",
        ),
    )
    assert reason is None


def test_without_a_block_only_the_user_is_mapped_and_it_says_why(
    ids: tuple[Path, Path],
) -> None:
    subuid, subgid = ids
    write(subuid, "other:100000:65536", "worker:200000:65536")
    write(subgid, "other:100000:65536", "more:165536:1000")
    mapping, reason = mapping_for("worker", UID, subuid=subuid, subgid=subgid)
    assert mapping == IdMapping("single", ("--map-root-user",))
    assert reason == (
        f"worker has no block of 65536 ids of its own in {subgid} "
        "(e.g. the line worker:166536:65536)"
    )


def test_without_newuidmap_only_the_user_is_mapped(ids: tuple[Path, Path]) -> None:
    subuid, subgid = ids
    write(subuid, "worker:200000:65536")
    write(subgid, "worker:200000:65536")
    mapping, reason = mapping_for(
        "worker", UID, subuid=subuid, subgid=subgid, helpers=False
    )
    assert mapping.name == "single"
    assert reason is not None
    assert "newuidmap" in reason


def test_the_suggested_line_overlaps_no_other(tmp_path: Path) -> None:
    assert suggested_line(tmp_path / "missing", "worker") == "worker:100000:65536"
    file = write(tmp_path / "subuid", "a:300000:65536", "b:100000:65536")
    assert suggested_line(file, "worker") == "worker:365536:65536"


def _users_blocks() -> tuple[SubordinateRange | None, SubordinateRange | None]:
    uid = os.geteuid()
    user = pwd.getpwuid(uid).pw_name
    return (
        subordinate_range(SUBUID_FILE, user, uid),
        subordinate_range(SUBGID_FILE, user, uid),
    )


def _host_can_map_fully() -> tuple[SubordinateRange | None, SubordinateRange | None]:
    """The user's blocks; the test is skipped (or fails in CI) without them."""
    uids, gids = _users_blocks()
    need(
        uids is not None
        and gids is not None
        and shutil.which("unshare") is not None
        and shutil.which("newuidmap") is not None,
        "needs unshare, newuidmap and a block in /etc/subuid and /etc/subgid",
    )
    return uids, gids


def test_this_hosts_mapping_is_the_users_own_block() -> None:
    """The real mapping, with whatever lines precede the user's in /etc/subuid."""
    uids, gids = _host_can_map_fully()
    assert uids is not None
    assert gids is not None
    mapping = id_mapping()
    assert mapping.name == "full"
    maps = subprocess.run(
        [
            "unshare",
            "--user",
            *mapping.options,
            "--",
            "cat",
            "/proc/self/uid_map",
            "/proc/self/gid_map",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert maps == [
        *("0", str(os.geteuid()), "1", "1", str(uids.start), "65536"),
        *("0", str(os.getegid()), "1", "1", str(gids.start), "65536"),
    ]


FULL = IdMapping(
    "full",
    ("--map-root-user", "--map-users=200000,1,65536", "--map-groups=300000,1,65536"),
)


def test_the_map_auto_shim_makes_the_mapping_explicit(tmp_path: Path) -> None:
    echo = script(tmp_path / "echo-args", 'printf "%s\\n" "$@"')
    shim = map_auto_shim(tmp_path / "shim", FULL, real_unshare=str(echo))
    assert shim is not None
    argv = ["--map-auto", "--map-root-user", "sh", "-c", "echo 'a b'"]
    out = subprocess.run(
        [str(shim / "unshare"), *argv], capture_output=True, text=True, check=True
    ).stdout.splitlines()
    assert out == [
        "--map-users=200000,1,65536",
        "--map-groups=300000,1,65536",
        "--map-root-user",
        "sh",
        "-c",
        "echo 'a b'",
    ]


def test_no_shim_without_a_full_mapping(tmp_path: Path) -> None:
    single = IdMapping("single", ("--map-root-user",))
    assert map_auto_shim(tmp_path / "shim", single, real_unshare="/bin/true") is None
    assert not (tmp_path / "shim").exists()


def test_map_auto_through_the_shim_works_on_this_host(tmp_path: Path) -> None:
    """autopkgtest-virt-unshare's own `unshare --map-auto --map-root-user`."""
    uids, _gids = _host_can_map_fully()
    assert uids is not None
    shim = map_auto_shim(tmp_path / "shim", id_mapping())
    assert shim is not None
    maps = subprocess.run(
        [
            str(shim / "unshare"),
            "--map-auto",
            "--map-root-user",
            "cat",
            "/proc/self/uid_map",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert maps == ["0", str(os.geteuid()), "1", "1", str(uids.start), "65536"]


def test_it_works_on_this_host(namespaces: None) -> None:
    assert namespaces_work() is True
    assert namespaces_problem() is None


@pytest.fixture
def fresh_probe() -> Iterator[None]:
    """A new probe, and the real one back for the next tests."""
    namespaces_work.cache_clear()
    id_mapping.cache_clear()
    yield
    namespaces_work.cache_clear()
    id_mapping.cache_clear()


def test_a_refused_mapping_says_why_and_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    # newuidmap's words when the block is not the user's.
    fake_unshare(
        tmp_path,
        monkeypatch,
        "echo 'newuidmap: uid range [1-65536) -> [100000-165535) not allowed' >&2",
        "echo 'unshare: newuidmap failed' >&2",
        "exit 1",
    )
    assert namespaces_work() is False
    problem = namespaces_problem()
    assert problem is not None
    user = pwd.getpwuid(os.geteuid()).pw_name
    assert problem.startswith(
        "a test container failed (exit 1): newuidmap: uid range [1-65536) -> "
        "[100000-165535) not allowed; unshare: newuidmap failed; "
        f"give {user} a block of 65536 ids of its own in /etc/subuid and "
        f"/etc/subgid, e.g. the lines {suggested_line(SUBUID_FILE, user)} and "
    )


def test_a_kernel_refusal_says_what_to_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    fake_unshare(
        tmp_path,
        monkeypatch,
        "echo 'unshare: unshare failed: Operation not permitted' >&2",
        "exit 1",
    )
    assert namespaces_work() is False
    assert namespaces_problem() == (
        "a test container failed (exit 1): unshare: unshare failed: Operation "
        f"not permitted; check that this kernel lets "
        f"{pwd.getpwuid(os.geteuid()).pw_name} make user namespaces "
        "(sysctl user.max_user_namespaces, "
        "kernel.apparmor_restrict_unprivileged_userns)"
    )


def test_a_missing_unshare_is_named(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fresh_probe: None
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert namespaces_work() is False
    assert namespaces_problem() == "unshare (package util-linux) is not installed"
