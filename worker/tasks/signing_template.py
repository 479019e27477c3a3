"""Signing templates, as Debian's code-signing service reads them.

A signing template is a binary package `NAME` that ships
`usr/share/code-signing/NAME/files.json`, what to sign:

    {"packages": {PACKAGE: {"trusted_certs": [SHA256...],
                            "files": [{"sig_type": "efi", "file": PATH}]}}}

(PATH inside the binary package PACKAGE), and
`usr/share/code-signing/NAME/source-template/`, the tree of the signed
source package, to which the signatures are added as
`debian/signatures/PACKAGE/PATH.sig`.

Packages are unpacked with `dpkg-deb` inside the task's environment: their
content is not trusted, so every path they name is checked to stay inside
what was unpacked.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from debusine.artifacts.categories import ArtifactCategory
from worker.tasks.base import InputArtifact
from worker.tasks.environment_task import EnvironmentTask
from worker.tasks.tool_task import InvalidInput, ToolFailed, debs_of

CODE_SIGNING = PurePosixPath("usr/share/code-signing")
# The signature types the signer makes (`uefi` keys, sbsign --detached).
SIGNATURE_TYPES = ("efi",)
_PACKAGE_NAME = validate.Regexp(
    r"^[a-z0-9][a-z0-9.+-]+$", error="{input!r} is not a Debian package name"
)


def _relative_path(value: str) -> None:
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or value != str(path):
        raise ValidationError(f"{value!r} is not a normalised relative path")


class _FileSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    sig_type = fields.String(required=True, validate=validate.OneOf(SIGNATURE_TYPES))
    file = fields.String(required=True, validate=_relative_path)


class _PackageSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    trusted_certs = fields.List(fields.String(), load_default=list)
    files = fields.List(
        fields.Nested(_FileSchema), required=True, validate=validate.Length(min=1)
    )


class FilesJsonSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    packages = fields.Dict(
        keys=fields.String(validate=_PACKAGE_NAME),
        values=fields.Nested(_PackageSchema),
        required=True,
        validate=validate.Length(min=1),
    )


@dataclass(frozen=True)
class PackageToSign:
    name: str
    trusted_certs: list[str]
    # Paths inside the binary package.
    files: list[str]

    def signed_names(self) -> list[str]:
        """The names of its files in signing artifacts: `PACKAGE/PATH`."""
        return [f"{self.name}/{path}" for path in self.files]


@dataclass(frozen=True)
class SigningTemplate:
    artifact_id: int
    name: str
    # The unpacked usr/share/code-signing/NAME directory.
    directory: Path
    packages: dict[str, PackageToSign]

    @property
    def source_template(self) -> Path:
        return self.directory / "source-template"


def contained_file(root: Path, relative: str, what: str) -> Path:
    """`root/relative` if it is a regular file inside `root`, symlinks
    resolved (an unpacked package may hold links to anywhere)."""
    real_root = Path(os.path.realpath(root))
    path = Path(os.path.realpath(root / relative))
    if not path.is_relative_to(real_root) or not path.is_file():
        raise InvalidInput(f"{what} has no regular file {relative}")
    return path


def deb_package_name(task: EnvironmentTask, deb: Path) -> str:
    """The Package field of a .deb, read by dpkg-deb in the environment."""
    found = task.in_environment(
        ["dpkg-deb", "--field", str(deb), "Package"], capture_stdout=True
    )
    name = found.stdout.strip()
    if found.returncode != 0 or not name:
        raise InvalidInput(f"{deb.name} is not a binary package dpkg-deb can read")
    return name


def unpack_deb(task: EnvironmentTask, deb: Path, destination: Path) -> None:
    """`dpkg-deb -x` of `deb` into `destination` (in the environment)."""
    destination.mkdir(parents=True, exist_ok=True)
    unpacked = task.in_environment(["dpkg-deb", "-x", str(deb), str(destination)])
    if unpacked.returncode != 0:
        raise ToolFailed(
            "dpkg-deb-failed",
            f"dpkg-deb cannot unpack {deb.name} (exit status {unpacked.returncode})",
        )


def one_deb(artifact: InputArtifact) -> Path:
    found = debs_of([artifact])
    if artifact.category != ArtifactCategory.BINARY_PACKAGE or len(found) != 1:
        raise InvalidInput(
            f"artifact {artifact.id} ({artifact.category}) is not a "
            "debian:binary-package of one .deb"
        )
    return found[0]


def load_template(
    task: EnvironmentTask, artifact: InputArtifact, destination: Path
) -> SigningTemplate:
    """Unpack the template package into `destination` and read its files.json."""
    deb = one_deb(artifact)
    name = deb_package_name(task, deb)
    unpack_deb(task, deb, destination)
    what = f"signing template {name} (artifact {artifact.id})"
    directory = destination / CODE_SIGNING / name
    files_json = contained_file(
        destination, str(CODE_SIGNING / name / "files.json"), what
    )
    try:
        loaded = FilesJsonSchema().loads(files_json.read_text(encoding="utf-8"))
    except (ValueError, ValidationError) as error:
        detail = error.messages if isinstance(error, ValidationError) else error
        raise InvalidInput(f"{what}: files.json is invalid: {detail}") from None
    packages = {
        package: PackageToSign(
            package,
            list(spec["trusted_certs"]),
            list(dict.fromkeys(entry["file"] for entry in spec["files"])),
        )
        for package, spec in sorted(loaded["packages"].items())
    }
    return SigningTemplate(artifact.id, name, directory, packages)
