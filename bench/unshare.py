"""Benchmark of the unshare executor: making a task's view, starting a command.

    python bench/unshare.py [TARBALL]

TARBALL defaults to the test suite's bookworm tarball under var/test-cache
(run tests/worker/executors first). It unpacks it once into a throw-away
cache, then times, over a few rounds: preparing a task's view as an overlay
and as a copy (`cp -a --reflink=auto`), and running `true` in the container.
It prints `FIGURE name value unit target ...` lines. Not a test.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from worker.executors.environment_cache import EnvironmentCache
from worker.executors.namespaces import remove_tree
from worker.executors.unshare import UnshareExecutor

ROUNDS = 5


def default_tarball() -> Path:
    found = sorted(
        (Path(__file__).resolve().parents[1] / "var" / "test-cache").glob(
            "bookworm-*.tar.*"
        )
    )
    if not found:
        sys.exit("no tarball: pass one, or run tests/worker/executors first")
    return found[-1]


def timed_prepare(cache: EnvironmentCache, tarball: Path, mode: str) -> float:
    times = []
    for _ in range(ROUNDS):
        executor = UnshareExecutor(cache, copy_on_write=mode)
        started = time.perf_counter()
        executor.prepare(tarball, key="bench")
        times.append(time.perf_counter() - started)
        executor.cleanup()
    return statistics.median(times)


def main() -> None:
    tarball = Path(sys.argv[1]) if len(sys.argv) > 1 else default_tarball()
    directory = Path(tempfile.mkdtemp(prefix="debusine-bench-unshare-"))
    cache = EnvironmentCache(directory)
    try:
        started = time.perf_counter()
        cache.acquire(tarball, key="bench").release()
        unpack = time.perf_counter() - started
        overlay = timed_prepare(cache, tarball, "overlay")
        copy = timed_prepare(cache, tarball, "copy")
        with UnshareExecutor(cache) as executor:
            executor.prepare(tarball, key="bench")
            runs = []
            for _ in range(ROUNDS * 2):
                started = time.perf_counter()
                executor.run(["true"], check=True)
                runs.append(time.perf_counter() - started)
        print(f"FIGURE unshare_unpack_s {unpack:.2f} s")
        print(f"FIGURE unshare_prepare_overlay_s {overlay:.4f} s target <=0.5")
        print(f"FIGURE unshare_prepare_copy_s {copy:.3f} s")
        print(f"FIGURE unshare_run_true_s {statistics.median(runs):.3f} s target <=0.5")
    finally:
        remove_tree(directory, cache.mapping)


if __name__ == "__main__":
    main()
