"""Workflows: the Workflow base class, its helpers, one module per workflow.

Importing this package registers every workflow (and the internal
callback and synchronization-point tasks) in the task registry.
"""

from debusine.workflows import (  # noqa: F401  (registers them)
    autopkgtest,
    blhc,
    debdiff,
    debian_pipeline,
    internal,
    lintian,
    make_signed_source,
    noop,
    package_publish,
    package_upload,
    piuparts,
    qa,
    reverse_dependencies_autopkgtest,
    sbuild,
    update_environments,
)
from debusine.workflows.base import (
    Workflow,
    WorkflowRunError,
    WorkflowValidationError,
    ensure_internal_collection,
    get_workflow,
    orchestrate_workflow,
)

__all__ = [
    "Workflow",
    "WorkflowRunError",
    "WorkflowValidationError",
    "ensure_internal_collection",
    "get_workflow",
    "orchestrate_workflow",
]
