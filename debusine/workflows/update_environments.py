"""The `update_environments` workflow: rebuild the vendor's environments.

For each target, each codename and each architecture: one `mmdebstrap`
child (grouped by codename) made from the target's `mmdebstrap_template`,
whose tarball is added on success to `{vendor}@debian:environments` once
for each combination of codename (and its aliases), variant and backend.
"""

from __future__ import annotations

import copy
import itertools
from typing import Any

from marshmallow import fields, validate

from debusine.artifacts.categories import ArtifactCategory
from debusine.collections import ExpectType
from debusine.tasks import TaskDataError, TaskDataSchema, TaskType, get_task
from debusine.tasks.fields import BACKENDS, StrictSchema, architecture
from debusine.workflows.base import Workflow, WorkflowValidationError
from debusine.workflows.reactions import add_event_reaction

NAME_RE = r"^[A-Za-z0-9][A-Za-z0-9.+_-]*$"


def _names(**kwargs: Any) -> fields.List:
    return fields.List(fields.String(validate=validate.Regexp(NAME_RE)), **kwargs)


class UpdateEnvironmentsTarget(StrictSchema):
    codenames = _names(required=True, validate=validate.Length(min=1))
    # Other names each codename's environments are also filed under.
    codename_aliases = fields.Dict(
        keys=fields.String(), values=_names(), load_default=dict
    )
    variants = fields.List(fields.String(), load_default=list)
    backends = fields.List(
        fields.String(validate=validate.OneOf(BACKENDS)), load_default=list
    )
    architectures = fields.List(
        architecture(), required=True, validate=validate.Length(min=1)
    )
    mmdebstrap_template = fields.Dict(required=True)


class UpdateEnvironmentsData(TaskDataSchema):
    vendor = fields.String(required=True, validate=validate.Regexp(NAME_RE))
    targets = fields.List(
        fields.Nested(UpdateEnvironmentsTarget),
        required=True,
        validate=validate.Length(min=1),
    )


class UpdateEnvironmentsWorkflow(Workflow):
    TASK_NAME = "update_environments"
    SCHEMA = UpdateEnvironmentsData

    def build_dynamic_data(self) -> dict[str, Any]:
        codenames = sorted(
            {c for target in self.data["targets"] for c in target["codenames"]}
        )
        return {
            "subject": self.data["vendor"],
            "parameter_summary": f"{self.data['vendor']}: {', '.join(codenames)}",
            "input_artifacts_ids": [],
        }

    def children_data(self) -> list[tuple[dict[str, Any], str, str, dict[str, Any]]]:
        """(target, codename, architecture, mmdebstrap task data) of each child."""
        laid_out = []
        for index, target in enumerate(self.data["targets"]):
            for codename, arch in itertools.product(
                target["codenames"], target["architectures"]
            ):
                task_data = copy.deepcopy(target["mmdebstrap_template"])
                options = task_data.setdefault("bootstrap_options", {})
                if not isinstance(options, dict):
                    options = task_data["bootstrap_options"] = {}
                options["architecture"] = arch
                for repository in task_data.get("bootstrap_repositories") or []:
                    if isinstance(repository, dict):
                        repository.setdefault("suite", codename)
                try:
                    get_task(TaskType.WORKER, "mmdebstrap", task_data)
                except TaskDataError as exc:
                    raise WorkflowValidationError(
                        f"targets[{index}].mmdebstrap_template: {exc}"
                    ) from exc
                laid_out.append((target, codename, arch, task_data))
        return laid_out

    def environments_collection(self) -> str:
        """The lookup of the collection the tarballs go to; it must exist.

        Checked before any child runs: otherwise mmdebstrap would build
        for minutes before its event reaction fails to file the tarball.
        """
        collection = f"{self.data['vendor']}@debian:environments"
        try:
            self.lookup(collection, expect_type=ExpectType.COLLECTION)
        except LookupError as exc:
            raise WorkflowValidationError(
                f"vendor: {exc} in {self.workspace.full_name} or the workspaces it"
                f" inherits (the tarballs are added to it); create it with"
                f" `debusine-admin create-collection"
                f" {self.workspace.full_name} {self.data['vendor']}"
                f" debian:environments`"
            ) from exc
        return collection

    def validate_input(self) -> None:
        self.children_data()
        self.environments_collection()

    def populate(self) -> None:
        collection = self.environments_collection()
        for target, codename, arch, task_data in self.children_data():
            child = self.work_request_ensure_child(
                task_type=TaskType.WORKER,
                task_name="mmdebstrap",
                task_data=task_data,
                workflow_data={
                    "display_name": f"Build tarball for {codename}/{arch}",
                    "step": f"mmdebstrap-{codename}-{arch}",
                    "group": codename,
                },
            )
            names = [codename, *target["codename_aliases"].get(codename, [])]
            for name, variant, backend in itertools.product(
                names, target["variants"] or [None], target["backends"] or [None]
            ):
                add_event_reaction(
                    child,
                    "on_success",
                    {
                        "action": "update-collection-with-artifacts",
                        "collection": collection,
                        "variables": {
                            "codename": name,
                            "variant": variant,
                            "backend": backend,
                        },
                        "artifact_filters": {
                            "category": ArtifactCategory.SYSTEM_TARBALL.value
                        },
                    },
                )
