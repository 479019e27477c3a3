"""The cache of unpacked environments: atomic unpacks, locks, LRU eviction."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from worker.executors.base import ExecutorError
from worker.executors.environment_cache import EnvironmentCache, tarball_sha256

pytestmark = pytest.mark.usefixtures("namespaces")


def leftovers(cache: EnvironmentCache) -> list[str]:
    return sorted(p.name for p in cache.environments.glob(".*"))


def test_an_unpacked_tarball_is_reused_under_its_key(
    tmp_path: Path, make_tarball: Callable[..., Path]
) -> None:
    cache = EnvironmentCache(tmp_path / "cache")
    tarball = make_tarball("one")
    lease = cache.acquire(tarball, key="artifact-1")
    assert (lease.root / "etc" / "payload").read_bytes().startswith(b"one")
    lease.release()
    tarball.unlink()  # a cached key needs the tarball no more
    again = cache.acquire(tarball, key="artifact-1")
    assert again.root == lease.root
    again.release()
    assert cache.entries() == [f"artifact-1.{cache.mapping.name}"]


def test_without_a_key_the_sha256_names_the_entry(
    tmp_path: Path, make_tarball: Callable[..., Path]
) -> None:
    cache = EnvironmentCache(tmp_path / "cache")
    tarball = make_tarball("gz", compression="gz")
    cache.acquire(tarball).release()
    assert cache.entries() == [f"{tarball_sha256(tarball)}.{cache.mapping.name}"]


@pytest.mark.parametrize("how", ["truncated", "not a tarball", "no system"])
def test_a_bad_tarball_is_a_clear_error_and_leaves_no_entry(
    tmp_path: Path, make_tarball: Callable[..., Path], how: str
) -> None:
    cache = EnvironmentCache(tmp_path / "cache")
    good = make_tarball("good", size=200_000)
    bad = tmp_path / "bad.tar.xz"
    if how == "truncated":
        bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    elif how == "not a tarball":
        bad.write_bytes(b"this is not a tarball\n" * 100)
    else:
        import tarfile

        with tarfile.open(bad, "w:xz") as archive:
            archive.add(good, arcname="just-a-file")
    with pytest.raises(ExecutorError, match=r"bad\.tar\.xz"):
        cache.acquire(bad, key="bad")
    assert cache.entries() == []
    assert leftovers(cache) == []
    # The lock was released: a good tarball under the same key unpacks.
    cache.acquire(good, key="bad").release()


def test_a_missing_tarball_and_a_bad_key_are_errors(
    tmp_path: Path, make_tarball: Callable[..., Path]
) -> None:
    cache = EnvironmentCache(tmp_path / "cache")
    with pytest.raises(ExecutorError, match="does not exist"):
        cache.acquire(tmp_path / "missing.tar.xz", key="missing")
    with pytest.raises(ExecutorError, match="key"):
        cache.acquire(make_tarball("x"), key="../escape")


def test_a_crashed_unpack_is_never_used_and_is_cleaned_up(
    tmp_path: Path, make_tarball: Callable[..., Path]
) -> None:
    cache = EnvironmentCache(tmp_path / "cache")
    name = f"k.{cache.mapping.name}"
    # What a worker killed in the middle of unpacking leaves behind.
    crashed = cache.environments / f".unpack-{name}-dead"
    (crashed / "root" / "etc").mkdir(parents=True)
    (crashed / "root" / "etc" / "payload").write_text("half")
    lease = cache.acquire(make_tarball("whole"), key="k")
    assert (lease.root / "etc" / "payload").read_bytes().startswith(b"whole")
    assert leftovers(cache) == []
    lease.release()


def test_least_recently_used_entries_are_evicted_past_the_count(
    tmp_path: Path, make_tarball: Callable[..., Path]
) -> None:
    cache = EnvironmentCache(tmp_path / "cache", max_entries=2)
    suffix = cache.mapping.name
    for key in ("a", "b"):
        cache.acquire(make_tarball(key), key=key).release()
    # Using `a` makes `b` the least recently used.
    cache.acquire(make_tarball("a"), key="a").release()
    cache.acquire(make_tarball("c"), key="c").release()
    assert sorted(cache.entries()) == [f"a.{suffix}", f"c.{suffix}"]
    assert leftovers(cache) == []


def test_an_environment_in_use_is_not_evicted(
    tmp_path: Path, make_tarball: Callable[..., Path]
) -> None:
    cache = EnvironmentCache(tmp_path / "cache", max_entries=1)
    held = cache.acquire(make_tarball("held"), key="held")
    cache.acquire(make_tarball("new"), key="new").release()
    # Over the limit while `held` is used; it goes once released.
    assert (held.root / "etc" / "payload").is_file()
    held.release()
    cache.evict()
    assert cache.entries() == [f"new.{cache.mapping.name}"]


def test_entries_are_evicted_past_the_size(
    tmp_path: Path, make_tarball: Callable[..., Path]
) -> None:
    cache = EnvironmentCache(tmp_path / "cache", max_bytes=150_000)
    for key in ("first", "second"):
        cache.acquire(make_tarball(key, size=100_000), key=key).release()
    assert cache.entries() == [f"second.{cache.mapping.name}"]


def test_two_tasks_asking_at_once_share_one_unpack(
    tmp_path: Path, make_tarball: Callable[..., Path]
) -> None:
    cache = EnvironmentCache(tmp_path / "cache")
    tarball = make_tarball("shared", size=2_000_000)
    roots: list[Path] = []
    errors: list[BaseException] = []

    def use() -> None:
        try:
            lease = EnvironmentCache(cache.directory).acquire(tarball, key="shared")
            roots.append(lease.root)
            assert (lease.root / "etc" / "payload").stat().st_size == 2_000_000
            lease.release()
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(set(roots)) == 1
    assert cache.entries() == [f"shared.{cache.mapping.name}"]
    assert leftovers(cache) == []
