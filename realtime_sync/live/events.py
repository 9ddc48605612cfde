"""Typed Live events: the event-type enum, the base classes and the unknown event.

The GPT-Live API (``wss://api.openai.com/v1/live/sessions``) has three kinds of
WebSocket, each with its own unions of events (as typed by openai-python's
``openai.types.live``):

* the *primary* connection, which starts the session with ``session.start``
  (model in the message, never in the URL) and waits for ``session.started``;
* a *sideband* connection (``/live/sessions/{id}/attach``), a trusted observer
  and controller of an existing session: no ``session.start`` and no audio
  append, but ``transport.dtmf.send`` and events reflected from the media
  transport (``session.input_audio.append``, timed ``session.output_audio.delta``);
* a *fork* connection (``/live/sessions/{id}/fork``) to a stored session, whose
  ``session.start`` takes only overrides (:class:`~realtime_sync.live.models.ForkSessionConfig`).

One frozen attrs class per wire event: the client events are in
:mod:`realtime_sync.live.client_events`, the server events in
:mod:`realtime_sync.live.server_events`, with one table per union. A server
event class is shared by every union that has it, as in openai-python.

As for Realtime events (:mod:`realtime_sync.events`), a server event keeps the
JSON fields it does not model in ``event.extra``, and its fields are
*essential* (no default: decoding fails without them), *usually sent* (decode as
absent, with a debug message, when missing: ``event_id``, timeline positions...)
or *optional*. Commands may carry an ``event_id``; the server echoes it as
``client_event_id`` in the event that answers the command (and in
``error.client_event_id`` when the command fails).
"""

from __future__ import annotations

from typing import Any, ClassVar, Dict, Optional, Union

import attrs

from realtime_sync.models import WireModel, _OpenStrEnum
from realtime_sync.protocol import SEND_NULL_KEY

__all__ = [
    "AnyLiveServerEvent",
    "LiveClientEvent",
    "LiveEventType",
    "LiveServerEvent",
    "UnknownLiveEvent",
]


class LiveEventType(_OpenStrEnum):
    """Every Live wire event type, named after it in UPPER_SNAKE.

    ``session.input_audio.append`` and ``transport.dtmf.send`` are both a client
    and a server type (the server reflects input audio to sidebands; old servers
    confirmed DTMF with ``transport.dtmf.send``). Unknown types are accepted as
    pseudo-members.
    """

    # client events
    DECISION_CREATE = "decision.create"
    DECISION_ITEM_CREATE = "decision.item.create"
    DECISION_ITEM_DELETE = "decision.item.delete"
    RESPONSE_CREATE = "response.create"
    RESPONSE_ITEM_CREATE = "response.item.create"
    SESSION_CLOSE = "session.close"
    SESSION_COMMENTARY_APPEND = "session.commentary.append"
    SESSION_INPUT_AUDIO_APPEND = "session.input_audio.append"
    SESSION_INPUT_AUDIO_MUTE = "session.input_audio.mute"
    SESSION_INPUT_AUDIO_UNMUTE = "session.input_audio.unmute"
    SESSION_INSTRUCTIONS_APPEND = "session.instructions.append"
    SESSION_OUTPUT_AUDIO_FIXTURE_PLAY = "session.output_audio.fixture.play"
    SESSION_START = "session.start"
    SESSION_THINKING_APPEND = "session.thinking.append"
    SESSION_UPDATE = "session.update"
    TRANSPORT_DTMF_SEND = "transport.dtmf.send"

    # server events
    DECISION_EVENT = "decision.event"
    DECISION_ITEM_CREATED = "decision.item.created"
    DECISION_ITEM_DELETED = "decision.item.deleted"
    ERROR = "error"
    INFO = "info"
    RESPONSE_EVENT = "response.event"
    SESSION_CLOSED = "session.closed"
    SESSION_COMMENTARY_APPENDED = "session.commentary.appended"
    SESSION_DELEGATION_CREATED = "session.delegation.created"
    SESSION_INPUT_AUDIO_MUTED = "session.input_audio.muted"
    SESSION_INPUT_AUDIO_UNMUTED = "session.input_audio.unmuted"
    SESSION_INPUT_TRANSCRIPT_DELTA = "session.input_transcript.delta"
    SESSION_INSTRUCTIONS_APPENDED = "session.instructions.appended"
    SESSION_OUTPUT_AUDIO_DELTA = "session.output_audio.delta"
    SESSION_OUTPUT_AUDIO_FIXTURE_PLAYED = "session.output_audio.fixture.played"
    SESSION_OUTPUT_AUDIO_FIXTURE_PLAYING = "session.output_audio.fixture.playing"
    SESSION_OUTPUT_TRANSCRIPT_DELTA = "session.output_transcript.delta"
    SESSION_PAUSED = "session.paused"
    SESSION_RESUMED = "session.resumed"
    SESSION_STARTED = "session.started"
    SESSION_THINKING_APPENDED = "session.thinking.appended"
    SESSION_UPDATED = "session.updated"
    SESSION_USAGE_UPDATED = "session.usage.updated"
    TRANSPORT_ANSWERED = "transport.answered"
    TRANSPORT_DTMF_RECEIVED = "transport.dtmf.received"
    TRANSPORT_DTMF_SENT = "transport.dtmf.sent"
    TRANSPORT_FAILED = "transport.failed"
    TRANSPORT_RINGING = "transport.ringing"


# Field metadata of the fields always sent, ``None`` as ``null`` (``delegation_id``).
_SEND_NULL: Dict[str, Any] = {SEND_NULL_KEY: True}


class LiveClientEvent:
    """Base class of the Live events the client sends.

    ``event_id`` (optional but for ``decision.create``) is echoed by the server
    as ``client_event_id`` in its answer and in errors the command causes.
    """

    __slots__ = ()
    type: ClassVar[LiveEventType]
    event_id: Optional[str]


@attrs.frozen
class LiveServerEvent(WireModel):
    """Base class of the Live events the server sends.

    ``extra`` holds the frame's top-level JSON fields that the class does not
    model. ``event_id`` is ``""`` for the events that have none (reflected audio).
    """

    type: ClassVar[LiveEventType]
    event_id: str = ""


@attrs.frozen
class UnknownLiveEvent:
    """A Live server event whose ``type`` this SDK does not know; ``data`` is the raw JSON."""

    type: str
    data: Dict[str, Any]

    @property
    def event_id(self) -> str:
        """The event's id, or ``""`` when it has none."""
        value = self.data.get("event_id")
        return value if isinstance(value, str) else ""


AnyLiveServerEvent = Union[LiveServerEvent, UnknownLiveEvent]
"""What :func:`realtime_sync.protocol.decode_live` returns."""
