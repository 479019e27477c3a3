"""A server killed while it populates a large workflow loses nothing, doubles nothing.

Issue 5's must-show: `debusine-server` (orchestrator inside) on a scratch
database is SIGKILLed at random points while it lays out a `noop` workflow
of 1,000 children (and a summary callback depending on them all), then
restarted; once populated, the workflow's structure must be the one an
uninterrupted run gives, with no child twice.

The uninterrupted run is a first, identical workflow the same server
populates before any kill; the time it took bounds the random delays.
A kill comes 0..that time after a crash workflow's creation (before or
while populating), or, after a restart, 0..half of it after the restarted
server locked the workflow's row to populate it (so that most land
mid-way). After each kill the database holds all of the workflow or none
of it, and PostgreSQL's insert count tells how many children the killed
transaction had written before it was rolled back: the test kills until
at least one kill caught the populate half-way. The delays come from a
seed, printed (shown when the test fails) and taken from
`CRASH_SAFETY_SEED` to replay a run. On a loaded machine populating is
slow, and so is the test: its delays follow the measured time.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy

from tests.functional.system import System, poll, running_system

pytestmark = pytest.mark.timeout(900)

CHILDREN = 1000
WORKFLOW_DATA = {
    "children": CHILDREN,
    "failing_children": [3, 500, 999],
    "allow_failure": True,
    "callback": True,
}
KILLS = 4
# More kills while none has caught the populate writing children.
MAX_KILLS = 8

# A child is identified by what it is, not by its id: the
# `work_request_ensure_child` key (retry bookkeeping aside).
ChildKey = tuple[str, str, str, str]
_VOLATILE = {"retry_count", "manual_unblock"}


@dataclass
class Kill:
    workflow_id: int
    delay_ms: float
    after: str
    status: str
    children: int
    # Children the killed server had inserted and PostgreSQL rolled back.
    rolled_back: int

    @property
    def state(self) -> str:
        if self.status != "pending":
            return "populated"
        if self.rolled_back:
            return f"mid-populate ({self.rolled_back} children rolled back)"
        return "no child written yet"


@pytest.fixture
def system(scratch_database: str, tmp_path: Path) -> Iterator[System]:
    with running_system(scratch_database, tmp_path) as system:
        yield system


def _canonical(data: Any) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _child_key(row: Any) -> ChildKey:
    stable = {k: v for k, v in row.workflow_data.items() if k not in _VOLATILE}
    return (row.task_type, row.task_name, _canonical(row.task_data), _canonical(stable))


def create_workflow(system: System) -> int:
    created = system.api(
        "POST",
        "/workflow/",
        json={"template_name": "crash-noop", "task_data": WORKFLOW_DATA},
    )
    return int(created["id"])


def status_and_children(system: System, workflow_id: int) -> tuple[str, int]:
    """The workflow's status and number of children, in one snapshot."""
    with system.database.connect() as connection:
        status, children = connection.execute(
            sqlalchemy.text(
                "SELECT status, (SELECT count(*) FROM work_request AS child"
                " WHERE child.parent_id = wr.id) FROM work_request AS wr"
                " WHERE wr.id = :id"
            ),
            {"id": workflow_id},
        ).one()
    return str(status), int(children)


def being_orchestrated(system: System, workflow_id: int) -> bool:
    """Whether a transaction in progress holds the workflow's row.

    The orchestrator locks the workflow's row first and populates it in
    that same transaction: the row's `xmax` is then that transaction's id.
    """
    with system.database.connect() as connection:
        return bool(
            connection.scalar(
                sqlalchemy.text(
                    "SELECT EXISTS (SELECT 1 FROM work_request AS wr"
                    " JOIN pg_stat_activity AS activity"
                    " ON activity.backend_xid = wr.xmax"
                    " WHERE wr.id = :id AND activity.pid <> pg_backend_pid())"
                ),
                {"id": workflow_id},
            )
        )


def started_populating(system: System, workflow_id: int) -> bool:
    return being_orchestrated(system, workflow_id) or (
        status_and_children(system, workflow_id)[0] != "pending"
    )


def rolled_back_inserts(system: System) -> int:
    """Rows inserted into work_request by transactions that rolled back.

    PostgreSQL's insert count includes rolled back rows; none is deleted
    here, so the ones not in the table were rolled back. A backend adds to
    the count when its transaction ends or it exits: wait for
    `server_connections_gone` first.
    """
    with system.database.connect() as connection:
        return int(
            connection.scalar(
                sqlalchemy.text(
                    "SELECT n_tup_ins - (SELECT count(*) FROM work_request)"
                    " FROM pg_stat_user_tables WHERE relname = 'work_request'"
                )
            )
        )


def server_connections_gone(system: System) -> None:
    """Wait until PostgreSQL has noticed the killed server's connections close."""

    def gone() -> bool:
        with system.database.connect() as connection:
            return not connection.scalar(
                sqlalchemy.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database()"
                    " AND pid <> pg_backend_pid()"
                    " AND backend_type = 'client backend'"
                )
            )

    poll(gone, 60, "the killed server's database connections closed")


def wait_populated(system: System, workflow_id: int, timeout: float = 300) -> None:
    poll(
        lambda: status_and_children(system, workflow_id)[0] == "running",
        timeout,
        f"workflow {workflow_id} populated",
        every=0.1,
    )


def structure(system: System, workflow_id: int) -> dict[str, Any]:
    """What the workflow laid out, with ids replaced by child keys."""
    with system.database.connect() as connection:
        workflow = connection.execute(
            sqlalchemy.text(
                "SELECT wr.status, wr.task_data, wr.dynamic_task_data,"
                " collection.name AS internal_collection"
                " FROM work_request AS wr"
                " LEFT JOIN collection ON collection.id = wr.internal_collection_id"
                " WHERE wr.id = :id"
            ),
            {"id": workflow_id},
        ).one()
        collections = connection.scalar(
            sqlalchemy.text("SELECT count(*) FROM collection WHERE name = :name"),
            {"name": f"workflow-{workflow_id}"},
        )
        rows = connection.execute(
            sqlalchemy.text(
                "SELECT id, task_type, task_name, task_data, workflow_data, status"
                " FROM work_request WHERE parent_id = :id"
            ),
            {"id": workflow_id},
        ).all()
        edges = connection.execute(
            sqlalchemy.text(
                "SELECT dep.work_request_id, dep.dependency_id"
                " FROM work_request_dependency AS dep"
                " JOIN work_request AS wr ON wr.id = dep.work_request_id"
                " WHERE wr.parent_id = :id"
            ),
            {"id": workflow_id},
        ).all()
    keys = {row.id: _child_key(row) for row in rows}
    dependencies: dict[int, list[ChildKey]] = {row.id: [] for row in rows}
    for work_request_id, dependency_id in edges:
        dependencies[work_request_id].append(keys[dependency_id])
    return {
        "status": workflow.status,
        "task_data": workflow.task_data,
        "dynamic_task_data": workflow.dynamic_task_data,
        "internal_collection": workflow.internal_collection
        == f"workflow-{workflow_id}",
        "internal_collections": collections,
        "children": sorted(
            (keys[row.id], row.status, sorted(dependencies[row.id])) for row in rows
        ),
    }


def kill_at(
    system: System,
    workflow_id: int,
    trigger: float,
    delay: float,
    after: str,
    rolled_back_before: int,
) -> Kill:
    """SIGKILL the server `delay` seconds after `trigger` (a monotonic time)."""
    time.sleep(max(0.0, trigger + delay - time.monotonic()))
    system.kill_server()
    server_connections_gone(system)
    status, children = status_and_children(system, workflow_id)
    rolled_back = rolled_back_inserts(system) - rolled_back_before
    return Kill(workflow_id, delay * 1000, after, status, children, rolled_back)


def test_killed_while_populating_ends_as_an_uninterrupted_run(system: System) -> None:
    seed = int(os.environ.get("CRASH_SAFETY_SEED") or random.randrange(2**32))
    print(f"crash-safety seed {seed} (replay: CRASH_SAFETY_SEED={seed})")
    rng = random.Random(seed)
    system.api(
        "POST",
        "/workflow-template/",
        json={"name": "crash-noop", "task_name": "noop", "task_data": {}},
    )

    # The uninterrupted run, and how long populating takes.
    started = time.monotonic()
    reference_id = create_workflow(system)
    wait_populated(system, reference_id)
    duration = time.monotonic() - started
    print(f"uninterrupted populate of {reference_id}: {duration * 1000:.0f} ms")
    reference = structure(system, reference_id)
    # The whole layout: every child and the callback on all of them.
    assert len(reference["children"]) == CHILDREN + 1
    [callback] = [child for child in reference["children"] if child[2]]
    assert len(callback[2]) == CHILDREN

    crash_ids: list[int] = []
    kills: list[Kill] = []
    rolled_back = 0
    # Kill until enough kills, one at least mid-populate, within bounds.
    while len(kills) < KILLS or not any(kill.rolled_back for kill in kills):
        assert len(kills) < MAX_KILLS, kills
        if kills:
            system.start_server()
        if not kills or kills[-1].state == "populated":
            # The first, or populated before its kill: kill from creation on,
            # before or while populating.
            crash_ids.append(create_workflow(system))
            trigger, after = time.monotonic(), "creation"
            delay = rng.uniform(0, duration)
        else:
            # Restarted: kill once its populate has begun, well within the
            # time it takes.
            trigger = poll(
                lambda: started_populating(system, crash_ids[-1]) and time.monotonic(),
                120,
                f"the restarted server orchestrating {crash_ids[-1]}",
                every=0.01,
            )
            after, delay = "locking", rng.uniform(0, duration / 2)
        kill = kill_at(system, crash_ids[-1], trigger, delay, after, rolled_back)
        rolled_back += kill.rolled_back
        if kill.state == "populated":
            # Populating went faster than measured (the machine's load
            # varies): later delays follow.
            duration = min(duration, delay)
        print(
            f"killed {kill.delay_ms:.0f} ms after {kill.after} (workflow"
            f" {kill.workflow_id}): {kill.state}, {kill.children} children"
        )
        kills.append(kill)
        # All of the workflow or none of it: never a part left as populated.
        assert (kill.status, kill.children) in {
            ("pending", 0),
            ("running", CHILDREN + 1),
        }, kill
    system.start_server()

    for crash_id in crash_ids:
        wait_populated(system, crash_id)
        crashed = structure(system, crash_id)
        duplicates = [
            key
            for key, count in Counter(c[0] for c in crashed["children"]).items()
            if count > 1
        ]
        assert duplicates == []
        assert crashed == reference
