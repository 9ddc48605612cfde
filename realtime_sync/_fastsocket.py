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

One thread at a time may call :meth:`FrameReader.recv_data`. The pongs and
the close reply it writes go out under ``send_lock`` when one is given, so
they can never land between the pieces of a frame another thread is writing
(and a connection whose frame was cut off gets nothing more).
"""

from __future__ import annotations

import contextlib
import socket
import ssl
from typing import Any, ContextManager, List, Optional, Tuple

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
        send_lock: held while a pong or the close reply is written (the
            sender's lock, so those frames queue behind a frame being sent).
    """

    def __init__(
        self,
        ws: Any,
        buffer_size: int = DEFAULT_BUFFER_SIZE,
        send_lock: Optional[ContextManager[Any]] = None,
    ) -> None:
        sock = ws.sock
        self._ws = ws
        self._send_lock: ContextManager[Any] = (
            send_lock if send_lock is not None else contextlib.nullcontext()
        )
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
        while True:
            buf = self._buf
            start = self._start
            avail = self._end - start
            need = 2
            if avail >= 2:
                b1 = buf[start + 1]
                if b1 < 126:  # unmasked, 7-bit length
                    head = 2
                    need = 2 + b1
                elif b1 == 126 and avail >= 4:  # unmasked, 16-bit length (audio deltas)
                    head = 4
                    need = 4 + (buf[start + 2] << 8 | buf[start + 3])
                else:  # a 64-bit length, a masked frame, or too few bytes to tell
                    head, need = self._header(start, avail, b1)
                if avail >= need:
                    end = start + need
                    self._start = end
                    if buf[start] == _FIN_TEXT and b1 < 127 and self._frag_opcode is None:
                        # The hot path: a whole, unmasked text frame.
                        return _TEXT, self._view[start + head : end].tobytes()
                    masked = b1 >= 0x80
                    # A masked frame's payload starts with its 4-byte key.
                    payload = self._view[start + head - (4 if masked else 0) : end].tobytes()
                    message = self._frame(buf[start], masked, payload)
                    if message is not None:
                        return message
                    continue
            self._fill(need)

    def _header(self, start: int, avail: int, b1: int) -> Tuple[int, int]:
        """``(header size, frame size)`` of the frame at ``start``, or ``(0, bytes needed)``.

        Any frame: 7-, 16- or 64-bit length, masked or not (servers must not mask
        frames; websocket-client accepts masked ones, so this does too).
        """
        length = b1 & 0x7F
        head = 2
        if length == 126:
            head = 4
            if avail < 4:
                return 0, 4
            length = int.from_bytes(self._buf[start + 2 : start + 4], "big")
        elif length == 127:
            head = 10
            if avail < 10:
                return 0, 10
            length = int.from_bytes(self._buf[start + 2 : start + 10], "big")
        if b1 & 0x80:
            head += 4
        return head, head + length

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
            with self._send_lock, contextlib.suppress(OSError, websocket.WebSocketException):
                self._ws.send_close()
            return opcode, payload
        if opcode == _PING:
            if len(payload) >= 126:
                raise websocket.WebSocketProtocolException("Ping message is too long")
            with self._send_lock:
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
        # A buffer grown for a big frame goes back to the usual size once that is done.
        oversized = len(self._buf) > self._size and need <= self._size
        if start + need <= len(self._buf) and not oversized:
            return
        pending = self._view[start:end].tobytes()  # a copy: source and target may overlap
        if oversized or need > len(self._buf):
            self._buf = bytearray(max(need, self._size))
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
