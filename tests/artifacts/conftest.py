"""Real Debian packages built by the tests: a source package, .debs, a .changes."""

from __future__ import annotations

import os
import subprocess
import tarfile
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

CHANGELOG = """\
hello (1.0-1) unstable; urgency=medium

  * Initial release.

 -- Test Maintainer <test@example.org>  Mon, 01 Jan 2024 00:00:00 +0000
"""

CONTROL = """\
Source: hello
Section: misc
Priority: optional
Maintainer: Test Maintainer <test@example.org>
Standards-Version: 4.6.2
Rules-Requires-Root: no

Package: hello
Architecture: all
Description: tiny test package
 Built by the debusine test suite.
"""

# debhelper is not installed: a hand-written rules file with dpkg-dev only.
RULES = """\
#!/usr/bin/make -f
build build-arch build-indep:
clean:
\trm -rf debian/tmp
binary binary-arch binary-indep:
\tmkdir -p debian/tmp/DEBIAN debian/tmp/usr/share/hello
\tcp hello.txt debian/tmp/usr/share/hello/
\tdpkg-gencontrol -phello -Pdebian/tmp
\tdpkg-deb --root-owner-group --build debian/tmp ..
"""


@dataclass(frozen=True)
class Packages:
    directory: Path
    dsc: Path
    orig: Path
    debian_tar: Path
    changes: Path
    buildinfo: Path
    deb: Path  # hello_1.0-1_all.deb, no Source field (same name as the source)
    binnmu_deb: Path  # Source: hello (1.0-1), Version 1.0-1+b1, amd64, scripts
    doc_deb: Path  # hello-doc, Source: hello, Version 1.0-1, all
    signed_dsc_dir: Path  # a copy of the source package with a clearsigned .dsc


def run(*args: str | Path, cwd: Path | None = None, env: dict | None = None) -> None:
    subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={**os.environ, "LC_ALL": "C.UTF-8", **(env or {})},
    )


def build_deb(directory: Path, control: str, scripts: dict[str, str]) -> Path:
    fields = dict(line.split(": ", 1) for line in control.splitlines() if ": " in line)
    name = f"{fields['Package']}_{fields['Version']}_{fields['Architecture']}.deb"
    root = directory / f"stage-{fields['Package']}-{fields['Version']}"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "DEBIAN" / "control").write_text(control)
    for script, body in scripts.items():
        (root / "DEBIAN" / script).write_text(body)
        (root / "DEBIAN" / script).chmod(0o755)
    (root / "usr" / "share" / "doc" / fields["Package"]).mkdir(parents=True)
    (root / "usr" / "share" / "doc" / fields["Package"] / "README").write_text("hi\n")
    run("dpkg-deb", "--root-owner-group", "--build", root, directory / name)
    return directory / name


def clearsign(directory: Path, source: Path, target: Path) -> None:
    home = directory / "gnupg"
    home.mkdir(mode=0o700)
    env = {"GNUPGHOME": str(home)}
    gpg = ("gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", "")
    run(
        *gpg,
        "--quick-gen-key",
        "Test <test@example.org>",
        "ed25519",
        "sign",
        "never",
        env=env,
    )
    run(*gpg, "--clearsign", "--output", target, source, env=env)
    run("gpgconf", "--kill", "all", env=env)


@pytest.fixture(scope="session")
def packages(tmp_path_factory: pytest.TempPathFactory) -> Packages:
    top = tmp_path_factory.mktemp("packages")
    tree = top / "hello-1.0"
    (tree / "debian" / "source").mkdir(parents=True)
    (tree / "hello.txt").write_text("Hello, world!\n")
    with tarfile.open(top / "hello_1.0.orig.tar.gz", "w:gz") as tar:
        tar.add(tree / "hello.txt", "hello-1.0/hello.txt")
    (tree / "debian" / "changelog").write_text(CHANGELOG)
    (tree / "debian" / "control").write_text(CONTROL)
    (tree / "debian" / "copyright").write_text("Files: *\nLicense: public-domain\n")
    (tree / "debian" / "source" / "format").write_text("3.0 (quilt)\n")
    (tree / "debian" / "rules").write_text(RULES)
    (tree / "debian" / "rules").chmod(0o755)
    run("dpkg-buildpackage", "-us", "-uc", "--build=source,all", cwd=tree)

    changes = next(top.glob("hello_1.0-1_*.changes"))
    buildinfo = next(top.glob("hello_1.0-1_*.buildinfo"))

    extras = top / "extras"
    extras.mkdir()
    binnmu = build_deb(
        extras,
        textwrap.dedent(
            """\
            Package: hello-bin
            Source: hello (1.0-1)
            Version: 1.0-1+b1
            Architecture: amd64
            Maintainer: Test Maintainer <test@example.org>
            Description: binNMU of a tiny test package
            """
        ),
        {"postinst": "#!/bin/sh\nexit 0\n", "prerm": "#!/bin/sh\nexit 0\n"},
    )
    doc = build_deb(
        extras,
        textwrap.dedent(
            """\
            Package: hello-doc
            Source: hello
            Version: 1.0-1
            Architecture: all
            Maintainer: Test Maintainer <test@example.org>
            Description: documentation of a tiny test package
            """
        ),
        {},
    )

    signed = top / "signed"
    signed.mkdir()
    for name in ("hello_1.0.orig.tar.gz", "hello_1.0-1.debian.tar.xz"):
        (signed / name).write_bytes((top / name).read_bytes())
    clearsign(top, top / "hello_1.0-1.dsc", signed / "hello_1.0-1.dsc")

    return Packages(
        directory=top,
        dsc=top / "hello_1.0-1.dsc",
        orig=top / "hello_1.0.orig.tar.gz",
        debian_tar=top / "hello_1.0-1.debian.tar.xz",
        changes=changes,
        buildinfo=buildinfo,
        deb=top / "hello_1.0-1_all.deb",
        binnmu_deb=binnmu,
        doc_deb=doc,
        signed_dsc_dir=signed,
    )
