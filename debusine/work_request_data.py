"""A work request's configured and dynamic task data, computed before it runs.

`ensure_dynamic_data` first applies the workspace's task configuration
(bare `debusine:task-configuration` items of the collection the task data
names, by default `default@debusine:task-configuration` if it exists), and
stores the result in `configured_task_data`; then it resolves the task's
lookups (`BaseTask.LOOKUPS`) in the work request's workspace, through its
inheritance chain, with the permissions of the work request's creator, and
stores their ids (and what the task derives from them) in
`dynamic_task_data`, with the task's version.

This lives in the domain layer, beside `debusine.work_requests`, rather
than under `orchestration/`: both the scheduler and the bus handlers that
assign work call it, and the bus must not depend on the orchestration loop.

Configuration levels, in order: `T:N::` (global), `T:N::CONTEXT`,
`T:N:SUBJECT:` and `T:N:SUBJECT:CONTEXT`, where the task's first dynamic
data gives `subject` and `configuration_context`. Each entry's templates
(`use_templates`) apply before the entry. Entries combine into one set of
defaults and overrides: `delete_values` drops keys set by earlier levels,
`default_values` and `override_values` set them, `lock_values` freezes
them against later levels. On the task data, a default fills a missing or
null top-level key, an override always wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from debusine.collections.base import active_items
from debusine.collections.lookups import (
    LookupFailed,
    LookupResult,
    find_collection,
    lookup_multiple,
    lookup_single,
)
from debusine.collections.task_configuration import (
    CONFIGURATION,
    configuration_name,
)
from debusine.errors import DomainError
from debusine.models import Collection, CollectionItem, CollectionItemType
from debusine.models.work_requests import (
    WorkRequest,
    WorkRequestResult,
    WorkRequestStatus,
)
from debusine.permissions import Actor
from debusine.tasks import BaseTask, TaskDataError, get_task_class
from debusine.tasks.base import ResolvedLookup, TaskLookup
from debusine.work_request_context import acting_for, root_of

CONFIGURATION_COLLECTION = "debusine:task-configuration"
DEFAULT_CONFIGURATION = "default"


class DynamicDataError(DomainError):
    """The work request's task data cannot be configured or its lookups resolved."""


def ensure_dynamic_data(
    session: Session, work_request: WorkRequest, *, configurations_exist: bool = True
) -> None:
    """Compute `configured_task_data` and `dynamic_task_data` once.

    Does nothing if `dynamic_task_data` is already set. Raises
    `DynamicDataError` (or another `DomainError` for an unknown task)
    naming what failed; nothing is stored then. `configurations_exist`
    False (no task-configuration collection anywhere) skips looking for the
    default one.
    """
    if work_request.dynamic_task_data is not None:
        return
    task_class = get_task_class(work_request.task_type, work_request.task_name)
    task = _instantiate(task_class, work_request.task_data, work_request, "")
    # As its creator; a request the system made sees everything.
    actor = acting_for(work_request)
    resolver = _DatabaseResolver(session, work_request, actor)
    configuration = (
        _configuration_collection(session, work_request, task, actor)
        if configurations_exist or task.task_data.get("task_configuration") is not None
        else None
    )
    configured = dict(work_request.task_data)
    if configuration is None:
        dynamic = task.compute_dynamic_data(resolver)
    else:
        first = task.compute_dynamic_data(resolver)
        entries = configuration_entries(
            session,
            configuration,
            task,
            subject=first.get("subject"),
            context=first.get("configuration_context"),
        )
        configured = merge_task_configuration(configured, entries)
        task = _instantiate(
            task_class, configured, work_request, " after task configuration"
        )
        dynamic = task.compute_dynamic_data(resolver)
        dynamic["task_configuration_id"] = configuration.id
    work_request.configured_task_data = configured
    work_request.dynamic_task_data = dynamic
    work_request.version = task.TASK_VERSION
    session.flush()


# Requests prepared per scheduling round: bounds the round's time when a
# large workflow unblocks many at once (the rest wait for the next round).
PREPARE_BATCH = 100
DYNAMIC_DATA_FAILED = "dynamic-data-failed"


def prepare_pending_work(session: Session, *, limit: int = PREPARE_BATCH) -> list[int]:
    """Compute the dynamic data of pending requests that workers could take.

    The scheduler only hands out requests whose dynamic data is computed
    (they resolve their lookups when they become runnable, not when they
    are created: a promise is only an artifact once its producer is done).
    A request whose lookups fail is completed as `error` with code
    `dynamic-data-failed` and a message naming the lookup; the ids of
    those are returned. Rows other transactions hold are skipped.
    """
    # Imported here: the lifecycle module imports the task registry, which
    # this module's importers may still be loading.
    from debusine import work_requests

    candidates = session.scalars(
        select(WorkRequest)
        .where(
            WorkRequest.status == WorkRequestStatus.PENDING,
            WorkRequest.worker_id.is_(None),
            WorkRequest.required_worker_type.is_not(None),
            WorkRequest.dynamic_task_data.is_(None),
        )
        .order_by(WorkRequest.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    if not candidates:
        return []
    configurations_exist = bool(
        session.scalar(
            select(exists().where(Collection.category == CONFIGURATION_COLLECTION))
        )
    )
    failed: list[int] = []
    for work_request in candidates:
        try:
            ensure_dynamic_data(
                session, work_request, configurations_exist=configurations_exist
            )
        except DomainError as error:
            work_requests.mark_completed(
                session,
                work_request,
                WorkRequestResult.ERROR,
                {"errors": [{"code": DYNAMIC_DATA_FAILED, "message": str(error)}]},
            )
            failed.append(work_request.id)
    session.flush()
    return failed


def _instantiate(
    task_class: type[BaseTask],
    task_data: Mapping[str, Any],
    work_request: WorkRequest,
    when: str,
) -> BaseTask:
    try:
        return task_class(task_data)
    except TaskDataError as error:
        raise DynamicDataError(
            f"Work request {work_request.id}: invalid task data{when}: {error}"
        ) from None


def _workflow_root(work_request: WorkRequest) -> WorkRequest | None:
    return root_of(work_request) if work_request.parent is not None else None


def _plain(result: LookupResult) -> ResolvedLookup:
    item, artifact, collection = (
        result.collection_item,
        result.artifact,
        result.collection,
    )
    if result.result_type == CollectionItemType.ARTIFACT and artifact is not None:
        category, data = artifact.category, artifact.data
    elif result.result_type == CollectionItemType.COLLECTION and collection is not None:
        category, data = collection.category, collection.data
    elif item is not None:
        category, data = item.category, item.data
    else:
        category, data = "", {}
    return ResolvedLookup(
        result_type=str(result.result_type.value),
        artifact_id=artifact.id if artifact is not None else None,
        collection_id=collection.id if collection is not None else None,
        collection_item_id=item.id if item is not None else None,
        category=category,
        data=dict(data or {}),
    )


class _DatabaseResolver:
    """Resolves a task's lookups in its work request's workspace, as its creator."""

    def __init__(
        self, session: Session, work_request: WorkRequest, actor: Actor
    ) -> None:
        self.session = session
        self.work_request = work_request
        self.context: dict[str, Any] = {
            "workspace": work_request.workspace,
            "actor": actor,
            "workflow_root": _workflow_root(work_request),
        }

    def _failed(self, lookup: TaskLookup, value: Any, error: LookupFailed) -> Exception:
        return DynamicDataError(
            f"Work request {self.work_request.id}: lookup {lookup.path} "
            f"({value!r}) failed: {error}"
        )

    def single(self, lookup: TaskLookup, value: Any) -> ResolvedLookup:
        try:
            result = lookup_single(
                self.session,
                value,
                expect_type=lookup.expect_type,
                default_category=lookup.default_category,
                **self.context,
            )
        except LookupFailed as error:
            raise self._failed(lookup, value, error) from None
        return _plain(result)

    def multiple(self, lookup: TaskLookup, value: Any) -> list[ResolvedLookup]:
        try:
            results = lookup_multiple(
                self.session,
                value,
                expect_type=lookup.expect_type,
                default_category=lookup.default_category,
                **self.context,
            )
        except LookupFailed as error:
            raise self._failed(lookup, value, error) from None
        return [_plain(result) for result in results]


def _configuration_collection(
    session: Session, work_request: WorkRequest, task: BaseTask, actor: Actor
) -> Collection | None:
    """The task-configuration collection to apply (None: there is none)."""
    named = task.task_data.get("task_configuration")
    if named is None:
        # The default is optional: its absence is no error.
        return find_collection(
            session,
            work_request.workspace,
            actor,
            DEFAULT_CONFIGURATION,
            CONFIGURATION_COLLECTION,
        )
    lookup = TaskLookup(
        "task_configuration",
        expect_type="collection",
        default_category=CONFIGURATION_COLLECTION,
    )
    resolved = _DatabaseResolver(session, work_request, actor).single(lookup, named)
    collection = session.get(Collection, resolved.collection_id)
    if collection is None or collection.category != CONFIGURATION_COLLECTION:
        raise DynamicDataError(
            f"Work request {work_request.id}: task_configuration {named!r} is a "
            f"{resolved.category} collection, not a {CONFIGURATION_COLLECTION}"
        )
    return collection


def configuration_entries(
    session: Session,
    collection: Collection,
    task: BaseTask,
    *,
    subject: str | None,
    context: str | None,
) -> list[dict[str, Any]]:
    """The entries that apply to `task`, in order, each after its templates."""
    levels: list[tuple[str | None, str | None]] = [(None, None)]
    if context:
        levels.append((None, context))
    if subject:
        levels.append((subject, None))
        if context:
            levels.append((subject, context))
    names = [
        configuration_name(
            {
                "task_type": task.TASK_TYPE.value,
                "task_name": task.TASK_NAME,
                "subject": level_subject,
                "context": level_context,
            }
        )
        for level_subject, level_context in levels
    ]
    found = _items_by_name(session, collection, names)
    entries: list[dict[str, Any]] = []
    for name in names:
        if name in found:
            entries.extend(_with_templates(session, collection, name, found[name]))
    return entries


def _items_by_name(
    session: Session, collection: Collection, names: Iterable[str]
) -> dict[str, dict[str, Any]]:
    items = session.scalars(
        active_items(collection.id).where(
            CollectionItem.category == CONFIGURATION,
            CollectionItem.child_type == CollectionItemType.BARE,
            CollectionItem.name.in_(list(names)),
        )
    ).unique()
    return {item.name: dict(item.data or {}) for item in items}


def _with_templates(
    session: Session,
    collection: Collection,
    name: str,
    entry: dict[str, Any],
    seen: tuple[str, ...] = (),
) -> list[dict[str, Any]]:
    """`entry`'s templates (recursively, in order), then `entry` itself."""
    templates = entry.get("use_templates") or []
    if not isinstance(templates, list):
        raise DynamicDataError(
            f"Task configuration {name}: use_templates must be a list of names"
        )
    wanted = [f"template:{template}" for template in templates]
    found = _items_by_name(session, collection, wanted) if wanted else {}
    entries: list[dict[str, Any]] = []
    for template, template_name in zip(templates, wanted, strict=True):
        if template_name in seen or template_name == name:
            raise DynamicDataError(
                f"Task configuration {name}: template {template!r} uses itself"
            )
        if template_name not in found:
            raise DynamicDataError(
                f"Task configuration {name} uses template {template!r}, which "
                f"{collection.name}@{collection.category} does not have"
            )
        entries.extend(
            _with_templates(
                session,
                collection,
                template_name,
                found[template_name],
                (*seen, name),
            )
        )
    entries.append(entry)
    return entries


@dataclass
class _Combined:
    defaults: dict[str, Any] = field(default_factory=dict)
    overrides: dict[str, Any] = field(default_factory=dict)
    locked: set[str] = field(default_factory=set)

    def add(self, entry: Mapping[str, Any]) -> None:
        for key in _keys(entry, "delete_values"):
            if key not in self.locked:
                self.defaults.pop(key, None)
                self.overrides.pop(key, None)
        for key, value in _values(entry, "default_values").items():
            if key not in self.locked:
                self.defaults[key] = value
        for key, value in _values(entry, "override_values").items():
            if key not in self.locked:
                self.overrides[key] = value
        self.locked.update(_keys(entry, "lock_values"))


def _keys(entry: Mapping[str, Any], name: str) -> list[str]:
    value = entry.get(name) or []
    if not isinstance(value, list):
        raise DynamicDataError(f"Task configuration: {name} must be a list of keys")
    return [str(key) for key in value]


def _values(entry: Mapping[str, Any], name: str) -> dict[str, Any]:
    value = entry.get(name) or {}
    if not isinstance(value, Mapping):
        raise DynamicDataError(f"Task configuration: {name} must be a mapping")
    return dict(value)


def merge_task_configuration(
    task_data: Mapping[str, Any], entries: Iterable[Mapping[str, Any]]
) -> dict[str, Any]:
    """`task_data` with the configuration entries applied (top-level keys only)."""
    combined = _Combined()
    for entry in entries:
        combined.add(entry)
    configured = dict(task_data)
    for key, value in combined.defaults.items():
        if configured.get(key) is None:
            configured[key] = value
    configured.update(combined.overrides)
    return configured


__all__ = [
    "DynamicDataError",
    "configuration_entries",
    "ensure_dynamic_data",
    "merge_task_configuration",
]
