"""The util-linux `unshare` command lines of the unshare executor.

The worker's user becomes root in a user namespace. With a block of
subordinate ids in /etc/subuid and /etc/subgid (and newuidmap from the
`uidmap` package) ids 1-65535 map onto it, so packages that own files as
other users (`_apt`, `man`...) unpack and run as they should: the `full`
mapping. Without them only root exists inside (`single`): files of other
users belong to root. Every tree made inside (unpacked environments, copies)
belongs to mapped ids, so it is also removed from inside.
"""

from __future__ import annotations

import functools
import json
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUBORDINATE_IDS_NEEDED = 65536
INIT_SCRIPT = Path(__file__).with_name("sandbox_init.py")


@dataclass(frozen=True)
class IdMapping:
    name: str  # "full" or "single": part of the cache key
    options: tuple[str, ...]


def _has_subordinate_ids(file: Path, user: str, uid: int) -> bool:
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[0] in (user, str(uid)):
            # `--map-auto` takes the user's first block only.
            return fields[2].isdigit() and int(fields[2]) >= SUBORDINATE_IDS_NEEDED
    return False


@functools.cache
def id_mapping() -> IdMapping:
    uid = os.geteuid()
    try:
        user = pwd.getpwuid(uid).pw_name
    except KeyError:
        user = str(uid)
    if (
        shutil.which("newuidmap")
        and shutil.which("newgidmap")
        and _has_subordinate_ids(Path("/etc/subuid"), user, uid)
        and _has_subordinate_ids(Path("/etc/subgid"), user, os.getegid())
    ):
        return IdMapping("full", ("--map-root-user", "--map-auto"))
    return IdMapping("single", ("--map-root-user",))


def user_namespace(mapping: IdMapping) -> list[str]:
    """The prefix that runs a command as root of a user namespace only."""
    return ["unshare", "--user", *mapping.options, "--"]


def container(mapping: IdMapping, *, network: bool) -> list[str]:
    """The prefix that runs `sandbox_init.py` (SPEC ARGV...) as a container's pid 1.

    `--kill-child` ties the container to the `unshare` process: when that
    dies, whatever killed it, the kernel kills pid 1 and with it every
    process of the pid namespace.
    """
    argv = [
        "unshare",
        "--user",
        *mapping.options,
        "--mount",
        "--pid",
        "--ipc",
        "--uts",
        "--fork",
        "--kill-child=SIGKILL",
    ]
    if not network:
        argv.append("--net")
    return [*argv, "--", sys.executable, "-I", "-S", str(INIT_SCRIPT)]


def remove_tree(path: Path, mapping: IdMapping) -> None:
    """Remove `path`, which may hold files owned by the namespace's ids."""
    if not path.exists() and not path.is_symlink():
        return
    if os.geteuid() != 0:
        subprocess.run(  # noqa: S603
            [*user_namespace(mapping), "rm", "-rf", "--", str(path)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            check=False,
        )
    shutil.rmtree(path, ignore_errors=True)


@functools.cache
def namespaces_work() -> bool:
    """Whether this host can build a container: try one on an empty root.

    Its setup succeeds up to running a command the empty root lacks (127);
    a setup failure (no user namespaces, proc masked...) exits 125.
    """
    if shutil.which("unshare") is None:
        return False
    with tempfile.TemporaryDirectory(prefix="debusine-unshare-probe-") as root:
        spec = {"root": root, "mode": "bind", "binds": [], "cwd": "/", "loopback": True}
        try:
            result = subprocess.run(  # noqa: S603
                [*container(id_mapping(), network=False), json.dumps(spec), "/probe"],
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.SubprocessError):
            return False
        finally:
            remove_tree(Path(root), id_mapping())
            Path(root).mkdir(exist_ok=True)
    return result.returncode == 127
