"""The `sbuild` workflow: build a source package on each of its architectures.

The architectures built are the requested ones the source's `Architecture`
field allows; `all` is built on `arch_all_host_architecture`. Each build
promises `{prefix}build-{arch}` (a debian:upload) and the signing
templates named for its architecture, files its log in
`_@debian:package-build-logs` (when the workspace has one), and is
retried after `retry_delays` when it fails.
"""

from __future__ import annotations

from typing import Any

from marshmallow import ValidationError, fields, validate, validates_schema

from debusine.artifacts.categories import ArtifactCategory
from debusine.models import Artifact
from debusine.tasks import TaskDataSchema, TaskType
from debusine.tasks.fields import (
    LookupSingle,
    StrictSchema,
    architecture,
    backend,
    distribution,
    extra_repositories,
)
from debusine.tasks.sbuild import PROFILE_RE, SbuildBinNMU
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.reactions import record_build_log, retry_with_delays
from debusine.workflows.workflow_utils import (
    configure_for_overlay_suite,
    locate_debian_source_package_lookup,
    overlay_base_suite,
    source_package,
)

DELAY_RE = r"^[1-9][0-9]*[mhdw]$"


def architecture_matches(wildcard: str, arch: str) -> bool:
    """Whether a Debian architecture (`amd64`, `hurd-i386`) matches `wildcard`.

    Wildcards are `any`, `OS-any` and `any-CPU` (dpkg's short forms); a
    plain name matches only itself.
    """
    if wildcard in ("any", arch):
        return arch != "all"
    os_, _, cpu = arch.rpartition("-")
    os_ = os_ or "linux"
    wild_os, sep, wild_cpu = wildcard.partition("-")
    if not sep or arch == "all":
        return False
    return (wild_os in ("any", os_)) and (wild_cpu in ("any", cpu))


def buildable(source_architectures: list[str], arch: str) -> bool:
    if arch == "all":
        return "all" in source_architectures
    return any(architecture_matches(w, arch) for w in source_architectures)


def binary_names(source: Artifact, arch: str) -> list[str]:
    """The binaries a build of `source` for `arch` makes (from Package-List)."""
    dsc = source.data.get("dsc_fields") or {}
    names: list[str] = []
    for line in str(dsc.get("Package-List") or "").splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        options = dict(p.split("=", 1) for p in parts[4:] if "=" in p)
        arches = options.get("arch", "any").split(",")
        if buildable(arches, arch):
            names.append(parts[0])
    if not names and dsc.get("Binary"):
        names = [n.strip() for n in str(dsc["Binary"]).split(",") if n.strip()]
    return sorted(set(names))


class SbuildWorkflowInput(StrictSchema):
    source_artifact = LookupSingle(required=True)


class SbuildWorkflowData(TaskDataSchema):
    prefix = fields.String(
        load_default="", validate=validate.Regexp(r"^[^/]*$", error="No '/' allowed.")
    )
    input = fields.Nested(SbuildWorkflowInput, required=True)
    target_distribution = distribution(required=True)
    backend = backend()
    architectures = fields.List(
        architecture(), required=True, validate=validate.Length(min=1)
    )
    arch_all_host_architecture = architecture(load_default="amd64")
    environment_variant = fields.String(load_default=None, allow_none=True)
    build_profiles = fields.List(
        fields.String(validate=validate.Regexp(PROFILE_RE)),
        load_default=None,
        allow_none=True,
    )
    binnmu = fields.Nested(SbuildBinNMU, load_default=None, allow_none=True)
    extra_repositories = extra_repositories()
    retry_delays = fields.List(
        fields.String(
            validate=validate.Regexp(
                DELAY_RE, error="Not a delay like 30m, 2h, 1d, 1w."
            )
        ),
        load_default=None,
        allow_none=True,
    )
    # Per architecture, binary packages holding signing templates.
    signing_template_names = fields.Dict(
        keys=architecture(),
        values=fields.List(fields.String(validate=validate.Length(min=1))),
        load_default=dict,
    )

    @validates_schema
    def _arch_all_host_is_concrete(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("arch_all_host_architecture") == "all":
            raise ValidationError(
                "Must be a concrete architecture.", "arch_all_host_architecture"
            )


class SbuildWorkflow(Workflow):
    """One `sbuild` per architecture; see the module docstring."""

    TASK_NAME = "sbuild"
    SCHEMA = SbuildWorkflowData

    @property
    def vendor_codename(self) -> tuple[str, str]:
        vendor, _, codename = self.data["target_distribution"].partition(":")
        return vendor, codename

    def source(self) -> Artifact:
        return source_package(self)

    def architectures(self, source: Artifact) -> list[str]:
        """The requested architectures the source builds on, sorted."""
        declared = str((source.data.get("dsc_fields") or {}).get("Architecture", ""))
        wanted = [
            arch
            for arch in dict.fromkeys(self.data["architectures"])
            if buildable(declared.split(), arch)
        ]
        if not wanted:
            raise WorkflowValidationError(
                f"architectures: none of {', '.join(self.data['architectures'])}"
                f" is built by {source.data.get('name')} (Architecture: {declared})"
            )
        return sorted(wanted)

    def validate_input(self) -> None:
        self.architectures(self.source())

    def build_dynamic_data(self) -> dict[str, Any]:
        source = self.source()
        name, version = source.data.get("name"), source.data.get("version")
        return {
            "subject": name,
            "parameter_summary": f"{name}_{version}",
            "input_artifacts_ids": [source.id],
        }

    def environment(self, codename: str) -> str:
        vendor, _ = self.vendor_codename
        lookup = f"{vendor}/match:codename={codename}"
        if self.data["environment_variant"]:
            lookup += f":variant={self.data['environment_variant']}"
        return lookup

    def build_task_data(
        self, source_lookup: int | str, arch: str, host: str
    ) -> dict[str, Any]:
        vendor, codename = self.vendor_codename
        environment = self.environment(overlay_base_suite(vendor, codename) or codename)
        task_data: dict[str, Any] = {
            "input": {"source_artifact": source_lookup},
            "host_architecture": host,
            "environment": environment,
            "backend": self.data["backend"],
            "build_components": ["all"] if arch == "all" else ["any"],
        }
        repositories = configure_for_overlay_suite(
            self,
            extra_repositories=self.data["extra_repositories"],
            vendor=vendor,
            codename=codename,
            environment=vendor,
            backend=self.data["backend"],
            architecture=host,
            try_variant="sbuild",
        )
        optional = {
            "build_profiles": self.data["build_profiles"],
            "binnmu": self.data["binnmu"],
            "extra_repositories": repositories,
        }
        task_data.update({k: v for k, v in optional.items() if v is not None})
        return task_data

    def has_build_logs_collection(self) -> bool:
        try:
            self.lookup_singleton_collection("debian:package-build-logs")
        except LookupError:
            return False
        return True

    def populate(self) -> None:
        source = self.source()
        source_lookup = locate_debian_source_package_lookup(
            self, "input.source_artifact", self.data["input"]["source_artifact"]
        )
        vendor, codename = self.vendor_codename
        prefix = self.data["prefix"]
        build_logs = self.has_build_logs_collection()
        for arch in self.architectures(source):
            host = self.data["arch_all_host_architecture"] if arch == "all" else arch
            build = self.work_request_ensure_child(
                task_type=TaskType.WORKER,
                task_name="sbuild",
                task_data=self.build_task_data(source_lookup, arch, host),
                workflow_data={
                    "display_name": f"Build {arch}",
                    "step": f"build-{arch}",
                },
            )
            if build_logs:
                record_build_log(
                    build,
                    {
                        "vendor": vendor,
                        "codename": codename,
                        "architecture": arch,
                        "srcpkg_name": source.data.get("name"),
                        "srcpkg_version": source.data.get("version"),
                    },
                )
            if self.data["retry_delays"]:
                retry_with_delays(build, self.data["retry_delays"])
            self.provides_artifact(
                build,
                ArtifactCategory.UPLOAD,
                f"{prefix}build-{arch}",
                data={
                    "architecture": arch,
                    "binary_names": binary_names(source, arch),
                    "source_package_name": source.data.get("name"),
                },
            )
            for package in self.data["signing_template_names"].get(arch, []):
                self.provides_artifact(
                    build,
                    ArtifactCategory.BINARY_PACKAGE,
                    f"{prefix}signing-template-{arch}-{package}",
                    data={"architecture": arch, "binary_package_name": package},
                    artifact_filters={"data__deb_fields__Package": package},
                )
