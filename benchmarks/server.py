"""A loopback WebSocket server that sends a pre-framed :class:`~benchmarks.stream.Stream`.

A plain socket server: the handshake is done by hand and the stream's bytes,
framed once in advance, go out with one ``sendall`` per turn, so the server
costs next to nothing (``sendall`` on a blocking socket holds no GIL while the
kernel copies). Per connection:

1. handshake, then ``session.created``;
2. ``session.update`` from the client -> ``session.updated``;
3. each ``response.create`` -> the next turn's frames; after the last turn a
   close frame (code 1000) when ``close_after_last``;
4. a close frame from the client -> a close frame back, then the socket closes.

Other client frames are read and discarded (the sending benchmark counts them).
With ``pace_s`` the turn's frames are sent one at a time, ``pace_s`` apart, each
stamped with ``time.perf_counter_ns()`` in its ``event_id`` just before it is
sent (an in-process latency reference: server and client share the clock).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import re
import socket
import struct
import threading
import time
from collections import Counter
from typing import Any, Callable, Dict, List, Optional, Tuple

from .stream import EVENT_ID_DIGITS, Stream, close_frame

__all__ = ["BenchServer", "split_frames"]

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_TYPE = re.compile(rb'"type"\s*:\s*"([^"]+)"')
_STAMP = b'"event_id":"evt_'


def split_frames(data: bytes) -> List[Tuple[int, int]]:
    """``(start, end)`` of each unmasked server frame in ``data``."""
    out: List[Tuple[int, int]] = []
    i = 0
    while i < len(data):
        n = data[i + 1] & 0x7F
        head = 2
        if n == 126:
            (n,) = struct.unpack_from("!H", data, i + 2)
            head = 4
        elif n == 127:
            (n,) = struct.unpack_from("!Q", data, i + 2)
            head = 10
        out.append((i, i + head + n))
        i += head + n
    return out


class _ClientFrames:
    """Reads masked client frames; only the first bytes of each payload are unmasked."""

    def __init__(self, sock: socket.socket, leftover: bytes) -> None:
        self.sock = sock
        self.buf = bytearray(leftover)
        self.frames = 0
        self.bytes = 0

    def _fill(self, need: int) -> bool:
        while len(self.buf) < need:
            chunk = self.sock.recv(1 << 18)
            if not chunk:
                return False
            self.buf += chunk
        return True

    def next(self) -> Optional[Tuple[int, bytes]]:
        """``(opcode, first bytes of the unmasked payload)``, or ``None`` at EOF."""
        if not self._fill(2):
            return None
        b0, b1 = self.buf[0], self.buf[1]
        n = b1 & 0x7F
        head = 2
        if n == 126:
            if not self._fill(4):
                return None
            (n,) = struct.unpack_from("!H", self.buf, 2)
            head = 4
        elif n == 127:
            if not self._fill(10):
                return None
            (n,) = struct.unpack_from("!Q", self.buf, 2)
            head = 10
        masked = b1 & 0x80
        key = b""
        if masked:
            if not self._fill(head + 4):
                return None
            key = bytes(self.buf[head : head + 4])
            head += 4
        if not self._fill(head + n):
            return None
        prefix = bytes(self.buf[head : head + min(n, 160)])
        del self.buf[: head + n]
        if masked:
            prefix = bytes(c ^ key[i % 4] for i, c in enumerate(prefix))
        self.frames += 1
        self.bytes += n
        return b0 & 0x0F, prefix


class BenchServer:
    """Serve ``stream`` on ``127.0.0.1`` (a thread per connection). Use as a context manager."""

    def __init__(
        self, stream: Stream, *, close_after_last: bool = True, pace_s: float = 0.0
    ) -> None:
        self.stream = stream
        self.close_after_last = close_after_last
        self.pace_s = pace_s
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.url = f"ws://127.0.0.1:{self.port}/v1/realtime"
        self.received: Counter[str] = Counter()
        """Client text frames received (all connections, live), by event type."""
        self.finished: List[Dict[str, Any]] = []
        """One summary per closed connection: frames, payload bytes, types."""
        self.on_finished: Optional[Callable[[Dict[str, Any]], None]] = None
        self._thread = threading.Thread(target=self._accept, name="bench-server", daemon=True)
        self._conns: List[socket.socket] = []
        self._lock = threading.Lock()

    def __enter__(self) -> BenchServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                conn.close()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:
                return
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self._lock:
                self._conns.append(conn)
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            self._session(conn)
        except OSError:
            pass
        finally:
            with contextlib.suppress(OSError):
                conn.close()
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)

    def _handshake(self, conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(4096)
            if not chunk:
                raise OSError("EOF during the handshake")
            data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        key = b""
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        return rest

    def _session(self, conn: socket.socket) -> None:
        reader = _ClientFrames(conn, self._handshake(conn))
        stream = self.stream
        conn.sendall(stream.session_created)
        turn = 0
        try:
            while True:
                got = reader.next()
                if got is None:
                    return
                opcode, prefix = got
                if opcode == 0x8:
                    conn.sendall(close_frame())
                    return
                if opcode != 0x1:
                    continue
                match = _TYPE.search(prefix)
                kind = match.group(1) if match else b""
                self.received[kind.decode("ascii", "replace")] += 1
                if kind == b"session.update":
                    conn.sendall(stream.session_updated)
                elif kind == b"response.create" and turn < len(stream.turns):
                    self._send_turn(conn, stream.turns[turn])
                    turn += 1
                    if turn == len(stream.turns) and self.close_after_last:
                        conn.sendall(close_frame())
        finally:
            summary = {"frames": reader.frames, "bytes": reader.bytes}
            self.finished.append(summary)
            if self.on_finished is not None:
                self.on_finished(summary)

    def _send_turn(self, conn: socket.socket, data: bytes) -> None:
        if self.pace_s <= 0:
            conn.sendall(data)
            return
        buf = bytearray(data)
        for start, end in split_frames(data):
            at = buf.find(_STAMP, start, min(end, start + 120))
            if at >= 0:
                at += len(_STAMP)
                stamp = b"%0*d" % (EVENT_ID_DIGITS, time.perf_counter_ns())
                buf[at : at + EVENT_ID_DIGITS] = stamp
            conn.sendall(buf[start:end])
            time.sleep(self.pace_s)


def _main() -> None:
    """``python -m benchmarks.server``: serve a stream until stdin closes (prints the URL)."""
    import argparse
    import json
    import sys

    from .stream import StreamSpec, build_stream

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--responses", type=int, default=StreamSpec.responses)
    parser.add_argument("--chunks", type=int, default=StreamSpec.chunks)
    parser.add_argument("--chunk-bytes", type=int, default=StreamSpec.chunk_bytes)
    parser.add_argument("--turns", type=int, default=StreamSpec.turns)
    parser.add_argument("--user-items", action="store_true")
    parser.add_argument("--pace", type=float, default=0.0, help="seconds between frames")
    parser.add_argument("--keep-open", action="store_true", help="no close after the last turn")
    args = parser.parse_args()
    spec = StreamSpec(
        responses=args.responses,
        chunks=args.chunks,
        chunk_bytes=args.chunk_bytes,
        turns=args.turns,
        user_items=args.user_items,
    )
    stream = build_stream(spec)
    with BenchServer(stream, pace_s=args.pace, close_after_last=not args.keep_open) as server:

        def report(summary: Dict[str, Any]) -> None:
            print(json.dumps({**summary, "types": dict(server.received)}), flush=True)

        server.on_finished = report
        print(server.url, flush=True)
        sys.stdin.read()


if __name__ == "__main__":
    _main()
