"""The task registry: lookup, validation, worker requirements."""

from __future__ import annotations

import subprocess
import sys

import pytest

from debusine.errors import DomainError
from debusine.tasks import (
    BaseTask,
    TaskDataError,
    TaskType,
    UnknownTaskError,
    WorkerType,
    get_task,
    get_task_class,
    task_names,
)
from debusine.tasks.base import TaskDataSchema
from debusine.tasks.noop import Noop, ServerNoop


def test_lookup_is_case_insensitive() -> None:
    assert get_task_class(TaskType.WORKER, "NoOp") is Noop
    assert get_task_class("Server", "servernoop") is ServerNoop


def test_unknown_name_lists_known_names() -> None:
    with pytest.raises(
        UnknownTaskError, match=r"known Worker tasks: (\w+, )*noop, (\w+, )*sbuild"
    ) as info:
        get_task_class(TaskType.WORKER, "sbuild-ish")
    assert isinstance(info.value, DomainError)


def test_name_of_another_type_is_unknown() -> None:
    with pytest.raises(UnknownTaskError, match="servernoop"):
        get_task_class(TaskType.SERVER, "noop")


def test_unknown_task_type() -> None:
    with pytest.raises(UnknownTaskError, match="Unknown task type 'Bogus'"):
        get_task_class("Bogus", "noop")


def test_defaults_are_filled_in() -> None:
    assert get_task(TaskType.WORKER, "noop", {}).task_data["result"] is True
    server = get_task(TaskType.SERVER, "servernoop", {"result": False})
    assert server.task_data == {"result": False, "exception": False}


def test_bad_value_names_the_field() -> None:
    with pytest.raises(TaskDataError, match="result: Not a valid boolean") as info:
        get_task(TaskType.WORKER, "noop", {"result": "maybe"})
    assert set(info.value.errors) == {"result"}


def test_unknown_key_is_refused() -> None:
    with pytest.raises(TaskDataError, match="colour: Unknown field") as info:
        get_task(TaskType.SERVER, "servernoop", {"colour": "red"})
    assert set(info.value.errors) == {"colour"}


def test_task_data_must_be_an_object() -> None:
    with pytest.raises(TaskDataError, match="_schema"):
        get_task(TaskType.WORKER, "noop", ["result"])  # type: ignore[arg-type]


def test_task_names() -> None:
    assert "noop" in task_names()
    server_tasks = task_names(TaskType.SERVER)
    assert "servernoop" in server_tasks
    assert server_tasks == sorted(server_tasks)
    assert "noop" not in server_tasks  # a worker task, not a server one


def test_worker_requirements_by_task_type() -> None:
    noop = get_task(TaskType.WORKER, "noop", {"host_architecture": "s390x"})
    needs = noop.worker_requirements()
    assert needs.worker_type == WorkerType.EXTERNAL
    assert needs.architecture == "s390x"
    assert needs.capabilities == frozenset()
    server = get_task(TaskType.SERVER, "servernoop", {}).worker_requirements()
    assert server.worker_type == WorkerType.SERVER
    assert server.architecture is None


class _SbuildLikeData(TaskDataSchema):
    pass


class _SbuildLike(BaseTask):
    TASK_TYPE = TaskType.SIGNING
    TASK_NAME = "Test-Sign-Like"
    SCHEMA = _SbuildLikeData
    EXECUTOR_BACKEND = "unshare"
    REQUIRED_TOOLS = ("sign:available",)


def test_tools_and_executor_become_capabilities() -> None:
    task = get_task(TaskType.SIGNING, "test-sign-like", {})
    assert isinstance(task, _SbuildLike)
    needs = task.worker_requirements()
    assert needs.worker_type == WorkerType.SIGNING
    assert needs.capabilities == {"sign:available", "executor:unshare:available"}
    metadata = {"sign:available": True, "executor:unshare:available": True}
    assert task.can_run_on(WorkerType.SIGNING, metadata)
    assert not task.can_run_on(WorkerType.EXTERNAL, metadata)
    assert not task.can_run_on(WorkerType.SIGNING, {"sign:available": True})


def test_can_run_on_checks_architecture() -> None:
    task = get_task(TaskType.WORKER, "noop", {"host_architecture": "arm64"})
    assert task.can_run_on(WorkerType.EXTERNAL, {"system:architectures": ["arm64"]})
    assert not task.can_run_on(WorkerType.EXTERNAL, {"system:architectures": ["amd64"]})


def test_registering_a_name_twice_fails() -> None:
    with pytest.raises(RuntimeError, match="registered twice"):

        class Again(BaseTask):
            TASK_TYPE = TaskType.WORKER
            TASK_NAME = "NOOP"


def test_importable_without_the_database() -> None:
    code = (
        "import sys, debusine.tasks;"
        "bad = [m for m in sys.modules"
        " if m.startswith(('sqlalchemy', 'debusine.models'))];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
