"""insert_rows, insert_into_tables: rows through one JSON parameter come back
as they went in."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from debusine import models
from debusine.db.bulk_insert import insert_into_tables, insert_rows
from debusine.db.ids import next_id
from debusine.models import WorkRequest
from debusine.models.work_requests import work_request_dependency
from tests import factories

TABLE = WorkRequest.__table__


def _row(session: Session, workspace: models.Workspace, **values: object) -> dict:
    row = {
        "id": next_id(session, "work_request"),
        "workspace_id": workspace.id,
        "task_type": models.TaskType.WORKER,
        "task_name": "noop",
        "task_data": {"result": True, "nested": {"list": [1, "two", None]}},
        "status": models.WorkRequestStatus.PENDING,
        "created_at": dt.datetime(2026, 11, 25, 9, 30, 1, 123456, tzinfo=dt.UTC),
        "dynamic_task_data": None,
        "expiration_delay": None,
        "required_capabilities": [],
        "parent_id": None,
    }
    row.update(values)
    return row


def test_values_of_every_kind_round_trip(db_session: Session) -> None:
    workspace = factories.WorkspaceFactory()
    delay = dt.timedelta(days=2, hours=3, microseconds=7)
    rows = [
        _row(db_session, workspace),
        _row(
            db_session,
            workspace,
            task_type=models.TaskType.WORKFLOW,
            status=models.WorkRequestStatus.BLOCKED,
            dynamic_task_data={"it's": 'quoted "text"'},
            expiration_delay=delay,
            required_capabilities=["executor:unshare", "a,b"],
        ),
    ]
    insert_rows(db_session.connection(), TABLE, rows)
    first, second = db_session.scalars(
        select(WorkRequest)
        .where(WorkRequest.id.in_([r["id"] for r in rows]))
        .order_by(WorkRequest.id)
    )
    assert first.task_data == rows[0]["task_data"]
    assert first.created_at == rows[0]["created_at"]
    assert first.task_type == models.TaskType.WORKER
    # None in a JSON column is SQL NULL, not the JSON value null.
    assert first.dynamic_task_data is None
    assert db_session.scalar(
        select(WorkRequest.id).where(
            WorkRequest.id == first.id, WorkRequest.dynamic_task_data.is_(None)
        )
    )
    assert first.expiration_delay is None
    assert second.task_type == models.TaskType.WORKFLOW
    assert second.status == models.WorkRequestStatus.BLOCKED
    assert second.dynamic_task_data == {"it's": 'quoted "text"'}
    assert second.expiration_delay == delay
    assert second.required_capabilities == ["executor:unshare", "a,b"]


def test_rows_may_refer_to_earlier_rows_of_the_same_batch(db_session: Session) -> None:
    workspace = factories.WorkspaceFactory()
    parent = _row(db_session, workspace, task_type=models.TaskType.WORKFLOW)
    child = _row(db_session, workspace, parent_id=parent["id"])
    insert_rows(db_session.connection(), TABLE, [parent, child])
    inserted = db_session.get(WorkRequest, child["id"])
    assert inserted is not None
    assert inserted.parent_id == parent["id"]


def test_tables_in_one_statement_may_refer_to_each_others_rows(
    db_session: Session,
) -> None:
    workspace = factories.WorkspaceFactory()
    first = _row(db_session, workspace)
    second = _row(db_session, workspace)
    # The dependencies come first, naming work requests inserted after them.
    insert_into_tables(
        db_session.connection(),
        [
            (
                work_request_dependency,
                [{"work_request_id": second["id"], "dependency_id": first["id"]}],
            ),
            (TABLE, [first, second]),
            (models.Collection.__table__, []),
        ],
    )
    inserted = db_session.get(WorkRequest, second["id"])
    assert inserted is not None
    assert [d.id for d in inserted.dependencies] == [first["id"]]


def test_a_dangling_reference_fails_the_whole_statement(db_session: Session) -> None:
    workspace = factories.WorkspaceFactory()
    row = _row(db_session, workspace)
    with pytest.raises(IntegrityError), db_session.begin_nested():
        insert_into_tables(
            db_session.connection(),
            [
                (TABLE, [row]),
                (
                    work_request_dependency,
                    [{"work_request_id": row["id"], "dependency_id": row["id"] + 1000}],
                ),
            ],
        )
    assert db_session.get(WorkRequest, row["id"]) is None


def test_nothing_to_insert_sends_nothing(db_session: Session) -> None:
    insert_rows(db_session.connection(), TABLE, [])


def test_a_column_of_an_unknown_type_is_refused() -> None:
    from sqlalchemy import Column, LargeBinary, MetaData, Table

    table = Table("t", MetaData(), Column("blob", LargeBinary))
    with pytest.raises(TypeError, match=r"t\.blob"):
        insert_rows(None, table, [{"blob": b"x"}])  # type: ignore[arg-type]
