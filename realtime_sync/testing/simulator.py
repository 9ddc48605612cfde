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

The situations of the live server a client must survive can be scripted too::

    sim.add_reply("story", text=long_text, event_delay=0.01)  # a long, cancellable answer
    sim.add_reply("cut", text="...", status="incomplete")     # response.done "incomplete"
    sim.add_reply("boom", text="...", status="failed")        # response.done "failed"
    audio = speech_audio(600)  # append it: server VAD commits a turn and answers it
    RealtimeSimulator(omit_fields={"conversation.item.input_audio_transcription.completed":
                                   ["usage"]})                # a field the server left out

Run ``python -m realtime_sync.testing`` to serve one from the command line.
"""

from __future__ import annotations

import argparse
import contextlib
import inspect
import logging
import math
import os
import sys
import threading
import time
from types import TracebackType
from typing import (
    Any,
    Callable,
    Dict,
    Iterable,
    List,
    Mapping,
    NoReturn,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    Union,
)
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve

from ._handshake import (
    BETA_CLOSE_REASON,
    NoDebugLogger,
    beta_error_event,
    check_handshake,
    error_body,
    http_response,
    rejection_body,
    wants_beta,
)
from ._host import ReplyPlan, ReplyRequest
from ._ids import JSON
from ._outbox import Outbox
from ._overrides import FieldOverrides
from ._script import (
    FunctionCall,
    FunctionCallSpec,
    ReplyBook,
    ReplyRule,
    ReplyScript,
    ScriptError,
    ThenText,
    check_rule_ending,
    default_reply,
    normalize_calls,
    parse_script,
    read_script,
)
from ._session import RealtimeSession

__all__ = [
    "FunctionCall",
    "FunctionCallSpec",
    "RealtimeSimulator",
    "ReplyRule",
    "ScriptError",
    "ThenText",
    "default_reply",
    "main",
]

logger = logging.getLogger("realtime_sync.testing")

_THREAD_PREFIX = "realtime-simulator"
_CLOSE_TIMEOUT = 1.0
# websockets >= 16 closes open connections (1001) in Server.shutdown(); 15 and older (15 is the
# newest for Python 3.9) only stop listening, so stop() closes them itself.
_SHUTDOWN_CLOSES = "close_connections" in inspect.signature(Server.shutdown).parameters


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
        return self._sim._replies.plan(request)

    def record_received(self, event: JSON) -> None:
        self._sim._record(event, received=True)

    def shape_event(self, event: JSON) -> JSON:
        return self._sim._overrides.apply(event)


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
        omit_fields: event type -> field names (dotted paths for nested fields) to
            leave out of every event of that type, e.g.
            ``{"conversation.item.input_audio_transcription.completed": ["usage"]}``;
            ``"*"`` selects every event type. See :meth:`omit_fields`.
        extra_fields: event type -> {field path: JSON value} to add to every event of
            that type, e.g. ``{"response.done": {"response.x_future": 1}}``. See
            :meth:`add_extra_fields`.

    Like the live server, text and transcript deltas (``response.output_text.delta``,
    ``response.output_audio_transcript.delta``,
    ``conversation.item.input_audio_transcription.delta``) carry an ``obfuscation``
    string (random padding), and a response whose ``max_output_tokens`` is reached
    ends ``incomplete`` (reason ``max_output_tokens``).
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
        omit_fields: Optional[Mapping[str, Iterable[str]]] = None,
        extra_fields: Optional[Mapping[str, Mapping[str, Any]]] = None,
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
        self._replies = ReplyBook()
        self._overrides = FieldOverrides()
        for event_type, fields in (omit_fields or {}).items():
            self._overrides.omit(event_type, fields)
        for event_type, extra in (extra_fields or {}).items():
            self._overrides.add(event_type, extra)
        # Guards _received, _sent, _links, _threads, _connection_count, _serial, _rejection,
        # _pending_drop, _server, _thread and _bound_port; signals an event recorded, a
        # connection accepted or a connection closed.
        self._cond = threading.Condition()
        self._received: List[JSON] = []
        self._sent: List[JSON] = []
        self._links: Set[_Link] = set()
        self._threads: Set[threading.Thread] = set()
        self._connection_count = 0
        self._serial = 0
        self._rejection: Optional[Tuple[int, str]] = None
        self._calls: Dict[str, Optional[JSON]] = {}  # SIP calls clients may attach to
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
        closing: Set[_Link] = set()
        while True:
            if not _SHUTDOWN_CLOSES:
                for link in self._open_links():
                    if link not in closing:
                        closing.add(link)
                        self._start_closing(link, 1001, "")
            with self._cond:
                threads = [t for t in self._threads if t.is_alive()]
                self._threads = set(threads)
            if not threads or time.monotonic() >= deadline:
                break
            wait = max(deadline - time.monotonic(), 0.0)
            threads[0].join(wait if _SHUTDOWN_CLOSES else min(wait, 0.05))

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
        status: str = "completed",
        status_reason: Optional[str] = None,
        error: Optional[Mapping[str, Any]] = None,
        stop_after_words: Optional[int] = None,
        event_delay: Optional[float] = None,
    ) -> ReplyRule:
        """Script an answer; rules are tried in the order they were added.

        Args:
            when: case-insensitive substring of the user's last message, or a
                predicate on it ("" matches everything).
            text: what the model says (audio + transcript, or text, depending on
                the output modality). A long text streams for a long time: one
                delta per word (plus one audio delta per ``audio_chunk_ms`` of the
                60 ms-per-character tone), each after ``event_delay``.
            audio: raw audio to stream instead of the generated tone, in the
                session's output format (PCM16 24 kHz mono by default).
            function_call: a :class:`FunctionCall`, a ``(name, arguments)`` pair,
                or a list of those for parallel calls in one response. Works in
                out-of-band responses too (``conversation: "none"``): the call item
                then exists only in that response.
            then_text: the answer once the client returned the calls' outputs;
                a callable receives the list of ``output`` strings. Defaults to
                "The tool returned: <outputs>".
            status: how the response ends: "completed", "incomplete" or "failed"
                (the calls are not made when it does not complete).
            status_reason: for "incomplete": "max_output_tokens" (the default) or
                "content_filter" (``response.status_details.reason``).
            error: for "failed": ``response.status_details.error``
                (default ``{"type": "server_error", "code": None, "message": ...}``).
            stop_after_words: for "incomplete" and "failed": how many words of
                ``text`` stream before the end (default: half of them for
                "incomplete"; none for "failed", which then has no output at all).
            event_delay: seconds between streamed events for this rule's responses
                (its answer and its ``then_text``), instead of :attr:`event_delay`.
        """
        if not isinstance(when, str) and not callable(when):
            raise TypeError("when must be a substring or a callable(text) -> bool")
        check_rule_ending(status, status_reason, error, stop_after_words, event_delay)
        rule = ReplyRule(
            when=when,
            text=text,
            audio=bytes(audio) if audio is not None else None,
            function_calls=normalize_calls(function_call),
            then_text=then_text,
            status=status,
            status_reason=status_reason,
            error=dict(error) if error is not None else None,
            stop_after_words=stop_after_words,
            event_delay=event_delay,
        )
        self._replies.add(rule)
        return rule

    def clear_replies(self) -> None:
        """Remove every scripted reply."""
        self._replies.clear()

    def load_script(
        self, script: Union[str, os.PathLike[str], Sequence[Any], Mapping[str, Any]]
    ) -> List[ReplyRule]:
        """Add the replies of a JSON reply script: a file's path, or its parsed JSON.

        The script is a list of replies (or ``{"replies": [...],
        "transcript_for_audio": "..."}``, which also sets :attr:`transcript_for_audio`);
        each reply holds the keyword arguments of :meth:`add_reply` that JSON can
        carry::

            [
              {"when": "weather",
               "function_call": {"name": "get_weather", "arguments": {"city": "Paris"}},
               "then_text": "The tool said: {output}"},
              {"when": "", "text": "I only know about the weather."}
            ]

        ``function_call`` is one ``{"name", "arguments", "call_id"}`` object or a list
        of them; ``{output}`` in ``then_text`` is replaced by the tool's output. The
        whole script is checked before any reply is added. Returns the rules added.

        Raises:
            ScriptError: (a ValueError) the file cannot be read, is not JSON, or a reply
                is malformed; the message names the file, the reply and the key.
        """
        parsed: ReplyScript
        if isinstance(script, (str, os.PathLike)):
            parsed = read_script(script)
        else:
            parsed = parse_script(script)
        rules = [self.add_reply(**reply) for reply in parsed.replies]
        if parsed.transcript_for_audio is not None:
            self.transcript_for_audio = parsed.transcript_for_audio
        return rules

    # -- wire fidelity

    def omit_fields(self, event_type: str, *fields: str) -> None:
        """Leave ``fields`` out of every later event of ``event_type`` ("*": every type).

        A field is a name or a dotted path into nested objects
        (``"response.usage"``). Use it to check that a client tolerates a live
        server that drops a non-essential field, e.g.
        ``sim.omit_fields("conversation.item.input_audio_transcription.completed", "usage")``.
        Applies to the events sessions emit, not to :meth:`send_event` /
        :meth:`send_raw`; :attr:`sent` shows the events as sent.
        """
        self._overrides.omit(event_type, fields)

    def add_extra_fields(self, event_type: str, fields: Mapping[str, Any]) -> None:
        """Add unknown ``fields`` (path -> JSON value) to every later event of ``event_type``.

        For wire-fidelity tests: a client must ignore fields a newer server sends,
        e.g. ``sim.add_extra_fields("*", {"x_new": True})`` or
        ``sim.add_extra_fields("response.done", {"response.x_new": 1})``. A field the
        event already has is never replaced; a path whose parent object is missing
        is skipped.
        """
        self._overrides.add(event_type, fields)

    def clear_field_overrides(self) -> None:
        """Forget every :meth:`omit_fields` and :meth:`add_extra_fields` (and constructor) rule."""
        self._overrides.clear()

    # -- fault injection and server pushes

    def add_call(self, call_id: str, *, session: Optional[Mapping[str, Any]] = None) -> None:
        """Know a SIP call: clients may attach with ``?call_id=`` (others get HTTP 404).

        ``session`` is the config the call was accepted with (a ``session.update``
        session object): the attached session starts with it.
        """
        with self._cond:
            self._calls[call_id] = dict(session) if session is not None else None

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
                    body if body is not None else rejection_body(status),
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
            self._start_closing(link, code, reason)

    def _start_closing(self, link: _Link, code: int, reason: str) -> None:
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
            calls = dict(self._calls)
        if rejection is not None:
            return http_response(*rejection)
        refused = check_handshake(request, self._api_key)
        if refused is not None:
            return refused
        call_id = parse_qs(urlsplit(request.path).query).get("call_id", [None])[0]
        if call_id is not None and call_id not in calls:
            return http_response(
                404,
                error_body(
                    f"Call '{call_id}' not found: accept it before attaching to it.",
                    type_="invalid_request_error",
                    code="call_not_found",
                ),
            )
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
        intent = query.get("intent", [None])[0]
        call_id = query.get("call_id", [None])[0]
        outbox = Outbox(connection, lambda event: self._record(event, received=False))
        if wants_beta(request):
            outbox.send_event(self._overrides.apply(beta_error_event()))
            outbox.mark_closing()
            connection.close(4000, BETA_CLOSE_REASON)
            return
        session = RealtimeSession(
            host=self._session_host, outbox=outbox, model=model, intent=intent
        )
        if call_id is not None:
            with self._cond:
                accepted = self._calls.get(call_id)
            if accepted:
                session.preset(accepted)  # the session the call was accepted with
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


class _Parser(argparse.ArgumentParser):
    """Errors in one line on stderr, exit code 2."""

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"{self.prog}: error: {message} (see --help)\n")
        raise SystemExit(2)


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range (0-65535, 0: any)")
    return value


def _delay(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds >= 0, not {text}")
    return value


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Command-line entry point: serve a simulator until Ctrl-C.

    ``python -m realtime_sync.testing --host 127.0.0.1 --port 8765`` prints the URL
    on stdout and serves until interrupted. ``--script FILE`` loads scripted
    replies and tool calls (:meth:`RealtimeSimulator.load_script`). Exit codes: 0
    after Ctrl-C, 1 when it cannot listen or the script is bad, 2 for bad options.
    """
    parser = _Parser(
        prog="python -m realtime_sync.testing",
        description="Serve a local simulator of the OpenAI Realtime API (GA protocol).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8765, help="TCP port, 0 for any (8765)")
    parser.add_argument("--model", default="gpt-realtime", help="default session model")
    parser.add_argument(
        "--api-key", default=None, help="require 'Authorization: Bearer KEY' on handshakes"
    )
    parser.add_argument(
        "--event-delay", type=_delay, default=0.0, help="seconds between streamed events"
    )
    parser.add_argument(
        "--script", metavar="FILE", help="scripted replies and tool calls, a JSON file"
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
    if args.script:
        try:
            rules = sim.load_script(args.script)
        except ScriptError as exc:
            print(f"{parser.prog}: error: {exc}", file=sys.stderr)
            return 1
        print(f"{len(rules)} scripted replies from {args.script}", file=sys.stderr)
    try:
        sim.start()
    except OSError as exc:
        print(
            f"{parser.prog}: error: cannot listen on {args.host}:{args.port}: {exc}",
            file=sys.stderr,
        )
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
