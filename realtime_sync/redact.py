"""Keeping secrets and audio out of logs: key redaction and payload shortening."""

from __future__ import annotations

import re
from typing import Any, Optional

__all__ = ["redact_secrets", "shorten_for_log"]

# OpenAI keys and ephemeral secrets, including the masked forms error bodies echo back.
_KEY_PATTERN = re.compile(r"\b(sk|ek|rk)-[A-Za-z0-9_\-*]{6,}")

_AUDIO_KEYS = frozenset({"audio"})
_AUDIO_DELTA_TYPES = frozenset({"response.output_audio.delta", "response.audio.delta"})


def redact_secrets(text: str, api_key: Optional[str] = None) -> str:
    """``text`` with ``api_key`` and anything shaped like an OpenAI key replaced."""
    if api_key:
        text = text.replace(api_key, "<redacted>")
    return _KEY_PATTERN.sub("<redacted>", text)


def _short(value: str) -> str:
    return f"<{len(value)} chars of base64 audio>"


def shorten_for_log(event: Any) -> Any:
    """A copy of a wire event (parsed JSON) with audio payloads replaced by their size."""
    if isinstance(event, dict):
        out = {}
        audio_delta = event.get("type") in _AUDIO_DELTA_TYPES
        for key, value in event.items():
            if isinstance(value, str) and (key in _AUDIO_KEYS or (audio_delta and key == "delta")):
                out[key] = _short(value)
            else:
                out[key] = shorten_for_log(value)
        return out
    if isinstance(event, list):
        return [shorten_for_log(value) for value in event]
    return event
