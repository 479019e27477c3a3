"""Workspaces: where artifacts, collections and work requests live."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship, validates

from debusine.db.base import Base, created_at_column, enum_values
from debusine.models.validation import (
    RESERVED_WORKSPACE_NAMES,
    DomainError,
    sql_name_check,
    validate_name,
)

if TYPE_CHECKING:
    from debusine.models.auth import Group
    from debusine.models.collections import Collection
    from debusine.models.scopes import Scope


class WorkspaceRoles(enum.StrEnum):
    OWNER = "owner"
    CONTRIBUTOR = "contributor"
    VIEWER = "viewer"


class InheritanceCycle(DomainError):
    pass


class Workspace(Base):
    __tablename__ = "workspace"
    __table_args__ = (
        UniqueConstraint("scope_id", "name"),
        CheckConstraint(
            sql_name_check("name", RESERVED_WORKSPACE_NAMES), name="name_valid"
        ),
        CheckConstraint(
            "default_expiration_delay >= interval '0'",
            name="default_expiration_delay_positive",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    public: Mapped[bool] = mapped_column(default=False, server_default="false")
    # How long a new artifact is kept by default; zero means forever.
    default_expiration_delay: Mapped[dt.timedelta] = mapped_column(
        default=dt.timedelta(0), server_default="0"
    )
    # The workspace itself expires this long after its last activity (for
    # experiment workspaces); NULL means never.
    expiration_delay: Mapped[dt.timedelta | None]
    created_at: Mapped[dt.datetime] = created_at_column()

    scope: Mapped[Scope] = relationship(back_populates="workspaces")
    roles: Mapped[list[WorkspaceRole]] = relationship(
        back_populates="workspace", cascade="all, delete-orphan"
    )
    # The ordered parents this workspace inherits from.
    parent_links: Mapped[list[WorkspaceChain]] = relationship(
        foreign_keys="WorkspaceChain.child_id",
        back_populates="child",
        cascade="all, delete-orphan",
        order_by="WorkspaceChain.order",
    )

    @validates("name")
    def _validate_name(self, key: str, value: str) -> str:
        return validate_name("workspace", value, RESERVED_WORKSPACE_NAMES)

    @property
    def full_name(self) -> str:
        return f"{self.scope.name}/{self.name}"

    @property
    def inherits(self) -> list[Workspace]:
        return [link.parent for link in self.parent_links]

    def set_inheritance(self, session: Session, parents: Sequence[Workspace]) -> None:
        """Replace the inheritance chain, refusing duplicates and cycles."""
        seen: set[int] = set()
        for parent in parents:
            if parent.id in seen:
                raise DomainError(f"workspace {parent.full_name} is listed twice")
            seen.add(parent.id)
            if parent.id == self.id:
                raise InheritanceCycle(f"{self.full_name} cannot inherit from itself")
            if self.id in parent.ancestor_ids(session):
                raise InheritanceCycle(
                    f"{self.full_name} cannot inherit from {parent.full_name}: "
                    f"{parent.full_name} already inherits from {self.full_name}"
                )
        self.parent_links.clear()
        session.flush()
        for order, parent in enumerate(parents):
            self.parent_links.append(WorkspaceChain(parent=parent, order=order))
        session.flush()

    def ancestor_ids(self, session: Session) -> set[int]:
        """Every workspace this one inherits from, directly or not."""
        chain = (
            select(WorkspaceChain.parent_id)
            .where(WorkspaceChain.child_id == self.id)
            .cte("ancestors", recursive=True)
        )
        chain = chain.union(
            select(WorkspaceChain.parent_id).join(
                chain, WorkspaceChain.child_id == chain.c.parent_id
            )
        )
        return set(session.scalars(select(chain.c.parent_id)))

    def create_singleton_collections(self, session: Session) -> list[Collection]:
        """Add the singleton collections (named `_`) this workspace lacks.

        New workspaces get one of each SINGLETON_COLLECTION_CATEGORIES;
        running this again adds nothing. Returns the collections it added.
        """
        from debusine.models.collections import (
            SINGLETON_COLLECTION_CATEGORIES,
            Collection,
        )

        session.flush()
        existing = set(
            session.scalars(
                select(Collection.category).where(
                    Collection.workspace_id == self.id,
                    Collection.name == "_",
                    Collection.category.in_(SINGLETON_COLLECTION_CATEGORIES),
                )
            )
        )
        added = [
            Collection(workspace=self, name="_", category=category)
            for category in sorted(SINGLETON_COLLECTION_CATEGORIES - existing)
        ]
        session.add_all(added)
        session.flush()
        return added


class WorkspaceChain(Base):
    """One link of a workspace's ordered inheritance chain."""

    __tablename__ = "workspace_chain"
    __table_args__ = (
        UniqueConstraint("child_id", "order"),
        CheckConstraint("child_id <> parent_id", name="not_self"),
    )

    child_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True
    )
    parent_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    order: Mapped[int]

    child: Mapped[Workspace] = relationship(
        foreign_keys=[child_id], back_populates="parent_links"
    )
    parent: Mapped[Workspace] = relationship(foreign_keys=[parent_id])


class WorkspaceRole(Base):
    """A role on a workspace, granted to a group."""

    __tablename__ = "workspace_role"
    __table_args__ = (UniqueConstraint("workspace_id", "group_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[WorkspaceRoles] = mapped_column(
        Enum(
            WorkspaceRoles,
            name="workspace_role",
            native_enum=False,
            length=32,
            values_callable=enum_values,
            create_constraint=True,
        )
    )

    workspace: Mapped[Workspace] = relationship(back_populates="roles")
    group: Mapped[Group] = relationship()
