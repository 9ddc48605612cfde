"""The transcription session core: a sans-IO state machine of one transcription session.

A transcription session (``session.type`` ``"transcription"``, opened with
``wss://.../v1/realtime?intent=transcription`` and no model) takes input audio
only: server VAD (or the client's commits) turns speech into items, and each
item is transcribed by the session's transcription model. There is no
conversation and there are no responses.

Like :class:`~realtime_sync.core.realtime.RealtimeSessionCore`, this core has no
sockets, threads or clock: the driver (:class:`~realtime_sync.transcriber.RealtimeTranscriber`
with a :class:`~realtime_sync.driver.CoreDriver`) feeds it every server event with
:meth:`TranscriptionSessionCore.receive` and every request with the request
methods; each call returns the :mod:`~realtime_sync.core.actions` to carry out.

What it decides:

* the handshake: ``session.created`` -> the ``session.update`` of the
  transcription config -> ``session.updated`` (of type ``"transcription"``) -> ready;
* config requests: every ``session.update`` carries an ``event_id``; an
  ``error`` naming it fails that request (and the change is undone);
* the transcripts: one :class:`Transcript` per item, built from the deltas, the
  final text, its log-probabilities and usage, and delivered (as
  :class:`TranscriptDoneEvent`) **in item order**: the order the items were
  committed in, following ``previous_item_id``, even when the server finishes a
  later item first.
"""

from __future__ import annotations

import collections
import enum
from typing import Any, Callable, ClassVar, Deque, Dict, List, Optional, Tuple, Type

import attrs

from realtime_sync import events as ev
from realtime_sync.errors import ConnectionClosedError, RealtimeError
from realtime_sync.models import (
    LogProb,
    NotGiven,
    RealtimeErrorDetails,
    SessionConfig,
    TranscriptionUsage,
)
from realtime_sync.utils import generate_id

from .actions import Action, Emit, Fail, Resolve, Send
from .errors import server_error
from .ledger import RequestLedger
from .realtime import Phase

__all__ = [
    "TRANSCRIPTION_LOGPROBS",
    "Transcript",
    "TranscriptDeltaEvent",
    "TranscriptDoneEvent",
    "TranscriptStatus",
    "TranscriptionSessionCore",
]

TRANSCRIPTION_LOGPROBS = "item.input_audio_transcription.logprobs"
"""The ``include`` value that asks for the log-probabilities of transcripts."""


class TranscriptStatus(str, enum.Enum):
    """Where an item's transcription is."""

    IN_PROGRESS = "in_progress"
    """Deltas may still come."""
    COMPLETED = "completed"
    """The final text arrived (``conversation.item.input_audio_transcription.completed``)."""
    FAILED = "failed"
    """The server could not transcribe it (``...input_audio_transcription.failed``)."""


@attrs.frozen
class Transcript:
    """The transcription of one item of input audio (a snapshot: it does not change)."""

    item_id: str
    previous_item_id: Optional[str] = None
    """The item before this one (``None`` for the first, or when the server did not say)."""
    text: str = ""
    """The final transcript; while in progress, the deltas received so far."""
    deltas: List[str] = attrs.field(factory=list)
    """The text deltas, in arrival order."""
    logprobs: Optional[List[LogProb]] = None
    """Token log-probabilities, when the session asked for them (``logprobs=True``)."""
    usage: Optional[TranscriptionUsage] = None
    """What the transcription cost (tokens, or seconds of audio), once completed."""
    status: TranscriptStatus = TranscriptStatus.IN_PROGRESS
    error: Optional[RealtimeErrorDetails] = None
    """Why the transcription failed (``status`` is ``FAILED``)."""
    audio_start_ms: Optional[int] = None
    """Where the speech began in the input audio stream (server VAD only)."""
    audio_end_ms: Optional[int] = None
    """Where the speech ended in the input audio stream (server VAD only)."""

    @property
    def done(self) -> bool:
        """True once the transcript is final (completed or failed)."""
        return self.status is not TranscriptStatus.IN_PROGRESS


@attrs.frozen
class TranscriptDeltaEvent:
    """``transcript.delta``: more text of an item's transcript arrived (in arrival order).

    ``transcript`` is the item's transcript so far, ``delta`` the new text.
    """

    type: ClassVar[str] = "transcript.delta"
    transcript: Transcript
    delta: str


@attrs.frozen
class TranscriptDoneEvent:
    """``transcript.done``: an item's transcript is final, delivered in item order.

    Items are delivered in the order they were committed (``previous_item_id``):
    one the server finished early waits for the items before it.
    """

    type: ClassVar[str] = "transcript.done"
    transcript: Transcript


@attrs.define(eq=False)
class _Record:
    """What the core knows of one item while it is transcribed."""

    item_id: str
    previous_item_id: Optional[str] = None
    deltas: List[str] = attrs.field(factory=list)
    delta_logprobs: List[LogProb] = attrs.field(factory=list)
    text: Optional[str] = None
    logprobs: Optional[List[LogProb]] = None
    usage: Optional[TranscriptionUsage] = None
    status: TranscriptStatus = TranscriptStatus.IN_PROGRESS
    error: Optional[RealtimeErrorDetails] = None
    audio_start_ms: Optional[int] = None
    audio_end_ms: Optional[int] = None

    def snapshot(self) -> Transcript:
        logprobs = self.logprobs
        if logprobs is None and self.delta_logprobs:
            logprobs = list(self.delta_logprobs)
        return Transcript(
            item_id=self.item_id,
            previous_item_id=self.previous_item_id,
            text=self.text if self.text is not None else "".join(self.deltas),
            deltas=list(self.deltas),
            logprobs=logprobs,
            usage=self.usage,
            status=self.status,
            error=self.error,
            audio_start_ms=self.audio_start_ms,
            audio_end_ms=self.audio_end_ms,
        )


@attrs.define(eq=False)
class _ConfigRequest:
    """A ``session.update`` in flight, with the config it would make current."""

    config: SessionConfig
    connect: bool = False
    barrier: bool = False
    """Sent by :meth:`TranscriptionSessionCore.sync`: changes nothing."""
    event_id: Optional[str] = None


class TranscriptionSessionCore:
    """One transcription session's logic: events and requests in, actions out.

    Not thread-safe: the driver calls it under one lock.

    Args:
        config: the transcription session config to ask for (``type`` must be
            ``"transcription"``: see :func:`realtime_sync.transcriber.transcription_session`).
        history: how many delivered transcripts to keep for :meth:`get_transcript`
            and :attr:`transcripts` (``None``: all of them).
    """

    def __init__(self, *, config: SessionConfig, history: Optional[int] = 1000) -> None:
        if config.type != "transcription":
            raise ValueError(
                f"a transcription session needs type 'transcription', not {config.type!r}"
            )
        self.phase = Phase.CLOSED
        self.history = history
        self._config = config
        self._confirmed = config
        self.session: Optional[SessionConfig] = None
        """The session as the server last reported it."""
        self._ledger: RequestLedger[_ConfigRequest] = RequestLedger("treq")
        self._pending_updates: Deque[str] = collections.deque()
        self._connect_request: Optional[str] = None
        self._records: Dict[str, _Record] = {}
        self._order: List[str] = []  # item ids in item order; the first _released are delivered
        self._released = 0
        self._speaking: Optional[str] = None  # the item whose speech server VAD is following
        self._reactions: Dict[Type[Any], Callable[[Any, List[Action]], None]] = {
            ev.SessionCreatedEvent: self._session_created,
            ev.SessionUpdatedEvent: self._session_updated,
            ev.ErrorEvent: self._error,
            ev.InputAudioBufferSpeechStartedEvent: self._speech_started,
            ev.InputAudioBufferSpeechStoppedEvent: self._speech_stopped,
            ev.InputAudioBufferCommittedEvent: self._committed,
            ev.InputAudioBufferClearedEvent: self._cleared,
            ev.ConversationItemInputAudioTranscriptionDeltaEvent: self._delta,
            ev.ConversationItemInputAudioTranscriptionCompletedEvent: self._completed,
            ev.ConversationItemInputAudioTranscriptionFailedEvent: self._failed,
        }

    # ------------------------------------------------------------------ state

    @property
    def config(self) -> SessionConfig:
        """The config this client asks for."""
        return self._config

    @property
    def is_ready(self) -> bool:
        """True once the session is configured."""
        return self.phase is Phase.READY

    @property
    def pending(self) -> int:
        """Items committed (or being transcribed) whose transcript is not delivered yet."""
        return len(self._order) - self._released

    @property
    def speaking(self) -> bool:
        """True while server VAD follows speech that is not committed yet."""
        return self._speaking is not None

    @property
    def transcripts(self) -> List[Transcript]:
        """The transcripts of this session in item order: delivered, then in progress."""
        return [self._records[item_id].snapshot() for item_id in self._order]

    def get_transcript(self, item_id: str) -> Optional[Transcript]:
        """The transcript of ``item_id`` as it is now, or ``None``."""
        record = self._records.get(item_id)
        return record.snapshot() if record is not None else None

    # ------------------------------------------------------------------ connection

    def open(self, now: float) -> str:
        """A connection is being opened; returns the id of the connect request.

        It resolves with the session (a :class:`SessionConfig` of type
        ``"transcription"``) once the server confirmed the config.
        """
        self.phase = Phase.AWAITING_SESSION
        self.session = None
        self._records.clear()
        self._order.clear()
        self._released = 0
        self._speaking = None
        self._connect_request = self._ledger.open(_ConfigRequest(config=self._config, connect=True))
        return self._connect_request

    def closed(self, now: float, reason: str = "the connection closed") -> List[Action]:
        """The connection closed: every open request fails."""
        actions: List[Action] = []
        self.phase = Phase.CLOSED
        error = ConnectionClosedError(reason)
        for request_id in self._ledger:
            self._ledger.close(request_id)
            actions.append(Fail(request_id, error))
        self._pending_updates.clear()
        self._connect_request = None
        return actions

    # ------------------------------------------------------------------ requests

    def update_session(self, config: SessionConfig) -> Tuple[Optional[str], List[Action]]:
        """Make ``config`` the session's settings; returns the request (``None`` if not sent).

        Before the session exists nothing is sent: the handshake sends it.
        """
        if config.type != "transcription":
            raise RealtimeError(
                f"a transcription session cannot take a {config.type!r} session config"
            )
        self._config = config
        if self.phase in (Phase.CLOSED, Phase.AWAITING_SESSION):
            return None, []
        request = _ConfigRequest(config=config)
        request_id = self._ledger.open(request)
        return request_id, [self._config_event(request_id, request)]

    def sync(self) -> Tuple[Optional[str], List[Action]]:
        """A request answered once the server has handled every event sent before it.

        A ``session.update`` that changes nothing (``{"type": "transcription"}``):
        the server handles client events in order, so when its ``session.updated``
        arrives, the events that the earlier ones caused (VAD, commits) have too.
        Returns ``(None, [])`` before the session is configured.
        """
        if self.phase is not Phase.READY:
            return None, []
        request = _ConfigRequest(config=self._config, barrier=True)
        request_id = self._ledger.open(request)
        return request_id, [self._config_event(request_id, request)]

    def commit(self) -> List[Action]:
        """Commit the input audio buffer: its audio becomes an item, then a transcript."""
        return [Send(ev.InputAudioBufferCommitEvent(event_id=generate_id("evt_")))]

    def clear(self) -> List[Action]:
        """Drop the uncommitted input audio (and the speech the server was following in it)."""
        for item_id in [i for i in self._records if i not in self._order]:
            del self._records[item_id]
        return [Send(ev.InputAudioBufferClearEvent(event_id=generate_id("evt_")))]

    def _config_event(self, request_id: str, request: _ConfigRequest) -> Send:
        event_id = generate_id("evt_")
        request.event_id = event_id
        self._ledger.bind(request_id, event_id)
        self._pending_updates.append(request_id)
        session = SessionConfig(type="transcription") if request.barrier else request.config
        return Send(ev.SessionUpdateEvent(session=session, event_id=event_id))

    def _revert_config(self) -> None:
        """After a rejected update: the newest update still in flight, or the last accepted."""
        for request_id in reversed(self._pending_updates):
            request = self._ledger.get(request_id)
            if request is not None:
                self._config = request.config
                return
        self._config = self._confirmed

    # ------------------------------------------------------------------ server events

    def receive(self, event: Any, now: float) -> List[Action]:
        """Apply one server event; returns the actions it calls for."""
        actions: List[Action] = []
        react = self._reactions.get(type(event))
        if react is not None:
            react(event, actions)
        return actions

    def _session_created(self, event: ev.SessionCreatedEvent, out: List[Action]) -> None:
        self.session = event.session
        request = self._ledger.get(self._connect_request)
        if self.phase is Phase.AWAITING_SESSION and request is not None:
            self.phase = Phase.CONFIGURING
            request.config = self._config
            out.append(self._config_event(self._connect_request or "", request))

    def _session_updated(self, event: ev.SessionUpdatedEvent, out: List[Action]) -> None:
        self.session = event.session
        if not self._pending_updates:
            return
        request_id = self._pending_updates.popleft()
        request = self._ledger.close(request_id)
        if request is None:
            return
        if event.session.type != "transcription":
            # A server (or relay) that ignored the type would bill a realtime model and
            # answer with responses: refuse to go on with it.
            error = RealtimeError(
                f"the server answered with a {event.session.type!r} session, not a transcription "
                "session: connect to the Realtime endpoint with ?intent=transcription and no model"
            )
            if request.connect:
                self._connect_request = None
            self._revert_config()
            out.append(Fail(request_id, error))
            return
        self._confirmed = request.config
        if request.connect:
            self.phase = Phase.READY
            self._connect_request = None
        out.append(Resolve(request_id, event.session))

    def _error(self, event: ev.ErrorEvent, out: List[Action]) -> None:
        details = event.error
        request_id = self._ledger.owner_of(details.event_id)
        if request_id is None:
            return
        self._ledger.close(request_id)
        if request_id in self._pending_updates:
            self._pending_updates.remove(request_id)
        if request_id == self._connect_request:
            self._connect_request = None
        self._revert_config()
        out.append(Fail(request_id, server_error(details)))

    def _record(self, item_id: str) -> _Record:
        record = self._records.get(item_id)
        if record is None:
            record = self._records[item_id] = _Record(item_id=item_id)
        return record

    def _place(self, item_id: str, previous: Optional[str]) -> None:
        """Put an item in the item order: after ``previous`` when known, else last."""
        if item_id in self._order:
            return
        position = len(self._order)
        if previous is not None and previous in self._order:
            position = self._order.index(previous) + 1
        self._order.insert(max(position, self._released), item_id)  # never before delivered ones

    def _speech_started(
        self, event: ev.InputAudioBufferSpeechStartedEvent, out: List[Action]
    ) -> None:
        self._record(event.item_id).audio_start_ms = event.audio_start_ms
        self._speaking = event.item_id

    def _speech_stopped(
        self, event: ev.InputAudioBufferSpeechStoppedEvent, out: List[Action]
    ) -> None:
        self._record(event.item_id).audio_end_ms = event.audio_end_ms
        if self._speaking == event.item_id:
            self._speaking = None

    def _cleared(self, event: ev.InputAudioBufferClearedEvent, out: List[Action]) -> None:
        self._speaking = None

    def _committed(self, event: ev.InputAudioBufferCommittedEvent, out: List[Action]) -> None:
        previous = None if isinstance(event.previous_item_id, NotGiven) else event.previous_item_id
        record = self._record(event.item_id)
        record.previous_item_id = previous
        self._place(event.item_id, previous)
        if self._speaking == event.item_id:  # committed by the client while speech went on
            self._speaking = None

    def _delta(
        self, event: ev.ConversationItemInputAudioTranscriptionDeltaEvent, out: List[Action]
    ) -> None:
        record = self._record(event.item_id)
        self._place(event.item_id, None)  # a streaming model may transcribe before any commit
        if record.status is not TranscriptStatus.IN_PROGRESS:
            return
        delta = event.delta or ""
        record.deltas.append(delta)
        if event.logprobs:
            record.delta_logprobs.extend(event.logprobs)
        out.append(Emit(TranscriptDeltaEvent(transcript=record.snapshot(), delta=delta)))

    def _completed(
        self, event: ev.ConversationItemInputAudioTranscriptionCompletedEvent, out: List[Action]
    ) -> None:
        record = self._record(event.item_id)
        self._place(event.item_id, None)
        if record.status is not TranscriptStatus.IN_PROGRESS:
            return
        record.text = event.transcript
        record.usage = event.usage
        if event.logprobs is not None:
            record.logprobs = list(event.logprobs)
        record.status = TranscriptStatus.COMPLETED
        self._deliver(out)

    def _failed(
        self, event: ev.ConversationItemInputAudioTranscriptionFailedEvent, out: List[Action]
    ) -> None:
        record = self._record(event.item_id)
        self._place(event.item_id, None)
        if record.status is not TranscriptStatus.IN_PROGRESS:
            return
        record.status = TranscriptStatus.FAILED
        record.error = event.error
        self._deliver(out)

    def _deliver(self, out: List[Action]) -> None:
        """Deliver the finished transcripts at the front of the item order, in order."""
        while self._released < len(self._order):
            record = self._records[self._order[self._released]]
            if record.status is TranscriptStatus.IN_PROGRESS:
                break
            out.append(Emit(TranscriptDoneEvent(transcript=record.snapshot())))
            self._released += 1
        if self.history is not None and self._released > self.history:
            forget = self._released - self.history
            for item_id in self._order[:forget]:
                self._records.pop(item_id, None)
            del self._order[:forget]
            self._released -= forget
