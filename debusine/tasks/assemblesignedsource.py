"""`assemblesignedsource` (Worker): a signed source from a template and signatures."""

from __future__ import annotations

from debusine.tasks.base import (
    BaseTask,
    TaskDataSchema,
    environment_lookup,
    multiple_lookup,
    single_lookup,
)
from debusine.tasks.fields import LookupMultiple, LookupSingle, backend, environment
from debusine.tasks.types import TaskType


class AssembleSignedSourceData(TaskDataSchema):
    environment = environment(required=True)
    backend = backend()
    # The debian:binary-package holding the signing template.
    template = LookupSingle(required=True)
    # The debusine:signing-output artifacts with the signatures.
    signed = LookupMultiple(required=True)


class AssembleSignedSource(BaseTask):
    """Stores a debian:source-package and its debian:upload."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "assemblesignedsource"
    SCHEMA = AssembleSignedSourceData
    EXECUTOR_BACKEND = "unshare"
    LOOKUPS = (
        single_lookup("template"),
        multiple_lookup("signed"),
        environment_lookup(),
    )
