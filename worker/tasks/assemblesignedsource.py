"""`assemblesignedsource` on the worker: the signed source package.

The template package's `source-template/` tree is copied, each signature of
the `debusine:signing-output` artifacts is added as
`debian/signatures/PACKAGE/PATH.sig`, and in the task's environment
`dpkg-source -b` builds the source package and `dpkg-genchanges -S` its
source-only `.changes`. Every file the template's files.json lists must
have been signed, and nothing else. The outputs are a
`debian:source-package`, `built-using` the template and the binary
artifacts the signed files came from, and a `debian:upload` that extends
and relates to it.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from debian.changelog import Changelog, ChangelogParseError

from debusine.artifacts.categories import ArtifactCategory
from debusine.artifacts.local import (
    InvalidLocalArtifact,
    LocalArtifact,
    source_package_from_dsc,
    upload_from_changes,
)
from debusine.client.errors import ClientError
from worker.tasks.base import InputArtifact, InputDownloadFailed
from worker.tasks.environment_task import EnvironmentTask
from worker.tasks.signing_template import (
    SigningTemplate,
    contained_file,
    load_template,
)
from worker.tasks.tool_task import (
    InvalidInput,
    ToolFailed,
    ToolOutputNotUnderstood,
)


class AssembleSignedSourceTask(EnvironmentTask):
    NAME = "assemblesignedsource"
    TOOL = "dpkg-source"
    PACKAGE = "dpkg-dev"

    def execute(self) -> bool:
        work = self.context.work_directory
        template = load_template(self, self.inputs("template_id")[0], work / "template")
        signed = self.inputs("signed_ids")
        signatures = self._signatures(template, signed)
        if not (template.source_template / "debian").is_dir():
            raise InvalidInput(
                f"signing template {template.name} (artifact {template.artifact_id}) "
                "has no source-template/debian directory"
            )
        # Links stay links: the template's content is never followed on the host.
        copied = work / "signed-source" / "template"
        shutil.copytree(template.source_template, copied, symlinks=True)
        # dpkg-source names the tarball's directory after the tree's.
        tree = copied.rename(copied.with_name(_tree_name(template, copied)))
        for name, local in sorted(signatures.items()):
            target = _inside(tree, f"debian/signatures/{name}.sig")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(local, target)
        self.log(f"template {template.name}: {len(signatures)} signatures added")
        source = self._build_source(tree)
        built_using = [template.artifact_id, *self._signed_binaries(signed)]
        source_id = self.upload_artifact(
            source.category,
            source.files,
            source.data,
            relations=[("built-using", i) for i in dict.fromkeys(built_using)],
        )
        upload = self._build_changes(tree, source.data)
        self.upload_artifact(
            upload.category,
            upload.files,
            upload.data,
            relations=[("extends", source_id), ("relates-to", source_id)],
        )
        return True

    def _signatures(
        self, template: SigningTemplate, signed: list[InputArtifact]
    ) -> dict[str, Path]:
        """The local signature of each `PACKAGE/PATH` the template lists."""
        expected = {
            name
            for package in template.packages.values()
            for name in package.signed_names()
        }
        found: dict[str, Path] = {}
        for artifact in signed:
            if artifact.category != ArtifactCategory.SIGNING_OUTPUT:
                raise InvalidInput(
                    f"artifact {artifact.id} ({artifact.category}) is not a "
                    "debusine:signing-output"
                )
            for result in artifact.data.get("results") or []:
                name = str(result.get("file"))
                if result.get("error_message"):
                    raise InvalidInput(
                        f"{name} was not signed (artifact {artifact.id}): "
                        f"{result['error_message']}"
                    )
                if name not in expected:
                    raise InvalidInput(
                        f"artifact {artifact.id} signs {name}, which signing "
                        f"template {template.name} does not list"
                    )
                output = artifact.files.get(str(result.get("output_file")))
                if output is None:
                    raise InvalidInput(
                        f"artifact {artifact.id} has no file "
                        f"{result.get('output_file')} (the signature of {name})"
                    )
                found[name] = output
        unsigned = sorted(expected - set(found))
        if unsigned:
            raise InvalidInput(
                f"signing template {template.name} lists files that no "
                f"signing output signs: {', '.join(unsigned)}"
            )
        return found

    def _signed_binaries(self, signed: list[InputArtifact]) -> list[int]:
        """The artifacts the signed files came from: signing output
        relates to signing input, which relates to the binaries."""
        inputs = [i for artifact in signed for i in self._relates_to(artifact.id)]
        return [i for input_id in inputs for i in self._relates_to(input_id)]

    def _relates_to(self, artifact_id: int) -> list[int]:
        client = self.api(InputDownloadFailed)
        try:
            relations = client.get(
                "/artifact-relation/", params={"artifact": artifact_id}
            )
        except ClientError as error:
            raise InputDownloadFailed(
                f"relations of artifact {artifact_id}: {error}"
            ) from None
        return [int(r["target"]) for r in relations if r["type"] == "relates-to"]

    def _build_source(self, tree: Path) -> LocalArtifact:
        built = self.in_environment(["dpkg-source", "-b", tree.name], cwd=tree.parent)
        dscs = files_ending_in(tree.parent, ".dsc")
        if built.returncode != 0 or len(dscs) != 1:
            raise ToolFailed(
                "dpkg-source-failed",
                "dpkg-source cannot build the signed source package "
                f"(exit status {built.returncode})",
            )
        try:
            return source_package_from_dsc(dscs[0])
        except InvalidLocalArtifact as error:
            raise ToolOutputNotUnderstood(str(error)) from None

    def _build_changes(self, tree: Path, source: Mapping[str, Any]) -> LocalArtifact:
        plain_version = str(source["version"]).split(":", 1)[-1]
        changes = tree.parent / f"{source['name']}_{plain_version}_source.changes"
        made = self.in_environment(["dpkg-genchanges", "-S", f"-O{changes}"], cwd=tree)
        if made.returncode != 0 or not changes.is_file():
            raise ToolFailed(
                "dpkg-genchanges-failed",
                f"dpkg-genchanges failed with exit status {made.returncode}",
            )
        try:
            return upload_from_changes(changes).artifacts[0]
        except InvalidLocalArtifact as error:
            raise ToolOutputNotUnderstood(str(error)) from None


def files_ending_in(directory: Path, suffix: str) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name.endswith(suffix))


def _inside(tree: Path, relative: str) -> Path:
    """`tree/relative`, refusing a path through a link of the template (a
    link could point the copy anywhere on the worker); a link in its place
    is replaced."""
    path = tree
    for part in Path(relative).parent.parts:
        path = path / part
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise InvalidInput(
                f"the signing template's source-template/{path.relative_to(tree)} "
                "is not a directory"
            )
    target = tree / relative
    if target.is_symlink():
        target.unlink()
    return target


def _tree_name(template: SigningTemplate, tree: Path) -> str:
    """`SOURCE-UPSTREAMVERSION` from the source template's changelog."""
    what = f"signing template {template.name}'s source-template"
    changelog = contained_file(tree, "debian/changelog", what)
    try:
        parsed = Changelog(changelog.read_text(encoding="utf-8"), max_blocks=1)
        name, version = parsed.package, parsed.version
    except (ChangelogParseError, ValueError) as error:
        raise InvalidInput(f"{what}: debian/changelog is invalid: {error}") from None
    if not name or version is None or "/" in name:
        raise InvalidInput(f"{what}: debian/changelog names no source and version")
    return f"{name}-{version.upstream_version}"
