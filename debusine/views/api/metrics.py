"""`GET /api/1.0/open-metrics/`: the server's state for Prometheus.

Every scrape reads the database through a collector made for that request
and registered in a registry made for it too: nothing global is mutated,
so several server processes answer the same numbers. The format follows
the `Accept` header: OpenMetrics text for `application/openmetrics-text`,
otherwise the Prometheus text format.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector, CollectorRegistry
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import exists, func, select
from sqlalchemy.orm import Session

from debusine.models import Scope, Worker, WorkRequest, Workspace
from debusine.models.work_requests import WorkRequestStatus
from debusine.views.api.openapi import documented


def _flag(value: bool) -> str:
    return "1" if value else "0"


class DatabaseCollector(Collector):
    """Gauges computed from the database when collected."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def collect(self) -> Iterator[Metric]:
        yield self._work_requests()
        yield self._workers()
        yield self._queue_age()

    def _work_requests(self) -> Metric:
        family = GaugeMetricFamily(
            "work_requests",
            "Number of work requests",
            labels=["task_type", "task_name", "scope", "status"],
        )
        rows = self.session.execute(
            select(
                WorkRequest.task_type,
                WorkRequest.task_name,
                Scope.name,
                WorkRequest.status,
                func.count(),
            )
            .join(Workspace, WorkRequest.workspace_id == Workspace.id)
            .join(Scope, Workspace.scope_id == Scope.id)
            .group_by(
                WorkRequest.task_type,
                WorkRequest.task_name,
                Scope.name,
                WorkRequest.status,
            )
            .order_by(
                WorkRequest.task_type,
                WorkRequest.task_name,
                Scope.name,
                WorkRequest.status,
            )
        ).tuples()
        for task_type, task_name, scope, status, count in rows:
            family.add_metric(
                [str(task_type.value), task_name, scope, str(status.value)], count
            )
        return family

    def _workers(self) -> Metric:
        family = GaugeMetricFamily(
            "workers",
            "Number of workers",
            labels=["connected", "busy", "worker_type"],
        )
        connected = Worker.connected_at.is_not(None)
        busy = exists().where(
            WorkRequest.worker_id == Worker.id,
            WorkRequest.status == WorkRequestStatus.RUNNING,
        )
        rows = self.session.execute(
            select(
                connected.label("connected"),
                busy.label("busy"),
                Worker.worker_type,
                func.count(),
            )
            .group_by("connected", "busy", Worker.worker_type)
            .order_by("connected", "busy", Worker.worker_type)
        ).tuples()
        for is_connected, is_busy, worker_type, count in rows:
            family.add_metric(
                [_flag(is_connected), _flag(is_busy), str(worker_type.value)], count
            )
        return family

    def _queue_age(self) -> Metric:
        oldest = self.session.scalar(
            select(func.min(WorkRequest.created_at)).where(
                WorkRequest.status == WorkRequestStatus.PENDING
            )
        )
        age = 0.0
        if oldest is not None:
            age = max(0.0, (dt.datetime.now(dt.UTC) - oldest).total_seconds())
        return GaugeMetricFamily(
            "work_request_queue_age_seconds",
            "Age of the oldest pending work request (0 when none is pending)",
            value=age,
        )


@documented(
    "/api/1.0/open-metrics/",
    "get",
    "Metrics in the Prometheus text format, or OpenMetrics for"
    " Accept: application/openmetrics-text",
    errors=(),
)
@view_config(route_name="api.open_metrics", request_method="GET")
def open_metrics(request: Request) -> Response:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(request.db))
    encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
    response = Response(body=encoder(registry))
    # Set the header directly: WebOb would add its own charset parameter.
    response.headers["Content-Type"] = content_type
    return response
