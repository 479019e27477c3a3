"""`mmdebstrap` on the worker: bootstrap a system into a `debian:system-tarball`.

mmdebstrap runs on the worker's host in its own unshare mode (a user
namespace mapped to the worker's subordinate ids), so the system's
maintainer scripts and the customization script never run as the worker's
user. The first repository's suite is the system's codename; every
repository becomes a line of its sources.list.

Signature checks: `system` uses the host's keyrings (mmdebstrap's
default), `no-check` marks the repository `trusted=yes`, `external`
downloads the repository's keyring (checking its sha256 when given) and
hands it to mmdebstrap, installing it as /etc/apt/keyrings/NAME with a
`signed-by` when asked. `keyring_package`s are installed in the system.

The artifact's data: `vendor` (the system's /etc/os-release ID),
`codename`, `architecture`, `variant`, `components`, `mirror` (the first
repository's), `pkglist` (installed package -> version, from its dpkg
status), `with_dev` (the tarball has device nodes), `with_init` (an init
system is installed).
"""

from __future__ import annotations

import hashlib
import subprocess
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from debian.deb822 import Deb822

from debusine.artifacts.categories import ArtifactCategory
from worker.tasks.tool_task import InvalidInput, ToolFailed, ToolTask

TARBALL = "system.tar.zst"
# Packages that make a system bootable with an init.
INIT_PACKAGES = ("init", "systemd-sysv", "sysvinit-core", "runit-init")
KEYRING_TIMEOUT = 60
KEYRINGS = "/etc/apt/keyrings"


def installed_packages(status: str) -> dict[str, str]:
    """Installed package -> version, from a dpkg status file."""
    found: dict[str, str] = {}
    for paragraph in Deb822.iter_paragraphs(status.splitlines()):
        if paragraph.get("Status", "").endswith(" installed"):
            found[paragraph["Package"]] = paragraph["Version"]
    return dict(sorted(found.items()))


def os_release_id(text: str) -> str | None:
    for line in text.splitlines():
        key, _, value = line.partition("=")
        if key.strip() == "ID":
            return value.strip().strip("\"'") or None
    return None


class MmDebstrapTask(ToolTask):
    NAME = "mmdebstrap"
    TOOL = "mmdebstrap"

    def execute(self) -> bool:
        options = self.data["bootstrap_options"]
        repositories: list[Mapping[str, Any]] = self.data["bootstrap_repositories"]
        work = self.context.work_directory
        output = work / "output"
        output.mkdir(parents=True, exist_ok=True)
        tarball = output / TARBALL
        status = work / "dpkg-status"
        os_release = work / "os-release"

        argv = [
            "mmdebstrap",
            "--mode=unshare",
            f"--architectures={options['architecture']}",
        ]
        if options.get("variant"):
            argv.append(f"--variant={options['variant']}")
        include = list(options.get("extra_packages") or [])
        include += [
            r["keyring_package"] for r in repositories if r.get("keyring_package")
        ]
        if include:
            argv.append(f"--include={','.join(dict.fromkeys(include))}")
        lines: list[str] = []
        for number, repository in enumerate(repositories):
            line_options, hooks = self._keyring(number, repository, options)
            argv += hooks
            lines += self._source_lines(repository, line_options)
        script = self.data.get("customization_script")
        if script:
            script_file = work / "customize.sh"
            script_file.write_text(script, encoding="utf-8")
            argv += [
                f"--customize-hook=upload {script_file} /tmp/debusine-customize",
                '--customize-hook=chroot "$1" sh /tmp/debusine-customize',
                '--customize-hook=rm -f "$1/tmp/debusine-customize"',
            ]
        argv += [
            f"--customize-hook=download /var/lib/dpkg/status {status}",
            f"--customize-hook=download /etc/os-release {os_release}",
            repositories[0]["suite"],
            str(tarball),
            *lines,
        ]
        run = self.run_command(argv, cwd=work, timeout=3 * 3600)
        if run.returncode != 0 or not tarball.is_file():
            raise ToolFailed(
                "mmdebstrap-failed",
                f"mmdebstrap failed with exit status {run.returncode}",
            )
        pkglist = installed_packages(status.read_text(encoding="utf-8"))
        first = repositories[0]
        data = {
            "filename": TARBALL,
            "vendor": os_release_id(os_release.read_text(encoding="utf-8")) or "debian",
            "codename": first["suite"],
            "components": list(first.get("components") or ["main"]),
            "mirror": first["mirror"],
            "variant": options.get("variant"),
            "pkglist": pkglist,
            "architecture": options["architecture"],
            "with_dev": self._has_device_nodes(tarball),
            "with_init": any(name in pkglist for name in INIT_PACKAGES),
        }
        self.log(
            f"mmdebstrap: {data['vendor']} {data['codename']} "
            f"{data['architecture']}: {len(pkglist)} packages"
        )
        self.upload_artifact(ArtifactCategory.SYSTEM_TARBALL, {TARBALL: tarball}, data)
        return True

    @staticmethod
    def _source_lines(repository: Mapping[str, Any], options: list[str]) -> list[str]:
        option_text = f"[{' '.join(options)}] " if options else ""
        components = " ".join(repository.get("components") or ["main"])
        suite = repository["suite"]
        return [
            f"{kind} {option_text}{repository['mirror']} {suite}"
            + ("" if suite.endswith("/") else f" {components}")
            for kind in repository["types"]
        ]

    def _keyring(
        self, number: int, repository: Mapping[str, Any], options: Mapping[str, Any]
    ) -> tuple[list[str], list[str]]:
        """(sources.list options, mmdebstrap options) for the repository's key."""
        check = repository["check_signature_with"]
        if check == "no-check":
            return ["trusted=yes"], []
        if check != "external":
            return [], []
        keyring = repository["keyring"]
        local = self._download_keyring(number, keyring)
        mmdebstrap_options = [f"--keyring={local}"]
        line_options: list[str] = []
        if keyring.get("install"):
            inside = f"{KEYRINGS}/{local.name}"
            mmdebstrap_options += [
                f'--setup-hook=mkdir -p "$1{KEYRINGS}"',
                f"--setup-hook=upload {local} {inside}",
            ]
            if options.get("use_signed_by", True):
                line_options.append(f"signed-by={inside}")
        return line_options, mmdebstrap_options

    def _download_keyring(self, number: int, keyring: Mapping[str, Any]) -> Path:
        url = str(keyring["url"])
        suffix = ".asc" if url.endswith(".asc") else ".gpg"
        local = self.context.work_directory / f"debusine-keyring-{number}{suffix}"
        self.log(f"mmdebstrap: downloading the keyring {url}")
        try:
            with urllib.request.urlopen(url, timeout=KEYRING_TIMEOUT) as response:  # noqa: S310
                content = response.read()
        except OSError as error:
            raise InvalidInput(f"cannot download the keyring {url}: {error}") from None
        expected = keyring.get("sha256sum")
        actual = hashlib.sha256(content).hexdigest()
        if expected and expected != actual:
            raise InvalidInput(
                f"the keyring {url} has sha256 {actual}, the task expects {expected}"
            )
        local.write_bytes(content)
        return local

    @staticmethod
    def _has_device_nodes(tarball: Path) -> bool:
        argv = ["tar", "--list", "--file", str(tarball), "./dev/null"]
        listing = subprocess.run(  # noqa: S603
            argv, capture_output=True, text=True, check=False
        )
        return listing.returncode == 0 and "./dev/null" in listing.stdout
