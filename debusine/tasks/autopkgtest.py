"""`autopkgtest` (Worker): run a source package's tests on its binaries."""

from __future__ import annotations

from typing import Any

from marshmallow import fields, validate

from debusine.tasks.base import (
    BaseTask,
    Resolved,
    TaskDataSchema,
    environment_lookup,
    multiple_lookup,
    single_lookup,
)
from debusine.tasks.describe import describe_source_and_environment
from debusine.tasks.fields import (
    LookupMultiple,
    LookupSingle,
    StrictSchema,
    architecture,
    backend,
    environment,
    extra_repositories,
)
from debusine.tasks.types import TaskType

NEEDS_INTERNET = ("run", "try", "skip")
TEST_NAME_RE = r"^[A-Za-z0-9*][A-Za-z0-9_.+@*-]*$"
ENV_NAME_RE = r"^[A-Za-z_][A-Za-z0-9_]*$"


class AutopkgtestInput(StrictSchema):
    source_artifact = LookupSingle(required=True)
    binary_artifacts = LookupMultiple(required=True)
    # Binaries of other packages the tests need (e.g. reverse dependencies).
    context_artifacts = LookupMultiple(load_default=list)


class AutopkgtestFailOn(StrictSchema):
    failed_test = fields.Boolean(load_default=True)
    flaky_test = fields.Boolean(load_default=False)
    skipped_test = fields.Boolean(load_default=False)


def _seconds() -> fields.Integer:
    return fields.Integer(strict=True, validate=validate.Range(min=1))


# autopkgtest's --timeout-* options (seconds; `factor` multiplies them).
# Built from a dict: `global` is a Python keyword, and the loaded data
# must keep the key users wrote.
AutopkgtestTimeout = type(
    "AutopkgtestTimeout",
    (StrictSchema,),
    {
        "global": _seconds(),
        "factor": fields.Float(
            allow_nan=False, validate=validate.Range(min=0, min_inclusive=False)
        ),
        **{kind: _seconds() for kind in ("short", "install", "test", "copy", "build")},
    },
)


def _test_names() -> fields.List:
    return fields.List(
        fields.String(validate=validate.Regexp(TEST_NAME_RE, error="Not a test name.")),
        load_default=list,
    )


class AutopkgtestData(TaskDataSchema):
    input = fields.Nested(AutopkgtestInput, required=True)
    host_architecture = architecture(required=True)
    environment = environment(required=True)
    backend = backend()
    include_tests = _test_names()
    exclude_tests = _test_names()
    debug_level = fields.Integer(
        strict=True, load_default=0, validate=validate.Range(min=0, max=3)
    )
    use_packages_from_base_repository = fields.Boolean(load_default=False)
    extra_repositories = extra_repositories()
    extra_environment = fields.Dict(
        keys=fields.String(validate=validate.Regexp(ENV_NAME_RE)),
        values=fields.String(),
        load_default=dict,
    )
    needs_internet = fields.String(
        load_default="run", validate=validate.OneOf(NEEDS_INTERNET)
    )
    fail_on = fields.Nested(
        AutopkgtestFailOn, load_default=lambda: AutopkgtestFailOn().load({})
    )
    timeout = fields.Nested(AutopkgtestTimeout, load_default=None, allow_none=True)


class Autopkgtest(BaseTask):
    """Runs autopkgtest in an unshare testbed made from `environment`."""

    TASK_TYPE = TaskType.WORKER
    TASK_NAME = "autopkgtest"
    SCHEMA = AutopkgtestData
    EXECUTOR_BACKEND = "unshare"
    REQUIRED_TOOLS = ("autopkgtest:available",)
    LOOKUPS = (
        single_lookup("input.source_artifact"),
        multiple_lookup("input.binary_artifacts"),
        multiple_lookup("input.context_artifacts"),
        environment_lookup(),
    )

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        return describe_source_and_environment(resolved, "source_artifact_id")
