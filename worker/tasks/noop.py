"""`noop` on the worker: logs a line and succeeds unless `result` is false."""

from __future__ import annotations

from worker.tasks.base import WorkerTask


class Noop(WorkerTask):
    NAME = "noop"

    def run(self) -> bool:
        result = bool(self.data["result"])
        self.log(
            f"noop: work request {self.context.work_request_id}, "
            f"result {'success' if result else 'failure'}"
        )
        return result
