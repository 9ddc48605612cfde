"""A local WebSocket server that speaks the OpenAI Realtime GA protocol.

:class:`RealtimeSimulator` lets SDK tests and application tests run without
OpenAI: it accepts real WebSocket connections (``websockets``' threaded server),
answers every GA client event like the real server, and streams scripted replies.
It is an independent implementation that only exchanges JSON with its clients;
it imports nothing else from ``realtime_sync``, which is what lets it catch the
client's bugs.

Typical use::

    with RealtimeSimulator() as sim:
        sim.add_reply("weather", function_call=("get_weather", {"city": "Paris"}),
                      then_text="It is sunny in Paris.")
        client = MyClient(url=sim.url)
        ...
        assert sim.wait_for_received("response.create")["type"] == "response.create"

Run ``python -m realtime_sync.testing`` to serve one from the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import email.utils
import hmac
import http
import json
import logging
import sys
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    Union,
)
from urllib.parse import parse_qs, urlsplit

from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from ._session import (
    JSON,
    Outbox,
    PlannedCall,
    RealtimeSession,
    ReplyPlan,
    ReplyRequest,
    new_id,
)

__all__ = ["FunctionCall", "RealtimeSimulator", "ReplyRule", "ThenText", "main"]

logger = logging.getLogger("realtime_sync.testing")

ThenText = Union[str, Callable[[List[str]], str]]
"""A reply after tool results: fixed text, or a function of the outputs' ``output`` strings."""

FunctionCallSpec = Union[
    "FunctionCall",
    Tuple[str, Union[Mapping[str, Any], str]],
    Sequence[Union["FunctionCall", Tuple[str, Union[Mapping[str, Any], str]]]],
]
"""What ``add_reply(function_call=...)`` accepts: one call or a list of parallel calls."""

if TYPE_CHECKING:
    _LoggerAdapter = logging.LoggerAdapter[logging.Logger]
else:
    _LoggerAdapter = logging.LoggerAdapter


class _NoDebugLogger(_LoggerAdapter):
    """Logger for websockets that never enables DEBUG.

    At DEBUG level websockets logs every handshake header, ``Authorization``
    included; the simulator must never log the API key, whatever the user's
    logging configuration.
    """

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        return None


_THREAD_PREFIX = "realtime-simulator"
_BETA_MESSAGE = (
    "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
)
_CLOSE_TIMEOUT = 1.0


@dataclass(frozen=True)
class FunctionCall:
    """A function call the simulated model makes.

    ``arguments`` is a mapping (sent JSON-encoded) or an already-encoded JSON string.
    ``call_id`` defaults to a fresh ``call_...`` id for every response.
    """

    name: str
    arguments: Union[Mapping[str, Any], str] = field(default_factory=dict)
    call_id: Optional[str] = None

    def encoded_arguments(self) -> str:
        """The arguments as the JSON string the protocol carries."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class ReplyRule:
    """A scripted answer, chosen when ``when`` matches the user's last words.

    ``when`` is a case-insensitive substring or a predicate on the text. When it
    matches, the response carries ``text`` (spoken with ``audio`` or a generated
    tone when the output modality is audio) and/or ``function_calls``. Once the
    client answers those calls with ``function_call_output`` items, the next
    response says ``then_text``.
    """

    when: Union[str, Callable[[str], bool]]
    text: Optional[str] = None
    audio: Optional[bytes] = None
    function_calls: Tuple[FunctionCall, ...] = ()
    then_text: Optional[ThenText] = None

    def matches(self, text: str) -> bool:
        """Whether this rule applies to the user's ``text``."""
        if isinstance(self.when, str):
            return self.when.lower() in text.lower()
        return bool(self.when(text))


def default_reply(user_text: Optional[str]) -> str:
    """The simulator's answer when no rule matches."""
    if not user_text:
        return "Hello! I am the realtime_sync simulator. How can I help you today?"
    return f'You said: "{user_text}". I am the realtime_sync simulator.'


def _normalize_calls(spec: Optional[FunctionCallSpec]) -> Tuple[FunctionCall, ...]:
    if spec is None:
        return ()
    if isinstance(spec, FunctionCall):
        return (spec,)
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        name, arguments = spec
        if not isinstance(arguments, (str, Mapping)):
            raise TypeError("function_call arguments must be a mapping or a JSON string")
        return (FunctionCall(name, arguments),)
    calls: List[FunctionCall] = []
    for entry in spec:
        if isinstance(entry, str):
            raise TypeError("function_call must be FunctionCall, (name, arguments) or a list")
        calls.extend(_normalize_calls(entry))
    return tuple(calls)


def _http_response(status: int, body: str) -> Response:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    data = body.encode("utf-8")
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(data))),
            ("Content-Type", "application/json; charset=utf-8"),
        ]
    )
    return Response(status, phrase, headers, data)


def _error_body(message: str, *, type_: str, code: Optional[str]) -> str:
    return json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}})


def _default_rejection_body(status: int) -> str:
    if status == 401:
        return _error_body(
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            type_="invalid_request_error",
            code="invalid_api_key",
        )
    if status == 429:
        return _error_body(
            "Rate limit reached for requests. Please try again later.",
            type_="requests",
            code="rate_limit_exceeded",
        )
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return _error_body(
        f"{status} {phrase}",
        type_="server_error" if status >= 500 else "invalid_request_error",
        code=None,
    )


class _Host:
    """The view of the simulator a session gets (see ``SessionHost``)."""

    def __init__(self, sim: RealtimeSimulator) -> None:
        self._sim = sim

    @property
    def event_delay(self) -> float:
        return float(self._sim.event_delay)

    @property
    def audio_chunk_ms(self) -> int:
        return int(self._sim.audio_chunk_ms)

    @property
    def send_rate_limits(self) -> bool:
        return bool(self._sim.send_rate_limits)

    @property
    def transcript_for_audio(self) -> str:
        return str(self._sim.transcript_for_audio)

    def plan_reply(self, request: ReplyRequest) -> ReplyPlan:
        return self._sim._plan_reply(request)

    def record_received(self, event: JSON) -> None:
        self._sim._record(event, received=True)


class _Link:
    """One open connection and its session."""

    def __init__(self, connection: ServerConnection, outbox: Outbox) -> None:
        self.connection = connection
        self.outbox = outbox


class RealtimeSimulator:
    """A local OpenAI Realtime (GA) WebSocket server for tests.

    Args:
        host: interface to listen on.
        port: TCP port; 0 picks a free one (read it back from :attr:`url`).
        api_key: when set, handshakes must carry ``Authorization: Bearer <api_key>``
            or they are refused with HTTP 401, like the real API. The key is never
            logged nor printed.
        event_delay: seconds to wait between two streamed response events
            (settable later through the attribute of the same name).
        audio_chunk_ms: audio duration carried by one ``response.output_audio.delta``.
        model: the session model when the URL has no ``?model=``.
        send_rate_limits: send ``rate_limits.updated`` after each ``response.done``.
        transcript_for_audio: what the simulator "hears" in user audio; it is also the
            text of input audio transcriptions.
        keep_history: record :attr:`received` and :attr:`sent` (turn off for a
            long-running server; :meth:`wait_for_received` then cannot be used).
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        api_key: Optional[str] = None,
        event_delay: float = 0.0,
        audio_chunk_ms: int = 100,
        model: str = "gpt-realtime",
        send_rate_limits: bool = True,
        transcript_for_audio: str = "Hello there.",
        keep_history: bool = True,
    ) -> None:
        if audio_chunk_ms <= 0:
            raise ValueError("audio_chunk_ms must be positive")
        self._host = host
        self._port = port
        self._api_key = api_key
        self._model = model
        self._keep_history = keep_history
        self.event_delay: float = event_delay
        """Seconds to wait between two streamed response events."""
        self.audio_chunk_ms: int = audio_chunk_ms
        """Audio duration carried by one ``response.output_audio.delta``."""
        self.send_rate_limits: bool = send_rate_limits
        """Whether ``rate_limits.updated`` follows each ``response.done``."""
        self.transcript_for_audio: str = transcript_for_audio
        """What the simulator "hears" in user audio (and transcribes)."""
        # Guards _received, _sent, _rules, _call_rules, _links, _threads, _connection_count,
        # _serial, _rejection, _pending_drop, _server, _thread and _bound_port; signals an
        # event recorded, a connection accepted or a connection closed.
        self._cond = threading.Condition()
        self._received: List[JSON] = []
        self._sent: List[JSON] = []
        self._rules: List[ReplyRule] = []
        self._call_rules: Dict[str, ReplyRule] = {}
        self._links: Set[_Link] = set()
        self._threads: Set[threading.Thread] = set()
        self._connection_count = 0
        self._serial = 0
        self._rejection: Optional[Tuple[int, str]] = None
        self._pending_drop: Optional[int] = None
        self._server: Optional[Server] = None
        self._thread: Optional[threading.Thread] = None
        self._bound_port: Optional[int] = None
        self._session_host = _Host(self)

    # -- lifecycle

    def start(self) -> RealtimeSimulator:
        """Bind the socket and serve from a daemon thread named "realtime-simulator"."""
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
                logger=_NoDebugLogger(logging.getLogger("realtime_sync.testing.websockets"), {}),
            )
            self._server = server
            self._bound_port = int(server.socket.getsockname()[1])
            self._thread = threading.Thread(
                target=server.serve_forever, name=_THREAD_PREFIX, daemon=True
            )
            self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection (code 1001), stop listening and join all threads.

        Returns within about ``timeout`` seconds even if a client never answers the
        closing handshake. Calling it twice is harmless.
        """
        with self._cond:
            server, thread = self._server, self._thread
            self._server = None
            self._thread = None
        if server is None or thread is None:
            return
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

    def __enter__(self) -> RealtimeSimulator:
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
        """``ws://HOST:PORT/v1/realtime`` of the running server."""
        with self._cond:
            port = self._bound_port
        if port is None:
            raise RuntimeError("the simulator is not started: call start() or use `with`")
        host = f"[{self._host}]" if ":" in self._host else self._host
        return f"ws://{host}:{port}/v1/realtime"

    # -- observation

    @property
    def received(self) -> List[JSON]:
        """Every client event received so far (parsed JSON objects), oldest first."""
        with self._cond:
            return list(self._received)

    @property
    def sent(self) -> List[JSON]:
        """Every JSON server event sent (or being sent), oldest first (raw frames excluded)."""
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
    def active_connections(self) -> int:
        """How many connections are open now."""
        with self._cond:
            return len(self._links)

    def wait_for_received(self, type_: str, *, timeout: float = 5.0, count: int = 1) -> JSON:
        """Block until the ``count``-th client event of type ``type_`` has arrived; return it.

        Raises:
            TimeoutError: it did not arrive within ``timeout`` seconds.
        """
        if not self._keep_history:
            raise RuntimeError("wait_for_received() needs keep_history=True")
        if count < 1:
            raise ValueError("count must be at least 1")

        def nth() -> Optional[JSON]:
            seen = 0
            for event in self._received:
                if event.get("type") == type_:
                    seen += 1
                    if seen == count:
                        return event
            return None

        with self._cond:
            found = self._cond.wait_for(nth, timeout)
            if found is None:
                types = [e.get("type") for e in self._received]
                raise TimeoutError(
                    f"client event {type_!r} #{count} not received within {timeout}s; "
                    f"received: {types}"
                )
            return found

    def wait_for_connections(self, count: int, *, timeout: float = 5.0) -> None:
        """Block until :attr:`connection_count` reaches ``count``.

        Raises:
            TimeoutError: it did not within ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: self._connection_count >= count, timeout):
                raise TimeoutError(
                    f"{self._connection_count} connection(s) after {timeout}s, wanted {count}"
                )

    def wait_until_idle(self, *, timeout: float = 5.0) -> None:
        """Block until no connection is open (the server finished cleaning up after them).

        Raises:
            TimeoutError: connections were still open after ``timeout`` seconds.
        """
        with self._cond:
            if not self._cond.wait_for(lambda: not self._links, timeout):
                raise TimeoutError(f"{len(self._links)} connection(s) still open after {timeout}s")

    # -- scripting

    def add_reply(
        self,
        when: Union[str, Callable[[str], bool]],
        *,
        text: Optional[str] = None,
        audio: Optional[bytes] = None,
        function_call: Optional[FunctionCallSpec] = None,
        then_text: Optional[ThenText] = None,
    ) -> ReplyRule:
        """Script an answer; rules are tried in the order they were added.

        Args:
            when: case-insensitive substring of the user's last message, or a
                predicate on it ("" matches everything).
            text: what the model says (audio + transcript, or text, depending on
                the output modality).
            audio: raw audio to stream instead of the generated tone, in the
                session's output format (PCM16 24 kHz mono by default).
            function_call: a :class:`FunctionCall`, a ``(name, arguments)`` pair,
                or a list of those for parallel calls in one response.
            then_text: the answer once the client returned the calls' outputs;
                a callable receives the list of ``output`` strings. Defaults to
                "The tool returned: <outputs>".
        """
        if not isinstance(when, str) and not callable(when):
            raise TypeError("when must be a substring or a callable(text) -> bool")
        rule = ReplyRule(
            when=when,
            text=text,
            audio=bytes(audio) if audio is not None else None,
            function_calls=_normalize_calls(function_call),
            then_text=then_text,
        )
        with self._cond:
            self._rules.append(rule)
        return rule

    def clear_replies(self) -> None:
        """Remove every scripted reply."""
        with self._cond:
            self._rules.clear()

    def _plan_reply(self, request: ReplyRequest) -> ReplyPlan:
        with self._cond:
            rules = list(self._rules)
            call_rules = dict(self._call_rules)
        if request.tool_outputs:
            outputs = [o.output for o in request.tool_outputs]
            owner = next(
                (call_rules[o.call_id] for o in request.tool_outputs if o.call_id in call_rules),
                None,
            )
            then = owner.then_text if owner is not None else None
            if callable(then):
                text = str(then(outputs))
            elif isinstance(then, str):
                text = then
            else:
                text = "The tool returned: " + "; ".join(outputs)
            return ReplyPlan(text=text)
        user_text = request.user_text
        rule = next((r for r in rules if r.matches(user_text or "")), None)
        if rule is None:
            return ReplyPlan(text=default_reply(user_text))
        calls = tuple(
            PlannedCall(
                name=call.name,
                arguments=call.encoded_arguments(),
                call_id=call.call_id or new_id("call", 16),
            )
            for call in rule.function_calls
        )
        with self._cond:
            for call in calls:
                self._call_rules[call.call_id] = rule
        reply = rule.text
        if reply is None and (rule.audio is not None or not calls):
            reply = default_reply(user_text) if not calls else ""
        return ReplyPlan(text=reply, audio=rule.audio, calls=calls)

    # -- fault injection and server pushes

    def reject_handshake(self, status: Optional[int] = 401, *, body: Optional[str] = None) -> None:
        """Refuse the following handshakes with HTTP ``status`` (None accepts them again).

        ``body`` defaults to a JSON error like the real API's for that status.
        """
        with self._cond:
            if status is None:
                self._rejection = None
            else:
                self._rejection = (
                    status,
                    body if body is not None else _default_rejection_body(status),
                )

    def drop_after(self, n_server_events: Optional[int]) -> None:
        """Close the TCP connection abruptly (no close frame) after N more server events.

        Applies to every open connection; when none is open, to the next connection
        accepted (its ``session.created`` counts). 0 drops at once; None disarms.
        Raw frames from :meth:`send_raw` are not counted.
        """
        with self._cond:
            links = list(self._links)
            self._pending_drop = None if links else n_server_events
        for link in links:
            link.outbox.arm_drop(n_server_events)

    def send_raw(self, data: Union[str, bytes]) -> None:
        """Send a raw frame to every open connection: str as text, bytes as binary."""
        for link in self._open_links():
            link.outbox.send_raw(data)

    def send_event(self, event: Mapping[str, Any]) -> None:
        """Send ``event`` verbatim (no ``event_id`` added) to every open connection."""
        payload = dict(event)
        for link in self._open_links():
            link.outbox.send_event(payload)

    def close_connections(self, code: int = 1011, reason: str = "") -> None:
        """Start a server-initiated closing handshake on every open connection.

        Returns at once; the handshake completes in the background (the server waits
        up to 1 s for the client's close frame, then for its TCP FIN, before dropping
        the TCP connection).
        """
        for link in self._open_links():
            link.outbox.mark_closing()
            closer = threading.Thread(
                target=self._close_quietly,
                args=(link.connection, code, reason),
                name=f"{_THREAD_PREFIX}-close",
                daemon=True,
            )
            self._track(closer)
            closer.start()

    @staticmethod
    def _close_quietly(connection: ServerConnection, code: int, reason: str) -> None:
        with contextlib.suppress(ConnectionClosed, OSError):
            connection.close(code, reason)

    def _open_links(self) -> List[_Link]:
        with self._cond:
            return list(self._links)

    def _track(self, thread: threading.Thread) -> None:
        with self._cond:
            self._threads = {t for t in self._threads if t.is_alive()}
            self._threads.add(thread)

    # -- server internals

    def _record(self, event: JSON, *, received: bool) -> None:
        if not self._keep_history:
            return
        with self._cond:
            (self._received if received else self._sent).append(event)
            self._cond.notify_all()

    def _process_request(
        self, _connection: ServerConnection, request: Request
    ) -> Optional[Response]:
        with self._cond:
            rejection = self._rejection
        if rejection is not None:
            return _http_response(*rejection)
        path = urlsplit(request.path).path
        if path.rstrip("/") != "/v1/realtime":
            return _http_response(
                404,
                _error_body(f"Invalid URL (GET {path})", type_="invalid_request_error", code=None),
            )
        if self._api_key is not None:
            values = request.headers.get_all("Authorization")
            auth = values[0] if values else ""
            scheme, _, token = auth.partition(" ")
            if not auth:
                return _http_response(
                    401,
                    _error_body(
                        "You didn't provide an API key. You need to provide your API key in an "
                        "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                        "YOUR_KEY).",
                        type_="invalid_request_error",
                        code=None,
                    ),
                )
            if scheme.lower() != "bearer" or not hmac.compare_digest(
                token.strip().encode("utf-8"), self._api_key.encode("utf-8")
            ):
                return _http_response(401, _default_rejection_body(401))
        return None

    def _handle(self, connection: ServerConnection) -> None:
        me = threading.current_thread()
        # websockets' frame reader for this socket (an implementation detail: optional).
        reader = getattr(connection, "recv_events_thread", None)
        with self._cond:
            self._serial += 1
            serial = self._serial
            me.name = f"{_THREAD_PREFIX}-connection-{serial}"
            self._connection_count += 1
            self._cond.notify_all()
        self._track(me)
        if isinstance(reader, threading.Thread):
            reader.name = f"{_THREAD_PREFIX}-reader-{serial}"
            self._track(reader)
        request = connection.request
        query = parse_qs(urlsplit(request.path).query) if request is not None else {}
        model = query.get("model", [self._model])[0]
        outbox = Outbox(connection, lambda event: self._record(event, received=False))
        beta = request.headers.get_all("OpenAI-Beta") if request is not None else []
        if any("realtime=v1" in value.replace(" ", "").lower() for value in beta):
            outbox.send_event(
                {
                    "type": "error",
                    "event_id": new_id("event"),
                    "error": {
                        "type": "invalid_request_error",
                        "code": "beta_api_shape_disabled",
                        "message": _BETA_MESSAGE,
                        "param": None,
                        "event_id": None,
                    },
                }
            )
            outbox.mark_closing()
            connection.close(4000, "invalid_request_error.beta_api_shape_disabled")
            return
        session = RealtimeSession(host=self._session_host, outbox=outbox, model=model)
        link = _Link(connection, outbox)
        with self._cond:
            self._links.add(link)
            pending, self._pending_drop = self._pending_drop, None
            self._cond.notify_all()
        try:
            if pending is not None:
                outbox.arm_drop(pending)
            session.start()
            for message in connection:
                session.handle_message(message)
        except ConnectionClosed:
            pass
        finally:
            session.close()
            with self._cond:
                self._links.discard(link)
                self._cond.notify_all()


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point: serve a simulator until Ctrl-C.

    ``python -m realtime_sync.testing --host 127.0.0.1 --port 8765`` prints the URL
    on stdout and serves until interrupted.
    """
    parser = argparse.ArgumentParser(
        prog="python -m realtime_sync.testing",
        description="Serve a local simulator of the OpenAI Realtime API (GA protocol).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="TCP port, 0 for any (8765)")
    parser.add_argument("--model", default="gpt-realtime", help="default session model")
    parser.add_argument(
        "--api-key", default=None, help="require 'Authorization: Bearer KEY' on handshakes"
    )
    parser.add_argument(
        "--event-delay", type=float, default=0.0, help="seconds between streamed events"
    )
    args = parser.parse_args(argv)
    sim = RealtimeSimulator(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        event_delay=args.event_delay,
        model=args.model,
        keep_history=False,
    )
    try:
        sim.start()
    except OSError as exc:
        print(f"cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    print(sim.url, flush=True)
    print("Realtime simulator running; press Ctrl-C to stop.", file=sys.stderr, flush=True)
    stop = threading.Event()
    try:
        if sys.platform == "win32":  # lock waits are not interruptible by Ctrl-C there
            while not stop.wait(0.5):
                pass
        else:
            stop.wait()
    except KeyboardInterrupt:
        pass
    finally:
        sim.stop()
    return 0
