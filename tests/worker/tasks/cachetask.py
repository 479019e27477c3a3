"""A worker task for the tests only: logs the environment cache it would use.

Registered with the worker's tasks only; the daemon's `task_modules` makes
the child import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from worker.tasks import WorkerTask


class CacheTask(WorkerTask):
    NAME = "testcache"

    @classmethod
    def validate(cls, task_data: Mapping[str, Any]) -> dict[str, Any]:
        return dict(task_data)

    @classmethod
    def version(cls) -> int:
        return 1

    @classmethod
    def executor_backend(cls) -> str | None:
        return None

    def run(self) -> bool:
        cache = self.unshare_executor().cache
        self.log(f"cache {cache.directory} {cache.max_entries} {cache.max_bytes}")
        return True
