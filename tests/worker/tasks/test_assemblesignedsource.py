"""`assemblesignedsource` on the worker: dpkg-source and dpkg-genchanges in
the buildd environment (unshare executor) on a signing template the test
builds, with detached signatures made by openssl."""

from __future__ import annotations

import io
import shutil
import subprocess
import tarfile
from pathlib import Path
from typing import Any

import pytest
from debian.deb822 import Changes
from sqlalchemy import Engine

from debusine.artifacts.local import LocalArtifact, binary_package_from_deb
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
from tests.worker.tasks.test_extractforsigning import (
    EFI_FILES,
    PACKAGE,
    build_deb,
    build_template,
)

pytestmark = pytest.mark.timeout(900)

FINGERPRINT = "0123456789ABCDEF0123456789ABCDEF01234567"


def sign(directory: Path, files: dict[str, str]) -> dict[str, Path]:
    """Detached PKCS#7 signatures of `files` (path -> content) by a
    self-signed certificate, as `PATH.sig` under `directory`."""
    need(shutil.which("openssl") is not None, "needs openssl")
    directory.mkdir(parents=True, exist_ok=True)
    key, cert = directory / "key.pem", directory / "cert.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes"),
            *("-days", "1", "-subj", "/CN=debusine test"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    signatures = {}
    for path, content in files.items():
        unsigned = directory / "unsigned" / path
        unsigned.parent.mkdir(parents=True, exist_ok=True)
        unsigned.write_text(content)
        signature = directory / f"{path}.sig"
        signature.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                *("openssl", "cms", "-sign", "-binary", "-outform", "DER"),
                *("-nosmimecap", "-signer", str(cert), "-inkey", str(key)),
                *("-in", str(unsigned), "-out", str(signature)),
            ],
            check=True,
            capture_output=True,
        )
        signatures[path] = signature
    return signatures


def upload_signing_output(
    admin: APIClient, signatures: dict[str, Path], binary: int
) -> int:
    """A signing output of `signatures` (PACKAGE/PATH -> file), related as the
    signer relates it: to its signing input, which relates to `binary`."""
    signing_input = upload(
        admin,
        LocalArtifact(
            "debusine:signing-input",
            {"trusted_certs": None, "binary_package_name": PACKAGE},
            {},
        ),
    )
    admin.post(
        "/artifact-relation/",
        {"artifact": signing_input, "target": binary, "type": "relates-to"},
        expected=(200, 201),
    )
    output = upload(
        admin,
        LocalArtifact(
            "debusine:signing-output",
            {
                "purpose": "uefi",
                "fingerprint": FINGERPRINT,
                "results": [
                    {"file": name, "output_file": f"{name}.sig"} for name in signatures
                ],
                "binary_package_name": PACKAGE,
            },
            {f"{name}.sig": path for name, path in signatures.items()},
        ),
    )
    admin.post(
        "/artifact-relation/",
        {"artifact": output, "target": signing_input, "type": "relates-to"},
        expected=(200, 201),
    )
    return output


def run_assemble(
    tmp_path: Path,
    live_server: LiveServer,
    engine: Engine,
    environment: int,
    template: int,
    signed: list[int],
) -> tuple[dict[str, Any], str, int]:
    assigned = assign(engine)
    result, log = run_worker_task(
        tmp_path,
        live_server,
        assigned,
        "assemblesignedsource",
        {
            "environment": "debian/match:codename=bookworm",
            "template": template,
            "signed": signed,
        },
        {"template_id": template, "signed_ids": signed, "environment_id": environment},
        timeout=800,
    )
    return result, log, assigned.work_request_id


def test_the_signatures_make_a_signed_source_package_and_its_upload(
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
    signatures = sign(
        tmp_path / "signed",
        {f"{PACKAGE}/{path}": content for path, content in EFI_FILES.items()},
    )
    signed = upload_signing_output(admin, signatures, binary)
    result, log, work_request = run_assemble(
        tmp_path, live_server, engine, environment, template, [signed]
    )
    assert result == {"result": "success"}, log
    assert "dpkg-dev: version 1.21." in log

    found = outputs(admin, engine, work_request)
    (source,) = found["debian:source-package"]
    assert (source.data["name"], source.data["version"]) == (
        "hello-efi-signed",
        "1.0+1",
    )
    assert set(source.files) == {
        "hello-efi-signed_1.0+1.dsc",
        "hello-efi-signed_1.0+1.tar.xz",
    }
    assert source.relations == sorted(
        [("built-using", template), ("built-using", binary)]
    )
    # The signatures are in the source, where the build looks for them.
    tarball = admin.get(f"/artifact/{source.id}/")["files"][
        "hello-efi-signed_1.0+1.tar.xz"
    ]
    content = admin.send("GET", tarball["url"]).content
    with tarfile.open(fileobj=io.BytesIO(content)) as tar:
        for name, signature in signatures.items():
            member = tar.extractfile(
                f"hello-efi-signed-1.0+1/debian/signatures/{name}.sig"
            )
            assert member is not None
            assert member.read() == signature.read_bytes()
        assert "hello-efi-signed-1.0+1/debian/rules" in tar.getnames()

    (made,) = found["debian:upload"]
    changes = Changes(made.files["hello-efi-signed_1.0+1_source.changes"])
    assert changes["Architecture"] == "source"
    assert changes["Source"] == "hello-efi-signed"
    assert {entry["name"] for entry in changes["Files"]} == set(source.files)
    assert made.relations == [("extends", source.id), ("relates-to", source.id)]


def test_an_unsigned_file_of_the_template_is_invalid_input(
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
    # Only hello.efi was signed; the template lists grub.efi too.
    hello = f"{PACKAGE}/usr/lib/hello-efi/hello.efi"
    signatures = sign(tmp_path / "signed", {hello: EFI_FILES[hello.split("/", 1)[1]]})
    signed = upload_signing_output(admin, signatures, binary)
    result, log, work_request = run_assemble(
        tmp_path, live_server, engine, environment, template, [signed]
    )
    assert result["result"] == "error", log
    (error,) = result["errors"]
    assert error["code"] == "invalid-input"
    assert (
        "lists files that no signing output signs: "
        "hello-efi/usr/lib/hello-efi/grub.efi" in error["message"]
    )
    found = outputs(admin, engine, work_request)
    assert "debian:source-package" not in found
    assert "debian:upload" not in found
