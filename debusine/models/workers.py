"""Workers (external, signing, and the server's own) and worker pools."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Enum,
    ForeignKey,
    String,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from debusine.db.base import Base, JSONDict, created_at_column, enum_values
from debusine.models.auth import Token
from debusine.tasks.types import WorkerType


class Worker(Base):
    __tablename__ = "worker"
    __table_args__ = (
        CheckConstraint(
            "worker_type = 'server' OR token_id IS NOT NULL"
            " OR activation_token_id IS NOT NULL",
            name="has_token",
        ),
        CheckConstraint("concurrency >= 1", name="concurrency_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    worker_type: Mapped[WorkerType] = mapped_column(
        Enum(
            WorkerType,
            name="worker_type",
            native_enum=False,
            length=16,
            values_callable=enum_values,
            create_constraint=True,
        ),
        default=WorkerType.EXTERNAL,
    )
    registered_at: Mapped[dt.datetime] = created_at_column()
    # Set while the worker is connected to the bus, NULL otherwise.
    connected_at: Mapped[dt.datetime | None]
    last_heartbeat_at: Mapped[dt.datetime | None]
    instance_created_at: Mapped[dt.datetime | None]
    token_id: Mapped[int | None] = mapped_column(
        ForeignKey("token.id", ondelete="SET NULL"), unique=True
    )
    activation_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("token.id", ondelete="SET NULL"), unique=True
    )
    # Set by the administrator; wins over what the worker reports.
    static_metadata: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    # Reported by the worker itself (architectures, tools, executors).
    dynamic_metadata: Mapped[JSONDict] = mapped_column(
        default=dict, server_default="{}"
    )
    dynamic_metadata_updated_at: Mapped[dt.datetime | None]
    concurrency: Mapped[int] = mapped_column(default=1, server_default="1")
    worker_pool_id: Mapped[int | None] = mapped_column(
        ForeignKey("worker_pool.id", ondelete="SET NULL"), index=True
    )
    worker_pool_data: Mapped[JSONDict | None]

    token: Mapped[Token | None] = relationship(foreign_keys=[token_id])
    activation_token: Mapped[Token | None] = relationship(
        foreign_keys=[activation_token_id]
    )
    worker_pool: Mapped[WorkerPool | None] = relationship()

    def effective_metadata(self) -> dict[str, Any]:
        """The worker's metadata: what it reports, overridden by the admin's."""
        return {**self.dynamic_metadata, **self.static_metadata}

    @property
    def connected(self) -> bool:
        return self.connected_at is not None

    def deassign_work_requests(self, session: Session) -> list[int]:
        """Put this worker's pending and running work requests back in the queue.

        Used when the worker is disabled: its work goes to other workers.
        Returns the ids of the work requests it gave back.
        """
        from debusine.models.work_requests import WorkRequest, WorkRequestStatus

        return list(
            session.scalars(
                update(WorkRequest)
                .where(
                    WorkRequest.worker_id == self.id,
                    WorkRequest.status.in_(
                        [WorkRequestStatus.PENDING, WorkRequestStatus.RUNNING]
                    ),
                )
                .values(
                    worker_id=None, status=WorkRequestStatus.PENDING, started_at=None
                )
                .returning(WorkRequest.id),
                execution_options={"synchronize_session": "fetch"},
            )
        )


class WorkerPool(Base):
    """A set of dynamically provisioned workers from a cloud provider."""

    __tablename__ = "worker_pool"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    provider_account_id: Mapped[int] = mapped_column(
        ForeignKey("asset.id", ondelete="RESTRICT", use_alter=True)
    )
    enabled: Mapped[bool] = mapped_column(default=True, server_default="true")
    architectures: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    tags: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    specifications: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    instance_wide: Mapped[bool] = mapped_column(default=True, server_default="true")
    ephemeral: Mapped[bool] = mapped_column(default=False, server_default="false")
    limits: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    registered_at: Mapped[dt.datetime] = created_at_column()


class ScopeWorkerPool(Base):
    """A worker pool made available to a scope, with its own limits."""

    __tablename__ = "scope_worker_pool"

    scope_id: Mapped[int] = mapped_column(
        ForeignKey("scope.id", ondelete="CASCADE"), primary_key=True
    )
    worker_pool_id: Mapped[int] = mapped_column(
        ForeignKey("worker_pool.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    priority: Mapped[int] = mapped_column(default=0, server_default="0")
    limits: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
