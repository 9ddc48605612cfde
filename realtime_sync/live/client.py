"""LiveClient: a synchronous client of OpenAI's GPT-Live API (``/v1/live/sessions``).

Built like :class:`~realtime_sync.RealtimeClient`: a transport
(:class:`LiveAPI`, a :class:`~realtime_sync.api.RealtimeAPI` with the Live path
and wire format: one WebSocket, the reader thread, the dispatcher), the
sans-IO :class:`~realtime_sync.core.live.LiveSessionCore` that decides, and a
:class:`~realtime_sync.driver.CoreDriver` that carries its actions out.

A Live session is configured once, at ``session.start``, and then runs on its
own: the model hears the input audio and speaks when it decides to. Its clock
is the input audio, so audio must keep flowing for the whole session. The
**input pump** does that: a daemon thread named ``realtime-live-pump`` sends
the audio the app queued with :meth:`LiveClient.append_audio`, or silence when
there is none, in frames of ``frame_ms`` at real-time pace, from
``session.started`` until the session ends. ``pump=False`` turns it off: then
:meth:`~LiveClient.append_audio` sends at once and keeping the session fed is
the app's job.
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable, Iterator, List, Mapping, Optional, Sequence, Union

import attrs

from realtime_sync import events as ev
from realtime_sync import protocol
from realtime_sync.api import RealtimeAPI
from realtime_sync.core.live import (
    DEFAULT_FALLBACK,
    DELEGATION_TOOL,
    AppendKind,
    LiveCloseResult,
    LivePhase,
    LiveSessionCore,
)
from realtime_sync.dispatcher import EventFuture, Handler
from realtime_sync.driver import CoreDriver, RequestFuture
from realtime_sync.endpoints import LIVE_PATH, Credential, Endpoint, OpenAIEndpoint
from realtime_sync.errors import RealtimeError, RealtimeTimeoutError
from realtime_sync.pump import SILENCE_BYTE, AudioPump

from .enums import AudioFormatType, BuiltInVoice, TranscriptSource
from .events import LiveClientEvent
from .models import (
    AudioConfig,
    AudioFormat,
    AudioOutputConfig,
    CustomVoice,
    DecisionTrigger,
    Delegation,
    ErrorDetails,
    InitialItem,
    SessionConfig,
    SessionResource,
    SessionUpdateConfig,
    SessionUsage,
    TranscriptFragment,
)
from .transcripts import TranscriptGrouper, TranscriptGrouping, TranscriptSegment

__all__ = ["LiveAPI", "LiveClient", "LiveDelegation"]

logger = logging.getLogger("realtime_sync")

PUMP_THREAD = "realtime-live-pump"


class LiveAPI(RealtimeAPI):
    """The transport of a Live session: the Live path, ``decode_live`` / ``encode_live``.

    Takes the arguments of :class:`~realtime_sync.api.RealtimeAPI`; a ``url=``
    ending in ``/live/sessions`` (``LiveSimulator.url``) is used as given.
    Connect with ``model=""``: the Live model goes in ``session.start``, never
    in the URL.
    """

    api_path = LIVE_PATH
    _decode = staticmethod(protocol.decode_live)
    _encode = staticmethod(protocol.encode_live)
    _client_event_class = LiveClientEvent

    def __init__(
        self,
        *,
        url: Optional[str] = None,
        api_key: Optional[Credential] = None,
        endpoint: Optional[Endpoint] = None,
        **options: Any,
    ) -> None:
        if endpoint is None and url is not None and url.rstrip("/").endswith(LIVE_PATH):
            base = url.rstrip("/")[: -len(LIVE_PATH)]
            endpoint = OpenAIEndpoint(base_url=base, api_key=api_key)
            url = api_key = None
        super().__init__(url=url, api_key=api_key, endpoint=endpoint, **options)

    def send(self, event: Any) -> str:
        """Send a Live client event (typed, or a dict with ``type``); returns its ``event_id``."""
        return super().send(event)


@attrs.frozen
class LiveDelegation:
    """A task the Live model delegated to the application (``session.delegation.created``).

    The server says only *that* it delegated: ``transcript`` (what was said
    since the previous delegation, one fragment per stretch of one speaker) and
    :attr:`text` are the context to work out the task from. ``offset_ms`` is
    where on the session timeline it happened.
    """

    id: str
    offset_ms: Optional[int]
    transcript: Sequence[TranscriptFragment]

    @property
    def text(self) -> str:
        """The transcript as ``User: ...`` / ``Assistant: ...`` lines."""
        return "\n".join(
            f"{'User' if f.source is TranscriptSource.INPUT else 'Assistant'}: {f.text.strip()}"
            for f in self.transcript
        )


DelegationHandler = Callable[[LiveDelegation], Optional[str]]
"""Answers a delegation: the text the model may say (``None``: the app answers itself)."""


class LiveClient:
    """A GPT-Live session over a WebSocket, with the Realtime client's habits.

    Args:
        model: the Live model (``gpt-live-1``).
        instructions: the session's instructions (fixed at startup; add more
            later with :meth:`instruct`).
        voice: a built-in voice name (``"marin"``...) or a :class:`CustomVoice`.
        audio_format: the WebSocket audio format (default 24 kHz PCM16).
        history: up to 128 messages the session starts with (:class:`InitialItem`).
        delegation: who handles delegated tasks (``None``: the application).
        triggers: Decisions triggers.
        on_delegation: answers client delegations on a worker thread: gets a
            :class:`LiveDelegation`, returns what the model may say (sent as
            commentary for it). If it raises or takes more than
            ``delegation_timeout`` seconds, ``fallback`` is sent instead.
        pump: run the input pump (see the module docs); ``frame_ms`` its frame.
        url / api_key / endpoint / headers / debug / write_timeout: as for
            :class:`~realtime_sync.RealtimeClient`.
    """

    def __init__(
        self,
        *,
        model: str = "gpt-live-1",
        instructions: Optional[str] = None,
        voice: Union[str, BuiltInVoice, CustomVoice, None] = None,
        audio_format: Optional[AudioFormat] = None,
        history: Optional[Sequence[InitialItem]] = None,
        delegation: Optional[Delegation] = None,
        triggers: Optional[Sequence[DecisionTrigger]] = None,
        store: Optional[bool] = None,
        on_delegation: Optional[DelegationHandler] = None,
        delegation_timeout: Optional[float] = 30.0,
        fallback: str = DEFAULT_FALLBACK,
        pump: bool = True,
        frame_ms: int = 100,
        api_key: Optional[Credential] = None,
        url: Optional[str] = None,
        endpoint: Optional[Endpoint] = None,
        headers: Optional[Mapping[str, str]] = None,
        debug: bool = False,
        write_timeout: float = 20.0,
        tool_workers: int = 2,
        transcript_grouping: Optional[Callable[[], TranscriptGrouping]] = None,
    ) -> None:
        if history is not None and len(history) > 128:
            raise ValueError(
                f"a session starts with at most 128 history messages, not {len(history)}"
            )
        if not 10 <= frame_ms <= 1000:
            raise ValueError("frame_ms must be between 10 and 1000")
        chosen: Any = BuiltInVoice(voice) if isinstance(voice, str) else voice
        fmt = audio_format or AudioFormat.pcm16()
        self.config = SessionConfig(
            model=model,
            instructions=instructions,
            audio=AudioConfig(
                format=fmt, output=AudioOutputConfig(voice=chosen) if chosen else None
            ),
            delegation=delegation,
            input=list(history) if history is not None else None,
            triggers=list(triggers) if triggers is not None else None,
            store=store,
        )
        """The :class:`SessionConfig` ``session.start`` sends."""
        self.live = LiveAPI(
            url=url,
            api_key=api_key,
            endpoint=endpoint,
            headers=headers,
            debug=debug,
            write_timeout=write_timeout,
        )
        """The transport (:class:`LiveAPI`)."""
        self._on_delegation = on_delegation
        self._delegation_timeout = delegation_timeout
        self._fallback = fallback
        self._pump_enabled = pump
        self._frame_ms = frame_ms
        self._bytes_per_ms = (
            fmt.rate * 2 // 1000 if fmt.type == AudioFormatType.PCM else fmt.rate // 1000
        )
        self._core = self._new_core()
        self._driver = CoreDriver(
            self.live,
            answer_tool=self._delegation_answered,
            recycle=lambda reason: None,
            tool_workers=tool_workers,
        )
        self._driver.tool_handlers[DELEGATION_TOOL] = self._run_delegation
        self._grouping = transcript_grouping or TranscriptGrouping
        self.transcripts = TranscriptGrouper(self._grouping())
        """The transcript segments of the current (or last) session."""
        self._pump = AudioPump(
            self._send_frame,
            bytes_per_ms=self._bytes_per_ms,
            frame_ms=frame_ms,
            silence=SILENCE_BYTE.get(str(fmt.type.value), b"\x00"),
            name=PUMP_THREAD,
        )
        self.live.dispatcher.add_hook("session-core", self._on_event, first=True)

    def _new_core(self) -> LiveSessionCore:
        return LiveSessionCore(
            delegation_timeout=self._delegation_timeout,
            run_delegations=self._on_delegation is not None,
            fallback=self._fallback,
        )

    def __repr__(self) -> str:
        return f"LiveClient(url={self.live.url!r}, phase={self._core.phase.value})"

    def __enter__(self) -> LiveClient:
        if not self.is_connected():
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state

    def is_connected(self) -> bool:
        """True while the WebSocket is open."""
        return self.live.is_connected()

    @property
    def phase(self) -> LivePhase:
        """Where the session is (idle, starting, active, closing, closed)."""
        return self._core.phase

    @property
    def session(self) -> Optional[SessionResource]:
        """The session as the server last described it (``session.started`` / ``updated``)."""
        return self._core.session

    @property
    def usage(self) -> Optional[SessionUsage]:
        """The latest cumulative usage (audio seconds)."""
        return self._core.usage

    @property
    def errors(self) -> List[ErrorDetails]:
        """Every ``error`` the session saw, in order."""
        with self._driver.lock:
            return list(self._core.errors)

    def on(self, event_type: str, handler: Handler) -> Handler:
        """Run ``handler(event)`` on the dispatcher thread for each ``event_type`` event."""
        return self.live.on(event_type, handler)

    def off(self, event_type: str, handler: Optional[Handler] = None) -> None:
        """Remove one handler, or every handler of ``event_type``."""
        self.live.off(event_type, handler)

    def wait_for(
        self, event_type: str, *, predicate: Optional[Callable[[Any], bool]] = None
    ) -> EventFuture:
        """A future for the next ``event_type`` event (registered now: it cannot be missed)."""
        return self.live.wait_for(event_type, predicate=predicate)

    # ------------------------------------------------------------------ lifecycle

    def connect(self, timeout: float = 10.0) -> SessionResource:
        """Open the WebSocket, send ``session.start`` and wait for ``session.started``.

        Returns the started session. Starts the input pump (unless ``pump=False``).

        Raises:
            RealtimeConnectionError: the connection failed.
            LiveStartupError: the server refused the session (an ``error`` before
                ``session.started``; ``code`` says why).
            RealtimeTimeoutError: no ``session.started`` within ``timeout`` seconds.
        """
        if self.is_connected():
            raise RealtimeError("already connected: call close() first")
        with self._driver.lock:
            self._core = self._new_core()
        self.transcripts = TranscriptGrouper(self._grouping())
        self._pump.clear()
        self.live.connect(model="", timeout=timeout)
        future = self._driver.drive(
            lambda: self._core.start(self.config, time.monotonic()), "session.started"
        )
        assert future is not None
        try:
            session: SessionResource = future.result(timeout)
        except BaseException as exc:
            self._driver.forget(future)
            self.live.disconnect()
            if isinstance(exc, RealtimeTimeoutError):
                raise RealtimeTimeoutError(
                    f"no session.started within {timeout:g} s of session.start"
                ) from None
            raise
        if self._pump_enabled:
            self._start_pump()
        return session

    def close(self, timeout: float = 5.0) -> LiveCloseResult:
        """Send ``session.close``, wait for ``session.closed``, disconnect; returns how it ended.

        Idempotent. When ``session.closed`` does not come within ``timeout``
        seconds (or the connection drops first) the result has
        ``confirmed=False``: the session's finalization is not confirmed.
        """
        self._stop_pump()
        result: Optional[LiveCloseResult] = None
        if self.is_connected():
            future = self._driver.drive(lambda: self._core.close(time.monotonic()), "session.close")
            assert future is not None
            try:
                result = future.result(timeout)
            except RealtimeTimeoutError:
                self._driver.forget(future)
                logger.warning("no session.closed within %g s; disconnecting", timeout)
            except RealtimeError as exc:
                logger.warning("session.close failed: %s", exc)
        self.live.disconnect()
        self._driver.shutdown()
        self.transcripts.close()
        if result is None:
            with self._driver.lock:
                _, actions = self._core.close(time.monotonic())
            result = next(a.value for a in actions if hasattr(a, "value"))
        return result

    disconnect = close

    # ------------------------------------------------------------------ commands

    def speak(self, text: str, *, delegation_id: Optional[str] = None) -> RequestFuture:
        """Add commentary the model may say (``session.commentary.append``).

        Text over the 500-token limit goes in several commands. The future
        resolves with an :class:`~realtime_sync.core.live.AppendResult` once all
        are acknowledged, or fails with the server's error.
        """
        return self._append(AppendKind.COMMENTARY, text, delegation_id)

    def note(self, text: str, *, delegation_id: Optional[str] = None) -> RequestFuture:
        """Add silent thinking or progress (``session.thinking.append``); as :meth:`speak`."""
        return self._append(AppendKind.THINKING, text, delegation_id)

    def instruct(self, text: str, *, delegation_id: Optional[str] = None) -> RequestFuture:
        """Add developer instructions (``session.instructions.append``); as :meth:`speak`."""
        return self._append(AppendKind.INSTRUCTIONS, text, delegation_id)

    def _append(self, kind: AppendKind, text: str, delegation_id: Optional[str]) -> RequestFuture:
        def step() -> Any:
            return self._core.append(kind, text, time.monotonic(), delegation_id=delegation_id)

        future = self._driver.drive(step, f"session.{kind.value}.append")
        assert future is not None
        return future

    def update_session(
        self, config: Optional[SessionUpdateConfig] = None, **changes: Any
    ) -> RequestFuture:
        """``session.update`` (delegation, triggers); resolves with the updated session.

        Raises :class:`~realtime_sync.core.live.ImmutableSettingError` at once,
        sending nothing, for a setting fixed at startup (``model``, ``voice``,
        ``instructions``, ``audio``, ``input``...) or a change of delegation type.
        """
        update: Any = config if config is not None else changes

        def step() -> Any:
            return self._core.update_session(update, time.monotonic())

        future = self._driver.drive(step, "session.update")
        assert future is not None
        return future

    def mute(self) -> RequestFuture:
        """Mute the input (the model hears silence); resolves on ``session.input_audio.muted``."""
        future = self._driver.drive(lambda: self._core.mute(time.monotonic()), "mute")
        assert future is not None
        return future

    def unmute(self) -> RequestFuture:
        """Unmute the input; resolves on ``session.input_audio.unmuted``."""
        future = self._driver.drive(
            lambda: self._core.mute(time.monotonic(), muted=False), "unmute"
        )
        assert future is not None
        return future

    def append_audio(self, audio: Union[bytes, bytearray, memoryview]) -> None:
        """Input audio in the session's format (24 kHz PCM16 by default).

        With the pump, it is queued and sent at real-time pace; without it
        (``pump=False``), sent now.
        """
        if self._pump_enabled:
            self._pump.feed(audio)
            return
        self._driver.drive(lambda: (None, self._core.append_audio(bytes(audio))))

    @property
    def queued_audio_ms(self) -> float:
        """Milliseconds of queued input audio the pump has not sent yet."""
        return self._pump.queued_ms

    def transcript_segments(self, timeout: Optional[float] = None) -> Iterator[TranscriptSegment]:
        """Finished transcript segments as they finish (see :class:`TranscriptGrouper`).

        Ends when the session closes, or when none finished within ``timeout`` seconds.
        """
        return self.transcripts.segments(timeout)

    # ------------------------------------------------------------------ internals

    def _delegation_answered(self, delegation_id: str, output: str) -> List[Any]:
        return self._core.delegation_answered(delegation_id, output)  # the current core

    def _run_delegation(self, params: Mapping[str, Any]) -> Any:
        handler = self._on_delegation
        assert handler is not None
        transcript = tuple(
            TranscriptFragment(
                TranscriptSource(part["source"]), part["text"], part["start_ms"], part["end_ms"]
            )
            for part in params.get("transcript", ())
        )
        answer = handler(
            LiveDelegation(params["delegation_id"], params.get("offset_ms"), transcript)
        )
        return {"text": None if answer is None else str(answer)}

    def _on_event(self, event: Any, source: Optional[str]) -> None:
        """On the dispatcher thread, before any handler: the core takes the event."""
        if source == "server":
            now = time.monotonic()
            self._driver.drive(lambda: (None, self._core.receive(event, now)))
            self.transcripts.push(event)
        elif isinstance(event, ev.CloseEvent):
            reason = f"the connection closed: {event.reason or f'code {event.code}'}"
            self._driver.drive(lambda: (None, self._core.closed(time.monotonic(), reason)))
            self._pump.request_stop()
            self.transcripts.close()

    def _start_pump(self) -> None:
        self._pump.start()

    def _stop_pump(self) -> None:
        self._pump.stop()

    def _send_frame(self, frame: bytes) -> bool:
        sent: List[bool] = []

        def step() -> Any:
            actions = self._core.append_audio(frame)
            sent.append(bool(actions))
            return None, actions

        self._driver.drive(step)
        return sent[0]
