"""Typed exceptions raised by realtime_sync.

Every exception the SDK raises on purpose is a :class:`RealtimeError`, so
``except RealtimeError`` catches all of them. Messages say what to do next and
never contain the API key.
"""

from __future__ import annotations

from typing import Optional

__all__ = [
    "ConnectionClosedError",
    "NotConnectedError",
    "ProtocolError",
    "RealtimeConnectTimeoutError",
    "RealtimeConnectionError",
    "RealtimeError",
    "RealtimeRedirectError",
    "RealtimeServerError",
    "RealtimeTimeoutError",
]


class RealtimeError(Exception):
    """Base class of every error raised by realtime_sync."""


class RealtimeConnectionError(RealtimeError):
    """The WebSocket could not be opened (refused handshake, unreachable host, bad URL).

    ``status`` and ``body`` hold the HTTP status code and response body when the
    server refused the handshake (for example 401 for a bad API key).
    """

    def __init__(
        self, message: str, *, status: Optional[int] = None, body: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class RealtimeRedirectError(RealtimeConnectionError):
    """The server answered with an HTTP redirect, which the SDK never follows.

    Following one would send the API key (and every other header) to whatever
    host the redirect names, possibly over plain ``ws://``/``http://``.
    ``location`` is the redirect's target without its query string (``None``
    when the response named none); ``status`` is the HTTP status (301, 302...).
    If that target is the endpoint you mean, configure it directly.
    """

    def __init__(self, message: str, *, status: int, location: Optional[str]) -> None:
        super().__init__(message, status=status)
        self.location = location


class ConnectionClosedError(RealtimeError):
    """The connection closed while something was waiting on it.

    ``code`` and ``reason`` are the WebSocket close code and reason when known.
    """

    def __init__(
        self,
        message: str = "the connection closed",
        *,
        code: Optional[int] = None,
        reason: str = "",
    ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class NotConnectedError(ConnectionClosedError):
    """A method that needs an open connection was called without one.

    It is a :class:`ConnectionClosedError`, so one ``except`` covers both.
    """

    def __init__(self, message: str = "not connected: call connect() first") -> None:
        super().__init__(message)


class RealtimeTimeoutError(RealtimeError, TimeoutError):
    """A blocking call did not finish within its ``timeout``.

    It is also a builtin :class:`TimeoutError`, so either may be caught.
    """


class RealtimeConnectTimeoutError(RealtimeConnectionError, RealtimeTimeoutError):
    """The server accepted the TCP connection but did not finish the handshake in time."""


class ProtocolError(RealtimeError):
    """A wire message could not be turned into a typed event.

    ``event_type`` is the message's ``type`` (when it had one) and ``field``
    the offending field (when known). The transport never lets this escape
    its reader thread: it becomes an ``error`` utility event instead.
    """

    def __init__(
        self, message: str, *, event_type: Optional[str] = None, field: Optional[str] = None
    ) -> None:
        super().__init__(message)
        self.event_type = event_type
        self.field = field


class RealtimeServerError(RealtimeError):
    """The server answered with an ``error`` event.

    ``code``, ``error_type`` and ``param`` are copied from the server's error
    object; ``event_id`` is the id of the client event the error answers.
    """

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str] = None,
        error_type: Optional[str] = None,
        param: Optional[str] = None,
        event_id: Optional[str] = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.error_type = error_type
        self.param = param
        self.event_id = event_id
