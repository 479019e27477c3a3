"""the scheduler hands out only prepared work requests (dynamic data computed)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RUNNABLE = (
    "status = 'pending' AND worker_id IS NULL AND required_worker_type IS NOT NULL"
)
SCHEDULABLE_COLUMNS = [
    "required_worker_type",
    "required_architecture",
    sa.text("(priority_base + priority_adjustment) DESC"),
    "created_at",
    "id",
]


def upgrade() -> None:
    op.drop_index("ix_work_request_schedulable", table_name="work_request")
    op.create_index(
        "ix_work_request_schedulable",
        "work_request",
        SCHEDULABLE_COLUMNS,
        postgresql_where=sa.text(f"{RUNNABLE} AND dynamic_task_data IS NOT NULL"),
    )
    op.create_index(
        "ix_work_request_unprepared",
        "work_request",
        ["id"],
        postgresql_where=sa.text(f"{RUNNABLE} AND dynamic_task_data IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_work_request_unprepared", table_name="work_request")
    op.drop_index("ix_work_request_schedulable", table_name="work_request")
    op.create_index(
        "ix_work_request_schedulable",
        "work_request",
        SCHEDULABLE_COLUMNS,
        postgresql_where=sa.text(RUNNABLE),
    )
