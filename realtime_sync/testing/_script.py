"""Scripted replies: the rules a test adds and how they turn into response plans."""

from __future__ import annotations

import difflib
import json
import math
import os
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
    "ReplyScript",
    "ScriptError",
    "ThenText",
    "check_rule_ending",
    "default_reply",
    "normalize_calls",
    "parse_script",
    "read_script",
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


# --------------------------------------------------------------------------- JSON reply scripts

SCRIPT_KEYS = (
    "when",
    "text",
    "function_call",
    "then_text",
    "status",
    "status_reason",
    "error",
    "stop_after_words",
    "event_delay",
)
"""The keys of one reply of a JSON script: the keyword arguments of ``add_reply``."""

OUTPUT_PLACEHOLDER = "{output}"
"""In a script's ``then_text``: replaced by the tool's output (outputs joined by "; ")."""


class ScriptError(ValueError):
    """A JSON reply script that cannot be used; the message names the file and the reply."""


@dataclass(frozen=True)
class ReplyScript:
    """A parsed JSON reply script: ``add_reply`` keyword arguments, and what audio "says"."""

    replies: Tuple[Dict[str, Any], ...]
    transcript_for_audio: Optional[str] = None


def read_script(path: Union[str, os.PathLike[str]]) -> ReplyScript:
    """Read and check a JSON reply script file (see :func:`parse_script`).

    Raises:
        ScriptError: the file cannot be read, is not JSON, or does not follow the format.
    """
    name = os.fspath(path)
    try:
        with open(name, encoding="utf-8") as file:
            text = file.read()
    except OSError as exc:
        raise ScriptError(f"cannot read {name}: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise ScriptError(f"{name}: not UTF-8 text ({exc.reason})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ScriptError(
            f"{name}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    return parse_script(data, name)


def parse_script(data: Any, source: str = "the script") -> ReplyScript:
    """Check parsed JSON against the reply script format and turn it into ``add_reply`` calls.

    The format is a list of replies, or an object ``{"replies": [...],
    "transcript_for_audio": "..."}``. A reply is an object with the keys of
    :data:`SCRIPT_KEYS`: ``when`` (required), ``text``, ``function_call``
    (``{"name": ..., "arguments": {...}, "call_id": ...}`` or a list of them),
    ``then_text`` (``{output}`` in it is replaced by the tool's output),
    ``status``, ``status_reason``, ``error``, ``stop_after_words``, ``event_delay``.

    Raises:
        ScriptError: naming ``source``, the reply and the key at fault.
    """
    transcript: Optional[str] = None
    if isinstance(data, Mapping):
        _no_unknown_keys(data, ("replies", "transcript_for_audio"), source)
        if "replies" not in data:
            raise ScriptError(f'{source}: an object script needs a "replies" list')
        transcript = data.get("transcript_for_audio")
        if transcript is not None and not isinstance(transcript, str):
            raise ScriptError(f'{source}: "transcript_for_audio" must be a string')
        data = data["replies"]
    if not isinstance(data, list):
        raise ScriptError(
            f'{source}: expected a list of replies (or {{"replies": [...]}}), '
            f"not {_json_type(data)}"
        )
    replies = tuple(_parse_reply(entry, f"{source}: reply {n}") for n, entry in enumerate(data, 1))
    return ReplyScript(replies=replies, transcript_for_audio=transcript)


def _parse_reply(entry: Any, where: str) -> Dict[str, Any]:
    if not isinstance(entry, Mapping):
        raise ScriptError(f"{where}: expected an object, not {_json_type(entry)}")
    _no_unknown_keys(entry, SCRIPT_KEYS, where)
    if "when" not in entry:
        raise ScriptError(f'{where}: "when" is required ("" matches every message)')
    reply: Dict[str, Any] = {"when": _typed(entry, "when", str, where)}
    for key in ("text", "status", "status_reason"):
        if entry.get(key) is not None:
            reply[key] = _typed(entry, key, str, where)
    if entry.get("error") is not None:
        reply["error"] = dict(_typed(entry, "error", Mapping, where))
    if entry.get("stop_after_words") is not None:
        reply["stop_after_words"] = _typed(entry, "stop_after_words", int, where)
    if entry.get("event_delay") is not None:
        delay = _typed(entry, "event_delay", (int, float), where)
        if not math.isfinite(delay):
            raise ScriptError(f'{where}: "event_delay" must be a finite number')
        reply["event_delay"] = float(delay)
    if entry.get("function_call") is not None:
        reply["function_call"] = _parse_calls(entry["function_call"], where)
    if entry.get("then_text") is not None:
        reply["then_text"] = _then_text(_typed(entry, "then_text", str, where))
    try:
        check_rule_ending(
            reply.get("status", "completed"),
            reply.get("status_reason"),
            reply.get("error"),
            reply.get("stop_after_words"),
            reply.get("event_delay"),
        )
    except ValueError as exc:
        raise ScriptError(f"{where}: {exc}") from None
    return reply


def _parse_calls(spec: Any, where: str) -> List[FunctionCall]:
    entries = spec if isinstance(spec, list) else [spec]
    calls = []
    for n, call in enumerate(entries, 1):
        at = f"{where}: function_call" + (f" {n}" if isinstance(spec, list) else "")
        if not isinstance(call, Mapping):
            raise ScriptError(
                f'{at}: expected {{"name": ..., "arguments": {{...}}}}, not {_json_type(call)}'
            )
        _no_unknown_keys(call, ("name", "arguments", "call_id"), at)
        if not isinstance(call.get("name"), str) or not call["name"]:
            raise ScriptError(f'{at}: "name" (the tool\'s name, a string) is required')
        arguments = call.get("arguments", {})
        if not isinstance(arguments, (Mapping, str)):
            raise ScriptError(f'{at}: "arguments" must be an object (or a JSON string)')
        call_id = call.get("call_id")
        if call_id is not None and not isinstance(call_id, str):
            raise ScriptError(f'{at}: "call_id" must be a string')
        calls.append(FunctionCall(call["name"], arguments, call_id))
    return calls


def _then_text(text: str) -> ThenText:
    if OUTPUT_PLACEHOLDER not in text:
        return text

    def with_output(outputs: List[str]) -> str:
        return text.replace(OUTPUT_PLACEHOLDER, "; ".join(outputs))

    return with_output


def _no_unknown_keys(obj: Mapping[str, Any], allowed: Sequence[str], where: str) -> None:
    for key in obj:
        if key not in allowed:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hint = f'did you mean "{close[0]}"? ' if close else ""
            raise ScriptError(f'{where}: unknown key "{key}" ({hint}known: {", ".join(allowed)})')


def _typed(obj: Mapping[str, Any], key: str, kind: Any, where: str) -> Any:
    value = obj[key]
    if (isinstance(value, bool) and kind is not bool) or not isinstance(value, kind):
        names = {str: "a string", int: "an integer", Mapping: "an object"}
        wanted = names.get(kind, "a number")
        raise ScriptError(f'{where}: "{key}" must be {wanted}, not {_json_type(value)}')
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, list):
        return "a list"
    return "an object"
