"""Content-addressed files and the stores that hold them."""

from __future__ import annotations

import datetime as dt
import enum

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Enum,
    ForeignKey,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from debusine.db.base import Base, JSONDict, created_at_column, enum_values

DEFAULT_FILE_STORE_NAME = "Default"


class FileStoreBackend(enum.StrEnum):
    LOCAL = "Local"
    EXTERNAL_DEBIAN_SUITE = "ExternalDebianSuite"
    MEMORY = "Memory"
    S3 = "S3"


class FileStore(Base):
    __tablename__ = "file_store"
    __table_args__ = (
        CheckConstraint("max_size IS NULL OR max_size >= 0", name="max_size_positive"),
        CheckConstraint(
            "soft_max_size IS NULL OR soft_max_size >= 0", name="soft_max_size_positive"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    backend: Mapped[FileStoreBackend] = mapped_column(
        Enum(
            FileStoreBackend,
            name="file_store_backend",
            native_enum=False,
            length=32,
            values_callable=enum_values,
            create_constraint=True,
        )
    )
    configuration: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")
    instance_wide: Mapped[bool] = mapped_column(default=True, server_default="true")
    soft_max_size: Mapped[int | None] = mapped_column(BigInteger)
    max_size: Mapped[int | None] = mapped_column(BigInteger)
    total_size: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    provider_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("asset.id", ondelete="RESTRICT", use_alter=True)
    )
    created_at: Mapped[dt.datetime] = created_at_column()


class File(Base):
    """A file's content identity: its sha256 and size, unique together."""

    __tablename__ = "file"
    __table_args__ = (
        UniqueConstraint("sha256", "size"),
        CheckConstraint("size >= 0", name="size_positive"),
        CheckConstraint("octet_length(sha256) = 32", name="sha256_length"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[bytes] = mapped_column(LargeBinary)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[dt.datetime] = created_at_column()

    @property
    def hash_digest(self) -> str:
        return self.sha256.hex()


class FileInStore(Base):
    __tablename__ = "file_in_store"

    store_id: Mapped[int] = mapped_column(
        ForeignKey("file_store.id", ondelete="CASCADE"), primary_key=True
    )
    file_id: Mapped[int] = mapped_column(
        ForeignKey("file.id", ondelete="RESTRICT"), primary_key=True, index=True
    )
    data: Mapped[JSONDict] = mapped_column(default=dict, server_default="{}")

    store: Mapped[FileStore] = relationship()
    file: Mapped[File] = relationship()
