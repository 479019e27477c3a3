"""The local content-addressed store and partial uploads, on real files."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from debusine.storage import (
    HashMismatch,
    LocalStore,
    PartialUpload,
    ShortChunk,
    UploadGone,
)
from debusine.storage import uploads as uploads_module
from tests.storage.helpers import sha256


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "store")


def test_path_layout(store: LocalStore) -> None:
    digest = sha256(b"x")
    assert store.path(digest, 1) == (
        store.base_directory / digest[:2] / digest[2:4] / f"{digest}_1"
    )


def test_add_stream_stores_and_reads(store: LocalStore) -> None:
    data = b"hello world" * 300_000  # several chunks
    path = store.add_stream(io.BytesIO(data), sha256(data), len(data))
    assert path.read_bytes() == data
    assert store.exists(sha256(data), len(data))
    assert b"".join(store.read(sha256(data), len(data))) == data
    assert b"".join(store.read(sha256(data), len(data), 5, 11)) == data[5:11]
    assert b"".join(store.read(sha256(data), len(data), len(data) - 3)) == data[-3:]
    assert list(store.tmp_directory.iterdir()) == []


@pytest.mark.parametrize(
    ("content", "declared_size"),
    [(b"other content", 7), (b"1234567", 7), (b"12345678", 7), (b"123456", 7)],
)
def test_add_stream_mismatch_is_never_stored(
    store: LocalStore, content: bytes, declared_size: int
) -> None:
    declared = sha256(b"abcdefg")
    with pytest.raises(HashMismatch):
        store.add_stream(io.BytesIO(content), declared, declared_size)
    assert not store.exists(declared, declared_size)
    assert list(store.tmp_directory.iterdir()) == []
    assert [p for p in store.base_directory.rglob("*") if p.is_file()] == []


def test_add_stream_dedup(store: LocalStore) -> None:
    data = b"same"
    first = store.add_stream(io.BytesIO(data), sha256(data), 4)
    second = store.add_stream(io.BytesIO(data), sha256(data), 4)
    assert first == second
    assert [p for p in store.base_directory.rglob("*") if p.is_file()] == [first]


def test_empty_file(store: LocalStore) -> None:
    store.add_stream(io.BytesIO(b""), sha256(b""), 0)
    assert list(store.read(sha256(b""), 0)) == []


def test_partial_upload_in_chunks(store: LocalStore) -> None:
    data = bytes(range(256)) * 10_000
    upload = PartialUpload(store, 1)
    assert upload.received() == 0
    assert upload.append(0, io.BytesIO(data[:1000]), 1000) == 1000
    assert upload.append(1000, io.BytesIO(data[1000:]), len(data) - 1000) == len(data)
    final = upload.finish(sha256(data), len(data))
    assert final.read_bytes() == data
    assert not upload.path.exists()


def test_partial_upload_hash_rebuilt_without_cache(store: LocalStore) -> None:
    """Another process (no cached hash state) gets the same answer."""
    data = b"0123456789" * 1000
    upload = PartialUpload(store, 2)
    upload.append(0, io.BytesIO(data[:5000]), 5000)
    uploads_module._hash_cache.clear()
    upload.append(5000, io.BytesIO(data[5000:]), 5000)
    uploads_module._hash_cache.clear()
    assert upload.finish(sha256(data), len(data)).read_bytes() == data


def test_partial_upload_short_chunk_is_cut_off(store: LocalStore) -> None:
    upload = PartialUpload(store, 3)
    upload.append(0, io.BytesIO(b"abc"), 3)
    with pytest.raises(ShortChunk, match="only 2 bytes"):
        upload.append(3, io.BytesIO(b"de"), 4)
    assert upload.received() == 3
    with pytest.raises(ShortChunk, match="more than"):
        upload.append(3, io.BytesIO(b"defgh"), 4)
    assert upload.received() == 3
    upload.append(3, io.BytesIO(b"defg"), 4)
    assert upload.path.read_bytes() == b"abcdefg"


def test_partial_upload_mismatch_discards(store: LocalStore) -> None:
    upload = PartialUpload(store, 4)
    upload.append(0, io.BytesIO(b"wrong"), 5)
    with pytest.raises(HashMismatch):
        upload.finish(sha256(b"right"), 5)
    assert not upload.path.exists()
    assert upload.received() == 0
    assert not store.exists(sha256(b"right"), 5)
    assert not store.exists(sha256(b"wrong"), 5)


def test_partial_upload_removed_while_counted_is_gone_not_a_hole(
    store: LocalStore,
) -> None:
    """Expiry removing the file between the count and the write: no new file."""
    upload = PartialUpload(store, 5)
    upload.append(0, io.BytesIO(b"01234"), 5)
    upload.path.unlink()
    with pytest.raises(UploadGone):
        upload.append(5, io.BytesIO(b"56789"), 5)
    assert not upload.path.exists()
