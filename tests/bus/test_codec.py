"""The codec: round trips and never anything but ProtocolError on bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from debusine.bus.codec import ProtocolError, decode, encode
from debusine.bus.messages import HEADER, Command, Message
from debusine.errors import DomainError

ids = st.integers(min_value=1, max_value=2**63 - 1)
text = st.text(min_size=1, max_size=50)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=10,
)
objects = st.dictionaries(st.text(max_size=8), json_values, max_size=4)


def optional(**fields: Any) -> Any:
    return st.fixed_dictionaries({}, optional=fields)


BODIES: dict[Command, Any] = {
    Command.READY: st.fixed_dictionaries(
        {
            "protocol": st.just(1),
            "token": text,
            "metadata": objects,
            "running": st.lists(ids, max_size=3),
        }
    ),
    Command.REQUEST: st.fixed_dictionaries(
        {
            "work_request_id": ids,
            "task_type": text.filter(lambda t: len(t) <= 32),
            "task_name": text,
            "task_data": objects,
        },
        optional={"api_url": text, "extra": objects},
    ),
    Command.PARTIAL: st.fixed_dictionaries(
        {"work_request_id": ids, "sequence": st.integers(0, 2**63 - 1)},
        optional={
            "progress": st.floats(0, 1),
            "log": st.text(max_size=100),
            "log_name": text,
        },
    ),
    Command.FINAL: st.fixed_dictionaries(
        {
            "work_request_id": ids,
            "result": st.sampled_from(["success", "failure", "error"]),
            "output_data": objects,
        }
    ),
    Command.HEARTBEAT: st.just({}),
    Command.DISCONNECT: optional(reason=st.text(max_size=100)),
    Command.ABORT: st.fixed_dictionaries(
        {"work_request_id": ids}, optional={"reason": st.text(max_size=100)}
    ),
    Command.FINAL_ACK: st.fixed_dictionaries({"work_request_id": ids}),
}


def test_every_command_has_a_strategy() -> None:
    assert set(BODIES) == set(Command)


@pytest.mark.parametrize("command", list(Command), ids=lambda c: c.name)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_round_trip(command: Command, data: st.DataObject) -> None:
    body = data.draw(BODIES[command])
    frames = encode(command, body)
    assert frames[0] == HEADER
    assert frames[1] == bytes([command])
    assert decode(frames) == Message(command, body)


def check_decode(frames: list[bytes]) -> None:
    try:
        message = decode(frames, max_message_size=4096)
    except ProtocolError:
        return
    assert isinstance(message, Message)
    assert encode(message.command, message.body)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64), max_size=5))
def test_garbage_frames(frames: list[bytes]) -> None:
    check_decode(frames)


@settings(max_examples=300, deadline=None)
@given(
    command=st.binary(max_size=2),
    body=st.one_of(
        st.binary(max_size=64),
        json_values.map(lambda v: json.dumps(v).encode()),
        objects.map(lambda v: json.dumps(v).encode()),
    ),
)
def test_garbage_with_our_header(command: bytes, body: bytes) -> None:
    check_decode([HEADER, command, body])


@settings(max_examples=200, deadline=None)
@given(
    command=st.sampled_from(list(Command)),
    data=st.data(),
)
def test_truncated_and_mangled(command: Command, data: st.DataObject) -> None:
    frames = encode(command, data.draw(BODIES[command]))
    cut = data.draw(st.integers(0, len(frames[2])))
    check_decode([frames[0], frames[1], frames[2][:cut]])
    check_decode(frames[: data.draw(st.integers(0, 2))])
    check_decode([*frames, data.draw(st.binary(max_size=8))])
    position = data.draw(st.integers(0, max(0, len(frames[2]) - 1)))
    flipped = bytearray(frames[2])
    if flipped:
        flipped[position] ^= data.draw(st.integers(1, 255))
    check_decode([frames[0], frames[1], bytes(flipped)])


@pytest.mark.parametrize(
    ("frames", "message"),
    [
        ([], "not a DBW01 message"),
        ([b"DBW02", b"\x05", b"{}"], "not a DBW01 message"),
        ([HEADER, b"\x05"], "3 frames"),
        ([HEADER, b"\x09", b"{}"], "unknown command 0x09"),
        ([HEADER, b"\x05\x05", b"{}"], "not one byte"),
        ([HEADER, b"\x05", b"[]"], "not a JSON object"),
        ([HEADER, b"\x05", b"{"], "not JSON"),
        ([HEADER, b"\x05", b'{"a": NaN}'], "not JSON"),
        ([HEADER, b"\x05", b"\xff"], "not JSON"),
        ([HEADER, b"\x05", b'{"x": 1}'], "invalid HEARTBEAT body"),
        ([HEADER, b"\x04", b'{"work_request_id": 1}'], "invalid FINAL body"),
        ([HEADER, b"\x05", b"[" * 3000], "not JSON"),
        ([HEADER, b"\x05", b" " * 5000], "over the limit"),
    ],
)
def test_decode_errors(frames: list[bytes], message: str) -> None:
    with pytest.raises(ProtocolError, match=message) as info:
        decode(frames, max_message_size=4096)
    assert isinstance(info.value, DomainError)
    assert info.value.header_ok == (bool(frames) and frames[0] == HEADER)


def test_unexpected_command() -> None:
    frames = encode(Command.FINAL_ACK, {"work_request_id": 1})
    with pytest.raises(ProtocolError, match="unexpected command FINAL_ACK"):
        decode(frames, allowed=frozenset({Command.READY}))


def test_encode_refuses_invalid_and_oversized_bodies() -> None:
    with pytest.raises(ProtocolError, match="invalid FINAL body"):
        encode(Command.FINAL, {"work_request_id": 1, "result": "maybe"})
    with pytest.raises(ProtocolError, match="over the limit"):
        encode(
            Command.PARTIAL,
            {"work_request_id": 1, "sequence": 0, "log": "x" * 100},
            max_message_size=50,
        )
