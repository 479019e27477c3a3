"""Work requests (tasks and workflows), their dependencies, and templates."""

from __future__ import annotations

import datetime as dt
import enum
from typing import TYPE_CHECKING

from sqlalchemy import (
    CheckConstraint,
    Column,
    Enum,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from debusine.db.base import Base, JSONDict, created_at_column, enum_values, metadata
from debusine.models.validation import sql_name_check, validate_name
from debusine.tasks.types import TaskType, WorkRequestResult

if TYPE_CHECKING:
    from debusine.models.auth import User
    from debusine.models.collections import Collection
    from debusine.models.workers import Worker
    from debusine.models.workspaces import Workspace


class WorkRequestStatus(enum.StrEnum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    ABORTED = "aborted"
    BLOCKED = "blocked"


class UnblockStrategy(enum.StrEnum):
    DEPS = "deps"
    MANUAL = "manual"


class WorkflowRuntimeStatus(enum.StrEnum):
    NEEDS_INPUT = "needs_input"
    RUNNING = "running"
    WAITING = "waiting"
    PENDING = "pending"
    ABORTED = "aborted"
    COMPLETED = "completed"
    BLOCKED = "blocked"


def _enum(enum_class: type[enum.Enum], name: str) -> Enum:
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        length=32,
        values_callable=enum_values,
        create_constraint=True,
    )


work_request_dependency = Table(
    "work_request_dependency",
    metadata,
    Column(
        "work_request_id",
        ForeignKey("work_request.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    Column(
        "dependency_id",
        ForeignKey("work_request.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
    CheckConstraint("work_request_id <> dependency_id", name="not_self"),
)


class WorkRequest(Base):
    __tablename__ = "work_request"
    __table_args__ = (
        # The scheduler's queue: pending work by effective priority, then age.
        Index(
            "ix_work_request_pending_queue",
            text("(priority_base + priority_adjustment) DESC"),
            "created_at",
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_work_request_worker_active",
            "worker_id",
            postgresql_where=text("status IN ('pending', 'running')"),
        ),
        Index(
            "ix_work_request_workflows_need_update",
            "id",
            postgresql_where=text("workflows_need_update"),
        ),
        Index("ix_work_request_workspace_created", "workspace_id", "created_at"),
        # The scheduler's match: one short index scan per (worker type,
        # architecture) the worker offers, best effective priority first.
        Index(
            "ix_work_request_schedulable",
            "required_worker_type",
            "required_architecture",
            text("(priority_base + priority_adjustment) DESC"),
            "created_at",
            "id",
            postgresql_where=text(
                "status = 'pending' AND worker_id IS NULL"
                " AND required_worker_type IS NOT NULL"
                " AND dynamic_task_data IS NOT NULL"
            ),
        ),
        # What the scheduler prepares first: runnable requests whose dynamic
        # task data is not computed yet.
        Index(
            "ix_work_request_unprepared",
            "id",
            postgresql_where=text(
                "status = 'pending' AND worker_id IS NULL"
                " AND required_worker_type IS NOT NULL"
                " AND dynamic_task_data IS NULL"
            ),
        ),
        CheckConstraint(
            "(status IN ('completed', 'aborted')) OR result = ''",
            name="result_only_when_finished",
        ),
        CheckConstraint(
            "status <> 'completed' OR result <> ''", name="completed_has_result"
        ),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="parent_not_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE")
    )
    created_at: Mapped[dt.datetime] = created_at_column()
    started_at: Mapped[dt.datetime | None]
    completed_at: Mapped[dt.datetime | None]
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL"), index=True
    )
    aborted_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user.id", ondelete="SET NULL")
    )
    status: Mapped[WorkRequestStatus] = mapped_column(
        _enum(WorkRequestStatus, "work_request_status"),
        default=WorkRequestStatus.PENDING,
        server_default=WorkRequestStatus.PENDING.value,
    )
    result: Mapped[WorkRequestResult] = mapped_column(
        _enum(WorkRequestResult, "work_request_result"),
        default=WorkRequestResult.NONE,
        server_default="",
    )
    worker_id: Mapped[int | None] = mapped_column(
        ForeignKey("worker.id", ondelete="SET NULL")
    )
    task_type: Mapped[TaskType] = mapped_column(
        _enum(TaskType, "task_type"), default=TaskType.WORKER
    )
    task_name: Mapped[str] = mapped_column(String(100))
    # What the user asked for.
    task_data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    # task_data with the workspace's task configuration applied.
    configured_task_data: Mapped[JSONDict | None]
    # Resolved lookups and other values computed from the task data.
    dynamic_task_data: Mapped[JSONDict | None]
    # The task code version that computed dynamic_task_data.
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    priority_base: Mapped[int] = mapped_column(default=0, server_default="0")
    priority_adjustment: Mapped[int] = mapped_column(default=0, server_default="0")
    output_data: Mapped[JSONDict | None]
    unblock_strategy: Mapped[UnblockStrategy] = mapped_column(
        _enum(UnblockStrategy, "unblock_strategy"),
        default=UnblockStrategy.DEPS,
        server_default=UnblockStrategy.DEPS.value,
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_request.id", ondelete="CASCADE"), index=True
    )
    workflow_template_id: Mapped[int | None] = mapped_column(
        ForeignKey("workflow_template.id", ondelete="SET NULL")
    )
    workflow_data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    event_reactions: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    # Root workflows own a `debusine:workflow-internal` collection.
    internal_collection_id: Mapped[int | None] = mapped_column(
        ForeignKey("collection.id", ondelete="SET NULL"), unique=True
    )
    expiration_delay: Mapped[dt.timedelta | None]
    # A retry supersedes the work request it replaces.
    supersedes_id: Mapped[int | None] = mapped_column(
        ForeignKey("work_request.id", ondelete="SET NULL"), unique=True
    )
    # Cached for the UI, recomputed when workflows_need_update is set.
    workflow_runtime_status: Mapped[WorkflowRuntimeStatus | None] = mapped_column(
        _enum(WorkflowRuntimeStatus, "workflow_runtime_status")
    )
    workflow_last_activity_at: Mapped[dt.datetime | None]
    # Workflows: a fingerprint of what their last populate depended on
    # (see debusine.workflows.populate_memo).
    populate_memo: Mapped[JSONDict | None]
    workflows_need_update: Mapped[bool] = mapped_column(
        default=False, server_default="false"
    )
    # What a worker must offer, copied from the task at creation so that the
    # scheduler matches in SQL (see debusine.orchestration.scheduler).
    # NULL worker type: never given to a worker (workflows, internal, wait).
    required_worker_type: Mapped[str | None] = mapped_column(String(16))
    # NULL: any architecture.
    required_architecture: Mapped[str | None] = mapped_column(String(64))
    # Metadata keys the worker must report true (tools, executors).
    required_capabilities: Mapped[list[str]] = mapped_column(
        ARRAY(Text), default=list, server_default="{}"
    )

    workspace: Mapped[Workspace] = relationship()
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])
    aborted_by: Mapped[User | None] = relationship(foreign_keys=[aborted_by_id])
    worker: Mapped[Worker | None] = relationship()
    parent: Mapped[WorkRequest | None] = relationship(
        remote_side=[id], foreign_keys=[parent_id], back_populates="children"
    )
    # Deleting a workflow deletes its children (the foreign key cascades too),
    # rather than turning them into root work requests.
    children: Mapped[list[WorkRequest]] = relationship(
        foreign_keys=[parent_id],
        back_populates="parent",
        cascade="save-update, merge, delete",
        passive_deletes=True,
    )
    supersedes: Mapped[WorkRequest | None] = relationship(
        remote_side=[id], foreign_keys=[supersedes_id]
    )
    dependencies: Mapped[list[WorkRequest]] = relationship(
        secondary=work_request_dependency,
        primaryjoin=lambda: WorkRequest.id == work_request_dependency.c.work_request_id,
        secondaryjoin=lambda: WorkRequest.id == work_request_dependency.c.dependency_id,
        back_populates="reverse_dependencies",
    )
    reverse_dependencies: Mapped[list[WorkRequest]] = relationship(
        secondary=work_request_dependency,
        primaryjoin=lambda: WorkRequest.id == work_request_dependency.c.dependency_id,
        secondaryjoin=lambda: (
            WorkRequest.id == work_request_dependency.c.work_request_id
        ),
        back_populates="dependencies",
        viewonly=True,
    )
    internal_collection: Mapped[Collection | None] = relationship()
    workflow_template: Mapped[WorkflowTemplate | None] = relationship()

    @property
    def priority_effective(self) -> int:
        return self.priority_base + self.priority_adjustment


class WorkflowTemplate(Base):
    """A named workflow users may start, with the task data they cannot change."""

    __tablename__ = "workflow_template"
    __table_args__ = (
        UniqueConstraint("workspace_id", "name"),
        CheckConstraint(sql_name_check("name"), name="name_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(
        ForeignKey("workspace.id", ondelete="CASCADE")
    )
    name: Mapped[str] = mapped_column(String(255))
    task_name: Mapped[str] = mapped_column(String(100))
    task_data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    priority: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[dt.datetime] = created_at_column()

    workspace: Mapped[Workspace] = relationship()

    @validates("name")
    def _validate_name(self, key: str, value: str) -> str:
        return validate_name("workflow template", value)


class NotificationMethod(enum.StrEnum):
    EMAIL = "email"


class NotificationChannel(Base):
    __tablename__ = "notification_channel"
    __table_args__ = (CheckConstraint(sql_name_check("name"), name="name_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(20), unique=True)
    method: Mapped[NotificationMethod] = mapped_column(
        _enum(NotificationMethod, "notification_method")
    )
    data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")

    @validates("name")
    def _validate_name(self, key: str, value: str) -> str:
        return validate_name("notification channel", value, max_length=20)
