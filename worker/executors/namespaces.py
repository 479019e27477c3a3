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
import logging
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

SUBORDINATE_IDS_NEEDED = 65536
# Where useradd starts allocating blocks (SUB_UID_MIN in login.defs).
FIRST_SUBORDINATE_ID = 100000
SUBUID_FILE = Path("/etc/subuid")
SUBGID_FILE = Path("/etc/subgid")
INIT_SCRIPT = Path(__file__).with_name("sandbox_init.py")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IdMapping:
    name: str  # "full" or "single": part of the cache key
    options: tuple[str, ...]


@dataclass(frozen=True)
class SubordinateRange:
    start: int
    count: int


def _ranges(file: Path) -> list[tuple[str, SubordinateRange]]:
    """(owner, range) of each well-formed line of a /etc/subuid-like file."""
    try:
        lines = file.read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    found = []
    for line in lines:
        fields = line.strip().split(":")
        if len(fields) == 3 and fields[1].isdigit() and fields[2].isdigit():
            found.append((fields[0], SubordinateRange(int(fields[1]), int(fields[2]))))
    return found


def _owner_is(owner: str, user: str, uid: int) -> bool:
    # As shadow-utils' newuidmap and newgidmap: the owner is the user's name,
    # its uid (in both files), or another name of the same uid.
    if owner in (user, str(uid)):
        return True
    try:
        return pwd.getpwnam(owner).pw_uid == uid
    except KeyError:
        return False


def subordinate_range(file: Path, user: str, uid: int) -> SubordinateRange | None:
    """The user's first range in `file` big enough for a full mapping."""
    for owner, found in _ranges(file):
        if found.count >= SUBORDINATE_IDS_NEEDED and _owner_is(owner, user, uid):
            return found
    return None


def suggested_line(file: Path, user: str) -> str:
    """A `file` line giving `user` a block that overlaps no other line's."""
    start = max(
        [FIRST_SUBORDINATE_ID]
        + [found.start + found.count for _owner, found in _ranges(file)]
    )
    return f"{user}:{start}:{SUBORDINATE_IDS_NEEDED}"


def _user() -> tuple[str, int]:
    uid = os.geteuid()
    try:
        return pwd.getpwuid(uid).pw_name, uid
    except KeyError:
        return str(uid), uid


def mapping_for(
    user: str,
    uid: int,
    *,
    subuid: Path = SUBUID_FILE,
    subgid: Path = SUBGID_FILE,
    helpers: bool = True,
) -> tuple[IdMapping, str | None]:
    """The mapping for `user`, and why it is only `single` (else None).

    Explicit ranges, not `--map-auto`: util-linux 2.38 takes the first line
    of /etc/subuid whatever its owner (a non-numeric name reads as uid 0),
    and newuidmap then refuses another user's range.
    """
    if not helpers:
        return IdMapping("single", ("--map-root-user",)), (
            "newuidmap and newgidmap (package uidmap) are not installed"
        )
    uids = subordinate_range(subuid, user, uid)
    gids = subordinate_range(subgid, user, uid)
    if uids is None or gids is None:
        missing = [
            f"{file} (e.g. the line {suggested_line(file, user)})"
            for file, found in ((subuid, uids), (subgid, gids))
            if found is None
        ]
        return IdMapping("single", ("--map-root-user",)), (
            f"{user} has no block of {SUBORDINATE_IDS_NEEDED} ids of its own in "
            + " nor in ".join(missing)
        )
    # Root inside is the user; 1..65536 inside are the start of its block.
    count = SUBORDINATE_IDS_NEEDED
    return IdMapping(
        "full",
        (
            "--map-root-user",
            f"--map-users={uids.start},1,{count}",
            f"--map-groups={gids.start},1,{count}",
        ),
    ), None


@functools.cache
def id_mapping() -> IdMapping:
    user, uid = _user()
    mapping, reason = mapping_for(
        user,
        uid,
        helpers=bool(shutil.which("newuidmap") and shutil.which("newgidmap")),
    )
    if reason:
        log.warning(
            "unshare: only root exists in containers, files of other users "
            "belong to root: %s",
            reason,
        )
    return mapping


def map_auto_shim(
    directory: Path, mapping: IdMapping, real_unshare: str | None = None
) -> Path | None:
    """A directory to put first in PATH, whose `unshare` maps explicitly.

    Tools that run `unshare --map-auto` themselves (autopkgtest-virt-unshare)
    hit the util-linux 2.38 bug described in `mapping_for` as soon as
    another user's line comes first in /etc/subuid. In that directory,
    `unshare` replaces `--map-auto` by this mapping's explicit ranges and
    runs the real one. None when there is no full mapping to give.
    """
    real = real_unshare or shutil.which("unshare")
    explicit = [
        o for o in mapping.options if o.startswith(("--map-users", "--map-groups"))
    ]
    if mapping.name != "full" or real is None or not explicit:
        return None
    directory.mkdir(parents=True, exist_ok=True)
    shim = directory / "unshare"
    replacement = " ".join(shlex.quote(option) for option in explicit)
    shim.write_text(
        "#!/bin/sh\n"
        "# Written by the debusine worker: --map-auto becomes explicit ranges\n"
        "# (util-linux 2.38 takes the first /etc/subuid line, whoever owns it).\n"
        "for arg do\n"
        "  shift\n"
        '  if [ "$arg" = --map-auto ]; then set -- "$@" ' + replacement + "\n"
        '  else set -- "$@" "$arg"; fi\n'
        "done\n"
        f'exec {shlex.quote(real)} "$@"\n',
        encoding="utf-8",
    )
    shim.chmod(0o755)
    return directory


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


# Why the last probe failed (None: it worked), for namespaces_problem().
_problem: str | None = None


@functools.cache
def namespaces_work() -> bool:
    """Whether this host can build a container: try one on an empty root.

    Its setup succeeds up to running a command the empty root lacks (127);
    a setup failure (no user namespaces, proc masked...) exits 125.
    """
    global _problem  # cached with the result: see namespaces_problem()
    _problem = _probe()
    return _problem is None


def namespaces_problem() -> str | None:
    """Why the unshare executor does not work here, and what to do (else None)."""
    namespaces_work()
    return _problem


def _probe() -> str | None:
    if shutil.which("unshare") is None:
        return "unshare (package util-linux) is not installed"
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
        except (OSError, subprocess.SubprocessError) as error:
            return f"unshare failed: {error}"
        finally:
            remove_tree(Path(root), id_mapping())
            Path(root).mkdir(exist_ok=True)
    if result.returncode == 127:
        return None
    output = "; ".join(
        line.strip()
        for line in result.stderr.decode(errors="replace").splitlines()
        if line.strip()
    )
    problem = f"a test container failed (exit {result.returncode}): {output}"
    user, _uid = _user()
    if "newuidmap" in output or "newgidmap" in output:
        return (
            f"{problem}; give {user} a block of {SUBORDINATE_IDS_NEEDED} ids of "
            f"its own in {SUBUID_FILE} and {SUBGID_FILE}, e.g. the lines "
            f"{suggested_line(SUBUID_FILE, user)} and "
            f"{suggested_line(SUBGID_FILE, user)}"
        )
    return (
        f"{problem}; check that this kernel lets {user} make user namespaces "
        "(sysctl user.max_user_namespaces, "
        "kernel.apparmor_restrict_unprivileged_userns)"
    )
