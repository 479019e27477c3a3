"""The `blhc` workflow: check build logs for missing hardening flags.

One `blhc` task per `debian:package-build-log` artifact that
`package_build_logs` finds (typically the logs in
`_@debian:package-build-logs` of the builds that made some binaries:
`lookup__same_work_request`). Each task is named for the log's
architecture (`blhc-{arch}`; `blhc-{arch}-{artifact id}` when several logs
share one) and promises its `debian:blhc` as `{prefix}` plus that name.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from marshmallow import fields, validate

from debusine.artifacts.categories import ArtifactCategory
from debusine.collections import ExpectType, LookupResult
from debusine.models import Artifact
from debusine.tasks import TaskDataSchema, TaskType
from debusine.tasks.blhc import EXTRA_FLAGS
from debusine.tasks.fields import LookupMultiple, flags
from debusine.workflows.base import Workflow, WorkflowValidationError


class BlhcWorkflowData(TaskDataSchema):
    prefix = fields.String(
        load_default="", validate=validate.Regexp(r"^[^/]*$", error="No '/' allowed.")
    )
    package_build_logs = LookupMultiple(required=True)
    extra_flags = flags(EXTRA_FLAGS)


def _architecture(result: LookupResult, artifact: Artifact) -> str:
    """The log's architecture: its own data, else its collection item's."""
    item_data = result.collection_item.data if result.collection_item else {}
    value = artifact.data.get("architecture") or item_data.get("architecture")
    return str(value) if value else "unknown"


class BlhcWorkflow(Workflow):
    """One `blhc` per build log; see the module docstring."""

    TASK_NAME = "blhc"
    SCHEMA = BlhcWorkflowData

    def build_logs(self) -> list[tuple[str, Artifact]]:
        """Each build log with the name of its step, in lookup order."""
        try:
            results = self.lookup_multiple(
                self.data["package_build_logs"], expect_type=ExpectType.ARTIFACT
            )
        except LookupError as exc:
            raise WorkflowValidationError(f"package_build_logs: {exc}") from exc
        logs: list[tuple[str, Artifact]] = []
        seen: set[int] = set()
        for result in results:
            artifact = result.artifact
            assert artifact is not None  # an ARTIFACT lookup has one
            if artifact.category != ArtifactCategory.PACKAGE_BUILD_LOG:
                raise WorkflowValidationError(
                    f"package_build_logs: artifact {artifact.id} is a"
                    f" {artifact.category}, not a"
                    f" {ArtifactCategory.PACKAGE_BUILD_LOG}"
                )
            if artifact.id not in seen:
                seen.add(artifact.id)
                logs.append((_architecture(result, artifact), artifact))
        shared = Counter(arch for arch, _ in logs)
        return [
            (
                f"blhc-{arch}" if shared[arch] == 1 else f"blhc-{arch}-{log.id}",
                log,
            )
            for arch, log in logs
        ]

    def validate_input(self) -> None:
        self.build_logs()

    def build_dynamic_data(self) -> dict[str, Any]:
        logs = self.build_logs()
        return {
            "subject": None,
            "parameter_summary": f"{len(logs)} build log(s)",
            "input_artifacts_ids": sorted(log.id for _, log in logs),
        }

    def populate(self) -> None:
        for step, log in self.build_logs():
            task_data: dict[str, Any] = {
                "input": {"artifact": f"{log.id}@artifacts"},
                "extra_flags": self.data["extra_flags"],
            }
            source = " ".join(
                str(log.data[key]) for key in ("source", "version") if log.data.get(key)
            )
            child = self.work_request_ensure_child(
                task_type=TaskType.WORKER,
                task_name="blhc",
                task_data=task_data,
                workflow_data={
                    "display_name": f"blhc {source} {step.removeprefix('blhc-')}",
                    "step": step,
                },
            )
            self.provides_artifact(
                child,
                ArtifactCategory.BLHC,
                f"{self.data['prefix']}{step}",
                data={"architecture": step.removeprefix("blhc-")},
            )
