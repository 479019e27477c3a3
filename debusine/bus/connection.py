"""The worker's end of the bus: one DEALER socket in its own thread.

No database here: this runs on the workers. See PROTOCOL.md.
"""

from __future__ import annotations

import contextlib
import logging
import math
import queue
import random
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

import zmq

from debusine.bus.codec import (
    DEFAULT_MAX_MESSAGE_SIZE,
    ProtocolError,
    decode,
    encode,
)
from debusine.bus.messages import (
    BROKER_COMMANDS,
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_LIVENESS,
    PROTOCOL_VERSION,
    Command,
)

log = logging.getLogger(__name__)

RECONNECT_MIN = 1.0
RECONNECT_MAX = 32.0


class WorkerConnection:
    """Keep a worker registered with the broker at `endpoint`.

    `on_request(body)` is called with the body of each new REQUEST, and
    `on_abort(work_request_id)` for each ABORT, each in a thread of its own,
    so a slow callback never stops the heartbeats. `send_partial()`,
    `send_final()` and `stop()` may be called from any thread.
    """

    def __init__(
        self,
        endpoint: str,
        token: str,
        server_public_key: bytes,
        metadata: Mapping[str, Any],
        *,
        on_request: Callable[[dict[str, Any]], None],
        on_abort: Callable[[int], None],
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        liveness: int = DEFAULT_LIVENESS,
        reconnect_min: float = RECONNECT_MIN,
        reconnect_max: float = RECONNECT_MAX,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
        context: zmq.Context[Any] | None = None,
    ) -> None:
        if heartbeat_interval <= 0 or liveness < 1:
            raise ValueError("heartbeat_interval must be > 0 and liveness >= 1")
        self.endpoint = endpoint
        self.token = token
        self.server_public_key = server_public_key
        self.metadata = dict(metadata)
        self.on_request = on_request
        self.on_abort = on_abort
        self.heartbeat_interval = heartbeat_interval
        self.liveness = liveness
        self.reconnect_min = reconnect_min
        self.reconnect_max = reconnect_max
        self.max_message_size = max_message_size
        self.clock = clock
        # Set while the broker is known to have accepted our READY.
        self.registered = threading.Event()
        # How many sessions (READY sent on a fresh socket) so far.
        self.sessions = 0
        self._context = context or zmq.Context.instance()
        wake_address = f"inproc://debusine-worker-wake-{id(self)}"
        self._wake_rx = self._context.socket(zmq.PAIR)
        self._wake_rx.linger = 0
        self._wake_rx.bind(wake_address)
        self._wake_tx = self._context.socket(zmq.PAIR)
        self._wake_tx.linger = 0
        self._wake_tx.connect(wake_address)
        self._wake_lock = threading.Lock()
        self._outgoing: queue.SimpleQueue[tuple[Command, dict[str, Any]]] = (
            queue.SimpleQueue()
        )
        self._state_lock = threading.Lock()
        self._running: set[int] = set()
        # FINAL bodies sent and not yet acknowledged, by work request id.
        self._unacknowledged: dict[int, dict[str, Any]] = {}
        # FINALs queued by send_final, not yet handed to the socket: they
        # count as unacknowledged too (a shutdown must wait for them).
        self._queued_finals: set[int] = set()
        self._stop = threading.Event()
        self._closed = False
        self._thread: threading.Thread | None = None

    # -- API -----------------------------------------------------------------

    def start(self) -> WorkerConnection:
        self._thread = threading.Thread(
            target=self.run, name="debusine-bus-worker", daemon=True
        )
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Say DISCONNECT to the broker, stop the thread and close."""
        self._stop.set()
        self._wake()
        if self._thread is not None:
            self._thread.join(timeout)
        else:
            self._close()

    @property
    def running(self) -> set[int]:
        with self._state_lock:
            return set(self._running)

    @property
    def unacknowledged(self) -> set[int]:
        with self._state_lock:
            return set(self._unacknowledged) | self._queued_finals

    def send_partial(
        self,
        work_request_id: int,
        sequence: int,
        *,
        progress: float | None = None,
        log: str | None = None,
        log_name: str | None = None,
    ) -> None:
        """Report progress and/or a log chunk (best effort)."""
        body: dict[str, Any] = {
            "work_request_id": work_request_id,
            "sequence": sequence,
        }
        for key, value in (
            ("progress", progress),
            ("log", log),
            ("log_name", log_name),
        ):
            if value is not None:
                body[key] = value
        encode(Command.PARTIAL, body, max_message_size=self.max_message_size)
        self._outgoing.put((Command.PARTIAL, body))
        self._wake()

    def send_final(
        self, work_request_id: int, result: str, output_data: Mapping[str, Any]
    ) -> None:
        """Report the result; kept and re-sent until the broker acknowledges it."""
        body = {
            "work_request_id": work_request_id,
            "result": str(result),
            "output_data": dict(output_data),
        }
        encode(Command.FINAL, body, max_message_size=self.max_message_size)
        with self._state_lock:
            self._queued_finals.add(work_request_id)
        self._outgoing.put((Command.FINAL, body))
        self._wake()

    def _wake(self) -> None:
        with self._wake_lock:
            if not self._closed:
                with contextlib.suppress(zmq.Again):
                    self._wake_tx.send(b"", zmq.NOBLOCK)

    # -- the loop --------------------------------------------------------------

    def run(self) -> None:
        backoff = self.reconnect_min
        try:
            while not self._stop.is_set():
                answered = self._session()
                if self._stop.is_set():
                    break
                if answered:
                    backoff = self.reconnect_min
                delay = backoff * random.uniform(0.9, 1.1)  # noqa: S311
                log.info("bus: reconnecting to %s in %.2f s", self.endpoint, delay)
                self._stop.wait(delay)
                backoff = min(backoff * 2, self.reconnect_max)
        finally:
            self._close()

    def _close(self) -> None:
        with self._wake_lock:
            self._closed = True
            self._wake_rx.close(linger=0)
            self._wake_tx.close(linger=0)

    def _new_socket(self) -> zmq.Socket[Any]:
        socket = self._context.socket(zmq.DEALER)
        socket.linger = 0
        public, secret = zmq.curve_keypair()
        socket.curve_publickey = public
        socket.curve_secretkey = secret
        socket.curve_serverkey = self.server_public_key
        socket.setsockopt(zmq.MAXMSGSIZE, self.max_message_size + 1024)
        socket.connect(self.endpoint)
        return socket

    def _session(self) -> bool:
        """One conversation on a fresh socket; True if the broker answered."""
        socket = self._new_socket()
        self.sessions += 1
        answered = False
        poller = zmq.Poller()
        poller.register(socket, zmq.POLLIN)
        poller.register(self._wake_rx, zmq.POLLIN)
        try:
            with self._state_lock:
                running = sorted(self._running)
                finals = list(self._unacknowledged.values())
            self._send(
                socket,
                Command.READY,
                {
                    "protocol": PROTOCOL_VERSION,
                    "token": self.token,
                    "metadata": self.metadata,
                    "running": running,
                },
            )
            for body in finals:
                self._send(socket, Command.FINAL, body)
            now = self.clock()
            expiry = now + self.heartbeat_interval * self.liveness
            heartbeat_at = now + self.heartbeat_interval
            while not self._stop.is_set():
                timeout = max(0.0, min(expiry, heartbeat_at) - self.clock())
                events = dict(poller.poll(math.ceil(timeout * 1000)))
                if socket in events:
                    received, disconnected = self._read(socket)
                    if received:
                        answered = True
                        expiry = self.clock() + self.heartbeat_interval * self.liveness
                    if disconnected:
                        return answered
                if self._wake_rx in events:
                    self._flush_outgoing(socket)
                now = self.clock()
                if now >= expiry:
                    log.warning("bus: the broker at %s is silent", self.endpoint)
                    return answered
                if now >= heartbeat_at:
                    self._send(socket, Command.HEARTBEAT, {})
                    heartbeat_at = now + self.heartbeat_interval
            # Stopping: say goodbye.
            self._send(socket, Command.DISCONNECT, {"reason": "worker shutdown"})
            return answered
        finally:
            self.registered.clear()
            socket.close(linger=0)

    def _read(self, socket: zmq.Socket[Any]) -> tuple[bool, bool]:
        """Read what is there: (anything valid received, DISCONNECT received)."""
        received = False
        while True:
            try:
                frames = socket.recv_multipart(zmq.NOBLOCK)
            except zmq.Again:
                return received, False
            try:
                message = decode(
                    frames,
                    max_message_size=self.max_message_size,
                    allowed=BROKER_COMMANDS,
                )
            except ProtocolError as error:
                log.warning("bus: dropped an invalid message: %s", error)
                continue
            received = True
            if message.command == Command.DISCONNECT:
                log.warning(
                    "bus: the broker disconnected us: %s",
                    message.body.get("reason", "no reason given"),
                )
                return True, True
            self.registered.set()
            work_request_id = message.work_request_id
            if message.command == Command.REQUEST:
                assert work_request_id is not None
                with self._state_lock:
                    duplicate = (
                        work_request_id in self._running
                        or work_request_id in self._unacknowledged
                    )
                    if not duplicate:
                        self._running.add(work_request_id)
                if not duplicate:
                    self._spawn(self.on_request, message.body)
            elif message.command == Command.ABORT:
                assert work_request_id is not None
                with self._state_lock:
                    self._running.discard(work_request_id)
                self._spawn(self.on_abort, work_request_id)
            elif message.command == Command.FINAL_ACK:
                with self._state_lock:
                    self._unacknowledged.pop(work_request_id or 0, None)

    def _flush_outgoing(self, socket: zmq.Socket[Any]) -> None:
        while True:
            try:
                self._wake_rx.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
        while True:
            try:
                command, body = self._outgoing.get_nowait()
            except queue.Empty:
                return
            if command == Command.FINAL:
                with self._state_lock:
                    self._running.discard(body["work_request_id"])
                    self._unacknowledged[body["work_request_id"]] = body
                    self._queued_finals.discard(body["work_request_id"])
            self._send(socket, command, body)

    def _send(
        self, socket: zmq.Socket[Any], command: Command, body: dict[str, Any]
    ) -> None:
        frames = encode(command, body, max_message_size=self.max_message_size)
        try:
            socket.send_multipart(frames, zmq.NOBLOCK)
        except zmq.Again:
            # Not connected and the queue is full: a FINAL is sent again
            # after the next reconnect, a PARTIAL is lost.
            log.warning("bus: could not send %s", command.name)

    @staticmethod
    def _spawn(callback: Callable[[Any], None], argument: Any) -> None:
        def target() -> None:
            try:
                callback(argument)
            except Exception:
                log.exception("bus: callback %s failed", callback)

        threading.Thread(target=target, daemon=True).start()
