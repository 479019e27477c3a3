"""The worker daemon: takes REQUESTs from the bus and runs each in a child.

One task at a time. The bus connection (`WorkerConnection`) lives in its
own thread and keeps heartbeating while the task runs in a child process
(`python -m worker.run_task`, in a session and process group of its own,
inside the task's executor). The child's stdout and stderr are streamed
live as PARTIAL log chunks named `task.log`; its result comes back as a
FINAL with `runtime_statistics` (duration and CPU time in seconds).

* ABORT: the task's process group gets SIGTERM, then SIGKILL after
  `kill_grace` seconds; nothing more is sent for that work request.
* A REQUEST while a task runs (the broker believes we are idle) gets a FINAL
  `error` with code `worker-busy`.
* Shutdown (SIGTERM or SIGINT to the daemon): the running task is killed
  the same way and reported as a FINAL `error` with code `worker-shutdown`
  (the server decides whether to retry it); the daemon waits a few seconds
  for the FINAL-ACK, then says DISCONNECT.

No database here: the worker talks to the bus and the JSON API only.
"""

from __future__ import annotations

import codecs
import contextlib
import importlib
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq

from debusine.bus.connection import WorkerConnection
from debusine.tasks import TaskDataError, TaskType, UnknownTaskError
from worker.config import WorkerConfig
from worker.executors import ExecutorUnavailable, get_executor
from worker.tasks import UnsupportedTaskError, get_worker_task

log = logging.getLogger(__name__)

LOG_NAME = "task.log"
READ_SIZE = 64 * 1024
DEFAULT_KILL_GRACE = 5.0
DEFAULT_ACK_TIMEOUT = 5.0


@dataclass
class _Task:
    work_request_id: int
    process: subprocess.Popen[bytes] | None = None
    # Why it is being killed: "abort" or "shutdown" (None: it is not).
    killed_for: str | None = None
    exited: threading.Event = field(default_factory=threading.Event)
    # The FINAL (result, output data), sent once the worker is free again.
    final: tuple[str, dict[str, Any]] | None = None


class WorkerDaemon:
    def __init__(
        self,
        config: WorkerConfig,
        metadata: Mapping[str, Any],
        *,
        task_modules: Iterable[str] = (),
        kill_grace: float = DEFAULT_KILL_GRACE,
        ack_timeout: float = DEFAULT_ACK_TIMEOUT,
        python: str = sys.executable,
        reconnect_min: float | None = None,
        reconnect_max: float | None = None,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        self.config = config
        self.task_modules = list(task_modules)
        for module in self.task_modules:
            importlib.import_module(module)
        self.kill_grace = kill_grace
        self.ack_timeout = ack_timeout
        self.python = python
        self.work_root = config.work_directory.absolute()
        extra: dict[str, Any] = {}
        if reconnect_min is not None:
            extra["reconnect_min"] = reconnect_min
        if reconnect_max is not None:
            extra["reconnect_max"] = reconnect_max
        self.connection = WorkerConnection(
            config.bus_endpoint,
            config.token,
            config.server_public_key,
            metadata,
            on_request=self.on_request,
            on_abort=self.on_abort,
            heartbeat_interval=config.heartbeat_interval,
            liveness=config.liveness,
            context=context,
            **extra,
        )
        self._lock = threading.Lock()
        self._task: _Task | None = None
        self._stopping = threading.Event()
        self._stop_requested = threading.Event()
        # Set while no task runs.
        self.idle = threading.Event()
        self.idle.set()

    # -- life cycle ----------------------------------------------------------

    def start(self) -> WorkerDaemon:
        self.work_root.mkdir(parents=True, exist_ok=True)
        self.connection.start()
        return self

    def stop(self) -> None:
        """Kill a running task (reported as `worker-shutdown`) and disconnect."""
        self._stopping.set()
        with self._lock:
            task = self._task
        if task is not None:
            log.warning(
                "worker: shutting down: killing work request %d",
                task.work_request_id,
            )
            self._kill(task, "shutdown")
            self.idle.wait(self.kill_grace + 5)
        deadline = time.monotonic() + self.ack_timeout
        while self.connection.unacknowledged and time.monotonic() < deadline:
            time.sleep(0.05)
        self.connection.stop()

    def request_stop(self, *_: Any) -> None:
        self._stop_requested.set()

    def run_forever(self) -> None:
        """Run until SIGTERM or SIGINT, then stop as `stop()` says."""
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        self.start()
        log.info(
            "worker: connecting to %s (work directory %s)",
            self.config.bus_endpoint,
            self.work_root,
        )
        while not self._stop_requested.wait(0.5):
            pass
        log.info("worker: stopping")
        self.stop()

    # -- bus callbacks (each in a thread of its own) -------------------------

    def on_request(self, body: dict[str, Any]) -> None:
        work_request_id = int(body["work_request_id"])
        with self._lock:
            refusal = None
            if self._stopping.is_set():
                refusal = ("worker-shutdown", "the worker is shutting down")
            elif self._task is not None:
                refusal = (
                    "worker-busy",
                    f"the worker runs work request {self._task.work_request_id}",
                )
            else:
                task = _Task(work_request_id)
                self._task = task
                self.idle.clear()
        if refusal is not None:
            log.warning(
                "worker: refusing work request %d: %s", work_request_id, refusal[1]
            )
            self._final_error(work_request_id, *refusal, started=time.monotonic())
            return
        try:
            self._execute(task, body)
        except Exception as error:
            log.exception("worker: work request %d failed", work_request_id)
            if task.killed_for != "abort":
                self._final_error(
                    work_request_id,
                    "worker-error",
                    f"the worker could not run the task: {error}",
                    started=time.monotonic(),
                    task=task,
                )
        finally:
            # Free before the FINAL: the broker hands out the next request
            # as soon as it has this one's result.
            with self._lock:
                self._task = None
            if task.final is not None:
                self.connection.send_final(work_request_id, *task.final)
            with self._lock:
                if self._task is None:
                    self.idle.set()

    def on_abort(self, work_request_id: int) -> None:
        with self._lock:
            task = self._task
        if task is None or task.work_request_id != work_request_id:
            log.info("worker: ABORT of work request %d, not running", work_request_id)
            return
        log.warning("worker: aborting work request %d", work_request_id)
        self._kill(task, "abort")

    # -- running a task -------------------------------------------------------

    def _final_error(
        self,
        work_request_id: int,
        code: str,
        message: str,
        *,
        started: float,
        task: _Task | None = None,
    ) -> None:
        """Report an error: at once for a refusal, else when `task` is done."""
        log.warning(
            "worker: work request %d: error %s: %s", work_request_id, code, message
        )
        output_data = {
            "runtime_statistics": self._statistics(started, 0.0),
            "errors": [{"code": code, "message": message}],
        }
        if task is None:
            self.connection.send_final(work_request_id, "error", output_data)
        else:
            task.final = ("error", output_data)

    @staticmethod
    def _statistics(started: float, cpu_time: float) -> dict[str, Any]:
        return {
            "duration": round(time.monotonic() - started),
            "cpu_time": round(cpu_time),
            "cpu_count": os.cpu_count() or 1,
        }

    def _execute(self, task: _Task, body: dict[str, Any]) -> None:
        started = time.monotonic()
        work_request_id = task.work_request_id
        task_name = str(body["task_name"])
        try:
            if str(body["task_type"]).lower() != TaskType.WORKER.value.lower():
                raise UnsupportedTaskError(
                    f"an external worker runs worker tasks, not {body['task_type']} "
                    "tasks"
                )
            task_class = get_worker_task(task_name)
            task_class.validate(body["task_data"])
            executor = get_executor(task_class.executor_backend())
        except (UnsupportedTaskError, UnknownTaskError) as error:
            self._final_error(
                work_request_id,
                "unsupported-task",
                str(error),
                started=started,
                task=task,
            )
            return
        except TaskDataError as error:
            self._final_error(
                work_request_id,
                "invalid-task-data",
                str(error),
                started=started,
                task=task,
            )
            return
        except ExecutorUnavailable as error:
            self._final_error(
                work_request_id,
                "executor-unavailable",
                str(error),
                started=started,
                task=task,
            )
            return

        directory = self.work_root / f"work-request-{work_request_id}"
        shutil.rmtree(directory, ignore_errors=True)
        directory.mkdir(parents=True, mode=0o700)
        try:
            self._run_child(task, body, directory, executor.wrap, started)
        finally:
            shutil.rmtree(directory, ignore_errors=True)

    def _run_child(
        self,
        task: _Task,
        body: dict[str, Any],
        directory: Path,
        wrap: Any,
        started: float,
    ) -> None:
        work_request_id = task.work_request_id
        result_file = directory / "result.json"
        spec: dict[str, Any] = {
            "work_request_id": work_request_id,
            "task_name": body["task_name"],
            "task_data": body["task_data"],
            "work_directory": str(directory),
            "api_url": body.get("api_url") or self.config.api_url,
            "token": self.config.token,
            "result_file": str(result_file),
            # The child dies with this process (see worker.run_task); the
            # kernel's signal comes when this thread ends, after the child.
            "parent_pid": os.getpid(),
            "cache": {
                "directory": str(self.config.cache_directory.absolute()),
                "max_environments": self.config.cache_max_environments,
                "max_size": self.config.cache_max_size,
            },
        }
        # What the server computed for the task, and where its outputs go.
        extra = body.get("extra") or {}
        spec["dynamic_task_data"] = dict(extra.get("dynamic_task_data") or {})
        for key in ("scope", "workspace"):
            if extra.get(key):
                spec[key] = extra[key]
        if self.task_modules:
            spec["task_modules"] = self.task_modules
            spec["sys_path"] = [entry for entry in sys.path if entry]
        spec_file = directory / "spec.json"
        descriptor = os.open(spec_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
            json.dump(spec, stream)

        argv = wrap([self.python, "-u", "-m", "worker.run_task", str(spec_file)])
        with self._lock:
            if task.killed_for is not None:
                return self._after_kill(task, started, 0.0)
            process = subprocess.Popen(  # noqa: S603
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                cwd=directory,
                start_new_session=True,
            )
            task.process = process
        log.info(
            "worker: work request %d: %s runs as pid %d",
            work_request_id,
            body["task_name"],
            process.pid,
        )

        outcome: dict[str, Any] = {}
        waiter = threading.Thread(
            target=self._wait, args=(task, process, outcome), daemon=True
        )
        waiter.start()
        self._stream_log(task, process, directory / LOG_NAME)
        waiter.join()
        cpu_time = float(outcome.get("cpu_time", 0.0))
        if task.killed_for is not None:
            return self._after_kill(task, started, cpu_time)

        output_data: dict[str, Any] = {
            "runtime_statistics": self._statistics(started, cpu_time)
        }
        try:
            reported = json.loads(result_file.read_text(encoding="utf-8"))
            result = str(reported["result"])
            if result not in ("success", "failure", "error"):
                raise ValueError(f"unknown result {result!r}")
            added = reported.get("output_data") or {}
            if not isinstance(added, dict):
                raise ValueError("output_data is not an object")
            output_data.update(
                {k: v for k, v in added.items() if k != "runtime_statistics"}
            )
            if reported.get("errors"):
                output_data["errors"] = list(reported["errors"])
        except (OSError, ValueError, KeyError, TypeError):
            result = "error"
            output_data["errors"] = [
                {
                    "code": "task-crashed",
                    "message": "the task's process "
                    f"{_describe_status(outcome.get('exit_code'))} "
                    "without reporting a result",
                }
            ]
        log.info("worker: work request %d: %s", work_request_id, result)
        task.final = (result, output_data)
        return None

    def _after_kill(self, task: _Task, started: float, cpu_time: float) -> None:
        if task.killed_for == "abort":
            # The server aborted it: it wants nothing more about it.
            log.info("worker: work request %d aborted", task.work_request_id)
            return
        task.final = (
            "error",
            {
                "runtime_statistics": self._statistics(started, cpu_time),
                "errors": [
                    {
                        "code": "worker-shutdown",
                        "message": "the worker was stopped while the task ran",
                    }
                ],
            },
        )

    @staticmethod
    def _wait(
        task: _Task, process: subprocess.Popen[bytes], outcome: dict[str, Any]
    ) -> None:
        """Reap the child, note its CPU time, kill what it left behind."""
        try:
            _, status, usage = os.wait4(process.pid, 0)
        except ChildProcessError:
            status, usage = 0, None
        exit_code = os.waitstatus_to_exitcode(status)
        process.returncode = exit_code
        outcome["exit_code"] = exit_code
        if usage is not None:
            outcome["cpu_time"] = usage.ru_utime + usage.ru_stime
        task.exited.set()
        # Stray processes of the task would keep its log pipe open.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def _stream_log(
        self, task: _Task, process: subprocess.Popen[bytes], log_file: Path
    ) -> None:
        assert process.stdout is not None
        decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        sequence = 0
        descriptor = process.stdout.fileno()
        with log_file.open("w", encoding="utf-8") as copy:
            while True:
                data = os.read(descriptor, READ_SIZE)
                text = decoder.decode(data, final=not data)
                if text:
                    copy.write(text)
                    if task.killed_for != "abort":
                        self.connection.send_partial(
                            task.work_request_id,
                            sequence,
                            log=text,
                            log_name=LOG_NAME,
                        )
                        sequence += 1
                if not data:
                    break
        process.stdout.close()

    def _kill(self, task: _Task, reason: str) -> None:
        """SIGTERM to the task's process group, SIGKILL after the grace period."""
        with self._lock:
            if task.killed_for is None:
                task.killed_for = reason
            process = task.process
        if process is None:
            return  # _run_child sees killed_for before it starts the child

        def kill() -> None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGTERM)
            if not task.exited.wait(self.kill_grace):
                log.warning(
                    "worker: work request %d ignored SIGTERM: SIGKILL",
                    task.work_request_id,
                )
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(process.pid, signal.SIGKILL)

        threading.Thread(target=kill, daemon=True).start()


def _describe_status(exit_code: int | None) -> str:
    if exit_code is None:
        return "ended"
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = str(-exit_code)
        return f"was killed by {name}"
    return f"exited with status {exit_code}"
