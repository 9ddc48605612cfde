"""Buffered frame reading for a websocket-client connection (the reader thread's hot path).

websocket-client reads every frame with several small exact-size ``recv``
calls (header, length, payload), and each call releases and re-takes the GIL.
At the Realtime API's audio rates that dominates the reader and makes every
handoff to the dispatcher thread a GIL fight. :class:`FrameReader` instead
reads the socket with ``recv_into`` through one large buffer and cuts complete
frames out of it, so one system call usually yields dozens of frames.

websocket-client still does the handshake and all sending (pongs and the close
reply included, under its own send lock); the reader only takes over receiving,
with the semantics of ``WebSocket.recv_data(control_frame=True)`` as used with
``skip_utf8_validation=True`` and ``fire_cont_frame=False``:

* a data message (text or binary, reassembled from fragments) returns
  ``(opcode, payload)``;
* a ping is answered with a pong and returned; a pong is returned;
* a close frame is answered with a close frame and returned;
* frames are validated by websocket-client's own ``ABNF.validate`` (reserved
  bits, opcodes, close codes), except the common case of an unfragmented
  text frame, which is checked inline;
* a socket timeout raises ``WebSocketTimeoutException`` and loses nothing: a
  frame is only consumed once all of it is buffered, so the next call resumes;
* end of stream raises ``WebSocketConnectionClosedException``; other socket
  errors (a shutdown from another thread) propagate as ``OSError``.

What it relies on in websocket-client (pinned by ``tests/test_fastsocket.py``):
``WebSocket.sock`` after the handshake, the handshake reading the HTTP
response without over-reading (any bytes left in ``frame_buffer.recv_buffer``
are taken over anyway), ``WebSocket.pong``/``send_close``, ``ABNF``
(``validate``, ``mask``, opcodes) and the exception classes.

One thread at a time may call :meth:`FrameReader.recv_data`.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any, List, Optional, Tuple

import websocket

__all__ = ["DEFAULT_BUFFER_SIZE", "FrameReader"]

DEFAULT_BUFFER_SIZE = 256 * 1024
"""Bytes read per ``recv_into`` at most (about 40 audio-delta frames)."""

_ABNF = websocket.ABNF
_TEXT = _ABNF.OPCODE_TEXT
_BINARY = _ABNF.OPCODE_BINARY
_CONT = _ABNF.OPCODE_CONT
_CLOSE = _ABNF.OPCODE_CLOSE
_PING = _ABNF.OPCODE_PING
_PONG = _ABNF.OPCODE_PONG
_FIN_TEXT = 0x80 | _TEXT  # first header byte of an unfragmented text frame, no reserved bits


class FrameReader:
    """Receive frames of an open ``websocket.WebSocket`` through one large buffer.

    Args:
        ws: a connected websocket-client ``WebSocket`` (handshake done).
        buffer_size: the usual buffer size; a frame larger than it gets a
            buffer of its own size until it has been consumed.
    """

    def __init__(self, ws: Any, buffer_size: int = DEFAULT_BUFFER_SIZE) -> None:
        sock = ws.sock
        self._ws = ws
        # Never raises here: a connection already aborted fails at the first read.
        self._recv_into = sock.recv_into if sock is not None else _closed
        self._size = buffer_size
        self._buf = bytearray(buffer_size)
        self._view = memoryview(self._buf)
        self._start = 0  # first unconsumed byte
        self._end = 0  # end of the received bytes
        # A data message being reassembled from fragments: its opcode and parts.
        self._frag_opcode: Optional[int] = None
        self._frag_parts: List[bytes] = []
        # websocket-client reads the handshake response line by line, so nothing
        # should be buffered; take over whatever is, in case that ever changes.
        pending = getattr(getattr(ws, "frame_buffer", None), "recv_buffer", None)
        if pending:
            leftover = b"".join(pending)
            pending.clear()
            self._ensure_capacity(len(leftover))
            self._buf[: len(leftover)] = leftover
            self._end = len(leftover)

    # ------------------------------------------------------------------ public

    def recv_data(self) -> Tuple[int, bytes]:
        """The next message or control frame as ``(opcode, payload)``. See the module doc."""
        buf = self._buf
        while True:
            start = self._start
            avail = self._end - start
            need = 2
            if avail >= 2:
                b0 = buf[start]
                b1 = buf[start + 1]
                length = b1 & 0x7F
                head = 2
                if length == 126:
                    head = 4
                    if avail >= 4:
                        length = buf[start + 2] << 8 | buf[start + 3]
                elif length == 127:
                    head = 10
                    if avail >= 10:
                        length = int.from_bytes(buf[start + 2 : start + 10], "big")
                if b1 & 0x80:
                    head += 4  # a masking key (servers must not mask; websocket-client accepts it)
                need = head + length if avail >= head else head
                if avail >= need:
                    payload = bytes(
                        self._view[start + head - (4 if b1 & 0x80 else 0) : start + need]
                    )
                    self._start = start + need
                    if b0 == _FIN_TEXT and not b1 & 0x80 and self._frag_opcode is None:
                        return _TEXT, payload  # the hot path: a whole, unmasked text frame
                    message = self._frame(b0, bool(b1 & 0x80), payload)
                    if message is not None:
                        return message
                    buf = self._buf
                    continue
            self._fill(need)
            buf = self._buf

    # ------------------------------------------------------------------ frames

    def _frame(self, b0: int, masked: bool, payload: bytes) -> Optional[Tuple[int, bytes]]:
        """Validate and handle a frame off the hot path; ``None`` means read on."""
        if masked:
            payload = _ABNF.mask(payload[:4], payload[4:])
        fin = b0 >> 7 & 1
        opcode = b0 & 0x0F
        frame = _ABNF(fin, b0 >> 6 & 1, b0 >> 5 & 1, b0 >> 4 & 1, opcode, 0, payload)
        frame.validate(skip_utf8_validation=True)
        if opcode in (_TEXT, _BINARY, _CONT):
            return self._data(fin, opcode, payload)
        if opcode == _CLOSE:
            # The peer may be gone already; its close frame is what matters.
            with contextlib.suppress(OSError, websocket.WebSocketException):
                self._ws.send_close()
            return opcode, payload
        if opcode == _PING:
            if len(payload) >= 126:
                raise websocket.WebSocketProtocolException("Ping message is too long")
            self._ws.pong(payload)
        return opcode, payload  # ping or pong

    def _data(self, fin: int, opcode: int, payload: bytes) -> Optional[Tuple[int, bytes]]:
        if opcode == _CONT:
            if self._frag_opcode is None:
                raise websocket.WebSocketProtocolException("Illegal frame")
        elif self._frag_opcode is not None:
            raise websocket.WebSocketProtocolException("Illegal frame")
        else:
            self._frag_opcode = opcode
        self._frag_parts.append(payload)
        if not fin:
            return None
        message_opcode = self._frag_opcode
        parts, self._frag_parts, self._frag_opcode = self._frag_parts, [], None
        return message_opcode, parts[0] if len(parts) == 1 else b"".join(parts)

    # ------------------------------------------------------------------ buffer

    def _ensure_capacity(self, need: int) -> None:
        """Make room for ``need`` bytes from ``_start`` (moving or replacing the buffer)."""
        start, end = self._start, self._end
        if start == end and len(self._buf) > self._size and need <= self._size:
            self._buf = bytearray(self._size)  # a big frame is done: back to the usual size
            self._view = memoryview(self._buf)
            self._start = self._end = 0
            return
        if start + need <= len(self._buf):
            return
        pending = bytes(self._view[start:end])  # a copy: source and target may overlap
        if need > len(self._buf):
            self._buf = bytearray(need)
            self._view = memoryview(self._buf)
        self._buf[: len(pending)] = pending
        self._start, self._end = 0, len(pending)

    def _fill(self, need: int) -> None:
        """Receive once (at least one byte) towards ``need`` bytes from ``_start``."""
        if self._start == self._end:
            self._start = self._end = 0
        self._ensure_capacity(need)
        try:
            n = self._recv_into(self._view[self._end :])
        except (socket.timeout, BlockingIOError, ssl.SSLWantReadError) as exc:
            raise websocket.WebSocketTimeoutException(str(exc) or "timed out") from None
        if not n:
            raise websocket.WebSocketConnectionClosedException(
                "Connection to remote host was lost."
            )
        self._end += n


def _closed(_buffer: Any) -> int:
    raise websocket.WebSocketConnectionClosedException("socket is already closed.")
