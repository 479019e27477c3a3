"""`debian:environments`: system tarballs and images tasks run in."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from debusine.collections.base import (
    CollectionManager,
    InvalidLookupSegment,
    ItemAdditionError,
    active_items,
    register,
)
from debusine.models import Artifact, CollectionItem

FORMATS = {"debian:system-tarball": "tarball", "debian:system-image": "image"}
MATCH_KEYS = ("format", "codename", "architecture", "variant", "backend")


def parse_match(value: str) -> dict[str, str]:
    """`format=tarball:codename=trixie` as a dict; unknown keys are refused."""
    filters: dict[str, str] = {}
    for part in value.split(":") if value else []:
        key, sep, val = part.partition("=")
        if not sep or key not in MATCH_KEYS:
            raise InvalidLookupSegment(
                f"match: filters are KEY=VALUE with KEY one of"
                f" {', '.join(MATCH_KEYS)}; got {part!r}"
            )
        filters[key] = val
    return filters


@register
class DebianEnvironmentsManager(CollectionManager):
    """One active item per (format, codename, architecture, variant, backend).

    Adding an environment whose key is taken replaces the old one (which
    stays as history); `match:` returns the most recently added match.
    """

    COLLECTION_CATEGORY = "debian:environments"
    VALID_BARE_CATEGORIES = frozenset()
    VALID_ARTIFACT_CATEGORIES = frozenset(FORMATS)
    VALID_COLLECTION_CATEGORIES = frozenset()
    LOOKUP_PREFIXES = ("match",)

    def artifact_item(
        self, artifact: Artifact, variables: Mapping[str, Any], name: str | None
    ) -> tuple[str, dict[str, Any]]:
        format_ = FORMATS[artifact.category]
        codename = variables.get("codename") or artifact.data.get("codename")
        architecture = artifact.data.get("architecture")
        if not codename or not architecture:
            raise ItemAdditionError(
                f"{self._label}: artifact {artifact.id} needs a codename and an"
                " architecture"
            )
        variant = variables.get("variant") or None
        backend = variables.get("backend") or None
        item_name = f"{format_}:{codename}:{architecture}"
        if variant or backend:
            item_name += f":{variant or ''}:{backend or ''}"
        data: dict[str, Any] = {
            "format": format_,
            "codename": codename,
            "architecture": architecture,
            "variant": variant,
            "backend": backend,
        }
        if artifact.data.get("vendor"):
            data["vendor"] = artifact.data["vendor"]
        return item_name, data

    def add_artifact(self, artifact: Artifact, **kwargs: Any) -> CollectionItem:
        kwargs.setdefault("replace", True)
        return super().add_artifact(artifact, **kwargs)

    def do_lookup(self, prefix: str, value: str) -> CollectionItem | None:
        if prefix != "match":
            return super().do_lookup(prefix, value)
        query = active_items(self.collection.id)
        for key, val in parse_match(value).items():
            column = CollectionItem.data[key].astext
            if key in ("variant", "backend") and val == "":
                query = query.where(column.is_(None))
            else:
                query = query.where(column == val)
        query = query.order_by(
            CollectionItem.created_at.desc(), CollectionItem.id.desc()
        ).limit(1)
        return self.session.scalar(query)
