"""The GPT-Live session core: a sans-IO state machine of one Live session.

A Live session (``wss://api.openai.com/v1/live/sessions``) starts with the
client's ``session.start`` (the model and everything fixed for the session) and
then runs on its own: the model hears the input audio and speaks when it
decides to, while the client adds context (commentary, thinking,
instructions), updates delegation or triggers, mutes the input and answers the
tasks the model delegates to it. ``session.close`` ends it. Like
:class:`~realtime_sync.core.realtime.RealtimeSessionCore` this core has no
sockets, threads or clock: every call returns :mod:`~realtime_sync.core.actions`
for :class:`~realtime_sync.driver.CoreDriver` to carry out.

* **Requests**: every command has an ``event_id`` bound in a
  :class:`~realtime_sync.core.ledger.RequestLedger`; the acknowledgement naming
  it (``client_event_id``) resolves its request, an ``error`` naming it fails
  it. Text over the 500-token limit goes in several commands
  (:func:`split_for_append`), all acknowledged before the request resolves.
* **Startup**: any ``error`` before ``session.started`` fails the start with
  :class:`LiveStartupError` and ends the session.
* **Fixed settings**: :meth:`LiveSessionCore.update_session` raises
  :class:`ImmutableSettingError` before sending anything for what
  ``session.update`` cannot carry (model, voice, instructions...) or a new
  delegation type.
* **Client delegation**: ``session.delegation.created`` becomes a
  :class:`~realtime_sync.core.actions.RunTool` of :data:`DELEGATION_TOOL`
  (the id, the offset, the transcript since the last delegation);
  :meth:`LiveSessionCore.delegation_answered` sends the answer, or the spoken
  fallback, as commentary for that delegation.
* **Errors**: :data:`FATAL_ERROR_CODES` (and any error before the start) end
  the session; any other error is just an event, failing at most the command
  it names. All are kept for the :class:`LiveCloseResult`.
"""

from __future__ import annotations

import enum
import json
import math
import re
from typing import Any, Dict, List, Mapping, Optional, Sequence, Set, Tuple, Union

import attrs

from realtime_sync.errors import ConnectionClosedError, RealtimeError, RealtimeServerError
from realtime_sync.live import client_events as lc
from realtime_sync.live import server_events as ls
from realtime_sync.live.enums import DelegationTarget, SessionCloseReason
from realtime_sync.live.models import (
    ContextWindow,
    ErrorDetails,
    SessionConfig,
    SessionResource,
    SessionUpdateConfig,
    SessionUsage,
    TranscriptFragment,
)
from realtime_sync.utils import generate_id

from .actions import Action, Emit, Fail, Resolve, RunTool, Send
from .ledger import RequestLedger

__all__ = [
    "DELEGATION_TOOL",
    "FATAL_ERROR_CODES",
    "MAX_APPEND_TOKENS",
    "MAX_INITIAL_ITEMS",
    "AppendKind",
    "AppendResult",
    "DelegationAnsweredEvent",
    "ImmutableSettingError",
    "LiveCloseResult",
    "LivePhase",
    "LiveSessionCore",
    "LiveSessionEndedError",
    "LiveStartupError",
    "estimate_tokens",
    "live_server_error",
    "split_for_append",
]

MAX_APPEND_TOKENS = 500
"""The token limit of one ``session.{commentary,thinking,instructions}.append``."""

MAX_INITIAL_ITEMS = 128
"""The most history messages ``session.start`` may carry (``session.input``)."""

DELEGATION_TOOL = "__live_client_delegation__"
"""The :class:`~realtime_sync.core.actions.RunTool` name of a client delegation."""

FATAL_ERROR_CODES = frozenset(
    {
        "session_expired",
        "session_not_found",
        "session_failed",
        "session_closed",
        "internal_error",
        "server_error",
        "invalid_api_key",
        "insufficient_quota",
        "model_not_found",
    }
)
"""Error codes after which the session is over (every other error is just an event).

An error that names a command (``client_event_id``) fails that command only,
unless its code is here. Any error before ``session.started`` ends the session
too. ``session_storage_failed`` is *not* fatal: the session goes on (and a
``session.closed`` after it does not mean the recording was stored).
"""

DEFAULT_FALLBACK = "Sorry, I couldn't finish that just now."
"""What the model is given to say when a delegation handler fails or times out."""


class LivePhase(enum.Enum):
    """Where the session is."""

    IDLE = "idle"
    """Not started (or a new connection not started yet)."""
    STARTING = "starting"
    """``session.start`` sent; waiting for ``session.started``."""
    ACTIVE = "active"
    """The session runs: commands may be sent."""
    CLOSING = "closing"
    """``session.close`` sent; waiting for ``session.closed``."""
    CLOSED = "closed"
    """``session.closed`` arrived, a fatal error ended it, or the connection closed."""


class AppendKind(str, enum.Enum):
    """The three kinds of context a running session takes."""

    COMMENTARY = "commentary"
    """What the model may say to the user (``session.commentary.append``)."""
    THINKING = "thinking"
    """Silent reasoning or progress (``session.thinking.append``)."""
    INSTRUCTIONS = "instructions"
    """Developer instructions (``session.instructions.append``)."""


_APPEND_EVENTS = {
    AppendKind.COMMENTARY: lc.CommentaryAppendEvent,
    AppendKind.THINKING: lc.ThinkingAppendEvent,
    AppendKind.INSTRUCTIONS: lc.InstructionsAppendEvent,
}
# Acknowledgement class -> the kind of request it answers.
_ACK_KINDS: Dict[type, str] = {
    ls.CommentaryAppendedEvent: AppendKind.COMMENTARY.value,
    ls.ThinkingAppendedEvent: AppendKind.THINKING.value,
    ls.InstructionsAppendedEvent: AppendKind.INSTRUCTIONS.value,
    ls.SessionUpdatedEvent: "update",
    ls.InputAudioMutedEvent: "mute",
    ls.InputAudioUnmutedEvent: "unmute",
}
_APPEND_ACKS = (ls.CommentaryAppendedEvent, ls.ThinkingAppendedEvent, ls.InstructionsAppendedEvent)
_ACKS = tuple(_ACK_KINDS)


class LiveStartupError(RealtimeServerError):
    """The server refused to start the session (an ``error`` before ``session.started``).

    ``code`` is the server's error code (``unknown_parameter``...), ``param``
    the setting it names, when it names one.
    """


class LiveSessionEndedError(ConnectionClosedError):
    """The session is over (closed, ended by a fatal error, or never started)."""


class ImmutableSettingError(RealtimeError, ValueError):
    """A setting that is fixed at ``session.start`` was given to a session update.

    ``setting`` names it. Nothing was sent.
    """

    def __init__(self, message: str, *, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


@attrs.frozen
class AppendResult:
    """The acknowledgement of a ``speak()`` / ``note()`` / ``instruct()``.

    ``event_ids`` are the commands sent (one per chunk), ``start_ms`` /
    ``end_ms`` where the text entered the session timeline (``None`` if the
    server left them out).
    """

    kind: AppendKind
    event_ids: Tuple[str, ...]
    start_ms: Optional[int] = None
    end_ms: Optional[int] = None
    delegation_id: Optional[str] = None


@attrs.frozen
class LiveCloseResult:
    """How the session ended.

    ``reason`` from ``session.closed`` (``None`` when the connection closed
    without it: then ``confirmed`` is False and the session's finalization is
    not confirmed); ``usage`` the final cumulative usage (the last
    ``session.usage.updated`` when ``session.closed`` did not bring one);
    ``errors`` every ``error`` the session saw, in order.
    """

    reason: Optional[SessionCloseReason]
    usage: Optional[SessionUsage]
    session: Optional[SessionResource]
    errors: Tuple[ErrorDetails, ...]
    confirmed: bool = True


@attrs.frozen
class DelegationAnsweredEvent:
    """Utility event: a client delegation was answered with ``text`` (commentary).

    ``fallback`` is True when the handler failed or missed its deadline and the
    spoken fallback was sent instead; ``error`` then says why.
    """

    type = "live.delegation.answered"
    delegation_id: str
    text: str
    fallback: bool = False
    error: Optional[str] = None


def live_server_error(
    details: ErrorDetails, *, cls: type = RealtimeServerError, what: str = "the request"
) -> Any:
    """The exception for a Live ``error``: its code, type, param and the command it names."""
    code = details.code or details.type or "error"
    verb = "rejected" if what == "the request" else "refused"
    return cls(
        f"the server {verb} {what} ({code}): {details.message}",
        code=details.code or None,
        error_type=details.type or None,
        param=details.param,
        event_id=details.client_event_id,
    )


# --------------------------------------------------------------------------- chunking


_SENTENCE_END = re.compile(r"(?<=[.!?;:\u3002\uff01\uff1f])\s+")


def estimate_tokens(text: str) -> int:
    """A conservative token count: 3 ASCII characters or 1 other character per token.

    Real tokenizers average about 4 ASCII characters per English token; non-Latin
    scripts can take a token per character. Over-estimating keeps every chunk
    under the API's limit.
    """
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return math.ceil(ascii_chars / 3) + (len(text) - ascii_chars)


def split_for_append(text: str, max_tokens: int = MAX_APPEND_TOKENS) -> List[str]:
    """``text`` in chunks of at most ``max_tokens`` estimated tokens.

    Splits between sentences, else between words, else (a single huge word)
    between characters. Joining the chunks with single spaces gives the text
    back up to whitespace.
    """
    text = text.strip()
    if not text:
        return []
    if estimate_tokens(text) <= max_tokens:
        return [text]
    pieces: List[str] = []
    for sentence in _SENTENCE_END.split(text):
        if estimate_tokens(sentence) <= max_tokens:
            pieces.append(sentence)
            continue
        for whole in sentence.split():
            word = whole
            while estimate_tokens(word) > max_tokens:
                cut = _fit(word, max_tokens)
                pieces.append(word[:cut])
                word = word[cut:]
            if word:
                pieces.append(word)
    chunks: List[str] = []
    current = ""
    for piece in pieces:
        candidate = f"{current} {piece}" if current else piece
        if estimate_tokens(candidate) <= max_tokens:
            current = candidate
        else:
            chunks.append(current)
            current = piece
    if current:
        chunks.append(current)
    return chunks


def _fit(word: str, max_tokens: int) -> int:
    """The longest prefix length of ``word`` within ``max_tokens``."""
    low, high = 1, len(word)
    while low < high:
        mid = (low + high + 1) // 2
        if estimate_tokens(word[:mid]) <= max_tokens:
            low = mid
        else:
            high = mid - 1
    return low


# --------------------------------------------------------------------------- requests


@attrs.define
class _Request:
    kind: str  # "start", "update", "mute", "unmute", "close" or an AppendKind value
    pending: Set[str] = attrs.field(factory=set)  # event ids not acknowledged yet
    sent: List[str] = attrs.field(factory=list)
    start_ms: Optional[int] = None
    end_ms: Optional[int] = None
    delegation_id: Optional[str] = None


class LiveSessionCore:
    """One Live session as a state machine; see the module docs.

    Args:
        delegation_timeout: seconds a client delegation handler may take,
            counted from the delegation's arrival, before the fallback is sent
            (``None``: wait forever).
        run_delegations: emit a :class:`~realtime_sync.core.actions.RunTool`
            for each client delegation (the app registered a handler); without
            it, the app answers ``session.delegation.created`` itself.
        fallback: the commentary sent for a delegation whose handler failed.

    Not thread-safe: the driver calls it under its lock.
    """

    def __init__(
        self,
        *,
        delegation_timeout: Optional[float] = 30.0,
        run_delegations: bool = False,
        fallback: str = DEFAULT_FALLBACK,
    ) -> None:
        self.delegation_timeout = delegation_timeout
        self.run_delegations = run_delegations
        self.fallback = fallback
        self.phase = LivePhase.IDLE
        self.session: Optional[SessionResource] = None
        """The session as the server last described it."""
        self.config: Optional[SessionConfig] = None
        """The config the session was started with."""
        self.usage: Optional[SessionUsage] = None
        """The latest cumulative usage (never sum two)."""
        self.context_window: Optional[ContextWindow] = None
        self.errors: List[ErrorDetails] = []
        """Every ``error`` of this session, in order."""
        self.close_result: Optional[LiveCloseResult] = None
        self.muted = False
        self._ledger: RequestLedger[_Request] = RequestLedger("live")
        self._start_id: Optional[str] = None
        self._close_id: Optional[str] = None
        self._since_delegation: List[TranscriptFragment] = []
        self._delegations: Dict[str, bool] = {}  # delegation id -> answered

    # ------------------------------------------------------------------ requests

    def _require(self, what: str) -> None:
        if self.phase is not LivePhase.ACTIVE:
            if self.phase in (LivePhase.IDLE, LivePhase.STARTING):
                raise LiveSessionEndedError(f"{what}: the session has not started yet")
            raise LiveSessionEndedError(f"{what}: the session is over ({self.phase.value})")

    def _command(self, request_id: str, event: Any) -> Send:
        event_id = generate_id("evt_")
        event = attrs.evolve(event, event_id=event_id)
        request = self._ledger.get(request_id)
        assert request is not None
        request.pending.add(event_id)
        request.sent.append(event_id)
        self._ledger.bind(request_id, event_id)
        return Send(event)

    def start(self, config: SessionConfig, now: float) -> Tuple[str, List[Action]]:
        """Send ``session.start``; the request resolves with the :class:`SessionResource`.

        Raises :class:`ValueError` for a history of more than
        :data:`MAX_INITIAL_ITEMS` messages and :class:`RealtimeError` when a
        session was already started on this core.
        """
        if self.phase is not LivePhase.IDLE:
            raise RealtimeError(f"the session was already started ({self.phase.value})")
        if config.input is not None and len(config.input) > MAX_INITIAL_ITEMS:
            raise ValueError(
                f"a session starts with at most {MAX_INITIAL_ITEMS} history messages, "
                f"not {len(config.input)}"
            )
        self.config = config
        self.phase = LivePhase.STARTING
        request_id = self._ledger.open(_Request("start"))
        self._start_id = request_id
        return request_id, [self._command(request_id, lc.SessionStartEvent(session=config))]

    def append(
        self,
        kind: AppendKind,
        text: str,
        now: float,
        *,
        delegation_id: Optional[str] = None,
    ) -> Tuple[str, List[Action]]:
        """Add ``text`` as commentary, thinking or instructions, in as many commands as needed.

        Resolves with an :class:`AppendResult` once every chunk is acknowledged.
        """
        self._require(f"append {kind.value}")
        chunks = split_for_append(text)
        if not chunks:
            raise ValueError(f"no {kind.value} to append: the text is empty")
        request_id = self._ledger.open(_Request(kind.value, delegation_id=delegation_id))
        cls = _APPEND_EVENTS[kind]
        actions: List[Action] = [
            self._command(request_id, cls(content=chunk, delegation_id=delegation_id))
            for chunk in chunks
        ]
        return request_id, actions

    def update_session(
        self, changes: Union[SessionUpdateConfig, Mapping[str, Any]], now: float
    ) -> Tuple[str, List[Action]]:
        """Send ``session.update``; resolves with the :class:`SessionResource` after it.

        ``changes`` is a :class:`SessionUpdateConfig` or its fields by name.
        Raises :class:`ImmutableSettingError`, before sending anything, for a
        setting fixed at startup or a change of delegation type.
        """
        update = self._update_config(changes)
        self._require("update the session")
        request_id = self._ledger.open(_Request("update"))
        return request_id, [self._command(request_id, lc.SessionUpdateEvent(session=update))]

    def _update_config(
        self, changes: Union[SessionUpdateConfig, Mapping[str, Any]]
    ) -> SessionUpdateConfig:
        if isinstance(changes, SessionUpdateConfig):
            update = changes
        else:
            allowed = {field.name for field in attrs.fields(SessionUpdateConfig)}
            for name in changes:
                if name not in allowed:
                    fixed = name in {field.name for field in attrs.fields(SessionConfig)}
                    fixed = fixed or name in ("voice", "audio_format", "format", "history")
                    if fixed:
                        raise ImmutableSettingError(
                            f"{name} is fixed when the session starts: session.update only "
                            f"changes {' and '.join(sorted(allowed))}; start a new session to "
                            f"change {name}",
                            setting=name,
                        )
                    raise TypeError(f"session.update has no setting {name!r}")
            update = SessionUpdateConfig(**dict(changes))
        new_type = getattr(update.delegation, "type", None)
        current = self.session.delegation if self.session is not None else None
        if current is None and self.config is not None:
            current = self.config.delegation
        old_type = getattr(current, "type", None) if current is not None else "client"
        if new_type is not None and old_type is not None and new_type != old_type:
            raise ImmutableSettingError(
                f"the delegation type is fixed when the session starts ({old_type}): "
                f"it cannot become {new_type}",
                setting="delegation.type",
            )
        return update

    def mute(self, now: float, *, muted: bool = True) -> Tuple[str, List[Action]]:
        """``session.input_audio.mute`` (or ``unmute``); resolves on its acknowledgement."""
        self._require("mute" if muted else "unmute")
        event: Any = lc.InputAudioMuteEvent() if muted else lc.InputAudioUnmuteEvent()
        request_id = self._ledger.open(_Request("mute" if muted else "unmute"))
        return request_id, [self._command(request_id, event)]

    def append_audio(self, audio: Union[bytes, bytearray, memoryview, str]) -> List[Action]:
        """``session.input_audio.append`` (not acknowledged): nothing once the session is over."""
        if self.phase not in (LivePhase.STARTING, LivePhase.ACTIVE):
            return []
        return [Send(lc.InputAudioAppendEvent.from_audio(audio, event_id=generate_id("evt_")))]

    def close(self, now: float) -> Tuple[str, List[Action]]:
        """Send ``session.close``; resolves with the :class:`LiveCloseResult`.

        Closing twice answers both with the same result; closing an ended session
        resolves at once with what is known.
        """
        if self._close_id is not None and self._close_id in self._ledger:
            return self._close_id, []
        request_id = self._ledger.open(_Request("close"))
        if self.phase not in (LivePhase.ACTIVE, LivePhase.STARTING):
            self._ledger.close(request_id)
            return request_id, [Resolve(request_id, self._result(confirmed=False))]
        self._close_id = request_id
        self.phase = LivePhase.CLOSING
        return request_id, [self._command(request_id, lc.SessionCloseEvent())]

    # ------------------------------------------------------------------ delegation

    def delegation_answered(self, delegation_id: str, output: str) -> List[Action]:
        """The delegation handler's JSON output: ``{"text": ...}`` or ``{"error": ...}``.

        Sends the text (or, for an error, the fallback) as commentary for the
        delegation. Returns ``[]`` when the delegation was already answered (a
        late handler after its deadline), so the driver can tell.
        """
        if self._delegations.get(delegation_id, True):
            return []
        self._delegations[delegation_id] = True
        try:
            answer = json.loads(output)
        except ValueError:
            answer = {"error": "the handler's answer is not JSON"}
        error: Optional[str] = None
        text: Optional[str] = None
        if isinstance(answer, dict) and "error" in answer:
            error = str(answer["error"])
        elif isinstance(answer, dict):
            value = answer.get("text")
            text = None if value is None else str(value)
        else:
            error = "the handler's answer is not an object"
        fallback = error is not None or (text is not None and not text.strip())
        if text is None and not fallback:
            return [Emit(DelegationAnsweredEvent(delegation_id, "", error="no answer"))]
        say = self.fallback if fallback else str(text)
        if self.phase is not LivePhase.ACTIVE:
            return [Emit(DelegationAnsweredEvent(delegation_id, "", fallback, "session over"))]
        _, actions = self.append(AppendKind.COMMENTARY, say, 0.0, delegation_id=delegation_id)
        actions.append(Emit(DelegationAnsweredEvent(delegation_id, say, fallback, error)))
        return actions

    def _delegation(self, event: ls.DelegationCreatedEvent, now: float) -> List[Action]:
        info = event.delegation
        transcript = self._since_delegation
        self._since_delegation = []
        if not self.run_delegations or info.target != DelegationTarget.CLIENT:
            return []
        self._delegations[info.id] = False
        arguments = {
            "delegation_id": info.id,
            "offset_ms": event.offset_ms,
            "transcript": [
                {
                    "source": fragment.source.value,
                    "text": fragment.text,
                    "start_ms": fragment.start_ms,
                    "end_ms": fragment.end_ms,
                }
                for fragment in _merge(transcript)
            ],
        }
        timeout = self.delegation_timeout
        return [
            RunTool(
                call_id=info.id,
                name=DELEGATION_TOOL,
                arguments=json.dumps(arguments),
                deadline=None if timeout is None else now + timeout,
                timeout=timeout,
            )
        ]

    # ------------------------------------------------------------------ server events

    def receive(self, event: Any, now: float) -> List[Action]:
        """Take one server event; returns what to do about it."""
        if isinstance(event, ls.ErrorEvent):
            return self._error(event)
        if isinstance(event, ls.SessionStartedEvent):
            return self._started(event)
        if isinstance(event, _ACKS):
            return self._ack(event)
        if isinstance(event, (ls.InputTranscriptDeltaEvent, ls.OutputTranscriptDeltaEvent)):
            self._since_delegation.append(event.fragment)
            return []
        if isinstance(event, ls.DelegationCreatedEvent):
            return self._delegation(event, now)
        if isinstance(event, ls.SessionUsageUpdatedEvent):
            self.usage = event.usage
            self.context_window = event.context_window or self.context_window
            return []
        if isinstance(event, ls.SessionClosedEvent):
            return self._closed_by_server(event)
        return []

    def _started(self, event: ls.SessionStartedEvent) -> List[Action]:
        self.session = event.session
        if self.phase is LivePhase.STARTING:
            self.phase = LivePhase.ACTIVE
        request_id, self._start_id = self._start_id, None
        if request_id is None or self._ledger.close(request_id) is None:
            return []
        return [Resolve(request_id, event.session)]

    def _ack(self, event: Any) -> List[Action]:
        if isinstance(event, ls.SessionUpdatedEvent):
            self.session = event.session
        elif isinstance(event, (ls.InputAudioMutedEvent, ls.InputAudioUnmutedEvent)):
            self.muted = isinstance(event, ls.InputAudioMutedEvent)
        request_id = self._ledger.owner_of(event.client_event_id)
        if event.client_event_id is None:
            request_id = self._oldest_waiting(_ACK_KINDS[type(event)])
        request = self._ledger.get(request_id)
        if request is None or request_id is None:
            return []
        if event.client_event_id in request.pending:
            request.pending.discard(event.client_event_id)
        elif request.pending:  # no client_event_id: acknowledgements come in order
            request.pending.remove(next(e for e in request.sent if e in request.pending))
        if isinstance(event, _APPEND_ACKS):
            if request.start_ms is None:
                request.start_ms = event.start_ms
            request.end_ms = event.end_ms if event.end_ms is not None else request.end_ms
        if request.pending:
            return []
        self._ledger.close(request_id)
        if isinstance(event, _APPEND_ACKS):
            value: Any = AppendResult(
                AppendKind(request.kind),
                tuple(request.sent),
                request.start_ms,
                request.end_ms,
                request.delegation_id,
            )
        elif isinstance(event, ls.SessionUpdatedEvent):
            value = event.session
        else:
            value = None
        return [Resolve(request_id, value)]

    def _oldest_waiting(self, kind: str) -> Optional[str]:
        """For an acknowledgement without ``client_event_id``: the oldest request of its kind."""
        for request_id in self._ledger:
            request = self._ledger.get(request_id)
            if request is not None and request.kind == kind and request.pending:
                return request_id
        return None

    def _error(self, event: ls.ErrorEvent) -> List[Action]:
        details = event.error
        self.errors.append(details)
        client_event_id = details.client_event_id or event.client_event_id
        actions: List[Action] = []
        if self.phase is LivePhase.STARTING:
            self.phase = LivePhase.CLOSED
            startup = live_server_error(details, cls=LiveStartupError, what="to start the session")
            return self._fail_all(startup)
        request_id = self._ledger.owner_of(client_event_id)
        if request_id is not None:
            if request_id == self._close_id:
                self._close_id = None
            self._ledger.close(request_id)
            actions.append(Fail(request_id, live_server_error(details)))
        if details.code in FATAL_ERROR_CODES and self.phase is LivePhase.ACTIVE:
            self.phase = LivePhase.CLOSED
            ended = LiveSessionEndedError(
                f"the session ended with the error {details.code}: {details.message}",
                reason=details.code,
            )
            actions.extend(self._fail_all(ended, keep_close=True))
        return actions

    def _fail_all(self, error: BaseException, *, keep_close: bool = False) -> List[Action]:
        actions: List[Action] = []
        for request_id in self._ledger:
            if keep_close and request_id == self._close_id:
                continue
            self._ledger.close(request_id)
            actions.append(Fail(request_id, error))
        self._start_id = None
        return actions

    def _result(self, *, confirmed: bool, event: Optional[ls.SessionClosedEvent] = None) -> Any:
        if self.close_result is not None:
            return self.close_result
        return LiveCloseResult(
            reason=event.reason if event is not None else None,
            usage=(event.usage if event is not None else None) or self.usage,
            session=(event.session if event is not None else None) or self.session,
            errors=tuple(self.errors),
            confirmed=confirmed,
        )

    def _closed_by_server(self, event: ls.SessionClosedEvent) -> List[Action]:
        self.usage = event.usage or self.usage
        self.session = event.session or self.session
        result = self._result(confirmed=True, event=event)
        self.close_result = result
        self.phase = LivePhase.CLOSED
        actions: List[Action] = []
        close_id, self._close_id = self._close_id, None
        if close_id is not None and self._ledger.close(close_id) is not None:
            actions.append(Resolve(close_id, result))
        reason = event.reason.value if event.reason is not None else "unknown"
        actions.extend(
            self._fail_all(LiveSessionEndedError(f"the session closed ({reason})", reason=reason))
        )
        return actions

    def closed(self, now: float, reason: str = "the connection closed") -> List[Action]:
        """The connection ended: open requests fail, a pending close resolves unconfirmed."""
        actions: List[Action] = []
        close_id, self._close_id = self._close_id, None
        if self.close_result is None:
            self.close_result = self._result(confirmed=False)
        if close_id is not None and self._ledger.close(close_id) is not None:
            actions.append(Resolve(close_id, self.close_result))
        self.phase = LivePhase.CLOSED
        actions.extend(self._fail_all(LiveSessionEndedError(reason, reason=reason)))
        return actions


def _merge(fragments: Sequence[TranscriptFragment]) -> List[TranscriptFragment]:
    """Consecutive fragments of one speaker joined (the text of a delegation's context)."""
    merged: List[TranscriptFragment] = []
    for fragment in fragments:
        if merged and merged[-1].source == fragment.source:
            last = merged[-1]
            merged[-1] = TranscriptFragment(
                last.source,
                last.text + fragment.text,
                last.start_ms,
                fragment.end_ms if fragment.end_ms is not None else last.end_ms,
                last.event_id,
            )
        else:
            merged.append(fragment)
    return merged
