"""Scopes: the tenants of an instance, with their owners and file stores."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from debusine.db.base import Base, created_at_column, enum_values
from debusine.models.validation import (
    RESERVED_SCOPE_NAMES,
    sql_name_check,
    validate_name,
)

if TYPE_CHECKING:
    from debusine.models.auth import Group
    from debusine.models.files import FileStore
    from debusine.models.workspaces import Workspace


class ScopeRoles(enum.StrEnum):
    OWNER = "owner"


class Scope(Base):
    __tablename__ = "scope"
    __table_args__ = (
        CheckConstraint(
            sql_name_check("name", RESERVED_SCOPE_NAMES), name="name_valid"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    label: Mapped[str] = mapped_column(String(255), unique=True)
    icon: Mapped[str] = mapped_column(String(255), default="", server_default="")
    created_at: Mapped[dt.datetime] = created_at_column()

    # A scope with workspaces cannot be deleted: leave it to the database's
    # RESTRICT rather than have the ORM try to orphan the workspaces.
    workspaces: Mapped[list[Workspace]] = relationship(
        back_populates="scope", passive_deletes="all"
    )
    groups: Mapped[list[Group]] = relationship(
        back_populates="scope", cascade="all, delete-orphan", passive_deletes=True
    )
    roles: Mapped[list[ScopeRole]] = relationship(
        back_populates="scope", cascade="all, delete-orphan"
    )
    file_stores: Mapped[list[FileStoreInScope]] = relationship(
        back_populates="scope", cascade="all, delete-orphan"
    )

    @validates("name")
    def _validate_name(self, key: str, value: str) -> str:
        return validate_name("scope", value, RESERVED_SCOPE_NAMES)


class ScopeRole(Base):
    """A role on a scope, granted to a group."""

    __tablename__ = "scope_role"
    __table_args__ = (UniqueConstraint("scope_id", "group_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(
        ForeignKey("scope.id", ondelete="CASCADE"), index=True
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[ScopeRoles] = mapped_column(
        Enum(
            ScopeRoles,
            name="scope_role",
            native_enum=False,
            length=32,
            values_callable=enum_values,
            create_constraint=True,
        )
    )

    scope: Mapped[Scope] = relationship(back_populates="roles")
    group: Mapped[Group] = relationship()


class FileStoreInScope(Base):
    """The policy by which a scope uses a file store."""

    __tablename__ = "file_store_in_scope"
    __table_args__ = (
        CheckConstraint(
            "NOT (read_only AND write_only)", name="not_read_and_write_only"
        ),
        CheckConstraint(
            "soft_max_size IS NULL OR soft_max_size >= 0", name="soft_max_size_positive"
        ),
    )

    scope_id: Mapped[int] = mapped_column(
        ForeignKey("scope.id", ondelete="CASCADE"), primary_key=True
    )
    file_store_id: Mapped[int] = mapped_column(
        ForeignKey("file_store.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    upload_priority: Mapped[int | None]
    download_priority: Mapped[int | None]
    populate: Mapped[bool] = mapped_column(default=False, server_default="false")
    drain: Mapped[bool] = mapped_column(default=False, server_default="false")
    drain_to: Mapped[str | None] = mapped_column(String(255))
    read_only: Mapped[bool] = mapped_column(default=False, server_default="false")
    write_only: Mapped[bool] = mapped_column(default=False, server_default="false")
    soft_max_size: Mapped[int | None] = mapped_column(BigInteger)

    scope: Mapped[Scope] = relationship(back_populates="file_stores")
    file_store: Mapped[FileStore] = relationship()
