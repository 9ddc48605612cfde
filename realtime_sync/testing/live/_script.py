"""Scripted behaviour of the simulated Live model: replies and delegations."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, List, Mapping, Optional, Sequence, Tuple, Union

from realtime_sync.testing._ids import JSON

__all__ = [
    "DelegationRule",
    "FunctionCallSpec",
    "Matcher",
    "PlannedCall",
    "ReplyRule",
    "Script",
]

Matcher = Union[str, Callable[[str], bool]]
"""A case-insensitive substring of the user's utterance, or a predicate on it."""

_OneCall = Tuple[str, Union[str, Mapping[str, Any]]]
FunctionCallSpec = Union[_OneCall, Sequence[_OneCall]]
"""``(name, arguments)`` or a list of them; arguments are a JSON string or a dict."""


def matches(when: Matcher, text: str) -> bool:
    """Whether a rule's ``when`` matches the utterance ``text``."""
    if callable(when):
        return bool(when(text))
    return when.lower() in text.lower()


@dataclass(frozen=True)
class ReplyRule:
    """What the model says after a matching utterance."""

    when: Matcher
    text: str
    audio: Optional[bytes] = None


@dataclass(frozen=True)
class PlannedCall:
    """A function call of a delegated Responses backend (``arguments`` is JSON text)."""

    name: str
    arguments: str


@dataclass(frozen=True)
class DelegationRule:
    """A delegation the model makes after a matching utterance (see ``add_delegation``)."""

    when: Matcher
    calls: Tuple[PlannedCall, ...] = ()
    text: Optional[str] = None
    then_text: Union[str, Callable[[List[str]], str], None] = None
    status: str = "completed"
    error: Optional[JSON] = field(default=None)
    incomplete_reason: str = "max_output_tokens"

    @classmethod
    def build(
        cls,
        when: Matcher,
        *,
        function_call: Optional[FunctionCallSpec],
        text: Optional[str],
        then_text: Union[str, Callable[[List[str]], str], None],
        status: str,
        error: Optional[JSON],
        incomplete_reason: str,
    ) -> DelegationRule:
        """A rule from ``add_delegation``'s arguments (normalises the calls)."""
        if not isinstance(when, str) and not callable(when):
            raise TypeError("when must be a substring or a callable(text) -> bool")
        return cls(
            when=when,
            calls=_normalize(function_call),
            text=text,
            then_text=then_text,
            status=status,
            error=error,
            incomplete_reason=incomplete_reason,
        )

    def answer(self, outputs: List[str]) -> str:
        """The backend's text once the function outputs are known."""
        if callable(self.then_text):
            return str(self.then_text(outputs))
        if self.then_text is not None:
            return self.then_text
        return "The tool returned: " + "; ".join(outputs)


def _normalize(spec: Optional[FunctionCallSpec]) -> Tuple[PlannedCall, ...]:
    if spec is None:
        return ()
    if isinstance(spec, tuple) and len(spec) == 2 and isinstance(spec[0], str):
        items: Sequence[Any] = [spec]
    else:
        items = list(spec)
    calls = []
    for item in items:
        name, arguments = item
        if not isinstance(name, str):
            raise TypeError("a function call is (name, arguments)")
        text = arguments if isinstance(arguments, str) else json.dumps(dict(arguments))
        calls.append(PlannedCall(name=name, arguments=text))
    return tuple(calls)


class Script:
    """The scripted rules of a simulator, shared by its sessions."""

    def __init__(self) -> None:
        # Guards _replies and _delegations.
        self._lock = threading.Lock()
        self._replies: List[ReplyRule] = []
        self._delegations: List[DelegationRule] = []

    def add_reply(self, rule: ReplyRule) -> None:
        """Append a reply rule."""
        if not isinstance(rule.when, str) and not callable(rule.when):
            raise TypeError("when must be a substring or a callable(text) -> bool")
        with self._lock:
            self._replies.append(rule)

    def add_delegation(self, rule: DelegationRule) -> None:
        """Append a delegation rule."""
        with self._lock:
            self._delegations.append(rule)

    def clear(self) -> None:
        """Forget every rule."""
        with self._lock:
            self._replies.clear()
            self._delegations.clear()

    def delegation_for(self, text: str) -> Optional[DelegationRule]:
        """The first delegation rule matching ``text``."""
        with self._lock:
            rules = list(self._delegations)
        return next((r for r in rules if matches(r.when, text)), None)

    def reply_for(self, text: str) -> Optional[ReplyRule]:
        """The first reply rule matching ``text``."""
        with self._lock:
            rules = list(self._replies)
        return next((r for r in rules if matches(r.when, text)), None)
