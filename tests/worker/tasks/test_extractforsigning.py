"""`extractforsigning` on the worker: dpkg-deb in the buildd environment
(unshare executor) on a signing template and a binary package the test
builds with dpkg-deb."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from debian.deb822 import Deb822
from sqlalchemy import Engine

from debusine.artifacts.local import binary_package_from_deb
from debusine.client.http import APIClient
from tests.client.conftest import LiveServer
from tests.e2e.environments import need
from tests.worker.tasks.live import admin as admin
from tests.worker.tasks.live import (
    assign,
    outputs,
    run_worker_task,
    upload,
    upload_environment,
)
from tests.worker.tasks.live import engine as engine
from tests.worker.tasks.live import live_server as live_server

pytestmark = pytest.mark.timeout(900)

TEMPLATE = "hello-efi-signed-template"
PACKAGE = "hello-efi"
EFI_FILES = {
    "usr/lib/hello-efi/hello.efi": "MZ hello-efi boot image\n",
    "usr/lib/hello-efi/grub.efi": "MZ hello-efi loader\n",
}
TRUSTED_CERTS = ["80b4d96931bf0d02fd91a61e19d14f1da452e66db2408ca8604d411f92659f0a"]
CHANGELOG = """\
hello-efi-signed (1.0+1) unstable; urgency=medium

  * Signed hello-efi 1.0-1.

 -- Debusine Tests <tests@example.org>  Mon, 01 Jan 2024 00:00:00 +0000
"""
CONTROL = """\
Source: hello-efi-signed
Section: admin
Priority: optional
Maintainer: Debusine Tests <tests@example.org>
Build-Depends: debhelper-compat (= 13), hello-efi (= 1.0-1)
Standards-Version: 4.6.2

Package: hello-efi-signed
Architecture: amd64
Description: signed hello-efi images
 The hello-efi boot images, signed.
"""
RULES = "#!/usr/bin/make -f\n%:\n\tdh $@\n"


def build_deb(
    directory: Path,
    package: str,
    files: dict[str, str],
    links: dict[str, str] | None = None,
) -> Path:
    """A binary package `package` 1.0-1 of `files` (and symbolic `links`)."""
    need(shutil.which("dpkg-deb") is not None, "needs dpkg-deb")
    root = directory / f"{package}-root"
    (root / "DEBIAN").mkdir(parents=True)
    control = Deb822()
    control["Package"] = package
    control["Version"] = "1.0-1"
    control["Architecture"] = "amd64"
    control["Maintainer"] = "Debusine Tests <tests@example.org>"
    control["Description"] = f"test package {package}"
    (root / "DEBIAN" / "control").write_text(str(control))
    for path, content in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(content)
    for path, target in (links or {}).items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).symlink_to(target)
    deb = directory / f"{package}_1.0-1_amd64.deb"
    subprocess.run(
        ["dpkg-deb", "--root-owner-group", "--build", str(root), str(deb)],
        check=True,
        capture_output=True,
    )
    return deb


def files_json(packages: dict[str, list[str]]) -> str:
    return json.dumps(
        {
            "packages": {
                name: {
                    "trusted_certs": TRUSTED_CERTS,
                    "files": [{"sig_type": "efi", "file": f} for f in files],
                }
                for name, files in packages.items()
            }
        }
    )


def build_template(directory: Path, packages: dict[str, list[str]]) -> Path:
    """A signing template for `packages` (name -> files) with a source tree."""
    base = f"usr/share/code-signing/{TEMPLATE}"
    source = f"{base}/source-template/debian"
    return build_deb(
        directory,
        TEMPLATE,
        {
            f"{base}/files.json": files_json(packages),
            f"{source}/changelog": CHANGELOG,
            f"{source}/control": CONTROL,
            f"{source}/rules": RULES,
            f"{source}/source/format": "3.0 (native)\n",
            f"{source}/copyright": "Public domain.\n",
        },
    )


def run_extract(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    environment: int,
    template: int,
    binaries: list[int],
) -> tuple[dict[str, Any], str, int]:
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "extractforsigning",
        {
            "input": {"template_artifact": template, "binary_artifacts": binaries},
            "environment": "debian/match:codename=bookworm",
        },
        {
            "template_artifact_id": template,
            "binary_artifacts_ids": binaries,
            "environment_id": environment,
        },
        timeout=800,
    )
    return result, log, assigned.work_request_id


def test_the_template_files_become_a_signing_input(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    buildd_tarball: Path,
) -> None:
    environment = upload_environment(admin, buildd_tarball)
    template = upload(
        admin,
        binary_package_from_deb(build_template(tmp_path, {PACKAGE: list(EFI_FILES)})),
    )
    binary = upload(
        admin, binary_package_from_deb(build_deb(tmp_path, PACKAGE, EFI_FILES))
    )
    # A package the template does not name is left alone.
    other = upload(
        admin, binary_package_from_deb(build_deb(tmp_path, "hello-doc", {"usr/a": "a"}))
    )
    result, log, work_request = run_extract(
        tmp_path, live_server, admin, engine, environment, template, [other, binary]
    )
    assert result == {"result": "success"}, log
    assert "dpkg: version 1.21." in log

    (signing_input,) = outputs(admin, engine, work_request)["debusine:signing-input"]
    assert signing_input.files == {
        f"{PACKAGE}/{path}": content for path, content in EFI_FILES.items()
    }
    assert signing_input.data == {
        "trusted_certs": TRUSTED_CERTS,
        "binary_package_name": PACKAGE,
    }
    assert signing_input.relations == [("relates-to", binary)]


def test_a_file_linking_out_of_its_package_is_invalid_input(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    buildd_tarball: Path,
) -> None:
    environment = upload_environment(admin, buildd_tarball)
    template = upload(
        admin,
        binary_package_from_deb(build_template(tmp_path, {PACKAGE: list(EFI_FILES)})),
    )
    # grub.efi points at a file of the worker, not of the package.
    hello = {"usr/lib/hello-efi/hello.efi": "MZ hello-efi boot image\n"}
    deb = build_deb(
        tmp_path, PACKAGE, hello, links={"usr/lib/hello-efi/grub.efi": "/etc/passwd"}
    )
    binary = upload(admin, binary_package_from_deb(deb))
    result, log, work_request = run_extract(
        tmp_path, live_server, admin, engine, environment, template, [binary]
    )
    assert result["result"] == "error", log
    (error,) = result["errors"]
    assert error["code"] == "invalid-input"
    assert "has no regular file usr/lib/hello-efi/grub.efi" in error["message"]
    assert "debusine:signing-input" not in outputs(admin, engine, work_request)


def test_a_package_missing_from_the_binaries_is_invalid_input(
    tmp_path: Path,
    live_server: LiveServer,
    admin: APIClient,
    engine: Engine,
    buildd_tarball: Path,
) -> None:
    environment = upload_environment(admin, buildd_tarball)
    # Two packages to sign, one given: nothing is stored, not even the first.
    packages = {PACKAGE: list(EFI_FILES), "shim-efi": ["usr/lib/shim/shimx64.efi"]}
    template = upload(
        admin, binary_package_from_deb(build_template(tmp_path, packages))
    )
    binary = upload(
        admin, binary_package_from_deb(build_deb(tmp_path, PACKAGE, EFI_FILES))
    )
    result, log, work_request = run_extract(
        tmp_path, live_server, admin, engine, environment, template, [binary]
    )
    assert result["result"] == "error", log
    (error,) = result["errors"]
    assert error["code"] == "invalid-input"
    assert "not among the binary artifacts: shim-efi" in error["message"]
    assert "debusine:signing-input" not in outputs(admin, engine, work_request)
