"""Users, groups, group membership and API tokens."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import secrets
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    Index,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from debusine.db.base import Base, JSONDict, created_at_column, enum_values
from debusine.models.validation import sql_name_check, validate_name

if TYPE_CHECKING:
    from debusine.models.scopes import Scope

SYSTEM_USER_NAME = "_system"


class User(Base):
    """A person (or the `_system` user) who uses the instance; users are global."""

    __tablename__ = "user"
    __table_args__ = (
        # Only the system user may have a name outside the usual rule.
        CheckConstraint(
            f"is_system OR {sql_name_check('username')}", name="username_valid"
        ),
        # Two people never share an email address; system users have none.
        Index(
            "uq_user_email_not_system",
            "email",
            unique=True,
            postgresql_where=text("NOT is_system AND email <> ''"),
        ),
        CheckConstraint("NOT is_system OR email = ''", name="system_user_no_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    full_name: Mapped[str] = mapped_column(String(255), default="", server_default="")
    is_active: Mapped[bool] = mapped_column(default=True, server_default="true")
    is_superuser: Mapped[bool] = mapped_column(default=False, server_default="false")
    is_system: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_at: Mapped[dt.datetime] = created_at_column()

    memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )
    # A user's tokens go with the user (the foreign key cascades too): left
    # behind without a user they would look like worker tokens.
    tokens: Mapped[list[Token]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )

    def __init__(self, **kwargs: Any) -> None:
        # is_system first: the rule for the username depends on it.
        super().__init__(is_system=kwargs.pop("is_system", False), **kwargs)

    @validates("username", "is_system")
    def _validate_username(self, key: str, value: Any) -> Any:
        # Only system users (such as `_system`) are exempt from the name rule,
        # as in the `username_valid` CHECK constraint.
        username = value if key == "username" else self.username
        is_system = value if key == "is_system" else self.is_system
        if not is_system and username is not None:
            validate_name("user", username, max_length=150)
        return value


class Identity(Base):
    """A single-sign-on identity (OIDC issuer + subject) linked to a user."""

    __tablename__ = "identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    issuer: Mapped[str] = mapped_column(String(512))
    subject: Mapped[str] = mapped_column(String(512))
    claims: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    last_used: Mapped[dt.datetime] = created_at_column()


class GroupMembershipRoles(enum.StrEnum):
    ADMIN = "admin"
    MEMBER = "member"


class Group(Base):
    """A set of users in one scope; roles are granted to groups."""

    __tablename__ = "group"
    __table_args__ = (
        UniqueConstraint("scope_id", "name"),
        CheckConstraint(sql_name_check("name"), name="name_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_id: Mapped[int] = mapped_column(ForeignKey("scope.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(255))
    ephemeral: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_at: Mapped[dt.datetime] = created_at_column()

    scope: Mapped[Scope] = relationship(back_populates="groups")
    memberships: Mapped[list[GroupMembership]] = relationship(
        back_populates="group", cascade="all, delete-orphan"
    )

    @validates("name")
    def _validate_name(self, key: str, value: str) -> str:
        return validate_name("group", value)


class GroupMembership(Base):
    __tablename__ = "group_membership"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[GroupMembershipRoles] = mapped_column(
        Enum(
            GroupMembershipRoles,
            name="group_membership_role",
            native_enum=False,
            length=32,
            values_callable=enum_values,
            create_constraint=True,
        ),
        default=GroupMembershipRoles.MEMBER,
    )

    group: Mapped[Group] = relationship(back_populates="memberships")
    user: Mapped[User] = relationship(back_populates="memberships")


class GroupAuditLog(Base):
    """What was done to a group, by whom and when."""

    __tablename__ = "group_audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    group_id: Mapped[int] = mapped_column(
        ForeignKey("group.id", ondelete="CASCADE"), index=True
    )
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    changes: Mapped[JSONDict]
    created_at: Mapped[dt.datetime] = created_at_column()


def hash_token_key(key: str) -> str:
    """Tokens are stored only as the sha256 of their key."""
    return hashlib.sha256(key.encode()).hexdigest()


class Token(Base):
    """An API token of a user or a worker. The key itself is never stored."""

    __tablename__ = "token"

    id: Mapped[int] = mapped_column(primary_key=True)
    hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="CASCADE"), index=True
    )
    comment: Mapped[str] = mapped_column(Text, default="", server_default="")
    enabled: Mapped[bool] = mapped_column(default=False, server_default="false")
    created_at: Mapped[dt.datetime] = created_at_column()
    expire_at: Mapped[dt.datetime | None]
    last_seen_at: Mapped[dt.datetime | None]

    user: Mapped[User | None] = relationship(back_populates="tokens")

    @classmethod
    def generate(cls, **fields: object) -> tuple[Token, str]:
        """A new token and its key; show the key once, it cannot be recovered."""
        key = secrets.token_hex(32)
        return cls(hash=hash_token_key(key), **fields), key

    def is_usable(self, now: dt.datetime) -> bool:
        return self.enabled and (self.expire_at is None or self.expire_at > now)
