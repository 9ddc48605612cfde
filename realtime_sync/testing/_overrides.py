"""Field overrides applied to outgoing server events: omitted fields and extra fields.

They let client tests check wire fidelity: a client must survive a live server
that leaves out a non-essential field (``omit``) or sends fields it does not know
yet (``extra``). Fields are named by a dotted path inside the event
(``"usage"``, ``"response.usage.input_token_details"``); the event type ``"*"``
applies to every event.
"""

from __future__ import annotations

import copy
import threading
from typing import Any, Dict, Iterable, List, Mapping, Optional, Tuple

from ._ids import JSON

__all__ = ["ANY_EVENT", "FieldOverrides"]

ANY_EVENT = "*"
"""The event type that selects every server event."""


def _split(path: str) -> Tuple[str, ...]:
    parts = tuple(path.split("."))
    if not path or any(not p for p in parts):
        raise ValueError(f"invalid field path {path!r}")
    return parts


def _parent(event: JSON, parts: Tuple[str, ...]) -> Optional[JSON]:
    node: Any = event
    for key in parts[:-1]:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node if isinstance(node, dict) else None


class FieldOverrides:
    """Thread-safe table of the fields to drop from, or add to, each event type."""

    def __init__(self) -> None:
        # Guards _omit and _extra (scripted from the test thread, read by every session).
        self._lock = threading.Lock()
        self._omit: Dict[str, List[Tuple[str, ...]]] = {}
        self._extra: Dict[str, List[Tuple[Tuple[str, ...], Any]]] = {}

    def omit(self, event_type: str, fields: Iterable[str]) -> None:
        """Leave ``fields`` (dotted paths) out of every event of ``event_type``."""
        paths = [_split(f) for f in ([fields] if isinstance(fields, str) else fields)]
        with self._lock:
            self._omit.setdefault(event_type, []).extend(paths)

    def add(self, event_type: str, fields: Mapping[str, Any]) -> None:
        """Add ``fields`` (dotted path -> JSON value) to every event of ``event_type``."""
        entries = [(_split(path), copy.deepcopy(value)) for path, value in fields.items()]
        with self._lock:
            self._extra.setdefault(event_type, []).extend(entries)

    def clear(self) -> None:
        """Forget every override."""
        with self._lock:
            self._omit.clear()
            self._extra.clear()

    def apply(self, event: JSON) -> JSON:
        """``event`` with the overrides of its type applied (a copy when anything applies).

        Extra fields are added first, then omitted fields removed; an extra field
        never replaces a field the event already has, and a path whose parent
        object is missing is ignored.
        """
        kind = str(event.get("type"))
        with self._lock:
            extra = self._extra.get(ANY_EVENT, []) + self._extra.get(kind, [])
            omit = self._omit.get(ANY_EVENT, []) + self._omit.get(kind, [])
        if not extra and not omit:
            return event
        out = copy.deepcopy(event)
        for parts, value in extra:
            parent = _parent(out, parts)
            if parent is not None and parts[-1] not in parent:
                parent[parts[-1]] = copy.deepcopy(value)
        for parts in omit:
            parent = _parent(out, parts)
            if parent is not None:
                parent.pop(parts[-1], None)
        return out
