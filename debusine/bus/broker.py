"""The bus broker: one ROUTER socket in its own thread (see PROTOCOL.md).

The broker is stateless beyond the liveness of its peers: what workers are,
what they should run and what became of their work is asked of, and told
to, `handlers` (the database, in production).
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import math
import queue
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import zmq

from debusine.bus.codec import (
    DEFAULT_MAX_MESSAGE_SIZE,
    ProtocolError,
    decode,
    encode,
)
from debusine.bus.messages import (
    DEFAULT_HEARTBEAT_INTERVAL,
    DEFAULT_LIVENESS,
    WORKER_COMMANDS,
    Command,
    Message,
)

log = logging.getLogger(__name__)
_BROKER_NUMBERS = itertools.count(1)

# How many messages the loop reads before it settles them and looks at
# timers and commands.
BATCH = 1000
# How many stored results the broker remembers to acknowledge re-sent FINALs.
FINISHED_MEMORY = 10_000


@dataclass(frozen=True)
class WorkerIdentity:
    """Who is at the other end of a connection, once its token is accepted."""

    id: int
    name: str
    worker_type: str


@dataclass(frozen=True)
class Final:
    """A worker's result for a work request (the body of its FINAL)."""

    worker: WorkerIdentity
    work_request_id: int
    result: str
    output_data: dict[str, Any]


@dataclass
class Settled:
    """What `BusHandlers.settle` did, once committed."""

    # FINALs stored, or ignored as not applying: the broker acknowledges
    # them. A FINAL left out failed and is not acknowledged.
    acknowledged: list[Final]
    # The REQUEST body for each idle worker (by worker id) given work.
    assignments: dict[int, dict[str, Any]]


class BusHandlers(Protocol):
    """What the broker asks of, and tells, the server (its database).

    Every method is called from the broker's thread, one at a time; each
    must be idempotent by work request id.
    """

    def authenticate(self, token: str) -> WorkerIdentity | None: ...

    def worker_ready(
        self, worker: WorkerIdentity, metadata: dict[str, Any]
    ) -> None: ...

    def settle(
        self, finals: Sequence[Final], idle: Sequence[WorkerIdentity]
    ) -> Settled:
        """Store the FINALs of one broker cycle, then assign the idle workers.

        Called once per cycle of the loop with everything that cycle read,
        so that the work is done in one transaction. A worker in `idle` may
        have a FINAL in `finals` (it is idle once that is stored); one whose
        FINAL is not acknowledged must not be given work.
        """
        ...

    def progress(
        self, worker: WorkerIdentity, work_request_id: int, body: dict[str, Any]
    ) -> None: ...

    def worker_lost(self, worker: WorkerIdentity) -> None: ...


@dataclass
class _Peer:
    routing_id: bytes
    worker: WorkerIdentity
    expiry: float
    running: set[int] = field(default_factory=set)


class Broker:
    """Serve workers on `bind` until `stop()`.

    `start()` runs the loop in a thread; `notify_work_available()`,
    `abort()` and `stop()` may be called from any thread.
    """

    def __init__(
        self,
        bind: str,
        handlers: BusHandlers,
        *,
        server_secret_key: bytes,
        server_public_key: bytes,
        heartbeat_interval: float = DEFAULT_HEARTBEAT_INTERVAL,
        liveness: int = DEFAULT_LIVENESS,
        max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE,
        clock: Callable[[], float] = time.monotonic,
        context: zmq.Context[Any] | None = None,
        bind_timeout: float = 5.0,
    ) -> None:
        if heartbeat_interval <= 0 or liveness < 1:
            raise ValueError("heartbeat_interval must be > 0 and liveness >= 1")
        self.bind = bind
        self.handlers = handlers
        self.heartbeat_interval = heartbeat_interval
        self.liveness = liveness
        self.max_message_size = max_message_size
        self.clock = clock
        self._context = context or zmq.Context.instance()
        self._router = self._context.socket(zmq.ROUTER)
        self._router.linger = 0
        self._router.setsockopt(zmq.ROUTER_MANDATORY, 1)
        # libzmq drops a peer that sends a frame bigger than this.
        self._router.setsockopt(zmq.MAXMSGSIZE, max_message_size + 1024)
        self._router.curve_server = True
        self._router.curve_secretkey = server_secret_key
        self._router.curve_publickey = server_public_key
        self._bind(bind, bind_timeout)
        self.endpoint: str = self._router.getsockopt(zmq.LAST_ENDPOINT).decode()
        # Unique per broker for the process's life: id(self) can be reused
        # by a new broker while an old one's socket is still bound.
        wake_address = f"inproc://debusine-broker-wake-{next(_BROKER_NUMBERS)}"
        self._wake_rx = self._context.socket(zmq.PAIR)
        self._wake_rx.linger = 0
        self._wake_rx.bind(wake_address)
        self._wake_tx = self._context.socket(zmq.PAIR)
        self._wake_tx.linger = 0
        self._wake_tx.connect(wake_address)
        self._wake_lock = threading.Lock()
        self._commands: queue.SimpleQueue[tuple[str, Any]] = queue.SimpleQueue()
        self._peers: dict[bytes, _Peer] = {}
        # Results this broker has stored, by (worker id, work request id): a
        # FINAL re-sent because its ACK crossed a reconnection is acknowledged
        # again without reaching the handlers. Bounded; across a broker
        # restart the handlers' own idempotency takes over.
        self._finished: OrderedDict[tuple[int, int], None] = OrderedDict()
        # What the current cycle read, settled at its end in one handler
        # call (see `_settle`): FINALs to store, peers to offer work.
        self._pending_finals: list[tuple[_Peer, Final]] = []
        self._wanting_work: dict[bytes, _Peer] = {}
        self._thread: threading.Thread | None = None
        self._stopping = False
        self._closed = False

    def _bind(self, bind: str, timeout: float) -> None:
        # A broker that just stopped releases its port asynchronously (the
        # I/O thread closes it): retry for a moment on a restart.
        deadline = time.monotonic() + timeout
        while True:
            try:
                self._router.bind(bind)
                return
            except zmq.ZMQError as error:
                if error.errno != zmq.EADDRINUSE or time.monotonic() > deadline:
                    self._router.close(linger=0)
                    raise
            time.sleep(0.02)

    # -- API for other threads ---------------------------------------------

    def start(self) -> Broker:
        self._thread = threading.Thread(
            target=self.run, name="debusine-bus-broker", daemon=True
        )
        self._thread.start()
        return self

    def notify_work_available(self) -> None:
        """Offer work to every idle worker (in the next `settle`)."""
        self._post("work", None)

    def abort(self, work_request_id: int, worker_id: int) -> None:
        """Send ABORT for `work_request_id` to the worker `worker_id`."""
        self._post("abort", (work_request_id, worker_id))

    def stop(self, *, disconnect: bool = True, timeout: float = 5.0) -> None:
        """Stop the loop (sending DISCONNECT to every peer) and close."""
        if self._closed:
            return
        if self._thread is None:
            self._stopping = True
            self._close()
            return
        self._post("stop", disconnect)
        self._thread.join(timeout)

    @property
    def connected_workers(self) -> list[WorkerIdentity]:
        return [peer.worker for peer in list(self._peers.values())]

    def _post(self, kind: str, value: Any) -> None:
        self._commands.put((kind, value))
        with self._wake_lock:
            if self._closed:
                return
            # Again: the loop has wake-ups pending already.
            with contextlib.suppress(zmq.Again):
                self._wake_tx.send(b"", zmq.NOBLOCK)

    # -- the loop ------------------------------------------------------------

    def run(self) -> None:
        poller = zmq.Poller()
        poller.register(self._router, zmq.POLLIN)
        poller.register(self._wake_rx, zmq.POLLIN)
        heartbeat_at = self.clock() + self.heartbeat_interval
        try:
            while not self._stopping:
                timeout = max(
                    0.0, min(heartbeat_at, self._next_expiry()) - self.clock()
                )
                events = dict(poller.poll(math.ceil(timeout * 1000)))
                if self._router in events:
                    self._read_messages()
                if self._wake_rx in events:
                    self._run_commands()
                self._settle()
                now = self.clock()
                self._purge(now)
                if now >= heartbeat_at:
                    self._send_heartbeats()
                    heartbeat_at = now + self.heartbeat_interval
        except Exception:
            log.exception("bus broker loop failed")
            raise
        finally:
            self._close()

    def _next_expiry(self) -> float:
        if not self._peers:
            return float("inf")
        return min(peer.expiry for peer in self._peers.values())

    def _close(self) -> None:
        with self._wake_lock:
            self._closed = True
            self._router.close(linger=0)
            self._wake_rx.close(linger=0)
            self._wake_tx.close(linger=0)

    def _run_commands(self) -> None:
        while True:
            try:
                self._wake_rx.recv(zmq.NOBLOCK)
            except zmq.Again:
                break
        while True:
            try:
                kind, value = self._commands.get_nowait()
            except queue.Empty:
                return
            if kind == "work":
                self._wanting_work.update(self._peers)
            elif kind == "abort":
                self._abort(*value)
            elif kind == "stop":
                # Store the results read so far, but start nothing new.
                self._wanting_work.clear()
                self._settle()
                if value:
                    for peer in list(self._peers.values()):
                        self._send(
                            peer.routing_id,
                            Command.DISCONNECT,
                            {"reason": "server shutdown"},
                        )
                self._peers.clear()
                self._stopping = True
                return

    def _read_messages(self) -> None:
        for _ in range(BATCH):
            try:
                frames = self._router.recv_multipart(zmq.NOBLOCK, copy=True)
            except zmq.Again:
                return
            if not frames:  # pragma: no cover - ROUTER always adds the identity
                continue
            try:
                self._handle(frames[0], frames[1:])
            except Exception:
                log.exception("bus: error handling a message; carrying on")

    def _handle(self, routing_id: bytes, frames: list[bytes]) -> None:
        peer = self._peers.get(routing_id)
        try:
            message = decode(
                frames,
                max_message_size=self.max_message_size,
                allowed=WORKER_COMMANDS,
            )
        except ProtocolError as error:
            if not error.header_ok:
                return  # Not ours: drop it silently.
            log.info("bus: protocol error from a peer: %s", error)
            self._disconnect(routing_id, f"protocol error: {error}")
            return
        if peer is None:
            if message.command == Command.READY:
                self._ready(routing_id, message)
            elif message.command != Command.DISCONNECT:
                self._send(routing_id, Command.DISCONNECT, {"reason": "unknown peer"})
            return
        peer.expiry = self.clock() + self.heartbeat_interval * self.liveness
        match message.command:
            case Command.HEARTBEAT:
                pass
            case Command.READY:
                self._disconnect(routing_id, "READY sent twice")
            case Command.DISCONNECT:
                self._lose(routing_id)
            case Command.PARTIAL:
                self._call(
                    "progress",
                    peer.worker,
                    message.body["work_request_id"],
                    message.body,
                )
            case Command.FINAL:
                self._final(peer, message)

    def _ready(self, routing_id: bytes, message: Message) -> None:
        worker = self._call("authenticate", message.body["token"])
        if worker is None:
            self._send(routing_id, Command.DISCONNECT, {"reason": "invalid token"})
            return
        # The same worker on a new socket (it reconnected): forget the old one
        # without reporting it lost.
        for other_id, other in list(self._peers.items()):
            if other.worker.id == worker.id:
                del self._peers[other_id]
        peer = _Peer(
            routing_id,
            worker,
            self.clock() + self.heartbeat_interval * self.liveness,
            set(message.body["running"]),
        )
        self._peers[routing_id] = peer
        self._call("worker_ready", worker, message.body["metadata"])
        if self._send(routing_id, Command.HEARTBEAT, {}):
            self._wanting_work[routing_id] = peer

    def _final(self, peer: _Peer, message: Message) -> None:
        work_request_id = message.body["work_request_id"]
        if (peer.worker.id, work_request_id) in self._finished:
            # Stored already (its ACK was lost): acknowledge it again.
            self._acknowledge(peer, work_request_id)
        else:
            final = Final(
                peer.worker,
                work_request_id,
                message.body["result"],
                message.body["output_data"],
            )
            self._pending_finals.append((peer, final))
        self._wanting_work[peer.routing_id] = peer

    def _acknowledge(self, peer: _Peer, work_request_id: int) -> None:
        peer.running.discard(work_request_id)
        if self._peers.get(peer.routing_id) is peer:
            self._send(
                peer.routing_id,
                Command.FINAL_ACK,
                {"work_request_id": work_request_id},
            )

    def _settle(self) -> None:
        """Store this cycle's FINALs and offer work to idle peers: one call.

        FINAL-ACKs and REQUESTs go out once the handlers have committed.
        """
        finals, self._pending_finals = self._pending_finals, []
        wanting, self._wanting_work = self._wanting_work, {}
        finishing: dict[bytes, set[int]] = {}
        for peer, final in finals:
            finishing.setdefault(peer.routing_id, set()).add(final.work_request_id)
        # Idle once their FINALs are stored, as far as this broker knows.
        idle = [
            peer
            for routing_id, peer in wanting.items()
            if self._peers.get(routing_id) is peer
            and not peer.running - finishing.get(routing_id, set())
        ]
        if not finals and not idle:
            return
        try:
            settled = self.handlers.settle(
                [final for _, final in finals], [peer.worker for peer in idle]
            )
        except Exception:
            # Nothing acknowledged: the workers send their FINALs again
            # after reconnecting.
            log.exception("bus: handler settle failed")
            return
        stored = {(f.worker.id, f.work_request_id) for f in settled.acknowledged}
        for peer, final in finals:
            key = (peer.worker.id, final.work_request_id)
            if key not in stored:
                continue
            self._finished[key] = None
            self._acknowledge(peer, final.work_request_id)
        while len(self._finished) > FINISHED_MEMORY:
            self._finished.popitem(last=False)
        for peer in idle:
            body = settled.assignments.get(peer.worker.id)
            if body is not None:
                self._request(peer, body)

    def _request(self, peer: _Peer, body: dict[str, Any]) -> None:
        """Send the REQUEST the handlers assigned to the idle `peer`."""
        if self._peers.get(peer.routing_id) is not peer or peer.running:
            # Lost meanwhile (its running work is retried by `worker_lost`),
            # or its FINAL was not stored.
            log.warning(
                "bus: work request %s assigned to %s, which cannot take it",
                body.get("work_request_id"),
                peer.worker.name,
            )
            return
        try:
            frames = encode(
                Command.REQUEST, body, max_message_size=self.max_message_size
            )
        except ProtocolError:
            log.exception("bus: invalid assignment for %s", peer.worker.name)
            return
        if self._send_frames(peer.routing_id, frames):
            peer.running.add(body["work_request_id"])

    def _abort(self, work_request_id: int, worker_id: int) -> None:
        for peer in list(self._peers.values()):
            if peer.worker.id == worker_id:
                peer.running.discard(work_request_id)
                self._send(
                    peer.routing_id,
                    Command.ABORT,
                    {"work_request_id": work_request_id, "reason": "aborted"},
                )

    def _purge(self, now: float) -> None:
        for routing_id, peer in list(self._peers.items()):
            if peer.expiry <= now:
                log.info("bus: worker %s missed its heartbeats", peer.worker.name)
                self._lose(routing_id)

    def _send_heartbeats(self) -> None:
        for routing_id in list(self._peers):
            self._send(routing_id, Command.HEARTBEAT, {})

    def _disconnect(self, routing_id: bytes, reason: str) -> None:
        self._send(routing_id, Command.DISCONNECT, {"reason": reason[:1024]})
        self._lose(routing_id)

    def _lose(self, routing_id: bytes) -> None:
        self._wanting_work.pop(routing_id, None)
        if self._pending_finals:
            # Results the peer sent before it went are stored first, so
            # that `worker_lost` does not retry what is finished.
            self._settle()
        peer = self._peers.pop(routing_id, None)
        if peer is not None:
            self._call("worker_lost", peer.worker)

    def _call(self, name: str, *args: Any) -> Any:
        try:
            return getattr(self.handlers, name)(*args)
        except Exception:
            log.exception("bus: handler %s failed", name)
            return None

    def _send(
        self, routing_id: bytes, command: Command, body: Mapping[str, Any]
    ) -> bool:
        return self._send_frames(routing_id, encode(command, body))

    def _send_frames(self, routing_id: bytes, frames: list[bytes]) -> bool:
        try:
            self._router.send_multipart([routing_id, *frames], zmq.NOBLOCK)
        except zmq.ZMQError as error:
            # Gone (EHOSTUNREACH) or not reading (EAGAIN): forget it.
            log.info("bus: cannot send to a peer: %s", error)
            self._lose(routing_id)
            return False
        return True
