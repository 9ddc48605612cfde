"""Typed events: every GA client and server event, plus the SDK's own utility events.

One frozen attrs class per wire event type; its ``type`` is a class attribute
(a :class:`RealtimeEventType`), its fields are the wire fields. Server events
that the SDK does not know decode to :class:`UnknownServerEvent`, which keeps
the raw JSON. Utility events (``conversation.updated`` and friends) are made by
:class:`~realtime_sync.client.RealtimeClient`, never sent on the wire.

Wire fidelity. Every server event keeps the top-level JSON fields its class
does not model in ``event.extra`` (a read-only
:class:`~realtime_sync.models.ExtraFields`, empty when there are none), and
:func:`realtime_sync.protocol.encode_server_event` gives them back, so a field
the server adds after this release is neither lost nor hidden from logs. The
nested models (items, responses, the session...) keep theirs the same way.

Which missing fields fail an event. A server event's fields are of three kinds:

* *Essential* fields (no default: what the event is about and what the SDK acts
  on, e.g. ``item_id`` and ``delta`` of a delta, ``item`` of item events,
  ``response`` of ``response.*``, ``error`` of ``error``, ``transcript`` of a
  transcription): when one is missing the event cannot be used, so decoding
  raises :class:`~realtime_sync.errors.ProtocolError` (which the reader turns
  into an ``error`` event).
* *Usually sent* fields (see :func:`usually_sent`: ``event_id``, the
  ``response_id`` / ``output_index`` / ``content_index`` locators of deltas,
  ``usage`` of a transcription...): the server normally sends them, but the
  event means the same without them. A missing one decodes as absent (``None``,
  or ``""`` for ``event_id``) with a debug message on the ``realtime_sync``
  logger; the event is delivered.
* *Optional* fields (``previous_item_id``, ``logprobs``, ``obfuscation``...):
  absent as often as not; they decode as ``None`` (``previous_item_id``: as
  :data:`~realtime_sync.models.NOT_GIVEN`, since ``null`` means "first item").

A field of the wrong JSON type is an error whatever its kind. ``obfuscation``
is random padding the server adds to streamed deltas to hide their length; it
carries no meaning.
"""

from __future__ import annotations

import time
from typing import (
    TYPE_CHECKING,
    Any,
    ClassVar,
    Dict,
    FrozenSet,
    List,
    Literal,
    Mapping,
    Optional,
    Union,
)

import attrs

from .models import (
    NOT_GIVEN,
    ContentPart,
    ConversationInfo,
    Item,
    LogProb,
    NotGiven,
    RateLimit,
    RealtimeErrorDetails,
    Response,
    ResponseCreateParams,
    SessionConfig,
    TranscriptionUsage,
    WireModel,
    _OpenStrEnum,
)

if TYPE_CHECKING:
    from .items import FormattedItem


class RealtimeEventType(_OpenStrEnum):
    """Every event name the SDK dispatches.

    Wire events are named after their wire type in UPPER_SNAKE
    (``response.output_audio.delta`` is ``RESPONSE_OUTPUT_AUDIO_DELTA``). The
    SDK's own events follow; ``ALL``, ``SERVER_ALL`` and ``CLIENT_ALL`` are
    wildcards for :meth:`~realtime_sync.dispatcher.EventDispatcher.on`.
    Unknown wire types are accepted as pseudo-members.
    """

    # client events
    CONVERSATION_ITEM_CREATE = "conversation.item.create"
    CONVERSATION_ITEM_DELETE = "conversation.item.delete"
    CONVERSATION_ITEM_RETRIEVE = "conversation.item.retrieve"
    CONVERSATION_ITEM_TRUNCATE = "conversation.item.truncate"
    INPUT_AUDIO_BUFFER_APPEND = "input_audio_buffer.append"
    INPUT_AUDIO_BUFFER_CLEAR = "input_audio_buffer.clear"
    INPUT_AUDIO_BUFFER_COMMIT = "input_audio_buffer.commit"
    OUTPUT_AUDIO_BUFFER_CLEAR = "output_audio_buffer.clear"
    RESPONSE_CANCEL = "response.cancel"
    RESPONSE_CREATE = "response.create"
    SESSION_UPDATE = "session.update"

    # server events
    CONVERSATION_CREATED = "conversation.created"
    CONVERSATION_ITEM_ADDED = "conversation.item.added"
    CONVERSATION_ITEM_CREATED = "conversation.item.created"
    CONVERSATION_ITEM_DELETED = "conversation.item.deleted"
    CONVERSATION_ITEM_DONE = "conversation.item.done"
    CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_COMPLETED = (
        "conversation.item.input_audio_transcription.completed"
    )
    CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_DELTA = (
        "conversation.item.input_audio_transcription.delta"
    )
    CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_FAILED = (
        "conversation.item.input_audio_transcription.failed"
    )
    CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_SEGMENT = (
        "conversation.item.input_audio_transcription.segment"
    )
    CONVERSATION_ITEM_RETRIEVED = "conversation.item.retrieved"
    CONVERSATION_ITEM_TRUNCATED = "conversation.item.truncated"
    ERROR = "error"
    INPUT_AUDIO_BUFFER_CLEARED = "input_audio_buffer.cleared"
    INPUT_AUDIO_BUFFER_COMMITTED = "input_audio_buffer.committed"
    INPUT_AUDIO_BUFFER_DTMF_EVENT_RECEIVED = "input_audio_buffer.dtmf_event_received"
    INPUT_AUDIO_BUFFER_SPEECH_STARTED = "input_audio_buffer.speech_started"
    INPUT_AUDIO_BUFFER_SPEECH_STOPPED = "input_audio_buffer.speech_stopped"
    INPUT_AUDIO_BUFFER_TIMEOUT_TRIGGERED = "input_audio_buffer.timeout_triggered"
    MCP_LIST_TOOLS_COMPLETED = "mcp_list_tools.completed"
    MCP_LIST_TOOLS_FAILED = "mcp_list_tools.failed"
    MCP_LIST_TOOLS_IN_PROGRESS = "mcp_list_tools.in_progress"
    OUTPUT_AUDIO_BUFFER_CLEARED = "output_audio_buffer.cleared"
    OUTPUT_AUDIO_BUFFER_STARTED = "output_audio_buffer.started"
    OUTPUT_AUDIO_BUFFER_STOPPED = "output_audio_buffer.stopped"
    RATE_LIMITS_UPDATED = "rate_limits.updated"
    RESPONSE_CONTENT_PART_ADDED = "response.content_part.added"
    RESPONSE_CONTENT_PART_DONE = "response.content_part.done"
    RESPONSE_CREATED = "response.created"
    RESPONSE_DONE = "response.done"
    RESPONSE_FUNCTION_CALL_ARGUMENTS_DELTA = "response.function_call_arguments.delta"
    RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE = "response.function_call_arguments.done"
    RESPONSE_MCP_CALL_COMPLETED = "response.mcp_call.completed"
    RESPONSE_MCP_CALL_FAILED = "response.mcp_call.failed"
    RESPONSE_MCP_CALL_IN_PROGRESS = "response.mcp_call.in_progress"
    RESPONSE_MCP_CALL_ARGUMENTS_DELTA = "response.mcp_call_arguments.delta"
    RESPONSE_MCP_CALL_ARGUMENTS_DONE = "response.mcp_call_arguments.done"
    RESPONSE_OUTPUT_AUDIO_DELTA = "response.output_audio.delta"
    RESPONSE_OUTPUT_AUDIO_DONE = "response.output_audio.done"
    RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA = "response.output_audio_transcript.delta"
    RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE = "response.output_audio_transcript.done"
    RESPONSE_OUTPUT_ITEM_ADDED = "response.output_item.added"
    RESPONSE_OUTPUT_ITEM_DONE = "response.output_item.done"
    RESPONSE_OUTPUT_TEXT_DELTA = "response.output_text.delta"
    RESPONSE_OUTPUT_TEXT_DONE = "response.output_text.done"
    SESSION_CREATED = "session.created"
    SESSION_UPDATED = "session.updated"

    # utility events made by RealtimeClient
    CONVERSATION_UPDATED = "conversation.updated"
    CONVERSATION_ITEM_APPENDED = "conversation.item.appended"
    CONVERSATION_ITEM_COMPLETED = "conversation.item.completed"
    CONVERSATION_INTERRUPTED = "conversation.interrupted"
    OUT_OF_BAND_FUNCTION_CALLS = "response.out_of_band.function_calls"
    CLOSE = "close"
    RECONNECTING = "reconnecting"
    RECONNECTED = "reconnected"

    # wildcards
    ALL = "realtime.event"
    SERVER_ALL = "server.*"
    CLIENT_ALL = "client.*"


class ClientEvent:
    """Base class of the events the client sends."""

    __slots__ = ()
    type: ClassVar[RealtimeEventType]
    event_id: Optional[str]


@attrs.frozen
class ServerEvent(WireModel):
    """Base class of the events the server sends.

    ``extra`` holds the frame's top-level JSON fields that the class does not
    model (see the module documentation).
    """

    type: ClassVar[RealtimeEventType]
    event_id: str = ""


_USUALLY_SENT = "realtime_sync.usually_sent"
# Metadata of the fields the server normally sends but that an event can do without.
_USUAL: Dict[str, Any] = {_USUALLY_SENT: True}


def usually_sent(cls: type) -> FrozenSet[str]:
    """The wire fields of a server event class that decode as absent, logged, when missing."""
    return frozenset(f.name for f in attrs.fields(cls) if f.metadata.get(_USUALLY_SENT))


def essential_fields(cls: type) -> FrozenSet[str]:
    """The wire fields of a server event class without which it does not decode."""
    return frozenset(f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING)


# --------------------------------------------------------------------------- wire events


@attrs.frozen
class ConversationItemCreateEvent(ClientEvent):
    """`conversation.item.create`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_CREATE
    item: Item
    event_id: Optional[str] = None
    previous_item_id: Optional[str] = None


@attrs.frozen
class ConversationItemDeleteEvent(ClientEvent):
    """`conversation.item.delete`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_DELETE
    item_id: str
    event_id: Optional[str] = None


@attrs.frozen
class ConversationItemRetrieveEvent(ClientEvent):
    """`conversation.item.retrieve`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_RETRIEVE
    item_id: str
    event_id: Optional[str] = None


@attrs.frozen
class ConversationItemTruncateEvent(ClientEvent):
    """`conversation.item.truncate`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_TRUNCATE
    audio_end_ms: int
    content_index: int
    item_id: str
    event_id: Optional[str] = None


@attrs.frozen
class InputAudioBufferAppendEvent(ClientEvent):
    """`input_audio_buffer.append`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_APPEND
    audio: str
    event_id: Optional[str] = None


@attrs.frozen
class InputAudioBufferClearEvent(ClientEvent):
    """`input_audio_buffer.clear`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_CLEAR
    event_id: Optional[str] = None


@attrs.frozen
class InputAudioBufferCommitEvent(ClientEvent):
    """`input_audio_buffer.commit`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_COMMIT
    event_id: Optional[str] = None


@attrs.frozen
class OutputAudioBufferClearEvent(ClientEvent):
    """`output_audio_buffer.clear`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.OUTPUT_AUDIO_BUFFER_CLEAR
    event_id: Optional[str] = None


@attrs.frozen
class ResponseCancelEvent(ClientEvent):
    """`response.cancel`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_CANCEL
    event_id: Optional[str] = None
    response_id: Optional[str] = None


@attrs.frozen
class ResponseCreateEvent(ClientEvent):
    """`response.create`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_CREATE
    event_id: Optional[str] = None
    response: Optional[ResponseCreateParams] = None


@attrs.frozen
class SessionUpdateEvent(ClientEvent):
    """`session.update`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.SESSION_UPDATE
    session: SessionConfig
    event_id: Optional[str] = None


@attrs.frozen
class ConversationCreatedEvent(ServerEvent):
    """`conversation.created`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_CREATED
    conversation: ConversationInfo
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class ConversationItemAddedEvent(ServerEvent):
    """`conversation.item.added`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_ADDED
    item: Item
    event_id: str = attrs.field(default="", metadata=_USUAL)
    previous_item_id: Union[str, NotGiven, None] = NOT_GIVEN


@attrs.frozen
class ConversationItemCreatedEvent(ServerEvent):
    """`conversation.item.created`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_CREATED
    item: Item
    event_id: str = attrs.field(default="", metadata=_USUAL)
    previous_item_id: Union[str, NotGiven, None] = NOT_GIVEN


@attrs.frozen
class ConversationItemDeletedEvent(ServerEvent):
    """`conversation.item.deleted`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_DELETED
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class ConversationItemDoneEvent(ServerEvent):
    """`conversation.item.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_DONE
    item: Item
    event_id: str = attrs.field(default="", metadata=_USUAL)
    previous_item_id: Union[str, NotGiven, None] = NOT_GIVEN


@attrs.frozen
class ConversationItemInputAudioTranscriptionCompletedEvent(ServerEvent):
    """`conversation.item.input_audio_transcription.completed`.

    ``usage`` is ``None`` when the server leaves it out (the transcript still arrives).
    """

    type: ClassVar[RealtimeEventType] = (
        RealtimeEventType.CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_COMPLETED
    )
    item_id: str
    transcript: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    usage: Optional[TranscriptionUsage] = attrs.field(default=None, metadata=_USUAL)
    languages: Optional[List[Any]] = None
    logprobs: Optional[List[LogProb]] = None


@attrs.frozen
class ConversationItemInputAudioTranscriptionDeltaEvent(ServerEvent):
    """`conversation.item.input_audio_transcription.delta`."""

    type: ClassVar[RealtimeEventType] = (
        RealtimeEventType.CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_DELTA
    )
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    content_index: Optional[int] = None
    delta: Optional[str] = None
    logprobs: Optional[List[LogProb]] = None
    obfuscation: Optional[str] = None


@attrs.frozen
class ConversationItemInputAudioTranscriptionFailedEvent(ServerEvent):
    """`conversation.item.input_audio_transcription.failed`."""

    type: ClassVar[RealtimeEventType] = (
        RealtimeEventType.CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_FAILED
    )
    error: RealtimeErrorDetails
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ConversationItemInputAudioTranscriptionSegmentEvent(ServerEvent):
    """`conversation.item.input_audio_transcription.segment` (a diarized piece of a transcript)."""

    type: ClassVar[RealtimeEventType] = (
        RealtimeEventType.CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_SEGMENT
    )
    item_id: str
    text: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    speaker: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    start: Optional[float] = attrs.field(default=None, metadata=_USUAL)
    end: Optional[float] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ConversationItemRetrievedEvent(ServerEvent):
    """`conversation.item.retrieved`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_RETRIEVED
    item: Item
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class ConversationItemTruncatedEvent(ServerEvent):
    """`conversation.item.truncated`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_TRUNCATED
    audio_end_ms: int
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ErrorEvent(ServerEvent):
    """`error`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.ERROR
    error: RealtimeErrorDetails
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class InputAudioBufferClearedEvent(ServerEvent):
    """`input_audio_buffer.cleared`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_CLEARED
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class InputAudioBufferCommittedEvent(ServerEvent):
    """`input_audio_buffer.committed`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_COMMITTED
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    previous_item_id: Union[str, NotGiven, None] = NOT_GIVEN


@attrs.frozen
class InputAudioBufferDtmfEventReceivedEvent(ServerEvent):
    """`input_audio_buffer.dtmf_event_received` (a SIP keypress; it has no ``event_id``)."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_DTMF_EVENT_RECEIVED
    event: str
    event_id: str = ""
    received_at: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class InputAudioBufferSpeechStartedEvent(ServerEvent):
    """`input_audio_buffer.speech_started`.

    ``audio_end_ms`` is sent by some server versions (not in the published
    schema); it is ``None`` when absent.
    """

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_SPEECH_STARTED
    audio_start_ms: int
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    audio_end_ms: Optional[int] = None


@attrs.frozen
class InputAudioBufferSpeechStoppedEvent(ServerEvent):
    """`input_audio_buffer.speech_stopped`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_SPEECH_STOPPED
    audio_end_ms: int
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class InputAudioBufferTimeoutTriggeredEvent(ServerEvent):
    """`input_audio_buffer.timeout_triggered`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.INPUT_AUDIO_BUFFER_TIMEOUT_TRIGGERED
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    audio_start_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    audio_end_ms: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class McpListToolsCompletedEvent(ServerEvent):
    """`mcp_list_tools.completed`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.MCP_LIST_TOOLS_COMPLETED
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class McpListToolsFailedEvent(ServerEvent):
    """`mcp_list_tools.failed`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.MCP_LIST_TOOLS_FAILED
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class McpListToolsInProgressEvent(ServerEvent):
    """`mcp_list_tools.in_progress`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.MCP_LIST_TOOLS_IN_PROGRESS
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class OutputAudioBufferClearedEvent(ServerEvent):
    """`output_audio_buffer.cleared`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.OUTPUT_AUDIO_BUFFER_CLEARED
    response_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class OutputAudioBufferStartedEvent(ServerEvent):
    """`output_audio_buffer.started`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.OUTPUT_AUDIO_BUFFER_STARTED
    response_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class OutputAudioBufferStoppedEvent(ServerEvent):
    """`output_audio_buffer.stopped`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.OUTPUT_AUDIO_BUFFER_STOPPED
    response_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class RateLimitsUpdatedEvent(ServerEvent):
    """`rate_limits.updated`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RATE_LIMITS_UPDATED
    rate_limits: List[RateLimit]
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class ResponseContentPartAddedEvent(ServerEvent):
    """`response.content_part.added`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_CONTENT_PART_ADDED
    item_id: str
    part: ContentPart
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseContentPartDoneEvent(ServerEvent):
    """`response.content_part.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_CONTENT_PART_DONE
    item_id: str
    part: ContentPart
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseCreatedEvent(ServerEvent):
    """`response.created`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_CREATED
    response: Response
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class ResponseDoneEvent(ServerEvent):
    """`response.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_DONE
    response: Response
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class ResponseFunctionCallArgumentsDeltaEvent(ServerEvent):
    """`response.function_call_arguments.delta`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_FUNCTION_CALL_ARGUMENTS_DELTA
    call_id: str
    delta: str
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    obfuscation: Optional[str] = None


@attrs.frozen
class ResponseFunctionCallArgumentsDoneEvent(ServerEvent):
    """`response.function_call_arguments.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_FUNCTION_CALL_ARGUMENTS_DONE
    arguments: str
    call_id: str
    item_id: str
    name: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseMcpCallCompletedEvent(ServerEvent):
    """`response.mcp_call.completed`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_MCP_CALL_COMPLETED
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseMcpCallFailedEvent(ServerEvent):
    """`response.mcp_call.failed`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_MCP_CALL_FAILED
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseMcpCallInProgressEvent(ServerEvent):
    """`response.mcp_call.in_progress`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_MCP_CALL_IN_PROGRESS
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseMcpCallArgumentsDeltaEvent(ServerEvent):
    """`response.mcp_call_arguments.delta`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_MCP_CALL_ARGUMENTS_DELTA
    delta: str
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    obfuscation: Optional[str] = None


@attrs.frozen
class ResponseMcpCallArgumentsDoneEvent(ServerEvent):
    """`response.mcp_call_arguments.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_MCP_CALL_ARGUMENTS_DONE
    arguments: str
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseOutputAudioDeltaEvent(ServerEvent):
    """`response.output_audio.delta`: ``delta`` is base64 audio."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_OUTPUT_AUDIO_DELTA
    delta: str
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    obfuscation: Optional[str] = None


@attrs.frozen
class ResponseOutputAudioDoneEvent(ServerEvent):
    """`response.output_audio.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_OUTPUT_AUDIO_DONE
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseOutputAudioTranscriptDeltaEvent(ServerEvent):
    """`response.output_audio_transcript.delta`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DELTA
    delta: str
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    obfuscation: Optional[str] = None


@attrs.frozen
class ResponseOutputAudioTranscriptDoneEvent(ServerEvent):
    """`response.output_audio_transcript.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_OUTPUT_AUDIO_TRANSCRIPT_DONE
    item_id: str
    transcript: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseOutputItemAddedEvent(ServerEvent):
    """`response.output_item.added`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_OUTPUT_ITEM_ADDED
    item: Item
    response_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseOutputItemDoneEvent(ServerEvent):
    """`response.output_item.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_OUTPUT_ITEM_DONE
    item: Item
    response_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class ResponseOutputTextDeltaEvent(ServerEvent):
    """`response.output_text.delta`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_OUTPUT_TEXT_DELTA
    delta: str
    item_id: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    obfuscation: Optional[str] = None


@attrs.frozen
class ResponseOutputTextDoneEvent(ServerEvent):
    """`response.output_text.done`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RESPONSE_OUTPUT_TEXT_DONE
    item_id: str
    text: str
    event_id: str = attrs.field(default="", metadata=_USUAL)
    response_id: Optional[str] = attrs.field(default=None, metadata=_USUAL)
    output_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)
    content_index: Optional[int] = attrs.field(default=None, metadata=_USUAL)


@attrs.frozen
class SessionCreatedEvent(ServerEvent):
    """`session.created`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.SESSION_CREATED
    session: SessionConfig
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class SessionUpdatedEvent(ServerEvent):
    """`session.updated`."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.SESSION_UPDATED
    session: SessionConfig
    event_id: str = attrs.field(default="", metadata=_USUAL)


@attrs.frozen
class UnknownServerEvent:
    """A server event whose ``type`` this SDK does not know; ``data`` is the raw JSON."""

    type: str
    data: Dict[str, Any]

    @property
    def event_id(self) -> str:
        """The event's id, or ``""`` when it has none."""
        value = self.data.get("event_id")
        return value if isinstance(value, str) else ""


@attrs.frozen
class RawClientEvent:
    """A client event sent as a plain dict (``api.send({...})``), as it went out."""

    type: str
    data: Dict[str, Any]

    @property
    def event_id(self) -> Optional[str]:
        """The event's id."""
        value = self.data.get("event_id")
        return value if isinstance(value, str) else None


AnyServerEvent = Union[ServerEvent, UnknownServerEvent]
"""What :func:`realtime_sync.protocol.decode` returns."""


def _registry(base: type) -> Dict[str, type]:
    found: Dict[str, type] = {}
    for cls in list(globals().values()):
        if isinstance(cls, type) and issubclass(cls, base) and cls is not base:
            kind: RealtimeEventType = getattr(cls, "type")  # noqa: B009 - a ClassVar
            found[kind.value] = cls
    return found


SERVER_EVENT_CLASSES: Mapping[str, type] = _registry(ServerEvent)
"""Wire type -> server event class, for every GA server event."""

CLIENT_EVENT_CLASSES: Mapping[str, type] = _registry(ClientEvent)
"""Wire type -> client event class, for every GA client event."""


# --------------------------------------------------------------------------- utility events


@attrs.frozen
class ItemDelta:
    """What changed in an item: exactly one field is set."""

    audio: Optional[bytes] = None
    transcript: Optional[str] = None
    text: Optional[str] = None
    arguments: Optional[str] = None


@attrs.frozen
class ConversationUpdatedEvent:
    """``conversation.updated``: an item changed (delta, truncation, transcription...).

    ``delta`` is ``None`` when the change is not an append (truncation, deletion,
    a status change).
    """

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_UPDATED
    item: FormattedItem
    delta: Optional[ItemDelta] = None


@attrs.frozen
class ConversationItemAppendedEvent:
    """``conversation.item.appended``: a new item entered the conversation cache."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_APPENDED
    item: FormattedItem


@attrs.frozen
class ConversationItemCompletedEvent:
    """``conversation.item.completed``: an item is finished (always after it was appended).

    Reported once per item. ``item.status`` is ``completed``, or ``incomplete``
    for an answer that was cancelled or cut short.
    """

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_ITEM_COMPLETED
    item: FormattedItem


@attrs.frozen
class ConversationInterruptedEvent:
    """``conversation.interrupted``: server VAD heard the user start speaking.

    ``item_id`` is the *user's* new audio item (not the assistant's answer being
    played), ``audio_start_ms`` where speech began in the input stream.
    """

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CONVERSATION_INTERRUPTED
    item_id: str
    audio_start_ms: int


@attrs.frozen
class OutOfBandFunctionCallsEvent:
    """``response.out_of_band.function_calls``: an out-of-band response called functions.

    Such calls are not in the conversation, so the client never answers them
    itself; ``calls`` are their assembled items (``call.formatted.tool``). To
    answer, send another out-of-band ``response.create`` whose ``input`` holds
    the call and a ``function_call_output`` for it (see the tools guide).
    """

    type: ClassVar[RealtimeEventType] = RealtimeEventType.OUT_OF_BAND_FUNCTION_CALLS
    response: Response
    calls: List[FormattedItem]


@attrs.frozen
class SdkErrorEvent:
    """An error found by the SDK itself, dispatched as ``error`` like the server's.

    ``error`` has the server error's shape (``type``, ``code``, ``message``,
    ``event_id``); ``exception`` is the Python exception behind it, if any.
    Types used: ``protocol_error`` (an undecodable frame), ``handler_error`` (a
    handler raised), ``tool_error`` (a tool handler raised), ``response_failed``
    (a response ended ``failed``), ``reconnect_failed`` (every reconnect
    attempt failed).
    """

    type: ClassVar[RealtimeEventType] = RealtimeEventType.ERROR
    error: RealtimeErrorDetails
    exception: Optional[BaseException] = attrs.field(default=None, eq=False)


@attrs.frozen
class CloseEvent:
    """``close``: the connection ended. ``error`` is False for a disconnect the app asked for."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.CLOSE
    code: Optional[int] = None
    reason: str = ""
    error: bool = False


@attrs.frozen
class ReconnectingEvent:
    """``reconnecting``: the connection dropped; attempt ``attempt`` starts after ``delay`` s."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RECONNECTING
    attempt: int
    delay: float
    reason: str = ""
    code: Optional[int] = None


@attrs.frozen
class ReconnectedEvent:
    """``reconnected``: a new session is open and configured.

    ``replayed`` are the ids of items re-created in it, ``replayed_as`` how each
    was carried over (``text``, ``transcript`` or ``audio`` for a spoken turn,
    ``image``, ``tool``); ``lost_items`` those that could not be (audio no longer
    kept and without transcript, unpaired tool calls, items of types the SDK
    does not model); ``lost_response_id`` the response that was
    being generated at the drop; ``lost_input_audio_ms`` uncommitted input
    audio the new session never got.
    """

    type: ClassVar[RealtimeEventType] = RealtimeEventType.RECONNECTED
    attempts: int
    replayed: List[str] = attrs.field(factory=list)
    lost_items: List[str] = attrs.field(factory=list)
    lost_response_id: Optional[str] = None
    lost_input_audio_ms: float = 0.0
    downtime_s: float = 0.0
    recycled: bool = False
    replayed_as: Dict[str, str] = attrs.field(factory=dict)


@attrs.frozen
class RealtimeEvent:
    """What ``ALL`` handlers receive: every wire event with its direction and time."""

    type: ClassVar[RealtimeEventType] = RealtimeEventType.ALL
    source: Literal["client", "server"]
    event: Union[ClientEvent, ServerEvent, UnknownServerEvent, RawClientEvent]
    time: float = attrs.field(factory=time.time)


UtilityEvent = Union[
    ConversationUpdatedEvent,
    ConversationItemAppendedEvent,
    ConversationItemCompletedEvent,
    ConversationInterruptedEvent,
    SdkErrorEvent,
    CloseEvent,
    ReconnectingEvent,
    ReconnectedEvent,
    RealtimeEvent,
]
"""Events the SDK makes itself."""
