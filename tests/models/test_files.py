"""Files (content identities), file stores and which store holds what."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from debusine.models import (
    File,
    FileInArtifact,
    FileInStore,
    FileStore,
    FileStoreBackend,
)
from debusine.models.files import DEFAULT_FILE_STORE_NAME
from tests.factories import ArtifactFactory, FileFactory, FileStoreFactory
from tests.models.conftest import Refused

DIGEST = hashlib.sha256(b"hello\n").digest()


def test_file_hash_digest(db_session: Session) -> None:
    file = File(sha256=DIGEST, size=6)
    db_session.add(file)
    db_session.flush()
    db_session.expire(file)
    assert file.hash_digest == hashlib.sha256(b"hello\n").hexdigest()
    assert file.created_at is not None


def test_file_unique_on_hash_and_size(refused: Refused, db_session: Session) -> None:
    db_session.add(File(sha256=DIGEST, size=6))
    db_session.flush()
    # Same hash, other size: a different identity (however unlikely).
    db_session.add(File(sha256=DIGEST, size=7))
    db_session.flush()
    with refused("uq_file_sha256_size"):
        db_session.add(File(sha256=DIGEST, size=6))


@pytest.mark.parametrize("length", [0, 20, 31, 33, 64])
def test_file_hash_is_32_bytes(
    refused: Refused, db_session: Session, length: int
) -> None:
    with refused("ck_file_sha256_length"):
        db_session.add(File(sha256=b"\x01" * length, size=1))


def test_file_size_not_negative(refused: Refused, db_session: Session) -> None:
    db_session.add(File(sha256=hashlib.sha256(b"").digest(), size=0))
    db_session.flush()
    with refused("ck_file_size_positive"):
        db_session.add(File(sha256=DIGEST, size=-1))


def test_file_size_beyond_32_bits(db_session: Session) -> None:
    file = File(sha256=DIGEST, size=5 * 2**32)
    db_session.add(file)
    db_session.flush()
    db_session.expire(file)
    assert file.size == 5 * 2**32


def test_file_store_name_unique(refused: Refused, db_session: Session) -> None:
    FileStoreFactory(name=DEFAULT_FILE_STORE_NAME, backend=FileStoreBackend.LOCAL)
    with refused("uq_file_store_name"):
        db_session.add(
            FileStore(name=DEFAULT_FILE_STORE_NAME, backend=FileStoreBackend.MEMORY)
        )


def test_file_store_backend_known(refused: Refused, raw_insert) -> None:
    with refused("ck_file_store_file_store_backend"):
        raw_insert(FileStore, name="x", backend="Floppy")
    # Stored by value, as users write it.
    with refused("ck_file_store_file_store_backend"):
        raw_insert(FileStore, name="y", backend="LOCAL")


def test_file_store_defaults(db_session: Session) -> None:
    store = FileStoreFactory()
    db_session.expire(store)
    assert (store.instance_wide, store.total_size, store.configuration) == (True, 0, {})
    assert store.backend is FileStoreBackend.MEMORY


@pytest.mark.parametrize(
    ("field", "constraint"),
    [
        ("max_size", "ck_file_store_max_size_positive"),
        ("soft_max_size", "ck_file_store_soft_max_size_positive"),
    ],
)
def test_file_store_sizes_not_negative(
    refused: Refused, db_session: Session, field: str, constraint: str
) -> None:
    FileStoreFactory(**{field: 0})
    with refused(constraint):
        FileStoreFactory(**{field: -1})


def test_file_in_store(refused: Refused, raw_insert, db_session: Session) -> None:
    store, file = FileStoreFactory(), FileFactory()
    db_session.add(FileInStore(store=store, file=file, data={"path": "x"}))
    db_session.flush()
    with refused("pk_file_in_store"):
        raw_insert(FileInStore, store_id=store.id, file_id=file.id)


def test_file_in_a_store_cannot_be_deleted(
    refused: Refused, db_session: Session
) -> None:
    store, file = FileStoreFactory(), FileFactory()
    db_session.add(FileInStore(store=store, file=file))
    db_session.flush()
    with refused("fk_file_in_store_file_id_file"):
        db_session.delete(file)


def test_deleting_a_store_forgets_what_it_held(db_session: Session) -> None:
    store, file = FileStoreFactory(), FileFactory()
    db_session.add(FileInStore(store=store, file=file))
    db_session.flush()
    db_session.delete(store)
    db_session.flush()
    assert db_session.scalars(select(FileInStore)).all() == []
    assert db_session.get(File, file.id) is not None


def test_file_in_an_artifact_cannot_be_deleted(
    refused: Refused, db_session: Session
) -> None:
    file = FileFactory()
    db_session.add(FileInArtifact(artifact=ArtifactFactory(), path="a", file=file))
    db_session.flush()
    with refused("fk_file_in_artifact_file_id_file"):
        db_session.delete(file)
