"""Per-connection protocol state of the simulator.

One :class:`RealtimeSession` exists per accepted WebSocket. It validates and
answers client events like the real GA server, keeps the conversation, the input
audio buffer and the server VAD, and streams responses on a thread of their own
(:class:`_ResponseRun`) so the receive loop keeps reading client events meanwhile.

Locking: ``RealtimeSession._lock`` guards the session state and is held while a
state change *and the event announcing it* are emitted, so the order of events on
the wire matches the order of state changes. :class:`Outbox` serializes the
frames themselves. The session lock may be taken before the outbox lock, never
the other way round, and no thread ever joins another while holding either.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import logging
import math
import re
import secrets
import socket
import string
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Protocol, Sequence, Tuple, Union

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from ._audio import FORMAT_TYPES, AudioFormat, EnergyVad, tone

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "Outbox",
    "PlannedCall",
    "RealtimeSession",
    "ReplyPlan",
    "ReplyRequest",
    "SessionHost",
    "ToolOutput",
    "new_id",
]

JSON = Dict[str, Any]

logger = logging.getLogger("realtime_sync.testing")

DEFAULT_INSTRUCTIONS = (
    "You are a helpful, friendly voice assistant. Answer briefly. "
    "(Default instructions of the realtime_sync simulator.)"
)

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")

_ID_ALPHABET = string.ascii_letters + string.digits
_JOIN_TIMEOUT = 5.0
_MS_PER_CHAR = 60.0
_MIN_AUDIO_MS = 300.0
_MIN_COMMIT_MS = 100.0


def new_id(prefix: str, length: int = 21) -> str:
    """A random id shaped like the real server's: ``prefix`` + "_" + base62 characters."""
    return prefix + "_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


# --- interface with the simulator ------------------------------------------------------------


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
class ReplyPlan:
    """What a response will contain: an optional message, then the function calls."""

    text: Optional[str]
    audio: Optional[bytes] = None
    calls: Tuple[PlannedCall, ...] = ()


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


# --- errors ----------------------------------------------------------------------------------


class _ProtocolError(Exception):
    """A client mistake, answered with an ``error`` event."""

    def __init__(
        self,
        message: str,
        *,
        code: Optional[str],
        param: Optional[str] = None,
        type_: str = "invalid_request_error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.param = param
        self.type = type_


class _Cancelled(Exception):
    """Raised inside a response run when it has been cancelled."""


class _Closed(Exception):
    """Raised inside a response run when the connection is gone."""


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a decimal"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _type_error(param: str, expected: str, value: Any) -> _ProtocolError:
    return _ProtocolError(
        f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead.",
        code="invalid_type",
        param=param,
    )


def _supported(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def _value_error(param: str, value: Any, supported: Sequence[str]) -> _ProtocolError:
    shown = value if isinstance(value, str) else json.dumps(value)
    return _ProtocolError(
        f"Invalid value: '{shown}'. Supported values are: {_supported(supported)}.",
        code="invalid_value",
        param=param,
    )


def _missing(param: str) -> _ProtocolError:
    return _ProtocolError(
        f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param
    )


def _check_keys(obj: JSON, allowed: Sequence[str], prefix: str) -> None:
    for key in obj:
        if key not in allowed:
            param = f"{prefix}.{key}" if prefix else key
            raise _ProtocolError(
                f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param
            )


def _obj(value: Any, param: str) -> JSON:
    if not isinstance(value, dict):
        raise _type_error(param, "an object", value)
    return value


def _str(value: Any, param: str) -> str:
    if not isinstance(value, str):
        raise _type_error(param, "a string", value)
    return value


def _opt_str(value: Any, param: str) -> Optional[str]:
    return None if value is None else _str(value, param)


def _bool(value: Any, param: str) -> bool:
    if not isinstance(value, bool):
        raise _type_error(param, "a boolean", value)
    return value


def _int(value: Any, param: str, *, minimum: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(param, "an integer", value)
    if minimum is not None and value < minimum:
        raise _ProtocolError(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {minimum}, "
            f"but got {value} instead.",
            code="integer_below_min_value",
            param=param,
        )
    return value


def _number(value: Any, param: str, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _type_error(param, "a number", value)
    if not low <= value <= high:
        raise _ProtocolError(
            f"Invalid '{param}': expected a value between {low} and {high}, "
            f"but got {value} instead.",
            code="invalid_value",
            param=param,
        )
    return float(value)


def _enum(value: Any, param: str, allowed: Sequence[str]) -> str:
    if not isinstance(value, str):
        raise _type_error(param, "a string", value)
    if value not in allowed:
        raise _value_error(param, value, allowed)
    return value


def _str_list(value: Any, param: str) -> List[str]:
    if not isinstance(value, list):
        raise _type_error(param, "an array", value)
    return [_str(v, f"{param}[{i}]") for i, v in enumerate(value)]


# --- session configuration -------------------------------------------------------------------

_SESSION_KEYS = (
    "type",
    "model",
    "output_modalities",
    "instructions",
    "audio",
    "include",
    "tools",
    "tool_choice",
    "max_output_tokens",
    "tracing",
    "prompt",
    "truncation",
    "reasoning",
    "parallel_tool_calls",
)
_RESPONSE_KEYS = (
    "audio",
    "conversation",
    "input",
    "instructions",
    "max_output_tokens",
    "metadata",
    "output_modalities",
    "parallel_tool_calls",
    "prompt",
    "reasoning",
    "tool_choice",
    "tools",
)
_MCP_TOOL_KEYS = (
    "type",
    "server_label",
    "server_url",
    "server_description",
    "connector_id",
    "authorization",
    "headers",
    "allowed_tools",
    "allowed_callers",
    "require_approval",
    "defer_loading",
    "tunnel_id",
)
_TRANSCRIPTION_KEYS = ("model", "language", "prompt", "delay", "keywords", "languages")
_EFFORTS = ("minimal", "low", "medium", "high", "xhigh")


def _server_vad_defaults() -> JSON:
    return {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 500,
        "idle_timeout_ms": None,
        "create_response": True,
        "interrupt_response": True,
    }


def _semantic_vad_defaults() -> JSON:
    return {
        "type": "semantic_vad",
        "eagerness": "auto",
        "create_response": True,
        "interrupt_response": True,
    }


def default_session(model: str) -> JSON:
    """The GA session object a new connection starts with."""
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": new_id("sess"),
        "model": model,
        "output_modalities": ["audio"],
        "instructions": DEFAULT_INSTRUCTIONS,
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": int(time.time()) + 3600,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": _server_vad_defaults(),
            },
            "output": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "voice": "marin",
                "speed": 1.0,
            },
        },
        "include": None,
    }


def _format(value: Any, param: str) -> JSON:
    fmt = _obj(value, param)
    if "type" not in fmt:
        raise _missing(f"{param}.type")
    kind = _enum(fmt["type"], f"{param}.type", FORMAT_TYPES)
    if kind == "audio/pcm":
        _check_keys(fmt, ("type", "rate"), param)
        if "rate" in fmt and fmt["rate"] != 24000:
            raise _value_error(f"{param}.rate", fmt["rate"], ["24000"])
        return {"type": kind, "rate": 24000}
    _check_keys(fmt, ("type",), param)
    return {"type": kind}


def _modalities(value: Any, param: str) -> List[str]:
    items = _str_list(value, param)
    for i, item in enumerate(items):
        _enum(item, f"{param}[{i}]", ("text", "audio"))
    if len(set(items)) != 1:
        raise _ProtocolError(
            f"Invalid modalities: {json.dumps(items)}. Supported combinations are: "
            "['text'] and ['audio'].",
            code="invalid_value",
            param=param,
        )
    return [items[0]]


def _voice(value: Any, param: str) -> Union[str, JSON]:
    if isinstance(value, str):
        if value not in VOICES:
            raise _value_error(param, value, VOICES)
        return value
    if isinstance(value, dict) and set(value) == {"id"} and isinstance(value["id"], str):
        return {"id": value["id"]}
    raise _ProtocolError(
        f"Invalid value for '{param}': expected one of {_supported(VOICES)} "
        'or an object like {"id": "voice_1234"}.',
        code="invalid_value",
        param=param,
    )


def _turn_detection(current: Any, value: Any, param: str) -> Optional[JSON]:
    if value is None:
        return None
    td = _obj(value, param)
    if "type" not in td:
        raise _missing(f"{param}.type")
    kind = _enum(td["type"], f"{param}.type", ("server_vad", "semantic_vad"))
    if kind == "server_vad":
        _check_keys(td, tuple(_server_vad_defaults()), param)
        base = _server_vad_defaults()
    else:
        _check_keys(td, tuple(_semantic_vad_defaults()), param)
        base = _semantic_vad_defaults()
    if isinstance(current, dict) and current.get("type") == kind:
        base = copy.deepcopy(current)
    for key, field in td.items():
        p = f"{param}.{key}"
        if key == "threshold":
            base[key] = _number(field, p, 0.0, 1.0)
        elif key in ("prefix_padding_ms", "silence_duration_ms"):
            base[key] = _int(field, p, minimum=0)
        elif key == "idle_timeout_ms":
            base[key] = None if field is None else _int(field, p, minimum=0)
        elif key in ("create_response", "interrupt_response"):
            base[key] = _bool(field, p)
        elif key == "eagerness":
            base[key] = _enum(field, p, ("low", "medium", "high", "auto"))
    return base


def _transcription(value: Any, param: str) -> Optional[JSON]:
    if value is None:
        return None
    tr = _obj(value, param)
    _check_keys(tr, _TRANSCRIPTION_KEYS, param)
    out: JSON = {}
    for key, field in tr.items():
        p = f"{param}.{key}"
        if key in ("keywords", "languages"):
            out[key] = _str_list(field, p)
        elif key == "delay":
            out[key] = _enum(field, p, ("minimal", "low", "medium", "high", "xhigh"))
        else:
            out[key] = _opt_str(field, p)
    return out


def _noise_reduction(value: Any, param: str) -> Optional[JSON]:
    if value is None:
        return None
    nr = _obj(value, param)
    _check_keys(nr, ("type", "strength"), param)
    out: JSON = {}
    if "type" in nr:
        out["type"] = _enum(nr["type"], f"{param}.type", ("near_field", "far_field"))
    if "strength" in nr:
        out["strength"] = _number(nr["strength"], f"{param}.strength", 0.0, 1.0)
    return out


def _audio_input(current: JSON, value: Any, param: str) -> JSON:
    upd = _obj(value, param)
    _check_keys(upd, ("format", "transcription", "noise_reduction", "turn_detection"), param)
    out = copy.deepcopy(current)
    for key, field in upd.items():
        p = f"{param}.{key}"
        if key == "format":
            out[key] = _format(field, p)
        elif key == "transcription":
            out[key] = _transcription(field, p)
        elif key == "noise_reduction":
            out[key] = _noise_reduction(field, p)
        else:
            out[key] = _turn_detection(current.get("turn_detection"), field, p)
    return out


def _audio_output(current: JSON, value: Any, param: str, *, allow_speed: bool = True) -> JSON:
    upd = _obj(value, param)
    keys = ("format", "voice", "speed") if allow_speed else ("format", "voice")
    _check_keys(upd, keys, param)
    out = copy.deepcopy(current)
    for key, field in upd.items():
        p = f"{param}.{key}"
        if key == "format":
            out[key] = _format(field, p)
        elif key == "voice":
            out[key] = _voice(field, p)
        else:
            out[key] = _number(field, p, 0.25, 1.5)
    return out


def _tools(value: Any, param: str) -> List[JSON]:
    if not isinstance(value, list):
        raise _type_error(param, "an array", value)
    out: List[JSON] = []
    for i, raw in enumerate(value):
        p = f"{param}[{i}]"
        tool = _obj(raw, p)
        kind = _enum(tool.get("type", "function"), f"{p}.type", ("function", "mcp"))
        if kind == "function":
            _check_keys(tool, ("type", "name", "description", "parameters"), p)
            if "name" not in tool:
                raise _missing(f"{p}.name")
            _str(tool["name"], f"{p}.name")
            if "description" in tool:
                _str(tool["description"], f"{p}.description")
            if "parameters" in tool:
                _obj(tool["parameters"], f"{p}.parameters")
        else:
            _check_keys(tool, _MCP_TOOL_KEYS, p)
            if "server_label" not in tool:
                raise _missing(f"{p}.server_label")
            _str(tool["server_label"], f"{p}.server_label")
        out.append({"type": kind, **{k: v for k, v in tool.items() if k != "type"}})
    return out


def _tool_choice(value: Any, param: str) -> Union[str, JSON]:
    if isinstance(value, str):
        return _enum(value, param, ("auto", "none", "required"))
    choice = _obj(value, param)
    kind = _enum(choice.get("type"), f"{param}.type", ("function", "mcp"))
    if kind == "function":
        _check_keys(choice, ("type", "name"), param)
        if "name" not in choice:
            raise _missing(f"{param}.name")
        _str(choice["name"], f"{param}.name")
    else:
        _check_keys(choice, ("type", "server_label", "name"), param)
        if "server_label" not in choice:
            raise _missing(f"{param}.server_label")
        _str(choice["server_label"], f"{param}.server_label")
    return dict(choice)


def _max_output_tokens(value: Any, param: str) -> Union[int, str]:
    if value == "inf":
        return "inf"
    if isinstance(value, bool) or not isinstance(value, int):
        raise _type_error(param, "an integer or 'inf'", value)
    if not 1 <= value <= 4096:
        raise _ProtocolError(
            f"Invalid '{param}': expected an integer between 1 and 4096 or 'inf', "
            f"but got {value} instead.",
            code="invalid_value",
            param=param,
        )
    return value


def _common_option(key: str, value: Any, param: str) -> Any:
    """Validate a field shared by session.update and response.create."""
    if key == "output_modalities":
        return _modalities(value, param)
    if key == "instructions":
        return _str(value, param)
    if key == "tools":
        return _tools(value, param)
    if key == "tool_choice":
        return _tool_choice(value, param)
    if key == "max_output_tokens":
        return _max_output_tokens(value, param)
    if key == "parallel_tool_calls":
        return _bool(value, param)
    if key == "reasoning":
        if value is None:
            return None
        reasoning = _obj(value, param)
        _check_keys(reasoning, ("effort",), param)
        if "effort" in reasoning:
            _enum(reasoning["effort"], f"{param}.effort", _EFFORTS)
        return dict(reasoning)
    if key == "prompt":
        if value is None:
            return None
        prompt = _obj(value, param)
        _check_keys(prompt, ("id", "version", "variables"), param)
        if "id" not in prompt:
            raise _missing(f"{param}.id")
        _str(prompt["id"], f"{param}.id")
        return copy.deepcopy(prompt)
    raise AssertionError(key)  # pragma: no cover - callers only pass known keys


def apply_session_update(current: JSON, update: Any) -> JSON:
    """Validate a ``session.update`` payload and return the merged session (``current`` untouched).

    Raises ``_ProtocolError`` on the first problem, like the real server.
    """
    upd = _obj(update, "session")
    if "type" not in upd:
        raise _missing("session.type")
    kind = upd["type"]
    if kind == "transcription":
        raise _ProtocolError(
            "Cannot change the session type from 'realtime' to 'transcription'.",
            code="invalid_value",
            param="session.type",
        )
    _enum(kind, "session.type", ("realtime", "transcription"))
    _check_keys(upd, _SESSION_KEYS, "session")
    new = copy.deepcopy(current)
    for key, value in upd.items():
        p = f"session.{key}"
        if key == "type":
            continue
        if key == "model":
            new[key] = _str(value, p)
        elif key == "audio":
            audio = _obj(value, p)
            _check_keys(audio, ("input", "output"), p)
            if "input" in audio:
                new["audio"]["input"] = _audio_input(
                    new["audio"]["input"], audio["input"], f"{p}.input"
                )
            if "output" in audio:
                new["audio"]["output"] = _audio_output(
                    new["audio"]["output"], audio["output"], f"{p}.output"
                )
        elif key == "include":
            if value is None:
                new[key] = None
            else:
                new[key] = [
                    _enum(v, f"{p}[{i}]", ("item.input_audio_transcription.logprobs",))
                    for i, v in enumerate(_str_list(value, p))
                ]
        elif key == "tracing":
            if value is None or value == "auto":
                new[key] = value
            else:
                tracing = _obj(value, p)
                _check_keys(tracing, ("workflow_name", "group_id", "metadata"), p)
                new[key] = copy.deepcopy(tracing)
        elif key == "truncation":
            if isinstance(value, str):
                new[key] = _enum(value, p, ("auto", "disabled"))
            else:
                trunc = _obj(value, p)
                _check_keys(trunc, ("type", "retention_ratio", "token_limits"), p)
                _enum(trunc.get("type"), f"{p}.type", ("retention_ratio",))
                if "retention_ratio" not in trunc:
                    raise _missing(f"{p}.retention_ratio")
                _number(trunc["retention_ratio"], f"{p}.retention_ratio", 0.0, 1.0)
                new[key] = copy.deepcopy(trunc)
        else:
            new[key] = _common_option(key, value, p)
    return new


# --- conversation items ----------------------------------------------------------------------

_PART_TYPES = {
    "user": ("input_text", "input_audio", "input_image"),
    "system": ("input_text",),
    "assistant": ("output_text", "output_audio"),
}
_PART_KEYS = {
    "input_text": ("type", "text"),
    "input_audio": ("type", "audio", "transcript"),
    "input_image": ("type", "image_url", "detail"),
    "output_text": ("type", "text"),
    "output_audio": ("type", "audio", "transcript"),
}
_ITEM_COMMON_KEYS = ("id", "type", "object", "status")


def _b64(value: Any, param: str) -> bytes:
    text = _str(value, param)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise _ProtocolError(
            f"Invalid '{param}': expected base64-encoded audio data.",
            code="invalid_value",
            param=param,
        ) from None


def normalize_item(raw: Any, param: str) -> Tuple[JSON, Dict[int, bytes]]:
    """Validate a client-supplied item; return it in server form plus any decoded audio."""
    item = _obj(raw, param)
    if "type" not in item:
        raise _missing(f"{param}.type")
    kind = _enum(
        item["type"],
        f"{param}.type",
        ("message", "function_call", "function_call_output"),
    )
    if "id" in item:
        _str(item["id"], f"{param}.id")
    if "object" in item:
        _enum(item["object"], f"{param}.object", ("realtime.item",))
    if "status" in item:
        _enum(item["status"], f"{param}.status", ("completed", "incomplete", "in_progress"))
    head: JSON = {
        "id": item.get("id") or new_id("item"),
        "type": kind,
        "object": "realtime.item",
        "status": "completed",
    }
    audio: Dict[int, bytes] = {}
    if kind == "message":
        _check_keys(item, (*_ITEM_COMMON_KEYS, "role", "content"), param)
        if "role" not in item:
            raise _missing(f"{param}.role")
        role = _enum(item["role"], f"{param}.role", ("user", "assistant", "system"))
        if "content" not in item:
            raise _missing(f"{param}.content")
        if not isinstance(item["content"], list):
            raise _type_error(f"{param}.content", "an array", item["content"])
        parts: List[JSON] = []
        for index, raw_part in enumerate(item["content"]):
            p = f"{param}.content[{index}]"
            part = _obj(raw_part, p)
            if "type" not in part:
                raise _missing(f"{p}.type")
            ptype = _enum(part["type"], f"{p}.type", _PART_TYPES[role])
            _check_keys(part, _PART_KEYS[ptype], p)
            if ptype in ("input_text", "output_text"):
                if "text" not in part:
                    raise _missing(f"{p}.text")
                parts.append({"type": ptype, "text": _str(part["text"], f"{p}.text")})
            elif ptype == "input_image":
                if "image_url" not in part:
                    raise _missing(f"{p}.image_url")
                detail = part.get("detail", "auto")
                parts.append(
                    {
                        "type": ptype,
                        "image_url": _str(part["image_url"], f"{p}.image_url"),
                        "detail": _enum(detail, f"{p}.detail", ("auto", "low", "high")),
                    }
                )
            else:
                if ptype == "input_audio" and "audio" not in part:
                    raise _missing(f"{p}.audio")
                if "audio" in part:
                    audio[index] = _b64(part["audio"], f"{p}.audio")
                transcript = _opt_str(part.get("transcript"), f"{p}.transcript")
                parts.append({"type": ptype, "transcript": transcript})
        head["role"] = role
        head["content"] = parts
    elif kind == "function_call":
        _check_keys(item, (*_ITEM_COMMON_KEYS, "name", "arguments", "call_id"), param)
        for key in ("name", "arguments"):
            if key not in item:
                raise _missing(f"{param}.{key}")
        head["name"] = _str(item["name"], f"{param}.name")
        head["call_id"] = _str(item.get("call_id") or new_id("call", 16), f"{param}.call_id")
        head["arguments"] = _str(item["arguments"], f"{param}.arguments")
    else:
        _check_keys(item, (*_ITEM_COMMON_KEYS, "call_id", "output"), param)
        for key in ("call_id", "output"):
            if key not in item:
                raise _missing(f"{param}.{key}")
        head["call_id"] = _str(item["call_id"], f"{param}.call_id")
        head["output"] = _str(item["output"], f"{param}.output")
    return head, audio


def public_item(item: JSON) -> JSON:
    """A deep copy of ``item`` as sent in events (audio payloads are never echoed)."""
    out = copy.deepcopy(item)
    for part in out.get("content", ()):
        part.pop("audio", None)
    return out


def _split_words(text: str) -> List[str]:
    """Split ``text`` into word-sized deltas whose concatenation is ``text``."""
    return re.findall(r"\s*\S+\s*|\s+", text) if text else []


def _split_fixed(text: str, size: int) -> List[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _text_tokens(text: str) -> int:
    return (len(text) + 3) // 4


# --- outbox ----------------------------------------------------------------------------------


class Outbox:
    """Serialized sender for one connection, with the ``drop_after`` countdown."""

    def __init__(self, connection: ServerConnection, on_sent: Callable[[JSON], None]) -> None:
        self._connection = connection
        self._on_sent = on_sent
        # Guards _closed and _drop_countdown, and serializes writes to _connection.
        self._lock = threading.Lock()
        self._closed = False
        self._drop_countdown: Optional[int] = None

    @property
    def closed(self) -> bool:
        """Whether nothing can be sent any more."""
        return self._closed

    def send_event(self, event: JSON) -> bool:
        """Send one JSON event; False when the connection is gone."""
        text = json.dumps(event)
        with self._lock:
            if self._closed:
                return False
            # Recorded before the write: a fast client may act on the frame before send() returns.
            self._on_sent(event)
            try:
                self._connection.send(text)
            except (ConnectionClosed, OSError):
                self._closed = True
                return False
            if self._drop_countdown is not None:
                self._drop_countdown -= 1
                if self._drop_countdown <= 0:
                    self._abort_locked()
            return True

    def send_raw(self, data: Union[str, bytes]) -> bool:
        """Send a raw text (str) or binary (bytes) frame; not counted by ``drop_after``."""
        with self._lock:
            if self._closed:
                return False
            try:
                self._connection.send(data)
            except (ConnectionClosed, OSError):
                self._closed = True
                return False
            return True

    def arm_drop(self, n_events: Optional[int]) -> None:
        """Drop the TCP connection after ``n_events`` more events (None disarms, 0 drops now)."""
        with self._lock:
            if n_events is None:
                self._drop_countdown = None
            elif n_events <= 0:
                self._abort_locked()
            else:
                self._drop_countdown = n_events

    def abort(self) -> None:
        """Close the TCP connection abruptly, without a WebSocket close frame."""
        with self._lock:
            self._abort_locked()

    def _abort_locked(self) -> None:
        self._closed = True
        self._drop_countdown = None
        # FIN without a close frame; websockets' reader then sees EOF and cleans up.
        with contextlib.suppress(OSError):
            self._connection.socket.shutdown(socket.SHUT_RDWR)

    def mark_closing(self) -> None:
        """Stop sending: a closing handshake is about to start."""
        with self._lock:
            self._closed = True


# --- the session -----------------------------------------------------------------------------


class RealtimeSession:
    """Protocol state and event handling for one connection."""

    def __init__(self, *, host: SessionHost, outbox: Outbox, model: str) -> None:
        self._host = host
        self._outbox = outbox
        # Guards every attribute below (session config, items and their audio, input audio
        # buffer and VAD, response runs, rate-limit counters, _closed); _ResponseRun takes it too.
        self._lock = threading.RLock()
        self._session = default_session(model)
        self._conversation_id = new_id("conv")
        self._items: List[JSON] = []
        self._item_audio: Dict[str, Dict[int, bytearray]] = {}
        self._audio_buffer = bytearray()
        self._buffer_start_ms = 0.0
        self._vad: Optional[EnergyVad] = None
        self._speech_item_id: Optional[str] = None
        self._speech_start_ms = 0
        self._runs: Dict[str, _ResponseRun] = {}
        self._default_run: Optional[_ResponseRun] = None
        self._last_response_id: Optional[str] = None
        self._tokens_used = 0
        self._requests_used = 0
        self._closed = False
        self._configure_vad()

    # -- plumbing

    def emit(self, type_: str, **fields: Any) -> bool:
        """Send a server event of ``type_`` with a fresh ``event_id``."""
        event: JSON = {"type": type_, "event_id": new_id("event")}
        event.update(fields)
        return self._outbox.send_event(event)

    def _error(self, exc: _ProtocolError, client_event_id: Optional[str]) -> None:
        self.emit(
            "error",
            error={
                "type": exc.type,
                "code": exc.code,
                "message": exc.message,
                "param": exc.param,
                "event_id": client_event_id,
            },
        )

    def start(self) -> None:
        """Greet the client with ``session.created``."""
        with self._lock:
            self.emit("session.created", session=copy.deepcopy(self._session))

    def close(self) -> None:
        """Stop every response in progress and wait for their threads (connection is gone)."""
        with self._lock:
            self._closed = True
            runs = list(self._runs.values())
        for run in runs:
            run.cancel("client_cancelled")
        for run in runs:
            run.join(_JOIN_TIMEOUT)

    # -- dispatch

    def handle_message(self, message: Union[str, bytes]) -> None:
        """Handle one frame received from the client."""
        try:
            text = message.decode("utf-8") if isinstance(message, bytes) else message
            event = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            self._error(
                _ProtocolError(
                    f"Invalid JSON in client event: {exc}.", code="invalid_json", param=None
                ),
                None,
            )
            return
        if not isinstance(event, dict):
            self._error(
                _ProtocolError(
                    f"Invalid client event: expected a JSON object, but got {_kind(event)}.",
                    code="invalid_json",
                ),
                None,
            )
            return
        self._host.record_received(event)
        raw_id = event.get("event_id")
        client_event_id = raw_id if isinstance(raw_id, str) else None
        try:
            self._dispatch(event)
        except _ProtocolError as exc:
            self._error(exc, client_event_id)
        except Exception:  # a simulator bug: report it like the real server would
            logger.exception("realtime simulator failed to handle %r", event.get("type"))
            self._error(
                _ProtocolError(
                    "The server had an error while processing your request.",
                    code=None,
                    type_="server_error",
                ),
                client_event_id,
            )

    def _dispatch(self, event: JSON) -> None:
        if "type" not in event:
            raise _missing("type")
        kind = event["type"]
        handler = self._handlers().get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise _value_error("type", kind, sorted(self._handlers()))
        keys, method = handler
        _check_keys(event, ("type", "event_id", *keys), "")
        if "event_id" in event:
            _str(event["event_id"], "event_id")
        method(event)

    def _handlers(self) -> Dict[str, Tuple[Tuple[str, ...], Callable[[JSON], None]]]:
        return {
            "session.update": (("session",), self._on_session_update),
            "input_audio_buffer.append": (("audio",), self._on_audio_append),
            "input_audio_buffer.commit": ((), self._on_audio_commit),
            "input_audio_buffer.clear": ((), self._on_audio_clear),
            "output_audio_buffer.clear": ((), self._on_output_audio_clear),
            "conversation.item.create": (("item", "previous_item_id"), self._on_item_create),
            "conversation.item.truncate": (
                ("item_id", "content_index", "audio_end_ms"),
                self._on_item_truncate,
            ),
            "conversation.item.delete": (("item_id",), self._on_item_delete),
            "conversation.item.retrieve": (("item_id",), self._on_item_retrieve),
            "response.create": (("response",), self._on_response_create),
            "response.cancel": (("response_id",), self._on_response_cancel),
        }

    # -- session

    def _on_session_update(self, event: JSON) -> None:
        if "session" not in event:
            raise _missing("session")
        with self._lock:
            self._session = apply_session_update(self._session, event["session"])
            self._configure_vad()
            self.emit("session.updated", session=copy.deepcopy(self._session))

    def _input_format(self) -> AudioFormat:
        return AudioFormat.from_config(self._session["audio"]["input"]["format"])

    def _turn_detection(self) -> Optional[JSON]:
        td = self._session["audio"]["input"]["turn_detection"]
        return td if isinstance(td, dict) else None

    def _configure_vad(self) -> None:
        td = self._turn_detection()
        if td is None:
            self._vad = None
            return
        if td["type"] == "server_vad":
            threshold = float(td.get("threshold", 0.5))
            silence = int(td.get("silence_duration_ms", 500))
        else:  # semantic_vad: the simulator has no semantics; eagerness sets the pause length
            threshold = 0.5
            silence = {"high": 300, "low": 1000}.get(str(td.get("eagerness")), 500)
        fmt = self._input_format()
        if self._vad is None or self._vad.fmt.type != fmt.type:
            position = self._buffer_start_ms + fmt.duration_ms(len(self._audio_buffer))
            self._vad = EnergyVad(
                threshold=threshold, silence_duration_ms=silence, fmt=fmt, position_ms=position
            )
        else:
            self._vad.threshold = threshold
            self._vad.silence_duration_ms = silence

    # -- input audio

    def _on_audio_append(self, event: JSON) -> None:
        if "audio" not in event:
            raise _missing("audio")
        data = _b64(event["audio"], "audio")
        with self._lock:
            self._audio_buffer.extend(data)
            vad_events = self._vad.feed(data) if self._vad is not None else []
        for vad_event in vad_events:
            if vad_event.kind == "start":
                self._speech_started(vad_event.ms)
            else:
                self._speech_stopped(vad_event.ms)

    def _speech_started(self, onset_ms: int) -> None:
        with self._lock:
            td = self._turn_detection() or {}
            padding = int(td.get("prefix_padding_ms", 300))
            start = max(onset_ms - padding, math.ceil(self._buffer_start_ms), 0)
            self._speech_item_id = new_id("item")
            self._speech_start_ms = start
            self.emit(
                "input_audio_buffer.speech_started",
                audio_start_ms=start,
                item_id=self._speech_item_id,
            )
            run = self._default_run if td.get("interrupt_response", True) else None
        if run is not None:
            run.cancel("turn_detected")
            run.join(_JOIN_TIMEOUT)

    def _speech_stopped(self, end_ms: int) -> None:
        with self._lock:
            td = self._turn_detection() or {}
            item_id = self._speech_item_id or new_id("item")
            self.emit("input_audio_buffer.speech_stopped", audio_end_ms=end_ms, item_id=item_id)
            fmt = self._input_format()
            begin = fmt.bytes_for_ms(self._speech_start_ms - self._buffer_start_ms)
            end = fmt.bytes_for_ms(end_ms - self._buffer_start_ms)
            audio = bytes(self._audio_buffer[begin:end])
            del self._audio_buffer[:end]
            self._buffer_start_ms = float(end_ms)
            self._speech_item_id = None
            self._commit(audio, item_id)
            wants_response = bool(td.get("create_response", True)) and self._default_run is None
        if wants_response:
            self._start_response({})

    def _on_audio_commit(self, _event: JSON) -> None:
        with self._lock:
            fmt = self._input_format()
            have_ms = fmt.duration_ms(len(self._audio_buffer))
            if have_ms < _MIN_COMMIT_MS:
                raise _ProtocolError(
                    "Error committing input audio buffer: buffer too small. Expected at least "
                    f"100ms of audio, but buffer only has {have_ms:.2f}ms of audio.",
                    code="input_audio_buffer_commit_empty",
                )
            audio = bytes(self._audio_buffer)
            item_id = self._speech_item_id or new_id("item")
            self._reset_buffer()
            self._commit(audio, item_id)

    def _reset_buffer(self) -> None:
        fmt = self._input_format()
        self._buffer_start_ms += fmt.duration_ms(len(self._audio_buffer))
        self._audio_buffer = bytearray()
        self._speech_item_id = None
        if self._vad is not None:
            self._vad.reset()

    def _on_audio_clear(self, _event: JSON) -> None:
        with self._lock:
            self._reset_buffer()
            self.emit("input_audio_buffer.cleared")

    def _commit(self, audio: bytes, item_id: str) -> None:
        """Turn committed audio into a user item (lock held)."""
        item: JSON = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        previous = self._items[-1]["id"] if self._items else None
        self._items.append(item)
        self._item_audio[item_id] = {0: bytearray(audio)}
        self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        self.emit("conversation.item.added", previous_item_id=previous, item=public_item(item))
        self.emit("conversation.item.done", previous_item_id=previous, item=public_item(item))
        transcription = self._session["audio"]["input"]["transcription"]
        if transcription is not None:
            self._transcribe(item, transcription, self._input_format().duration_ms(len(audio)))

    def _transcribe(self, item: JSON, config: JSON, duration_ms: float) -> None:
        transcript = self._host.transcript_for_audio
        for piece in _split_words(transcript):
            self.emit(
                "conversation.item.input_audio_transcription.delta",
                item_id=item["id"],
                content_index=0,
                delta=piece,
            )
        model = str(config.get("model") or "whisper-1")
        usage: JSON
        if "whisper" in model:
            usage = {"type": "duration", "seconds": round(duration_ms / 1000.0, 3)}
        else:
            audio_tokens = max(1, int(duration_ms / 100))
            out_tokens = _text_tokens(transcript)
            usage = {
                "type": "tokens",
                "input_tokens": audio_tokens,
                "output_tokens": out_tokens,
                "total_tokens": audio_tokens + out_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
            }
        item["content"][0]["transcript"] = transcript
        self.emit(
            "conversation.item.input_audio_transcription.completed",
            item_id=item["id"],
            content_index=0,
            transcript=transcript,
            usage=usage,
        )

    def _on_output_audio_clear(self, _event: JSON) -> None:
        with self._lock:
            if self._last_response_id is None:
                raise _ProtocolError(
                    "There is no response whose output audio could be cleared.",
                    code="invalid_value",
                )
            self.emit("output_audio_buffer.cleared", response_id=self._last_response_id)

    # -- conversation items

    def _index_of(self, item_id: str) -> int:
        for index, item in enumerate(self._items):
            if item["id"] == item_id:
                return index
        return -1

    def _on_item_create(self, event: JSON) -> None:
        if "item" not in event:
            raise _missing("item")
        item, audio = normalize_item(event["item"], "item")
        previous_id = event.get("previous_item_id")
        if previous_id is not None:
            _str(previous_id, "previous_item_id")
        with self._lock:
            if self._index_of(item["id"]) >= 0:
                raise _ProtocolError(
                    f"Error adding item: an item with id '{item['id']}' already exists.",
                    code="invalid_value",
                    param="item.id",
                )
            if item["type"] == "function_call_output" and not any(
                other["type"] == "function_call" and other.get("call_id") == item["call_id"]
                for other in self._items
            ):
                raise _ProtocolError(
                    f"Tool call ID '{item['call_id']}' not found in conversation.",
                    code="invalid_tool_call_id",
                )
            if previous_id is None:
                position = len(self._items)
            elif previous_id == "root":
                position = 0
            else:
                found = self._index_of(previous_id)
                if found < 0:
                    raise _ProtocolError(
                        f"Error adding item: the previous item with id '{previous_id}' "
                        "does not exist.",
                        code="item_create_invalid_previous_item_id",
                        param="previous_item_id",
                    )
                position = found + 1
            self._items.insert(position, item)
            if audio:
                self._item_audio[item["id"]] = {k: bytearray(v) for k, v in audio.items()}
            previous = self._items[position - 1]["id"] if position > 0 else None
            self.emit("conversation.item.added", previous_item_id=previous, item=public_item(item))
            self.emit("conversation.item.done", previous_item_id=previous, item=public_item(item))

    def _item_id_param(self, event: JSON) -> str:
        if "item_id" not in event:
            raise _missing("item_id")
        return _str(event["item_id"], "item_id")

    def _on_item_truncate(self, event: JSON) -> None:
        item_id = self._item_id_param(event)
        for key in ("content_index", "audio_end_ms"):
            if key not in event:
                raise _missing(key)
        content_index = _int(event["content_index"], "content_index", minimum=0)
        audio_end_ms = _int(event["audio_end_ms"], "audio_end_ms", minimum=0)
        with self._lock:
            index = self._index_of(item_id)
            if index < 0:
                raise _ProtocolError(
                    f"Error truncating item: the item with id '{item_id}' does not exist.",
                    code="item_truncate_invalid_item_id",
                    param="item_id",
                )
            item = self._items[index]
            content = item.get("content") or []
            if item.get("role") != "assistant" or not any(
                part["type"] == "output_audio" for part in content
            ):
                raise _ProtocolError(
                    "Only model output audio messages can be truncated.",
                    code="invalid_value",
                    param="item_id",
                )
            if content_index >= len(content) or content[content_index]["type"] != "output_audio":
                raise _ProtocolError(
                    f"Invalid 'content_index': content part {content_index} of item "
                    f"'{item_id}' is not an output_audio part.",
                    code="invalid_value",
                    param="content_index",
                )
            audio = self._item_audio.setdefault(item_id, {}).setdefault(content_index, bytearray())
            fmt = AudioFormat.from_config(self._session["audio"]["output"]["format"])
            have_ms = fmt.duration_ms(len(audio))
            if audio_end_ms > have_ms + 1e-6:
                raise _ProtocolError(
                    f"Audio content of {int(have_ms)}ms is already shorter than {audio_end_ms}ms.",
                    code="invalid_value",
                    param="audio_end_ms",
                )
            del audio[fmt.bytes_for_ms(audio_end_ms) :]
            content[content_index]["transcript"] = ""
            self.emit(
                "conversation.item.truncated",
                item_id=item_id,
                content_index=content_index,
                audio_end_ms=audio_end_ms,
            )

    def _on_item_delete(self, event: JSON) -> None:
        item_id = self._item_id_param(event)
        with self._lock:
            index = self._index_of(item_id)
            if index < 0:
                raise _ProtocolError(
                    f"Error deleting item: the item with id '{item_id}' does not exist.",
                    code="item_delete_invalid_item_id",
                    param="item_id",
                )
            del self._items[index]
            self._item_audio.pop(item_id, None)
            self.emit("conversation.item.deleted", item_id=item_id)

    def _on_item_retrieve(self, event: JSON) -> None:
        item_id = self._item_id_param(event)
        with self._lock:
            index = self._index_of(item_id)
            if index < 0:
                raise _ProtocolError(
                    f"Error retrieving item: the item with id '{item_id}' does not exist.",
                    code="item_retrieve_invalid_item_id",
                    param="item_id",
                )
            item = public_item(self._items[index])
            for part_index, audio in self._item_audio.get(item_id, {}).items():
                if part_index < len(item.get("content", ())):
                    item["content"][part_index]["audio"] = base64.b64encode(audio).decode("ascii")
            self.emit("conversation.item.retrieved", item=item)

    # -- responses

    def _on_response_create(self, event: JSON) -> None:
        params = event.get("response")
        if params is None:
            params = {}
        params = _obj(params, "response")
        _check_keys(params, _RESPONSE_KEYS, "response")
        self._start_response(params)

    def _validate_response_params(self, params: JSON) -> Tuple[JSON, Optional[List[JSON]]]:
        """Check ``response.create`` options; return them and the resolved ``input`` items."""
        options: JSON = {}
        input_items: Optional[List[JSON]] = None
        for key, value in params.items():
            p = f"response.{key}"
            if key == "conversation":
                options[key] = _enum(value, p, ("auto", "none"))
            elif key == "metadata":
                if value is not None:
                    meta = _obj(value, p)
                    if len(meta) > 16:
                        raise _ProtocolError(
                            f"Invalid '{p}': at most 16 keys are allowed.",
                            code="invalid_value",
                            param=p,
                        )
                    for mkey, mval in meta.items():
                        _str(mval, f"{p}.{mkey}")
                options[key] = copy.deepcopy(value)
            elif key == "audio":
                audio = _obj(value, p)
                _check_keys(audio, ("output",), p)
                current = self._session["audio"]["output"]
                base = {"format": current["format"], "voice": current["voice"]}
                options[key] = _audio_output(
                    base, audio.get("output", {}), f"{p}.output", allow_speed=False
                )
            elif key == "input":
                if not isinstance(value, list):
                    raise _type_error(p, "an array", value)
                input_items = []
                for index, raw in enumerate(value):
                    ip = f"{p}[{index}]"
                    if isinstance(raw, dict) and raw.get("type") == "item_reference":
                        _check_keys(raw, ("type", "id"), ip)
                        if "id" not in raw:
                            raise _missing(f"{ip}.id")
                        found = self._index_of(_str(raw["id"], f"{ip}.id"))
                        if found < 0:
                            raise _ProtocolError(
                                f"Item with id '{raw['id']}' not found in the conversation.",
                                code="invalid_value",
                                param=f"{ip}.id",
                            )
                        input_items.append(self._items[found])
                    else:
                        input_items.append(normalize_item(raw, ip)[0])
            else:
                options[key] = _common_option(key, value, p)
        return options, input_items

    def _reply_request(self, context: List[JSON]) -> ReplyRequest:
        outputs: List[ToolOutput] = []
        for item in reversed(context):
            if item["type"] != "function_call_output":
                break
            outputs.append(ToolOutput(call_id=item["call_id"], output=item["output"]))
        outputs.reverse()
        user_text: Optional[str] = None
        for item in reversed(context):
            if item["type"] == "message" and item.get("role") == "user":
                pieces: List[str] = []
                for part in item["content"]:
                    if part["type"] == "input_text":
                        pieces.append(part["text"])
                    elif part["type"] == "input_audio":
                        pieces.append(part.get("transcript") or self._host.transcript_for_audio)
                user_text = " ".join(p for p in pieces if p)
                break
        return ReplyRequest(user_text=user_text, tool_outputs=tuple(outputs))

    def _input_tokens(self, context: List[JSON], instructions: str) -> Tuple[int, int]:
        text = _text_tokens(instructions)
        audio_ms = 0.0
        in_fmt = self._input_format()
        for item in context:
            for part in item.get("content", ()):
                text += _text_tokens(part.get("text") or part.get("transcript") or "")
            text += _text_tokens(item.get("arguments", "") + item.get("output", ""))
            for blob in self._item_audio.get(item["id"], {}).values():
                audio_ms += in_fmt.duration_ms(len(blob))
        return text, int(audio_ms / 100)

    def _start_response(self, params: JSON) -> None:
        """Create and start a response (from response.create or from server VAD)."""
        with self._lock:
            if self._closed:
                return
            options, input_items = self._validate_response_params(params)
            in_conversation = options.get("conversation", "auto") != "none"
            if in_conversation and self._default_run is not None:
                raise _ProtocolError(
                    "Conversation already has an active response in progress: "
                    f"{self._default_run.response_id}. Wait until the response is finished "
                    "before creating a new one.",
                    code="conversation_already_has_active_response",
                )
            context = list(self._items) if input_items is None else input_items
            request = self._reply_request(context)
            modalities: List[str] = list(
                options.get("output_modalities") or self._session["output_modalities"]
            )
            audio_out = options.get("audio") or {
                "format": self._session["audio"]["output"]["format"],
                "voice": self._session["audio"]["output"]["voice"],
            }
            instructions = str(options.get("instructions", self._session["instructions"]))
            input_tokens = self._input_tokens(context, instructions)
        plan = self._host.plan_reply(request)
        response_id = new_id("resp")
        response: JSON = {
            "object": "realtime.response",
            "id": response_id,
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": self._conversation_id if in_conversation else None,
            "output_modalities": list(modalities),
            "max_output_tokens": options.get(
                "max_output_tokens", self._session["max_output_tokens"]
            ),
            "audio": {"output": copy.deepcopy(audio_out)},
            "usage": None,
            "metadata": options.get("metadata"),
        }
        run = _ResponseRun(
            self,
            response=response,
            plan=plan,
            in_conversation=in_conversation,
            audio=modalities == ["audio"],
            out_format=AudioFormat.from_config(audio_out["format"]),
            speed=float(self._session["audio"]["output"].get("speed", 1.0)),
            input_tokens=input_tokens,
        )
        with self._lock:
            if self._is_closed():
                return
            self._runs[response_id] = run
            if in_conversation:
                self._default_run = run
            self._last_response_id = response_id
            run.start()

    def _on_response_cancel(self, event: JSON) -> None:
        wanted = event.get("response_id")
        if wanted is not None:
            _str(wanted, "response_id")
        with self._lock:
            if wanted is not None:
                run = self._runs.get(wanted)
            else:
                run = self._default_run or next(iter(self._runs.values()), None)
            if run is None:
                if wanted is not None:
                    raise _ProtocolError(
                        f"Cancellation failed: no active response found with id '{wanted}'.",
                        code="response_cancel_not_active",
                        param="response_id",
                    )
                raise _ProtocolError(
                    "Cancellation failed: no active response found.",
                    code="response_cancel_not_active",
                )
        run.cancel("client_cancelled")
        run.join(_JOIN_TIMEOUT)

    def _is_closed(self) -> bool:
        return self._closed

    def _run_finished(self, run: _ResponseRun) -> None:
        with self._lock:
            self._runs.pop(run.response_id, None)
            if self._default_run is run:
                self._default_run = None

    def _rate_limits(self, tokens: int) -> List[JSON]:
        with self._lock:
            self._requests_used += 1
            self._tokens_used += tokens
            return [
                {
                    "name": "requests",
                    "limit": 5000,
                    "remaining": max(5000 - self._requests_used, 0),
                    "reset_seconds": round(0.012 * self._requests_used, 3),
                },
                {
                    "name": "tokens",
                    "limit": 800000,
                    "remaining": max(800000 - self._tokens_used, 0),
                    "reset_seconds": round(0.0075 * self._tokens_used / 100.0 + 0.1, 3),
                },
            ]


class _ResponseRun:
    """Streams one response on its own thread."""

    def __init__(
        self,
        session: RealtimeSession,
        *,
        response: JSON,
        plan: ReplyPlan,
        in_conversation: bool,
        audio: bool,
        out_format: AudioFormat,
        speed: float,
        input_tokens: Tuple[int, int],
    ) -> None:
        self.response_id: str = response["id"]
        self._session = session
        self._host = session._host
        self._response = response
        self._plan = plan
        self._in_conversation = in_conversation
        self._audio = audio
        self._format = out_format
        self._speed = speed
        self._input_tokens = input_tokens
        self._cancel = threading.Event()
        self._reason: Optional[str] = None
        self._reason_lock = threading.Lock()  # guards _reason (the first cancel reason wins)
        self._outputs: List[JSON] = []
        self._out_text_tokens = 0
        self._out_audio_ms = 0.0
        self._thread = threading.Thread(
            target=self._main, name="realtime-simulator-response", daemon=True
        )

    def start(self) -> None:
        """Start streaming."""
        self._thread.start()

    def cancel(self, reason: str) -> None:
        """Ask the run to stop at the next event; the first reason given wins."""
        with self._reason_lock:
            if self._reason is None:
                self._reason = reason
        self._cancel.set()

    def join(self, timeout: float) -> None:
        """Wait for the streaming thread (no-op when called from that thread)."""
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout)

    # -- helpers

    def _send(self, type_: str, **fields: Any) -> None:
        if not self._session.emit(type_, **fields):
            raise _Closed

    def _step(self) -> None:
        """Pause between two streamed events; raise _Cancelled when cancelled."""
        delay = self._host.event_delay
        if delay > 0:
            self._cancel.wait(delay)
        if self._cancel.is_set():
            raise _Cancelled

    def _ids(self, output_index: int, item_id: str) -> JSON:
        return {"response_id": self.response_id, "item_id": item_id, "output_index": output_index}

    def _open_item(self, output_index: int, item: JSON) -> None:
        self._step()
        session = self._session
        with session._lock:
            self._send(
                "response.output_item.added",
                response_id=self.response_id,
                output_index=output_index,
                item=public_item(item),
            )
            if self._in_conversation:
                previous = session._items[-1]["id"] if session._items else None
                session._items.append(item)
                self._send(
                    "conversation.item.added", previous_item_id=previous, item=public_item(item)
                )

    def _close_item(self, output_index: int, item: JSON, status: str) -> None:
        session = self._session
        with session._lock:
            item["status"] = status
            self._outputs.append(public_item(item))
            self._send(
                "response.output_item.done",
                response_id=self.response_id,
                output_index=output_index,
                item=public_item(item),
            )
            if self._in_conversation:
                index = session._index_of(item["id"])
                previous = session._items[index - 1]["id"] if index > 0 else None
                self._send(
                    "conversation.item.done", previous_item_id=previous, item=public_item(item)
                )

    # -- streaming

    def _main(self) -> None:
        try:
            self._stream()
        except _Closed:
            pass
        except Exception:
            logger.exception("realtime simulator failed while streaming %s", self.response_id)
        finally:
            self._session._run_finished(self)

    def _stream(self) -> None:
        self._send("response.created", response=copy.deepcopy(self._response))
        outputs: List[Tuple[str, Any]] = []
        if self._plan.text is not None:
            outputs.append(("message", self._plan.text))
        outputs.extend(("call", call) for call in self._plan.calls)
        try:
            for output_index, (kind, spec) in enumerate(outputs):
                if kind == "message":
                    self._stream_message(output_index, spec)
                else:
                    self._stream_call(output_index, spec)
        except _Cancelled:
            pass
        session = self._session
        text_in, audio_in = self._input_tokens
        audio_out = math.ceil(self._out_audio_ms / 50.0)
        output_tokens = self._out_text_tokens + audio_out
        with session._lock:
            # Decide the status and leave the active set atomically with response.done, so a
            # client reacting to response.done can create the next response at once, and a
            # response.cancel racing with the end either cancels this run or gets an error.
            with self._reason_lock:
                reason = self._reason if self._cancel.is_set() else None
            session._run_finished(self)
            final = copy.deepcopy(self._response)
            final.update(
                status="completed" if reason is None else "cancelled",
                status_details=None if reason is None else {"type": "cancelled", "reason": reason},
                output=self._outputs,
                usage={
                    "total_tokens": text_in + audio_in + output_tokens,
                    "input_tokens": text_in + audio_in,
                    "output_tokens": output_tokens,
                    "input_token_details": {
                        "text_tokens": text_in,
                        "audio_tokens": audio_in,
                        "image_tokens": 0,
                        "cached_tokens": 0,
                        "cached_tokens_details": {
                            "text_tokens": 0,
                            "audio_tokens": 0,
                            "image_tokens": 0,
                        },
                    },
                    "output_token_details": {
                        "text_tokens": self._out_text_tokens,
                        "audio_tokens": audio_out,
                    },
                },
            )
            self._send("response.done", response=final)
            if self._host.send_rate_limits:
                tokens = text_in + audio_in + output_tokens
                self._send("rate_limits.updated", rate_limits=session._rate_limits(tokens))

    def _stream_message(self, output_index: int, text: str) -> None:
        session = self._session
        item: JSON = {
            "id": new_id("item"),
            "type": "message",
            "object": "realtime.item",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self._open_item(output_index, item)
        ids = self._ids(output_index, item["id"])
        status = "completed"
        part_open = False
        sent_text = ""
        audio_store = bytearray()
        try:
            self._step()
            with session._lock:
                if self._audio:
                    item["content"].append({"type": "output_audio", "transcript": ""})
                    if self._in_conversation:
                        session._item_audio[item["id"]] = {0: audio_store}
                    part: JSON = {"type": "audio", "transcript": ""}
                else:
                    item["content"].append({"type": "output_text", "text": ""})
                    part = {"type": "text", "text": ""}
                self._send("response.content_part.added", content_index=0, part=part, **ids)
            part_open = True
            for kind, payload in self._schedule(text):
                self._step()
                with session._lock:
                    if kind == "audio":
                        audio_store.extend(payload)
                        self._out_audio_ms += self._format.duration_ms(len(payload))
                        self._send(
                            "response.output_audio.delta",
                            content_index=0,
                            delta=base64.b64encode(payload).decode("ascii"),
                            **ids,
                        )
                    else:
                        sent_text += payload
                        key = "transcript" if self._audio else "text"
                        item["content"][0][key] = sent_text
                        delta_type = (
                            "response.output_audio_transcript.delta"
                            if self._audio
                            else "response.output_text.delta"
                        )
                        self._send(delta_type, content_index=0, delta=payload, **ids)
        except _Cancelled:
            status = "incomplete"
        self._out_text_tokens += _text_tokens(sent_text)
        if part_open:
            if self._audio:
                self._send("response.output_audio.done", content_index=0, **ids)
                self._send(
                    "response.output_audio_transcript.done",
                    content_index=0,
                    transcript=sent_text,
                    **ids,
                )
                done_part: JSON = {"type": "audio", "transcript": sent_text}
            else:
                self._send("response.output_text.done", content_index=0, text=sent_text, **ids)
                done_part = {"type": "text", "text": sent_text}
            self._send("response.content_part.done", content_index=0, part=done_part, **ids)
        self._close_item(output_index, item, status)
        if status != "completed":
            raise _Cancelled

    def _schedule(self, text: str) -> List[Tuple[str, Any]]:
        """The deltas of a message: transcript/text pieces interleaved with audio chunks."""
        words = _split_words(text)
        if not self._audio:
            return [("text", w) for w in words]
        audio = self._plan.audio
        if audio is None:
            duration = max(_MIN_AUDIO_MS, _MS_PER_CHAR * len(text)) / self._speed
            audio = tone(duration, self._format)
        chunk = max(self._format.bytes_for_ms(self._host.audio_chunk_ms), 1)
        chunks = [audio[i : i + chunk] for i in range(0, len(audio), chunk)]
        if not chunks:
            return [("text", w) for w in words]
        schedule: List[Tuple[str, Any]] = []
        sent_words = 0
        for k, blob in enumerate(chunks):
            target = -(-(k + 1) * len(words) // len(chunks))
            schedule.extend(("text", w) for w in words[sent_words:target])
            sent_words = max(sent_words, target)
            schedule.append(("audio", blob))
        return schedule

    def _stream_call(self, output_index: int, call: PlannedCall) -> None:
        item: JSON = {
            "id": new_id("item"),
            "type": "function_call",
            "object": "realtime.item",
            "status": "in_progress",
            "name": call.name,
            "call_id": call.call_id,
            "arguments": "",
        }
        self._open_item(output_index, item)
        ids = self._ids(output_index, item["id"])
        status = "completed"
        try:
            for piece in _split_fixed(call.arguments, 8):
                self._step()
                with self._session._lock:
                    item["arguments"] += piece
                    self._send(
                        "response.function_call_arguments.delta",
                        call_id=call.call_id,
                        delta=piece,
                        **ids,
                    )
            self._step()
            self._send(
                "response.function_call_arguments.done",
                call_id=call.call_id,
                name=call.name,
                arguments=call.arguments,
                **ids,
            )
        except _Cancelled:
            status = "incomplete"
        self._out_text_tokens += _text_tokens(item["arguments"])
        self._close_item(output_index, item, status)
        if status != "completed":
            raise _Cancelled
