"""The broker and worker connections over real sockets on loopback."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import Any

import pytest
import zmq

from debusine.bus.broker import Broker, WorkerIdentity
from debusine.bus.codec import decode, encode
from debusine.bus.messages import HEADER, Command
from tests.bus.conftest import (
    INTERVAL,
    LIVENESS,
    TOKEN,
    RecordingHandlers,
    Worker,
    noop_assignment,
    wait_for,
)

pytestmark = pytest.mark.timeout(60)

MakeBroker = Callable[..., Broker]
MakeWorker = Callable[..., Worker]


def raw_dealer(
    endpoint: str, server_public_key: bytes | None, context: zmq.Context[Any]
) -> zmq.Socket[Any]:
    socket = context.socket(zmq.DEALER)
    socket.linger = 0
    if server_public_key is not None:
        public, secret = zmq.curve_keypair()
        socket.curve_publickey = public
        socket.curve_secretkey = secret
        socket.curve_serverkey = server_public_key
    socket.connect(endpoint)
    return socket


def ready(token: str = TOKEN, running: list[int] | None = None) -> list[bytes]:
    return encode(
        Command.READY,
        {"protocol": 1, "token": token, "metadata": {}, "running": running or []},
    )


def receive(socket: zmq.Socket[Any], timeout: float = 2.0) -> Any:
    if not socket.poll(timeout * 1000):
        return None
    return decode(socket.recv_multipart())


def test_worker_takes_a_noop_and_completes_it(
    make_broker: MakeBroker, make_worker: MakeWorker, handlers: RecordingHandlers
) -> None:
    handlers.assignments.append(noop_assignment(7))
    broker = make_broker()
    worker = make_worker(broker.endpoint)
    wait_for(lambda: worker.requests)
    assert worker.requests == [noop_assignment(7)]
    assert worker.connection.running == {7}
    ((identity, metadata),) = handlers.named("worker_ready")
    assert identity.name == "worker1"
    assert metadata == {"system:architectures": ["amd64"]}

    worker.connection.send_partial(7, 0, progress=0.5, log="building\n")
    worker.connection.send_final(7, "success", {"runtime": 1})
    wait_for(lambda: not worker.connection.unacknowledged and handlers.completed)
    assert handlers.completed == {7: "success"}
    ((_, wr_id, body),) = handlers.named("progress")
    assert wr_id == 7
    assert body == {
        "work_request_id": 7,
        "sequence": 0,
        "progress": 0.5,
        "log": "building\n",
    }
    assert handlers.named("finished")[0][1:] == (7, "success", {"runtime": 1})
    assert worker.connection.running == set()
    # After FINAL the broker offered the idle worker its next assignment.
    wait_for(lambda: len(handlers.named("next_assignment")) >= 2)

    # New work: the broker wakes the idle worker when told.
    handlers.assignments.append(noop_assignment(8))
    broker.notify_work_available()
    wait_for(lambda: len(worker.requests) == 2)
    assert handlers.named("worker_lost") == []


def test_bad_token_gets_disconnect_and_nothing_else(
    make_broker: MakeBroker, handlers: RecordingHandlers, server_keys: Any
) -> None:
    handlers.assignments.append(noop_assignment(1))
    broker = make_broker()
    context = zmq.Context()
    try:
        socket = raw_dealer(broker.endpoint, server_keys[0], context)
        socket.send_multipart(ready("wrong"))
        message = receive(socket)
        assert message.command == Command.DISCONNECT
        assert message.body == {"reason": "invalid token"}
        # Nothing else: no heartbeat, no request, over several intervals.
        assert receive(socket, INTERVAL * LIVENESS * 3) is None
        # A heartbeat from this unknown peer is answered with DISCONNECT.
        socket.send_multipart(encode(Command.HEARTBEAT))
        assert receive(socket).body == {"reason": "unknown peer"}
        socket.close()
    finally:
        context.term()
    assert handlers.named("worker_ready") == []
    assert handlers.named("next_assignment") == []
    assert broker.connected_workers == []


def test_second_ready_and_unexpected_commands_get_disconnect(
    make_broker: MakeBroker, handlers: RecordingHandlers, server_keys: Any
) -> None:
    broker = make_broker(heartbeat_interval=1.0)
    context = zmq.Context()
    try:
        socket = raw_dealer(broker.endpoint, server_keys[0], context)
        socket.send_multipart(ready())
        assert receive(socket).command == Command.HEARTBEAT
        socket.send_multipart(ready())
        assert receive(socket).body == {"reason": "READY sent twice"}
        wait_for(lambda: handlers.named("worker_lost"))

        socket.send_multipart(ready())
        assert receive(socket).command == Command.HEARTBEAT
        socket.send_multipart(encode(Command.FINAL_ACK, {"work_request_id": 1}))
        message = receive(socket)
        assert message.command == Command.DISCONNECT
        assert "unexpected command FINAL_ACK" in message.body["reason"]
        wait_for(lambda: len(handlers.named("worker_lost")) == 2)
        socket.close()
    finally:
        context.term()


def test_silent_peer_is_lost_within_liveness(
    make_broker: MakeBroker, handlers: RecordingHandlers, server_keys: Any
) -> None:
    broker = make_broker()
    context = zmq.Context()
    try:
        socket = raw_dealer(broker.endpoint, server_keys[0], context)
        socket.send_multipart(ready(running=[3]))
        wait_for(lambda: handlers.named("worker_ready"))
        started = time.monotonic()
        wait_for(lambda: handlers.named("worker_lost"))
        elapsed = time.monotonic() - started
        socket.close()
    finally:
        context.term()
    # Lost after liveness x interval (with some slack for the poll loop).
    assert INTERVAL * (LIVENESS - 1) <= elapsed <= INTERVAL * LIVENESS + 0.5
    time.sleep(INTERVAL * LIVENESS * 2)
    assert len(handlers.named("worker_lost")) == 1
    assert broker.connected_workers == []


def test_heartbeats_flow_while_the_task_runs(
    make_broker: MakeBroker, make_worker: MakeWorker, handlers: RecordingHandlers
) -> None:
    handlers.assignments.append(noop_assignment(5))
    broker = make_broker()
    worker = make_worker(broker.endpoint)
    worker.busy_for = INTERVAL * LIVENESS * 4
    wait_for(lambda: worker.requests)
    time.sleep(worker.busy_for)
    # Busy for 4 x liveness intervals: never lost, never reconnected.
    assert handlers.named("worker_lost") == []
    assert worker.connection.sessions == 1
    assert [w.name for w in broker.connected_workers] == ["worker1"]


def test_broker_restart_final_resent_exactly_once(
    make_broker: MakeBroker, make_worker: MakeWorker, handlers: RecordingHandlers
) -> None:
    handlers.assignments.append(noop_assignment(9))
    broker = make_broker(heartbeat_interval=0.2)
    endpoint = broker.endpoint
    worker = make_worker(endpoint, heartbeat_interval=0.2)
    wait_for(lambda: worker.requests)
    broker.stop()
    wait_for(lambda: not worker.connection.registered.is_set())
    # The result is reported while there is no broker.
    worker.connection.send_final(9, "success", {})
    time.sleep(0.2)
    make_broker(endpoint, heartbeat_interval=0.2)
    wait_for(lambda: handlers.completed and not worker.connection.unacknowledged)
    time.sleep(0.5)
    assert [args[1] for args in handlers.named("finished")] == [9]
    assert handlers.completed == {9: "success"}
    # The worker re-registered (a slow machine may make it do so more than
    # once; what matters is that the result arrived exactly once).
    assert len(handlers.named("worker_ready")) >= 2


def test_restarted_broker_learns_running_work_from_ready(
    make_broker: MakeBroker, make_worker: MakeWorker, handlers: RecordingHandlers
) -> None:
    handlers.assignments.append(noop_assignment(4))
    broker = make_broker()
    endpoint = broker.endpoint
    worker = make_worker(endpoint)
    wait_for(lambda: worker.requests)
    broker.stop()
    handlers.assignments.append(noop_assignment(5))
    make_broker(endpoint)
    wait_for(lambda: len(handlers.named("worker_ready")) == 2)
    time.sleep(INTERVAL * 4)
    # Still running 4: no second task, and 4 was not given twice.
    assert [r["work_request_id"] for r in worker.requests] == [4]
    assert worker.connection.running == {4}


def test_duplicate_request_is_ignored(
    make_broker: MakeBroker, make_worker: MakeWorker, handlers: RecordingHandlers
) -> None:
    handlers.assignments.append(noop_assignment(2))
    broker = make_broker()
    worker = make_worker(broker.endpoint)
    wait_for(lambda: worker.requests)
    # The broker would never resend to a busy worker; force it.
    broker._peers[next(iter(broker._peers))].running.clear()
    handlers.assignments.append(noop_assignment(2))
    broker.notify_work_available()
    wait_for(lambda: not handlers.assignments)
    time.sleep(INTERVAL * 2)
    assert len(worker.requests) == 1


def test_abort_reaches_the_worker(
    make_broker: MakeBroker, make_worker: MakeWorker, handlers: RecordingHandlers
) -> None:
    handlers.assignments.append(noop_assignment(11))
    broker = make_broker()
    worker = make_worker(broker.endpoint)
    wait_for(lambda: worker.requests)
    broker.abort(11, 1)
    wait_for(lambda: worker.aborts)
    assert worker.aborts == [11]
    assert worker.connection.running == set()


def drain(socket: zmq.Socket[Any], until: bytes | None = None) -> None:
    """Read what the broker answered; with `until`, wait for a reply with it."""
    # Generous: on a loaded CI machine the broker may still be reading the
    # garbage sent before the marker.
    deadline = time.monotonic() + 40
    while time.monotonic() < deadline:
        if not socket.poll(0 if until is None else 100):
            if until is None:
                return
            continue
        frames = socket.recv_multipart()
        if until is not None and until in frames[-1]:
            return
    raise AssertionError(f"no answer with {until!r}")


def test_garbage_does_not_stop_the_broker(
    make_broker: MakeBroker,
    make_worker: MakeWorker,
    handlers: RecordingHandlers,
    server_keys: Any,
) -> None:
    # The garbage comes as another worker, so it cannot take worker1's place.
    handlers.workers["garbage-token"] = WorkerIdentity(2, "noisy", "external")
    broker = make_broker(heartbeat_interval=0.2)
    rng = random.Random(1234)
    valid = [
        ready("garbage-token"),
        ready("wrong"),
        encode(Command.HEARTBEAT),
        encode(
            Command.FINAL,
            {"work_request_id": 1, "result": "success", "output_data": {}},
        ),
        encode(Command.PARTIAL, {"work_request_id": 1, "sequence": 0}),
    ]
    context = zmq.Context()
    try:
        sockets = [
            raw_dealer(broker.endpoint, server_keys[0], context),
            raw_dealer(broker.endpoint, server_keys[0], context),
        ]
        for number in range(10_000):
            kind = rng.randrange(4)
            if kind == 0:
                frames = [
                    rng.randbytes(rng.randrange(40)) for _ in range(rng.randrange(1, 5))
                ]
            elif kind == 1:
                base = rng.choice(valid)
                frames = [*base[:-1], base[-1][: rng.randrange(len(base[-1]) + 1)]]
                frames = frames[: rng.randrange(1, 4)]
            elif kind == 2:
                base = rng.choice(valid)
                body = bytearray(base[-1])
                body[rng.randrange(len(body))] = rng.randrange(256)
                frames = [base[0], bytes([rng.randrange(12)]), bytes(body)]
            else:
                frames = rng.choice(valid)
            sockets[number % 2].send_multipart(frames)
            if number % 200 == 0:
                for socket in sockets:
                    drain(socket)
        # Everything was read: a marker after the garbage is answered.
        for socket in sockets:
            socket.send_multipart([HEADER, b"\x05", b'{"marker": 1}'])
            drain(socket, until=b"marker")
    finally:
        # linger=0: replies the broker queued for these sockets must not
        # keep term() waiting (it hung a loaded CI run).
        context.destroy(linger=0)
    assert broker._thread is not None
    assert broker._thread.is_alive()
    # A well-behaved worker is still served.
    handlers.assignments.append(noop_assignment(21))
    worker = make_worker(broker.endpoint, heartbeat_interval=0.2)
    wait_for(lambda: worker.requests, timeout=10)
    worker.connection.send_final(21, "success", {})
    wait_for(lambda: 21 in handlers.completed)


def test_client_without_the_server_key_cannot_talk(
    make_broker: MakeBroker,
    make_worker: MakeWorker,
    handlers: RecordingHandlers,
) -> None:
    broker = make_broker()
    context = zmq.Context()
    try:
        plain = raw_dealer(broker.endpoint, None, context)
        wrong = raw_dealer(broker.endpoint, zmq.curve_keypair()[0], context)
        for socket in (plain, wrong):
            socket.send_multipart(ready())
        worker = make_worker(broker.endpoint, server_public_key=zmq.curve_keypair()[0])
        time.sleep(INTERVAL * LIVENESS * 3)
        for socket in (plain, wrong):
            assert receive(socket, 0.1) is None
            socket.close()
    finally:
        context.term()
    assert handlers.calls == []
    assert not worker.connection.registered.is_set()


def test_repeated_final_reaches_the_handlers_once(
    make_broker: MakeBroker,
    handlers: RecordingHandlers,
    server_keys: tuple[bytes, bytes],
) -> None:
    handlers.assignments.append(noop_assignment(12))
    broker = make_broker()
    context = zmq.Context()
    socket = raw_dealer(broker.endpoint, server_keys[0], context)
    try:
        socket.send_multipart(ready())
        commands = []
        while Command.REQUEST not in commands:
            message = receive(socket)
            assert message is not None
            commands.append(message.command)
        final = {"work_request_id": 12, "result": "success", "output_data": {}}
        acks = 0
        # The second FINAL is what a worker sends when the ACK was lost.
        for _ in range(2):
            socket.send_multipart(encode(Command.FINAL, final))
            while True:
                message = receive(socket)
                assert message is not None
                if message.command == Command.FINAL_ACK:
                    acks += 1
                    break
        assert acks == 2
        assert [args[1] for args in handlers.named("finished")] == [12]
    finally:
        socket.close()
        context.term()


def test_final_before_disconnect_is_stored_before_the_worker_is_lost(
    make_broker: MakeBroker,
    handlers: RecordingHandlers,
    server_keys: tuple[bytes, bytes],
) -> None:
    handlers.assignments.append(noop_assignment(31))
    broker = make_broker()
    context = zmq.Context()
    socket = raw_dealer(broker.endpoint, server_keys[0], context)
    try:
        socket.send_multipart(ready())
        commands = []
        while Command.REQUEST not in commands:
            message = receive(socket)
            assert message is not None
            commands.append(message.command)
        # Back to back, so usually read in one cycle of the broker.
        final = {"work_request_id": 31, "result": "success", "output_data": {}}
        socket.send_multipart(encode(Command.FINAL, final))
        socket.send_multipart(encode(Command.DISCONNECT, {"reason": "bye"}))
        wait_for(lambda: handlers.named("worker_lost"))
        with handlers.lock:
            order = [name for name, _ in handlers.calls]
        # Otherwise the server would retry work that is finished.
        assert order.index("finished") < order.index("worker_lost")
        assert handlers.completed == {31: "success"}
    finally:
        socket.close()
        context.term()


class RefusingHandlers(RecordingHandlers):
    """Fails to store the results of the work requests in `refused`."""

    def __init__(self) -> None:
        super().__init__()
        self.refused: set[int] = set()

    def settle(self, finals: Any, idle: Any) -> Any:
        kept = [f for f in finals if f.work_request_id not in self.refused]
        failed = {f.worker.id for f in finals if f.work_request_id in self.refused}
        return super().settle(kept, [w for w in idle if w.id not in failed])


def test_a_result_that_was_not_stored_is_not_acknowledged(
    make_broker: MakeBroker, make_worker: MakeWorker
) -> None:
    handlers = RefusingHandlers()
    handlers.workers["second-token"] = WorkerIdentity(2, "worker2", "external")
    handlers.assignments.extend([noop_assignment(41), noop_assignment(42)])
    handlers.refused.add(41)
    # Slower heartbeats: a worker lost on a loaded machine would lose its
    # REQUEST for good with these handlers, which do not retry.
    interval = 4 * INTERVAL
    broker = make_broker(handlers=handlers, heartbeat_interval=interval)
    first = make_worker(broker.endpoint, heartbeat_interval=interval)
    second = make_worker(
        broker.endpoint, token="second-token", heartbeat_interval=interval
    )
    wait_for(lambda: first.requests and second.requests, timeout=15)
    by_id = {
        first.requests[0]["work_request_id"]: first,
        second.requests[0]["work_request_id"]: second,
    }
    handlers.assignments.append(noop_assignment(43))
    by_id[41].connection.send_final(41, "success", {})
    by_id[42].connection.send_final(42, "success", {})

    # The stored one is acknowledged and its worker takes the next request.
    wait_for(lambda: not by_id[42].connection.unacknowledged, timeout=15)
    wait_for(lambda: len(by_id[42].requests) == 2, timeout=15)
    assert by_id[42].requests[1]["work_request_id"] == 43
    # The other is kept by its worker, to be sent again; no new work for it.
    time.sleep(2 * interval)
    assert set(by_id[41].connection.unacknowledged) == {41}
    assert len(by_id[41].requests) == 1
    assert handlers.completed == {42: "success"}
