"""The interface between the simulator and its per-connection sessions.

A session asks its host (the :class:`~realtime_sync.testing.RealtimeSimulator`)
for settings and for the content of each response: it describes what the
"model" sees (:class:`ReplyRequest`) and gets back what to say
(:class:`ReplyPlan`). Nothing here knows about sockets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Tuple

from ._ids import JSON

__all__ = [
    "PlannedCall",
    "ReplyPlan",
    "ReplyRequest",
    "ScriptedEnd",
    "SessionHost",
    "ToolOutput",
]


@dataclass(frozen=True)
class ToolOutput:
    """A ``function_call_output`` item the model is about to answer."""

    call_id: str
    output: str


@dataclass(frozen=True)
class ReplyRequest:
    """What the "model" sees when it must answer: the user's last words and tool results."""

    user_text: Optional[str]
    tool_outputs: Tuple[ToolOutput, ...] = ()


@dataclass(frozen=True)
class PlannedCall:
    """A function call the response will emit (``arguments`` is a JSON string)."""

    name: str
    arguments: str
    call_id: str


@dataclass(frozen=True)
class ScriptedEnd:
    """A response that does not complete.

    ``status`` is "incomplete" (``reason`` "max_output_tokens" or "content_filter")
    or "failed" (``error`` is ``status_details.error``). ``after_words`` is how many
    words of the message stream before the end; None lets the run choose.
    """

    status: str
    reason: Optional[str] = None
    error: Optional[JSON] = None
    after_words: Optional[int] = None


@dataclass(frozen=True)
class ReplyPlan:
    """What a response will contain: an optional message, then the function calls.

    ``end`` scripts an early end; ``event_delay`` overrides the host's pacing for
    this response.
    """

    text: Optional[str]
    audio: Optional[bytes] = None
    calls: Tuple[PlannedCall, ...] = ()
    end: Optional[ScriptedEnd] = None
    event_delay: Optional[float] = None


class SessionHost(Protocol):
    """What a session needs from the simulator that owns it."""

    @property
    def event_delay(self) -> float:
        """Seconds to wait between two streamed response events."""
        ...

    @property
    def audio_chunk_ms(self) -> int:
        """Duration of the audio carried by one ``response.output_audio.delta``."""
        ...

    @property
    def send_rate_limits(self) -> bool:
        """Whether ``rate_limits.updated`` follows each ``response.done``."""
        ...

    @property
    def transcript_for_audio(self) -> str:
        """What the simulator "hears" in user audio."""
        ...

    def plan_reply(self, request: ReplyRequest) -> ReplyPlan:
        """Choose the content of a response."""
        ...

    def record_received(self, event: JSON) -> None:
        """Log a client event."""
        ...

    def shape_event(self, event: JSON) -> JSON:
        """Apply the test's field overrides to an outgoing event."""
        ...
