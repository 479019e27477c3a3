"""Time to assign one work request when a long queue ahead needs another arch.

Run as `.venv/bin/python bench/scheduler_queue.py`. It starts the embedded
PostgreSQL with a throw-away data directory under /tmp, migrates a fresh
database, bulk-loads N pending, prepared (dynamic task data computed, as
`create_work_request` does for a noop) `noop` work requests requiring `s390x` (all
of higher priority and older than the one an amd64 worker can run), then one
requiring `amd64`, and times `assign_next` for a connected amd64 worker:
the median of repeats, each rolled back. N is 10,000 then 100,000.
"""

from __future__ import annotations

import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session

from bench.support import fresh_database
from debusine import models
from debusine.orchestration.scheduler import assign_next
from debusine.work_requests import create_work_request

REPEATS = 50


def setup(session: Session) -> tuple[int, int]:
    scope = models.Scope(name="bench", label="Bench")
    workspace = models.Workspace(scope=scope, name="ws", public=True)
    token = models.Token(hash="0" * 64, enabled=True)
    worker = models.Worker(
        name="amd64-worker",
        token=token,
        connected_at=dt.datetime.now(dt.UTC),
        dynamic_metadata={
            "system:architectures": ["amd64", "i386"],
            "executor:unshare:available": True,
        },
    )
    session.add_all([scope, workspace, worker])
    session.flush()
    ids = (workspace.id, worker.id)
    session.commit()
    return ids


def load(session: Session, workspace_id: int, first: int, count: int) -> None:
    """`count` s390x requests, older and of higher priority than the amd64 one."""
    session.execute(
        text(
            "INSERT INTO work_request (workspace_id, created_at, status, task_type,"
            " task_name, task_data, version, priority_base, required_worker_type,"
            " required_architecture, required_capabilities, dynamic_task_data)"
            " SELECT :ws, now() - interval '1 day' + n * interval '1 ms', 'pending',"
            " 'Worker', 'noop', '{\"host_architecture\": \"s390x\"}', 1, 10,"
            " 'external', 's390x', '{}', '{}'"
            " FROM generate_series(CAST(:first AS integer), CAST(:last AS integer)) n"
        ),
        {"ws": workspace_id, "first": first, "last": first + count - 1},
    )
    session.commit()
    session.execute(text("ANALYZE work_request"))
    session.commit()


def measure(session: Session, worker_id: int, target_id: int) -> float:
    timings = []
    for _ in range(REPEATS):
        worker = session.get_one(models.Worker, worker_id)
        started = time.perf_counter()
        got = assign_next(session, worker)
        timings.append((time.perf_counter() - started) * 1000)
        assert got is not None
        assert got.id == target_id, got
        session.rollback()
    return statistics.median(timings[5:])  # the first ones warm the caches


def main() -> None:
    with fresh_database("scheduler") as url:
        engine = create_engine(url)
        with Session(engine) as session:
            workspace_id, worker_id = setup(session)
            workspace = session.get_one(models.Workspace, workspace_id)
            target = create_work_request(
                session,
                workspace=workspace,
                task_type=models.TaskType.WORKER,
                task_name="noop",
                task_data={"host_architecture": "amd64"},
                created_by=None,
            )
            target_id = target.id
            session.commit()
            results = {}
            loaded = 0
            for size in (10_000, 100_000):
                load(session, workspace_id, loaded, size - loaded)
                loaded = size
                results[size] = measure(session, worker_id, target_id)
                print(f"N={size}: assign_next median {results[size]:.3f} ms")
        engine.dispose()
        ratio = results[100_000] / results[10_000]
        print(
            f"FIGURE assign_with_100k_blocked_ms {results[100_000]:.3f} ms target <=10"
        )
        print(f"FIGURE assign_100k_vs_10k {ratio:.2f} ratio target <=1.5")


if __name__ == "__main__":
    main()
