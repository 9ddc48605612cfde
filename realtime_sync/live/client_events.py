"""The Live events the client sends, and the client unions of each connection kind.

Encode them with :func:`realtime_sync.protocol.encode_live`. Fields left
``None`` are not sent, except ``delegation_id`` of the three ``*.append``
context commands, which the API requires and where ``null`` means "general
session context" (not an answer to a client delegation).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any, ClassVar, Dict, Mapping, Optional, Union

import attrs

from realtime_sync.utils import base64_encode, generate_id

from .decisions import DecisionItem
from .events import _SEND_NULL, LiveClientEvent, LiveEventType
from .models import ForkSessionConfig, SessionConfig, SessionUpdateConfig

__all__ = [
    "FORK_CLIENT_EVENTS",
    "PRIMARY_CLIENT_EVENTS",
    "SIDEBAND_CLIENT_EVENTS",
    "CommentaryAppendEvent",
    "DecisionCreateEvent",
    "DecisionItemCreateEvent",
    "DecisionItemDeleteEvent",
    "ForkSessionStartEvent",
    "InputAudioAppendEvent",
    "InputAudioMuteEvent",
    "InputAudioUnmuteEvent",
    "InstructionsAppendEvent",
    "OutputAudioFixturePlayEvent",
    "ResponseCreateEvent",
    "ResponseItemCreateEvent",
    "SessionCloseEvent",
    "SessionStartEvent",
    "SessionUpdateEvent",
    "ThinkingAppendEvent",
    "TransportDtmfSendEvent",
]

_DTMF_KEYS = frozenset("0123456789ABCD*#")


def _audio_text(audio: Union[bytes, bytearray, memoryview, str]) -> str:
    return audio if isinstance(audio, str) else base64_encode(audio)


@attrs.frozen
class SessionStartEvent(LiveClientEvent):
    """``session.start``: a primary connection's first command; wait for ``session.started``."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_START
    session: SessionConfig
    event_id: Optional[str] = None


@attrs.frozen
class ForkSessionStartEvent(LiveClientEvent):
    """``session.start`` on a fork connection: overrides only (none by default)."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_START
    session: ForkSessionConfig = attrs.field(factory=ForkSessionConfig)
    event_id: Optional[str] = None


@attrs.frozen
class SessionUpdateEvent(LiveClientEvent):
    """``session.update``: change delegation or triggers; answered by ``session.updated``."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_UPDATE
    session: SessionUpdateConfig
    event_id: Optional[str] = None


@attrs.frozen
class InputAudioAppendEvent(LiveClientEvent):
    """``session.input_audio.append``: base64 audio in the session's format (primary only).

    Not acknowledged. :meth:`from_audio` encodes raw bytes.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INPUT_AUDIO_APPEND
    audio: str
    event_id: Optional[str] = None

    @classmethod
    def from_audio(
        cls, audio: Union[bytes, bytearray, memoryview, str], *, event_id: Optional[str] = None
    ) -> InputAudioAppendEvent:
        """The command for raw audio bytes (or base64 text), with no container header."""
        return cls(audio=_audio_text(audio), event_id=event_id)


@attrs.frozen
class InputAudioMuteEvent(LiveClientEvent):
    """``session.input_audio.mute``: the model hears silence (``session.input_audio.muted``)."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INPUT_AUDIO_MUTE
    event_id: Optional[str] = None


@attrs.frozen
class InputAudioUnmuteEvent(LiveClientEvent):
    """``session.input_audio.unmute``: answered by ``session.input_audio.unmuted``."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INPUT_AUDIO_UNMUTE
    event_id: Optional[str] = None


@attrs.frozen
class OutputAudioFixturePlayEvent(LiveClientEvent):
    """``session.output_audio.fixture.play``: play a recording (24 kHz mono PCM16, <= 30 s).

    It interrupts the model and mutes input while it plays; answered by
    ``session.output_audio.fixture.playing`` then ``...played``.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_OUTPUT_AUDIO_FIXTURE_PLAY
    audio: str
    event_id: Optional[str] = None

    @classmethod
    def from_audio(
        cls, audio: Union[bytes, bytearray, memoryview, str], *, event_id: Optional[str] = None
    ) -> OutputAudioFixturePlayEvent:
        """The command for raw PCM16 bytes (or base64 text)."""
        return cls(audio=_audio_text(audio), event_id=event_id)


@attrs.frozen
class InstructionsAppendEvent(LiveClientEvent):
    """``session.instructions.append``: add developer instructions (<= 500 tokens).

    ``delegation_id`` (sent as ``null`` when ``None``) ties them to a client
    delegation. Answered by ``session.instructions.appended``.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_INSTRUCTIONS_APPEND
    content: str
    delegation_id: Optional[str] = attrs.field(default=None, metadata=_SEND_NULL)
    event_id: Optional[str] = None


@attrs.frozen
class ThinkingAppendEvent(LiveClientEvent):
    """``session.thinking.append``: silent reasoning or progress context (<= 500 tokens).

    ``delegation_id`` as for :class:`InstructionsAppendEvent`. Answered by
    ``session.thinking.appended``.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_THINKING_APPEND
    content: str
    delegation_id: Optional[str] = attrs.field(default=None, metadata=_SEND_NULL)
    event_id: Optional[str] = None


@attrs.frozen
class CommentaryAppendEvent(LiveClientEvent):
    """``session.commentary.append``: context the model may say to the user (<= 500 tokens).

    Answer a client delegation with ``delegation_id=`` its id; ``None`` (sent as
    ``null``) is general context. Answered by ``session.commentary.appended``.
    """

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_COMMENTARY_APPEND
    content: str
    delegation_id: Optional[str] = attrs.field(default=None, metadata=_SEND_NULL)
    event_id: Optional[str] = None


@attrs.frozen
class DecisionCreateEvent(LiveClientEvent):
    """``decision.create``: evaluate the Decisions questions now (``decision.event`` follows).

    ``event_id`` is required and may not be reused in the session: a new one is
    generated unless given.
    """

    type: ClassVar[LiveEventType] = LiveEventType.DECISION_CREATE
    event_id: str = attrs.field(factory=lambda: generate_id("evt_"))


@attrs.frozen
class DecisionItemCreateEvent(LiveClientEvent):
    """``decision.item.create``: add a Decision item (answered by ``decision.item.created``)."""

    type: ClassVar[LiveEventType] = LiveEventType.DECISION_ITEM_CREATE
    item: DecisionItem
    event_id: Optional[str] = None


@attrs.frozen
class DecisionItemDeleteEvent(LiveClientEvent):
    """``decision.item.delete``: remove an item from the Decision context."""

    type: ClassVar[LiveEventType] = LiveEventType.DECISION_ITEM_DELETE
    item_id: str
    event_id: Optional[str] = None


@attrs.frozen
class ResponseItemCreateEvent(LiveClientEvent):
    """``response.item.create``: add an input item to the Responses backend (Responses delegation).

    ``item`` is a Responses API input item as JSON (a message, a
    ``function_call_output``...); see the named constructors.
    """

    type: ClassVar[LiveEventType] = LiveEventType.RESPONSE_ITEM_CREATE
    item: Dict[str, Any]
    event_id: Optional[str] = None

    @classmethod
    def function_call_output(
        cls, call_id: str, output: str, *, event_id: Optional[str] = None
    ) -> ResponseItemCreateEvent:
        """The result of a function call of the delegated Responses model."""
        item = {"type": "function_call_output", "call_id": call_id, "output": output}
        return cls(item=item, event_id=event_id)

    @classmethod
    def user_message(cls, text: str, *, event_id: Optional[str] = None) -> ResponseItemCreateEvent:
        """A user text message."""
        content = [{"type": "input_text", "text": text}]
        item = {"type": "message", "role": "user", "content": content}
        return cls(item=item, event_id=event_id)


@attrs.frozen
class ResponseCreateEvent(LiveClientEvent):
    """``response.create``: run (or continue, after tool results) the Responses backend."""

    type: ClassVar[LiveEventType] = LiveEventType.RESPONSE_CREATE
    event_id: Optional[str] = None


@attrs.frozen
class SessionCloseEvent(LiveClientEvent):
    """``session.close``: end the session; ``session.closed`` brings the reason and final usage."""

    type: ClassVar[LiveEventType] = LiveEventType.SESSION_CLOSE
    event_id: Optional[str] = None


@attrs.frozen
class TransportDtmfSendEvent(LiveClientEvent):
    """``transport.dtmf.send`` (sideband, SIP calls only): send one keypress.

    The key is one of ``0``-``9``, ``A``-``D``, ``*`` and ``#`` (any other raises
    :class:`ValueError`). Answered by ``transport.dtmf.sent``.
    """

    type: ClassVar[LiveEventType] = LiveEventType.TRANSPORT_DTMF_SEND
    event: str
    event_id: Optional[str] = None

    def __attrs_post_init__(self) -> None:
        if self.event not in _DTMF_KEYS:
            raise ValueError(f"a DTMF key is one of 0-9, A-D, * or #, not {self.event!r}")


def _table(*classes: type) -> Mapping[str, type]:
    return MappingProxyType({cls.type.value: cls for cls in classes})  # type: ignore[attr-defined]


_COMMANDS = (
    SessionUpdateEvent,
    InputAudioMuteEvent,
    InputAudioUnmuteEvent,
    OutputAudioFixturePlayEvent,
    InstructionsAppendEvent,
    ThinkingAppendEvent,
    CommentaryAppendEvent,
    DecisionCreateEvent,
    DecisionItemCreateEvent,
    DecisionItemDeleteEvent,
    ResponseItemCreateEvent,
    ResponseCreateEvent,
    SessionCloseEvent,
)

PRIMARY_CLIENT_EVENTS: Mapping[str, type] = _table(
    SessionStartEvent, InputAudioAppendEvent, *_COMMANDS
)
"""Wire type -> class of the client events of a primary connection (openai's ``ClientEvent``)."""

SIDEBAND_CLIENT_EVENTS: Mapping[str, type] = _table(*_COMMANDS, TransportDtmfSendEvent)
"""The client events of a sideband connection (``ConnectClientEvent``): no start, no audio."""

FORK_CLIENT_EVENTS: Mapping[str, type] = _table(
    ForkSessionStartEvent, InputAudioAppendEvent, *_COMMANDS
)
"""The client events of a fork connection (``ForkClientEvent``)."""
