"""Artifacts built from local files (.dsc, .changes, .deb) with python-debian.

A `LocalArtifact` is what a client (or a worker) is about to create: its
category, data and files, and the JSON body of the artifact create request
(client-protocol §1.4). Every malformed input raises `InvalidLocalArtifact`
with a one-line message naming the file.
"""

from __future__ import annotations

import hashlib
import tarfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from debian.arfile import ArError
from debian.deb822 import Changes, Deb822, Dsc
from debian.debfile import DebError, DebFile

from debusine.artifacts.categories import ArtifactCategory, ArtifactRelationType
from debusine.artifacts.files import (
    CHUNK_SIZE,
    DEB_SUFFIXES,
    content_type_for,
    size_and_sha256,
)
from debusine.artifacts.paths import InvalidArtifactPath, validate_artifact_path
from debusine.artifacts.schemas import (
    InvalidArtifactData,
    InvalidArtifactFiles,
    validate_artifact_data,
    validate_artifact_files,
)
from debusine.errors import DomainError

# A .dsc or .changes larger than this is not one (they are read whole).
CONTROL_FILE_MAX_SIZE = 16 * 1024 * 1024


class InvalidLocalArtifact(DomainError):
    """A local file that cannot become the artifact asked for."""


def file_sha256(path: Path) -> tuple[int, str]:
    """Size and sha256 hex digest of `path`, read in 1 MiB chunks."""
    try:
        return size_and_sha256(path)
    except OSError as error:
        raise InvalidLocalArtifact(f"{path}: cannot read: {error.strerror}") from None


def _file_md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as f:
        while chunk := f.read(CHUNK_SIZE):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass
class LocalArtifact:
    category: str
    data: dict[str, Any]
    # artifact path -> local file
    files: dict[str, Path] = field(default_factory=dict)

    def validate(self) -> None:
        """Check data and files against the category rules."""
        try:
            self.data = validate_artifact_data(self.category, self.data)
            validate_artifact_files(self.category, self.files, self.data)
        except (InvalidArtifactData, InvalidArtifactFiles) as error:
            raise InvalidLocalArtifact(str(error)) from None

    def create_request(
        self, workspace: str | None = None, work_request: int | None = None
    ) -> dict[str, Any]:
        """The JSON body of `POST /api/1.0/artifact/` (client-protocol §1.4)."""
        files: dict[str, Any] = {}
        for name, local in sorted(self.files.items()):
            size, sha256 = file_sha256(local)
            files[name] = {
                "size": size,
                "checksums": {"sha256": sha256},
                "type": "file",
                "content_type": content_type_for(name),
            }
        body: dict[str, Any] = {"category": str(self.category)}
        if workspace is not None:
            body["workspace"] = workspace
        body.update(
            {
                "files": files,
                "data": self.data,
                "work_request": work_request,
                "expire_at": None,
            }
        )
        return body


@dataclass(frozen=True)
class LocalRelation:
    """A relation between two artifacts of a group, by index in the group."""

    artifact: int
    target: int
    type: ArtifactRelationType


@dataclass
class LocalArtifactGroup:
    """Artifacts to create together, and the relations to create between them."""

    artifacts: list[LocalArtifact]
    relations: list[LocalRelation]


# Control files (.dsc, .changes) --------------------------------------------


def _fields_dict(paragraph: Deb822) -> dict[str, Any]:
    """A control paragraph as plain JSON: multivalued fields as lists of dicts."""
    out: dict[str, Any] = {}
    for key, value in paragraph.items():
        if isinstance(value, list):
            out[str(key)] = [{str(k): str(v) for k, v in e.items()} for e in value]
        else:
            out[str(key)] = str(value)
    return out


def _read_control(path: Path, kind: str, cls: type[Deb822]) -> Deb822:
    """Parse a (possibly PGP-signed) .dsc or .changes, refusing non-text files."""
    path = Path(path)
    if not path.name.endswith(kind):
        raise InvalidLocalArtifact(f"{path}: not a {kind} file (wrong file name)")
    try:
        if path.stat().st_size > CONTROL_FILE_MAX_SIZE:
            raise InvalidLocalArtifact(f"{path}: too large to be a {kind} file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InvalidLocalArtifact(f"{path}: no such file") from None
    except OSError as error:
        raise InvalidLocalArtifact(f"{path}: cannot read: {error.strerror}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidLocalArtifact(
            f"{path}: not a {kind} file (not UTF-8 text)"
        ) from None
    if "\x00" in text:
        raise InvalidLocalArtifact(f"{path}: not a {kind} file (binary content)")
    try:
        # Deb822 strips an OpenPGP signature's armor (it does not check it).
        return cls(text.splitlines())
    except (ValueError, TypeError) as error:
        raise InvalidLocalArtifact(f"{path}: not a {kind} file: {error}") from None


def _require_fields(
    path: Path, paragraph: Deb822, kind: str, names: Iterable[str]
) -> None:
    if not paragraph:
        raise InvalidLocalArtifact(f"{path}: not a {kind} file (no control fields)")
    for name in names:
        if not str(paragraph.get(name, "")).strip():
            raise InvalidLocalArtifact(f"{path}: not a {kind} file: no {name} field")


def _listed_files(
    path: Path, paragraph: Deb822, kind: str
) -> dict[str, dict[str, str]]:
    """{name: {size, sha256?, md5sum?}} of the files a .dsc/.changes lists."""
    listed: dict[str, dict[str, str]] = {}
    for fieldname, checksum in (("Checksums-Sha256", "sha256"), ("Files", "md5sum")):
        for entry in paragraph.get(fieldname) or []:
            name = entry.get("name")
            size = entry.get("size")
            value = entry.get(checksum)
            if not name or not size or not value:
                raise InvalidLocalArtifact(
                    f"{path}: malformed {fieldname} entry in the {kind} file"
                )
            # File names in a .dsc/.changes are bare names beside it.
            if "/" in name or "\\" in name or name in (".", ".."):
                raise InvalidLocalArtifact(
                    f"{path}: lists {name!r}, a file outside its directory"
                )
            try:
                validate_artifact_path(name)
            except InvalidArtifactPath as error:
                raise InvalidLocalArtifact(f"{path}: lists {error}") from None
            info = listed.setdefault(name, {"size": size})
            if info["size"] != size:
                raise InvalidLocalArtifact(
                    f"{path}: lists {name} with two different sizes"
                )
            info[checksum] = value
    if not listed:
        raise InvalidLocalArtifact(f"{path}: the {kind} file lists no files")
    return listed


def _verify_listed(
    path: Path, listed: Mapping[str, Mapping[str, str]]
) -> dict[str, Path]:
    """Check every listed file beside `path` exists with its size and hashes."""
    directory = path.parent
    files: dict[str, Path] = {}
    for name, info in listed.items():
        local = directory / name
        if not local.is_file():
            raise InvalidLocalArtifact(f"{local}: listed in {path.name} but missing")
        size, sha256 = file_sha256(local)
        if str(size) != info["size"]:
            raise InvalidLocalArtifact(
                f"{local}: size {size} does not match {info['size']} listed in "
                f"{path.name}"
            )
        if "sha256" in info and sha256 != info["sha256"].lower():
            raise InvalidLocalArtifact(
                f"{local}: sha256 {sha256} does not match {info['sha256']} listed in "
                f"{path.name}"
            )
        if "sha256" not in info and _file_md5(local) != info["md5sum"].lower():
            raise InvalidLocalArtifact(
                f"{local}: md5sum does not match the one listed in {path.name}"
            )
        files[name] = local
    return files


def _finish(artifact: LocalArtifact, path: Path) -> LocalArtifact:
    try:
        artifact.validate()
    except InvalidLocalArtifact as error:
        raise InvalidLocalArtifact(f"{path}: {error}") from None
    return artifact


def source_package_from_dsc(path: str | Path) -> LocalArtifact:
    """A debian:source-package from a .dsc and the files it lists beside it."""
    path = Path(path)
    dsc = _read_control(path, ".dsc", Dsc)
    _require_fields(path, dsc, ".dsc", ("Format", "Source", "Version"))
    listed = _listed_files(path, dsc, ".dsc")
    files = {path.name: path}
    files.update(_verify_listed(path, listed))
    artifact = LocalArtifact(
        category=ArtifactCategory.SOURCE_PACKAGE,
        data={
            "name": dsc["Source"],
            "version": dsc["Version"],
            "type": "dpkg",
            "dsc_fields": _fields_dict(dsc),
        },
        files=files,
    )
    return _finish(artifact, path)


# Binary packages ----------------------------------------------------------


def _parse_source_field(path: Path, fields_: Mapping[str, str]) -> tuple[str, str]:
    """(name, version) of the source package a binary was built from."""
    source = fields_.get("Source", "").strip()
    version = fields_["Version"]
    if not source:
        return fields_["Package"], version
    name, _, rest = source.partition(" ")
    rest = rest.strip()
    if rest:
        if not (rest.startswith("(") and rest.endswith(")")) or not rest[1:-1].strip():
            raise InvalidLocalArtifact(f"{path}: malformed Source field {source!r}")
        version = rest[1:-1].strip()
    return name, version


@dataclass
class _Deb:
    path: Path
    fields: dict[str, str]
    control_files: list[str]
    srcpkg_name: str
    srcpkg_version: str


def _read_deb(path: str | Path) -> _Deb:
    path = Path(path)
    if not path.name.endswith(DEB_SUFFIXES):
        raise InvalidLocalArtifact(f"{path}: not a .deb file (wrong file name)")
    if not path.is_file():
        raise InvalidLocalArtifact(f"{path}: no such file")
    try:
        deb = DebFile(str(path))
        try:
            control = deb.debcontrol()
            names = deb.control.tgz().getnames()
        finally:
            deb.close()
    except (
        ArError,
        DebError,
        tarfile.TarError,
        OSError,
        ValueError,
        KeyError,
    ) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise InvalidLocalArtifact(f"{path}: not a valid .deb: {message}") from None
    fields_ = {str(k): str(v) for k, v in control.items()}
    for name in ("Package", "Version", "Architecture"):
        if not fields_.get(name, "").strip():
            raise InvalidLocalArtifact(
                f"{path}: the .deb's control has no {name} field"
            )
    control_files = sorted(
        {n.removeprefix("./") for n in names} - {"", "."},
    )
    srcpkg_name, srcpkg_version = _parse_source_field(path, fields_)
    return _Deb(path, fields_, control_files, srcpkg_name, srcpkg_version)


def binary_package_from_deb(path: str | Path) -> LocalArtifact:
    """A debian:binary-package from one .deb."""
    deb = _read_deb(path)
    artifact = LocalArtifact(
        category=ArtifactCategory.BINARY_PACKAGE,
        data={
            "srcpkg_name": deb.srcpkg_name,
            "srcpkg_version": deb.srcpkg_version,
            "deb_fields": deb.fields,
            "deb_control_files": deb.control_files,
        },
        files={deb.path.name: deb.path},
    )
    return _finish(artifact, deb.path)


def binary_packages_from_debs(paths: Iterable[str | Path]) -> LocalArtifact:
    """A debian:binary-packages from the .debs of one build of one source.

    They must share a source name and version and a binary version; their
    architecture is the one non-`all` architecture among them (`all` if
    there is none).
    """
    debs = [_read_deb(p) for p in paths]
    if not debs:
        raise InvalidLocalArtifact("no .deb files given")
    first = debs[0]
    architectures: set[str] = set()
    files: dict[str, Path] = {}
    for deb in debs:
        for what, mine, theirs in (
            ("source package", deb.srcpkg_name, first.srcpkg_name),
            ("source version", deb.srcpkg_version, first.srcpkg_version),
            ("version", deb.fields["Version"], first.fields["Version"]),
        ):
            if mine != theirs:
                raise InvalidLocalArtifact(
                    f"{deb.path}: {what} {mine} differs from {theirs} of "
                    f"{first.path.name}"
                )
        if deb.path.name in files:
            raise InvalidLocalArtifact(f"{deb.path}: given twice")
        files[deb.path.name] = deb.path
        architectures.add(deb.fields["Architecture"])
    specific = architectures - {"all"}
    if len(specific) > 1:
        raise InvalidLocalArtifact(
            f"{first.path}: .debs of several architectures: "
            + ", ".join(sorted(specific))
        )
    architecture = specific.pop() if specific else "all"
    artifact = LocalArtifact(
        category=ArtifactCategory.BINARY_PACKAGES,
        data={
            "srcpkg_name": first.srcpkg_name,
            "srcpkg_version": first.srcpkg_version,
            "version": first.fields["Version"],
            "architecture": architecture,
            "packages": sorted({d.fields["Package"] for d in debs}),
        },
        files=files,
    )
    return _finish(artifact, first.path)


# Uploads ------------------------------------------------------------------


def upload_from_changes(path: str | Path) -> LocalArtifactGroup:
    """The artifacts `import-debian-artifact` creates for a .changes.

    artifacts[0] is the debian:upload (.changes and every file it lists),
    then the debian:source-package of its .dsc (if any), then one
    debian:binary-package per .deb. As upstream's client does, the upload
    `extends` and `relates-to` each of the others.
    """
    path = Path(path)
    changes = _read_control(path, ".changes", Changes)
    _require_fields(
        path, changes, ".changes", ("Format", "Source", "Version", "Architecture")
    )
    listed = _listed_files(path, changes, ".changes")
    files = {path.name: path}
    files.update(_verify_listed(path, listed))
    upload = _finish(
        LocalArtifact(
            category=ArtifactCategory.UPLOAD,
            data={"type": "dpkg", "changes_fields": _fields_dict(changes)},
            files=files,
        ),
        path,
    )
    artifacts = [upload]
    dscs = [name for name in listed if name.endswith(".dsc")]
    if len(dscs) > 1:
        raise InvalidLocalArtifact(f"{path}: lists more than one .dsc")
    for name in dscs:
        artifacts.append(source_package_from_dsc(path.parent / name))
    for name in sorted(listed):
        if name.endswith(DEB_SUFFIXES):
            artifacts.append(binary_package_from_deb(path.parent / name))
    relations = [
        LocalRelation(0, index, relation)
        for index in range(1, len(artifacts))
        for relation in (ArtifactRelationType.EXTENDS, ArtifactRelationType.RELATES_TO)
    ]
    return LocalArtifactGroup(artifacts, relations)
