"""GET /api/1.0/open-metrics/: Prometheus or OpenMetrics text from the database."""

from __future__ import annotations

import datetime as dt

import webtest
from prometheus_client.openmetrics.parser import text_string_to_metric_families
from prometheus_client.parser import (
    text_string_to_metric_families as prometheus_families,
)
from sqlalchemy.orm import Session

from debusine.models.work_requests import WorkRequestStatus
from debusine.tasks import TaskType, WorkRequestResult
from tests import factories

URL = "/api/1.0/open-metrics/"


def samples(text: str, openmetrics: bool = False) -> dict[tuple, float]:
    parse = text_string_to_metric_families if openmetrics else prometheus_families
    out: dict[tuple, float] = {}
    for family in parse(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def populate(db_session: Session) -> None:
    scope = factories.ScopeFactory(name="metrics")
    workspace = factories.WorkspaceFactory(scope=scope, name="M")
    old = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    factories.WorkRequestFactory(workspace=workspace, created_at=old)
    factories.WorkRequestFactory(workspace=workspace)
    factories.WorkRequestFactory(
        workspace=workspace,
        status=WorkRequestStatus.COMPLETED,
        result=WorkRequestResult.SUCCESS,
    )
    factories.WorkRequestFactory(
        workspace=workspace, task_type=TaskType.SERVER, task_name="servernoop"
    )
    busy = factories.WorkerFactory(connected_at=dt.datetime.now(dt.UTC))
    factories.WorkerFactory(connected_at=dt.datetime.now(dt.UTC))
    factories.WorkerFactory()
    factories.WorkRequestFactory(
        workspace=workspace, status=WorkRequestStatus.RUNNING, worker=busy
    )


def labels(**kw: str) -> tuple:
    return tuple(sorted(kw.items()))


def test_prometheus_text(webapp: webtest.TestApp, db_session: Session) -> None:
    populate(db_session)
    response = webapp.get(URL)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    got = samples(response.text)
    wr = "work_requests"
    assert (
        got[
            (
                wr,
                labels(
                    task_type="Worker",
                    task_name="noop",
                    scope="metrics",
                    status="pending",
                ),
            )
        ]
        == 2
    )
    assert (
        got[
            (
                wr,
                labels(
                    task_type="Worker",
                    task_name="noop",
                    scope="metrics",
                    status="completed",
                ),
            )
        ]
        == 1
    )
    assert (
        got[
            (
                wr,
                labels(
                    task_type="Server",
                    task_name="servernoop",
                    scope="metrics",
                    status="pending",
                ),
            )
        ]
        == 1
    )
    external = "external"
    assert got[("workers", labels(connected="1", busy="1", worker_type=external))] == 1
    assert got[("workers", labels(connected="1", busy="0", worker_type=external))] == 1
    assert got[("workers", labels(connected="0", busy="0", worker_type=external))] == 1
    age = got[("work_request_queue_age_seconds", ())]
    assert 3590 < age < 3700


def test_openmetrics_by_content_negotiation(
    webapp: webtest.TestApp, db_session: Session
) -> None:
    populate(db_session)
    response = webapp.get(URL, headers={"Accept": "application/openmetrics-text"})
    assert response.headers["Content-Type"].startswith(
        "application/openmetrics-text; version="
    )
    assert response.text.endswith("# EOF\n")
    got = samples(response.text, openmetrics=True)
    assert got[("work_request_queue_age_seconds", ())] > 3590


def test_empty_database(webapp: webtest.TestApp) -> None:
    got = samples(webapp.get(URL).text)
    assert got == {("work_request_queue_age_seconds", ()): 0.0}


def test_anonymous_is_allowed_and_nothing_is_global(
    webapp: webtest.TestApp, db_session: Session
) -> None:
    webapp.get(URL)
    populate(db_session)
    second = samples(webapp.get(URL).text)
    assert any(name == "work_requests" for name, _ in second)
