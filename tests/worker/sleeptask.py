"""A worker task for the tests only: sleeps, can spawn a grandchild,
ignore SIGTERM or crash. Registered with the worker's tasks only (not the
shared registry); the daemon's `task_modules` makes the child import it.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Mapping
from typing import Any

from marshmallow import RAISE, Schema, fields

from worker.tasks import WorkerTask


class SleepData(Schema):
    class Meta:
        unknown = RAISE

    seconds = fields.Float(load_default=0.0)
    result = fields.Boolean(load_default=True)
    spawn = fields.Boolean(load_default=False)
    ignore_sigterm = fields.Boolean(load_default=False)
    crash = fields.Boolean(load_default=False)
    lines = fields.Integer(load_default=0)


class SleepTask(WorkerTask):
    NAME = "testsleep"

    @classmethod
    def validate(cls, task_data: Mapping[str, Any]) -> dict[str, Any]:
        loaded: dict[str, Any] = SleepData().load(dict(task_data))
        return loaded

    @classmethod
    def version(cls) -> int:
        return 1

    @classmethod
    def executor_backend(cls) -> str | None:
        return None

    def run(self) -> bool:
        if self.data["ignore_sigterm"]:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if self.data["spawn"]:
            grandchild = subprocess.Popen(["sleep", "300"])
            self.log(f"grandchild {grandchild.pid}")
        for number in range(self.data["lines"]):
            self.log(f"line {number}")
        if self.data["crash"]:
            raise RuntimeError("the test task crashed on purpose")
        self.log("sleeping")
        time.sleep(self.data["seconds"])
        self.log("awake")
        return bool(self.data["result"])
