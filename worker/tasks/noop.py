"""`noop` on the worker: optionally sleeps, logs, succeeds unless `result` is false.

With `sleep` (seconds) it first waits that long, logging a line about once
a second, so its live log shows that it is running; it does nothing else
(no files, no network), which keeps it safe to run on the host.
"""

from __future__ import annotations

import time

from worker.tasks.base import WorkerTask

# How often a sleeping noop says it is still there.
PROGRESS_INTERVAL = 1.0


class Noop(WorkerTask):
    NAME = "noop"

    def run(self) -> bool:
        result = bool(self.data["result"])
        self._sleep(float(self.data["sleep"]))
        self.log(
            f"noop: work request {self.context.work_request_id}, "
            f"result {'success' if result else 'failure'}"
        )
        return result

    def _sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        self.log(f"noop: sleeping {seconds:g} s")
        started = time.monotonic()
        deadline = started + seconds
        while (remaining := deadline - time.monotonic()) > 0:
            time.sleep(min(PROGRESS_INTERVAL, remaining))
            self.log(f"noop: slept {time.monotonic() - started:.1f} of {seconds:g} s")
