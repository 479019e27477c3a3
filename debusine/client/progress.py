"""Progress bars on stderr, shown only when stderr is a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from rich.progress import Progress as RichProgress


class Progress(Protocol):
    def add(self, description: str, total: int | None) -> int: ...
    def advance(self, task: int, amount: int) -> None: ...
    def reset(self, task: int, completed: int) -> None: ...


class _Silent:
    def add(self, description: str, total: int | None) -> int:
        return 0

    def advance(self, task: int, amount: int) -> None:
        pass

    def reset(self, task: int, completed: int) -> None:
        pass


class _Rich:
    def __init__(self, progress: RichProgress) -> None:
        self.progress = progress

    def add(self, description: str, total: int | None) -> int:
        return int(self.progress.add_task(description, total=total))

    def advance(self, task: int, amount: int) -> None:
        from rich.progress import TaskID

        self.progress.advance(TaskID(task), amount)

    def reset(self, task: int, completed: int) -> None:
        from rich.progress import TaskID

        self.progress.update(TaskID(task), completed=completed)


@contextmanager
def progress_bars(enabled: bool | None = None) -> Iterator[Progress]:
    """Rich progress bars on stderr if it is a terminal, else nothing."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        yield _Silent()
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )
    from rich.progress import Progress as RichProgress

    with RichProgress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=False,
    ) as progress:
        yield _Rich(progress)
