"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 00:37:24.795426
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # The exclusion constraint on collection_item_match_constraint mixes
    # equality on integers with inequality on text: that needs btree_gist.
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gist")
    op.create_table(
        "file",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "octet_length(sha256) = 32", name=op.f("ck_file_sha256_length")
        ),
        sa.CheckConstraint("size >= 0", name=op.f("ck_file_size_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file")),
        sa.UniqueConstraint("sha256", "size", name=op.f("uq_file_sha256_size")),
    )
    op.create_table(
        "file_store",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "backend",
            sa.Enum(
                "Local",
                "ExternalDebianSuite",
                "Memory",
                "S3",
                name="file_store_backend",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "configuration",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("instance_wide", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("soft_max_size", sa.BigInteger(), nullable=True),
        sa.Column("max_size", sa.BigInteger(), nullable=True),
        sa.Column("total_size", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("provider_account_id", sa.Integer(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "max_size IS NULL OR max_size >= 0",
            name=op.f("ck_file_store_max_size_positive"),
        ),
        sa.CheckConstraint(
            "soft_max_size IS NULL OR soft_max_size >= 0",
            name=op.f("ck_file_store_soft_max_size_positive"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_store")),
        sa.UniqueConstraint("name", name=op.f("uq_file_store_name")),
    )
    op.create_table(
        "notification_channel",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=20), nullable=False),
        sa.Column(
            "method",
            sa.Enum(
                "email",
                name="notification_method",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.CheckConstraint(
            "name ~ '^[A-Za-z][A-Za-z0-9+._-]*$'",
            name=op.f("ck_notification_channel_name_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_channel")),
        sa.UniqueConstraint("name", name=op.f("uq_notification_channel_name")),
    )
    op.create_table(
        "scope",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("label", sa.String(length=255), nullable=False),
        sa.Column("icon", sa.String(length=255), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "name ~ '^[A-Za-z][A-Za-z0-9+._-]*$' AND name NOT IN ('accounts', 'admin', 'api', 'api-auth', 'artifact', 'static', 'task-status', 'user', 'work-request', 'workers', 'workspace')",
            name=op.f("ck_scope_name_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scope")),
        sa.UniqueConstraint("label", name=op.f("uq_scope_label")),
        sa.UniqueConstraint("name", name=op.f("uq_scope_name")),
    )
    op.create_table(
        "user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("email", sa.String(length=254), server_default="", nullable=False),
        sa.Column(
            "full_name", sa.String(length=255), server_default="", nullable=False
        ),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("is_superuser", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("is_system", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "NOT is_system OR email = ''", name=op.f("ck_user_system_user_no_email")
        ),
        sa.CheckConstraint(
            "is_system OR username ~ '^[A-Za-z][A-Za-z0-9+._-]*$'",
            name=op.f("ck_user_username_valid"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user")),
        sa.UniqueConstraint("username", name=op.f("uq_user_username")),
    )
    op.create_index(
        "uq_user_email_not_system",
        "user",
        ["email"],
        unique=True,
        postgresql_where=sa.text("NOT is_system AND email <> ''"),
    )
    op.create_table(
        "worker_pool",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("provider_account_id", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "architectures",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "tags",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "specifications",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("instance_wide", sa.Boolean(), server_default="true", nullable=False),
        sa.Column("ephemeral", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "limits",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker_pool")),
        sa.UniqueConstraint("name", name=op.f("uq_worker_pool_name")),
    )
    op.create_table(
        "file_in_store",
        sa.Column("store_id", sa.Integer(), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["file.id"],
            name=op.f("fk_file_in_store_file_id_file"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["store_id"],
            ["file_store.id"],
            name=op.f("fk_file_in_store_store_id_file_store"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("store_id", "file_id", name=op.f("pk_file_in_store")),
    )
    op.create_index(
        op.f("ix_file_in_store_file_id"), "file_in_store", ["file_id"], unique=False
    )
    op.create_table(
        "file_store_in_scope",
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("file_store_id", sa.Integer(), nullable=False),
        sa.Column("upload_priority", sa.Integer(), nullable=True),
        sa.Column("download_priority", sa.Integer(), nullable=True),
        sa.Column("populate", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("drain", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("drain_to", sa.String(length=255), nullable=True),
        sa.Column("read_only", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("write_only", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("soft_max_size", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "NOT (read_only AND write_only)",
            name=op.f("ck_file_store_in_scope_not_read_and_write_only"),
        ),
        sa.CheckConstraint(
            "soft_max_size IS NULL OR soft_max_size >= 0",
            name=op.f("ck_file_store_in_scope_soft_max_size_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["file_store_id"],
            ["file_store.id"],
            name=op.f("fk_file_store_in_scope_file_store_id_file_store"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["scope.id"],
            name=op.f("fk_file_store_in_scope_scope_id_scope"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "scope_id", "file_store_id", name=op.f("pk_file_store_in_scope")
        ),
    )
    op.create_index(
        op.f("ix_file_store_in_scope_file_store_id"),
        "file_store_in_scope",
        ["file_store_id"],
        unique=False,
    )
    op.create_table(
        "group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("ephemeral", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "name ~ '^[A-Za-z][A-Za-z0-9+._-]*$'", name=op.f("ck_group_name_valid")
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["scope.id"],
            name=op.f("fk_group_scope_id_scope"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group")),
        sa.UniqueConstraint("scope_id", "name", name=op.f("uq_group_scope_id_name")),
    )
    op.create_table(
        "identity",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("issuer", sa.String(length=512), nullable=False),
        sa.Column("subject", sa.String(length=512), nullable=False),
        sa.Column(
            "claims",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "last_used",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_identity_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_identity")),
        sa.UniqueConstraint(
            "issuer", "subject", name=op.f("uq_identity_issuer_subject")
        ),
    )
    op.create_index(op.f("ix_identity_user_id"), "identity", ["user_id"], unique=False)
    op.create_table(
        "scope_worker_pool",
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("worker_pool_id", sa.Integer(), nullable=False),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "limits",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["scope.id"],
            name=op.f("fk_scope_worker_pool_scope_id_scope"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["worker_pool_id"],
            ["worker_pool.id"],
            name=op.f("fk_scope_worker_pool_worker_pool_id_worker_pool"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "scope_id", "worker_pool_id", name=op.f("pk_scope_worker_pool")
        ),
    )
    op.create_index(
        op.f("ix_scope_worker_pool_worker_pool_id"),
        "scope_worker_pool",
        ["worker_pool_id"],
        unique=False,
    )
    op.create_table(
        "token",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("comment", sa.Text(), server_default="", nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expire_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_token_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_token")),
        sa.UniqueConstraint("hash", name=op.f("uq_token_hash")),
    )
    op.create_index(op.f("ix_token_user_id"), "token", ["user_id"], unique=False)
    op.create_table(
        "workspace",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("public", sa.Boolean(), server_default="false", nullable=False),
        sa.Column(
            "default_expiration_delay",
            sa.Interval(),
            server_default="0",
            nullable=False,
        ),
        sa.Column("expiration_delay", sa.Interval(), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "default_expiration_delay >= interval '0'",
            name=op.f("ck_workspace_default_expiration_delay_positive"),
        ),
        sa.CheckConstraint(
            "name ~ '^[A-Za-z][A-Za-z0-9+._-]*$' AND name NOT IN ('accounts', 'artifact', 'collection', 'task-status', 'user', 'work-request', 'workers', 'workflow-template', 'workspaces')",
            name=op.f("ck_workspace_name_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["scope.id"],
            name=op.f("fk_workspace_scope_id_scope"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace")),
        sa.UniqueConstraint(
            "scope_id", "name", name=op.f("uq_workspace_scope_id_name")
        ),
    )
    op.create_table(
        "collection",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("full_history_retention_period", sa.Interval(), nullable=True),
        sa.Column("metadata_only_retention_period", sa.Interval(), nullable=True),
        sa.Column(
            "retains_artifacts",
            sa.Enum(
                "never",
                "workflow",
                "always",
                name="retains_artifacts",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            server_default="always",
            nullable=False,
        ),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "(category IN ('debian:archive', 'debian:package-build-logs',"
            " 'debusine:task-history') AND name = '_')"
            " OR (category NOT IN ('debian:archive', 'debian:package-build-logs',"
            " 'debusine:task-history') AND name ~ '^[A-Za-z][A-Za-z0-9+._-]*$')",
            name=op.f("ck_collection_name_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_collection_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection")),
        sa.UniqueConstraint(
            "workspace_id",
            "category",
            "name",
            name=op.f("uq_collection_workspace_id_category_name"),
        ),
    )
    op.create_table(
        "group_audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("changes", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"],
            ["user.id"],
            name=op.f("fk_group_audit_log_actor_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group.id"],
            name=op.f("fk_group_audit_log_group_id_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_group_audit_log")),
    )
    op.create_index(
        op.f("ix_group_audit_log_group_id"),
        "group_audit_log",
        ["group_id"],
        unique=False,
    )
    op.create_table(
        "group_membership",
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "admin",
                "member",
                name="group_membership_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group.id"],
            name=op.f("fk_group_membership_group_id_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user.id"],
            name=op.f("fk_group_membership_user_id_user"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "group_id", "user_id", name=op.f("pk_group_membership")
        ),
    )
    op.create_index(
        op.f("ix_group_membership_user_id"),
        "group_membership",
        ["user_id"],
        unique=False,
    )
    op.create_table(
        "scope_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("scope_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner",
                name="scope_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group.id"],
            name=op.f("fk_scope_role_group_id_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["scope_id"],
            ["scope.id"],
            name=op.f("fk_scope_role_scope_id_scope"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scope_role")),
        sa.UniqueConstraint(
            "scope_id",
            "group_id",
            "role",
            name=op.f("uq_scope_role_scope_id_group_id_role"),
        ),
    )
    op.create_index(
        op.f("ix_scope_role_group_id"), "scope_role", ["group_id"], unique=False
    )
    op.create_index(
        op.f("ix_scope_role_scope_id"), "scope_role", ["scope_id"], unique=False
    )
    op.create_table(
        "worker",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "worker_type",
            sa.Enum(
                "external",
                "signing",
                "server",
                name="worker_type",
                native_enum=False,
                create_constraint=True,
                length=16,
            ),
            nullable=False,
        ),
        sa.Column(
            "registered_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("connected_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("instance_created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("activation_token_id", sa.Integer(), nullable=True),
        sa.Column(
            "static_metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "dynamic_metadata",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "dynamic_metadata_updated_at", sa.DateTime(timezone=True), nullable=True
        ),
        sa.Column("concurrency", sa.Integer(), server_default="1", nullable=False),
        sa.Column("worker_pool_id", sa.Integer(), nullable=True),
        sa.Column(
            "worker_pool_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True
        ),
        sa.CheckConstraint(
            "worker_type = 'server' OR token_id IS NOT NULL OR activation_token_id IS NOT NULL",
            name=op.f("ck_worker_has_token"),
        ),
        sa.CheckConstraint(
            "concurrency >= 1", name=op.f("ck_worker_concurrency_positive")
        ),
        sa.ForeignKeyConstraint(
            ["activation_token_id"],
            ["token.id"],
            name=op.f("fk_worker_activation_token_id_token"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["token_id"],
            ["token.id"],
            name=op.f("fk_worker_token_id_token"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["worker_pool_id"],
            ["worker_pool.id"],
            name=op.f("fk_worker_worker_pool_id_worker_pool"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_worker")),
        sa.UniqueConstraint(
            "activation_token_id", name=op.f("uq_worker_activation_token_id")
        ),
        sa.UniqueConstraint("name", name=op.f("uq_worker_name")),
        sa.UniqueConstraint("token_id", name=op.f("uq_worker_token_id")),
    )
    op.create_index(
        op.f("ix_worker_worker_pool_id"), "worker", ["worker_pool_id"], unique=False
    )
    op.create_table(
        "workflow_template",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("task_name", sa.String(length=100), nullable=False),
        sa.Column(
            "task_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("priority", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "name ~ '^[A-Za-z][A-Za-z0-9+._-]*$'",
            name=op.f("ck_workflow_template_name_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_workflow_template_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workflow_template")),
        sa.UniqueConstraint(
            "workspace_id", "name", name=op.f("uq_workflow_template_workspace_id_name")
        ),
    )
    op.create_table(
        "workspace_chain",
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.Column("parent_id", sa.Integer(), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "child_id <> parent_id", name=op.f("ck_workspace_chain_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["workspace.id"],
            name=op.f("fk_workspace_chain_child_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["workspace.id"],
            name=op.f("fk_workspace_chain_parent_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "child_id", "parent_id", name=op.f("pk_workspace_chain")
        ),
        sa.UniqueConstraint(
            "child_id", "order", name=op.f("uq_workspace_chain_child_id_order")
        ),
    )
    op.create_index(
        op.f("ix_workspace_chain_parent_id"),
        "workspace_chain",
        ["parent_id"],
        unique=False,
    )
    op.create_table(
        "workspace_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner",
                "contributor",
                "viewer",
                name="workspace_role",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group.id"],
            name=op.f("fk_workspace_role_group_id_group"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_workspace_role_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspace_role")),
        sa.UniqueConstraint(
            "workspace_id",
            "group_id",
            "role",
            name=op.f("uq_workspace_role_workspace_id_group_id_role"),
        ),
    )
    op.create_index(
        op.f("ix_workspace_role_group_id"), "workspace_role", ["group_id"], unique=False
    )
    op.create_index(
        op.f("ix_workspace_role_workspace_id"),
        "workspace_role",
        ["workspace_id"],
        unique=False,
    )
    op.create_table(
        "collection_item_match_constraint",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("collection_id", sa.Integer(), nullable=False),
        sa.Column("collection_item_id", sa.Integer(), nullable=False),
        sa.Column("constraint_name", sa.String(length=255), nullable=False),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("value", sa.String(length=1024), nullable=False),
        postgresql.ExcludeConstraint(
            (sa.column("collection_id"), "="),
            (sa.column("constraint_name"), "="),
            (sa.column("key"), "="),
            (sa.column("value"), "<>"),
            using="gist",
            name="excl_collection_item_match_constraint_match_value",
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collection.id"],
            name=op.f("fk_collection_item_match_constraint_collection_id_collection"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_item_match_constraint")),
    )
    op.create_index(
        op.f("ix_collection_item_match_constraint_collection_item_id"),
        "collection_item_match_constraint",
        ["collection_item_id"],
        unique=False,
    )
    op.create_table(
        "work_request",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("aborted_by_id", sa.Integer(), nullable=True),
        sa.Column(
            "status",
            sa.Enum(
                "pending",
                "running",
                "completed",
                "aborted",
                "blocked",
                name="work_request_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="pending",
            nullable=False,
        ),
        sa.Column(
            "result",
            sa.Enum(
                "",
                "success",
                "failure",
                "error",
                "skipped",
                name="work_request_result",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="",
            nullable=False,
        ),
        sa.Column("worker_id", sa.Integer(), nullable=True),
        sa.Column(
            "task_type",
            sa.Enum(
                "Worker",
                "Server",
                "Internal",
                "Workflow",
                "Signing",
                "Wait",
                name="task_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("task_name", sa.String(length=100), nullable=False),
        sa.Column(
            "task_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "configured_task_data",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=True,
        ),
        sa.Column(
            "dynamic_task_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True
        ),
        sa.Column("version", sa.Integer(), server_default="0", nullable=False),
        sa.Column("priority_base", sa.Integer(), server_default="0", nullable=False),
        sa.Column(
            "priority_adjustment", sa.Integer(), server_default="0", nullable=False
        ),
        sa.Column(
            "output_data", postgresql.JSONB(astext_type=sa.Text()), nullable=True
        ),
        sa.Column(
            "unblock_strategy",
            sa.Enum(
                "deps",
                "manual",
                name="unblock_strategy",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            server_default="deps",
            nullable=False,
        ),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.Column("workflow_template_id", sa.Integer(), nullable=True),
        sa.Column(
            "workflow_data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "event_reactions",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column("internal_collection_id", sa.Integer(), nullable=True),
        sa.Column("expiration_delay", sa.Interval(), nullable=True),
        sa.Column("supersedes_id", sa.Integer(), nullable=True),
        sa.Column(
            "workflow_runtime_status",
            sa.Enum(
                "needs_input",
                "running",
                "waiting",
                "pending",
                "aborted",
                "completed",
                "blocked",
                name="workflow_runtime_status",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=True,
        ),
        sa.Column(
            "workflow_last_activity_at", sa.DateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "workflows_need_update",
            sa.Boolean(),
            server_default="false",
            nullable=False,
        ),
        sa.CheckConstraint(
            "(status IN ('completed', 'aborted')) OR result = ''",
            name=op.f("ck_work_request_result_only_when_finished"),
        ),
        sa.CheckConstraint(
            "status <> 'completed' OR result <> ''",
            name=op.f("ck_work_request_completed_has_result"),
        ),
        sa.CheckConstraint(
            "parent_id IS NULL OR parent_id <> id",
            name=op.f("ck_work_request_parent_not_self"),
        ),
        sa.ForeignKeyConstraint(
            ["aborted_by_id"],
            ["user.id"],
            name=op.f("fk_work_request_aborted_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_work_request_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["internal_collection_id"],
            ["collection.id"],
            name=op.f("fk_work_request_internal_collection_id_collection"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_id"],
            ["work_request.id"],
            name=op.f("fk_work_request_parent_id_work_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["work_request.id"],
            name=op.f("fk_work_request_supersedes_id_work_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["worker_id"],
            ["worker.id"],
            name=op.f("fk_work_request_worker_id_worker"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workflow_template_id"],
            ["workflow_template.id"],
            name=op.f("fk_work_request_workflow_template_id_workflow_template"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_work_request_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_request")),
        sa.UniqueConstraint(
            "internal_collection_id",
            name=op.f("uq_work_request_internal_collection_id"),
        ),
        sa.UniqueConstraint(
            "supersedes_id", name=op.f("uq_work_request_supersedes_id")
        ),
    )
    op.create_index(
        op.f("ix_work_request_created_by_id"),
        "work_request",
        ["created_by_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_work_request_parent_id"), "work_request", ["parent_id"], unique=False
    )
    op.create_index(
        "ix_work_request_pending_queue",
        "work_request",
        [sa.literal_column("(priority_base + priority_adjustment) DESC"), "created_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_work_request_worker_active",
        "work_request",
        ["worker_id"],
        unique=False,
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.create_index(
        "ix_work_request_workflows_need_update",
        "work_request",
        ["id"],
        unique=False,
        postgresql_where=sa.text("workflows_need_update"),
    )
    op.create_index(
        "ix_work_request_workspace_created",
        "work_request",
        ["workspace_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "artifact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expiration_delay", sa.Interval(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_work_request_id", sa.Integer(), nullable=True),
        sa.Column("original_artifact_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_artifact_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_work_request_id"],
            ["work_request.id"],
            name=op.f("fk_artifact_created_by_work_request_id_work_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["original_artifact_id"],
            ["artifact.id"],
            name=op.f("fk_artifact_original_artifact_id_artifact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_artifact_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact")),
    )
    op.create_index(
        op.f("ix_artifact_category"), "artifact", ["category"], unique=False
    )
    op.create_index(
        op.f("ix_artifact_created_by_id"), "artifact", ["created_by_id"], unique=False
    )
    op.create_index(
        op.f("ix_artifact_created_by_work_request_id"),
        "artifact",
        ["created_by_work_request_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_artifact_workspace_id"), "artifact", ["workspace_id"], unique=False
    )
    op.create_table(
        "asset",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column(
            "category",
            sa.Enum(
                "debusine:signing-key",
                "debusine:cloud-provider-account",
                name="asset_category",
                native_enum=False,
                create_constraint=True,
                length=64,
            ),
            nullable=False,
        ),
        sa.Column("workspace_id", sa.Integer(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_by_work_request_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "category <> 'debusine:signing-key' OR workspace_id IS NOT NULL",
            name=op.f("ck_asset_signing_key_has_workspace"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["user.id"],
            name=op.f("fk_asset_created_by_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_work_request_id"],
            ["work_request.id"],
            name=op.f("fk_asset_created_by_work_request_id_work_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_asset_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset")),
    )
    op.create_index(
        op.f("ix_asset_workspace_id"), "asset", ["workspace_id"], unique=False
    )
    op.create_index(
        "uq_asset_cloud_account_name",
        "asset",
        [sa.literal_column("(data ->> 'name')")],
        unique=True,
        postgresql_where=sa.text("category = 'debusine:cloud-provider-account'"),
    )
    op.create_index(
        "uq_asset_signing_key_fingerprint",
        "asset",
        [sa.literal_column("(data ->> 'fingerprint')")],
        unique=True,
        postgresql_where=sa.text("category = 'debusine:signing-key'"),
    )
    op.create_table(
        "work_request_dependency",
        sa.Column("work_request_id", sa.Integer(), nullable=False),
        sa.Column("dependency_id", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "work_request_id <> dependency_id",
            name=op.f("ck_work_request_dependency_not_self"),
        ),
        sa.ForeignKeyConstraint(
            ["dependency_id"],
            ["work_request.id"],
            name=op.f("fk_work_request_dependency_dependency_id_work_request"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["work_request_id"],
            ["work_request.id"],
            name=op.f("fk_work_request_dependency_work_request_id_work_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "work_request_id", "dependency_id", name=op.f("pk_work_request_dependency")
        ),
    )
    op.create_index(
        op.f("ix_work_request_dependency_dependency_id"),
        "work_request_dependency",
        ["dependency_id"],
        unique=False,
    )
    op.create_table(
        "artifact_relation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "extends",
                "relates-to",
                "built-using",
                name="artifact_relation_type",
                native_enum=False,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.CheckConstraint(
            "artifact_id <> target_id", name=op.f("ck_artifact_relation_not_self")
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifact.id"],
            name=op.f("fk_artifact_relation_artifact_id_artifact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["artifact.id"],
            name=op.f("fk_artifact_relation_target_id_artifact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_artifact_relation")),
        sa.UniqueConstraint(
            "artifact_id",
            "target_id",
            "type",
            name=op.f("uq_artifact_relation_artifact_id_target_id_type"),
        ),
    )
    op.create_index(
        op.f("ix_artifact_relation_target_id"),
        "artifact_relation",
        ["target_id"],
        unique=False,
    )
    op.create_table(
        "asset_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "owner",
                name="asset_role",
                native_enum=False,
                create_constraint=True,
                length=64,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_asset_role_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group.id"],
            name=op.f("fk_asset_role_group_id_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_role")),
        sa.UniqueConstraint(
            "asset_id",
            "group_id",
            "role",
            name=op.f("uq_asset_role_asset_id_group_id_role"),
        ),
    )
    op.create_index(
        op.f("ix_asset_role_group_id"), "asset_role", ["group_id"], unique=False
    )
    op.create_table(
        "asset_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_id", sa.Integer(), nullable=False),
        sa.Column("workspace_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["asset_id"],
            ["asset.id"],
            name=op.f("fk_asset_usage_asset_id_asset"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspace.id"],
            name=op.f("fk_asset_usage_workspace_id_workspace"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_usage")),
        sa.UniqueConstraint(
            "asset_id",
            "workspace_id",
            name=op.f("uq_asset_usage_asset_id_workspace_id"),
        ),
    )
    op.create_index(
        op.f("ix_asset_usage_workspace_id"),
        "asset_usage",
        ["workspace_id"],
        unique=False,
    )
    op.create_table(
        "collection_item",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("parent_collection_id", sa.Integer(), nullable=False),
        sa.Column("parent_category", sa.String(length=255), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column(
            "child_type",
            sa.Enum(
                "b",
                "a",
                "c",
                name="collection_item_type",
                native_enum=False,
                create_constraint=True,
            ),
            nullable=False,
        ),
        sa.Column("category", sa.String(length=255), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=True),
        sa.Column("collection_id", sa.Integer(), nullable=True),
        sa.Column(
            "data",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default="{}",
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("created_by_user_id", sa.Integer(), nullable=True),
        sa.Column("created_by_workflow_id", sa.Integer(), nullable=True),
        sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("removed_by_user_id", sa.Integer(), nullable=True),
        sa.Column("removed_by_workflow_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "(child_type = 'b' AND artifact_id IS NULL AND collection_id IS NULL) OR (child_type = 'a' AND collection_id IS NULL     AND (artifact_id IS NOT NULL OR removed_at IS NOT NULL)) OR (child_type = 'c' AND artifact_id IS NULL     AND (collection_id IS NOT NULL OR removed_at IS NOT NULL))",
            name=op.f("ck_collection_item_child_type_consistent"),
        ),
        sa.CheckConstraint(
            "collection_id IS NULL OR collection_id <> parent_collection_id",
            name=op.f("ck_collection_item_not_self"),
        ),
        sa.CheckConstraint(
            "removed_at IS NOT NULL OR (removed_by_user_id IS NULL AND removed_by_workflow_id IS NULL)",
            name=op.f("ck_collection_item_removed_by_only_when_removed"),
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifact.id"],
            name=op.f("fk_collection_item_artifact_id_artifact"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["collection_id"],
            ["collection.id"],
            name=op.f("fk_collection_item_collection_id_collection"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_user_id"],
            ["user.id"],
            name=op.f("fk_collection_item_created_by_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by_workflow_id"],
            ["work_request.id"],
            name=op.f("fk_collection_item_created_by_workflow_id_work_request"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["parent_collection_id"],
            ["collection.id"],
            name=op.f("fk_collection_item_parent_collection_id_collection"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_user_id"],
            ["user.id"],
            name=op.f("fk_collection_item_removed_by_user_id_user"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["removed_by_workflow_id"],
            ["work_request.id"],
            name=op.f("fk_collection_item_removed_by_workflow_id_work_request"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_collection_item")),
    )
    op.create_index(
        op.f("ix_collection_item_artifact_id"),
        "collection_item",
        ["artifact_id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_collection_item_collection_id"),
        "collection_item",
        ["collection_id"],
        unique=False,
    )
    op.create_index(
        "ix_collection_item_parent_category",
        "collection_item",
        ["parent_collection_id", "category"],
        unique=False,
    )
    op.create_index(
        "ix_collection_item_active_package",
        "collection_item",
        ["parent_collection_id", "category", sa.text("(data ->> 'package')")],
        unique=False,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_index(
        "uq_collection_item_active_name",
        "collection_item",
        ["parent_collection_id", "name"],
        unique=True,
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.create_table(
        "file_in_artifact",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("artifact_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("file_id", sa.Integer(), nullable=False),
        sa.Column("complete", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("content_type", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "left(path, 1) <> '/'", name=op.f("ck_file_in_artifact_path_relative")
        ),
        sa.CheckConstraint(
            "length(path) BETWEEN 1 AND 500",
            name=op.f("ck_file_in_artifact_path_length"),
        ),
        sa.ForeignKeyConstraint(
            ["artifact_id"],
            ["artifact.id"],
            name=op.f("fk_file_in_artifact_artifact_id_artifact"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["file.id"],
            name=op.f("fk_file_in_artifact_file_id_file"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_in_artifact")),
        sa.UniqueConstraint(
            "artifact_id", "path", name=op.f("uq_file_in_artifact_artifact_id_path")
        ),
    )
    op.create_index(
        op.f("ix_file_in_artifact_file_id"),
        "file_in_artifact",
        ["file_id"],
        unique=False,
    )
    op.create_table(
        "asset_usage_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("asset_usage_id", sa.Integer(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "signer",
                name="asset_usage_role",
                native_enum=False,
                create_constraint=True,
                length=64,
            ),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["asset_usage_id"],
            ["asset_usage.id"],
            name=op.f("fk_asset_usage_role_asset_usage_id_asset_usage"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["group.id"],
            name=op.f("fk_asset_usage_role_group_id_group"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_asset_usage_role")),
        sa.UniqueConstraint(
            "asset_usage_id",
            "group_id",
            "role",
            name=op.f("uq_asset_usage_role_asset_usage_id_group_id_role"),
        ),
    )
    op.create_index(
        op.f("ix_asset_usage_role_group_id"),
        "asset_usage_role",
        ["group_id"],
        unique=False,
    )
    op.create_table(
        "file_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("file_in_artifact_id", sa.Integer(), nullable=False),
        sa.Column("path", sa.String(length=1024), nullable=False),
        sa.Column(
            "last_activity_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["file_in_artifact_id"],
            ["file_in_artifact.id"],
            name=op.f("fk_file_upload_file_in_artifact_id_file_in_artifact"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_file_upload")),
        sa.UniqueConstraint(
            "file_in_artifact_id", name=op.f("uq_file_upload_file_in_artifact_id")
        ),
    )

    # Created last: asset and these tables refer to each other.
    for table in ("file_store", "worker_pool"):
        op.create_foreign_key(
            op.f(f"fk_{table}_provider_account_id_asset"),
            table,
            "asset",
            ["provider_account_id"],
            ["id"],
            ondelete="RESTRICT",
        )


def downgrade() -> None:
    for table in ("file_store", "worker_pool"):
        op.drop_constraint(
            op.f(f"fk_{table}_provider_account_id_asset"), table, type_="foreignkey"
        )
    op.drop_table("file_upload")
    op.drop_index(op.f("ix_asset_usage_role_group_id"), table_name="asset_usage_role")
    op.drop_table("asset_usage_role")
    op.drop_index(op.f("ix_file_in_artifact_file_id"), table_name="file_in_artifact")
    op.drop_table("file_in_artifact")
    op.drop_index(
        "uq_collection_item_active_name",
        table_name="collection_item",
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.drop_index(
        "ix_collection_item_active_package",
        table_name="collection_item",
        postgresql_where=sa.text("removed_at IS NULL"),
    )
    op.drop_index("ix_collection_item_parent_category", table_name="collection_item")
    op.drop_index(
        op.f("ix_collection_item_collection_id"), table_name="collection_item"
    )
    op.drop_index(op.f("ix_collection_item_artifact_id"), table_name="collection_item")
    op.drop_table("collection_item")
    op.drop_index(op.f("ix_asset_usage_workspace_id"), table_name="asset_usage")
    op.drop_table("asset_usage")
    op.drop_index(op.f("ix_asset_role_group_id"), table_name="asset_role")
    op.drop_table("asset_role")
    op.drop_index(
        op.f("ix_artifact_relation_target_id"), table_name="artifact_relation"
    )
    op.drop_table("artifact_relation")
    op.drop_index(
        op.f("ix_work_request_dependency_dependency_id"),
        table_name="work_request_dependency",
    )
    op.drop_table("work_request_dependency")
    op.drop_index(
        "uq_asset_signing_key_fingerprint",
        table_name="asset",
        postgresql_where=sa.text("category = 'debusine:signing-key'"),
    )
    op.drop_index(
        "uq_asset_cloud_account_name",
        table_name="asset",
        postgresql_where=sa.text("category = 'debusine:cloud-provider-account'"),
    )
    op.drop_index(op.f("ix_asset_workspace_id"), table_name="asset")
    op.drop_table("asset")
    op.drop_index(op.f("ix_artifact_workspace_id"), table_name="artifact")
    op.drop_index(op.f("ix_artifact_created_by_work_request_id"), table_name="artifact")
    op.drop_index(op.f("ix_artifact_created_by_id"), table_name="artifact")
    op.drop_index(op.f("ix_artifact_category"), table_name="artifact")
    op.drop_table("artifact")
    op.drop_index("ix_work_request_workspace_created", table_name="work_request")
    op.drop_index(
        "ix_work_request_workflows_need_update",
        table_name="work_request",
        postgresql_where=sa.text("workflows_need_update"),
    )
    op.drop_index(
        "ix_work_request_worker_active",
        table_name="work_request",
        postgresql_where=sa.text("status IN ('pending', 'running')"),
    )
    op.drop_index(
        "ix_work_request_pending_queue",
        table_name="work_request",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index(op.f("ix_work_request_parent_id"), table_name="work_request")
    op.drop_index(op.f("ix_work_request_created_by_id"), table_name="work_request")
    op.drop_table("work_request")
    op.drop_index(
        op.f("ix_collection_item_match_constraint_collection_item_id"),
        table_name="collection_item_match_constraint",
    )
    op.drop_table("collection_item_match_constraint")
    op.drop_index(op.f("ix_workspace_role_workspace_id"), table_name="workspace_role")
    op.drop_index(op.f("ix_workspace_role_group_id"), table_name="workspace_role")
    op.drop_table("workspace_role")
    op.drop_index(op.f("ix_workspace_chain_parent_id"), table_name="workspace_chain")
    op.drop_table("workspace_chain")
    op.drop_table("workflow_template")
    op.drop_index(op.f("ix_worker_worker_pool_id"), table_name="worker")
    op.drop_table("worker")
    op.drop_index(op.f("ix_scope_role_scope_id"), table_name="scope_role")
    op.drop_index(op.f("ix_scope_role_group_id"), table_name="scope_role")
    op.drop_table("scope_role")
    op.drop_index(op.f("ix_group_membership_user_id"), table_name="group_membership")
    op.drop_table("group_membership")
    op.drop_index(op.f("ix_group_audit_log_group_id"), table_name="group_audit_log")
    op.drop_table("group_audit_log")
    op.drop_table("collection")
    op.drop_table("workspace")
    op.drop_index(op.f("ix_token_user_id"), table_name="token")
    op.drop_table("token")
    op.drop_index(
        op.f("ix_scope_worker_pool_worker_pool_id"), table_name="scope_worker_pool"
    )
    op.drop_table("scope_worker_pool")
    op.drop_index(op.f("ix_identity_user_id"), table_name="identity")
    op.drop_table("identity")
    op.drop_table("group")
    op.drop_index(
        op.f("ix_file_store_in_scope_file_store_id"), table_name="file_store_in_scope"
    )
    op.drop_table("file_store_in_scope")
    op.drop_index(op.f("ix_file_in_store_file_id"), table_name="file_in_store")
    op.drop_table("file_in_store")
    op.drop_table("worker_pool")
    op.drop_index(
        "uq_user_email_not_system",
        table_name="user",
        postgresql_where=sa.text("NOT is_system AND email <> ''"),
    )
    op.drop_table("user")
    op.drop_table("scope")
    op.drop_table("notification_channel")
    op.drop_table("file_store")
    op.drop_table("file")
    op.execute("DROP EXTENSION IF EXISTS btree_gist")
