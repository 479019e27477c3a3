"""The Workflow base class (the seed's internal API) and `orchestrate_workflow`.

A workflow is a work request of type `Workflow` whose server-side code lays
out child work requests (`populate()`), and adds more when internal
`workflow` callbacks become ready (`callback()`). Both must be idempotent:
running them again yields the same structure, which
`work_request_ensure_child` makes easy (it reuses a matching child).

Workflow classes register in the task registry like any task, as
`(TaskType.WORKFLOW, TASK_NAME)`, with a marshmallow schema for their task
data. An instance is built on its work request (`Workflow(work_request)`);
the registry's validation (`get_task`) builds one on bare task data, which
is enough to validate it but not to orchestrate.
"""

from __future__ import annotations

import abc
import datetime as dt
import functools
import json
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import Select, bindparam, exists, inspect, select, true
from sqlalchemy.orm import Session, aliased, object_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from debusine import work_requests as lifecycle
from debusine.collections import ExpectType, get_manager, lookup_multiple, lookup_single
from debusine.collections.lookups import LookupResult
from debusine.collections.workflow_internal import PROMISE, PROMISE_PREFIX
from debusine.errors import DomainError
from debusine.models import (
    Collection,
    CollectionItemType,
    RetainsArtifacts,
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
    Workspace,
)
from debusine.permissions import Actor
from debusine.tasks import BaseTask, TaskDataError, TaskType, get_task_class
from debusine.tasks.base import schema_of
from debusine.work_request_context import acting_for, root_of
from debusine.workflows import populate_memo
from debusine.workflows.internal import (
    CALLBACK_TASK_NAME,
    SYNCHRONIZATION_POINT_TASK_NAME,
)
from debusine.workflows.models import validate_workflow_data
from debusine.workflows.orchestration_run import ChildKey, OrchestrationRun

# Keys of workflow_data that change over a child's life (retries, reviews):
# they do not make it a different child.
_VOLATILE_WORKFLOW_DATA_KEYS = frozenset({"retry_count", "manual_unblock"})

LookupMultiple = Mapping[str, Any] | Sequence[Any]


class WorkflowValidationError(DomainError):
    """Raised if a workflow fails to validate its inputs."""


class WorkflowRunError(DomainError):
    """Running a workflow orchestrator or callback failed.

    `code` goes into the work request's `output_data.errors`.
    """

    def __init__(self, work_request: WorkRequest, message: str, code: str) -> None:
        super().__init__(message)
        self.work_request = work_request
        self.message = message
        self.code = code


# The seed's helpers under this module's names.
workflow_actor = acting_for
workflow_root = root_of


def _session_of(work_request: WorkRequest) -> Session:
    # A child created in this orchestration may not be attached yet (see
    # orchestration_run): its ancestors' session is the one.
    node: WorkRequest | None = work_request
    while node is not None:
        session = object_session(node)
        if session is not None:
            return session
        node = node.parent
    raise RuntimeError(f"work request {work_request.id} is not in a session")


def _canonical(data: Mapping[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def _stable_workflow_data(data: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _VOLATILE_WORKFLOW_DATA_KEYS}


def ensure_internal_collection(work_request: WorkRequest) -> Collection:
    """The root workflow's `workflow-<id>@debusine:workflow-internal`."""
    root = workflow_root(work_request)
    if root.internal_collection is not None:
        return root.internal_collection
    session = _session_of(root)
    collection = Collection(
        workspace_id=root.workspace_id,
        name=f"workflow-{root.id}",
        category="debusine:workflow-internal",
        retains_artifacts=RetainsArtifacts.WORKFLOW,
    )
    session.add(collection)
    session.flush()
    root.internal_collection = collection
    session.flush()
    return collection


@functools.cache
def _current_children_statement() -> Select[tuple[WorkRequest]]:
    # Built once: a new alias each time would miss SQLAlchemy's compiled
    # statement cache.
    newer = aliased(WorkRequest)
    return (
        select(WorkRequest)
        .where(WorkRequest.parent_id == bindparam("parent"))
        .where(~exists().where(newer.supersedes_id == WorkRequest.id))
        .order_by(WorkRequest.id)
        # Populating again adds dependencies to existing children: load
        # them all at once rather than one lazy load each.
        .options(selectinload(WorkRequest.dependencies))
    )


class Workflow(BaseTask, abc.ABC):
    """Base class for workflow orchestrators (see the module docstring).

    Subclasses set `TASK_NAME` and `SCHEMA`, implement `populate()`, and
    may provide `callback_<step>` methods, `validate_input()` and
    `build_dynamic_data()`.
    """

    # TASK_TYPE is set after the class body: this abstract class itself
    # must not register (BaseTask registers classes that define it).

    def __init_subclass__(cls, **kwargs: Any) -> None:
        if "TASK_NAME" in cls.__dict__ and "TASK_TYPE" not in cls.__dict__:
            cls.TASK_TYPE = TaskType.WORKFLOW
        super().__init_subclass__(**kwargs)

    def __init__(self, work_request: WorkRequest | Mapping[str, Any]) -> None:
        if isinstance(work_request, WorkRequest):
            self._work_request: WorkRequest | None = work_request
            super().__init__(work_request.task_data)
        else:
            self._work_request = None
            super().__init__(work_request)

    # -- context ---------------------------------------------------------------------

    @property
    def work_request(self) -> WorkRequest:
        if self._work_request is None:
            raise RuntimeError(
                f"workflow {self.TASK_NAME!r} was built from task data only:"
                " it cannot orchestrate"
            )
        return self._work_request

    @property
    def data(self) -> dict[str, Any]:
        """The task data, validated, defaults filled in."""
        return self.task_data

    @property
    def session(self) -> Session:
        return _session_of(self.work_request)

    @property
    def workspace(self) -> Workspace:
        return self.work_request.workspace

    @property
    def actor(self) -> Actor:
        return workflow_actor(self.work_request)

    @property
    def root(self) -> WorkRequest:
        return workflow_root(self.work_request)

    def lookup(
        self,
        lookup: int | str,
        *,
        expect_type: ExpectType | str | None = None,
        default_category: str | None = None,
        workspace: Workspace | None = None,
    ) -> LookupResult:
        """A single lookup in the workflow's workspace, as its creator."""
        return lookup_single(
            self.session,
            lookup,
            workspace=workspace or self.workspace,
            actor=self.actor,
            expect_type=expect_type,
            default_category=default_category,
            workflow_root=self.root,
        )

    def lookup_multiple(
        self,
        lookup: LookupMultiple,
        *,
        expect_type: ExpectType | str | None = None,
        default_category: str | None = None,
    ) -> list[LookupResult]:
        return lookup_multiple(
            self.session,
            lookup,
            workspace=self.workspace,
            actor=self.actor,
            expect_type=expect_type,
            default_category=default_category,
            workflow_root=self.root,
        )

    # -- validation ------------------------------------------------------------------

    @classmethod
    def validate_template_data(cls, data: Mapping[str, Any]) -> None:
        """Validate WorkflowTemplate data: known fields with valid values.

        Fields the template leaves out are provided at run time, so missing
        required fields are not an error here. Raises TaskDataError naming
        the wrong fields.
        """
        if not isinstance(data, Mapping):
            raise TaskDataError(cls.TASK_NAME, {"_schema": ["Must be an object."]})
        try:
            schema_of(cls.SCHEMA).load(dict(data), partial=True)
        except ValidationError as exc:
            messages = exc.messages
            if not isinstance(messages, dict):
                messages = {"_schema": messages}
            # Cross-field checks see the fields left for run time as unset:
            # only what is wrong with the template's own fields counts.
            messages = {k: v for k, v in messages.items() if k in data}
            if messages:
                raise TaskDataError(cls.TASK_NAME, messages) from exc

    def validate_input(self) -> None:
        """Thorough validation of input data, run once when the workflow is created.

        May do slower things, like lookups. Raise WorkflowValidationError.
        """

    # -- dynamic data ------------------------------------------------------------------

    def build_dynamic_data(self) -> dict[str, Any]:
        """Values computed from the task data (resolved lookups...).

        `subject` and `parameter_summary` describe the workflow to users;
        `input_artifacts_ids` lists the artifacts it reads.
        """
        return {"subject": None, "parameter_summary": None, "input_artifacts_ids": []}

    def ensure_dynamic_data(self) -> None:
        """Ensure that this workflow's dynamic task data has been computed."""
        work_request = self.work_request
        if work_request.dynamic_task_data is None:
            work_request.dynamic_task_data = self.build_dynamic_data()

    def get_input_artifacts_ids(self) -> list[int]:
        """Return the list of input artifact IDs used by this task."""
        self.ensure_dynamic_data()
        dynamic = self.work_request.dynamic_task_data or {}
        return [int(i) for i in dynamic.get("input_artifacts_ids") or []]

    # -- orchestration -----------------------------------------------------------------

    @abc.abstractmethod
    def populate(self) -> None:
        """Create the initial WorkRequest structure (idempotent)."""

    def callback(self, work_request: WorkRequest) -> None:
        """Perform an orchestration step: `callback_<step>` of the callback's step.

        Called with the internal `workflow` callback work request (not
        self.work_request). Must be idempotent.
        """
        step = work_request.workflow_data.get("step")
        if not step:
            raise WorkflowRunError(
                work_request,
                f"Workflow callback {work_request.id} has no workflow_data.step",
                "orchestrator-failed",
            )
        method = getattr(self, f"callback_{str(step).replace('-', '_')}", None)
        if method is None:
            raise WorkflowRunError(
                work_request,
                f"Workflow {self.TASK_NAME!r} has no callback for step {step!r}",
                "orchestrator-failed",
            )
        method()

    def lookup_singleton_collection(
        self, category: str, *, workspace: Workspace | None = None
    ) -> Collection:
        """The singleton collection `_@category` seen from the workspace."""
        result = self.lookup(
            f"_@{category}",
            expect_type=ExpectType.COLLECTION,
            workspace=workspace,
        )
        assert result.collection is not None  # a COLLECTION lookup has one
        return result.collection

    # -- children ----------------------------------------------------------------------

    def _child_index(
        self, workflow: WorkRequest | None = None
    ) -> dict[ChildKey, WorkRequest]:
        """`workflow`'s (default: this one's) current children, by key.

        Shared by every Workflow object of the orchestration run (see
        orchestration_run): loaded with one query the first time, kept up
        to date by work_request_ensure_child.
        """
        workflow = workflow or self.work_request
        run = OrchestrationRun.of(self.session)
        index = run.children.get(workflow.id)
        if index is None:
            index = run.children[workflow.id] = {}
            if workflow.id not in run.created_by_id:
                for child in self._current_children(workflow):
                    index.setdefault(self._child_key(child), child)
        return index

    def children_of(self, workflow: WorkRequest | None = None) -> list[WorkRequest]:
        """The current children (no retry superseded them) of `workflow`.

        `workflow` is this workflow (the default) or one of its
        sub-workflows; their dependencies are loaded too.
        """
        return list(self._child_index(workflow).values())

    def _current_children(self, workflow: WorkRequest) -> list[WorkRequest]:
        """Children of `workflow` that no retry superseded, oldest first."""
        return list(
            self.session.scalars(_current_children_statement(), {"parent": workflow.id})
        )

    @staticmethod
    def _child_key(child: WorkRequest) -> ChildKey:
        return (
            TaskType(child.task_type).value,
            child.task_name,
            _canonical(child.task_data),
            _canonical(_stable_workflow_data(child.workflow_data)),
        )

    def work_request_ensure_child(
        self,
        *,
        task_type: TaskType = TaskType.WORKER,
        task_name: str,
        task_data: Mapping[str, Any],
        task_data_filter: Mapping[str, Any] | None = None,
        workflow_data: Mapping[str, Any],
        relative_priority: int = 0,
    ) -> WorkRequest:
        """Create a child work request if one does not already exist.

        An existing child matches when it has the same task type and name,
        the same workflow data (ignoring retry counts and review logs) and
        the same task data, or, with `task_data_filter`, task data holding
        each of the filter's top-level key/value pairs. A retried child is
        represented by its latest retry. A new child gets the effective
        priority of this workflow plus `relative_priority` as base priority.
        """
        kind = TaskType(task_type)
        task_name = get_task_class(kind, task_name).TASK_NAME
        workflow_data = validate_workflow_data(workflow_data)
        if (
            kind == TaskType.INTERNAL
            and task_name == CALLBACK_TASK_NAME
            and not workflow_data.get("step")
        ):
            raise DomainError("a workflow callback needs workflow_data.step")
        stable = _canonical(_stable_workflow_data(workflow_data))
        index = self._child_index()
        child_key = (kind.value, task_name, _canonical(task_data), stable)
        if task_data_filter is not None:
            for (type_, name, _data, wf_data), child in index.items():
                if (type_, name, wf_data) == (kind.value, task_name, stable) and all(
                    key in child.task_data and child.task_data[key] == value
                    for key, value in task_data_filter.items()
                ):
                    return child
        elif child_key in index:
            return index[child_key]
        parent = self.work_request
        run = OrchestrationRun.of(self.session)
        # Within orchestrate_workflow, inserted with the other children
        # before the next statement, and its on_creation reactions run once
        # everything is laid out (reactions may be added to it after this
        # returns). Called on its own (tests, scripts), a child is created
        # and flushed at once, as any work request.
        deferred = run.depth > 0
        # What creating a child reads (its default reactions, the task
        # configuration) is not what this workflow's populate depends on.
        with populate_memo.recording_items_read(self.session, None):
            child = lifecycle.create_work_request(
                self.session,
                workspace=parent.workspace,
                task_type=kind,
                task_name=task_name,
                task_data=task_data,
                created_by=parent.created_by,
                priority_base=parent.priority_effective + relative_priority,
                parent=parent,
                workflow_data=workflow_data,
                deferred=deferred,
            )
        if deferred:
            run.record_created(child)
        elif child.task_type == TaskType.WORKFLOW:
            run.children[child.id] = {}
        # The child holds the data it was given: its key is the one above.
        index[child_key] = child
        return child

    def create_workflow_callback(
        self, step: str, display_name: str, *, visible: bool = True
    ) -> WorkRequest:
        """An internal `workflow` callback running `callback_<step>` when ready."""
        return self.work_request_ensure_child(
            task_type=TaskType.INTERNAL,
            task_name=CALLBACK_TASK_NAME,
            task_data={},
            workflow_data={
                "step": step,
                "display_name": display_name,
                "visible": visible,
            },
        )

    def create_synchronization_point(self, step: str, display_name: str) -> WorkRequest:
        """A node that completes as soon as its dependencies have."""
        return self.work_request_ensure_child(
            task_type=TaskType.INTERNAL,
            task_name=SYNCHRONIZATION_POINT_TASK_NAME,
            task_data={},
            workflow_data={"step": step, "display_name": display_name},
        )

    # -- promises ----------------------------------------------------------------------

    @staticmethod
    def provides_artifact(
        work_request: WorkRequest,
        category: str,
        name: str,
        *,
        data: Mapping[str, Any] | None = None,
        artifact_filters: Mapping[str, Any] | None = None,
    ) -> None:
        """Indicate that `work_request` will provide an artifact.

        Adds a `debusine:promise` item called `name` to the root workflow's
        internal collection, and an `on_success` reaction
        (`update-collection-with-artifacts`) that replaces it by the
        artifact of `category` (and `artifact_filters`) the request
        creates. Raises LookupError if a key of `data` starts with
        `promise_`. Idempotent.
        """
        extra = dict(data or {})
        reserved = sorted(key for key in extra if key.startswith(PROMISE_PREFIX))
        if reserved:
            raise LookupError(
                f"Field name(s) starting with {PROMISE_PREFIX!r} are reserved:"
                f" {', '.join(reserved)}"
            )
        if not name or "/" in name:
            raise DomainError(
                f"Promise name {name!r} must be non-empty and contain no '/'"
            )
        session = _session_of(work_request)
        root = workflow_root(work_request)
        collection = ensure_internal_collection(root)
        parent = work_request.parent
        promise_data = {
            "promise_work_request_id": work_request.id,
            "promise_workflow_id": parent.id if parent is not None else root.id,
            "promise_category": str(category),
            **extra,
        }
        manager = get_manager(session, collection)
        existing = manager.lookup_name(name)
        if existing is None or (
            existing.child_type == CollectionItemType.BARE
            and existing.category == PROMISE
            and existing.data != promise_data
        ):
            manager.add_bare_data(
                PROMISE,
                data=promise_data,
                name=name,
                workflow=parent or root,
                replace=existing is not None,
            )
        reaction = {
            "action": "update-collection-with-artifacts",
            "collection": "internal@collections",
            "name_template": name,
            "variables": extra,
            "artifact_filters": {"category": str(category), **(artifact_filters or {})},
        }
        reactions = dict(work_request.event_reactions or {})
        on_success = list(reactions.get("on_success") or [])
        if reaction not in on_success:
            on_success.append(reaction)
            reactions["on_success"] = on_success
            # JSONB columns track reassignment, not in-place changes.
            work_request.event_reactions = reactions

    @staticmethod
    def requires_artifact(
        work_request: WorkRequest, lookup: int | str | LookupMultiple
    ) -> None:
        """Indicate that `work_request` requires `lookup`'s results.

        For each promise the lookup finds, `work_request` depends on the
        work request that made the promise. Real artifacts add nothing.
        """
        session = _session_of(work_request)
        context: dict[str, Any] = {
            "workspace": work_request.workspace,
            "actor": workflow_actor(work_request),
            "expect_type": ExpectType.ARTIFACT_OR_PROMISE,
            "workflow_root": workflow_root(work_request),
        }
        if isinstance(lookup, (int, str)):
            results = [lookup_single(session, lookup, **context)]
        else:
            results = lookup_multiple(session, lookup, **context)
        for result in results:
            item = result.collection_item
            if (
                result.result_type != CollectionItemType.BARE
                or item is None
                or item.category != PROMISE
            ):
                continue
            dependency = OrchestrationRun.of(session).get(
                session, int(item.data["promise_work_request_id"])
            )
            if dependency is not None and dependency.id != work_request.id:
                lifecycle.add_dependency(session, work_request, dependency)


Workflow.TASK_TYPE = TaskType.WORKFLOW


def get_workflow(work_request: WorkRequest) -> Workflow:
    """The workflow orchestrator for a `Workflow` work request."""
    if work_request.task_type != TaskType.WORKFLOW:
        raise WorkflowRunError(
            work_request,
            f"Work request {work_request.id} is a {work_request.task_type.value}"
            " task, not a workflow",
            "orchestrator-failed",
        )
    try:
        cls = get_task_class(TaskType.WORKFLOW, work_request.task_name)
        if not issubclass(cls, Workflow):
            raise DomainError(f"{cls.TASK_NAME!r} is not a workflow class")
        return cls(work_request)
    except DomainError as exc:
        raise WorkflowRunError(work_request, str(exc), "configure-failed") from exc


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _mark_workflow_running(work_request: WorkRequest) -> None:
    work_request.status = WorkRequestStatus.RUNNING
    if work_request.started_at is None:
        work_request.started_at = _now()


def orchestrate_workflow(work_request: WorkRequest) -> None:
    """Orchestrate a workflow in whatever way is appropriate.

    For a workflow callback, run `callback` and mark the callback
    completed. For a workflow, mark it running, run `populate` and unblock
    its children, leaving it running until they have all finished (or
    complete it at once when it has none). Anything else, or a workflow
    that is already finished, raises WorkflowRunError; so does an error in
    the workflow's code (code `orchestrator-failed`). The caller decides
    what to do with the error (see debusine.orchestration.workflows).
    """
    session = _session_of(work_request)
    run = OrchestrationRun.of(session)
    run.enter(session)
    try:
        items_read = _orchestrate(session, work_request)
        if run.depth == 1:
            _finish_run(session, run)
            if items_read is not None:
                populate_memo.remember(session, work_request, items_read)
    finally:
        run.leave(session)


def _finish_run(session: Session, run: OrchestrationRun) -> None:
    """Everything is laid out: the new children's on_creation reactions run."""
    run.insert_unsaved(session)
    created = run.take_created()
    for child in created:
        lifecycle.run_creation_reactions(session, child)
    session.flush()
    # The children were inserted without the ORM's events: a parent's
    # `children`, if loaded, must be read again.
    for parent in {id(c.parent): c.parent for c in created if c.parent}.values():
        if inspect(parent).persistent:
            session.expire(parent, ["children"])


def _orchestrate(session: Session, work_request: WorkRequest) -> set[int] | None:
    """Orchestrate; for a workflow that populated, the ids of the collections
    whose items its populate read (see populate_memo)."""
    if work_request.task_type == TaskType.INTERNAL and (
        work_request.task_name == CALLBACK_TASK_NAME
    ):
        parent = work_request.parent
        if parent is None or parent.task_type != TaskType.WORKFLOW:
            raise WorkflowRunError(
                work_request,
                f"Workflow callback {work_request.id} has no parent workflow",
                "orchestrator-failed",
            )
        workflow = get_workflow(parent)
        _run_code(work_request, workflow.ensure_dynamic_data, "dynamic-data-failed")
        _run_code(
            work_request, lambda: workflow.callback(work_request), "orchestrator-failed"
        )
        if work_request.status != WorkRequestStatus.RUNNING:
            _mark_workflow_running(work_request)
        lifecycle.mark_completed(session, work_request, WorkRequestResult.SUCCESS)
        return None
    if work_request.task_type != TaskType.WORKFLOW:
        raise WorkflowRunError(
            work_request,
            f"Work request {work_request.id} ({work_request.task_type.value}"
            f"/{work_request.task_name}) is neither a workflow nor a workflow"
            " callback",
            "orchestrator-failed",
        )
    if work_request.status not in (
        WorkRequestStatus.PENDING,
        WorkRequestStatus.RUNNING,
    ):
        raise WorkflowRunError(
            work_request,
            f"Workflow {work_request.id} is {work_request.status.value}:"
            " only pending or running workflows can be orchestrated",
            "wrong-status",
        )
    if populate_memo.unchanged(session, work_request):
        # Nothing populate depends on changed since it last ran: it would
        # find every child it asks for, and they were unblocked then.
        return None
    workflow = get_workflow(work_request)
    _load_workspace_and_collection(session, work_request)
    ensure_internal_collection(work_request)
    _run_code(work_request, workflow.ensure_dynamic_data, "dynamic-data-failed")
    # Marked running after the queries above: its new status and dynamic
    # data then go to the database in one UPDATE.
    _mark_workflow_running(work_request)
    items_read: set[int] = set()
    with populate_memo.recording_items_read(session, items_read):
        _run_code(work_request, workflow.populate, "orchestrator-failed")
    children = workflow.children_of()
    if children:
        lifecycle.unblock_children(session, work_request, children)
    else:
        # A sub-workflow made in this run may not be inserted yet: completing
        # it reaches its reverse dependencies through the session.
        OrchestrationRun.of(session).insert_unsaved(session)
        lifecycle.mark_completed(session, work_request, WorkRequestResult.SUCCESS)
    return items_read


@functools.cache
def _workspace_and_collection_statement() -> Select[tuple[Workspace, Collection]]:
    # Two unrelated rows side by side: joined on true.
    return (
        select(Workspace, Collection)
        .join_from(Workspace, Collection, true())
        .where(
            Workspace.id == bindparam("workspace"),
            Collection.id == bindparam("collection"),
        )
    )


def _load_workspace_and_collection(session: Session, work_request: WorkRequest) -> None:
    """A root's workspace and internal collection, which populate reads
    first, loaded with one query rather than one lazy load each."""
    unloaded = inspect(work_request).unloaded
    if not (
        work_request.parent_id is None
        and work_request.internal_collection_id is not None
        and {"workspace", "internal_collection"} <= unloaded
    ):
        return
    row = session.execute(
        _workspace_and_collection_statement(),
        {
            "workspace": work_request.workspace_id,
            "collection": work_request.internal_collection_id,
        },
    ).one_or_none()
    if row is not None:
        set_committed_value(work_request, "workspace", row[0])
        set_committed_value(work_request, "internal_collection", row[1])


def _run_code(work_request: WorkRequest, code: Any, error_code: str) -> None:
    """Run workflow code, turning its failures into WorkflowRunError."""
    try:
        code()
    except WorkflowRunError:
        raise
    except DomainError as exc:
        # Domain errors (lookups, validation) already say what to fix.
        raise WorkflowRunError(work_request, str(exc), error_code) from exc
    except Exception as exc:
        raise WorkflowRunError(
            work_request,
            f"{type(exc).__name__} in workflow code: {exc}",
            error_code,
        ) from exc


__all__ = [
    "Workflow",
    "WorkflowRunError",
    "WorkflowValidationError",
    "ensure_internal_collection",
    "get_workflow",
    "orchestrate_workflow",
    "workflow_actor",
    "workflow_root",
]
