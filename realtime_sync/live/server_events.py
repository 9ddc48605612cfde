"""The Live events the server sends, and the server unions of each connection kind.

Decode them with :func:`realtime_sync.protocol.decode_live`, which knows every
class here whatever the connection (a type the SDK does not know gives an
:class:`~realtime_sync.live.events.UnknownLiveEvent`). Essential fields have no
default; *usually sent* ones (``event_id``, timeline positions...) decode as
absent, with a debug message, when the server leaves them out (see
:mod:`realtime_sync.events`).

Timeline positions (``start_ms``, ``end_ms``, ``offset_ms``) are milliseconds
from the start of the session.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, ClassVar, Dict, Mapping, Optional

import attrs

from realtime_sync.events import _USUAL

from .decisions import DecisionEventPayload, DecisionItem
from .enums import SessionCloseReason, TranscriptEventType, TranscriptSource
from .events import LiveEventType, LiveServerEvent
from .models import (
    ContextWindow,
    DelegationInfo,
    ErrorDetails,
    SessionResource,
    SessionUsage,
    TranscriptFragment,
    TransportError,
)

__all__ = [
    "FORK_SERVER_EVENTS",
    "PRIMARY_SERVER_EVENTS",
    "SERVER_EVENT_CLASSES",
    "SIDEBAND_SERVER_EVENTS",
    "CommentaryAppendedEvent",
    "DecisionEvent",
    "DecisionItemCreatedEvent",
    "DecisionItemDeletedEvent",
    "DelegationCreatedEvent",
    "ErrorEvent",
    "InfoEvent",
    "InputAudioMutedEvent",
    "InputAudioUnmutedEvent",
    "InputTranscriptDeltaEvent",
    "InstructionsAppendedEvent",
    "OutputAudioDeltaEvent",
    "OutputAudioFixturePlayedEvent",
    "OutputAudioFixturePlayingEvent",
    "OutputTranscriptDeltaEvent",
    "ResponseEvent",
    "SessionClosedEvent",
    "SessionInputAudioAppendEvent",
    "SessionPausedEvent",
    "SessionResumedEvent",
    "SessionStartedEvent",
    "SessionUpdatedEvent",
    "SessionUsageUpdatedEvent",
    "ThinkingAppendedEvent",
    "TransportAnsweredEvent",
    "TransportDtmfReceivedEvent",
    "TransportDtmfSendLegacyEvent",
    "TransportDtmfSentEvent",
    "TransportFailedEvent",
    "TransportRingingEvent",
]


def _usual_id() -> Any:
    """The ``event_id`` field of the events whose schema requires one."""
    return attrs.field(default="", metadata=_USUAL)


# --------------------------------------------------------------------------- session


@attrs.frozen
class SessionStartedEvent(LiveServerEvent):
    """``session.started``: the session runs; ``session`` is resolved (server defaults included)."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_STARTED
    session: SessionResource
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class SessionUpdatedEvent(LiveServerEvent):
    """``session.updated``: a ``session.update`` was accepted; the session after it."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_UPDATED
    session: SessionResource
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class SessionPausedEvent(LiveServerEvent):
    """``session.paused`` (WebRTC): the idle timeout paused inference; the session stays."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_PAUSED
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class SessionResumedEvent(LiveServerEvent):
    """``session.resumed`` (WebRTC): speech resumed paused inference."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_RESUMED
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class SessionUsageUpdatedEvent(LiveServerEvent):
    """``session.usage.updated``: cumulative audio seconds so far, and the context fill."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_USAGE_UPDATED
    usage: SessionUsage
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None
    context_window: Optional[ContextWindow] = None


@attrs.frozen
class SessionClosedEvent(LiveServerEvent):
    """``session.closed``: the session finished; why, its last snapshot and final usage.

    A connection that closes without it does not confirm the session was finalized.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_CLOSED
    event_id: str = _usual_id()
    reason: Optional[SessionCloseReason] = attrs.field(default=None, metadata=_USUAL)
    session: Optional[SessionResource] = attrs.field(default=None, metadata=_USUAL)
    usage: Optional[SessionUsage] = attrs.field(default=None, metadata=_USUAL)
    client_event_id: Optional[str] = None


# --------------------------------------------------------------------------- acknowledgements


@attrs.frozen
class InputAudioMutedEvent(LiveServerEvent):
    """``session.input_audio.muted``: answers ``session.input_audio.mute``."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INPUT_AUDIO_MUTED
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class InputAudioUnmutedEvent(LiveServerEvent):
    """``session.input_audio.unmuted``: answers ``session.input_audio.unmute``."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INPUT_AUDIO_UNMUTED
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class OutputAudioFixturePlayingEvent(LiveServerEvent):
    """``session.output_audio.fixture.playing``: the fixture was accepted for playback."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_OUTPUT_AUDIO_FIXTURE_PLAYING
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class OutputAudioFixturePlayedEvent(LiveServerEvent):
    """``session.output_audio.fixture.played``: the fixture drained from the server mixer."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_OUTPUT_AUDIO_FIXTURE_PLAYED
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class InstructionsAppendedEvent(LiveServerEvent):
    """``session.instructions.appended``: the instructions entered the session timeline."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INSTRUCTIONS_APPENDED
    event_id: str = _usual_id()
    start_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    end_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    client_event_id: Optional[str] = None


@attrs.frozen
class ThinkingAppendedEvent(LiveServerEvent):
    """``session.thinking.appended``: the thinking entered the session timeline."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_THINKING_APPENDED
    event_id: str = _usual_id()
    start_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    end_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    client_event_id: Optional[str] = None


@attrs.frozen
class CommentaryAppendedEvent(LiveServerEvent):
    """``session.commentary.appended``: the commentary entered the timeline (not yet spoken)."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_COMMENTARY_APPENDED
    event_id: str = _usual_id()
    start_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    end_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    client_event_id: Optional[str] = None


# --------------------------------------------------------------------------- audio and transcripts


@attrs.frozen
class SessionInputAudioAppendEvent(LiveServerEvent):
    """``session.input_audio.append`` from the server: input audio reflected to a sideband.

    Base64 24 kHz mono PCM16 as the primary transport received it (before
    muting); not an acknowledgement. It has no ``event_id``.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INPUT_AUDIO_APPEND
    audio: str
    event_id: str = ""


@attrs.frozen
class OutputAudioDeltaEvent(LiveServerEvent):
    """``session.output_audio.delta``: base64 model audio, to play in delivery order.

    In the session format on a primary connection; reflected to sidebands as
    24 kHz mono PCM16 with ``start_ms`` (inclusive) and ``end_ms`` (exclusive).
    It has no ``event_id``.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_OUTPUT_AUDIO_DELTA
    delta: str
    event_id: str = ""
    start_ms: Optional[int] = None
    end_ms: Optional[int] = None


@attrs.frozen
class InputTranscriptDeltaEvent(LiveServerEvent):
    """``session.input_transcript.delta``: a fragment of the user's transcript (no "done" event)."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INPUT_TRANSCRIPT_DELTA
    delta: str
    event_id: str = _usual_id()
    start_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    end_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    client_event_id: Optional[str] = None

    @property
    def fragment(self) -> TranscriptFragment:
        """The fragment as a :class:`~realtime_sync.live.models.TranscriptFragment`."""
        return TranscriptFragment(
            TranscriptSource.INPUT, self.delta, self.start_ms, self.end_ms, self.event_id
        )


@attrs.frozen
class OutputTranscriptDeltaEvent(LiveServerEvent):
    """``session.output_transcript.delta``: a fragment of the model's transcript."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_OUTPUT_TRANSCRIPT_DELTA
    delta: str
    event_id: str = _usual_id()
    start_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    end_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    client_event_id: Optional[str] = None

    @property
    def fragment(self) -> TranscriptFragment:
        """The fragment as a :class:`~realtime_sync.live.models.TranscriptFragment`."""
        return TranscriptFragment(
            TranscriptSource.OUTPUT, self.delta, self.start_ms, self.end_ms, self.event_id
        )


# --------------------------------------------------------------------------- delegation


@attrs.frozen
class DelegationCreatedEvent(LiveServerEvent):
    """``session.delegation.created``: the model delegated a task (id and target, not the task).

    ``offset_ms`` is where on the timeline it happened.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_DELEGATION_CREATED
    delegation: DelegationInfo
    event_id: str = _usual_id()
    offset_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    client_event_id: Optional[str] = None


@attrs.frozen
class ResponseEvent(LiveServerEvent):
    """``response.event``: one event of the delegated Responses backend's stream.

    ``event`` is the nested Responses streaming event as JSON (dispatch on its
    ``type``: :attr:`event_type`); ``delegation_id`` ties it to its delegation
    when it can be.
    """

    type: ClassVar[LiveEventType] = LiveEventType.RESPONSE_EVENT
    event: Dict[str, Any]
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None
    delegation_id: Optional[str] = None

    @property
    def event_type(self) -> Optional[str]:
        """The nested event's ``type`` (``response.output_text.delta``...), if it has one."""
        value = self.event.get("type")
        return value if isinstance(value, str) else None


@attrs.frozen
class DecisionEvent(LiveServerEvent):
    """``decision.event``: a Decisions evaluation for a delegation or a transcript trigger.

    For a delegation ``delegation_id`` is set; for a trigger ``trigger_id`` and
    the transcript delta that fired it (``source_event_id`` / ``source_event_type``).
    """

    type: ClassVar[LiveEventType] = LiveEventType.DECISION_EVENT
    event: DecisionEventPayload
    event_id: str = _usual_id()
    delegation_id: Optional[str] = None
    trigger_id: Optional[str] = None
    source_event_id: Optional[str] = None
    source_event_type: Optional[TranscriptEventType] = None


@attrs.frozen
class DecisionItemCreatedEvent(LiveServerEvent):
    """``decision.item.created``: an item joined the Decision context (with its ``id``)."""

    type: ClassVar[LiveEventType] = LiveEventType.DECISION_ITEM_CREATED
    item: DecisionItem
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class DecisionItemDeletedEvent(LiveServerEvent):
    """``decision.item.deleted``: an item left the Decision context."""

    type: ClassVar[LiveEventType] = LiveEventType.DECISION_ITEM_DELETED
    item_id: str
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


# --------------------------------------------------------------------------- errors and notices


@attrs.frozen
class ErrorEvent(LiveServerEvent):
    """``error``: a command failed (``error.client_event_id`` names it) or the session erred."""

    type: ClassVar[LiveEventType] = LiveEventType.ERROR
    error: ErrorDetails
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class InfoEvent(LiveServerEvent):
    """``info``: a notice (``code`` such as ``data_channel_permissions``)."""

    type: ClassVar[LiveEventType] = LiveEventType.INFO
    code: str
    event_id: str = _usual_id()
    message: str = attrs.field(default="", metadata=_USUAL)
    client_event_id: Optional[str] = None


# --------------------------------------------------------------------------- SIP (sideband)


@attrs.frozen
class TransportDtmfReceivedEvent(LiveServerEvent):
    """``transport.dtmf.received``: the caller pressed a key."""

    type: ClassVar[LiveEventType] = LiveEventType.TRANSPORT_DTMF_RECEIVED
    event: str
    event_id: str = _usual_id()


@attrs.frozen
class TransportDtmfSentEvent(LiveServerEvent):
    """``transport.dtmf.sent``: a ``transport.dtmf.send`` key reached the SIP trunk."""

    type: ClassVar[LiveEventType] = LiveEventType.TRANSPORT_DTMF_SENT
    event: str
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class TransportDtmfSendLegacyEvent(LiveServerEvent):
    """``transport.dtmf.send`` from the server: how older servers confirmed a key (now ``sent``)."""

    type: ClassVar[LiveEventType] = LiveEventType.TRANSPORT_DTMF_SEND
    event: str
    event_id: str = _usual_id()
    client_event_id: Optional[str] = None


@attrs.frozen
class TransportRingingEvent(LiveServerEvent):
    """``transport.ringing``: the outbound SIP call is ringing (or giving early media)."""

    type: ClassVar[LiveEventType] = LiveEventType.TRANSPORT_RINGING
    event_id: str = _usual_id()
    session_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class TransportAnsweredEvent(LiveServerEvent):
    """``transport.answered``: the outbound SIP call was answered; media flows."""

    type: ClassVar[LiveEventType] = LiveEventType.TRANSPORT_ANSWERED
    event_id: str = _usual_id()
    session_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class TransportFailedEvent(LiveServerEvent):
    """``transport.failed``: the outbound SIP call could not be set up."""

    type: ClassVar[LiveEventType] = LiveEventType.TRANSPORT_FAILED
    error: TransportError
    event_id: str = _usual_id()
    session_id: str = attrs.field(default="", metadata=_USUAL)


# --------------------------------------------------------------------------- unions


def _table(*classes: type) -> Mapping[str, type]:
    return MappingProxyType({cls.type.value: cls for cls in classes})  # type: ignore[attr-defined]


_COMMON = (
    SessionStartedEvent,
    SessionUpdatedEvent,
    InputAudioMutedEvent,
    InputAudioUnmutedEvent,
    OutputAudioFixturePlayingEvent,
    OutputAudioFixturePlayedEvent,
    InstructionsAppendedEvent,
    ThinkingAppendedEvent,
    CommentaryAppendedEvent,
    SessionInputAudioAppendEvent,
    OutputAudioDeltaEvent,
    InputTranscriptDeltaEvent,
    OutputTranscriptDeltaEvent,
    DelegationCreatedEvent,
    DecisionEvent,
    DecisionItemCreatedEvent,
    DecisionItemDeletedEvent,
    ResponseEvent,
    SessionUsageUpdatedEvent,
    SessionClosedEvent,
    ErrorEvent,
    InfoEvent,
    TransportDtmfReceivedEvent,
    TransportDtmfSendLegacyEvent,
    TransportDtmfSentEvent,
    TransportRingingEvent,
    TransportAnsweredEvent,
    TransportFailedEvent,
)

PRIMARY_SERVER_EVENTS: Mapping[str, type] = _table(*_COMMON)
"""Wire type -> class of the server events of a primary connection (openai's ``ServerEvent``)."""

FORK_SERVER_EVENTS: Mapping[str, type] = _table(*_COMMON)
"""The server events of a fork connection (``ForkServerEvent``: those of a primary one)."""

SIDEBAND_SERVER_EVENTS: Mapping[str, type] = _table(
    *_COMMON, SessionPausedEvent, SessionResumedEvent
)
"""The server events of a sideband connection (``ConnectServerEvent``: also pause and resume)."""

SERVER_EVENT_CLASSES: Mapping[str, type] = SIDEBAND_SERVER_EVENTS
"""Every Live server event class by type: what :func:`~realtime_sync.protocol.decode_live` knows."""
