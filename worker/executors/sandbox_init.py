"""Pid 1 of an `unshare` container: build its file system, then exec the command.

Run by the unshare executor as `python -I -S sandbox_init.py SPEC ARGV...`,
already inside new user, mount, pid, ipc, uts (and, without network, net)
namespaces. SPEC is JSON: `root` (the mount point of the container's root),
`mode` (`overlay`: mount `lower` with `upper`/`work` on `root`; `bind`:
`root` is a private copy), `binds` (host directories mounted at the same
path), `cwd` and `loopback` (bring `lo` up in the new network namespace).

It uses nothing but the standard library and system calls (no host tools)
because after `pivot_root` the host's files are gone; errors print one line
on stderr and exit with EXIT_SETUP_FAILED.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import platform
import socket
import struct
import sys
from typing import Any

EXIT_SETUP_FAILED = 125

MS_RDONLY = 0x1
MS_NOSUID = 0x2
MS_NODEV = 0x4
MS_NOEXEC = 0x8
MS_REMOUNT = 0x20
MS_BIND = 0x1000
MS_REC = 0x4000
MNT_DETACH = 0x2

# glibc has no pivot_root() wrapper; the system call's number per machine.
PIVOT_ROOT_SYSCALL = {
    "x86_64": 155,
    "aarch64": 41,
    "riscv64": 41,
    "loongarch64": 41,
    "armv7l": 218,
    "armv8l": 218,
    "i686": 217,
    "i386": 217,
    "ppc64le": 203,
    "ppc64": 203,
    "s390x": 217,
    "mips64": 5151,
}

DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
DEVICE_LINKS = {
    "fd": "/proc/self/fd",
    "stdin": "/proc/self/fd/0",
    "stdout": "/proc/self/fd/1",
    "stderr": "/proc/self/fd/2",
    "ptmx": "pts/ptmx",
}

_libc = ctypes.CDLL(None, use_errno=True)


class SetupError(Exception):
    pass


def _check(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise SetupError(f"{what}: {os.strerror(error)}")


def mount(
    source: str, target: str, fstype: str | None, flags: int = 0, data: str = ""
) -> None:
    _check(
        _libc.mount(
            source.encode(),
            target.encode(),
            fstype.encode() if fstype else None,
            ctypes.c_ulong(flags),
            data.encode() if data else None,
        ),
        f"cannot mount {fstype or 'bind'} on {target}",
    )


def bind(source: str, target: str, *, read_only: bool = False, flags: int = 0) -> None:
    mount(source, target, None, MS_BIND | MS_REC)
    if read_only:
        # Flags the kernel locked on the source mount must be kept.
        mount("none", target, None, MS_REMOUNT | MS_BIND | MS_RDONLY | flags)


def pivot_root(root: str) -> None:
    """Make `root` the root and detach the host's (no chroot to escape)."""
    number = PIVOT_ROOT_SYSCALL.get(platform.machine())
    if number is None:
        raise SetupError(f"pivot_root: unknown machine {platform.machine()}")
    os.chdir(root)
    _check(_libc.syscall(ctypes.c_long(number), b".", b"."), "pivot_root")
    # The old root now sits on top of the new one: detach it.
    _check(_libc.umount2(b".", MNT_DETACH), "cannot detach the host's root")
    os.chdir("/")


def loopback_up() -> None:
    siocgifflags, siocsifflags, iff_up = 0x8913, 0x8914, 0x1
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        request = struct.pack("16sh22x", b"lo", 0)
        flags = struct.unpack("16sh22x", fcntl.ioctl(sock, siocgifflags, request))[1]
        fcntl.ioctl(sock, siocsifflags, struct.pack("16sh22x", b"lo", flags | iff_up))


def populate_dev(root: str) -> None:
    dev = f"{root}/dev"
    os.makedirs(dev, exist_ok=True)
    mount("tmpfs", dev, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755")
    for name in DEVICES:
        target = f"{dev}/{name}"
        with open(target, "w"):
            pass
        bind(f"/dev/{name}", target)
    for name, link in DEVICE_LINKS.items():
        os.symlink(link, f"{dev}/{name}")
    os.mkdir(f"{dev}/pts")
    # Without pseudo-terminals only interactive tools fail.
    with contextlib.suppress(SetupError):
        mount(
            "devpts",
            f"{dev}/pts",
            "devpts",
            MS_NOSUID | MS_NOEXEC,
            "newinstance,ptmxmode=0666,mode=0620",
        )
    os.mkdir(f"{dev}/shm")
    mount("tmpfs", f"{dev}/shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")


def build_root(spec: dict[str, Any]) -> None:
    root = spec["root"]
    if spec["mode"] == "overlay":
        mount(
            "overlay",
            root,
            "overlay",
            0,
            f"lowerdir={spec['lower']},upperdir={spec['upper']},"
            f"workdir={spec['work']},userxattr",
        )
    else:
        bind(root, root)
    proc_flags = MS_NOSUID | MS_NODEV | MS_NOEXEC
    os.makedirs(f"{root}/proc", exist_ok=True)
    mount("proc", f"{root}/proc", "proc", proc_flags)
    # The kernel's knobs stay read-only even for the container's root.
    for knob in ("sys", "sysrq-trigger"):
        path = f"{root}/proc/{knob}"
        if os.path.exists(path):
            bind(path, path, read_only=True, flags=proc_flags)
    populate_dev(root)
    scratch = f"{root}/tmp"  # noqa: S108  (the container's own, empty /tmp)
    os.makedirs(scratch, exist_ok=True)
    mount("tmpfs", scratch, "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777")
    for directory in spec["binds"]:
        target = f"{root}{directory}"
        os.makedirs(target, exist_ok=True)
        bind(directory, target)
    if spec["loopback"]:
        loopback_up()
    pivot_root(root)
    os.chdir(spec["cwd"])


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print("usage: sandbox_init.py SPEC COMMAND [ARG...]", file=sys.stderr)
        return EXIT_SETUP_FAILED
    try:
        build_root(json.loads(argv[0]))
    except (SetupError, OSError, KeyError, ValueError) as error:
        print(f"debusine unshare executor: {error}", file=sys.stderr)
        return EXIT_SETUP_FAILED
    sys.stdout.flush()
    try:
        os.execvp(argv[1], argv[1:])  # noqa: S606
    except OSError as error:
        print(
            f"debusine unshare executor: cannot run {argv[1]}: {error}", file=sys.stderr
        )
        return 127
    return EXIT_SETUP_FAILED  # not reached


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
