"""The artifact and bare-data categories Debusine knows (inventory §7).

Categories in the `debian:` and `debusine:` namespaces are reserved: only
those listed here may be used. Any other category (`mycompany:report`) is
accepted with arbitrary data, as upstream does for user-defined categories.
"""

from __future__ import annotations

import enum

RESERVED_NAMESPACES = ("debian:", "debusine:")


class ArtifactCategory(enum.StrEnum):
    SOURCE_PACKAGE = "debian:source-package"
    BINARY_PACKAGE = "debian:binary-package"
    BINARY_PACKAGES = "debian:binary-packages"
    UPLOAD = "debian:upload"
    PACKAGE_BUILD_LOG = "debian:package-build-log"
    LINTIAN = "debian:lintian"
    AUTOPKGTEST = "debian:autopkgtest"
    BLHC = "debian:blhc"
    DEBDIFF = "debian:debdiff"
    SYSTEM_TARBALL = "debian:system-tarball"
    SYSTEM_IMAGE = "debian:system-image"
    REPOSITORY_INDEX = "debian:repository-index"
    SIGNING_INPUT = "debusine:signing-input"
    SIGNING_OUTPUT = "debusine:signing-output"
    WORK_REQUEST_DEBUG_LOGS = "debusine:work-request-debug-logs"
    TEST = "debusine:test"


class BareDataCategory(enum.StrEnum):
    """Categories of collection items that carry data but no artifact."""

    PROMISE = "debusine:promise"
    HISTORICAL_TASK_RUN = "debusine:historical-task-run"
    TASK_CONFIGURATION = "debusine:task-configuration"
    PACKAGE_BUILD_LOG = "debian:package-build-log"
    QA_RESULT = "debian:qa-result"


def is_reserved_category(category: str) -> bool:
    """Whether `category` is in a namespace whose categories must be known."""
    return category.startswith(RESERVED_NAMESPACES)


class ArtifactRelationType(enum.StrEnum):
    """How one artifact relates to another."""

    EXTENDS = "extends"
    RELATES_TO = "relates-to"
    BUILT_USING = "built-using"


class AssetCategory(enum.StrEnum):
    SIGNING_KEY = "debusine:signing-key"
    CLOUD_PROVIDER_ACCOUNT = "debusine:cloud-provider-account"
