"""A hand-rolled WebSocket server handshake, for tests that need a peer misbehaving on purpose."""

from __future__ import annotations

import base64
import hashlib
import socket

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def accept_handshake(conn: socket.socket, then: bytes = b"") -> None:
    """Read a client's upgrade request on ``conn`` and answer 101, followed by ``then``."""
    request = b""
    while b"\r\n\r\n" not in request:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("the client left during the handshake")
        request += chunk
    key = next(
        line.split(b":", 1)[1].strip()
        for line in request.split(b"\r\n")
        if line.lower().startswith(b"sec-websocket-key")
    )
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
    conn.sendall(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n" + then
    )
