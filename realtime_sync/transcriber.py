"""``RealtimeTranscriber``: live speech-to-text over a Realtime *transcription session*.

A transcription session is opened at ``wss://api.openai.com/v1/realtime?intent=transcription``
(no ``model`` in the URL: the transcription model is part of the session config)
and configured with a ``session.update`` whose ``session.type`` is
``"transcription"``. It takes input audio only: server VAD (or your
:meth:`~RealtimeTranscriber.commit`) turns speech into items, and each item is
transcribed. There are no responses, voices, instructions or tools.

The transcriber drives its own sans-IO core
(:class:`~realtime_sync.core.transcription.TranscriptionSessionCore`) with a
:class:`~realtime_sync.driver.CoreDriver` over a
:class:`~realtime_sync.api.RealtimeAPI`, as
:class:`~realtime_sync.client.RealtimeClient` drives the Realtime core: server
events reach the core on the dispatcher thread, before any handler.
"""

from __future__ import annotations

import collections
import logging
import os
import threading
import time
from typing import Any, Deque, Dict, Iterator, List, Mapping, Optional, Union
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import attrs

from . import api as _api
from . import events as ev
from .api import RealtimeAPI
from .audioformat import ms_to_bytes
from .core.actions import Emit, Fail
from .core.transcription import (
    TRANSCRIPTION_LOGPROBS,
    Transcript,
    TranscriptDeltaEvent,
    TranscriptDoneEvent,
    TranscriptionSessionCore,
    TranscriptStatus,
)
from .driver import CoreDriver, EventRegistration, settle_update
from .errors import ConnectionClosedError, NotConnectedError, RealtimeError, RealtimeTimeoutError
from .models import (
    NOT_GIVEN,
    AudioConfig,
    AudioFormat,
    AudioInputConfig,
    InputAudioTranscriptionConfig,
    NoiseReduction,
    NoiseReductionType,
    NotGiven,
    RealtimeErrorDetails,
    SessionConfig,
    TurnDetection,
)
from .utils import base64_encode

__all__ = [
    "DEFAULT_TRANSCRIPTION_MODEL",
    "TRANSCRIPTION_INTENT",
    "RealtimeTranscriber",
    "Transcript",
    "TranscriptDeltaEvent",
    "TranscriptDoneEvent",
    "TranscriptStatus",
    "transcription_session",
    "transcription_url",
]

logger = logging.getLogger("realtime_sync")

DEFAULT_TRANSCRIPTION_MODEL = "gpt-4o-transcribe"
"""The transcription model a :class:`RealtimeTranscriber` asks for when none is given."""

TRANSCRIPTION_INTENT = "transcription"
"""The ``intent`` query value of the URL that opens a transcription session."""

_NO_VAD_MODELS = ("gpt-realtime-whisper",)  # streaming models that segment audio themselves

NoiseReductionSetting = Union[NoiseReduction, NoiseReductionType, str]
"""A noise reduction: a :class:`NoiseReduction`, or its type (``"near_field"``, ``"far_field"``)."""


def transcription_url(url: Optional[str] = None) -> str:
    """The URL that opens a transcription session: ``url`` (default OpenAI's) with
    ``?intent=transcription`` and no ``model``.

    Raises:
        ValueError: ``url`` names a model (that opens a conversation, which refuses a
            transcription config) or another intent.
    """
    base = url or _api.DEFAULT_URL
    parts = urlsplit(base)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if any(key == "model" for key, _ in query):
        raise ValueError(
            "a transcription session's URL takes no model= (that opens a conversation): "
            "pass the transcription model as RealtimeTranscriber(model=...)"
        )
    intents = [value for key, value in query if key == "intent"]
    if intents and intents != [TRANSCRIPTION_INTENT]:
        raise ValueError(f"the URL asks for intent={intents[0]!r}, not {TRANSCRIPTION_INTENT!r}")
    if not intents:
        query.append(("intent", TRANSCRIPTION_INTENT))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _noise_reduction(value: Optional[NoiseReductionSetting]) -> Optional[NoiseReduction]:
    if value is None or isinstance(value, NoiseReduction):
        return value
    return NoiseReduction(type=NoiseReductionType(value))


def transcription_session(
    *,
    model: str = DEFAULT_TRANSCRIPTION_MODEL,
    language: Optional[str] = None,
    prompt: Optional[str] = None,
    transcription: Optional[InputAudioTranscriptionConfig] = None,
    turn_detection: Union[TurnDetection, NotGiven, None] = NOT_GIVEN,
    noise_reduction: Union[NoiseReductionSetting, NotGiven, None] = NOT_GIVEN,
    input_format: Union[AudioFormat, str] = "pcm16",
    logprobs: bool = False,
) -> SessionConfig:
    """The ``session`` of a transcription ``session.update``: input audio settings only.

    ``transcription`` (a full :class:`InputAudioTranscriptionConfig`, with
    ``languages``, ``keywords``, ``delay``...) replaces ``model``, ``language``
    and ``prompt``. ``turn_detection`` defaults to server VAD (to none for
    ``gpt-realtime-whisper``, which segments the audio itself); ``None`` means
    manual commits. ``noise_reduction`` is left to the server unless given
    (``None`` turns it off). ``logprobs`` adds the token log-probabilities to
    every transcript (``include``).

    Nothing realtime-only is in it (no ``model``, ``instructions``,
    ``output_modalities``, ``tools``, ``audio.output``): a transcription session
    refuses those.
    """
    config = transcription or InputAudioTranscriptionConfig(
        model=model, language=language, prompt=prompt
    )
    if isinstance(turn_detection, NotGiven):
        turn_detection = None if config.model in _NO_VAD_MODELS else TurnDetection()
    audio_input = AudioInputConfig(
        format=AudioFormat.from_legacy(input_format),
        transcription=config,
        turn_detection=turn_detection,
    )
    if not isinstance(noise_reduction, NotGiven):
        audio_input = attrs.evolve(audio_input, noise_reduction=_noise_reduction(noise_reduction))
    return SessionConfig(
        type="transcription",
        audio=AudioConfig(input=audio_input),
        include=[TRANSCRIPTION_LOGPROBS] if logprobs else None,
    )


class RealtimeTranscriber(EventRegistration):
    """Live transcription of input audio over a Realtime transcription session.

    Stream audio with :meth:`append_input_audio`; each item of speech (cut by
    server VAD, or by :meth:`commit`) becomes a :class:`Transcript`. Iterate
    :meth:`transcripts` to get them, final and in the order they were spoken
    (or, after streaming a recording, call :meth:`finish`), or handle events:
    ``transcript.delta`` (:class:`TranscriptDeltaEvent`) as text arrives,
    ``transcript.done`` (:class:`TranscriptDoneEvent`) in item order, and every
    wire event (``conversation.item.input_audio_transcription.delta``...).

    Threads: the transport's reader and dispatcher, as for a
    :class:`~realtime_sync.client.RealtimeClient`; handlers run on the dispatcher.

    Args:
        model: the transcription model (``gpt-4o-transcribe``, ``gpt-4o-mini-transcribe``,
            ``whisper-1``, ``gpt-realtime-whisper``...).
        language: the audio's language (ISO-639-1, e.g. ``"en"``), a hint.
        prompt: text to guide the transcription (not every model takes one).
        transcription: a full :class:`InputAudioTranscriptionConfig`; replaces
            ``model``, ``language`` and ``prompt``.
        turn_detection: a :class:`TurnDetection` (server VAD by default; semantic
            VAD with ``TurnDetection(type=TurnDetectionType.SEMANTIC_VAD)``), or
            ``None`` to cut items yourself with :meth:`commit`.
        noise_reduction: ``"near_field"``, ``"far_field"`` or a :class:`NoiseReduction`
            (default: the server's, off).
        input_format: the audio you send: ``"pcm16"`` (24 kHz mono, the default),
            ``"g711_ulaw"``, ``"g711_alaw"`` or an :class:`AudioFormat`.
        logprobs: ask for the token log-probabilities of every transcript.
        api_key: defaults to ``$OPENAI_API_KEY``.
        url: the endpoint (default OpenAI's; a relay, or ``RealtimeSimulator.url``);
            ``?intent=transcription`` is added to it.
        headers: extra handshake headers.
        debug: log every frame at DEBUG on the ``realtime_sync`` logger.
        dangerously_allow_api_key_in_browser: permit a key in a browser runtime.
        write_timeout: seconds a send may wait for a stalled network (see :class:`RealtimeAPI`).
        history: how many delivered transcripts :attr:`history` keeps (``None``: all).
    """

    def __init__(
        self,
        *,
        model: str = DEFAULT_TRANSCRIPTION_MODEL,
        language: Optional[str] = None,
        prompt: Optional[str] = None,
        transcription: Optional[InputAudioTranscriptionConfig] = None,
        turn_detection: Union[TurnDetection, NotGiven, None] = NOT_GIVEN,
        noise_reduction: Union[NoiseReductionSetting, NotGiven, None] = NOT_GIVEN,
        input_format: Union[AudioFormat, str] = "pcm16",
        logprobs: bool = False,
        api_key: Optional[str] = None,
        url: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        debug: bool = False,
        dangerously_allow_api_key_in_browser: bool = False,
        write_timeout: float = 20.0,
        history: Optional[int] = 1000,
    ) -> None:
        config = transcription_session(
            model=model,
            language=language,
            prompt=prompt,
            transcription=transcription,
            turn_detection=turn_detection,
            noise_reduction=noise_reduction,
            input_format=input_format,
            logprobs=logprobs,
        )
        self._default_endpoint = url is None
        key: Any = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        self._has_key = callable(key) or bool(isinstance(key, str) and key.strip())
        self.realtime = RealtimeAPI(
            url=transcription_url(url),
            api_key=api_key,
            headers=headers,
            debug=debug,
            dangerously_allow_api_key_in_browser=dangerously_allow_api_key_in_browser,
            write_timeout=write_timeout,
        )
        """The transport (its dispatcher runs the handlers)."""
        self._core = TranscriptionSessionCore(config=config, history=history)
        self._driver = CoreDriver(
            self.realtime, answer_tool=lambda call_id, output: [], recycle=lambda reason: None
        )
        # Guards _done, _open and _uncommitted; signals a transcript delivered or the
        # connection gone.
        self._cond = threading.Condition()
        self._done: Deque[Transcript] = collections.deque()
        self._open = False
        self._uncommitted = 0  # bytes appended since the last commit() or clear()
        self.realtime.dispatcher.add_hook("transcription-core", self._on_event, first=True)

    def __repr__(self) -> str:
        return f"RealtimeTranscriber(url={self.realtime.url!r}, connected={self.is_connected()})"

    def __enter__(self) -> RealtimeTranscriber:
        if not self.is_connected():
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    # ------------------------------------------------------------------ state

    @property
    def session(self) -> Optional[SessionConfig]:
        """The session as the server last reported it."""
        with self._driver.lock:
            return self._core.session

    @property
    def session_config(self) -> SessionConfig:
        """The transcription session config this transcriber asks for."""
        with self._driver.lock:
            return self._core.config

    @property
    def pending(self) -> int:
        """Items committed (or being transcribed) whose transcript is not delivered yet."""
        with self._driver.lock:
            return self._core.pending

    @property
    def history(self) -> List[Transcript]:
        """This session's transcripts in item order: the delivered ones, then those in progress."""
        with self._driver.lock:
            return self._core.transcripts

    def get_transcript(self, item_id: str) -> Optional[Transcript]:
        """The transcript of ``item_id`` as it is now (``None`` when unknown)."""
        with self._driver.lock:
            return self._core.get_transcript(item_id)

    # ------------------------------------------------------------------ events

    # ------------------------------------------------------------------ connection

    def connect(self, *, timeout: float = 10.0) -> SessionConfig:
        """Open the transcription session and wait until the server confirmed its config.

        Returns the session as the server has it (``session.updated``, of type
        ``"transcription"``).

        Raises:
            RealtimeConnectionError: the connection failed (refused handshake, unreachable).
            RealtimeServerError: the server rejected the config.
            RealtimeTimeoutError: no configured session within ``timeout`` seconds.
            RealtimeError: already connected, no API key for OpenAI's endpoint, or
                the server opened something else than a transcription session.
        """
        if self.is_connected():
            raise RealtimeError("already connected: call disconnect() first")
        if self._default_endpoint and not self._has_key:
            raise RealtimeError(
                "no API key: set the OPENAI_API_KEY environment variable or pass api_key=...; "
                "to work offline, pass url= of a relay or of RealtimeSimulator"
            )
        now = time.monotonic()
        future = self._driver.drive(
            lambda: (self._core.open(now), []), "the transcription session handshake"
        )
        assert future is not None
        with self._cond:
            self._open = True  # before the socket: its close may be handled at once
        try:
            # No model in the URL: the transcription model is in the session config, and a
            # URL with a model opens a conversation. "" (not None) so that a transport whose
            # None means "its default model" adds none either.
            self.realtime.connect(model="", timeout=timeout)
            session: SessionConfig = future.result(timeout)
        except BaseException as exc:
            self._driver.forget(future)
            self._driver.drive(lambda: (None, self._core.closed(time.monotonic())))
            self.realtime.disconnect()
            self._set_closed()
            if isinstance(exc, RealtimeTimeoutError):
                raise RealtimeTimeoutError(
                    f"timed out after {timeout:g} s waiting for the transcription session"
                ) from None
            raise
        return session

    def disconnect(self, timeout: float = 5.0) -> None:
        """Close the connection and stop the threads. Idempotent; safe from a handler.

        Transcripts already delivered can still be read from :meth:`transcripts`.
        """
        self.realtime.disconnect(timeout)
        self._driver.shutdown()
        self._set_closed()

    def _set_closed(self) -> None:
        with self._cond:
            self._open = False
            self._cond.notify_all()

    # ------------------------------------------------------------------ session

    def update_session(
        self,
        *,
        model: Union[str, NotGiven] = NOT_GIVEN,
        language: Union[str, NotGiven, None] = NOT_GIVEN,
        prompt: Union[str, NotGiven, None] = NOT_GIVEN,
        transcription: Union[InputAudioTranscriptionConfig, NotGiven] = NOT_GIVEN,
        turn_detection: Union[TurnDetection, NotGiven, None] = NOT_GIVEN,
        noise_reduction: Union[NoiseReductionSetting, NotGiven, None] = NOT_GIVEN,
        input_format: Union[AudioFormat, str, NotGiven] = NOT_GIVEN,
        logprobs: Union[bool, NotGiven] = NOT_GIVEN,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> Optional[SessionConfig]:
        """Change settings: sends a transcription ``session.update`` now, or at :meth:`connect`.

        A setting not given keeps its value; ``turn_detection=None`` switches to
        manual commits, ``noise_reduction=None`` turns noise reduction off.
        While connected it waits (``wait=True``) for ``session.updated`` and
        returns the session; a change the server rejects raises
        :class:`RealtimeServerError` (matched to this update by its ``event_id``)
        and is undone. From a handler, or with ``wait=False``, it returns
        ``None`` at once (a rejection is then logged). Not connected: returns
        ``None``.
        """
        with self._driver.lock:
            new = _apply(
                self._core.config,
                model=model,
                language=language,
                prompt=prompt,
                transcription=transcription,
                turn_detection=turn_detection,
                noise_reduction=noise_reduction,
                input_format=input_format,
                logprobs=logprobs,
            )
        future = self._driver.drive(lambda: self._core.update_session(new), "session.update")
        answer: Optional[SessionConfig] = settle_update(future, wait, timeout)
        return answer

    # ------------------------------------------------------------------ audio

    def append_input_audio(self, audio: Union[bytes, bytearray, memoryview]) -> None:
        """Stream audio (in the session's input format: PCM16 24 kHz mono by default)."""
        if len(audio) == 0:
            return
        self.realtime.send(ev.InputAudioBufferAppendEvent(audio=base64_encode(audio)))
        with self._cond:
            self._uncommitted += len(audio)

    def commit(self) -> None:
        """Commit the audio appended since the last item: it becomes an item, transcribed.

        With server VAD the server commits by itself at the end of each
        utterance; commit at the end of a stream to flush its tail. The server
        refuses a buffer with less than 100 ms of audio (an ``error`` event).
        """
        with self._cond:
            self._uncommitted = 0
        self._driver.drive(lambda: (None, self._core.commit()))

    def clear(self) -> None:
        """Drop the audio appended since the last item."""
        with self._cond:
            self._uncommitted = 0
        self._driver.drive(lambda: (None, self._core.clear()))

    def finish(self, timeout: float = 30.0) -> List[Transcript]:
        """Transcribe everything streamed so far; returns the transcripts not yet iterated.

        For a recording streamed as fast as it is read: once the server has
        handled every appended chunk, the speech still going on at the end (with
        server VAD), or the audio appended since the last :meth:`commit`
        (without), is committed; then it waits until every item is transcribed.
        It returns, in item order, the transcripts that no :meth:`transcripts`
        iterator took (they will not be iterated again). The session stays open.

        Raises:
            RealtimeTimeoutError: not everything was transcribed within ``timeout`` seconds.
            ConnectionClosedError: the connection closed first.
            RealtimeError: called on the dispatcher thread (from a handler).
        """
        if self.realtime.dispatcher.is_dispatch_thread():
            raise RealtimeError(
                "finish() inside a handler would deadlock: handlers run on the dispatcher "
                "thread, which delivers the transcripts"
            )
        deadline = time.monotonic() + timeout
        self._sync(deadline, timeout)  # the server has seen (and VAD-cut) every chunk
        with self._driver.lock:
            audio = self._core.config.audio
            audio_in = audio.input if audio is not None else None
            vad = audio_in is not None and audio_in.turn_detection is not None
            fmt = audio_in.format if audio_in is not None else None
            speaking = self._core.speaking
        with self._cond:
            tail = self._uncommitted >= ms_to_bytes(100, fmt)  # the server's minimum
        if (vad and speaking) or (not vad and tail):
            self.commit()
            self._sync(deadline, timeout)  # its input_audio_buffer.committed has arrived
        with self._cond:
            while self._open and self.pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise RealtimeTimeoutError(
                        f"{self.pending} item(s) still not transcribed after {timeout:g} s"
                    )
                self._cond.wait(remaining)
            if self.pending:
                raise ConnectionClosedError(
                    f"the connection closed before {self.pending} item(s) were transcribed"
                )
            finished = list(self._done)
            self._done.clear()
        return finished

    def _sync(self, deadline: float, timeout: float) -> None:
        """Wait until the server has handled everything sent so far."""
        future = self._driver.drive(self._core.sync, "the server to catch up")
        if future is None:
            raise NotConnectedError()
        try:
            future.result(max(0.0, deadline - time.monotonic()))
        except RealtimeTimeoutError:
            self._driver.forget(future)
            raise RealtimeTimeoutError(
                f"the server did not catch up with the audio within {timeout:g} s"
            ) from None

    # ------------------------------------------------------------------ transcripts

    def transcripts(self, timeout: Optional[float] = None) -> Iterator[Transcript]:
        """Iterate over the transcripts as they become final, in item order.

        Every final transcript (completed or failed: see ``status``) is yielded
        once, to one iterator; those that finished before the loop started come
        first. The iteration ends when the connection closes (after the
        transcripts delivered before it). With ``timeout``, it also ends when
        no transcript came for ``timeout`` seconds and nothing is being
        transcribed; if an item is still being transcribed then, it raises
        :class:`RealtimeTimeoutError`.

        Raises:
            RealtimeError: called on the dispatcher thread (from a handler),
                which is the thread that delivers the transcripts.
        """
        if self.realtime.dispatcher.is_dispatch_thread():
            raise RealtimeError(
                "transcripts() inside a handler would deadlock: handlers run on the dispatcher "
                "thread, which delivers the transcripts. Handle 'transcript.done' events instead."
            )
        return self._iterate(timeout)

    def _iterate(self, timeout: Optional[float]) -> Iterator[Transcript]:
        while True:
            deadline = None if timeout is None else time.monotonic() + timeout
            with self._cond:
                while not self._done and self._open:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        break
                    self._cond.wait(remaining)
                transcript = self._done.popleft() if self._done else None
                still_open = self._open
            if transcript is not None:
                yield transcript
                continue
            if not still_open:
                return
            pending = self.pending
            if pending:
                raise RealtimeTimeoutError(
                    f"no transcript within {timeout:g} s while {pending} item(s) are still "
                    "being transcribed"
                )
            return

    # ------------------------------------------------------------------ internals

    def _on_event(self, event: Any, source: Optional[str]) -> None:
        """On the dispatcher thread, before any handler: the core takes the event."""
        if source == "server":
            now = time.monotonic()
            decided: List[Any] = []

            def step() -> Any:
                decided.extend(self._core.receive(event, now))
                return None, decided

            self._driver.drive(step)
            finished = [
                a.event.transcript
                for a in decided
                if isinstance(a, Emit) and isinstance(a.event, TranscriptDoneEvent)
            ]
            if finished:
                with self._cond:
                    self._done.extend(finished)
                    self._cond.notify_all()
            if isinstance(event, ev.ErrorEvent):
                _log_server_error(event.error, any(isinstance(a, Fail) for a in decided))
        elif isinstance(event, ev.CloseEvent):
            reason = f"the connection closed: {event.reason or f'code {event.code}'}"
            self._driver.drive(lambda: (None, self._core.closed(time.monotonic(), reason)))
            self._set_closed()


def _apply(
    config: SessionConfig,
    *,
    model: Union[str, NotGiven],
    language: Union[str, NotGiven, None],
    prompt: Union[str, NotGiven, None],
    transcription: Union[InputAudioTranscriptionConfig, NotGiven],
    turn_detection: Union[TurnDetection, NotGiven, None],
    noise_reduction: Union[NoiseReductionSetting, NotGiven, None],
    input_format: Union[AudioFormat, str, NotGiven],
    logprobs: Union[bool, NotGiven],
) -> SessionConfig:
    """``config`` with the given settings changed (``NOT_GIVEN`` keeps)."""
    audio = config.audio or AudioConfig()
    inp = audio.input or AudioInputConfig()
    current = inp.transcription
    tr = current if isinstance(current, InputAudioTranscriptionConfig) else None
    tr = transcription if not isinstance(transcription, NotGiven) else tr
    tr = tr or InputAudioTranscriptionConfig(model=DEFAULT_TRANSCRIPTION_MODEL)
    changes: Dict[str, Any] = {}
    if not isinstance(model, NotGiven):
        changes["model"] = model
    if not isinstance(language, NotGiven):
        changes["language"] = language
    if not isinstance(prompt, NotGiven):
        changes["prompt"] = prompt
    inp = attrs.evolve(inp, transcription=attrs.evolve(tr, **changes))
    if not isinstance(turn_detection, NotGiven):
        inp = attrs.evolve(inp, turn_detection=turn_detection)
    if not isinstance(noise_reduction, NotGiven):
        inp = attrs.evolve(inp, noise_reduction=_noise_reduction(noise_reduction))
    if not isinstance(input_format, NotGiven):
        inp = attrs.evolve(inp, format=AudioFormat.from_legacy(input_format))
    include = config.include
    if not isinstance(logprobs, NotGiven):
        others = [i for i in include or [] if i != TRANSCRIPTION_LOGPROBS]
        # An empty list clears ``include`` (left out, the server would keep the old one).
        include = [*others, TRANSCRIPTION_LOGPROBS] if logprobs else others
    return attrs.evolve(config, audio=attrs.evolve(audio, input=inp), include=include)


def _log_server_error(error: RealtimeErrorDetails, claimed: bool) -> None:
    if claimed:
        logger.debug("server error %s answers a request: %s", error.code, error.message)
    else:
        logger.warning("server error %s: %s", error.code or error.type, error.message)
