"""`debian:suite-lintian`: lintian results derived from a suite."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from debusine.collections.base import (
    CollectionManager,
    ItemAdditionError,
    active_items,
    register,
)
from debusine.collections.debian_suite import _split, highest_version
from debusine.models import Artifact, CollectionItem

LINTIAN = "debian:lintian"


@register
class DebianSuiteLintianManager(CollectionManager):
    COLLECTION_CATEGORY = "debian:suite-lintian"
    VALID_BARE_CATEGORIES = frozenset()
    VALID_ARTIFACT_CATEGORIES = frozenset({LINTIAN})
    VALID_COLLECTION_CATEGORIES = frozenset()
    LOOKUP_PREFIXES = ("latest", "version")

    def artifact_item(
        self, artifact: Artifact, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        values = {**artifact.data, **variables}
        missing = [
            key for key in ("package", "version", "architecture") if not values.get(key)
        ]
        if missing:
            raise ItemAdditionError(
                f"{self._label}: a lintian item needs {', '.join(missing)}"
            )
        data = {
            "package": values["package"],
            "version": values["version"],
            "architecture": values["architecture"],
            "derived_from": list(values.get("derived_from", [])),
        }
        return f"{data['package']}_{data['version']}_{data['architecture']}", data

    def do_lookup(self, prefix: str, value: str) -> CollectionItem | None:
        if prefix == "latest":
            package, arch = _split(value, 2, "latest:PACKAGE_ARCH")
            return highest_version(
                list(
                    self.session.scalars(
                        active_items(self.collection.id).where(
                            CollectionItem.data["package"].astext == package,
                            CollectionItem.data["architecture"].astext == arch,
                        )
                    )
                )
            )
        if prefix == "version":
            package, version, arch = _split(value, 3, "version:PACKAGE_VERSION_ARCH")
            return self.lookup_name(f"{package}_{version}_{arch}")
        return super().do_lookup(prefix, value)
