"""Typed models of the GA Realtime protocol's data: session config, items, responses.

Everything here is an attrs class whose field names equal the wire names, so
``protocol.to_wire`` / ``protocol.from_wire`` map them to and from JSON with no
renaming. Two kinds of "absent" exist on the wire and are kept apart:

* ``None`` in an ordinary optional field means *not given*: it is omitted from the
  JSON the SDK sends.
* A few fields give ``null`` a meaning of its own (``turn_detection: null`` turns
  server VAD off). Those default to :data:`NOT_GIVEN`, which is omitted, and
  ``None`` is sent as ``null``.

Enums are "open": a value the server adds after this release is kept as a
pseudo-member instead of making the whole event undecodable.

Every model (a :class:`WireModel`) also keeps the JSON fields it does not
model in ``extra``, a read-only :class:`ExtraFields` mapping that is empty
unless the server sent something new. Extras are sent back when the model is
encoded, so a field the SDK does not know yet survives a round trip (and the
app can send one: ``SessionConfig(extra={"new_option": 1})``).
"""

from __future__ import annotations

import base64
import enum
from typing import Any, Dict, Iterator, List, Literal, Mapping, Optional, Union

import attrs

__all__ = [
    "NOT_GIVEN",
    "NO_EXTRA",
    "AudioConfig",
    "AudioFormat",
    "AudioFormatType",
    "AudioInputConfig",
    "AudioOutputConfig",
    "ContentPart",
    "ContentPartType",
    "ConversationInfo",
    "CustomVoice",
    "Eagerness",
    "ExtraFields",
    "FunctionTool",
    "GenericItem",
    "GenericTool",
    "InputAudioTranscriptionConfig",
    "InputTokenDetails",
    "Item",
    "ItemFunctionCall",
    "ItemFunctionCallOutput",
    "ItemMessage",
    "ItemRole",
    "ItemStatus",
    "LogProb",
    "MaxOutputTokens",
    "Modality",
    "NoiseReduction",
    "NoiseReductionType",
    "NotGiven",
    "OutputTokenDetails",
    "RateLimit",
    "RealtimeErrorDetails",
    "Reasoning",
    "Response",
    "ResponseCreateParams",
    "ResponseStatus",
    "ResponseStatusDetails",
    "SessionConfig",
    "Tool",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolChoiceSetting",
    "ToolDefinition",
    "TranscriptionUsage",
    "TurnDetection",
    "TurnDetectionType",
    "Usage",
    "Voice",
    "VoiceSetting",
    "WireModel",
]


class NotGiven(enum.Enum):
    """Type of :data:`NOT_GIVEN`, the marker for "leave this field out of the JSON"."""

    NOT_GIVEN = "NOT_GIVEN"

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN = NotGiven.NOT_GIVEN
"""Default of the fields whose ``None`` is sent as ``null`` (see the module doc)."""


class ExtraFields(Mapping[str, Any]):
    """A read-only mapping of the JSON fields a model or event does not model.

    Read it like a dict (``event.extra.get("obfuscation")``); it compares
    equal to any mapping with the same items and prints like a dict. Only the
    top level is read-only: values are the decoded JSON, as received.
    """

    __slots__ = ("_data",)

    def __init__(self, data: Optional[Mapping[str, Any]] = None) -> None:
        self._data: Dict[str, Any] = dict(data) if data else {}

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ExtraFields):
            return self._data == other._data
        if isinstance(other, Mapping):
            return self._data == dict(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return repr(self._data)

    def __reduce__(self) -> Any:
        return (ExtraFields, (self._data,))


NO_EXTRA = ExtraFields()
"""The shared empty :class:`ExtraFields` (the default of every ``extra``)."""


@attrs.frozen
class WireModel:
    """Base of the wire models and server events: ``extra`` keeps unknown JSON fields.

    ``extra`` is keyword-only, excluded from hashing, and empty by default, so
    building a model in code never needs it (pass ``extra=ExtraFields({...})``
    to send a field the SDK does not model).
    """

    extra: ExtraFields = attrs.field(default=NO_EXTRA, kw_only=True, hash=False)


class _OpenStrEnum(str, enum.Enum):
    """A str enum that also accepts values it does not list.

    ``Voice("nova-2")`` returns a pseudo-member whose ``.value`` is ``"nova-2"``,
    so new server values and custom voices pass through unharmed.
    """

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if not isinstance(value, str):
            return None
        member = str.__new__(cls, value)
        member._name_ = value.upper().replace("-", "_").replace(".", "_").replace("/", "_")
        member._value_ = value
        return member

    def __str__(self) -> str:
        return str(self.value)


class Voice(_OpenStrEnum):
    """Output voices. Unknown names are accepted: ``Voice("future-voice")``."""

    ALLOY = "alloy"
    ASH = "ash"
    BALLAD = "ballad"
    CORAL = "coral"
    ECHO = "echo"
    SAGE = "sage"
    SHIMMER = "shimmer"
    VERSE = "verse"
    MARIN = "marin"
    CEDAR = "cedar"


class TurnDetectionType(_OpenStrEnum):
    """How the server decides that the user finished a turn."""

    SERVER_VAD = "server_vad"
    SEMANTIC_VAD = "semantic_vad"


class Eagerness(_OpenStrEnum):
    """How eagerly semantic VAD ends the user's turn."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    AUTO = "auto"


class NoiseReductionType(_OpenStrEnum):
    """Input noise reduction profiles."""

    NEAR_FIELD = "near_field"
    FAR_FIELD = "far_field"


class AudioFormatType(_OpenStrEnum):
    """Audio encodings: 24 kHz PCM16, G.711 u-law and A-law."""

    PCM = "audio/pcm"
    PCMU = "audio/pcmu"
    PCMA = "audio/pcma"


class Modality(_OpenStrEnum):
    """Output modalities of a response."""

    TEXT = "text"
    AUDIO = "audio"


class ItemStatus(_OpenStrEnum):
    """Status of a conversation item."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INCOMPLETE = "incomplete"


class ItemRole(_OpenStrEnum):
    """Author of a message item."""

    USER = "user"
    ASSISTANT = "assistant"
    SYSTEM = "system"


class ContentPartType(_OpenStrEnum):
    """Kinds of message content.

    ``TEXT`` and ``AUDIO`` are the names the server uses in
    ``response.content_part.*`` events; items use the ``INPUT_*`` / ``OUTPUT_*`` names.
    """

    INPUT_TEXT = "input_text"
    INPUT_AUDIO = "input_audio"
    INPUT_IMAGE = "input_image"
    OUTPUT_TEXT = "output_text"
    OUTPUT_AUDIO = "output_audio"
    TEXT = "text"
    AUDIO = "audio"


class ResponseStatus(_OpenStrEnum):
    """Status of a response."""

    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    FAILED = "failed"
    INCOMPLETE = "incomplete"


class ToolChoice(_OpenStrEnum):
    """Whether the model may, must or must not call tools."""

    AUTO = "auto"
    NONE = "none"
    REQUIRED = "required"


# --------------------------------------------------------------------------- session config


@attrs.frozen
class AudioFormat(WireModel):
    """An audio encoding: ``{"type": "audio/pcm", "rate": 24000}`` and friends."""

    type: AudioFormatType = AudioFormatType.PCM
    rate: Optional[int] = None

    @classmethod
    def pcm16(cls, rate: int = 24000) -> AudioFormat:
        """Little-endian 16-bit mono PCM (the API only accepts 24000 Hz)."""
        return cls(type=AudioFormatType.PCM, rate=rate)

    @classmethod
    def g711_ulaw(cls) -> AudioFormat:
        """G.711 u-law at 8 kHz (telephony)."""
        return cls(type=AudioFormatType.PCMU)

    @classmethod
    def g711_alaw(cls) -> AudioFormat:
        """G.711 A-law at 8 kHz (telephony)."""
        return cls(type=AudioFormatType.PCMA)

    @classmethod
    def from_legacy(cls, name: Union[str, AudioFormat]) -> AudioFormat:
        """Translate the beta names ``pcm16`` / ``g711_ulaw`` / ``g711_alaw``."""
        if isinstance(name, AudioFormat):
            return name
        legacy = {"pcm16": cls.pcm16, "g711_ulaw": cls.g711_ulaw, "g711_alaw": cls.g711_alaw}
        if name not in legacy:
            raise ValueError(
                f"unknown audio format {name!r}: use 'pcm16', 'g711_ulaw', 'g711_alaw' "
                "or an AudioFormat"
            )
        return legacy[name]()


@attrs.frozen
class TurnDetection(WireModel):
    """Server-side turn detection (``audio.input.turn_detection``).

    ``SERVER_VAD`` takes ``threshold``, ``prefix_padding_ms``,
    ``silence_duration_ms`` and ``idle_timeout_ms``; ``SEMANTIC_VAD`` takes
    ``eagerness``. Both take ``create_response`` and ``interrupt_response``.
    """

    type: TurnDetectionType = TurnDetectionType.SERVER_VAD
    threshold: Optional[float] = None
    prefix_padding_ms: Optional[int] = None
    silence_duration_ms: Optional[int] = None
    idle_timeout_ms: Optional[int] = None
    eagerness: Optional[Eagerness] = None
    create_response: Optional[bool] = None
    interrupt_response: Optional[bool] = None

    def __attrs_post_init__(self) -> None:
        vad_only = ("threshold", "prefix_padding_ms", "silence_duration_ms", "idle_timeout_ms")
        if self.type == TurnDetectionType.SEMANTIC_VAD:
            wrong = [name for name in vad_only if getattr(self, name) is not None]
            if wrong:
                raise ValueError(
                    f"{', '.join(wrong)} only apply to SERVER_VAD turn detection; "
                    "SEMANTIC_VAD takes eagerness"
                )
        elif self.type == TurnDetectionType.SERVER_VAD and self.eagerness is not None:
            raise ValueError("eagerness only applies to SEMANTIC_VAD turn detection")


@attrs.frozen
class InputAudioTranscriptionConfig(WireModel):
    """Transcription of the user's audio (``audio.input.transcription``)."""

    model: Optional[str] = None
    language: Optional[str] = None
    prompt: Optional[str] = None
    languages: Optional[List[str]] = None
    keywords: Optional[List[str]] = None
    delay: Optional[str] = None


@attrs.frozen
class NoiseReduction(WireModel):
    """Input noise reduction (``audio.input.noise_reduction``)."""

    type: NoiseReductionType = NoiseReductionType.NEAR_FIELD
    strength: Optional[float] = None


@attrs.frozen
class CustomVoice(WireModel):
    """A custom voice referenced by id: ``{"id": "voice_..."}``."""

    id: str


VoiceSetting = Union[Voice, CustomVoice]
"""What ``audio.output.voice`` holds: a named voice or a custom voice id."""


@attrs.frozen
class AudioInputConfig(WireModel):
    """``session.audio.input``. ``None`` in a nullable field turns that feature off."""

    format: Optional[AudioFormat] = None
    transcription: Union[InputAudioTranscriptionConfig, NotGiven, None] = NOT_GIVEN
    noise_reduction: Union[NoiseReduction, NotGiven, None] = NOT_GIVEN
    turn_detection: Union[TurnDetection, NotGiven, None] = NOT_GIVEN


@attrs.frozen
class AudioOutputConfig(WireModel):
    """``session.audio.output``."""

    format: Optional[AudioFormat] = None
    voice: Optional[VoiceSetting] = None
    speed: Optional[float] = None


@attrs.frozen
class AudioConfig(WireModel):
    """``session.audio``: input and output settings."""

    input: Optional[AudioInputConfig] = None
    output: Optional[AudioOutputConfig] = None


@attrs.frozen
class ToolDefinition(WireModel):
    """A function the model may call: name, description and a JSON-schema ``parameters``."""

    name: str
    description: str = ""
    parameters: Dict[str, Any] = attrs.field(factory=lambda: {"type": "object", "properties": {}})
    type: Literal["function"] = "function"


FunctionTool = ToolDefinition
"""The GA name of :class:`ToolDefinition`."""


@attrs.frozen
class GenericTool:
    """A tool type this SDK does not model (for example ``mcp``), kept as raw JSON."""

    type: str
    data: Dict[str, Any]


Tool = Union[ToolDefinition, GenericTool]
"""Any entry of ``session.tools``."""


@attrs.frozen
class ToolChoiceFunction(WireModel):
    """Force the model to call one function."""

    name: str
    type: Literal["function"] = "function"


ToolChoiceSetting = Union[ToolChoice, ToolChoiceFunction, Dict[str, Any]]
"""A tool choice: a mode, one function, or raw JSON for kinds not modelled (MCP)."""


@attrs.frozen
class Reasoning(WireModel):
    """Reasoning effort for reasoning-capable realtime models."""

    effort: Optional[str] = None


MaxOutputTokens = Union[int, Literal["inf"]]
"""A token limit, or ``"inf"`` for the model's maximum."""


@attrs.frozen
class SessionConfig(WireModel):
    """The GA session object (``session.update`` / ``session.created`` / ``session.updated``).

    ``type`` is ``"realtime"`` for conversations (``"transcription"`` for
    transcription-only sessions). Server-filled fields (``id``, ``object``,
    ``expires_at``) are ``None`` in what the client sends.
    """

    type: str = "realtime"
    model: Optional[str] = None
    instructions: Optional[str] = None
    output_modalities: Optional[List[Modality]] = None
    audio: Optional[AudioConfig] = None
    tools: Optional[List[Tool]] = None
    tool_choice: Optional[ToolChoiceSetting] = None
    max_output_tokens: Optional[MaxOutputTokens] = None
    parallel_tool_calls: Optional[bool] = None
    include: Optional[List[str]] = None
    reasoning: Optional[Reasoning] = None
    prompt: Union[Dict[str, Any], NotGiven, None] = NOT_GIVEN
    tracing: Union[str, Dict[str, Any], NotGiven, None] = NOT_GIVEN
    truncation: Optional[Union[str, Dict[str, Any]]] = None
    id: Optional[str] = None
    object: Optional[str] = None
    expires_at: Optional[int] = None


# --------------------------------------------------------------------------- items


@attrs.frozen
class ContentPart(WireModel):
    """One piece of message content. Build it with the named constructors.

    ``audio`` is base64 text on the wire; :meth:`input_audio` also takes raw
    PCM16 ``bytes``, which are encoded only when the part is sent (the part
    itself is never changed).
    """

    type: ContentPartType
    text: Optional[str] = None
    audio: Optional[Union[bytes, str]] = None
    transcript: Optional[str] = None
    image_url: Optional[str] = None
    detail: Optional[str] = None

    @classmethod
    def input_text(cls, *, text: str) -> ContentPart:
        """User or system text."""
        return cls(type=ContentPartType.INPUT_TEXT, text=text)

    @classmethod
    def input_audio(
        cls,
        *,
        audio: Union[bytes, bytearray, memoryview, str] = b"",
        transcript: Optional[str] = None,
    ) -> ContentPart:
        """User audio: raw PCM16 bytes or base64 text."""
        data: Union[bytes, str] = audio if isinstance(audio, str) else bytes(audio)
        return cls(type=ContentPartType.INPUT_AUDIO, audio=data, transcript=transcript)

    @classmethod
    def input_image(cls, *, image_url: str, detail: Optional[str] = None) -> ContentPart:
        """A user image, as an ``https://`` or ``data:image/...;base64,`` URL."""
        return cls(type=ContentPartType.INPUT_IMAGE, image_url=image_url, detail=detail)

    @classmethod
    def input_image_bytes(
        cls, data: bytes, *, mime_type: str = "image/png", detail: Optional[str] = None
    ) -> ContentPart:
        """A user image from raw file bytes (sent as a ``data:`` URL)."""
        url = f"data:{mime_type};base64,{base64.b64encode(data).decode('ascii')}"
        return cls.input_image(image_url=url, detail=detail)

    @classmethod
    def output_text(cls, *, text: str) -> ContentPart:
        """Assistant text."""
        return cls(type=ContentPartType.OUTPUT_TEXT, text=text)

    @classmethod
    def output_audio(
        cls, *, audio: Union[bytes, str, None] = None, transcript: Optional[str] = None
    ) -> ContentPart:
        """Assistant audio with its transcript."""
        return cls(type=ContentPartType.OUTPUT_AUDIO, audio=audio, transcript=transcript)


@attrs.frozen
class ItemMessage(WireModel):
    """A message item: user, assistant or system, with content parts."""

    role: ItemRole
    content: List[ContentPart] = attrs.field(factory=list)
    id: Optional[str] = None
    status: Optional[ItemStatus] = None
    object: Optional[str] = None
    type: Literal["message"] = "message"


@attrs.frozen
class ItemFunctionCall(WireModel):
    """The model's call of a function tool; ``arguments`` is JSON text."""

    name: str
    arguments: str = ""
    call_id: Optional[str] = None
    id: Optional[str] = None
    status: Optional[ItemStatus] = None
    object: Optional[str] = None
    type: Literal["function_call"] = "function_call"


@attrs.frozen
class ItemFunctionCallOutput(WireModel):
    """The application's answer to a function call."""

    call_id: str
    output: str
    id: Optional[str] = None
    status: Optional[ItemStatus] = None
    object: Optional[str] = None
    type: Literal["function_call_output"] = "function_call_output"


@attrs.frozen
class GenericItem:
    """An item type this SDK does not model yet (MCP items, ``item_reference``...).

    ``data`` is the item's raw JSON; it is sent back exactly as given.
    """

    type: str
    data: Dict[str, Any]

    @property
    def id(self) -> Optional[str]:
        """The item's id, when it has one."""
        value = self.data.get("id")
        return value if isinstance(value, str) else None

    @property
    def status(self) -> Optional[ItemStatus]:
        """The item's status, when it has one."""
        value = self.data.get("status")
        return ItemStatus(value) if isinstance(value, str) else None


Item = Union[ItemMessage, ItemFunctionCall, ItemFunctionCallOutput, GenericItem]
"""Any conversation item."""


# --------------------------------------------------------------------------- responses


@attrs.frozen
class RealtimeErrorDetails(WireModel):
    """The ``error`` object of an ``error`` event (and of failed responses / transcriptions)."""

    message: str = ""
    type: str = ""
    code: Optional[str] = None
    param: Optional[str] = None
    event_id: Optional[str] = None


@attrs.frozen
class ResponseStatusDetails(WireModel):
    """Why a response ended as it did (``reason``: ``turn_detected``, ``client_cancelled``...)."""

    type: Optional[str] = None
    reason: Optional[str] = None
    error: Optional[RealtimeErrorDetails] = None


@attrs.frozen
class InputTokenDetails(WireModel):
    """Input token breakdown of a response's usage."""

    text_tokens: Optional[int] = None
    audio_tokens: Optional[int] = None
    image_tokens: Optional[int] = None
    cached_tokens: Optional[int] = None
    cached_tokens_details: Optional[Dict[str, Any]] = None


@attrs.frozen
class OutputTokenDetails(WireModel):
    """Output token breakdown of a response's usage."""

    text_tokens: Optional[int] = None
    audio_tokens: Optional[int] = None


@attrs.frozen
class Usage(WireModel):
    """Token usage of one response."""

    total_tokens: Optional[int] = None
    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    input_token_details: Optional[InputTokenDetails] = None
    output_token_details: Optional[OutputTokenDetails] = None

    def __add__(self, other: Usage) -> Usage:
        """Both usages summed, the text/audio/image/cached breakdown included.

        A count absent from both stays absent (``None``); absent from one counts as 0.
        """
        inputs = None
        da, db = self.input_token_details, other.input_token_details
        if da is not None or db is not None:
            da, db = da or InputTokenDetails(), db or InputTokenDetails()
            inputs = InputTokenDetails(
                text_tokens=_add_counts(da.text_tokens, db.text_tokens),
                audio_tokens=_add_counts(da.audio_tokens, db.audio_tokens),
                image_tokens=_add_counts(da.image_tokens, db.image_tokens),
                cached_tokens=_add_counts(da.cached_tokens, db.cached_tokens),
                cached_tokens_details=_add_details(
                    da.cached_tokens_details, db.cached_tokens_details
                ),
            )
        outputs = None
        oa, ob = self.output_token_details, other.output_token_details
        if oa is not None or ob is not None:
            oa, ob = oa or OutputTokenDetails(), ob or OutputTokenDetails()
            outputs = OutputTokenDetails(
                text_tokens=_add_counts(oa.text_tokens, ob.text_tokens),
                audio_tokens=_add_counts(oa.audio_tokens, ob.audio_tokens),
            )
        return Usage(
            total_tokens=_add_counts(self.total_tokens, other.total_tokens),
            input_tokens=_add_counts(self.input_tokens, other.input_tokens),
            output_tokens=_add_counts(self.output_tokens, other.output_tokens),
            input_token_details=inputs,
            output_token_details=outputs,
        )


def _add_counts(a: Optional[int], b: Optional[int]) -> Optional[int]:
    return None if a is None and b is None else (a or 0) + (b or 0)


def _add_details(
    a: Optional[Dict[str, Any]], b: Optional[Dict[str, Any]]
) -> Optional[Dict[str, Any]]:
    """Two ``cached_tokens_details`` objects added key by key (numbers summed)."""
    if a is None and b is None:
        return None
    merged: Dict[str, Any] = dict(a or {})
    for key, value in (b or {}).items():
        mine = merged.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            merged[key] = (mine if isinstance(mine, int) else 0) + value
        elif key not in merged:
            merged[key] = value
    return merged


@attrs.frozen
class Response(WireModel):
    """A model response: its status, output items and usage."""

    id: Optional[str] = None
    object: Optional[str] = None
    status: Optional[ResponseStatus] = None
    status_details: Optional[ResponseStatusDetails] = None
    output: Optional[List[Item]] = None
    usage: Optional[Usage] = None
    conversation_id: Optional[str] = None
    output_modalities: Optional[List[Modality]] = None
    max_output_tokens: Optional[MaxOutputTokens] = None
    metadata: Optional[Dict[str, str]] = None
    audio: Optional[AudioConfig] = None


@attrs.frozen
class ResponseCreateParams(WireModel):
    """Per-response overrides sent with ``response.create``.

    ``conversation="none"`` makes an out-of-band response; ``input`` replaces
    the conversation as the model's context for this response.
    """

    output_modalities: Optional[List[Modality]] = None
    instructions: Optional[str] = None
    audio: Optional[AudioConfig] = None
    conversation: Optional[str] = None
    input: Optional[List[Item]] = None
    max_output_tokens: Optional[MaxOutputTokens] = None
    metadata: Optional[Dict[str, str]] = None
    tools: Optional[List[Tool]] = None
    tool_choice: Optional[ToolChoiceSetting] = None
    parallel_tool_calls: Optional[bool] = None
    reasoning: Optional[Reasoning] = None
    prompt: Optional[Dict[str, Any]] = None


@attrs.frozen
class RateLimit(WireModel):
    """One entry of ``rate_limits.updated``."""

    name: Optional[str] = None
    limit: Optional[int] = None
    remaining: Optional[int] = None
    reset_seconds: Optional[float] = None


@attrs.frozen
class TranscriptionUsage(WireModel):
    """Usage of an input transcription: by tokens (``type="tokens"``) or by ``seconds``."""

    type: Optional[str] = None
    seconds: Optional[float] = None
    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    input_token_details: Optional[Dict[str, Any]] = None


@attrs.frozen
class LogProb(WireModel):
    """A token log-probability of a transcription."""

    token: str
    logprob: float
    bytes: List[int] = attrs.field(factory=list)


@attrs.frozen
class ConversationInfo(WireModel):
    """The conversation object of ``conversation.created``."""

    id: Optional[str] = None
    object: Optional[str] = None
