"""Running server tasks in the orchestrator.

Server tasks are scheduled like any other: the orchestrator's in-process
worker (`SERVER_WORKER_NAME`, worker type `server`) takes them one at a
time with the scheduler's `assign_many` (so `on_assignment` reactions run
as for any worker). Each task runs in its own transaction: its changes
and its completion commit together. A task that raises completes as
`error`, with `output_data.errors=[{code, message}]`, and whatever it
changed is rolled back.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from debusine import work_requests
from debusine.collections.base import ItemAdditionError, active_items, get_manager
from debusine.collections.debian_suite import BINARY, SOURCE
from debusine.collections.debian_suite_lintian import LINTIAN
from debusine.collections.lookups import (
    LookupFailed,
    lookup_multiple,
)
from debusine.errors import DomainError
from debusine.models import (
    Artifact,
    Collection,
    CollectionItem,
    CollectionItemType,
    FileInArtifact,
    TaskType,
    Worker,
    WorkerType,
    WorkRequest,
    WorkRequestResult,
)
from debusine.orchestration.scheduler import assign_many
from debusine.tasks import get_task
from debusine.work_request_context import WorkRequestContext

log = logging.getLogger(__name__)

SERVER_WORKER_NAME = "debusine-server"
DEFAULT_BATCH = 20


class ServerTaskFailed(DomainError):
    """A server task that cannot do what it was asked; `code` names why."""

    def __init__(self, message: str, code: str = "server-task-failed") -> None:
        super().__init__(message)
        self.code = code


@dataclass
class ServerTaskContext(WorkRequestContext):
    """What a server task's code gets: its session, request and loaded data."""

    session: Session
    work_request: WorkRequest
    data: dict[str, Any]
    settings: Mapping[str, Any]


@dataclass
class Outcome:
    """A server task's result: success or failure, and its output data."""

    success: bool = True
    output_data: dict[str, Any] = field(default_factory=dict)


ServerTaskCode = Callable[[ServerTaskContext], Outcome]


# --- the tasks ----------------------------------------------------------------


def run_servernoop(context: ServerTaskContext) -> Outcome:
    if context.data["exception"]:
        raise RuntimeError("servernoop was asked to raise an exception")
    return Outcome(success=bool(context.data["result"]))


def _copy_artifact(session: Session, artifact: Artifact, workspace_id: int) -> Artifact:
    """`artifact` in another workspace: same data, the same stored files."""
    copy = Artifact(
        category=artifact.category,
        workspace_id=workspace_id,
        data=dict(artifact.data),
        created_by_id=artifact.created_by_id,
        created_by_work_request_id=artifact.created_by_work_request_id,
        original_artifact_id=artifact.id,
    )
    session.add(copy)
    session.flush()
    for file_in_artifact in session.scalars(
        select(FileInArtifact).where(FileInArtifact.artifact_id == artifact.id)
    ):
        session.add(
            FileInArtifact(
                artifact_id=copy.id,
                path=file_in_artifact.path,
                file_id=file_in_artifact.file_id,
                complete=file_in_artifact.complete,
                content_type=file_in_artifact.content_type,
            )
        )
    session.flush()
    return copy


def _copy_name(
    template: str | None,
    variables: Mapping[str, Any],
    item: CollectionItem | None,
    target: Collection,
) -> str | None:
    """The template filled in; else the item's own name when the target is
    of its category (other categories' managers name their items)."""
    if template:
        try:
            return template.format(**variables)
        except (KeyError, IndexError, ValueError) as error:
            raise ServerTaskFailed(
                f"name_template {template!r} cannot be filled in: {error}",
                code="invalid-name-template",
            ) from None
    if item is not None and item.parent_category == target.category:
        return item.name
    return None


def _ids_as_artifacts(lookup: Any) -> Any:
    """Bare integers among the items to copy are artifact ids (as workflows
    pass a `source_artifact` given by id); lookups of any type cannot take them.
    """
    if isinstance(lookup, list):
        return [
            f"{part}@artifacts"
            if isinstance(part, int) and not isinstance(part, bool)
            else part
            for part in lookup
        ]
    return lookup


def run_copycollectionitems(context: ServerTaskContext) -> Outcome:
    """Copy each lookup's items into the target collection, all or nothing."""
    session = context.session
    copied: list[dict[str, Any]] = []
    for copy in context.data["copies"]:
        target = context.collection(copy["target_collection"])
        manager = get_manager(session, target)
        results = lookup_multiple(
            session,
            _ids_as_artifacts(copy["source_items"]),
            workspace=context.work_request.workspace,
            actor=context.actor,
            workflow_root=context.root,
        )
        for result in results:
            item = result.collection_item
            variables = {
                key: value
                for key, value in (item.data if item is not None else {}).items()
                if not key.startswith("promise_")
            }
            variables.update(copy.get("variables") or {})
            name = _copy_name(copy.get("name_template"), variables, item, target)
            if result.artifact is not None:
                artifact = result.artifact
                if artifact.workspace_id != target.workspace_id:
                    artifact = _copy_artifact(session, artifact, target.workspace_id)
                added = manager.add_artifact(
                    artifact,
                    variables=variables,
                    name=name,
                    replace=copy["replace"],
                    **context.item_creator,
                )
            elif result.result_type == CollectionItemType.BARE and item is not None:
                added = manager.add_bare_data(
                    item.category,
                    data=variables,
                    name=name or item.name,
                    replace=copy["replace"],
                    **context.item_creator,
                )
            else:
                raise ServerTaskFailed(
                    f"{copy['source_items']!r}: only artifacts and bare items"
                    " can be copied",
                    code="invalid-source",
                )
            copied.append({"collection_id": target.id, "item_id": added.id})
    return Outcome(output_data={"copied": copied})


def run_updatesuitelintiancollection(context: ServerTaskContext) -> Outcome:
    """Keep a `debian:suite-lintian` in step with its `debian:suite`.

    Results derived from items no longer in the suite are removed; each
    source package (with its binaries) that has no current result gets a
    `lintian` work request whose success adds its results.
    """
    session = context.session
    base = context.collection(context.data["base_collection"])
    derived = context.collection(context.data["derived_collection"])
    if base.category != "debian:suite" or derived.category != "debian:suite-lintian":
        raise ServerTaskFailed(
            "base_collection must be a debian:suite and derived_collection a"
            f" debian:suite-lintian (got {base.category}, {derived.category})",
            code="invalid-collection",
        )
    base_items = list(session.scalars(active_items(base.id)))
    active_ids = {item.id for item in base_items}
    manager = get_manager(session, derived)
    covered: set[int] = set()
    removed = 0
    for item in session.scalars(active_items(derived.id)):
        sources = set(item.data.get("derived_from") or [])
        if not sources <= active_ids or context.data["force"]:
            manager.remove_item(item, **context.item_creator)
            removed += 1
        else:
            covered |= sources
    created: list[int] = []
    for source in (i for i in base_items if i.category == SOURCE):
        if source.id in covered or source.artifact_id is None:
            continue
        binaries = [
            i
            for i in base_items
            if i.category == BINARY
            and i.data.get("srcpkg_name") == source.data["package"]
            and i.data.get("srcpkg_version") == source.data["version"]
            and i.artifact_id is not None
        ]
        derived_from = [source.id, *(b.id for b in binaries)]
        task_data = {
            **(context.data.get("child_task_data") or {}),
            "input": {
                "source_artifact": source.artifact_id,
                "binary_artifacts": [b.artifact_id for b in binaries],
            },
        }
        lintian = work_requests.create_work_request(
            session,
            workspace=context.work_request.workspace,
            task_type=TaskType.WORKER,
            task_name="lintian",
            task_data=task_data,
            created_by=context.work_request.created_by,
            event_reactions={
                "on_success": [
                    {
                        "action": "update-collection-with-artifacts",
                        "collection": f"{derived.id}@collections",
                        "variables": {
                            "package": source.data["package"],
                            "version": source.data["version"],
                            "derived_from": derived_from,
                        },
                        "artifact_filters": {"category": LINTIAN},
                    }
                ]
            },
        )
        created.append(lintian.id)
    return Outcome(output_data={"removed_items": removed, "work_requests": created})


def run_generatesuiteindexes(context: ServerTaskContext) -> Outcome:
    from debusine.orchestration.suite_indexes import generate_suite_indexes

    suite = context.collection(context.data["suite_collection"])
    generate_at = dt.datetime.fromisoformat(context.data["generate_at"])
    paths = generate_suite_indexes(
        context.session,
        suite,
        generate_at,
        settings=context.settings,
        work_request=context.work_request,
    )
    return Outcome(output_data={"indexes": paths})


def run_packageupload(context: ServerTaskContext) -> Outcome:
    from debusine.orchestration.package_upload import upload_package

    return upload_package(context)


SERVER_TASKS: dict[str, ServerTaskCode] = {
    "servernoop": run_servernoop,
    "copycollectionitems": run_copycollectionitems,
    "updatesuitelintiancollection": run_updatesuitelintiancollection,
    "generatesuiteindexes": run_generatesuiteindexes,
    "packageupload": run_packageupload,
}


# --- running them ---------------------------------------------------------------


def _error_code(error: Exception) -> str:
    if isinstance(error, ServerTaskFailed):
        return error.code
    if isinstance(error, LookupFailed):
        return "lookup-failed"
    if isinstance(error, ItemAdditionError):
        return "collection-refused"
    if isinstance(error, DomainError):
        return "server-task-refused"
    return "server-task-exception"


def run_server_task(
    session: Session, work_request: WorkRequest, settings: Mapping[str, Any]
) -> WorkRequestResult:
    """Run one server task (running) and complete it, in `session`'s transaction."""
    try:
        with session.begin_nested():
            code = SERVER_TASKS.get(work_request.task_name)
            if code is None:
                raise ServerTaskFailed(
                    f"Server task {work_request.task_name!r} cannot run here yet",
                    code="not-implemented",
                )
            task = get_task(
                TaskType.SERVER,
                work_request.task_name,
                work_request.configured_task_data or work_request.task_data,
            )
            outcome = code(
                ServerTaskContext(session, work_request, task.task_data, settings)
            )
    except Exception as error:
        log.warning(
            "server task %s (%s) failed: %s",
            work_request.id,
            work_request.task_name,
            error,
            exc_info=not isinstance(error, DomainError),
        )
        result = WorkRequestResult.ERROR
        output: dict[str, Any] = {
            "errors": [{"code": _error_code(error), "message": str(error)}]
        }
    else:
        result = (
            WorkRequestResult.SUCCESS if outcome.success else WorkRequestResult.FAILURE
        )
        output = outcome.output_data
    work_requests.mark_completed(session, work_request, result, output)
    return result


def server_worker(session: Session) -> Worker:
    """The orchestrator's in-process worker, created on first use."""
    worker = session.scalar(
        select(Worker).where(Worker.name == SERVER_WORKER_NAME).with_for_update()
    )
    if worker is None:
        worker = Worker(
            name=SERVER_WORKER_NAME, worker_type=WorkerType.SERVER, concurrency=1
        )
        session.add(worker)
        session.flush()
    return worker


def connect_server_worker(session: Session) -> work_requests.WorkerLostOutcome:
    """At activation: what a previous orchestrator left running is retried."""
    worker = server_worker(session)
    outcome = work_requests.worker_lost(
        session, worker, "The orchestrator stopped while the server task ran"
    )
    worker.connected_at = dt.datetime.now(dt.UTC)
    session.flush()
    return outcome


def run_pending_server_tasks(
    session_factory: sessionmaker[Session],
    settings: Mapping[str, Any],
    limit: int = DEFAULT_BATCH,
) -> list[int]:
    """Run up to `limit` pending server tasks, each in its own transaction."""
    done: list[int] = []
    while len(done) < limit:
        with session_factory.begin() as session:
            worker = server_worker(session)
            if worker.connected_at is None:
                return done
            for assignment in assign_many(session, [worker.id], start=True):
                work_request = session.get_one(WorkRequest, assignment.work_request_id)
                run_server_task(session, work_request, settings)
                done.append(assignment.work_request_id)
                break
            else:
                return done
    return done


__all__ = [
    "SERVER_TASKS",
    "SERVER_WORKER_NAME",
    "Outcome",
    "ServerTaskContext",
    "ServerTaskFailed",
    "connect_server_worker",
    "run_pending_server_tasks",
    "run_server_task",
    "server_worker",
]
