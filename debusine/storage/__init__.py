"""File storage: content-addressed stores, and their rows in the database.

Every scope writes to the instance's `Default` store, a `Local` FileStore
whose files are under `<debusine.data_dir>/store`. Its row, and the
FileStoreInScope link of each scope, are created the first time a scope
needs them.

Order of effects: a file is moved into the store *before* the request's
transaction commits, never in an after-commit hook. A rollback then leaves
at worst a file on disk that no FileInStore row names: harmless, since the
store is content-addressed (any later row for the same sha256 and size
means exactly those bytes), and a cleanup pass can remove it. The other
order could commit a row saying a file is stored while a crash before the
hook ran left it missing, which would break every download of it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from debusine.models import File, FileInStore, FileStore, FileStoreInScope, Scope
from debusine.models.files import DEFAULT_FILE_STORE_NAME, FileStoreBackend
from debusine.storage.local import CHUNK_SIZE, HashMismatch, LocalStore
from debusine.storage.uploads import PartialUpload, ShortChunk, UploadGone

__all__ = [
    "CHUNK_SIZE",
    "HashMismatch",
    "LocalStore",
    "PartialUpload",
    "ShortChunk",
    "UploadGone",
    "default_store",
    "get_or_create_file",
    "local_store",
    "record_in_store",
]


def local_store(file_store: FileStore) -> LocalStore:
    if file_store.backend != FileStoreBackend.LOCAL:
        raise NotImplementedError(
            f"file store {file_store.name}: backend {file_store.backend} "
            "is not supported"
        )
    return LocalStore(Path(file_store.configuration["base_directory"]))


def default_store(
    session: Session, settings: dict[str, Any], scope: Scope
) -> tuple[FileStore, LocalStore]:
    """The `Default` store, linked to `scope`, created if missing."""
    base = Path(str(settings.get("debusine.data_dir", "var"))).absolute() / "store"
    session.execute(
        insert(FileStore)
        .values(
            name=DEFAULT_FILE_STORE_NAME,
            backend=FileStoreBackend.LOCAL,
            configuration={"base_directory": str(base)},
        )
        .on_conflict_do_nothing(index_elements=["name"])
    )
    file_store = session.scalars(
        select(FileStore).where(FileStore.name == DEFAULT_FILE_STORE_NAME)
    ).one()
    session.execute(
        insert(FileStoreInScope)
        .values(scope_id=scope.id, file_store_id=file_store.id)
        .on_conflict_do_nothing()
    )
    return file_store, local_store(file_store)


def get_or_create_file(session: Session, sha256: bytes, size: int) -> File:
    session.execute(
        insert(File)
        .values(sha256=sha256, size=size)
        .on_conflict_do_nothing(index_elements=["sha256", "size"])
    )
    return session.scalars(
        select(File).where(File.sha256 == sha256, File.size == size)
    ).one()


def is_in_store(session: Session, file_store: FileStore, file: File) -> bool:
    return (
        session.scalar(
            select(FileInStore.file_id).where(
                FileInStore.store_id == file_store.id, FileInStore.file_id == file.id
            )
        )
        is not None
    )


def record_in_store(session: Session, file_store: FileStore, file: File) -> None:
    session.execute(
        insert(FileInStore)
        .values(store_id=file_store.id, file_id=file.id)
        .on_conflict_do_nothing()
    )
