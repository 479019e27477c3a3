"""The task framework: a task's type, name, version, data schema and needs.

Shared by the server, the worker and the signer: nothing here imports the
database layer. Subclasses register themselves by (TASK_TYPE, TASK_NAME);
names are looked up case-insensitively.

A task names the lookups its task data holds in `LOOKUPS` (a dotted path
into the task data each); the server resolves them through a
`LookupResolver` and stores what `compute_dynamic_data` returns: the ids
(`source_artifact_id` for `input.source_artifact`, `binary_artifacts_ids`
for the multiple lookup `input.binary_artifacts`, `environment_id`), plus
what `describe_inputs` derives from the resolved items (`subject`,
`configuration_context`, used to pick the task configuration).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from marshmallow import RAISE, Schema, ValidationError, fields

from debusine.errors import DomainError
from debusine.tasks.types import WORKER_TYPE_FOR_TASK_TYPE, TaskType, WorkerType


class UnknownTaskError(DomainError):
    """No task of that type has that name."""


class TaskDataError(DomainError):
    """The task data does not match the task's schema.

    `errors` maps each wrong field to its messages (marshmallow's format).
    """

    def __init__(self, task_name: str, errors: Mapping[str, Any]) -> None:
        self.errors = dict(errors)
        details = "; ".join(
            f"{field}: {_flatten(messages)}"
            for field, messages in sorted(errors.items())
        )
        super().__init__(f"Invalid task data for {task_name!r}: {details}")


def _flatten(messages: Any) -> str:
    if isinstance(messages, dict):
        return "; ".join(f"{k}: {_flatten(v)}" for k, v in messages.items())
    if isinstance(messages, list):
        return " ".join(str(m) for m in messages)
    return str(messages)


@functools.cache
def schema_of(schema_class: type[Schema]) -> Schema:
    """One shared instance of `schema_class`.

    Building a schema deep-copies its fields, which costs more than
    loading most task data; marshmallow 4 schemas keep no state between
    loads, so one instance serves every load.
    """
    return schema_class()


class TaskDataSchema(Schema):
    """Base schema for task data: unknown keys are refused.

    Every task may name the `debusine:task-configuration` collection to
    apply (default: `default@debusine:task-configuration`, if it exists).
    """

    class Meta:
        unknown = RAISE

    task_configuration = fields.String(allow_none=True)


# The image format each executor backend boots (environment lookups).
BACKEND_IMAGE_FORMATS = {
    "unshare": "tarball",
    "incus-lxc": "tarball",
    "incus-vm": "image",
    "qemu": "image",
}
ENVIRONMENTS_CATEGORY = "debian:environments"


@dataclass(frozen=True)
class TaskLookup:
    """A lookup held in the task data at `path` (dotted: `input.source_artifact`).

    Its resolved id goes into the dynamic data under `key`, by default the
    path's last part with `_id` (single) or `_ids` (multiple) appended.
    """

    path: str
    multiple: bool = False
    expect_type: str = "artifact"
    default_category: str | None = None
    # Environment lookups get the task's architecture and image format added
    # to their `match:` segment when they do not say them.
    environment: bool = False
    key: str | None = None

    @property
    def dynamic_key(self) -> str:
        if self.key:
            return self.key
        last = self.path.rsplit(".", 1)[-1]
        return f"{last}_ids" if self.multiple else f"{last}_id"


def single_lookup(path: str, **kwargs: Any) -> TaskLookup:
    return TaskLookup(path, **kwargs)


def multiple_lookup(path: str, **kwargs: Any) -> TaskLookup:
    return TaskLookup(path, multiple=True, **kwargs)


def environment_lookup(path: str = "environment") -> TaskLookup:
    """`debian/match:codename=bookworm` style: `debian:environments` by default."""
    return TaskLookup(path, default_category=ENVIRONMENTS_CATEGORY, environment=True)


@dataclass(frozen=True)
class ResolvedLookup:
    """What a lookup found, as plain data (no database objects)."""

    result_type: str  # "a" artifact, "c" collection, "b" bare item
    artifact_id: int | None = None
    collection_id: int | None = None
    collection_item_id: int | None = None
    category: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> int | None:
        if self.result_type == "a":
            return self.artifact_id
        if self.result_type == "c":
            return self.collection_id
        return self.collection_item_id


class LookupResolver(Protocol):
    """Resolves a task's lookups (the server implements it with the database)."""

    def single(self, lookup: TaskLookup, value: Any) -> ResolvedLookup: ...

    def multiple(self, lookup: TaskLookup, value: Any) -> list[ResolvedLookup]: ...


Resolved = Mapping[str, ResolvedLookup | list[ResolvedLookup]]


@dataclass(frozen=True)
class WorkerRequirements:
    """What a worker must offer to run a task.

    `architecture` must be one of the worker's `system:architectures` (None:
    any); `capabilities` are metadata keys the worker must report as true
    (e.g. `executor:unshare:available`, `sbuild:available`).
    """

    worker_type: WorkerType | None
    architecture: str | None = None
    capabilities: frozenset[str] = frozenset()


_REGISTRY: dict[tuple[TaskType, str], type[BaseTask]] = {}


class BaseTask:
    """A task: subclasses set TASK_TYPE, TASK_NAME, TASK_VERSION and SCHEMA."""

    TASK_TYPE: ClassVar[TaskType]
    TASK_NAME: ClassVar[str]
    TASK_VERSION: ClassVar[int] = 1
    SCHEMA: ClassVar[type[TaskDataSchema]] = TaskDataSchema
    # Executor backend this task needs (None: runs on the host, e.g. noop).
    EXECUTOR_BACKEND: ClassVar[str | None] = None
    # Metadata keys the worker must report true, e.g. ("sbuild:available",).
    REQUIRED_TOOLS: ClassVar[tuple[str, ...]] = ()
    # The lookups in the task data, resolved by the server before it runs.
    LOOKUPS: ClassVar[tuple[TaskLookup, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        keys = [lookup.dynamic_key for lookup in cls.LOOKUPS]
        if len(set(keys)) != len(keys):
            raise RuntimeError(f"{cls.__name__}: two lookups share a dynamic key")
        if "TASK_TYPE" not in cls.__dict__:
            return  # an abstract intermediate class
        name = cls.__dict__.get("TASK_NAME") or cls.__name__.lower()
        cls.TASK_NAME = name.lower()
        key = (cls.TASK_TYPE, cls.TASK_NAME)
        if key in _REGISTRY and _REGISTRY[key] is not cls:
            raise RuntimeError(f"task {key} registered twice")
        _REGISTRY[key] = cls

    def __init__(self, task_data: Mapping[str, Any]) -> None:
        self.task_data = self.validate_data(task_data)

    @classmethod
    def validate_data(cls, task_data: Mapping[str, Any]) -> dict[str, Any]:
        """The task data loaded by the schema (defaults filled in)."""
        if not isinstance(task_data, Mapping):
            raise TaskDataError(cls.TASK_NAME, {"_schema": ["Must be an object."]})
        try:
            loaded: dict[str, Any] = schema_of(cls.SCHEMA).load(dict(task_data))
        except ValidationError as exc:
            messages = exc.messages
            if not isinstance(messages, dict):
                messages = {"_schema": messages}
            raise TaskDataError(cls.TASK_NAME, messages) from exc
        return loaded

    def lookup_values(self) -> list[tuple[TaskLookup, Any]]:
        """Each declared lookup with its value in the task data (absent: skipped)."""
        found: list[tuple[TaskLookup, Any]] = []
        for lookup in self.LOOKUPS:
            value: Any = self.task_data
            for part in lookup.path.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            if value is None:
                continue
            if lookup.environment and isinstance(value, str):
                value = self.complete_environment_lookup(value)
            found.append((lookup, value))
        return found

    def environment_filters(self) -> dict[str, str]:
        """`match:` filters an environment lookup gets unless it names them."""
        filters: dict[str, str] = {}
        image_format = BACKEND_IMAGE_FORMATS.get(self.EXECUTOR_BACKEND or "")
        if image_format:
            filters["format"] = image_format
        if self.host_architecture:
            filters["architecture"] = self.host_architecture
        return filters

    def complete_environment_lookup(self, value: str) -> str:
        head, sep, match = value.rpartition("/match:")
        if not sep:
            return value
        given = {part.partition("=")[0] for part in match.split(":") if part}
        extra = [
            f"{key}={val}"
            for key, val in self.environment_filters().items()
            if key not in given
        ]
        if not extra:
            return value
        return f"{head}/match:" + ":".join([*filter(None, match.split(":")), *extra])

    def compute_dynamic_data(
        self, resolver: LookupResolver | None = None
    ) -> dict[str, Any]:
        """The resolved lookups' ids and what the task derives from them.

        Without a resolver (no database at hand) the lookups are not
        resolved: only `describe_inputs({})` is returned.
        """
        resolved: dict[str, ResolvedLookup | list[ResolvedLookup]] = {}
        dynamic: dict[str, Any] = {}
        if resolver is not None:
            for lookup, value in self.lookup_values():
                key = lookup.dynamic_key
                if lookup.multiple:
                    results = resolver.multiple(lookup, value)
                    resolved[key] = results
                    dynamic[key] = [result.id for result in results]
                else:
                    result = resolver.single(lookup, value)
                    resolved[key] = result
                    dynamic[key] = result.id
        dynamic.update(self.describe_inputs(resolved))
        return dynamic

    def describe_inputs(self, resolved: Resolved) -> dict[str, Any]:
        """Further dynamic data from the resolved lookups (by dynamic key).

        Tasks return `subject` (what they work on, e.g. a source package
        name) and `configuration_context` (e.g. a codename) here: the task
        configuration is chosen by them.
        """
        return {}

    @property
    def host_architecture(self) -> str | None:
        value = self.task_data.get("host_architecture")
        return str(value) if value else None

    def worker_requirements(self) -> WorkerRequirements:
        capabilities = set(self.REQUIRED_TOOLS)
        if self.EXECUTOR_BACKEND:
            capabilities.add(f"executor:{self.EXECUTOR_BACKEND}:available")
        return WorkerRequirements(
            worker_type=WORKER_TYPE_FOR_TASK_TYPE.get(self.TASK_TYPE),
            architecture=self.host_architecture,
            capabilities=frozenset(capabilities),
        )

    def can_run_on(self, worker_type: WorkerType, metadata: Mapping[str, Any]) -> bool:
        """The Python form of the scheduler's SQL match (for workers and tests)."""
        needs = self.worker_requirements()
        if needs.worker_type is None or needs.worker_type != worker_type:
            return False
        if needs.architecture is not None and needs.architecture not in (
            metadata.get("system:architectures") or []
        ):
            return False
        return all(metadata.get(key) is True for key in needs.capabilities)


def worker_capabilities(metadata: Mapping[str, Any]) -> list[str]:
    """The metadata keys a worker reports as true: what it can offer."""
    return sorted(key for key, value in metadata.items() if value is True)


def worker_architectures(metadata: Mapping[str, Any]) -> list[str]:
    value = metadata.get("system:architectures") or []
    if isinstance(value, str):
        value = [value]
    architectures = [str(a) for a in value]
    host = metadata.get("system:host_architecture")
    if host and str(host) not in architectures:
        architectures.append(str(host))
    return architectures


def task_names(task_type: TaskType | None = None) -> list[str]:
    return sorted(
        name for (kind, name) in _REGISTRY if task_type is None or kind == task_type
    )


def get_task_class(task_type: TaskType | str, task_name: str) -> type[BaseTask]:
    """The registered task class; UnknownTaskError lists the names that exist."""
    try:
        kind = TaskType(task_type)
    except ValueError:
        raise UnknownTaskError(
            f"Unknown task type {task_type!r}; known types: "
            + ", ".join(t.value for t in TaskType)
        ) from None
    try:
        return _REGISTRY[(kind, task_name.lower())]
    except KeyError:
        known = ", ".join(task_names(kind)) or "none"
        raise UnknownTaskError(
            f"Unknown {kind.value} task {task_name!r}; known {kind.value} tasks: "
            f"{known}"
        ) from None


def get_task(
    task_type: TaskType | str, task_name: str, task_data: Mapping[str, Any]
) -> BaseTask:
    """Instantiate a task, validating its data (TaskDataError names the field)."""
    return get_task_class(task_type, task_name)(task_data)


__all__ = [
    "BaseTask",
    "LookupResolver",
    "ResolvedLookup",
    "TaskDataError",
    "TaskDataSchema",
    "TaskLookup",
    "UnknownTaskError",
    "WorkerRequirements",
    "environment_lookup",
    "get_task",
    "get_task_class",
    "multiple_lookup",
    "schema_of",
    "single_lookup",
    "task_names",
    "worker_architectures",
    "worker_capabilities",
]
