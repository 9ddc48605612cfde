"""Typed models of the GPT-Live protocol's data: session config, delegation, usage, errors.

The conventions are those of :mod:`realtime_sync.models`: frozen attrs classes
whose field names are the wire names, ``None`` for "not given" (left out of the
JSON), open enums for values the server may extend, and ``extra`` (a read-only
:class:`~realtime_sync.models.ExtraFields`) keeping the JSON fields a model does
not know, sent back when it is encoded.

A Live session is configured once, by ``session.start`` (:class:`SessionConfig`:
the model goes here, never in the URL); ``session.update`` only changes
delegation and transcript triggers (:class:`SessionUpdateConfig`). The server
answers both with the resolved :class:`SessionResource`.

Nested fields that name or carry the object (an id, a message's role and
content, a question's type) are required; counters, timestamps and settings
default to ``None`` so that a server leaving one out does not make the whole
event undecodable. The Decisions models (questions, items, answers) are in
:mod:`realtime_sync.live.decisions`, the enums in :mod:`realtime_sync.live.enums`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Union

import attrs

from realtime_sync.models import CustomVoice, GenericTool, ToolChoiceSetting, WireModel

from .decisions import DecisionQuestion
from .enums import (
    AudioFormatType,
    BuiltInVoice,
    DelegationTarget,
    ItemStatus,
    LiveRole,
    ReasoningEffort,
    ReasoningSummary,
    ServiceTier,
    SessionStatus,
    TranscriptEventType,
    TranscriptSource,
    Verbosity,
)

__all__ = [
    "AudioConfig",
    "AudioFormat",
    "AudioOutputConfig",
    "ClientConfig",
    "ClientDelegation",
    "ContextWindow",
    "CustomVoice",
    "DataChannelConfig",
    "DecisionTrigger",
    "DecisionsDelegation",
    "DecisionsDelegationConfig",
    "DecisionsDelegationUpdate",
    "DecisionsDelegationUpdateConfig",
    "Delegation",
    "DelegationInfo",
    "DelegationReasoning",
    "DelegationUpdate",
    "ErrorDetails",
    "ForkAudioConfig",
    "ForkSessionConfig",
    "FunctionTool",
    "GenericDelegation",
    "GenericTool",
    "InitialItem",
    "InitialItemContent",
    "ResponsesDelegation",
    "ResponsesDelegationConfig",
    "ResponsesDelegationUpdate",
    "ResponsesDelegationUpdateConfig",
    "ResponsesText",
    "ServerEventSelector",
    "SessionConfig",
    "SessionResource",
    "SessionUpdateConfig",
    "SessionUsage",
    "Tool",
    "TranscriptFragment",
    "TransportError",
    "TriggerQuestions",
    "VoiceSetting",
]


# --------------------------------------------------------------------------- audio


@attrs.frozen
class AudioFormat(WireModel):
    """Audio encoding of a primary WebSocket: ``{"type": "audio/pcm", "rate": 24000}``.

    Only primary WebSockets (and WebSocket forks) set it; WebRTC and SIP
    negotiate their media format. Build one with the named constructors.
    """

    type: AudioFormatType
    rate: int

    @classmethod
    def pcm16(cls, rate: int = 24000) -> AudioFormat:
        """Raw mono 16-bit little-endian PCM at 16000 or 24000 Hz."""
        if rate not in (16000, 24000):
            raise ValueError(f"Live PCM audio is 16000 or 24000 Hz, not {rate}")
        return cls(type=AudioFormatType.PCM, rate=rate)

    @classmethod
    def g711_ulaw(cls) -> AudioFormat:
        """G.711 u-law at 8 kHz."""
        return cls(type=AudioFormatType.PCMU, rate=8000)

    @classmethod
    def g711_alaw(cls) -> AudioFormat:
        """G.711 A-law at 8 kHz."""
        return cls(type=AudioFormatType.PCMA, rate=8000)


VoiceSetting = Union[BuiltInVoice, CustomVoice]
"""A voice: a built-in name (unknown names kept) or a custom voice ``{"id": ...}``."""


@attrs.frozen
class AudioOutputConfig(WireModel):
    """``session.audio.output``: the voice (``marin`` by default; fixed after startup)."""

    voice: Optional[VoiceSetting] = None


@attrs.frozen
class AudioConfig(WireModel):
    """``session.audio`` at startup: the WebSocket format and the voice (both immutable)."""

    format: Optional[AudioFormat] = None
    output: Optional[AudioOutputConfig] = None


@attrs.frozen
class ForkAudioConfig(WireModel):
    """``session.audio`` of a WebSocket fork: only the new connection's format."""

    format: Optional[AudioFormat] = None


# --------------------------------------------------------------------------- WebRTC frontend


@attrs.frozen
class ServerEventSelector(WireModel):
    """A server event a WebRTC frontend may receive.

    ``type`` is the outer Live event type; for ``response.event`` also name the
    nested Responses event in ``response_event``.
    """

    type: str
    response_event: Optional[str] = None


@attrs.frozen
class DataChannelConfig(WireModel):
    """Which events an untrusted WebRTC frontend may send and receive.

    ``"all"`` allows every event, a list only those (an empty list none);
    ``None`` keeps the default (all). Sideband connections are not restricted.
    """

    allowed_client_events: Optional[Union[Literal["all"], List[str]]] = None
    allowed_server_events: Optional[Union[Literal["all"], List[ServerEventSelector]]] = None


@attrs.frozen
class ClientConfig(WireModel):
    """``session.client``: startup-only capabilities of a WebRTC frontend."""

    data_channel: DataChannelConfig


# --------------------------------------------------------------------------- delegation


@attrs.frozen
class FunctionTool(WireModel):
    """A function the delegated Responses model may call."""

    name: str
    description: Optional[str] = None
    parameters: Optional[Dict[str, Any]] = None
    strict: Optional[bool] = None
    type: Literal["function"] = "function"


Tool = Union[FunctionTool, GenericTool]
"""A Responses backend tool: a function, or another kind (``mcp``...) as raw JSON."""


@attrs.frozen
class DelegationReasoning(WireModel):
    """Reasoning settings of the delegated Responses model."""

    effort: Optional[ReasoningEffort] = None
    summary: Optional[ReasoningSummary] = None


@attrs.frozen
class ResponsesText(WireModel):
    """Text settings of the delegated Responses model."""

    verbosity: Optional[Verbosity] = None


@attrs.frozen
class ResponsesDelegationConfig(WireModel):
    """The Responses backend of a session: model, backend prompt, tools.

    ``tool_choice`` takes a :class:`~realtime_sync.models.ToolChoice` mode, a
    :class:`~realtime_sync.models.ToolChoiceFunction` or raw JSON (MCP, allowed tools...).
    """

    model: str
    instructions: Optional[str] = None
    max_output_tokens: Optional[int] = None
    parallel_tool_calls: Optional[bool] = None
    reasoning: Optional[DelegationReasoning] = None
    service_tier: Optional[ServiceTier] = None
    text: Optional[ResponsesText] = None
    tool_choice: Optional[ToolChoiceSetting] = None
    tools: Optional[List[Tool]] = None


@attrs.frozen
class ResponsesDelegationUpdateConfig(WireModel):
    """Changes to the Responses backend; fields left ``None`` keep their value."""

    model: Optional[str] = None
    instructions: Optional[str] = None
    max_output_tokens: Optional[int] = None
    parallel_tool_calls: Optional[bool] = None
    reasoning: Optional[DelegationReasoning] = None
    service_tier: Optional[ServiceTier] = None
    text: Optional[ResponsesText] = None
    tool_choice: Optional[ToolChoiceSetting] = None
    tools: Optional[List[Tool]] = None


@attrs.frozen
class DecisionsDelegationConfig(WireModel):
    """The Decisions backend of a session: its model and the questions asked, in order."""

    model: str
    questions: List[DecisionQuestion]


@attrs.frozen
class DecisionsDelegationUpdateConfig(WireModel):
    """Changes to the Decisions backend; fields left ``None`` keep their value."""

    model: Optional[str] = None
    questions: Optional[List[DecisionQuestion]] = None


@attrs.frozen
class ClientDelegation(WireModel):
    """Tasks are delegated to the application (``session.delegation.created``).

    ``acknowledgement_delay_ms``: how long to wait before the model gives a spoken
    acknowledgement (appending commentary or thinking cancels it).
    """

    acknowledgement_delay_ms: Optional[int] = None
    type: Literal["client"] = "client"


@attrs.frozen
class ResponsesDelegation(WireModel):
    """Tasks are delegated to a Responses model run by the session (``response.event``)."""

    responses: ResponsesDelegationConfig
    acknowledgement_delay_ms: Optional[int] = None
    type: Literal["responses"] = "responses"


@attrs.frozen
class DecisionsDelegation(WireModel):
    """Tasks are delegated to the Decisions API (``decision.event``)."""

    decisions: DecisionsDelegationConfig
    acknowledgement_delay_ms: Optional[int] = None
    type: Literal["decisions"] = "decisions"


@attrs.frozen
class ResponsesDelegationUpdate(WireModel):
    """Update a Responses delegation (also the delegation override of a fork)."""

    responses: Optional[ResponsesDelegationUpdateConfig] = None
    acknowledgement_delay_ms: Optional[int] = None
    type: Literal["responses"] = "responses"


@attrs.frozen
class DecisionsDelegationUpdate(WireModel):
    """Update a Decisions delegation."""

    decisions: Optional[DecisionsDelegationUpdateConfig] = None
    acknowledgement_delay_ms: Optional[int] = None
    type: Literal["decisions"] = "decisions"


@attrs.frozen
class GenericDelegation:
    """A delegation type this SDK does not model, kept (and sent back) as raw JSON."""

    type: str
    data: Dict[str, Any]


Delegation = Union[ClientDelegation, ResponsesDelegation, DecisionsDelegation, GenericDelegation]
"""Who handles delegated tasks (``session.delegation``; ``None`` means the application)."""

DelegationUpdate = Union[
    ClientDelegation, ResponsesDelegationUpdate, DecisionsDelegationUpdate, GenericDelegation
]
"""A ``session.update`` delegation change (the delegation type cannot change)."""


@attrs.frozen
class TriggerQuestions(WireModel):
    """The questions of a Decisions trigger, asked together, in order."""

    questions: List[DecisionQuestion]


@attrs.frozen
class DecisionTrigger(WireModel):
    """Ask Decisions questions on every transcript delta of one kind.

    At most one trigger per ``event_type``; triggers run whatever the delegation.
    """

    event_type: TranscriptEventType
    decisions: TriggerQuestions
    type: str = "decisions"

    @classmethod
    def on(
        cls, event_type: TranscriptEventType, questions: List[DecisionQuestion]
    ) -> DecisionTrigger:
        """A trigger asking ``questions`` on each delta of ``event_type``."""
        return cls(event_type=event_type, decisions=TriggerQuestions(questions=questions))


# --------------------------------------------------------------------------- history


@attrs.frozen
class InitialItemContent(WireModel):
    """The one text part of a history message.

    ``type`` is ``input_text`` for developer and user messages, ``output_text``
    (or ``text``) for assistant ones; it may be left out.
    """

    text: str
    type: Optional[str] = None


@attrs.frozen
class InitialItem(WireModel):
    """A text message of the history a session starts with (``session.input``).

    Developer, user and assistant messages with one text part each; at most 128.
    """

    role: LiveRole
    content: List[InitialItemContent]
    id: Optional[str] = None
    status: Optional[ItemStatus] = None
    type: Optional[str] = None

    @classmethod
    def developer(cls, text: str) -> InitialItem:
        """A developer message."""
        return cls(role=LiveRole.DEVELOPER, content=[InitialItemContent(text, "input_text")])

    @classmethod
    def user(cls, text: str) -> InitialItem:
        """A user message."""
        return cls(role=LiveRole.USER, content=[InitialItemContent(text, "input_text")])

    @classmethod
    def assistant(cls, text: str) -> InitialItem:
        """An assistant message."""
        return cls(role=LiveRole.ASSISTANT, content=[InitialItemContent(text, "output_text")])


# --------------------------------------------------------------------------- sessions


@attrs.frozen
class SessionConfig(WireModel):
    """The configuration ``session.start`` sends: the model and everything fixed at startup.

    ``instructions``, ``audio`` and ``input`` cannot change later; ``delegation``
    (``None``: the application) and ``triggers`` can, with ``session.update``.
    """

    model: str
    instructions: Optional[str] = None
    audio: Optional[AudioConfig] = None
    client: Optional[ClientConfig] = None
    delegation: Optional[Delegation] = None
    input: Optional[List[InitialItem]] = None
    safety_identifier: Optional[str] = None
    store: Optional[bool] = None
    triggers: Optional[List[DecisionTrigger]] = None


@attrs.frozen
class SessionUpdateConfig(WireModel):
    """What ``session.update`` may change. ``None`` keeps a setting; ``triggers=[]`` drops them."""

    delegation: Optional[DelegationUpdate] = None
    triggers: Optional[List[DecisionTrigger]] = None


@attrs.frozen
class ForkSessionConfig(WireModel):
    """Overrides of a stored session's configuration when a fork starts.

    The empty config (the default) inherits everything; the model cannot change.
    """

    audio: Optional[ForkAudioConfig] = None
    client: Optional[ClientConfig] = None
    delegation: Optional[ResponsesDelegationUpdate] = None
    store: Optional[bool] = None


@attrs.frozen
class SessionResource(WireModel):
    """The resolved session of ``session.started`` / ``updated`` / ``closed`` (with defaults)."""

    id: str
    model: Optional[str] = None
    expires_at: Optional[int] = None
    status: Optional[SessionStatus] = None
    instructions: Optional[str] = None
    audio: Optional[AudioConfig] = None
    client: Optional[ClientConfig] = None
    delegation: Optional[Delegation] = None
    input: Optional[List[InitialItem]] = None
    safety_identifier: Optional[str] = None
    store: Optional[bool] = None
    triggers: Optional[List[DecisionTrigger]] = None


@attrs.frozen
class SessionUsage(WireModel):
    """Cumulative billable audio of a session, in seconds (never sum two of these).

    WebRTC sessions may split it into ``active_seconds`` and ``paused_seconds``.
    Token usage of delegated Responses work comes in ``response.event`` instead.
    """

    seconds: float
    active_seconds: Optional[int] = None
    paused_seconds: Optional[int] = None


@attrs.frozen
class ContextWindow(WireModel):
    """How full the Live model's context is (a ratio; it drops after compaction)."""

    usage_ratio: float


# --------------------------------------------------------------------------- errors and notices


@attrs.frozen
class ErrorDetails(WireModel):
    """The ``error`` object of an ``error`` event.

    ``client_event_id`` is the ``event_id`` of the command that failed, when it had one.
    """

    message: str = ""
    type: str = ""
    code: str = ""
    param: Optional[str] = None
    client_event_id: Optional[str] = None


@attrs.frozen
class TransportError(WireModel):
    """Why an outbound SIP call could not be set up (``transport.failed``)."""

    message: str = ""
    type: str = ""
    code: str = ""
    param: Optional[str] = None


@attrs.frozen
class DelegationInfo(WireModel):
    """The delegation of ``session.delegation.created``: its id and target, not the task.

    Reply to a client delegation with ``session.commentary.append`` (or thinking,
    instructions) carrying ``delegation_id=id``. ``response_id`` is the Responses
    response of a Responses delegation.
    """

    id: str
    target: DelegationTarget
    type: Optional[str] = None
    response_id: Optional[str] = None


@attrs.frozen
class TranscriptFragment:
    """A piece of transcript, from ``session.input_transcript.delta`` or ``output``.

    Fragments come in delivery order and do not mark turn ends: append ``text``.
    ``start_ms`` / ``end_ms`` place it on the session timeline.
    """

    source: TranscriptSource
    text: str
    start_ms: Optional[int] = None
    end_ms: Optional[int] = None
    event_id: str = ""
