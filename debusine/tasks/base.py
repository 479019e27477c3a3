"""The task framework: a task's type, name, version, data schema and needs.

Shared by the server, the worker and the signer: nothing here imports the
database layer. Subclasses register themselves by (TASK_TYPE, TASK_NAME);
names are looked up case-insensitively.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from marshmallow import RAISE, Schema, ValidationError

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


class TaskDataSchema(Schema):
    """Base schema for task data: unknown keys are refused."""

    class Meta:
        unknown = RAISE


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

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
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
            loaded: dict[str, Any] = cls.SCHEMA().load(dict(task_data))
        except ValidationError as exc:
            messages = exc.messages
            if not isinstance(messages, dict):
                messages = {"_schema": messages}
            raise TaskDataError(cls.TASK_NAME, messages) from exc
        return loaded

    def compute_dynamic_data(self, **context: Any) -> dict[str, Any]:
        """Values derived from the task data (resolved lookups...)."""
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
    "TaskDataError",
    "TaskDataSchema",
    "UnknownTaskError",
    "WorkerRequirements",
    "get_task",
    "get_task_class",
    "task_names",
    "worker_architectures",
    "worker_capabilities",
]
