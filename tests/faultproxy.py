"""A fault-injecting WebSocket proxy for tests: client <-> proxy <-> RealtimeSimulator.

It forwards every frame, and on the server-to-client side it can, on request:

* delay frames (``delay(seconds, frames)``),
* duplicate frames of chosen types (``duplicate(types, count)``): only events the
  protocol lets a client see twice without meaning something new
  (``rate_limits.updated``, ``conversation.item.done``, ``conversation.item.added``,
  ``response.output_item.done``),
* swap a frame with the next one where the order carries no meaning
  (``reorder(count)``): a ``rate_limits.updated`` with whatever follows it, a
  ``response.output_item.done`` with the ``conversation.item.done`` of the same item,
  an audio delta with the transcript delta that follows it,
* cut the client's connection (``drop()``: TCP shutdown, no close frame; or
  ``drop(code)``: a close frame with ``code``).

Closes are propagated both ways (a simulator close frame keeps its code; a cut
upstream socket becomes a cut client socket). ``connections`` records, per client
connection, the server events sent to the client (type, event_id, item id),
oldest first, each recorded before it is written.

Its threads are named ``faultproxy...`` (never ``realtime-...``).
"""

from __future__ import annotations

import contextlib
import inspect
import json
import socket
import threading
import time
from typing import Any, Dict, List, Optional, Set, Tuple, Union

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect
from websockets.sync.server import Server, ServerConnection, serve

__all__ = ["DUPLICABLE", "FaultProxy", "Frame"]

DUPLICABLE = frozenset(
    {
        "rate_limits.updated",
        "conversation.item.done",
        "conversation.item.added",
        "response.output_item.done",
    }
)
"""Server events a client may receive twice (state notices, not increments)."""

# held type -> the types it may be swapped with (None: any)
_SWAPPABLE: Dict[str, Optional[Set[str]]] = {
    "rate_limits.updated": None,
    "response.output_item.done": {"conversation.item.done"},
    "response.output_audio.delta": {"response.output_audio_transcript.delta"},
}

Frame = Dict[str, Any]
_Message = Union[str, bytes]


def _describe(message: _Message) -> Frame:
    if isinstance(message, bytes):
        return {"type": "<binary>", "event_id": None, "item_id": None}
    try:
        data = json.loads(message)
    except ValueError:
        return {"type": "<invalid>", "event_id": None, "item_id": None}
    if not isinstance(data, dict):
        return {"type": "<invalid>", "event_id": None, "item_id": None}
    item = data.get("item")
    item_id = item.get("id") if isinstance(item, dict) else data.get("item_id")
    return {"type": data.get("type"), "event_id": data.get("event_id"), "item_id": item_id}


def _abort(sock: Any) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class _Pair:
    """One client connection and its upstream connection."""

    def __init__(self, client: ServerConnection, upstream: ClientConnection, log: List[Frame]):
        self.client = client
        self.upstream = upstream
        self.log = log
        self.send_lock = threading.Lock()
        self.cut = False


class FaultProxy:
    """See the module documentation. Use as a context manager, or start()/stop()."""

    def __init__(self, upstream_url: str) -> None:
        base = upstream_url.split("/v1/", 1)[0]
        self._upstream_base = base
        # Guards every attribute below.
        self._lock = threading.Lock()
        self._pairs: Set[_Pair] = set()
        self._threads: List[threading.Thread] = []
        self.connections: List[List[Frame]] = []
        self._delay = 0.0
        self._delay_frames = 0
        self._dup: Dict[str, int] = {}
        self._reorders = 0
        self.duplicated = 0
        self.reordered = 0
        self._server: Optional[Server] = None
        self._thread: Optional[threading.Thread] = None
        self._port = 0

    # -- lifecycle

    def start(self) -> FaultProxy:
        server = serve(
            self._handle,
            "127.0.0.1",
            0,
            ping_interval=None,
            close_timeout=1.0,
            max_size=None,
            compression=None,
        )
        self._server = server
        self._port = int(server.socket.getsockname()[1])
        self._thread = threading.Thread(target=server.serve_forever, name="faultproxy", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.drop()
        server.shutdown()
        deadline = time.monotonic() + timeout
        if self._thread is not None:
            self._thread.join(timeout)
        with self._lock:
            threads = list(self._threads)
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/v1/realtime"

    # -- knobs

    def delay(self, seconds: float, frames: int) -> None:
        """Sleep ``seconds`` before each of the next ``frames`` server frames."""
        with self._lock:
            self._delay, self._delay_frames = seconds, frames

    def duplicate(self, types: Union[str, Set[str]], count: int = 1) -> None:
        """Send the next ``count`` frames of each of ``types`` twice."""
        names = {types} if isinstance(types, str) else set(types)
        unknown = names - DUPLICABLE
        if unknown:
            raise ValueError(f"not safe to duplicate: {sorted(unknown)}")
        with self._lock:
            for name in names:
                self._dup[name] = self._dup.get(name, 0) + count

    def reorder(self, count: int = 1) -> None:
        """Allow ``count`` more swaps of a frame with the one after it (see the module doc)."""
        with self._lock:
            self._reorders += count

    def passthrough(self) -> None:
        """Forget every pending delay, duplication and reorder."""
        with self._lock:
            self._delay, self._delay_frames = 0.0, 0
            self._dup.clear()
            self._reorders = 0

    def drop(self, code: Optional[int] = None, reason: str = "faultproxy") -> int:
        """Cut (``code`` None) or close with ``code`` every client connection; returns how many."""
        with self._lock:
            pairs = list(self._pairs)
        for pair in pairs:
            pair.cut = True
            if code is None:
                _abort(pair.client.socket)
            else:
                closer = threading.Thread(
                    target=self._close_quietly,
                    args=(pair.client, code, reason),
                    name="faultproxy-close",
                    daemon=True,
                )
                self._track(closer)
                closer.start()
            with contextlib.suppress(Exception):
                pair.upstream.close()
        return len(pairs)

    @property
    def active(self) -> int:
        with self._lock:
            return len(self._pairs)

    # -- internals

    @staticmethod
    def _close_quietly(conn: Any, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionClosed, OSError, RuntimeError):
            conn.close(code, reason)

    def _track(self, thread: threading.Thread) -> None:
        with self._lock:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._threads.append(thread)

    def _take_faults(self, kind: Optional[str]) -> Tuple[float, bool]:
        with self._lock:
            delay = 0.0
            if self._delay_frames > 0:
                self._delay_frames -= 1
                delay = self._delay
            dup = False
            if kind is not None and self._dup.get(kind, 0) > 0:
                self._dup[kind] -= 1
                dup = True
                self.duplicated += 1
            return delay, dup

    def _may_hold(self, kind: Optional[str]) -> bool:
        with self._lock:
            return kind in _SWAPPABLE and self._reorders > 0

    def _swap_ok(self, held: str, nxt: Optional[str]) -> bool:
        allowed = _SWAPPABLE[held]
        with self._lock:
            if self._reorders <= 0 or nxt is None or nxt == held:
                return False
            if allowed is not None and nxt not in allowed:
                return False
            self._reorders -= 1
            self.reordered += 1
            return True

    def _handle(self, client: ServerConnection) -> None:
        threading.current_thread().name = "faultproxy-connection"
        request = client.request
        path = request.path if request is not None else "/v1/realtime"
        options: Dict[str, Any] = {
            "open_timeout": 5,
            "close_timeout": 1,
            "ping_interval": None,
            "max_size": None,
            "compression": None,
        }
        if "legacy" in inspect.signature(connect).parameters:
            options["legacy"] = True  # websockets >= 16: a plain connection, no warning
        try:
            upstream = connect(self._upstream_base + path, **options)
        except Exception:
            _abort(client.socket)
            return
        log: List[Frame] = []
        pair = _Pair(client, upstream, log)
        with self._lock:
            self._pairs.add(pair)
            self.connections.append(log)
        pump = threading.Thread(
            target=self._client_to_server, args=(pair,), name="faultproxy-c2s", daemon=True
        )
        self._track(pump)
        pump.start()
        try:
            self._server_to_client(pair)
        finally:
            with self._lock:
                self._pairs.discard(pair)
            with contextlib.suppress(Exception):
                upstream.close()
            pump.join(5.0)

    def _client_to_server(self, pair: _Pair) -> None:
        try:
            for message in pair.client:
                pair.upstream.send(message)
        except (ConnectionClosed, OSError, RuntimeError):
            pass
        finally:
            code = None
            with contextlib.suppress(Exception):
                rcvd = pair.client.protocol.close_rcvd
                code = rcvd.code if rcvd is not None else None
            with contextlib.suppress(Exception):
                if code is None or code in (1005, 1006):
                    _abort(pair.upstream.socket)
                else:
                    pair.upstream.close(code)

    def _forward(self, pair: _Pair, message: _Message, frame: Frame) -> None:
        delay, dup = self._take_faults(frame["type"])
        if delay:
            time.sleep(delay)
        for _ in range(2 if dup else 1):
            with pair.send_lock:
                pair.log.append(frame)
                pair.client.send(message)

    def _server_to_client(self, pair: _Pair) -> None:
        held: Optional[Tuple[_Message, Frame]] = None
        try:
            while True:
                try:
                    message = pair.upstream.recv(timeout=0.02 if held else None)
                except TimeoutError:
                    if held is not None:
                        self._forward(pair, *held)
                        held = None
                    continue
                frame = _describe(message)
                if held is not None:
                    held_message, held_frame = held
                    held = None
                    if self._swap_ok(str(held_frame["type"]), frame["type"]):
                        self._forward(pair, message, frame)
                        self._forward(pair, held_message, held_frame)
                        continue
                    self._forward(pair, held_message, held_frame)
                if self._may_hold(frame["type"]):
                    held = (message, frame)
                    continue
                self._forward(pair, message, frame)
        except ConnectionClosed as exc:
            if held is not None:
                with contextlib.suppress(Exception):
                    self._forward(pair, *held)
            rcvd = exc.rcvd
            if pair.cut:
                return
            if rcvd is None or rcvd.code in (1005, 1006):
                _abort(pair.client.socket)
            else:
                self._close_quietly(pair.client, rcvd.code, rcvd.reason)
        except (OSError, RuntimeError):
            _abort(pair.client.socket)
