"""The unshare executor runs real commands in a real bookworm system."""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from worker.executors import available_executors, get_executor
from worker.executors.base import ExecutorError
from worker.executors.environment_cache import EnvironmentCache
from worker.executors.unshare import UnshareExecutor

KEY = "bookworm-essential"


def prepared(
    mode: str, tarball: Path, cache: EnvironmentCache, work: Path
) -> UnshareExecutor:
    work.mkdir(exist_ok=True)
    executor = UnshareExecutor(cache, copy_on_write=mode)
    executor.prepare(tarball, key=KEY, work_directory=work)
    assert executor.mode == mode
    return executor


@pytest.fixture
def executor(
    system_tarball: Path, shared_cache: EnvironmentCache, tmp_path: Path
) -> Iterator[UnshareExecutor]:
    # Overlay, where this kernel allows it; copies are tested below (slow).
    with prepared("overlay", system_tarball, shared_cache, tmp_path / "work") as view:
        yield view


def sh(executor: UnshareExecutor, script: str) -> str:
    result = executor.run(["sh", "-c", script], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return str(result.stdout)


def test_it_is_available_here(namespaces: None) -> None:
    assert UnshareExecutor.available()
    assert "unshare" in available_executors()
    assert isinstance(get_executor("unshare"), UnshareExecutor)


def test_commands_see_the_tarballs_system_not_the_hosts(
    executor: UnshareExecutor, shared_cache: EnvironmentCache
) -> None:
    lease = shared_cache.acquire(Path("unused"), key=KEY)
    try:
        expected = (lease.root / "etc" / "os-release").read_text()
    finally:
        lease.release()
    assert "bookworm" in expected
    assert sh(executor, "cat /etc/os-release") == expected
    # The host has mmdebstrap and this test file; the essential system neither.
    here = Path(__file__)
    assert (
        sh(executor, f"ls /usr/bin/mmdebstrap {here} 2>&1 || true").count(
            "No such file"
        )
        == 2
    )


def test_root_inside_reaches_only_the_work_directory(
    executor: UnshareExecutor, tmp_path: Path
) -> None:
    assert executor.work_directory is not None
    outside = tmp_path / "outside.txt"
    outside.write_text("host data\n")
    output = sh(
        executor,
        f"id -u; pwd; echo made-inside > result.txt; "
        f"cat {outside} 2>&1 || true; "
        f"echo changed > {outside}; echo x > /etc/host-marker-{outside.name}; "
        "echo 1 > /proc/sys/kernel/hostname 2>&1 || echo proc-sys-read-only",
    )
    lines = output.splitlines()
    assert lines[0] == "0"
    assert lines[1] == str(executor.work_directory)
    assert "No such file" in lines[2]
    assert lines[-1] == "proc-sys-read-only"
    # The work directory is shared; nothing else of the host is.
    assert (executor.work_directory / "result.txt").read_text() == "made-inside\n"
    assert outside.read_text() == "host data\n"
    assert not Path(f"/etc/host-marker-{outside.name}").exists()


class LoopbackServer:
    """A TCP server on the host's loopback that records what it receives."""

    def __init__(self) -> None:
        self.socket = socket.create_server(("127.0.0.1", 0))
        self.port = self.socket.getsockname()[1]
        self.received: list[bytes] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self.socket.accept()
            except OSError:
                return
            with connection:
                self.received.append(connection.recv(100))

    def close(self) -> None:
        self.socket.close()


@pytest.fixture
def loopback_server() -> Iterator[LoopbackServer]:
    server = LoopbackServer()
    yield server
    server.close()


def test_the_network_is_off_unless_asked_for(
    executor: UnshareExecutor, loopback_server: LoopbackServer
) -> None:
    connect = f"echo hello > /dev/tcp/127.0.0.1/{loopback_server.port}"
    off = executor.run(["bash", "-c", connect], capture_output=True, text=True)
    assert off.returncode != 0
    assert "Connection refused" in off.stderr
    assert loopback_server.received == []
    on = executor.run(
        ["bash", "-c", connect], capture_output=True, text=True, network=True
    )
    assert on.returncode == 0, on.stderr
    deadline = time.monotonic() + 5
    while not loopback_server.received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert loopback_server.received == [b"hello\n"]


def host_processes(marker: str) -> list[int]:
    """The `sleep` processes whose argument holds `marker` (not `unshare`'s)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if (
            command.startswith(b"sleep\0")
            and marker.encode() in command
            and state != "Z"
        ):
            found.append(int(entry.name))
    return found


def test_killing_the_command_kills_its_whole_process_tree(
    executor: UnshareExecutor,
) -> None:
    marker = f"{secrets.randbelow(10**6)}.{secrets.randbelow(10**6)}"
    # A daemonised grandchild (setsid, own session) included.
    process = executor.popen(
        [
            "sh",
            "-c",
            f"setsid sleep 1{marker} & sleep 2{marker} & exec sleep 3{marker}",
        ],
        stdin=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while len(host_processes(marker)) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(host_processes(marker)) == 3
        # Only the `unshare` process is killed, as an abort does.
        os.kill(process.pid, signal.SIGKILL)
        process.wait()
        deadline = time.monotonic() + 10
        while host_processes(marker) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert host_processes(marker) == []
    finally:
        process.kill()
        process.wait()


@pytest.mark.parametrize("mode", ["overlay", "copy"])
def test_a_task_sees_its_own_changes_and_the_next_task_does_not(
    mode: str, system_tarball: Path, shared_cache: EnvironmentCache, tmp_path: Path
) -> None:
    with prepared(mode, system_tarball, shared_cache, tmp_path / "one") as first:
        sh(first, "echo first > /etc/changed-by-task && rm /etc/hostname")
        assert sh(first, "cat /etc/changed-by-task") == "first\n"
    with prepared(mode, system_tarball, shared_cache, tmp_path / "two") as second:
        output = sh(second, "cat /etc/changed-by-task 2>&1; cat /etc/hostname")
        assert "No such file" in output
        assert output.count("\n") == 2  # the hostname is back


def test_cleanup_removes_the_tasks_view(executor: UnshareExecutor) -> None:
    instance = executor.instance
    assert instance is not None
    assert instance.is_dir()
    sh(executor, "mkdir -p /var/tmp/deep/tree && touch /var/tmp/deep/tree/file")
    executor.cleanup()
    assert not instance.exists()
    with pytest.raises(ExecutorError, match="not prepared"):
        executor.command(["true"])


def test_a_corrupted_tarball_is_a_clear_error_and_leaves_nothing(
    system_tarball: Path, tmp_path: Path
) -> None:
    cache = EnvironmentCache(tmp_path / "cache")
    truncated = tmp_path / "truncated.tar.xz"
    with system_tarball.open("rb") as source:
        truncated.write_bytes(source.read(system_tarball.stat().st_size // 3))
    executor = UnshareExecutor(cache)
    with pytest.raises(ExecutorError, match=r"cannot unpack system tarball truncated"):
        executor.prepare(truncated, key="truncated", work_directory=tmp_path)
    assert cache.entries() == []
    assert list(cache.environments.iterdir()) == []
    assert list((cache.directory / "instances").glob("*")) == []
    assert executor.instance is None


def test_prepare_needs_a_tarball(shared_cache: EnvironmentCache) -> None:
    with pytest.raises(ExecutorError, match="needs a system tarball"):
        UnshareExecutor(shared_cache).prepare(None)
