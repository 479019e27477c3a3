"""The commands of the bus protocol DBW01 and the schemas of their bodies.

See `PROTOCOL.md` next to this file for the protocol itself.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, validate

HEADER = b"DBW01"
PROTOCOL_VERSION = 1
# Liveness both sides agree on unless configured otherwise: a peer silent
# for LIVENESS heartbeat intervals is gone.
DEFAULT_HEARTBEAT_INTERVAL = 5.0
DEFAULT_LIVENESS = 3


class Command(enum.IntEnum):
    READY = 0x01
    REQUEST = 0x02
    PARTIAL = 0x03
    FINAL = 0x04
    HEARTBEAT = 0x05
    DISCONNECT = 0x06
    ABORT = 0x07
    FINAL_ACK = 0x08


class Result(enum.StrEnum):
    SUCCESS = "success"
    FAILURE = "failure"
    ERROR = "error"


def _id() -> fields.Integer:
    return fields.Integer(
        required=True, strict=True, validate=validate.Range(min=1, max=2**63 - 1)
    )


def _text(*, required: bool = True, max_length: int = 255) -> fields.String:
    return fields.String(
        required=required, validate=validate.Length(min=1, max=max_length)
    )


class ReadySchema(Schema):
    protocol = fields.Integer(
        required=True, strict=True, validate=validate.Equal(PROTOCOL_VERSION)
    )
    token = _text(max_length=512)
    metadata = fields.Dict(keys=fields.String(), required=True)
    running = fields.List(_id(), required=True, validate=validate.Length(max=64))


class RequestSchema(Schema):
    work_request_id = _id()
    task_type = _text(max_length=32)
    task_name = _text()
    task_data = fields.Dict(keys=fields.String(), required=True)
    api_url = _text(required=False, max_length=2048)
    extra = fields.Dict(keys=fields.String())


class PartialSchema(Schema):
    work_request_id = _id()
    sequence = fields.Integer(
        required=True, strict=True, validate=validate.Range(min=0, max=2**63 - 1)
    )
    progress = fields.Float(allow_nan=False, validate=validate.Range(min=0, max=1))
    log = fields.String()
    log_name = _text(required=False)


class FinalSchema(Schema):
    work_request_id = _id()
    result = fields.String(
        required=True, validate=validate.OneOf([r.value for r in Result])
    )
    output_data = fields.Dict(keys=fields.String(), required=True)


class EmptySchema(Schema):
    pass


class DisconnectSchema(Schema):
    reason = fields.String(validate=validate.Length(max=1024))


class AbortSchema(Schema):
    work_request_id = _id()
    reason = fields.String(validate=validate.Length(max=1024))


class FinalAckSchema(Schema):
    work_request_id = _id()


SCHEMAS: dict[Command, Schema] = {
    Command.READY: ReadySchema(),
    Command.REQUEST: RequestSchema(),
    Command.PARTIAL: PartialSchema(),
    Command.FINAL: FinalSchema(),
    Command.HEARTBEAT: EmptySchema(),
    Command.DISCONNECT: DisconnectSchema(),
    Command.ABORT: AbortSchema(),
    Command.FINAL_ACK: FinalAckSchema(),
}

# What each side may send: anything else is a protocol violation.
WORKER_COMMANDS = frozenset(
    {
        Command.READY,
        Command.PARTIAL,
        Command.FINAL,
        Command.HEARTBEAT,
        Command.DISCONNECT,
    }
)
BROKER_COMMANDS = frozenset(
    {
        Command.REQUEST,
        Command.HEARTBEAT,
        Command.DISCONNECT,
        Command.ABORT,
        Command.FINAL_ACK,
    }
)


@dataclass(frozen=True)
class Message:
    """A decoded, validated message: its command and its body."""

    command: Command
    body: dict[str, Any]

    @property
    def work_request_id(self) -> int | None:
        value = self.body.get("work_request_id")
        return value if isinstance(value, int) else None
