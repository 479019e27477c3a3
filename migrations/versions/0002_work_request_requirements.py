"""work request worker requirements, for the scheduler's SQL match

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 01:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "work_request",
        sa.Column("required_worker_type", sa.String(length=16), nullable=True),
    )
    op.add_column(
        "work_request",
        sa.Column("required_architecture", sa.String(length=64), nullable=True),
    )
    op.add_column(
        "work_request",
        sa.Column(
            "required_capabilities",
            postgresql.ARRAY(sa.Text()),
            server_default="{}",
            nullable=False,
        ),
    )
    op.create_index(
        "ix_work_request_schedulable",
        "work_request",
        [
            "required_worker_type",
            "required_architecture",
            sa.literal_column("(priority_base + priority_adjustment) DESC"),
            "created_at",
            "id",
        ],
        unique=False,
        postgresql_where=sa.text(
            "status = 'pending' AND worker_id IS NULL"
            " AND required_worker_type IS NOT NULL"
        ),
    )


def downgrade() -> None:
    op.drop_index(
        "ix_work_request_schedulable",
        table_name="work_request",
        postgresql_where=sa.text(
            "status = 'pending' AND worker_id IS NULL"
            " AND required_worker_type IS NOT NULL"
        ),
    )
    op.drop_column("work_request", "required_capabilities")
    op.drop_column("work_request", "required_architecture")
    op.drop_column("work_request", "required_worker_type")
