"""work request live logs and progress, stored as workers report them

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25 02:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "work_request_log",
        sa.Column("work_request_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "sequence >= 0", name=op.f("ck_work_request_log_sequence_not_negative")
        ),
        sa.ForeignKeyConstraint(
            ["work_request_id"],
            ["work_request.id"],
            name=op.f("fk_work_request_log_work_request_id_work_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "work_request_id", "name", "sequence", name=op.f("pk_work_request_log")
        ),
    )
    op.create_table(
        "work_request_progress",
        sa.Column("work_request_id", sa.Integer(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("sequence", sa.BigInteger(), nullable=False),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "progress >= 0 AND progress <= 1",
            name=op.f("ck_work_request_progress_progress_range"),
        ),
        sa.ForeignKeyConstraint(
            ["work_request_id"],
            ["work_request.id"],
            name=op.f("fk_work_request_progress_work_request_id_work_request"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "work_request_id", name=op.f("pk_work_request_progress")
        ),
    )


def downgrade() -> None:
    op.drop_table("work_request_progress")
    op.drop_table("work_request_log")
