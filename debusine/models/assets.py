"""Assets: signing keys and cloud provider accounts, with their roles."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from debusine.artifacts.categories import AssetCategory
from debusine.db.base import Base, JSONDict, created_at_column, enum_values


class AssetRoles(enum.StrEnum):
    OWNER = "owner"


class AssetUsageRoles(enum.StrEnum):
    SIGNER = "signer"


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        length=64,
        values_callable=enum_values,
        create_constraint=True,
    )


class Asset(Base):
    __tablename__ = "asset"
    __table_args__ = (
        CheckConstraint(
            "category <> 'debusine:signing-key' OR workspace_id IS NOT NULL",
            name="signing_key_has_workspace",
        ),
        # One asset per signing key, one per named cloud account.
        Index(
            "uq_asset_signing_key_fingerprint",
            text("(data ->> 'fingerprint')"),
            unique=True,
            postgresql_where=text("category = 'debusine:signing-key'"),
        ),
        Index(
            "uq_asset_cloud_account_name",
            text("(data ->> 'name')"),
            unique=True,
            postgresql_where=text("category = 'debusine:cloud-provider-account'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[AssetCategory] = mapped_column(
        _enum(AssetCategory, "asset_category")
    )
    workspace_id: Mapped[int | None] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )
    data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    created_at: Mapped[dt.datetime] = created_at_column()
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    created_by_work_request_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_request.id", ondelete="SET NULL")
    )


class AssetRole(Base):
    __tablename__ = "asset_role"
    __table_args__ = (UniqueConstraint("asset_id", "group_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    group_id: Mapped[int] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[AssetRoles] = mapped_column(_enum(AssetRoles, "asset_role"))


class AssetUsage(Base):
    """An asset made usable in a workspace (a signing key, for example)."""

    __tablename__ = "asset_usage"
    __table_args__ = (UniqueConstraint("asset_id", "workspace_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_id: Mapped[int] = mapped_column(ForeignKey("asset.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE"), index=True
    )


class AssetUsageRole(Base):
    __tablename__ = "asset_usage_role"
    __table_args__ = (UniqueConstraint("asset_usage_id", "group_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    asset_usage_id: Mapped[int] = mapped_column(
        ForeignKey("asset_usage.id", ondelete="CASCADE")
    )
    group_id: Mapped[int] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), index=True
    )
    role: Mapped[AssetUsageRoles] = mapped_column(
        _enum(AssetUsageRoles, "asset_usage_role")
    )
