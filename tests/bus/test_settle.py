"""`DatabaseBusHandlers.settle`: one broker cycle's results and assignments.

Against a real, committed database: what the broker relies on is that the
FINALs it is told are acknowledged are stored (or rightly ignored), that a
FINAL that cannot be stored is left out without costing the others, and
that each idle worker gets at most one request, running at once.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from debusine import work_requests
from debusine.bus.broker import Final, WorkerIdentity
from debusine.bus.handlers import DatabaseBusHandlers
from debusine.models import (
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
    Workspace,
)
from tests.bus.test_handlers_wired import Database, make_database


@pytest.fixture
def database(scratch_database: str) -> Iterator[Database]:
    db = make_database(scratch_database)
    yield db
    db.engine.dispose()


@pytest.fixture
def woken() -> list[bool]:
    return []


@pytest.fixture
def handlers(database: Database, woken: list[bool]) -> DatabaseBusHandlers:
    return DatabaseBusHandlers(
        database.factory, on_work_available=lambda: woken.append(True)
    )


def connected(
    database: Database, handlers: DatabaseBusHandlers, name: str
) -> WorkerIdentity:
    _, key = database.add_worker(name)
    identity = handlers.authenticate(key)
    assert identity is not None
    handlers.worker_ready(identity, {"system:architectures": ["amd64"]})
    return identity


def add_dependent(database: Database, dependency_id: int) -> int:
    with database.factory.begin() as session:
        dependency = session.get_one(WorkRequest, dependency_id)
        dependent = work_requests.create_work_request(
            session,
            workspace=session.get_one(Workspace, database.workspace_id),
            task_type="Worker",
            task_name="noop",
            task_data={},
            created_by=None,
            dependencies=[dependency],
        )
        return dependent.id


def test_results_and_assignments_of_one_cycle(
    database: Database, handlers: DatabaseBusHandlers, woken: list[bool]
) -> None:
    first_wr, second_wr, third_wr = (database.add_noop() for _ in range(3))
    one = connected(database, handlers, "settle-1")
    two = connected(database, handlers, "settle-2")

    settled = handlers.settle([], [one, two])
    assert settled.acknowledged == []
    assert {b["work_request_id"] for b in settled.assignments.values()} == {
        first_wr,
        second_wr,
    }
    assert settled.assignments[one.id]["extra"]["workspace"] == "wired"
    for worker in (one, two):
        running = database.get(settled.assignments[worker.id]["work_request_id"])
        assert running.status == WorkRequestStatus.RUNNING
        assert running.worker_id == worker.id
        assert running.started_at is not None
    ones = settled.assignments[one.id]["work_request_id"]
    twos = settled.assignments[two.id]["work_request_id"]
    dependent = add_dependent(database, ones)
    assert database.get(dependent).status == WorkRequestStatus.BLOCKED

    finals = [
        Final(one, ones, "success", {"runtime_statistics": {"cpu_time": 3}}),
        Final(two, twos, "failure", {"errors": [{"code": "x", "message": "y"}]}),
        # Not two's: ignored; one's again in the same cycle: applied once.
        Final(two, ones, "error", {}),
        Final(one, ones, "failure", {}),
    ]
    settled = handlers.settle(finals, [one, two])

    assert settled.acknowledged == finals
    done = database.get(ones)
    assert done.status == WorkRequestStatus.COMPLETED
    assert done.result == WorkRequestResult.SUCCESS
    assert done.output_data["runtime_statistics"]["cpu_time"] == 3
    assert "duration" in done.output_data["runtime_statistics"]
    failed = database.get(twos)
    assert failed.result == WorkRequestResult.FAILURE
    assert failed.output_data["errors"] == [{"code": "x", "message": "y"}]
    # The dependent of the completed one was unblocked (and others told);
    # both workers, idle again, got the last noop and the dependent.
    assert woken
    assert database.get(dependent).status == WorkRequestStatus.RUNNING
    assert {b["work_request_id"] for b in settled.assignments.values()} == {
        third_wr,
        dependent,
    }


def test_a_final_that_cannot_be_stored_costs_only_itself(
    database: Database, handlers: DatabaseBusHandlers
) -> None:
    for _ in range(3):
        database.add_noop()
    one = connected(database, handlers, "settle-bad-1")
    two = connected(database, handlers, "settle-bad-2")
    settled = handlers.settle([], [one, two])
    ones = settled.assignments[one.id]["work_request_id"]
    twos = settled.assignments[two.id]["work_request_id"]

    bad = Final(one, ones, "no such result", {})
    good = Final(two, twos, "success", {})
    settled = handlers.settle([bad, good], [one, two])

    assert settled.acknowledged == [good]
    assert database.get(twos).status == WorkRequestStatus.COMPLETED
    # One still runs its request as far as the server knows: no new work.
    assert database.get(ones).status == WorkRequestStatus.RUNNING
    assert list(settled.assignments) == [two.id]
    # The worker sends its FINAL again, this time a good one.
    assert handlers.finished(one, ones, "success", {})
    assert database.get(ones).status == WorkRequestStatus.COMPLETED
