"""Encoding and decoding bus messages: pure functions, no sockets.

A message is three frames: the header `DBW01`, one command byte and one
JSON object body validated by the command's marshmallow schema.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from marshmallow import ValidationError

from debusine.bus.messages import HEADER, SCHEMAS, Command, Message
from debusine.errors import DomainError

# The largest body accepted by default (bytes).
DEFAULT_MAX_MESSAGE_SIZE = 1024 * 1024
FRAME_COUNT = 3


class ProtocolError(DomainError):
    """A message that does not follow the protocol.

    `header_ok` tells whether the message at least had our header: the broker
    answers such a peer with DISCONNECT and silently drops anything else.
    """

    def __init__(self, message: str, *, header_ok: bool = False) -> None:
        super().__init__(message)
        self.header_ok = header_ok


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed")


def _validate(command: Command, body: Mapping[str, Any]) -> dict[str, Any]:
    try:
        loaded: dict[str, Any] = SCHEMAS[command].load(body)
    except ValidationError as error:
        raise ProtocolError(
            f"invalid {command.name} body: {error.messages}", header_ok=True
        ) from None
    return loaded


def encode(
    command: Command,
    body: Mapping[str, Any] | None = None,
    *,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
) -> list[bytes]:
    """The frames of `command` with `body`; ProtocolError if the body is invalid."""
    command = Command(command)
    loaded = _validate(command, dict(body or {}))
    try:
        data = json.dumps(loaded, allow_nan=False, separators=(",", ":")).encode()
    except (TypeError, ValueError) as error:
        raise ProtocolError(f"cannot encode {command.name}: {error}") from None
    if len(data) > max_message_size:
        raise ProtocolError(
            f"{command.name} body of {len(data)} bytes is over the limit of "
            f"{max_message_size}"
        )
    return [HEADER, bytes([command]), data]


def decode(
    frames: Sequence[bytes],
    *,
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
    allowed: frozenset[Command] | None = None,
) -> Message:
    """The message in `frames`; ProtocolError if anything is malformed.

    With `allowed`, a valid command outside it is a ProtocolError too.
    """
    if not frames or bytes(frames[0]) != HEADER:
        raise ProtocolError("not a DBW01 message")
    if len(frames) != FRAME_COUNT:
        raise ProtocolError(
            f"a message has {FRAME_COUNT} frames, not {len(frames)}", header_ok=True
        )
    command_frame, body_frame = bytes(frames[1]), frames[2]
    if len(command_frame) != 1:
        raise ProtocolError("the command frame is not one byte", header_ok=True)
    try:
        command = Command(command_frame[0])
    except ValueError:
        raise ProtocolError(
            f"unknown command 0x{command_frame[0]:02x}", header_ok=True
        ) from None
    if allowed is not None and command not in allowed:
        raise ProtocolError(f"unexpected command {command.name}", header_ok=True)
    if len(body_frame) > max_message_size:
        raise ProtocolError(
            f"body of {len(body_frame)} bytes is over the limit of {max_message_size}",
            header_ok=True,
        )
    try:
        body = json.loads(bytes(body_frame), parse_constant=_reject_constant)
    except (ValueError, RecursionError) as error:
        raise ProtocolError(f"body is not JSON: {error}", header_ok=True) from None
    if not isinstance(body, dict):
        raise ProtocolError("body is not a JSON object", header_ok=True)
    return Message(command, _validate(command, body))
