"""``RealtimeAPI``: the thin transport, one WebSocket driven by one reader thread.

The reader thread receives frames, decodes them to typed events and posts them
to the :class:`~realtime_sync.dispatcher.EventDispatcher`, whose own thread runs
the handlers. Sending happens on the caller's thread under a lock, so many
threads may send at once without interleaving frames.

A frame goes out whole or the connection is aborted: when anything (a
``KeyboardInterrupt``, a write timeout, a socket error) interrupts a frame being
written, whatever part of it reached the wire cannot be taken back, so the
socket is reset at once, the connection stops reporting itself connected and
the reader reports an error ``CloseEvent`` (which a reconnecting client acts on).

A process that forks inherits every ``RealtimeAPI`` and its socket, shared with
the parent. In the child those objects are marked inherited: they refuse to
send or connect, and ``disconnect()`` only drops references, so the child can
never close or corrupt the parent's session.
"""

from __future__ import annotations

import contextlib
import enum
import logging
import os
import socket
import struct
import sys
import threading
import time
import weakref
from typing import Any, Callable, Mapping, Optional, Tuple, Union, cast
from urllib.parse import urlsplit

import attrs
import websocket

from . import protocol
from ._fastsocket import FrameReader
from .dispatcher import EventDispatcher, EventFuture, Handler
from .endpoints import REALTIME_PATH, Credential, Endpoint, EndpointRequest, OpenAIEndpoint
from .errors import (
    ConnectionClosedError,
    NotConnectedError,
    ProtocolError,
    RealtimeConnectionError,
    RealtimeConnectTimeoutError,
    RealtimeError,
)
from .events import ClientEvent, CloseEvent, RawClientEvent, SdkErrorEvent
from .models import RealtimeErrorDetails
from .redact import redact_secrets, shorten_for_log
from .secrets import check_headers, public_url, redirect_refused
from .utils import generate_id

__all__ = ["DEFAULT_URL", "RealtimeAPI"]

logger = logging.getLogger("realtime_sync")

DEFAULT_URL = "wss://api.openai.com/v1/realtime"
"""The OpenAI Realtime endpoint."""

DEFAULT_MODEL = "gpt-realtime"
"""The model ``connect`` asks OpenAI for when none is given (see ``OpenAIEndpoint.model``)."""

_NORMAL_CLOSE = 1000
_ABNORMAL_CLOSE = 1006

# struct linger {on, 0 s}: close() then resets the connection and drops unsent bytes.
_LINGER_RESET = struct.pack("HH" if sys.platform == "win32" else "ii", 1, 0)

_INHERITED = (
    "this RealtimeAPI was inherited from the parent process through fork(): its connection "
    "belongs to the parent, so it cannot {what} here. Create a new RealtimeAPI (or "
    "RealtimeClient) in the child process"
)


class _State(enum.Enum):
    NEW = "new"
    OPEN = "open"
    CLOSING = "closing"  # disconnect() under way: the reader reports a normal close
    BROKEN = "broken"  # a frame was cut off: the socket is reset, the reader reports an error
    CLOSED = "closed"


class _Redirected(Exception):
    """Raised by :class:`_NoRedirectWebSocket` for a handshake answered with a redirect."""

    def __init__(self, status: int, location: Optional[str]) -> None:
        super().__init__(status, location)
        self.status = status
        self.location = location


class _NoRedirectWebSocket(websocket.WebSocket):
    """websocket-client's ``WebSocket``, except that a handshake redirect is never followed.

    websocket-client follows redirects by default and resends every header,
    Authorization included, to whatever host ``Location`` names (even from
    ``wss://`` to plain ``ws://``). With ``redirect_limit=0`` it stops at the
    first redirect and raises a bare ``WebSocketException``; this turns that
    into :class:`_Redirected`, carrying the status and target.
    """

    def connect(self, url: str, **options: Any) -> None:
        options["redirect_limit"] = 0
        try:
            super().connect(url, **options)  # type: ignore[no-untyped-call]
        except websocket.WebSocketException:
            response = getattr(self, "handshake_response", None)
            if response is not None and 300 <= response.status < 400:
                raise _Redirected(response.status, response.headers.get("location")) from None
            raise
        # websocket-client < 1.9.1 (1.9.0 is the newest for Python 3.9) raises nothing at
        # redirect_limit=0: it returns as if the redirect had opened the connection.
        response = self.handshake_response
        if response is not None and 300 <= response.status < 400:
            self.shutdown()  # type: ignore[no-untyped-call]
            raise _Redirected(response.status, response.headers.get("location"))


def _in_browser() -> bool:
    """True under Pyodide / other WebAssembly browser runtimes."""
    return sys.platform == "emscripten" or "pyodide" in sys.modules


class RealtimeAPI:
    """A WebSocket connection to the Realtime API (or a relay, or the simulator).

    Args:
        url: the endpoint; defaults to ``wss://api.openai.com/v1/realtime``.
        api_key: defaults to ``$OPENAI_API_KEY``. Needed for the default URL;
            a relay or the simulator may need none. A callable returning the
            key is called on every connect.
        endpoint: instead of ``url``/``api_key``: an
            :class:`~realtime_sync.endpoints.Endpoint` (Azure OpenAI, a token
            provider, a proxy, TLS settings). ``url``/``api_key`` build an
            :class:`~realtime_sync.endpoints.OpenAIEndpoint`.
        headers: extra handshake headers (on top of the endpoint's; one with
            the same name replaces the endpoint's).
        debug: log every frame (audio shortened) at DEBUG on ``realtime_sync``.
        dangerously_allow_api_key_in_browser: permit an API key in a browser
            runtime (Pyodide), where it would be visible to the page's users.
        ping_interval: seconds of silence before the client pings the server.
        ping_timeout: seconds to wait for any frame after a ping before the
            connection is declared dead.
        write_timeout: seconds a send may wait for the network to take more of
            a frame (a stalled uplink). When they pass, the frame is cut off,
            the connection is aborted and the send raises
            :class:`ConnectionClosedError`.
    """

    def __init__(
        self,
        *,
        url: Optional[str] = None,
        api_key: Optional[Credential] = None,
        headers: Optional[Mapping[str, str]] = None,
        endpoint: Optional[Endpoint] = None,
        debug: bool = False,
        dangerously_allow_api_key_in_browser: bool = False,
        ping_interval: float = 20.0,
        ping_timeout: float = 20.0,
        write_timeout: float = 20.0,
    ) -> None:
        if not write_timeout > 0:
            raise ValueError("write_timeout must be a positive number of seconds")
        if endpoint is not None and (url is not None or api_key is not None):
            raise ValueError(
                "pass endpoint= or url=/api_key=, not both: the endpoint carries its own URL and "
                "credentials (OpenAIEndpoint(url=..., api_key=...))"
            )
        if endpoint is not None and not isinstance(endpoint, Endpoint):
            raise TypeError(
                "endpoint= takes an Endpoint (OpenAIEndpoint(...) or AzureEndpoint(...)), not "
                f"{type(endpoint).__name__}"
            )
        # OpenAIEndpoint reads $OPENAI_API_KEY for api_key=None and strips the key.
        # DEFAULT_URL is read now, not at import, so tests may point it at a simulator.
        self.endpoint: Endpoint = endpoint or OpenAIEndpoint(
            url=url or DEFAULT_URL, api_key=api_key
        )
        self._headers = dict(headers or {})
        # The credentials of the latest handshake request: redacted from every message.
        self._secrets: Tuple[str, ...] = _static_secrets(self.endpoint)
        self.debug = debug
        self._allow_key_in_browser = dangerously_allow_api_key_in_browser
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.write_timeout = write_timeout
        self.dispatcher = EventDispatcher()
        # Guards _state, _ws, _reader, _close_info and _broken_reason: the
        # connection's lifecycle. Taken inside _send_lock, never the other way round.
        self._state_lock = threading.Lock()
        # Held while an event is posted and written (and while the reader writes a
        # ping, pong or close reply), so the wire order and the dispatch order of
        # client events agree and frames never interleave.
        self._send_lock = threading.Lock()
        self._state = _State.NEW
        self._ws: Optional[websocket.WebSocket] = None
        self._reader: Optional[threading.Thread] = None
        self._close_info: Optional[CloseEvent] = None
        self._broken_reason: Optional[str] = None  # why the connection was aborted
        self._inherited = False  # True in a forked child: see _after_fork_in_child
        self.model: Optional[str] = None
        """The model of the current (or last) connection (``None``: none was sent)."""
        self.call_id: Optional[str] = None
        """The SIP call of the current (or last) connection, when it attached to one."""
        _live.add(self)

    api_path = REALTIME_PATH
    """The protocol's WebSocket path under the endpoint's API base."""

    # The wire format: a subclass for another protocol (GPT-Live) replaces these three.
    _decode: Callable[[Union[str, bytes]], Any] = staticmethod(protocol.decode)
    """Decodes one server frame into a typed event (raises only ``ProtocolError``)."""
    _encode: Callable[[Any], str] = staticmethod(protocol.encode)
    """Encodes one typed client event into its JSON text."""
    _client_event_class: type = ClientEvent
    """The base class of the typed client events :meth:`send` takes (others: dicts)."""

    @property
    def url(self) -> str:
        """The WebSocket URL, before ``model=`` / ``call_id=`` are added."""
        return self.endpoint.websocket_url

    def __repr__(self) -> str:
        kind = self.endpoint.credential_kind
        key = {"api key": "set", "none": "none"}.get(kind, kind)
        return (
            f"RealtimeAPI(url={public_url(self.url)!r}, state={self._state.value}, api_key={key})"
        )

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = redact_secrets(text, secret)
        return redact_secrets(text)

    # ------------------------------------------------------------------ handlers

    def on(self, event_type: str, handler: Handler) -> Handler:
        """Register ``handler(event)`` for ``event_type`` (see :class:`EventDispatcher`)."""
        return self.dispatcher.on(event_type, handler)

    def on_next(self, event_type: str, handler: Handler) -> Handler:
        """Register a one-shot handler for the next ``event_type`` event."""
        return self.dispatcher.on_next(event_type, handler)

    def off(self, event_type: str, handler: Optional[Handler] = None) -> None:
        """Remove one handler, or all handlers of ``event_type``."""
        self.dispatcher.off(event_type, handler)

    def clear_handlers(self) -> None:
        """Remove every handler."""
        self.dispatcher.clear_handlers()

    def wait_for(
        self, event_type: str, *, predicate: Optional[Callable[[Any], bool]] = None
    ) -> EventFuture:
        """A future for the next ``event_type`` event (matching ``predicate``).

        Registered at call time, so ``f = api.wait_for(...); api.send(...);
        f.result(timeout=5)`` cannot miss the reply. It fails with
        :class:`ConnectionClosedError` when the connection closes. One
        registered while disconnected waits for the next connection (so
        ``wait_for(SESSION_CREATED)`` before :meth:`connect` works).
        """
        return self.dispatcher.wait_for(event_type, predicate=predicate)

    # ------------------------------------------------------------------ lifecycle

    def is_connected(self) -> bool:
        """True while the socket is open."""
        return self._state is _State.OPEN

    def connect(
        self,
        *,
        model: Optional[str] = None,
        timeout: float = 10.0,
        call_id: Optional[str] = None,
    ) -> None:
        """Open the WebSocket and start the reader thread; returns when the socket is open.

        The endpoint prepares a fresh request on every call (a key or token
        provider is called again), so a reconnect gets current credentials.

        Args:
            model: the model (Azure: the deployment), sent as ``model=``. Without
                it, the endpoint's default (``OpenAIEndpoint.model``, normally
                ``"gpt-realtime"``; ``AzureEndpoint.deployment``); when attaching
                to a call, none. ``model=""`` sends none (a transcription session).
            timeout: seconds for the TCP connection and the handshake.
            call_id: attach to this SIP call (from ``realtime.call.incoming``,
                after :func:`~realtime_sync.calls.accept_call`), sent as ``call_id=``.

        Anything raised while connecting (``KeyboardInterrupt`` included) leaves
        nothing behind: the socket is closed, the dispatcher thread this call
        started is stopped (pending ``wait_for`` futures fail), and the same
        object can connect again.

        Raises:
            RealtimeError: already connected; an API key is needed and missing;
                the key (or what a key or token provider returned, or the
                provider's own failure), a header or the URL contains characters
                that would corrupt the handshake; or this object was inherited
                through fork().
            RealtimeRedirectError: the server answered with a redirect (never followed).
            RealtimeConnectionError: the server refused the handshake (``status``
                and ``body`` are set) or could not be reached.
        """
        self._refuse_if_inherited("connect")
        if model is None and call_id is None:
            model = self.endpoint.default_model
        request = self._handshake_request(model, call_id)
        url = request.url
        if self._state is _State.BROKEN:
            self._join_old_threads()  # outside the lock: the ending reader needs it
        with self._state_lock:
            if self._state in (_State.OPEN, _State.CLOSING, _State.BROKEN):
                raise RealtimeError("already connected: call disconnect() before connecting again")
            self._join_old_threads()
            previous = self._state
            started = self.dispatcher.start()  # first: it refuses to run from a handler
            ws: Optional[websocket.WebSocket] = None
            reader: Optional[threading.Thread] = None
            try:
                ws = self._open(request, timeout)
                # Per socket call: bounds each wait of the reader and of a send.
                ws.settimeout(min(self.ping_interval, self.write_timeout))
                reader = threading.Thread(
                    target=self._read_loop, args=(ws,), name="realtime-reader", daemon=True
                )
                self._ws, self._reader = ws, reader
                self.model, self.call_id = model, call_id
                self._close_info = None
                self._broken_reason = None
                self._state = _State.OPEN
                reader.start()
            except BaseException:
                self._undo_connect(previous, ws, reader, started)
                raise
        logger.info("connected to %s", public_url(url))

    def _undo_connect(
        self,
        previous: _State,
        ws: Optional[websocket.WebSocket],
        reader: Optional[threading.Thread],
        started: bool,
    ) -> None:
        """Clean up after a failed or interrupted connect (``_state_lock`` held)."""
        if reader is not None and reader.ident is not None:
            # Interrupted while the reader was starting: it runs, so it reports the
            # close and stops the dispatcher itself once the socket is gone.
            self._state = _State.CLOSING
            if ws is not None:
                _abort(ws)
            return
        self._state = previous
        self._ws = None
        self._reader = None
        if ws is not None:
            _abort(ws)  # the handshake was done: do not leave a half-open session
        if started:
            self.dispatcher.stop(
                ConnectionClosedError("connect() did not complete: no session was opened")
            )

    def _open(self, request: EndpointRequest, timeout: float) -> websocket.WebSocket:
        """The WebSocket handshake, with its failures turned into typed errors."""
        url = request.url
        options = self.endpoint.websocket_options(url)
        key = request.secrets[0] if request.secrets else None
        try:
            return websocket.create_connection(
                url,
                class_=_NoRedirectWebSocket,
                header=[f"{name}: {value}" for name, value in request.headers],
                timeout=timeout,
                skip_utf8_validation=True,
                enable_multithread=True,
                suppress_origin=True,
                **options,
            )
        except _Redirected as exc:
            raise redirect_refused(
                "the WebSocket handshake", url, exc.status, exc.location, key
            ) from None
        except websocket.WebSocketBadStatusException as exc:
            status = getattr(exc, "status_code", None) or 0
            if 300 <= status < 400:  # a 3xx websocket-client does not treat as a redirect
                location = (getattr(exc, "resp_headers", None) or {}).get("location")
                raise redirect_refused(
                    "the WebSocket handshake", url, status, location, key
                ) from None
            raise self._refused(exc) from None
        except websocket.WebSocketProxyException as exc:
            proxy = options.get("http_proxy_host"), options.get("http_proxy_port")
            raise RealtimeConnectionError(
                f"could not connect to {public_url(url)} through the proxy {proxy[0]}:{proxy[1]}: "
                f"{self._redact(str(exc))} - check the proxy address and its credentials "
                "(proxy=, or HTTPS_PROXY / NO_PROXY in the environment)"
            ) from None
        except (socket.timeout, websocket.WebSocketTimeoutException):
            raise RealtimeConnectTimeoutError(
                f"no WebSocket handshake from {public_url(url)} within {timeout:g} s: "
                "the server is up but not answering; check the URL or try again"
            ) from None
        except (OSError, websocket.WebSocketException) as exc:
            detail = self._redact(str(exc))
            raise RealtimeConnectionError(
                f"could not connect to {public_url(url)}: {detail} - check the URL and network"
            ) from None

    def disconnect(self, timeout: float = 5.0) -> None:
        """Close the connection and join the threads. Idempotent; safe from a handler.

        In a process forked from the one that connected, it closes nothing (the
        socket is the parent's): it only lets go of the inherited connection.
        """
        if self._inherited:
            self._ws = None
            self._reader = None
            return
        with self._state_lock:
            ws, reader, state = self._ws, self._reader, self._state
            if state is _State.OPEN:
                self._state = _State.CLOSING
        if ws is None or state not in (_State.OPEN, _State.CLOSING, _State.BROKEN):
            self.dispatcher.join(timeout)
            return
        if state is _State.OPEN:  # a broken connection gets no close frame after its cut one
            self._send_close(ws)
        deadline = time.monotonic() + timeout
        if reader is not None and reader is not threading.current_thread():
            reader.join(max(0.0, min(1.0, timeout)))
            if reader.is_alive():
                _abort(ws)
                reader.join(max(0.0, deadline - time.monotonic()))
        self.dispatcher.join(max(0.0, deadline - time.monotonic()))

    def _send_close(self, ws: websocket.WebSocket) -> None:
        try:
            with self._send_lock:
                ws.send_close(_NORMAL_CLOSE, b"client disconnect")
        except Exception:  # the socket may be gone already
            logger.debug("close frame not sent", exc_info=True)
        except BaseException:
            _abort(ws, hard=True)  # interrupted mid close frame: nothing may follow it
            raise

    def _join_old_threads(self) -> None:
        """Let the previous connection's reader finish (the dispatcher's start() does its own)."""
        reader = self._reader
        if reader is not None and reader is not threading.current_thread():
            reader.join(5.0)

    # ------------------------------------------------------------------ sending

    def send(self, event: Union[ClientEvent, Mapping[str, Any]]) -> str:
        """Send a client event (typed, or a dict with ``type``); returns its ``event_id``.

        A missing ``event_id`` is filled in. A dict goes out as given apart from
        that. Thread-safe.

        The frame goes out whole or not at all: if writing it is interrupted
        (``KeyboardInterrupt``, the network taking nothing for ``write_timeout``
        seconds, a socket error), the connection is aborted at once, the reader
        reports an error ``CloseEvent`` and pending ``wait_for`` futures fail.

        Raises:
            NotConnectedError: not connected (or the connection was aborted).
            ConnectionClosedError: the frame could not be written whole; the
                connection is aborted (``KeyboardInterrupt`` and other
                non-I/O exceptions are re-raised as they are, after aborting).
            RealtimeError: this object was inherited through fork().
        """
        self._refuse_if_inherited("send")
        if isinstance(event, self._client_event_class):
            typed: Any = event
            if typed.event_id is None:
                typed = attrs.evolve(typed, event_id=generate_id("evt_"))
            event_id = typed.event_id
            text = self._encode(typed)
            dispatched: Any = typed
        else:
            event = cast(Mapping[str, Any], event)
            if not isinstance(event.get("type"), str):
                raise ValueError("an event dict needs a string 'type'")
            data = dict(event)
            event_id = data.setdefault("event_id", generate_id("evt_"))
            text = protocol.dumps(data)
            dispatched = RawClientEvent(type=data["type"], data=data)
        payload = text.encode("utf-8")  # before the write, so a bad string cannot cut a frame
        with self._send_lock:
            ws = self._ws
            if self._state is not _State.OPEN or ws is None:
                raise self._not_connected()
            if self.debug:
                logger.debug("sent %s", shorten_for_log(protocol.loads(text)))
            self.dispatcher.post(dispatched, "client")
            try:
                ws.send(payload, websocket.ABNF.OPCODE_TEXT)
            except BaseException as exc:
                # Part of the frame may be on the wire and cannot be taken back.
                reason = self._cut(ws, str(dispatched.type), exc)
                if isinstance(exc, (OSError, websocket.WebSocketException)):
                    raise ConnectionClosedError(
                        f"{dispatched.type!s} was not sent: {reason}. Connect again (a "
                        "RealtimeClient with reconnect= does that itself)",
                        code=_ABNORMAL_CLOSE,
                        reason=reason,
                    ) from None
                raise
        assert isinstance(event_id, str)
        return event_id

    def _cut(self, ws: websocket.WebSocket, kind: str, exc: BaseException) -> str:
        """Abort the connection whose ``kind`` frame ``exc`` interrupted; returns the reason."""
        if isinstance(exc, (socket.timeout, websocket.WebSocketTimeoutException)):
            why = f"the network took no more of it for {self.write_timeout:g} s (write_timeout)"
        elif isinstance(exc, (OSError, websocket.WebSocketException)):
            detail = self._redact(str(exc))
            why = f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__
        else:
            why = type(exc).__name__
        reason = f"a {kind} frame was cut off mid-send ({why}), so the connection was aborted"
        with self._state_lock:
            if self._state is _State.OPEN:
                self._state = _State.BROKEN
                self._broken_reason = reason
        _abort(ws, hard=True)
        return reason

    def _not_connected(self) -> NotConnectedError:
        reason = self._broken_reason
        if reason and self._state in (_State.BROKEN, _State.CLOSED):
            return NotConnectedError(f"not connected: {reason}; call connect() again")
        return NotConnectedError()

    # ------------------------------------------------------------------ fork

    def _refuse_if_inherited(self, what: str) -> None:
        if self._inherited:
            raise RealtimeError(_INHERITED.format(what=what))

    def _after_fork_in_child(self) -> None:
        """Mark this object inherited; runs in a forked child, before any other code there."""
        self._inherited = True
        # Another parent thread may have held these at the fork: in the child it
        # would hold them forever.
        self._state_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._state = _State.CLOSED

    # ------------------------------------------------------------------ reader thread

    def _read_loop(self, ws: websocket.WebSocket) -> None:
        dispatcher = self.dispatcher
        post = dispatcher.post
        decode = self._decode
        opcode_text = websocket.ABNF.OPCODE_TEXT
        opcode_close = websocket.ABNF.OPCODE_CLOSE
        last_rx = time.monotonic()
        ping_sent: Optional[float] = None
        code: Optional[int] = _ABNORMAL_CLOSE
        reason = ""
        # Receives like ws.recv_data(control_frame=True), through one large buffer.
        recv_data = FrameReader(ws, send_lock=self._send_lock).recv_data
        while True:
            try:
                opcode, data = recv_data()
            except websocket.WebSocketTimeoutException:
                now = time.monotonic()
                if ping_sent is not None and now - ping_sent >= self.ping_timeout:
                    reason = f"no answer to a ping in {self.ping_timeout:g} s"
                    break
                if ping_sent is None and now - last_rx >= self.ping_interval:
                    try:
                        with self._send_lock:
                            ws.ping()
                    except Exception:
                        reason = "ping failed"
                        break
                    ping_sent = now
                continue
            except Exception as exc:
                reason = "" if self._state is _State.CLOSING else f"connection lost: {exc}"
                if self._state is _State.CLOSING:
                    code = _NORMAL_CLOSE
                break
            last_rx = time.monotonic()
            ping_sent = None
            if opcode == opcode_text:
                if self.debug:
                    self._log_frame(data)
                try:
                    event = decode(data)
                except ProtocolError as exc:
                    self._report_protocol_error(exc, data)
                    continue
                post(event, "server")
                if dispatcher.queue_depth > 128:
                    # A flood: nap so the dispatcher gets the GIL and drains the queue.
                    # Otherwise the reader can hold it for whole switch intervals while
                    # events wait for up to 100+ ms (docs/performance.md).
                    time.sleep(0.0001)
            elif opcode == opcode_close:
                code, reason = _parse_close(data)
                break
            elif opcode == websocket.ABNF.OPCODE_BINARY:
                self._report_protocol_error(
                    ProtocolError(
                        "the server sent a binary frame; the Realtime API sends only text"
                    ),
                    b"",
                )
        self._finish(ws, code, reason)

    def _finish(self, ws: websocket.WebSocket, code: Optional[int], reason: str) -> None:
        with self._state_lock:
            if self._state is _State.BROKEN:
                code, reason = _ABNORMAL_CLOSE, self._broken_reason or reason
            by_user = self._state is _State.CLOSING
            self._state = _State.CLOSED
            info = CloseEvent(
                code=code,
                reason=reason,
                error=not (by_user or code == _NORMAL_CLOSE),
            )
            self._close_info = info
        _abort(ws)
        if info.error:
            logger.warning("connection closed: code %s %s", code, reason)
        else:
            logger.info("connection closed")
        self.dispatcher.post(info)
        self.dispatcher.stop(_closed_error(info))

    def _report_protocol_error(self, exc: ProtocolError, data: bytes) -> None:
        logger.warning("undecodable server frame: %s", exc)
        self.dispatcher.post(
            SdkErrorEvent(
                error=RealtimeErrorDetails(
                    type="protocol_error", code=exc.event_type or "invalid_frame", message=str(exc)
                ),
                exception=exc,
            )
        )

    def _log_frame(self, data: bytes) -> None:
        try:
            logger.debug("received %s", shorten_for_log(protocol.loads(data)))
        except Exception:
            logger.debug("received undecodable frame of %d bytes", len(data))

    # ------------------------------------------------------------------ handshake

    def _handshake_request(self, model: Optional[str], call_id: Optional[str]) -> EndpointRequest:
        """The endpoint's request for this connect, after checking that nothing in it can
        corrupt the handshake or leak the credential."""
        base = self.endpoint.websocket_request(path=self.api_path, model=model, call_id=call_id)
        request = base.with_headers(self._headers)
        self._secrets = request.secrets + self.endpoint.proxy_secrets(request.url)
        check_headers(dict(request.headers), request.secrets[0] if request.secrets else None)
        url = request.url
        if any(ch.isspace() or not ch.isprintable() for ch in url):
            raise RealtimeError(
                "the url= contains a space or a control character, which would corrupt the "
                "handshake request: percent-encode it"
            )
        if request.secrets and _in_browser() and not self._allow_key_in_browser:
            raise RealtimeError(
                "refusing to send an API key from a browser runtime, where the page's users "
                "could read it: use a relay server (url=...) or an ephemeral client secret, or "
                "pass dangerously_allow_api_key_in_browser=True if you accept the risk"
            )
        if request.secrets and urlsplit(url).scheme == "ws" and not _is_loopback(url):
            logger.warning(
                "sending an API key over unencrypted ws:// to %s: anyone on the network can "
                "read it; use wss://",
                public_url(url),
            )
        return request

    def _refused(self, exc: websocket.WebSocketBadStatusException) -> RealtimeConnectionError:
        status = getattr(exc, "status_code", None)
        raw = getattr(exc, "resp_body", None) or b""
        body = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else str(raw)
        body = self._redact(body)
        hint = {
            401: "check your API key (OPENAI_API_KEY)",
            403: "this key may not use the Realtime API or this model",
            404: "check the URL and the model name",
            429: "you are rate limited or out of quota",
        }.get(status or 0, "see the response body")
        return RealtimeConnectionError(
            f"the server refused the WebSocket handshake with HTTP {status}: {hint}."
            + (f" Response: {body[:500]}" if body else ""),
            status=status,
            body=body,
        )


def _static_secrets(endpoint: Endpoint) -> Tuple[str, ...]:
    """The fixed credentials an endpoint holds, for redaction before its first request."""
    key = getattr(endpoint, "api_key", None)
    return (key,) if isinstance(key, str) and key else ()


def _closed_error(info: Optional[CloseEvent]) -> ConnectionClosedError:
    if info is None:
        return ConnectionClosedError()
    detail = f" ({info.reason})" if info.reason else ""
    return ConnectionClosedError(
        f"the connection closed with code {info.code}{detail}", code=info.code, reason=info.reason
    )


def _parse_close(data: bytes) -> tuple[Optional[int], str]:
    if len(data) < 2:
        return 1005, ""
    (code,) = struct.unpack("!H", data[:2])
    return code, data[2:].decode("utf-8", "replace")


def _abort(ws: websocket.WebSocket, *, hard: bool = False) -> None:
    """Shut the socket down so a ``recv`` blocked in another thread returns.

    ``hard`` resets the connection instead of closing it: the bytes still
    queued (the rest of a cut-off frame) are dropped and the peer gets a reset.
    """
    sock = ws.sock
    if sock is not None:
        if hard:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _LINGER_RESET)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
    try:
        ws.shutdown()  # type: ignore[no-untyped-call]
    except Exception:
        logger.debug("socket shutdown failed", exc_info=True)


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "::1") or host.startswith("127.")


_live: weakref.WeakSet[RealtimeAPI] = weakref.WeakSet()
"""Every ``RealtimeAPI`` of this process, for the fork hook.

No lock: adding to it is atomic under the GIL, and a lock held by another
thread at fork time would stay held forever in the child.
"""


def _after_fork_in_child() -> None:
    for api in list(_live):
        api._after_fork_in_child()


if hasattr(os, "register_at_fork"):  # POSIX
    os.register_at_fork(after_in_child=_after_fork_in_child)
