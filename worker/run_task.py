"""The child process that runs one worker task: `python -m worker.run_task SPEC`.

SPEC is a JSON file written by the daemon (readable by the worker's user
only: it holds the worker's token) with `work_request_id`, `task_name`,
`task_data`, `work_directory`, `api_url`, `token`, `result_file`, and
optionally `dynamic_task_data` (what the server resolved: input artifact
ids...), `scope` and `workspace` (where the work request lives),
`task_modules` (further modules registering worker tasks), `sys_path`
(where to find them), `cache` (the worker's environment cache:
`directory`, `max_environments`, `max_size`) and `parent_pid` (the
daemon's pid). The task's log is what it writes to stdout and
stderr; the result goes to `result_file` as JSON: `result` (`success`,
`failure` or `error`) and, on an error, `errors: [{code, message}]`: a
`TaskError`'s code (`input-download-failed`...), else `task-exception`;
`output_data` is what the task adds to the work request's output data
(a failure's `errors`...).
The exit status is 0, 1 or 2 for those results, for the logs.

The task dies with the daemon: were the daemon killed (even by SIGKILL),
the server would retry the work request elsewhere while this one still
ran. The kernel sends the child SIGHUP when the daemon's thread that
started it ends (PR_SET_PDEATHSIG); the child then stops its whole process
group: SIGTERM (so sbuild and the like clean up), then SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import json
import os
import signal
import sys
import time
import traceback
from pathlib import Path
from types import FrameType
from typing import Any

EXIT_STATUS = {"success": 0, "failure": 1, "error": 2}
# linux/prctl.h
PR_SET_PDEATHSIG = 1
# How long the task's processes have to stop before SIGKILL.
ORPHAN_GRACE = 2.0


def _stop_process_group(signum: int, frame: FrameType | None) -> None:
    """The daemon is gone: stop every process of the task, then this one."""
    # The log went to the daemon: the pipe is likely broken now.
    with contextlib.suppress(OSError):
        print("worker: the worker daemon died: stopping the task", flush=True)
    # Only a group of our own (the daemon starts us in a new session):
    # never the group of whoever started us by hand.
    if os.getpgid(0) != os.getpid():
        os.kill(os.getpid(), signal.SIGKILL)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(0, signal.SIGTERM)
        time.sleep(ORPHAN_GRACE)
    finally:
        os.killpg(0, signal.SIGKILL)


def die_with_parent(parent_pid: int | None) -> None:
    """Stop the task when its parent (the daemon) dies (Linux only)."""
    if not sys.platform.startswith("linux"):
        return
    signal.signal(signal.SIGHUP, _stop_process_group)
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGHUP, 0, 0, 0) != 0:
        error = ctypes.get_errno()
        print(f"worker: prctl(PR_SET_PDEATHSIG): {os.strerror(error)}", flush=True)
        return
    # The parent may have died before prctl: then we are someone else's.
    if parent_pid is not None and os.getppid() != parent_pid:
        _stop_process_group(signal.SIGHUP, None)


def run(spec: dict[str, Any]) -> dict[str, Any]:
    for entry in reversed(spec.get("sys_path") or []):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    for module in spec.get("task_modules") or []:
        importlib.import_module(module)

    from worker.tasks import TaskContext, TaskError, get_worker_task

    context = TaskContext(
        work_request_id=int(spec["work_request_id"]),
        work_directory=Path(spec["work_directory"]),
        api_url=spec.get("api_url"),
        token=spec.get("token"),
        dynamic_data=dict(spec.get("dynamic_task_data") or {}),
        scope=spec.get("scope"),
        workspace=spec.get("workspace"),
        **_cache_settings(spec.get("cache") or {}),
    )
    task = get_worker_task(spec["task_name"])(spec["task_data"], context)
    try:
        succeeded = task.run()
    except TaskError as error:
        print(f"error: {error.code}: {error}", flush=True)
        return {
            "result": "error",
            "errors": [{"code": error.code, "message": str(error)[:1000]}],
        }
    outcome: dict[str, Any] = {"result": "success" if succeeded else "failure"}
    if task.output_data:
        outcome["output_data"] = dict(task.output_data)
    return outcome


def _cache_settings(cache: dict[str, Any]) -> dict[str, Any]:
    if not cache.get("directory"):
        return {}
    return {
        "cache_directory": Path(cache["directory"]),
        "cache_max_environments": cache.get("max_environments"),
        "cache_max_size": cache.get("max_size"),
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m worker.run_task SPEC", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
    parent_pid = spec.get("parent_pid")
    die_with_parent(int(parent_pid) if parent_pid is not None else None)
    try:
        outcome = run(spec)
    except Exception as error:
        traceback.print_exc(file=sys.stdout)
        outcome = {
            "result": "error",
            "errors": [
                {
                    "code": "task-exception",
                    "message": f"{type(error).__name__}: {error}"[:1000],
                }
            ],
        }
    sys.stdout.flush()
    result_file = Path(spec["result_file"])
    temporary = result_file.with_name(result_file.name + ".tmp")
    temporary.write_text(json.dumps(outcome), encoding="utf-8")
    os.replace(temporary, result_file)
    return EXIT_STATUS.get(outcome["result"], 2)


if __name__ == "__main__":
    sys.exit(main())
