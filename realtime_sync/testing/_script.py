"""Scripted replies: the rules a test adds and how they turn into response plans."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from ._host import PlannedCall, ReplyPlan, ReplyRequest, ScriptedEnd
from ._ids import JSON, new_id

__all__ = [
    "END_STATUSES",
    "FunctionCall",
    "FunctionCallSpec",
    "ReplyBook",
    "ReplyRule",
    "ThenText",
    "check_rule_ending",
    "default_reply",
    "normalize_calls",
]

ThenText = Union[str, Callable[[List[str]], str]]
"""A reply after tool results: fixed text, or a function of the outputs' ``output`` strings."""

FunctionCallSpec = Union[
    "FunctionCall",
    Tuple[str, Union[Mapping[str, Any], str]],
    Sequence[Union["FunctionCall", Tuple[str, Union[Mapping[str, Any], str]]]],
]
"""What ``add_reply(function_call=...)`` accepts: one call or a list of parallel calls."""

END_STATUSES = ("completed", "incomplete", "failed")
"""The ``response.done`` statuses a reply can be scripted to end with."""

_INCOMPLETE_REASONS = ("max_output_tokens", "content_filter")
_DEFAULT_FAILURE: JSON = {
    "type": "server_error",
    "code": None,
    "message": "The server had an error while processing your request.",
}


@dataclass(frozen=True)
class FunctionCall:
    """A function call the simulated model makes.

    ``arguments`` is a mapping (sent JSON-encoded) or an already-encoded JSON string.
    ``call_id`` defaults to a fresh ``call_...`` id for every response.
    """

    name: str
    arguments: Union[Mapping[str, Any], str] = field(default_factory=dict)
    call_id: Optional[str] = None

    def encoded_arguments(self) -> str:
        """The arguments as the JSON string the protocol carries."""
        if isinstance(self.arguments, str):
            return self.arguments
        return json.dumps(dict(self.arguments))


@dataclass(frozen=True)
class ReplyRule:
    """A scripted answer, chosen when ``when`` matches the user's last words.

    ``when`` is a case-insensitive substring or a predicate on the text. When it
    matches, the response carries ``text`` (spoken with ``audio`` or a generated
    tone when the output modality is audio) and/or ``function_calls``. Once the
    client answers those calls with ``function_call_output`` items, the next
    response says ``then_text``.

    ``status`` scripts how the first response ends ("completed", "incomplete" with
    ``status_reason``, "failed" with ``error``) after ``stop_after_words`` words;
    ``event_delay`` paces both responses of the rule instead of the simulator's.
    """

    when: Union[str, Callable[[str], bool]]
    text: Optional[str] = None
    audio: Optional[bytes] = None
    function_calls: Tuple[FunctionCall, ...] = ()
    then_text: Optional[ThenText] = None
    status: str = "completed"
    status_reason: Optional[str] = None
    error: Optional[Mapping[str, Any]] = None
    stop_after_words: Optional[int] = None
    event_delay: Optional[float] = None

    def matches(self, text: str) -> bool:
        """Whether this rule applies to the user's ``text``."""
        if isinstance(self.when, str):
            return self.when.lower() in text.lower()
        return bool(self.when(text))

    def scripted_end(self) -> Optional[ScriptedEnd]:
        """The early end of the rule's first response, or None when it completes."""
        if self.status == "completed":
            return None
        if self.status == "incomplete":
            return ScriptedEnd(
                status="incomplete",
                reason=self.status_reason or "max_output_tokens",
                after_words=self.stop_after_words,
            )
        error = dict(self.error) if self.error is not None else dict(_DEFAULT_FAILURE)
        return ScriptedEnd(status="failed", error=error, after_words=self.stop_after_words)


def check_rule_ending(
    status: str,
    status_reason: Optional[str],
    error: Optional[Mapping[str, Any]],
    stop_after_words: Optional[int],
    event_delay: Optional[float],
) -> None:
    """Reject inconsistent ending arguments of ``add_reply`` (ValueError)."""
    if status not in END_STATUSES:
        raise ValueError(f"status must be one of {END_STATUSES}, not {status!r}")
    if status_reason is not None and (
        status != "incomplete" or status_reason not in _INCOMPLETE_REASONS
    ):
        raise ValueError(
            f"status_reason needs status='incomplete' and one of {_INCOMPLETE_REASONS}"
        )
    if error is not None and status != "failed":
        raise ValueError("error needs status='failed'")
    if stop_after_words is not None and (status == "completed" or stop_after_words < 0):
        raise ValueError("stop_after_words needs an incomplete or failed status and must be >= 0")
    if event_delay is not None and event_delay < 0:
        raise ValueError("event_delay must not be negative")


def default_reply(user_text: Optional[str]) -> str:
    """The simulator's answer when no rule matches."""
    if not user_text:
        return "Hello! I am the realtime_sync simulator. How can I help you today?"
    return f'You said: "{user_text}". I am the realtime_sync simulator.'


def normalize_calls(spec: Optional[FunctionCallSpec]) -> Tuple[FunctionCall, ...]:
    """``add_reply(function_call=...)`` as a tuple of :class:`FunctionCall`."""
    if spec is None:
        return ()
    if isinstance(spec, FunctionCall):
        return (spec,)
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        name, arguments = spec
        if not isinstance(arguments, (str, Mapping)):
            raise TypeError("function_call arguments must be a mapping or a JSON string")
        return (FunctionCall(name, arguments),)
    calls: List[FunctionCall] = []
    for entry in spec:
        if isinstance(entry, str):
            raise TypeError("function_call must be FunctionCall, (name, arguments) or a list")
        calls.extend(normalize_calls(entry))
    return tuple(calls)


class ReplyBook:
    """The rules of one simulator, and which rule made each function call."""

    def __init__(self) -> None:
        # Guards _rules and _call_rules (scripted by the test, read by response threads).
        self._lock = threading.Lock()
        self._rules: List[ReplyRule] = []
        self._call_rules: Dict[str, ReplyRule] = {}

    def add(self, rule: ReplyRule) -> None:
        """Append a rule (tried after the earlier ones)."""
        with self._lock:
            self._rules.append(rule)

    def clear(self) -> None:
        """Remove every rule."""
        with self._lock:
            self._rules.clear()

    def plan(self, request: ReplyRequest) -> ReplyPlan:
        """What the model says to ``request``."""
        with self._lock:
            rules = list(self._rules)
            call_rules = dict(self._call_rules)
        if request.tool_outputs:
            outputs = [o.output for o in request.tool_outputs]
            owner = next(
                (call_rules[o.call_id] for o in request.tool_outputs if o.call_id in call_rules),
                None,
            )
            then = owner.then_text if owner is not None else None
            if callable(then):
                text = str(then(outputs))
            elif isinstance(then, str):
                text = then
            else:
                text = "The tool returned: " + "; ".join(outputs)
            delay = owner.event_delay if owner is not None else None
            return ReplyPlan(text=text, event_delay=delay)
        user_text = request.user_text
        rule = next((r for r in rules if r.matches(user_text or "")), None)
        if rule is None:
            return ReplyPlan(text=default_reply(user_text))
        calls = tuple(
            PlannedCall(
                name=call.name,
                arguments=call.encoded_arguments(),
                call_id=call.call_id or new_id("call", 16),
            )
            for call in rule.function_calls
        )
        with self._lock:
            for call in calls:
                self._call_rules[call.call_id] = rule
        reply = rule.text
        if reply is None and (rule.audio is not None or not calls):
            reply = default_reply(user_text) if not calls else ""
        return ReplyPlan(
            text=reply,
            audio=rule.audio,
            calls=calls,
            end=rule.scripted_end(),
            event_delay=rule.event_delay,
        )
