"""Worker-side task implementations: what a worker task does when it runs.

The task's type, name, version and data schema live in the shared registry
(`debusine.tasks`); this module adds the code that runs on the worker, in a
child process started by the daemon (`python -m worker.run_task`).

A task reads its inputs with `download_artifact` / `download_inputs` (ids
from the dynamic task data the server computed) and stores its results with
`upload_artifact`, through the JSON API with the worker's token; the server
records each output as created by the work request. A transfer that fails
raises `InputDownloadFailed` or `OutputUploadFailed`: the work request's
result is then `error` with the code `input-download-failed` or
`output-upload-failed`. Every transfer is written to the task's log.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from debusine.artifacts.files import content_type_for, size_and_sha256
from debusine.client.config import ServerConfig
from debusine.client.download import Downloader, safe_destination, should_use_tarball
from debusine.client.errors import ClientError
from debusine.client.http import APIClient
from debusine.client.progress import progress_bars
from debusine.client.upload import Uploader, create_artifact
from debusine.tasks import TaskType, get_task, get_task_class
from worker.executors.environment_cache import DEFAULT_MAX_ENTRIES, EnvironmentCache
from worker.executors.unshare import UnshareExecutor

_REGISTRY: dict[str, type[WorkerTask]] = {}
DEFAULT_SCOPE = "debusine"


class UnsupportedTaskError(Exception):
    """This worker has no implementation of the task."""


class TaskError(Exception):
    """A task's `error` result with a code (rather than a crash)."""

    code = "task-error"


class InputDownloadFailed(TaskError):
    code = "input-download-failed"


class OutputUploadFailed(TaskError):
    code = "output-upload-failed"


@dataclass(frozen=True)
class TaskContext:
    """Where and for whom a task runs."""

    work_request_id: int
    work_directory: Path
    api_url: str | None = None
    token: str | None = None
    # What the server resolved for the task (artifact ids, ...).
    dynamic_data: Mapping[str, Any] = field(default_factory=dict)
    scope: str | None = None
    workspace: str | None = None
    # The worker's cache of unpacked environments (its config file's
    # cache-* settings; None: the executors' defaults).
    cache_directory: Path | None = None
    cache_max_environments: int | None = None
    cache_max_size: int | None = None


@dataclass(frozen=True)
class InputArtifact:
    """An artifact downloaded into the work directory."""

    id: int
    category: str
    data: Mapping[str, Any]
    directory: Path
    # Artifact path -> local file.
    files: Mapping[str, Path]


def _count(number: int, what: str) -> str:
    return f"{number} {what}" if number == 1 else f"{number} {what}s"


def _size(size: int) -> str:
    return _count(size, "byte")


class WorkerTask:
    """Subclasses set NAME and implement `run()`: True success, False failure.

    An exception from `run()` makes the work request's result `error`.
    """

    NAME: ClassVar[str]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("NAME")
        if name:
            _REGISTRY[name.lower()] = cls

    def __init__(self, task_data: Mapping[str, Any], context: TaskContext) -> None:
        self.data = self.validate(task_data)
        self.context = context
        self._api: APIClient | None = None
        # Added to the work request's output data (`errors` of a failure...).
        self.output_data: dict[str, Any] = {}

    @property
    def dynamic_data(self) -> Mapping[str, Any]:
        return self.context.dynamic_data

    @classmethod
    def validate(cls, task_data: Mapping[str, Any]) -> dict[str, Any]:
        """The task data loaded by the shared schema (TaskDataError if wrong)."""
        return get_task(TaskType.WORKER, cls.NAME, task_data).task_data

    @classmethod
    def version(cls) -> int:
        return get_task_class(TaskType.WORKER, cls.NAME).TASK_VERSION

    @classmethod
    def executor_backend(cls) -> str | None:
        """The executor the task needs (None: the host, `null`)."""
        return get_task_class(TaskType.WORKER, cls.NAME).EXECUTOR_BACKEND

    def unshare_executor(self) -> UnshareExecutor:
        """An unshare executor using the worker's environment cache."""
        context = self.context
        if context.cache_directory is None:
            return UnshareExecutor()
        cache = EnvironmentCache(
            context.cache_directory,
            max_entries=context.cache_max_environments or DEFAULT_MAX_ENTRIES,
            max_bytes=context.cache_max_size,
        )
        return UnshareExecutor(cache)

    def log(self, message: str) -> None:
        """A line of the task's log (streamed live to the server)."""
        print(message, file=sys.stdout, flush=True)

    def run(self) -> bool:
        raise NotImplementedError

    # -- artifacts through the JSON API ---------------------------------------

    def api(self, failure: type[TaskError]) -> APIClient:
        """The API client with the worker's token (`failure` if it cannot be)."""
        if self._api is None:
            if not self.context.api_url or not self.context.token:
                raise failure("the worker has no API URL or token to reach the server")
            self._api = APIClient(
                ServerConfig(
                    name="worker",
                    api_url=self.context.api_url.rstrip("/"),
                    scope=self.context.scope or DEFAULT_SCOPE,
                    token=self.context.token,
                )
            )
        return self._api

    def download_inputs(self, key: str) -> list[InputArtifact]:
        """The artifacts whose ids the dynamic data holds under `key`."""
        value = self.dynamic_data.get(key)
        values = value if isinstance(value, list) else [value]
        ids = [v for v in values if isinstance(v, int) and not isinstance(v, bool)]
        if value is None or len(ids) != len(values):
            message = f"the dynamic task data has no artifact ids under {key!r}"
            self.log(f"input: {message}")
            raise InputDownloadFailed(message)
        return [self.download_artifact(artifact_id) for artifact_id in ids]

    def download_artifact(
        self, artifact_id: int, destination: Path | None = None
    ) -> InputArtifact:
        """Download an artifact's files (by default to `input/ID/`)."""
        target = destination or self.context.work_directory / "input" / str(artifact_id)
        try:
            return self._download(artifact_id, target)
        except (ClientError, OSError) as error:
            message = f"artifact {artifact_id}: {error}"
            self.log(f"input: download failed: {message}")
            raise InputDownloadFailed(message) from None

    def _download(self, artifact_id: int, target: Path) -> InputArtifact:
        client = self.api(InputDownloadFailed)
        artifact = client.get(f"/artifact/{int(artifact_id)}/")
        if not isinstance(artifact, dict) or not isinstance(
            artifact.get("files"), dict
        ):
            raise ClientError("the server's answer about the artifact is invalid")
        files: dict[str, Any] = artifact["files"]
        total = sum(int(spec.get("size", 0)) for spec in files.values())
        self.log(
            f"input: downloading artifact {artifact_id} ({artifact['category']}): "
            f"{_count(len(files), 'file')}, {_size(total)}, into {target}"
        )
        target.mkdir(parents=True, exist_ok=True)
        local = {path: safe_destination(target, path) for path in files}
        with progress_bars(enabled=False) as progress:
            downloader = Downloader(client, progress)
            if should_use_tarball(files):
                downloader.extract_tarball(
                    artifact["download_tar_gz_url"], target, files
                )
            else:
                for path, spec in sorted(files.items()):
                    downloader.download_file(spec["url"], local[path], spec)
        for path, spec in sorted(files.items()):
            self.log(f"input: artifact {artifact_id}: {path} ({_size(spec['size'])})")
        return InputArtifact(
            id=int(artifact["id"]),
            category=str(artifact["category"]),
            data=dict(artifact.get("data") or {}),
            directory=target,
            files=local,
        )

    def upload_artifact(
        self,
        category: str,
        files: Mapping[str, Path],
        data: Mapping[str, Any] | None = None,
        *,
        relations: Iterable[tuple[str, int]] = (),
        workspace: str | None = None,
    ) -> int:
        """Create an output artifact of this work request; its id.

        `files` maps artifact paths to local files; `relations` are
        (type, target artifact id) pairs from the new artifact: `extends`,
        `relates-to`, `built-using`.
        """
        try:
            return self._upload(category, files, data, relations, workspace)
        except (ClientError, OSError) as error:
            message = f"{category} artifact: {error}"
            self.log(f"output: upload failed: {message}")
            raise OutputUploadFailed(message) from None

    def _upload(
        self,
        category: str,
        files: Mapping[str, Path],
        data: Mapping[str, Any] | None,
        relations: Iterable[tuple[str, int]],
        workspace: str | None,
    ) -> int:
        client = self.api(OutputUploadFailed)
        described: dict[str, Any] = {}
        for path, local in sorted(files.items()):
            size, sha256 = size_and_sha256(local)
            described[path] = {
                "size": size,
                "checksums": {"sha256": sha256},
                "type": "file",
                "content_type": content_type_for(local.name),
            }
        body: dict[str, Any] = {
            "category": category,
            "files": described,
            "data": dict(data or {}),
            "work_request": self.context.work_request_id,
        }
        if workspace or self.context.workspace:
            body["workspace"] = workspace or self.context.workspace
        total = sum(spec["size"] for spec in described.values())
        self.log(
            f"output: creating a {category} artifact with "
            f"{_count(len(described), 'file')}, {_size(total)}"
        )
        with progress_bars(enabled=False) as progress:
            artifact = create_artifact(
                client, body, dict(files), Uploader(client, progress)
            )
        artifact_id = int(artifact["id"])
        sent = set(artifact["files_to_upload"])
        for path, spec in described.items():
            how = "uploaded" if path in sent else "already on the server"
            self.log(
                f"output: artifact {artifact_id}: {path} ({_size(spec['size'])}, {how})"
            )
        for relation_type, target in relations:
            client.post(
                "/artifact-relation/",
                {"artifact": artifact_id, "target": int(target), "type": relation_type},
                expected=(200, 201),
            )
            self.log(f"output: artifact {artifact_id} {relation_type} {target}")
        self.log(f"output: artifact {artifact_id} ({category}) created")
        return artifact_id


def worker_tasks() -> dict[str, type[WorkerTask]]:
    return dict(_REGISTRY)


def get_worker_task(name: str) -> type[WorkerTask]:
    try:
        return _REGISTRY[name.lower()]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise UnsupportedTaskError(
            f"this worker cannot run the task {name!r}; it runs: {known}"
        ) from None
