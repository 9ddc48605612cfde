"""The Live API's enums.

All but :class:`TranscriptSource` (the SDK's own) are open, like those of
:mod:`realtime_sync.models`: a value the server adds after this release decodes
to a pseudo-member (``BuiltInVoice("future")``) instead of failing the event.
"""

from __future__ import annotations

import enum

from realtime_sync.models import AudioFormatType, ItemStatus, _OpenStrEnum

__all__ = [
    "AssistantPhase",
    "AudioFormatType",
    "BuiltInVoice",
    "DecisionAnswerType",
    "DecisionContentType",
    "DecisionQuestionType",
    "DelegationTarget",
    "ImageDetail",
    "ItemStatus",
    "LiveModel",
    "LiveRole",
    "ReasoningEffort",
    "ReasoningSummary",
    "ServiceTier",
    "SessionCloseReason",
    "SessionStatus",
    "TranscriptEventType",
    "TranscriptSource",
    "Verbosity",
]


class LiveModel(_OpenStrEnum):
    """Live models (``session.model`` takes any string; these are the published names)."""

    GPT_LIVE_1 = "gpt-live-1"
    GPT_LIVE_1_1 = "gpt-live-1.1"


class BuiltInVoice(_OpenStrEnum):
    """The Live API's built-in voices (``marin`` is the default). Unknown names are kept."""

    ALLOY = "alloy"
    ASH = "ash"
    BALLAD = "ballad"
    BEACON = "beacon"
    BOSSA = "bossa"
    CEDAR = "cedar"
    CINDER = "cinder"
    CORAL = "coral"
    DELTA = "delta"
    ECHO = "echo"
    GLEAM = "gleam"
    MARIN = "marin"
    MERIDIAN = "meridian"
    QUARTZ = "quartz"
    RIPPLE = "ripple"
    SAGE = "sage"
    SHIDA = "shida"
    SHIMMER = "shimmer"
    STONE = "stone"
    TEMPO = "tempo"
    VERSE = "verse"
    VESPER = "vesper"
    WILLOW = "willow"


class LiveRole(_OpenStrEnum):
    """Author of a history message or a Decision message."""

    USER = "user"
    ASSISTANT = "assistant"
    DEVELOPER = "developer"
    SYSTEM = "system"


class DelegationTarget(_OpenStrEnum):
    """Where the Live model delegated a task."""

    CLIENT = "client"
    RESPONSES = "responses"
    DECISIONS = "decisions"


class TranscriptEventType(_OpenStrEnum):
    """The transcript events a Decisions trigger can watch."""

    INPUT = "session.input_transcript.delta"
    OUTPUT = "session.output_transcript.delta"


class SessionCloseReason(_OpenStrEnum):
    """Why a Live session ended (``session.closed``)."""

    CLOSE_REQUESTED = "close_requested"
    EXPIRED = "expired"
    CONTENT = "content"
    REMOTE_HANGUP = "remote_hangup"
    CONNECTION_LOST = "connection_lost"


class SessionStatus(_OpenStrEnum):
    """Status of a session snapshot: always ``active``, even in ``session.closed``."""

    ACTIVE = "active"


class ReasoningEffort(_OpenStrEnum):
    """Reasoning effort of a delegated Responses model (support depends on the model)."""

    NONE = "none"
    MINIMAL = "minimal"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    XHIGH = "xhigh"


class ReasoningSummary(_OpenStrEnum):
    """The reasoning summary a delegated Responses model is asked for."""

    CONCISE = "concise"
    DETAILED = "detailed"
    AUTO = "auto"


class ServiceTier(_OpenStrEnum):
    """Service tier of a delegated Responses model."""

    AUTO = "auto"
    DEFAULT = "default"
    FLEX = "flex"
    PRIORITY = "priority"
    ULTRAFAST = "ultrafast"


class Verbosity(_OpenStrEnum):
    """Text verbosity of a delegated Responses model (not the Live model's speech)."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class TranscriptSource(str, enum.Enum):
    """Whose speech a transcript fragment is: the user's (input) or the model's (output)."""

    INPUT = "input"
    OUTPUT = "output"


class DecisionContentType(_OpenStrEnum):
    """Kinds of Decision content parts."""

    INPUT_TEXT = "input_text"
    INPUT_IMAGE = "input_image"
    INPUT_JSON = "input_json"
    OUTPUT_TEXT = "output_text"
    REFUSAL = "refusal"


class ImageDetail(_OpenStrEnum):
    """Detail level of an image given to the Decisions model."""

    LOW = "low"
    HIGH = "high"
    AUTO = "auto"
    ORIGINAL = "original"


class AssistantPhase(_OpenStrEnum):
    """Whether an assistant Decision message is intermediate commentary or the final answer."""

    COMMENTARY = "commentary"
    FINAL_ANSWER = "final_answer"


class DecisionQuestionType(_OpenStrEnum):
    """Kinds of Decisions questions."""

    CHOICE = "choice"
    PREDICATE = "predicate"
    SCORE = "score"


class DecisionAnswerType(_OpenStrEnum):
    """Kinds of Decisions answers (any question may be refused)."""

    CHOICE = "choice"
    PREDICATE = "predicate"
    SCORE = "score"
    REFUSAL = "refusal"
