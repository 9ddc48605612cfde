"""The Live simulator's server: handshakes, connections, observation and scripting knobs."""

from __future__ import annotations

import hmac
import json
import logging
import re
import threading
import time
from types import TracebackType
from typing import Any, Callable, Dict, List, Mapping, Optional, Set, Tuple, Type, Union
from urllib.parse import urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from realtime_sync.testing._handshake import NoDebugLogger, http_response, rejection_body
from realtime_sync.testing._ids import JSON
from realtime_sync.testing._outbox import Outbox

from ._script import DelegationRule, FunctionCallSpec, Matcher, ReplyRule, Script
from ._session import LiveSession, StoredSession

__all__ = ["LiveSimulator"]

_THREAD_PREFIX = "live-simulator"
_CLOSE_TIMEOUT = 1.0
_PATH = re.compile(r"^/v1/live/sessions(?:/(?P<id>[^/]+)/(?P<kind>attach|fork))?/?$")


def _error_body(message: str, code: Optional[str] = None) -> str:
    return json.dumps(
        {
            "error": {
                "message": message,
                "type": "invalid_request_error",
                "param": None,
                "code": code,
            }
        }
    )


class LiveSimulator:
    """A local OpenAI GPT-Live WebSocket server for tests (``/v1/live/sessions``).

    Args:
        host: interface to listen on.
        port: TCP port; 0 picks a free one (read it back from :attr:`url`).
        model: a model accepted by ``session.start`` besides ``gpt-live-1`` and
            ``gpt-live-1.1`` (any other model is an ``invalid_value`` error on
            ``session.model``); set it to try a future model name.
        api_key: when set, handshakes must carry ``Authorization: Bearer <api_key>``
            or they are refused with HTTP 401. Never logged.
        event_delay: seconds to wait before each streamed speech event (transcript
            fragment or audio chunk) the simulator emits.

    The simulated session's clock is its input audio: see the attributes
    :attr:`idle_timeout`, :attr:`silence_ms`, :attr:`transcript_for_audio`,
    :attr:`ms_per_word`, :attr:`usage_interval_ms`, :attr:`continuous_output_audio`,
    :attr:`acknowledgement_text` and the methods :meth:`add_reply`,
    :meth:`add_delegation`, :meth:`close_session`, :meth:`send_error`.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str = "gpt-live-1",
        api_key: Optional[str] = None,
        event_delay: float = 0.0,
        idle_timeout: float = 10.0,
        transcript_for_audio: str = "Hello there.",
    ) -> None:
        self._host = host
        self._port = port
        self._api_key = api_key
        self.model: str = model
        """A model ``session.start`` accepts besides gpt-live-1 and gpt-live-1.1."""
        self.event_delay: float = event_delay
        """Seconds to wait before each streamed speech event."""
        self.idle_timeout: float = idle_timeout
        """Wall-clock seconds without input audio after which a started session expires."""
        self.transcript_for_audio: str = transcript_for_audio
        """What the simulator "hears" in each user utterance (speech then silence)."""
        self.silence_ms: int = 500
        """Input silence (ms) after speech that ends a user utterance."""
        self.min_speech_ms: int = 100
        """Shortest stretch of speech-like input (ms) that counts as an utterance."""
        self.ms_per_word: int = 300
        """Timeline duration of one spoken (output or input transcript) word."""
        self.usage_interval_ms: int = 1000
        """Timeline interval of ``session.usage.updated`` events (0: only on close)."""
        self.usage_breakdown: bool = False
        """Add ``active_seconds`` / ``paused_seconds`` to usage, as eligible WebRTC sessions
        do (the simulated session never pauses: ``paused_seconds`` is 0)."""
        self.continuous_output_audio: bool = True
        """Send output audio for every input chunk (silence when not speaking); when
        False, only while the model speaks."""
        self.acknowledgement_text: Optional[str] = None
        """What the model says on its own after a delegation's ``acknowledgement_delay_ms``
        (None: no automatic acknowledgement)."""
        self.script = Script()
        """The scripted replies and delegations (see :meth:`add_reply`)."""
        # Guards _received, _sent, _links, _threads, _stored, _connection_count, _serial,
        # _rejection, _server, _thread and _bound_port; signals an event recorded, a
        # connection accepted or closed.
        self._cond = threading.Condition()
        self._received: List[JSON] = []
        self._sent: List[JSON] = []
        self._links: Set[LiveSession] = set()
        self._threads: Set[threading.Thread] = set()
        self._stored: Dict[str, StoredSession] = {}
        self._connection_count = 0
        self._serial = 0
        self._rejection: Optional[Tuple[int, str]] = None
        self._server: Optional[Server] = None
        self._thread: Optional[threading.Thread] = None
        self._bound_port: Optional[int] = None

    # -- lifecycle

    def start(self) -> LiveSimulator:
        """Bind the socket and serve from a daemon thread named "live-simulator".

        Raises:
            RuntimeError: openai-python with ``openai.types.live`` (>= 3.57), which
                validates every client event, is not installed.
        """
        try:
            import openai.types.live  # noqa: F401, PLC0415 - checked once, used by _wire
        except ImportError as exc:
            raise RuntimeError(
                "LiveSimulator validates events with openai.types.live: pip install 'openai>=3.57'"
            ) from exc
        with self._cond:
            if self._server is not None:
                raise RuntimeError("the simulator is already running")
            server = serve(
                self._handle,
                self._host,
                self._port,
                process_request=self._process_request,
                ping_interval=None,
                close_timeout=_CLOSE_TIMEOUT,
                max_size=16 * 2**20,
                logger=NoDebugLogger(logging.getLogger("realtime_sync.testing.websockets"), {}),
            )
            self._server = server
            self._bound_port = int(server.socket.getsockname()[1])
            self._thread = threading.Thread(
                target=server.serve_forever, name=_THREAD_PREFIX, daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection, stop listening and join all threads (idempotent)."""
        with self._cond:
            server, thread = self._server, self._thread
            self._server = None
            self._thread = None
            sessions = list(self._links)
        if server is None or thread is None:
            return
        for session in sessions:
            session.shutdown()
        deadline = time.monotonic() + timeout
        server.shutdown()
        thread.join(max(deadline - time.monotonic(), 0.0))
        while True:
            with self._cond:
                threads = [t for t in self._threads if t.is_alive()]
                self._threads = set(threads)
            if not threads or time.monotonic() >= deadline:
                break
            threads[0].join(max(deadline - time.monotonic(), 0.0))

    def __enter__(self) -> LiveSimulator:
        return self.start()

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        tb: Optional[TracebackType],
    ) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        """Whether the server is accepting connections."""
        with self._cond:
            return self._server is not None

    @property
    def url(self) -> str:
        """``ws://HOST:PORT/v1/live/sessions`` of the running server."""
        return f"{self.base_url}/v1/live/sessions"

    @property
    def base_url(self) -> str:
        """``ws://HOST:PORT`` of the running server."""
        with self._cond:
            port = self._bound_port
        if port is None:
            raise RuntimeError("the simulator is not started: call start() or use `with`")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"ws://{host}:{port}"

    def attach_url(self, session_id: str) -> str:
        """The sideband URL of a session: ``.../v1/live/sessions/{id}/attach``."""
        return f"{self.url}/{session_id}/attach"

    def fork_url(self, session_id: str) -> str:
        """The fork URL of a stored session: ``.../v1/live/sessions/{id}/fork``."""
        return f"{self.url}/{session_id}/fork"

    # -- observation

    @property
    def received(self) -> List[JSON]:
        """Every client event received (parsed JSON objects), oldest first, all connections."""
        with self._cond:
            return list(self._received)

    @property
    def sent(self) -> List[JSON]:
        """Every server event sent (or being sent), oldest first, all connections."""
        with self._cond:
            return list(self._sent)

    def clear_history(self) -> None:
        """Forget :attr:`received` and :attr:`sent`."""
        with self._cond:
            self._received.clear()
            self._sent.clear()

    @property
    def connection_count(self) -> int:
        """How many WebSocket handshakes were accepted since start."""
        with self._cond:
            return self._connection_count

    @property
    def session_ids(self) -> List[str]:
        """The ids of the sessions started so far (stored or not), oldest first."""
        with self._cond:
            return list(self._stored)

    def wait_for_received(self, type_: str, *, timeout: float = 5.0, count: int = 1) -> JSON:
        """Block until the ``count``-th client event of type ``type_`` has arrived; return it.

        Raises:
            TimeoutError: it did not arrive within ``timeout`` seconds.
        """
        return self._wait(self._received, type_, timeout, count, "client")

    def wait_for_sent(self, type_: str, *, timeout: float = 5.0, count: int = 1) -> JSON:
        """Block until the ``count``-th server event of type ``type_`` was sent; return it.

        Raises:
            TimeoutError: it was not sent within ``timeout`` seconds.
        """
        return self._wait(self._sent, type_, timeout, count, "server")

    def _wait(self, events: List[JSON], type_: str, timeout: float, count: int, who: str) -> JSON:
        if count < 1:
            raise ValueError("count must be at least 1")

        def nth() -> Optional[JSON]:
            seen = 0
            for event in events:
                if event.get("type") == type_:
                    seen += 1
                    if seen == count:
                        return event
            return None

        with self._cond:
            found = self._cond.wait_for(nth, timeout)
            if found is None:
                types = [e.get("type") for e in events]
                raise TimeoutError(
                    f"{who} event {type_!r} #{count} not seen within {timeout}s; seen: {types}"
                )
            return found

    def wait_until_idle(self, *, timeout: float = 5.0) -> None:
        """Block until no connection is open.

        Raises:
            TimeoutError: connections were still open after ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: not self._links, timeout):
                raise TimeoutError(f"{len(self._links)} connection(s) still open after {timeout}s")

    # -- scripting

    def add_reply(self, when: Matcher, text: str, *, audio: Optional[bytes] = None) -> ReplyRule:
        """Script what the model says after a user utterance; rules are tried in order.

        Args:
            when: case-insensitive substring of the utterance's transcript (set by
                :attr:`transcript_for_audio`), or a predicate on it ("" matches all).
            text: what the model speaks: output transcript fragments (one word per
                :attr:`ms_per_word` of input time) and a tone as output audio.
            audio: raw PCM16 24 kHz mono to play instead of the tone (its length then
                sets the speech duration).
        """
        rule = ReplyRule(when=when, text=text, audio=audio)
        self.script.add_reply(rule)
        return rule

    def add_delegation(
        self,
        when: Matcher,
        *,
        function_call: Optional[FunctionCallSpec] = None,
        text: Optional[str] = None,
        then_text: Union[str, Callable[[List[str]], str], None] = None,
        status: str = "completed",
        error: Optional[Mapping[str, Any]] = None,
        incomplete_reason: str = "max_output_tokens",
    ) -> DelegationRule:
        """Script a delegation after a matching user utterance (tried before replies).

        With ``client`` delegation (the default) the session sends
        ``session.delegation.created`` (an id and an offset, no task text) and waits for
        the application's thinking/commentary naming that id.

        With ``responses`` delegation the backend's stream arrives in ``response.event``:

        Args:
            when: substring of (or predicate on) the utterance transcript.
            function_call: ``(name, arguments)`` (arguments a dict or JSON string), or a
                list of them: the backend's first response calls them; the application
                must ``response.item.create`` a ``function_call_output`` for every call
                and then send ``response.create``.
            text: the backend's answer when it calls no function (spoken by the model).
            then_text: the answer after the function outputs (a callable receives the
                outputs); default "The tool returned: <outputs>".
            status: "completed", "failed" or "incomplete": how the backend response
                ends (``response.failed`` / ``response.incomplete``, nothing spoken).
            error: for "failed": ``response.error`` (default a ``server_error``).
            incomplete_reason: for "incomplete": ``incomplete_details.reason``.
        """
        if status not in ("completed", "failed", "incomplete"):
            raise ValueError("status must be 'completed', 'failed' or 'incomplete'")
        rule = DelegationRule.build(
            when,
            function_call=function_call,
            text=text,
            then_text=then_text,
            status=status,
            error=dict(error) if error is not None else None,
            incomplete_reason=incomplete_reason,
        )
        self.script.add_delegation(rule)
        return rule

    def clear_script(self) -> None:
        """Remove every scripted reply and delegation."""
        self.script.clear()

    # -- server pushes and faults

    def close_session(
        self, reason: str = "expired", *, error: Optional[Mapping[str, Any]] = None
    ) -> None:
        """End every open primary session with ``session.closed`` (``reason``).

        ``reason`` is one of "close_requested", "expired", "content", "remote_hangup",
        "connection_lost". ``error`` (e.g. ``{"code": "session_storage_failed",
        "message": "..."}``) is sent first as an ``error`` event. The WebSocket is then
        closed normally.
        """
        allowed = ("close_requested", "expired", "content", "remote_hangup", "connection_lost")
        if reason not in allowed:
            raise ValueError(f"reason must be one of {allowed}")
        for session in self._sessions():
            session.close_session(reason, error=dict(error) if error is not None else None)

    def send_error(
        self,
        code: str,
        message: str = "",
        *,
        type_: str = "server_error",
        param: Optional[str] = None,
    ) -> None:
        """Send an ``error`` event to every open connection (the session goes on)."""
        for session in self._sessions():
            session.emit_error(code, message or code, type_=type_, param=param)

    def send_event(self, event: Mapping[str, Any]) -> None:
        """Send ``event`` verbatim to every open connection (not validated)."""
        for session in self._sessions():
            session.outbox.send_event(dict(event))

    def drop_connections(self) -> None:
        """Drop every TCP connection abruptly: no ``session.closed``, no close frame."""
        for session in self._sessions():
            session.outbox.abort()

    def reject_handshake(self, status: Optional[int] = 401, *, body: Optional[str] = None) -> None:
        """Refuse the following handshakes with HTTP ``status`` (None accepts them again)."""
        with self._cond:
            if status is None:
                self._rejection = None
            else:
                self._rejection = (status, body if body is not None else rejection_body(status))

    def _sessions(self) -> List[LiveSession]:
        with self._cond:
            return list(self._links)

    # -- hooks for sessions

    def record(self, event: JSON, *, received: bool) -> None:
        """Log an event of any connection (called by the sessions)."""
        with self._cond:
            (self._received if received else self._sent).append(event)
            self._cond.notify_all()

    def store(self, stored: StoredSession) -> None:
        """Remember a started session (for attach, and for fork when ``store`` is true)."""
        with self._cond:
            self._stored[stored.id] = stored

    def lookup(self, session_id: str) -> Optional[StoredSession]:
        """A session started on this simulator, by id."""
        with self._cond:
            return self._stored.get(session_id)

    def live_session(self, session_id: str) -> Optional[LiveSession]:
        """The open primary session of that id, if any."""
        with self._cond:
            for session in self._links:
                if session.kind != "attach" and session.session_id == session_id:
                    return session
        return None

    def track(self, thread: threading.Thread) -> None:
        """Join ``thread`` on :meth:`stop`."""
        with self._cond:
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)

    # -- server internals

    def _process_request(
        self, _connection: ServerConnection, request: Request
    ) -> Optional[Response]:
        with self._cond:
            rejection = self._rejection
        if rejection is not None:
            return http_response(*rejection)
        path = urlsplit(request.path).path
        match = _PATH.match(path)
        if match is None:
            return http_response(404, _error_body(f"Invalid URL (GET {path})"))
        if self._api_key is not None:
            values = request.headers.get_all("Authorization")
            scheme, _, token = (values[0] if values else "").partition(" ")
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode("utf-8"), self._api_key.encode("utf-8")
            ):
                return http_response(401, rejection_body(401))
        session_id = match.group("id")
        if session_id is not None:
            stored = self.lookup(session_id)
            kind = match.group("kind")
            if stored is None or (kind == "fork" and not stored.store):
                return http_response(
                    404, _error_body(f"Session '{session_id}' not found.", "session_not_found")
                )
            if kind == "attach" and self.live_session(session_id) is None:
                return http_response(
                    409, _error_body(f"Session '{session_id}' is not active.", "session_not_active")
                )
        return None

    def _handle(self, connection: ServerConnection) -> None:
        me = threading.current_thread()
        with self._cond:
            self._serial += 1
            me.name = f"{_THREAD_PREFIX}-connection-{self._serial}"
            self._connection_count += 1
            self._cond.notify_all()
        self.track(me)
        request = connection.request
        match = _PATH.match(urlsplit(request.path).path) if request is not None else None
        kind = (match.group("kind") if match else None) or "primary"
        target = match.group("id") if match else None
        outbox = Outbox(connection, lambda event: self.record(event, received=False))
        session = LiveSession(self, outbox, kind=kind, target=target)
        with self._cond:
            self._links.add(session)
            self._cond.notify_all()
        try:
            session.open()
            for message in connection:
                session.handle_message(message)
        except ConnectionClosed:
            pass
        finally:
            session.connection_ended()
            with self._cond:
                self._links.discard(session)
                self._cond.notify_all()
