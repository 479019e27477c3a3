"""The child process that runs one worker task: `python -m worker.run_task SPEC`.

SPEC is a JSON file written by the daemon (readable by the worker's user
only: it holds the worker's token) with `work_request_id`, `task_name`,
`task_data`, `work_directory`, `api_url`, `token`, `result_file`, and
optionally `dynamic_task_data` (what the server resolved: input artifact
ids...), `scope` and `workspace` (where the work request lives),
`task_modules` (further modules registering worker tasks) and `sys_path`
(where to find them). The task's log is what it writes to stdout and
stderr; the result goes to `result_file` as JSON: `result` (`success`,
`failure` or `error`) and, on an error, `errors: [{code, message}]`: a
`TaskError`'s code (`input-download-failed`...), else `task-exception`.
The exit status is 0, 1 or 2 for those results, for the logs.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any

EXIT_STATUS = {"success": 0, "failure": 1, "error": 2}


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
    return {"result": "success" if succeeded else "failure"}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m worker.run_task SPEC", file=sys.stderr)
        return 2
    spec = json.loads(Path(args[0]).read_text(encoding="utf-8"))
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
