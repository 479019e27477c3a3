"""The worker's cache of unpacked `debian:system-tarball` environments.

Layout under the cache directory::

    environments/KEY.MAPPING/root    an unpacked environment (read-only use)
    environments/KEY.MAPPING/size    its size in bytes
    environments/.unpack-*           unpacks in progress (or left by a crash)
    environments/.trash-*            evicted entries being removed
    locks/KEY.MAPPING.lock           flock: shared while in use, exclusive
                                     while unpacked or evicted
    locks/.evict.lock                one eviction pass at a time

An entry is unpacked into `.unpack-*` and renamed into place only when tar
succeeded, so a killed worker never leaves a half-unpacked entry that a
later task would use. The entry's directory mtime is its last use; past
`max_entries` or `max_bytes` the least recently used entries that no task
holds are evicted.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
import secrets
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from worker.executors.base import ExecutorError
from worker.executors.namespaces import (
    IdMapping,
    id_mapping,
    remove_tree,
    user_namespace,
)

DEFAULT_MAX_ENTRIES = 10
KEY_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_+-]{0,127}")
HASH_CHUNK = 1024 * 1024


def tarball_sha256(tarball: Path) -> str:
    digest = hashlib.sha256()
    with tarball.open("rb") as stream:
        while chunk := stream.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def tree_size(path: Path) -> int:
    total = 0
    for directory, _, files in os.walk(path):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(directory, name)).st_size
    return total


@dataclass
class Lease:
    """An environment a task uses; eviction leaves it alone until released."""

    root: Path
    name: str
    _lock: IO[bytes] | None = field(repr=False, default=None)

    def release(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None


class EnvironmentCache:
    def __init__(
        self,
        directory: Path,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        max_bytes: int | None = None,
        mapping: IdMapping | None = None,
    ) -> None:
        if max_entries < 1:
            raise ValueError("the cache must hold at least one environment")
        self.directory = directory.absolute()
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self.mapping = mapping or id_mapping()
        self.environments = self.directory / "environments"
        self.locks = self.directory / "locks"

    # -- public ---------------------------------------------------------------

    def acquire(self, tarball: Path, key: str | None = None) -> Lease:
        """The unpacked `tarball` (unpacked now unless cached under `key`).

        `key` names the tarball (an artifact id, say); without it the
        tarball's sha256 does. ExecutorError if it cannot be unpacked.
        """
        if key is None:
            key = tarball_sha256(tarball)
        if not KEY_RE.fullmatch(key):
            raise ExecutorError(
                f"environment key {key!r} must be letters, digits, '_', '+' or '-'"
            )
        name = f"{key}.{self.mapping.name}"
        self.environments.mkdir(parents=True, exist_ok=True)
        self.locks.mkdir(parents=True, exist_ok=True)
        entry = self.environments / name
        lock = (self.locks / f"{name}.lock").open("ab")
        try:
            fcntl.flock(lock, fcntl.LOCK_SH)
            unpacked = False
            # Converting a flock is not atomic: an eviction may slip in
            # between exclusive and shared, hence the loop.
            while not (entry / "root").is_dir():
                fcntl.flock(lock, fcntl.LOCK_EX)
                if not (entry / "root").is_dir():
                    self._unpack(tarball, name)
                    unpacked = True
                fcntl.flock(lock, fcntl.LOCK_SH)
            os.utime(entry)
        except BaseException:
            lock.close()
            raise
        lease = Lease(entry / "root", name, lock)
        if unpacked:
            self.evict()
        return lease

    def entries(self) -> list[str]:
        """Names of the cached environments, least recently used first."""
        if not self.environments.is_dir():
            return []
        found = [
            path
            for path in self.environments.iterdir()
            if not path.name.startswith(".") and (path / "root").is_dir()
        ]
        found.sort(key=lambda path: path.stat().st_mtime)
        return [path.name for path in found]

    def evict(self) -> None:
        """Drop least recently used entries no task holds until within limits."""
        self.locks.mkdir(parents=True, exist_ok=True)
        with (self.locks / ".evict.lock").open("ab") as evict_lock:
            fcntl.flock(evict_lock, fcntl.LOCK_EX)
            for leftover in self.environments.glob(".trash-*"):
                remove_tree(leftover, self.mapping)
            names = self.entries()
            sizes = {name: self._size(name) for name in names}
            for name in list(names):
                if len(names) <= self.max_entries and (
                    self.max_bytes is None or sum(sizes.values()) <= self.max_bytes
                ):
                    break
                if self._evict_one(name):
                    names.remove(name)
                    del sizes[name]

    # -- internals ------------------------------------------------------------

    def _size(self, name: str) -> int:
        try:
            return int((self.environments / name / "size").read_text())
        except (OSError, ValueError):
            return 0

    def _evict_one(self, name: str) -> bool:
        with (self.locks / f"{name}.lock").open("ab") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return False  # a task uses it
            trash = self.environments / f".trash-{secrets.token_hex(8)}"
            os.rename(self.environments / name, trash)
        remove_tree(trash, self.mapping)
        return True

    def _unpack(self, tarball: Path, name: str) -> None:
        """Unpack into a temporary directory, then rename it into place.

        Called with the entry's lock held exclusively: any `.unpack-NAME-*`
        directory is a crashed worker's leftover.
        """
        for leftover in self.environments.glob(f".unpack-{name}-*"):
            remove_tree(leftover, self.mapping)
        temporary = self.environments / f".unpack-{name}-{secrets.token_hex(8)}"
        (temporary / "root").mkdir(parents=True)
        try:
            self._untar(tarball, temporary / "root")
            (temporary / "size").write_text(str(tree_size(temporary / "root")))
            os.rename(temporary, self.environments / name)
        except BaseException:
            remove_tree(temporary, self.mapping)
            raise

    def _untar(self, tarball: Path, root: Path) -> None:
        if not tarball.is_file():
            raise ExecutorError(f"system tarball {tarball} does not exist")
        ownership = [] if self.mapping.name == "full" else ["--no-same-owner"]
        # Device nodes cannot be made in a user namespace; the container
        # gets its own /dev. tar detects the compression itself.
        argv = [
            *user_namespace(self.mapping),
            "tar",
            "--extract",
            "--file",
            str(tarball.absolute()),
            "--directory",
            str(root),
            "--numeric-owner",
            *ownership,
            "--anchored",
            "--exclude=./dev/*",
            "--exclude=dev/*",
        ]
        result = subprocess.run(  # noqa: S603
            argv, stdin=subprocess.DEVNULL, capture_output=True, text=True, check=False
        )
        if result.returncode != 0:
            lines = [line for line in result.stderr.splitlines() if line.strip()]
            detail = lines[-1] if lines else f"tar exited with {result.returncode}"
            raise ExecutorError(
                f"cannot unpack system tarball {tarball.name}: {detail} "
                "(is it a complete .tar.xz/.tar.gz/.tar.zst made by mmdebstrap?)"
            )
        if not (root / "bin").exists() and not (root / "usr" / "bin").is_dir():
            raise ExecutorError(
                f"system tarball {tarball.name} holds no system (no /usr/bin)"
            )
