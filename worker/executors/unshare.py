"""The `unshare` executor: commands run in a root-less container.

The container is made from a `debian:system-tarball` artifact's tarball,
unpacked once into the worker's EnvironmentCache. Each prepared executor
gets a throw-away view of it: an overlay (the cached tree read-only below,
a private upper directory) where the kernel allows overlayfs in a user
namespace (Linux 5.11 and later), else a private copy (`cp -a
--reflink=auto`). An overlay costs nothing to make whatever the size of the
environment; a copy of a `buildd` system takes seconds (see
bench/unshare.py), so copying is the fallback.

Every command is its own container (util-linux `unshare`): new user,
mount, pid, ipc and uts namespaces, and a new network namespace with only
loopback unless the command asks for the network. Inside, it is root (the
worker's user outside), sees /proc, a minimal /dev, an empty /tmp and the
task's work directory at the same path, and nothing else of the host
(`pivot_root`, not chroot). When the `unshare` process dies, whatever
killed it, the kernel kills every process of the container.
"""

from __future__ import annotations

import fcntl
import json
import secrets
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, ClassVar

from worker.executors.base import Executor, ExecutorError
from worker.executors.environment_cache import EnvironmentCache, Lease
from worker.executors.namespaces import (
    container,
    namespaces_work,
    remove_tree,
    user_namespace,
)
from worker.executors.sandbox_init import EXIT_SETUP_FAILED

if TYPE_CHECKING:
    from worker.config import WorkerConfig

COPY_ON_WRITE_MODES = ("auto", "overlay", "copy")
# An unlocked instance older than this was left by a killed worker.
STALE_INSTANCE_SECONDS = 60
# Characters that would break overlayfs's mount options.
OVERLAY_UNSAFE = (",", ":", "\\")


def default_cache() -> EnvironmentCache:
    from worker.config import default_cache_directory

    return EnvironmentCache(default_cache_directory())


def cache_from_config(config: WorkerConfig) -> EnvironmentCache:
    """The cache the worker's configuration file describes."""
    return EnvironmentCache(
        config.cache_directory,
        max_entries=config.cache_max_environments,
        max_bytes=config.cache_max_size,
    )


class UnshareExecutor(Executor):
    NAME = "unshare"

    # Whether overlayfs works in a user namespace, per cache directory.
    _overlay_works: ClassVar[dict[Path, bool]] = {}

    def __init__(
        self, cache: EnvironmentCache | None = None, *, copy_on_write: str = "auto"
    ) -> None:
        if copy_on_write not in COPY_ON_WRITE_MODES:
            raise ValueError(f"copy_on_write must be one of {COPY_ON_WRITE_MODES}")
        self.cache = cache or default_cache()
        self.copy_on_write = copy_on_write
        # What prepare() made: None before and after.
        self.mode: str | None = None
        self.instance: Path | None = None
        self.work_directory: Path | None = None
        self._lease: Lease | None = None
        self._instance_lock: IO[bytes] | None = None

    @classmethod
    def available(cls) -> bool:
        return namespaces_work()

    def wrap(self, argv: list[str]) -> list[str]:
        # The task's own code runs on the host and uses run()/popen() for
        # the commands that need the environment.
        return list(argv)

    # -- environment ----------------------------------------------------------

    def prepare(
        self,
        environment: Path | None = None,
        *,
        key: str | None = None,
        work_directory: Path | None = None,
    ) -> None:
        if environment is None:
            raise ExecutorError(
                "the unshare executor needs a system tarball "
                "(a debian:system-tarball artifact's file)"
            )
        if self.instance is not None:
            raise ExecutorError("the executor is already prepared: clean it up first")
        if work_directory is not None:
            work_directory = work_directory.absolute()
            if not work_directory.is_dir() or work_directory == Path("/"):
                raise ExecutorError(
                    f"work directory {work_directory} must be an existing "
                    "directory other than /"
                )
        self._remove_stale_instances()
        lease = self.cache.acquire(environment, key)
        try:
            self._make_instance()
            assert self.instance is not None
            if self._use_overlay(lease.root):
                self.mode = "overlay"
            else:
                self._copy(lease.root, self.instance / "root")
                self.mode = "copy"
        except BaseException:
            lease.release()
            self.cleanup()
            raise
        if self.mode == "copy":
            lease.release()  # the copy no longer needs the cached tree
        else:
            self._lease = lease
        self.work_directory = work_directory

    def cleanup(self) -> None:
        if self.instance is not None:
            remove_tree(self.instance, self.cache.mapping)
            self.instance.with_name(self.instance.name + ".lock").unlink(
                missing_ok=True
            )
        if self._instance_lock is not None:
            self._instance_lock.close()
        if self._lease is not None:
            self._lease.release()
        self.instance = self.mode = self.work_directory = None
        self._lease = self._instance_lock = None

    # -- commands -------------------------------------------------------------

    def command(
        self, argv: Sequence[str], *, cwd: Path | None = None, network: bool = False
    ) -> list[str]:
        if self.instance is None or self.mode is None:
            raise ExecutorError("the executor is not prepared: call prepare() first")
        if not argv:
            raise ValueError("no command to run")
        inside_cwd = cwd or self.work_directory or Path("/")
        return [
            *container(self.cache.mapping, network=network),
            json.dumps(self._spec(inside_cwd, network=network)),
            *argv,
        ]

    def _spec(self, cwd: Path, *, network: bool) -> dict[str, object]:
        assert self.instance is not None
        spec: dict[str, object] = {
            "root": str(self.instance / "root"),
            "binds": [str(self.work_directory)] if self.work_directory else [],
            "cwd": str(cwd),
            "loopback": not network,
        }
        if self.mode == "overlay":
            assert self._lease is not None
            spec.update(
                mode="overlay",
                lower=str(self._lease.root),
                upper=str(self.instance / "upper"),
                work=str(self.instance / "work"),
            )
        else:
            spec["mode"] = "bind"
        return spec

    # -- internals ------------------------------------------------------------

    @property
    def _instances(self) -> Path:
        return self.cache.directory / "instances"

    def _make_instance(self) -> None:
        self._instances.mkdir(parents=True, exist_ok=True)
        name = secrets.token_hex(8)
        lock = (self._instances / f"{name}.lock").open("ab")
        fcntl.flock(lock, fcntl.LOCK_EX)
        self._instance_lock = lock
        self.instance = self._instances / name
        self.instance.mkdir()
        (self.instance / "root").mkdir()

    def _remove_stale_instances(self) -> None:
        if not self._instances.is_dir():
            return
        now = time.time()
        for lock_file in self._instances.glob("*.lock"):
            try:
                if now - lock_file.stat().st_mtime < STALE_INSTANCE_SECONDS:
                    continue
                with lock_file.open("ab") as lock:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    remove_tree(lock_file.with_suffix(""), self.cache.mapping)
                    lock_file.unlink()
            except (BlockingIOError, FileNotFoundError):
                continue  # in use, or removed by another worker

    def _use_overlay(self, lower: Path) -> bool:
        if self.copy_on_write == "copy":
            return False
        assert self.instance is not None
        (self.instance / "upper").mkdir()
        (self.instance / "work").mkdir()
        paths = (str(lower), str(self.instance))
        if any(char in path for path in paths for char in OVERLAY_UNSAFE):
            works = False
        elif self.cache.directory in self._overlay_works:
            works = self._overlay_works[self.cache.directory]
        else:
            works = self._probe_overlay(lower)
            self._overlay_works[self.cache.directory] = works
        if not works and self.copy_on_write == "overlay":
            raise ExecutorError("overlayfs does not work in a user namespace here")
        return works

    def _probe_overlay(self, lower: Path) -> bool:
        """Mount the overlay once: setup failures exit 125, a missing command 127."""
        assert self.instance is not None
        self.mode = "overlay"
        self._lease = Lease(lower, "probe")
        try:
            result = subprocess.run(  # noqa: S603
                self.command(["/nonexistent-probe"]),
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
            )
        finally:
            self.mode = None
            self._lease = None
        return result.returncode != EXIT_SETUP_FAILED and result.returncode == 127

    def _copy(self, source: Path, target: Path) -> None:
        target.rmdir()
        result = subprocess.run(  # noqa: S603
            [
                *user_namespace(self.cache.mapping),
                "cp",
                "-a",
                "--reflink=auto",
                str(source),
                str(target),
            ],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            raise ExecutorError(
                f"cannot copy the environment: {result.stderr.strip()[-500:]}"
            )
