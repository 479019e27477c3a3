"""Artifacts built from real .dsc, .deb and .changes files."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import pytest
from debian.deb822 import Changes, Dsc
from debian.debfile import DebFile

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.files import content_type_for
from debusine.artifacts.local import (
    LocalArtifact,
    LocalRelation,
    binary_package_from_deb,
    binary_packages_from_debs,
    file_sha256,
    source_package_from_dsc,
    upload_from_changes,
)
from debusine.artifacts.schemas import validate_artifact_data
from debusine.models.artifacts import ArtifactRelationType
from debusine.models.validation import DomainError

from .conftest import Packages, build_deb


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def copy_all(source: Path, target: Path) -> Path:
    for path in source.iterdir():
        if path.is_file():
            shutil.copy(path, target / path.name)
    return target


def rewrite(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


# Source packages ----------------------------------------------------------


def test_source_package_from_dsc(packages: Packages) -> None:
    artifact = source_package_from_dsc(packages.dsc)
    with packages.dsc.open() as f:
        dsc = Dsc(f)

    assert artifact.category == ArtifactCategory.SOURCE_PACKAGE
    assert artifact.data["name"] == "hello"
    assert artifact.data["version"] == "1.0-1"
    assert artifact.data["type"] == "dpkg"
    fields = artifact.data["dsc_fields"]
    assert set(fields) == set(dsc)
    assert fields["Format"] == "3.0 (quilt)"
    assert fields["Checksums-Sha256"] == [
        {
            "sha256": sha256(packages.orig),
            "size": str(packages.orig.stat().st_size),
            "name": packages.orig.name,
        },
        {
            "sha256": sha256(packages.debian_tar),
            "size": str(packages.debian_tar.stat().st_size),
            "name": packages.debian_tar.name,
        },
    ]
    assert artifact.files == {
        "hello_1.0-1.dsc": packages.dsc,
        "hello_1.0.orig.tar.gz": packages.orig,
        "hello_1.0-1.debian.tar.xz": packages.debian_tar,
    }
    # The data is what the schema accepts, unchanged.
    assert validate_artifact_data(artifact.category, artifact.data) == artifact.data


def test_source_package_create_request(packages: Packages) -> None:
    body = source_package_from_dsc(packages.dsc).create_request(workspace="System")
    assert list(body) == [
        "category",
        "workspace",
        "files",
        "data",
        "work_request",
        "expire_at",
    ]
    assert body["category"] == "debian:source-package"
    assert body["workspace"] == "System"
    assert body["work_request"] is None
    assert body["expire_at"] is None
    assert body["files"] == {
        "hello_1.0-1.dsc": {
            "size": packages.dsc.stat().st_size,
            "checksums": {"sha256": sha256(packages.dsc)},
            "type": "file",
            "content_type": "text/plain; charset=utf-8",
        },
        "hello_1.0.orig.tar.gz": {
            "size": packages.orig.stat().st_size,
            "checksums": {"sha256": sha256(packages.orig)},
            "type": "file",
            "content_type": "application/octet-stream",
        },
        "hello_1.0-1.debian.tar.xz": {
            "size": packages.debian_tar.stat().st_size,
            "checksums": {"sha256": sha256(packages.debian_tar)},
            "type": "file",
            "content_type": "application/octet-stream",
        },
    }
    assert "workspace" not in source_package_from_dsc(packages.dsc).create_request()


def test_signed_dsc_parses(packages: Packages) -> None:
    signed = packages.signed_dsc_dir / "hello_1.0-1.dsc"
    assert signed.read_text().startswith("-----BEGIN PGP SIGNED MESSAGE-----")
    artifact = source_package_from_dsc(signed)
    unsigned = source_package_from_dsc(packages.dsc)
    assert artifact.data == unsigned.data
    assert artifact.files["hello_1.0-1.dsc"] == signed


def test_native_source_package(tmp_path: Path) -> None:
    from .conftest import CHANGELOG, CONTROL, run

    tree = tmp_path / "native-1.0"
    (tree / "debian" / "source").mkdir(parents=True)
    (tree / "debian" / "changelog").write_text(
        CHANGELOG.replace("hello (1.0-1)", "native (1.0)")
    )
    (tree / "debian" / "control").write_text(CONTROL.replace("hello", "native"))
    (tree / "debian" / "source" / "format").write_text("3.0 (native)\n")
    run("dpkg-source", "-b", "native-1.0", cwd=tmp_path)
    artifact = source_package_from_dsc(tmp_path / "native_1.0.dsc")
    assert artifact.data["name"] == "native"
    assert artifact.data["version"] == "1.0"
    assert sorted(artifact.files) == ["native_1.0.dsc", "native_1.0.tar.xz"]


def test_dsc_tampered_file(packages: Packages, tmp_path: Path) -> None:
    copy_all(packages.directory, tmp_path)
    tar = tmp_path / packages.debian_tar.name
    data = bytearray(tar.read_bytes())
    data[-1] ^= 0xFF  # same size, different content
    tar.write_bytes(bytes(data))
    with pytest.raises(DomainError, match=r"hello_1\.0-1\.debian\.tar\.xz: sha256 "):
        source_package_from_dsc(tmp_path / "hello_1.0-1.dsc")


def test_dsc_truncated_file(packages: Packages, tmp_path: Path) -> None:
    copy_all(packages.directory, tmp_path)
    orig = tmp_path / packages.orig.name
    orig.write_bytes(orig.read_bytes()[:-1])
    with pytest.raises(DomainError, match=r"hello_1\.0\.orig\.tar\.gz: size \d+ does"):
        source_package_from_dsc(tmp_path / "hello_1.0-1.dsc")


def test_dsc_missing_file(packages: Packages, tmp_path: Path) -> None:
    copy_all(packages.directory, tmp_path)
    (tmp_path / packages.orig.name).unlink()
    with pytest.raises(
        DomainError, match=r"hello_1\.0\.orig\.tar\.gz: listed in hello_1\.0-1\.dsc "
    ):
        source_package_from_dsc(tmp_path / "hello_1.0-1.dsc")


def test_not_a_dsc(packages: Packages, tmp_path: Path) -> None:
    # A binary file renamed .dsc.
    fake = tmp_path / "fake.dsc"
    shutil.copy(packages.deb, fake)
    with pytest.raises(DomainError, match=r"fake\.dsc: not a \.dsc file"):
        source_package_from_dsc(fake)
    # Text, but not a control file.
    fake.write_text("hello world\n")
    with pytest.raises(DomainError, match=r"fake\.dsc: not a \.dsc file"):
        source_package_from_dsc(fake)
    # Wrong extension.
    with pytest.raises(DomainError, match=r"not a \.dsc file \(wrong file name\)"):
        source_package_from_dsc(packages.changes)
    with pytest.raises(DomainError, match=r"nothere\.dsc: no such file"):
        source_package_from_dsc(tmp_path / "nothere.dsc")


@pytest.mark.parametrize("field", ["Source", "Version", "Format"])
def test_dsc_missing_field(packages: Packages, tmp_path: Path, field: str) -> None:
    copy_all(packages.directory, tmp_path)
    dsc = tmp_path / "hello_1.0-1.dsc"
    lines = [
        line for line in dsc.read_text().splitlines() if not line.startswith(field)
    ]
    dsc.write_text("\n".join(lines) + "\n")
    with pytest.raises(DomainError, match=rf"hello_1\.0-1\.dsc: .*no {field} field"):
        source_package_from_dsc(dsc)


def test_dsc_lists_no_files(packages: Packages, tmp_path: Path) -> None:
    dsc = tmp_path / "hello_1.0-1.dsc"
    dsc.write_text("Format: 3.0 (native)\nSource: hello\nVersion: 1.0\n")
    with pytest.raises(DomainError, match=r"hello_1\.0-1\.dsc: the \.dsc file lists"):
        source_package_from_dsc(dsc)


def test_dsc_path_traversal(packages: Packages, tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    copy_all(packages.directory, tmp_path)
    dsc = inner / "hello_1.0-1.dsc"
    shutil.copy(packages.dsc, dsc)
    # The orig tarball exists one level up: a .dsc must not reach it.
    rewrite(dsc, " hello_1.0.orig.tar.gz", " ../hello_1.0.orig.tar.gz")
    with pytest.raises(DomainError, match=r"lists '\.\./hello_1\.0\.orig\.tar\.gz'"):
        source_package_from_dsc(dsc)


# Binary packages ----------------------------------------------------------


def test_binary_package_without_source_field(packages: Packages) -> None:
    artifact = binary_package_from_deb(packages.deb)
    control = DebFile(str(packages.deb)).debcontrol()
    assert "Source" not in control
    assert artifact.category == ArtifactCategory.BINARY_PACKAGE
    assert artifact.data == {
        "srcpkg_name": "hello",
        "srcpkg_version": "1.0-1",
        "deb_fields": dict(control),
        "deb_control_files": ["control"],
    }
    assert artifact.files == {"hello_1.0-1_all.deb": packages.deb}
    body = artifact.create_request()
    assert body["files"]["hello_1.0-1_all.deb"] == {
        "size": packages.deb.stat().st_size,
        "checksums": {"sha256": sha256(packages.deb)},
        "type": "file",
        "content_type": "application/vnd.debian.binary-package",
    }


def test_binary_package_source_with_version(packages: Packages) -> None:
    artifact = binary_package_from_deb(packages.binnmu_deb)
    assert artifact.data["srcpkg_name"] == "hello"
    assert artifact.data["srcpkg_version"] == "1.0-1"
    assert artifact.data["deb_fields"]["Version"] == "1.0-1+b1"
    assert artifact.data["deb_fields"]["Source"] == "hello (1.0-1)"
    assert artifact.data["deb_control_files"] == ["control", "postinst", "prerm"]


def test_binary_package_source_without_version(packages: Packages) -> None:
    artifact = binary_package_from_deb(packages.doc_deb)
    assert artifact.data["srcpkg_name"] == "hello"
    assert artifact.data["srcpkg_version"] == "1.0-1"
    assert artifact.data["deb_fields"]["Package"] == "hello-doc"


def test_not_a_deb(packages: Packages, tmp_path: Path) -> None:
    fake = tmp_path / "fake_1.0_all.deb"
    shutil.copy(packages.dsc, fake)
    with pytest.raises(DomainError, match=r"fake_1\.0_all\.deb: not a valid \.deb"):
        binary_package_from_deb(fake)
    with pytest.raises(DomainError, match=r"not a \.deb file \(wrong file name\)"):
        binary_package_from_deb(packages.dsc)
    with pytest.raises(DomainError, match=r"gone_1_all\.deb: no such file"):
        binary_package_from_deb(tmp_path / "gone_1_all.deb")


def test_deb_malformed_source_field(tmp_path: Path) -> None:
    deb = build_deb(
        tmp_path,
        "Package: bad\nSource: hello (1.0\nVersion: 1\nArchitecture: all\n"
        "Maintainer: T <t@example.org>\nDescription: bad\n",
        {},
    )
    with pytest.raises(DomainError, match=r"bad_1_all\.deb: malformed Source field"):
        binary_package_from_deb(deb)


def test_binary_packages_from_debs(packages: Packages, tmp_path: Path) -> None:
    artifact = binary_packages_from_debs([packages.deb, packages.doc_deb])
    assert artifact.category == ArtifactCategory.BINARY_PACKAGES
    assert artifact.data == {
        "srcpkg_name": "hello",
        "srcpkg_version": "1.0-1",
        "version": "1.0-1",
        "architecture": "all",
        "packages": ["hello", "hello-doc"],
    }
    assert artifact.files == {
        "hello_1.0-1_all.deb": packages.deb,
        "hello-doc_1.0-1_all.deb": packages.doc_deb,
    }
    # An arch-specific build with an arch:all companion is that architecture.
    companion = build_deb(
        tmp_path,
        "Package: hello-data\nSource: hello (1.0-1)\nVersion: 1.0-1+b1\n"
        "Architecture: all\nMaintainer: T <t@example.org>\nDescription: data\n",
        {},
    )
    binnmu = binary_packages_from_debs([packages.binnmu_deb, companion])
    assert binnmu.data["architecture"] == "amd64"
    assert binnmu.data["version"] == "1.0-1+b1"
    assert binnmu.data["srcpkg_version"] == "1.0-1"
    assert binnmu.data["packages"] == ["hello-bin", "hello-data"]


def test_binary_packages_refuses_mixtures(packages: Packages, tmp_path: Path) -> None:
    with pytest.raises(DomainError, match=r"hello-bin_1\.0-1\+b1_amd64\.deb: version"):
        binary_packages_from_debs([packages.deb, packages.binnmu_deb])
    other = build_deb(
        tmp_path,
        "Package: other\nVersion: 1.0-1\nArchitecture: all\n"
        "Maintainer: T <t@example.org>\nDescription: other\n",
        {},
    )
    with pytest.raises(DomainError, match=r"other_1\.0-1_all\.deb: source package"):
        binary_packages_from_debs([packages.deb, other])
    with pytest.raises(DomainError, match=r"no \.deb files given"):
        binary_packages_from_debs([])
    with pytest.raises(DomainError, match="given twice"):
        binary_packages_from_debs([packages.deb, packages.deb])


# Uploads ------------------------------------------------------------------


def test_upload_from_changes(packages: Packages) -> None:
    group = upload_from_changes(packages.changes)
    upload, source, binary = group.artifacts
    with packages.changes.open() as f:
        changes = Changes(f)

    assert upload.category == ArtifactCategory.UPLOAD
    assert upload.data["type"] == "dpkg"
    assert set(upload.data["changes_fields"]) == set(changes)
    assert upload.data["changes_fields"]["Architecture"] == "source all"
    listed = {entry["name"] for entry in changes["Files"]}
    assert listed == {
        packages.dsc.name,
        packages.orig.name,
        packages.debian_tar.name,
        packages.deb.name,
        packages.buildinfo.name,
    }
    assert set(upload.files) == listed | {packages.changes.name}
    body = upload.create_request()
    assert body["files"][packages.buildinfo.name]["content_type"] == (
        "text/plain; charset=utf-8"
    )
    assert body["files"][packages.changes.name]["checksums"]["sha256"] == sha256(
        packages.changes
    )

    assert source.data == source_package_from_dsc(packages.dsc).data
    assert binary.data == binary_package_from_deb(packages.deb).data
    assert group.relations == [
        LocalRelation(0, 1, ArtifactRelationType.EXTENDS),
        LocalRelation(0, 1, ArtifactRelationType.RELATES_TO),
        LocalRelation(0, 2, ArtifactRelationType.EXTENDS),
        LocalRelation(0, 2, ArtifactRelationType.RELATES_TO),
    ]


def test_source_only_upload(packages: Packages, tmp_path: Path) -> None:
    from .conftest import run

    copy_all(packages.directory, tmp_path)
    shutil.copytree(packages.directory / "hello-1.0", tmp_path / "hello-1.0")
    run(
        "dpkg-genchanges",
        "-S",
        "-O../hello_1.0-1_source.changes",
        cwd=tmp_path / "hello-1.0",
    )
    group = upload_from_changes(tmp_path / "hello_1.0-1_source.changes")
    assert [a.category for a in group.artifacts] == [
        ArtifactCategory.UPLOAD,
        ArtifactCategory.SOURCE_PACKAGE,
    ]
    assert group.artifacts[0].data["changes_fields"]["Architecture"] == "source"


def test_changes_tampered_deb(packages: Packages, tmp_path: Path) -> None:
    copy_all(packages.directory, tmp_path)
    deb = tmp_path / packages.deb.name
    data = bytearray(deb.read_bytes())
    data[100] ^= 0xFF
    deb.write_bytes(bytes(data))
    with pytest.raises(DomainError, match=r"hello_1\.0-1_all\.deb: sha256 [0-9a-f]+ "):
        upload_from_changes(tmp_path / packages.changes.name)


def test_changes_missing_file(packages: Packages, tmp_path: Path) -> None:
    copy_all(packages.directory, tmp_path)
    (tmp_path / packages.buildinfo.name).unlink()
    with pytest.raises(DomainError, match=r"_all\.buildinfo: listed in hello_1"):
        upload_from_changes(tmp_path / packages.changes.name)


def test_changes_path_traversal(packages: Packages, tmp_path: Path) -> None:
    inner = tmp_path / "inner"
    inner.mkdir()
    copy_all(packages.directory, tmp_path)
    copy_all(packages.directory, inner)
    changes = inner / packages.changes.name
    rewrite(changes, f" {packages.deb.name}", f" ../{packages.deb.name}")
    with pytest.raises(
        DomainError, match=r"lists '\.\./hello_1\.0-1_all\.deb', a file"
    ):
        upload_from_changes(changes)
    rewrite(changes, f" ../{packages.deb.name}", " /etc/passwd")
    with pytest.raises(DomainError, match=r"lists '/etc/passwd', a file outside"):
        upload_from_changes(changes)


def test_changes_missing_field(packages: Packages, tmp_path: Path) -> None:
    copy_all(packages.directory, tmp_path)
    changes = tmp_path / packages.changes.name
    rewrite(changes, "Source: hello\n", "")
    with pytest.raises(DomainError, match=r"_all\.changes: not a \.changes file: no "):
        upload_from_changes(changes)


def test_not_a_changes(packages: Packages, tmp_path: Path) -> None:
    fake = tmp_path / "fake.changes"
    shutil.copy(packages.orig, fake)
    with pytest.raises(DomainError, match=r"fake\.changes: not a \.changes file"):
        upload_from_changes(fake)
    with pytest.raises(DomainError, match=r"not a \.changes file \(wrong file name\)"):
        upload_from_changes(packages.dsc)


def test_signed_changes(packages: Packages, tmp_path: Path) -> None:
    copy_all(packages.directory, tmp_path)
    changes = tmp_path / packages.changes.name
    signed = packages.signed_dsc_dir / "hello_1.0-1.dsc"
    # Wrap the .changes in the armor of a real signature (its validity is
    # not checked here: the server does not trust client signatures).
    head, _, tail = signed.read_text().partition("Format:")
    signature = tail[tail.index("-----BEGIN PGP SIGNATURE-----") :]
    changes.write_text(head + changes.read_text() + signature)
    group = upload_from_changes(changes)
    assert (
        group.artifacts[0].data
        == upload_from_changes(packages.changes).artifacts[0].data
    )


# Helpers ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type"),
    [
        ("a.dsc", "text/plain; charset=utf-8"),
        ("a.changes", "text/plain; charset=utf-8"),
        ("a.buildinfo", "text/plain; charset=utf-8"),
        ("a.deb", "application/vnd.debian.binary-package"),
        ("a.udeb", "application/vnd.debian.binary-package"),
        ("a.tar.xz", "application/octet-stream"),
        ("a.bin", "application/octet-stream"),
        ("no-extension", "application/octet-stream"),
        ("a.json", "application/json"),
        ("a.txt", "text/plain; charset=utf-8"),
    ],
)
def test_content_type_for(name: str, content_type: str) -> None:
    assert content_type_for(name) == content_type


def test_file_sha256_streams_large_files(tmp_path: Path) -> None:
    big = tmp_path / "big"
    block = bytes(range(256)) * 4096  # 1 MiB
    with big.open("wb") as f:
        for _ in range(3):
            f.write(block)
        f.write(b"tail")
    assert file_sha256(big) == (3 * len(block) + 4, sha256(big))


def test_local_artifact_validate() -> None:
    artifact = LocalArtifact("debian:upload", {"type": "dpkg"}, {})
    with pytest.raises(DomainError, match="changes_fields"):
        artifact.validate()
