"""The one exception the CLI turns into a one-line error and exit status 3."""

from __future__ import annotations


class ClientError(Exception):
    """A handled error: its message is shown as `debusine: error: MESSAGE`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message
