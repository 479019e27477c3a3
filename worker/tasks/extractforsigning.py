"""`extractforsigning` on the worker: the files a signing template lists.

The template package's files.json names, per binary package, the files to
sign. Each of those packages must be among the binary artifacts (a
`debian:binary-package` or a `debian:upload` holding its .deb); it is
unpacked with `dpkg-deb` in the task's environment and its listed files
become one `debusine:signing-input` artifact (paths `PACKAGE/PATH`, with the
package's trusted certificates), related to the artifact of the package.
Every package is checked before anything is stored: bad input leaves no
partial set of signing inputs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.local import file_sha256
from worker.tasks.environment_task import EnvironmentTask
from worker.tasks.signing_template import (
    PackageToSign,
    contained_file,
    deb_package_name,
    load_template,
    unpack_deb,
)
from worker.tasks.tool_task import InvalidInput, debs_of


@dataclass(frozen=True)
class _Deb:
    artifact_id: int
    path: Path


class ExtractForSigningTask(EnvironmentTask):
    NAME = "extractforsigning"
    TOOL = "dpkg-deb"
    PACKAGE = "dpkg"

    def execute(self) -> bool:
        work = self.context.work_directory
        template = load_template(
            self, self.inputs("template_artifact_id")[0], work / "template"
        )
        self.log(
            f"template {template.name}: signs files of "
            + ", ".join(sorted(template.packages))
        )
        debs = self._debs_by_package()
        missing = sorted(set(template.packages) - set(debs))
        if missing:
            raise InvalidInput(
                f"signing template {template.name} lists packages that are not "
                f"among the binary artifacts: {', '.join(missing)}"
            )
        extracted = [
            (
                package,
                debs[package.name].artifact_id,
                self._extract(package, debs[package.name]),
            )
            for package in template.packages.values()
        ]
        for package, artifact_id, files in extracted:
            self.upload_artifact(
                ArtifactCategory.SIGNING_INPUT,
                files,
                {
                    "trusted_certs": package.trusted_certs or None,
                    "binary_package_name": package.name,
                },
                relations=[("relates-to", artifact_id)],
            )
        return True

    def _debs_by_package(self) -> dict[str, _Deb]:
        """Each package of the binary artifacts, by name."""
        found: dict[str, _Deb] = {}
        for artifact in self.inputs("binary_artifacts_ids"):
            if artifact.category not in (
                ArtifactCategory.BINARY_PACKAGE,
                ArtifactCategory.UPLOAD,
            ):
                raise InvalidInput(
                    f"artifact {artifact.id} ({artifact.category}) is not a "
                    "debian:binary-package or debian:upload"
                )
            for deb in debs_of([artifact]):
                name = deb_package_name(self, deb)
                seen = found.get(name)
                # The same package may come both alone and in an upload.
                if seen and file_sha256(seen.path) != file_sha256(deb):
                    raise InvalidInput(
                        f"the binary artifacts hold two different packages {name} "
                        f"(artifacts {seen.artifact_id} and {artifact.id})"
                    )
                found.setdefault(name, _Deb(artifact.id, deb))
        return found

    def _extract(self, package: PackageToSign, deb: _Deb) -> dict[str, Path]:
        """The files to sign of `package`, by their signing-input path."""
        root = self.context.work_directory / "unpacked" / package.name
        unpack_deb(self, deb.path, root)
        what = f"package {package.name} (artifact {deb.artifact_id})"
        return {
            name: contained_file(root, path, what)
            for name, path in zip(package.signed_names(), package.files, strict=True)
        }
