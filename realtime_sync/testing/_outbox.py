"""The frame writer of one connection: serialized sends and the ``drop_after`` countdown."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
from typing import Callable, Optional, Union

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from ._ids import JSON

__all__ = ["Outbox"]


class Outbox:
    """Serialized sender for one connection, with the ``drop_after`` countdown."""

    def __init__(self, connection: ServerConnection, on_sent: Callable[[JSON], None]) -> None:
        self._connection = connection
        self._on_sent = on_sent
        # Guards _closed and _drop_countdown, and serializes writes to _connection.
        self._lock = threading.Lock()
        self._closed = False
        self._drop_countdown: Optional[int] = None

    @property
    def closed(self) -> bool:
        """Whether nothing can be sent any more."""
        return self._closed

    def send_event(self, event: JSON) -> bool:
        """Send one JSON event; False when the connection is gone."""
        text = json.dumps(event)
        with self._lock:
            if self._closed:
                return False
            # Recorded before the write: a fast client may act on the frame before send() returns.
            self._on_sent(event)
            try:
                self._connection.send(text)
            except (ConnectionClosed, OSError):
                self._closed = True
                return False
            if self._drop_countdown is not None:
                self._drop_countdown -= 1
                if self._drop_countdown <= 0:
                    self._abort_locked()
            return True

    def send_raw(self, data: Union[str, bytes]) -> bool:
        """Send a raw text (str) or binary (bytes) frame; not counted by ``drop_after``."""
        with self._lock:
            if self._closed:
                return False
            try:
                self._connection.send(data)
            except (ConnectionClosed, OSError):
                self._closed = True
                return False
            return True

    def arm_drop(self, n_events: Optional[int]) -> None:
        """Drop the TCP connection after ``n_events`` more events (None disarms, 0 drops now)."""
        with self._lock:
            if n_events is None:
                self._drop_countdown = None
            elif n_events <= 0:
                self._abort_locked()
            else:
                self._drop_countdown = n_events

    def abort(self) -> None:
        """Close the TCP connection abruptly, without a WebSocket close frame."""
        with self._lock:
            self._abort_locked()

    def _abort_locked(self) -> None:
        self._closed = True
        self._drop_countdown = None
        # FIN without a close frame; websockets' reader then sees EOF and cleans up.
        with contextlib.suppress(OSError):
            self._connection.socket.shutdown(socket.SHUT_RDWR)

    def mark_closing(self) -> None:
        """Stop sending: a closing handshake is about to start."""
        with self._lock:
            self._closed = True
