"""Collections and their items (bare data, artifacts or collections)."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from debusine.db.base import Base, JSONDict, created_at_column, enum_values
from debusine.models.validation import NAME_PATTERN, InvalidName, validate_name

if TYPE_CHECKING:
    from debusine.models.artifacts import Artifact
    from debusine.models.work_requests import WorkRequest
    from debusine.models.workspaces import Workspace

# At most one collection of these categories per workspace, named `_`.
SINGLETON_COLLECTION_CATEGORIES = frozenset(
    {"debian:archive", "debian:package-build-logs", "debusine:task-history"}
)
# For the CHECK constraint on collection names: changing the set of singleton
# categories needs a migration.
_SINGLETONS_SQL = ", ".join(f"'{c}'" for c in sorted(SINGLETON_COLLECTION_CATEGORIES))


class RetainsArtifacts(enum.StrEnum):
    NEVER = "never"
    WORKFLOW = "workflow"  # while the workflow that owns it is running
    ALWAYS = "always"


class CollectionItemType(enum.StrEnum):
    BARE = "b"
    ARTIFACT = "a"
    COLLECTION = "c"


class Collection(Base):
    __tablename__ = "collection"
    __table_args__ = (
        UniqueConstraint("workspace_id", "category", "name"),
        # Singleton categories are named `_`; other names follow the usual rule.
        CheckConstraint(
            f"(category IN ({_SINGLETONS_SQL}) AND name = '_')"
            f" OR (category NOT IN ({_SINGLETONS_SQL}) AND name ~ '{NAME_PATTERN}')",
            name="name_valid",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    category: Mapped[str] = mapped_column(String(255))
    full_history_retention_period: Mapped[dt.timedelta | None]
    metadata_only_retention_period: Mapped[dt.timedelta | None]
    retains_artifacts: Mapped[RetainsArtifacts] = mapped_column(
        Enum(
            RetainsArtifacts,
            name="retains_artifacts",
            native_enum=False,
            length=16,
            values_callable=enum_values,
            create_constraint=True,
        ),
        default=RetainsArtifacts.ALWAYS,
        server_default=RetainsArtifacts.ALWAYS.value,
    )
    data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[dt.datetime] = created_at_column()

    workspace: Mapped[Workspace] = relationship()

    @validates("name", "category")
    def _validate_name(self, key: str, value: str) -> str:
        name = value if key == "name" else self.name
        category = value if key == "category" else self.category
        if name is None or category is None:
            if key == "name" and value != "_":
                validate_name("collection", value)
            return value
        check_collection_name(name, category)
        return value


def check_collection_name(name: str, category: str) -> None:
    """Singleton categories are named `_`; others follow the usual name rule."""
    if category in SINGLETON_COLLECTION_CATEGORIES:
        if name != "_":
            raise InvalidName(
                f"collections of the singleton category {category} must be named '_'"
            )
    else:
        validate_name("collection", name)


class CollectionItem(Base):
    __tablename__ = "collection_item"
    __table_args__ = (
        # One active item per name; removed items keep their name as history.
        Index(
            "uq_collection_item_active_name",
            "parent_collection_id",
            "name",
            unique=True,
            postgresql_where=text("removed_at IS NULL"),
        ),
        CheckConstraint(
            "collection_id IS NULL OR collection_id <> parent_collection_id",
            name="not_self",
        ),
        CheckConstraint(
            "(child_type = 'b' AND artifact_id IS NULL AND collection_id IS NULL)"
            " OR (child_type = 'a' AND collection_id IS NULL"
            "     AND (artifact_id IS NOT NULL OR removed_at IS NOT NULL))"
            " OR (child_type = 'c' AND artifact_id IS NULL"
            "     AND (collection_id IS NOT NULL OR removed_at IS NOT NULL))",
            name="child_type_consistent",
        ),
        CheckConstraint(
            "removed_at IS NOT NULL"
            " OR (removed_by_user_id IS NULL AND removed_by_workflow_id IS NULL)",
            name="removed_by_only_when_removed",
        ),
        Index("ix_collection_item_parent_category", "parent_collection_id", "category"),
        # Lookups by package name (`source:`, `binary:`, `latest:`).
        Index(
            "ix_collection_item_active_package",
            "parent_collection_id",
            "category",
            text("(data ->> 'package')"),
            postgresql_where=text("removed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parent_collection_id: Mapped[int] = mapped_column(
        ForeignKey("collection.id", ondelete="CASCADE")
    )
    # Copied from the parent so lookups need not join it.
    parent_category: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    child_type: Mapped[CollectionItemType] = mapped_column(
        Enum(
            CollectionItemType,
            name="collection_item_type",
            native_enum=False,
            length=1,
            values_callable=enum_values,
            create_constraint=True,
        )
    )
    category: Mapped[str] = mapped_column(String(255))
    # Nullable so metadata can outlive the artifact or collection it named.
    artifact_id: Mapped[int | None] = mapped_column(
        ForeignKey("artifact.id", ondelete="SET NULL"), index=True
    )
    collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collection.id", ondelete="SET NULL"), index=True
    )
    data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[dt.datetime] = created_at_column()
    created_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    created_by_workflow_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_request.id", ondelete="SET NULL")
    )
    removed_at: Mapped[dt.datetime | None]
    removed_by_user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    removed_by_workflow_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_request.id", ondelete="SET NULL")
    )

    parent_collection: Mapped[Collection] = relationship(
        foreign_keys=[parent_collection_id]
    )
    artifact: Mapped[Artifact | None] = relationship()
    collection: Mapped[Collection | None] = relationship(foreign_keys=[collection_id])
    # So that an item a workflow adds is inserted after the workflow, when
    # both wait for the same flush.
    created_by_workflow: Mapped[WorkRequest | None] = relationship(
        foreign_keys=[created_by_workflow_id]
    )


class CollectionItemMatchConstraint(Base):
    """A value an item pins for a key, which no other item may contradict.

    For example, a pool file name in a `debian:suite` must always name the
    same file contents, even after the item that first used it was removed.
    The exclusion constraint says: same (collection, constraint, key) implies
    the same value.
    """

    __tablename__ = "collection_item_match_constraint"
    __table_args__ = (
        ExcludeConstraint(
            ("collection_id", "="),
            ("constraint_name", "="),
            ("key", "="),
            ("value", "<>"),
            name="excl_collection_item_match_constraint_match_value",
            using="gist",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collection.id", ondelete="CASCADE")
    )
    # Not a foreign key: the constraint outlives the item.
    collection_item_id: Mapped[int] = mapped_column(index=True)
    constraint_name: Mapped[str] = mapped_column(String(255))
    key: Mapped[str] = mapped_column(String(1024))
    value: Mapped[str] = mapped_column(String(1024))
