"""Parameter checks of client events, and the session configuration they update.

Every check raises :class:`ProtocolError` with the message, ``code`` and ``param``
the real GA server uses for that mistake, so the session can answer it with an
``error`` event. :func:`apply_session_update` validates a ``session.update`` and
returns the merged session; :func:`validate_response_options` does the same for
the options of a ``response.create``.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import time
from typing import Any, List, Optional, Sequence, Tuple, Union

from ._audio import FORMAT_TYPES
from ._ids import JSON, new_id

__all__ = [
    "DEFAULT_INSTRUCTIONS",
    "RESPONSE_KEYS",
    "VOICES",
    "ProtocolError",
    "apply_session_update",
    "apply_transcription_update",
    "audio_output_update",
    "check_bool",
    "check_enum",
    "check_int",
    "check_keys",
    "check_number",
    "check_object",
    "check_opt_str",
    "check_str",
    "check_str_list",
    "common_option",
    "decode_base64",
    "default_session",
    "default_transcription_session",
    "kind_of",
    "missing",
    "type_error",
    "validate_response_options",
    "value_error",
]

DEFAULT_INSTRUCTIONS = (
    "You are a helpful, friendly voice assistant. Answer briefly. "
    "(Default instructions of the realtime_sync simulator.)"
)

VOICES = ("alloy", "ash", "ballad", "coral", "echo", "sage", "shimmer", "verse", "marin", "cedar")


# --- errors ----------------------------------------------------------------------------------


class ProtocolError(Exception):
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


def kind_of(value: Any) -> str:
    """How the real server names the JSON type of ``value`` in its messages."""
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


def type_error(param: str, expected: str, value: Any) -> ProtocolError:
    """The ``invalid_type`` error for ``param``."""
    return ProtocolError(
        f"Invalid type for '{param}': expected {expected}, but got {kind_of(value)} instead.",
        code="invalid_type",
        param=param,
    )


def _supported(values: Sequence[str]) -> str:
    quoted = [f"'{v}'" for v in values]
    if len(quoted) <= 2:
        return " and ".join(quoted)
    return ", ".join(quoted[:-1]) + ", and " + quoted[-1]


def value_error(param: str, value: Any, supported: Sequence[str]) -> ProtocolError:
    """The ``invalid_value`` error listing the ``supported`` values."""
    shown = value if isinstance(value, str) else json.dumps(value)
    return ProtocolError(
        f"Invalid value: '{shown}'. Supported values are: {_supported(supported)}.",
        code="invalid_value",
        param=param,
    )


def missing(param: str) -> ProtocolError:
    """The ``missing_required_parameter`` error for ``param``."""
    return ProtocolError(
        f"Missing required parameter: '{param}'.", code="missing_required_parameter", param=param
    )


def check_keys(obj: JSON, allowed: Sequence[str], prefix: str) -> None:
    """Reject the first key of ``obj`` not in ``allowed`` (``unknown_parameter``)."""
    for key in obj:
        if key not in allowed:
            param = f"{prefix}.{key}" if prefix else key
            raise ProtocolError(
                f"Unknown parameter: '{param}'.", code="unknown_parameter", param=param
            )


def check_object(value: Any, param: str) -> JSON:
    """``value`` if it is a JSON object."""
    if not isinstance(value, dict):
        raise type_error(param, "an object", value)
    return value


def check_str(value: Any, param: str) -> str:
    """``value`` if it is a string."""
    if not isinstance(value, str):
        raise type_error(param, "a string", value)
    return value


def check_opt_str(value: Any, param: str) -> Optional[str]:
    """``value`` if it is a string or null."""
    return None if value is None else check_str(value, param)


def check_bool(value: Any, param: str) -> bool:
    """``value`` if it is a boolean."""
    if not isinstance(value, bool):
        raise type_error(param, "a boolean", value)
    return value


def check_int(value: Any, param: str, *, minimum: Optional[int] = None) -> int:
    """``value`` if it is an integer, at least ``minimum`` when given."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise type_error(param, "an integer", value)
    if minimum is not None and value < minimum:
        raise ProtocolError(
            f"Invalid '{param}': integer below minimum value. Expected a value >= {minimum}, "
            f"but got {value} instead.",
            code="integer_below_min_value",
            param=param,
        )
    return value


def check_number(value: Any, param: str, low: float, high: float) -> float:
    """``value`` as a float if it is a number between ``low`` and ``high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise type_error(param, "a number", value)
    if not low <= value <= high:
        raise ProtocolError(
            f"Invalid '{param}': expected a value between {low} and {high}, "
            f"but got {value} instead.",
            code="invalid_value",
            param=param,
        )
    return float(value)


def check_enum(value: Any, param: str, allowed: Sequence[str]) -> str:
    """``value`` if it is one of the ``allowed`` strings."""
    if not isinstance(value, str):
        raise type_error(param, "a string", value)
    if value not in allowed:
        raise value_error(param, value, allowed)
    return value


def check_str_list(value: Any, param: str) -> List[str]:
    """``value`` if it is an array of strings."""
    if not isinstance(value, list):
        raise type_error(param, "an array", value)
    return [check_str(v, f"{param}[{i}]") for i, v in enumerate(value)]


def decode_base64(value: Any, param: str) -> bytes:
    """The bytes of a base64 string (``invalid_value`` when it is not base64)."""
    text = check_str(value, param)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError(
            f"Invalid '{param}': expected base64-encoded audio data.",
            code="invalid_value",
            param=param,
        ) from None


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
RESPONSE_KEYS = (
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
# The fields of a transcription session.update (RealtimeTranscriptionSessionCreateRequest).
_TRANSCRIPTION_SESSION_KEYS = ("type", "audio", "include")
_INCLUDE_VALUES = ("item.input_audio_transcription.logprobs",)
# Turn detection settings that only matter to responses: a transcription session reports them
# only when the client set them.
_RESPONSE_ONLY_VAD_KEYS = ("create_response", "interrupt_response", "idle_timeout_ms")
# Streaming transcription models that segment audio themselves and take no turn detection.
_NO_VAD_MODELS = ("gpt-realtime-whisper",)
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


def default_transcription_session() -> JSON:
    """The session a transcription connection (``?intent=transcription``) starts with.

    Shaped like ``RealtimeTranscriptionSessionCreateResponse``: input audio only, no
    model, instructions, tools nor output settings.
    """
    return {
        "type": "transcription",
        "object": "realtime.transcription_session",
        "id": new_id("sess"),
        "expires_at": int(time.time()) + 3600,
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": {
                    "type": "server_vad",
                    "threshold": 0.5,
                    "prefix_padding_ms": 300,
                    "silence_duration_ms": 500,
                },
            }
        },
        "include": None,
    }


def _format(value: Any, param: str) -> JSON:
    fmt = check_object(value, param)
    if "type" not in fmt:
        raise missing(f"{param}.type")
    kind = check_enum(fmt["type"], f"{param}.type", FORMAT_TYPES)
    if kind == "audio/pcm":
        check_keys(fmt, ("type", "rate"), param)
        if "rate" in fmt and fmt["rate"] != 24000:
            raise value_error(f"{param}.rate", fmt["rate"], ["24000"])
        return {"type": kind, "rate": 24000}
    check_keys(fmt, ("type",), param)
    return {"type": kind}


def _modalities(value: Any, param: str) -> List[str]:
    items = check_str_list(value, param)
    for i, item in enumerate(items):
        check_enum(item, f"{param}[{i}]", ("text", "audio"))
    if len(set(items)) != 1:
        raise ProtocolError(
            f"Invalid modalities: {json.dumps(items)}. Supported combinations are: "
            "['text'] and ['audio'].",
            code="invalid_value",
            param=param,
        )
    return [items[0]]


def _voice(value: Any, param: str) -> Union[str, JSON]:
    if isinstance(value, str):
        if value not in VOICES:
            raise value_error(param, value, VOICES)
        return value
    if isinstance(value, dict) and set(value) == {"id"} and isinstance(value["id"], str):
        return {"id": value["id"]}
    raise ProtocolError(
        f"Invalid value for '{param}': expected one of {_supported(VOICES)} "
        'or an object like {"id": "voice_1234"}.',
        code="invalid_value",
        param=param,
    )


def _turn_detection(current: Any, value: Any, param: str) -> Optional[JSON]:
    if value is None:
        return None
    td = check_object(value, param)
    if "type" not in td:
        raise missing(f"{param}.type")
    kind = check_enum(td["type"], f"{param}.type", ("server_vad", "semantic_vad"))
    if kind == "server_vad":
        check_keys(td, tuple(_server_vad_defaults()), param)
        base = _server_vad_defaults()
    else:
        check_keys(td, tuple(_semantic_vad_defaults()), param)
        base = _semantic_vad_defaults()
    if isinstance(current, dict) and current.get("type") == kind:
        base = copy.deepcopy(current)
    for key, field in td.items():
        p = f"{param}.{key}"
        if key == "threshold":
            base[key] = check_number(field, p, 0.0, 1.0)
        elif key in ("prefix_padding_ms", "silence_duration_ms"):
            base[key] = check_int(field, p, minimum=0)
        elif key == "idle_timeout_ms":
            base[key] = None if field is None else check_int(field, p, minimum=0)
        elif key in ("create_response", "interrupt_response"):
            base[key] = check_bool(field, p)
        elif key == "eagerness":
            base[key] = check_enum(field, p, ("low", "medium", "high", "auto"))
    return base


def _transcription(value: Any, param: str) -> Optional[JSON]:
    if value is None:
        return None
    tr = check_object(value, param)
    check_keys(tr, _TRANSCRIPTION_KEYS, param)
    out: JSON = {}
    for key, field in tr.items():
        p = f"{param}.{key}"
        if key in ("keywords", "languages"):
            out[key] = check_str_list(field, p)
        elif key == "delay":
            out[key] = check_enum(field, p, ("minimal", "low", "medium", "high", "xhigh"))
        else:
            out[key] = check_opt_str(field, p)
    return out


def _noise_reduction(value: Any, param: str) -> Optional[JSON]:
    if value is None:
        return None
    nr = check_object(value, param)
    check_keys(nr, ("type", "strength"), param)
    out: JSON = {}
    if "type" in nr:
        out["type"] = check_enum(nr["type"], f"{param}.type", ("near_field", "far_field"))
    if "strength" in nr:
        out["strength"] = check_number(nr["strength"], f"{param}.strength", 0.0, 1.0)
    return out


def _audio_input(
    current: JSON, value: Any, param: str, *, transcription_session: bool = False
) -> JSON:
    upd = check_object(value, param)
    check_keys(upd, ("format", "transcription", "noise_reduction", "turn_detection"), param)
    out = copy.deepcopy(current)
    for key, field in upd.items():
        p = f"{param}.{key}"
        if key == "format":
            out[key] = _format(field, p)
        elif key == "transcription":
            out[key] = _transcription(field, p)
        elif key == "noise_reduction":
            out[key] = _noise_reduction(field, p)
        elif transcription_session:
            out[key] = _transcription_turn_detection(current.get("turn_detection"), field, p)
        else:
            out[key] = _turn_detection(current.get("turn_detection"), field, p)
    return out


def _transcription_turn_detection(current: Any, value: Any, param: str) -> Optional[JSON]:
    """Turn detection of a transcription session: validated like a realtime session's, but
    the response settings appear only when the client gave them."""
    merged = _turn_detection(current, value, param)
    if merged is None:
        return None
    given = set(value)
    if isinstance(current, dict) and current.get("type") == merged["type"]:
        given |= set(current)
    return {k: v for k, v in merged.items() if k not in _RESPONSE_ONLY_VAD_KEYS or k in given}


def _include(value: Any, param: str) -> Optional[List[str]]:
    if value is None:
        return None
    return [
        check_enum(v, f"{param}[{i}]", _INCLUDE_VALUES)
        for i, v in enumerate(check_str_list(value, param))
    ]


def audio_output_update(current: JSON, value: Any, param: str, *, allow_speed: bool = True) -> JSON:
    """``current`` audio output settings updated with ``value`` (a copy)."""
    upd = check_object(value, param)
    keys = ("format", "voice", "speed") if allow_speed else ("format", "voice")
    check_keys(upd, keys, param)
    out = copy.deepcopy(current)
    for key, field in upd.items():
        p = f"{param}.{key}"
        if key == "format":
            out[key] = _format(field, p)
        elif key == "voice":
            out[key] = _voice(field, p)
        else:
            out[key] = check_number(field, p, 0.25, 1.5)
    return out


def _tools(value: Any, param: str) -> List[JSON]:
    if not isinstance(value, list):
        raise type_error(param, "an array", value)
    out: List[JSON] = []
    for i, raw in enumerate(value):
        p = f"{param}[{i}]"
        tool = check_object(raw, p)
        kind = check_enum(tool.get("type", "function"), f"{p}.type", ("function", "mcp"))
        if kind == "function":
            check_keys(tool, ("type", "name", "description", "parameters"), p)
            if "name" not in tool:
                raise missing(f"{p}.name")
            check_str(tool["name"], f"{p}.name")
            if "description" in tool:
                check_str(tool["description"], f"{p}.description")
            if "parameters" in tool:
                check_object(tool["parameters"], f"{p}.parameters")
        else:
            check_keys(tool, _MCP_TOOL_KEYS, p)
            if "server_label" not in tool:
                raise missing(f"{p}.server_label")
            check_str(tool["server_label"], f"{p}.server_label")
        out.append({"type": kind, **{k: v for k, v in tool.items() if k != "type"}})
    return out


def _tool_choice(value: Any, param: str) -> Union[str, JSON]:
    if isinstance(value, str):
        return check_enum(value, param, ("auto", "none", "required"))
    choice = check_object(value, param)
    kind = check_enum(choice.get("type"), f"{param}.type", ("function", "mcp"))
    if kind == "function":
        check_keys(choice, ("type", "name"), param)
        if "name" not in choice:
            raise missing(f"{param}.name")
        check_str(choice["name"], f"{param}.name")
    else:
        check_keys(choice, ("type", "server_label", "name"), param)
        if "server_label" not in choice:
            raise missing(f"{param}.server_label")
        check_str(choice["server_label"], f"{param}.server_label")
    return dict(choice)


def _max_output_tokens(value: Any, param: str) -> Union[int, str]:
    if value == "inf":
        return "inf"
    if isinstance(value, bool) or not isinstance(value, int):
        raise type_error(param, "an integer or 'inf'", value)
    if not 1 <= value <= 4096:
        raise ProtocolError(
            f"Invalid '{param}': expected an integer between 1 and 4096 or 'inf', "
            f"but got {value} instead.",
            code="invalid_value",
            param=param,
        )
    return value


def common_option(key: str, value: Any, param: str) -> Any:
    """Validate a field shared by session.update and response.create."""
    if key == "output_modalities":
        return _modalities(value, param)
    if key == "instructions":
        return check_str(value, param)
    if key == "tools":
        return _tools(value, param)
    if key == "tool_choice":
        return _tool_choice(value, param)
    if key == "max_output_tokens":
        return _max_output_tokens(value, param)
    if key == "parallel_tool_calls":
        return check_bool(value, param)
    if key == "reasoning":
        if value is None:
            return None
        reasoning = check_object(value, param)
        check_keys(reasoning, ("effort",), param)
        if "effort" in reasoning:
            check_enum(reasoning["effort"], f"{param}.effort", _EFFORTS)
        return dict(reasoning)
    if key == "prompt":
        if value is None:
            return None
        prompt = check_object(value, param)
        check_keys(prompt, ("id", "version", "variables"), param)
        if "id" not in prompt:
            raise missing(f"{param}.id")
        check_str(prompt["id"], f"{param}.id")
        return copy.deepcopy(prompt)
    raise AssertionError(key)  # pragma: no cover - callers only pass known keys


def apply_session_update(current: JSON, update: Any) -> JSON:
    """Validate a ``session.update`` payload and return the merged session (``current`` untouched).

    Raises ``ProtocolError`` on the first problem, like the real server.
    """
    upd = check_object(update, "session")
    if "type" not in upd:
        raise missing("session.type")
    kind = upd["type"]
    check_enum(kind, "session.type", ("realtime", "transcription"))
    if kind == "transcription":
        # What the live server answers a connection opened with ?model= (a conversation).
        raise ProtocolError(
            "Passing a transcription session update event to a realtime session is not allowed.",
            code="invalid_parameter",
            param="session.type",
        )
    check_keys(upd, _SESSION_KEYS, "session")
    new = copy.deepcopy(current)
    for key, value in upd.items():
        p = f"session.{key}"
        if key == "type":
            continue
        if key == "model":
            new[key] = check_str(value, p)
        elif key == "audio":
            audio = check_object(value, p)
            check_keys(audio, ("input", "output"), p)
            if "input" in audio:
                new["audio"]["input"] = _audio_input(
                    new["audio"]["input"], audio["input"], f"{p}.input"
                )
            if "output" in audio:
                new["audio"]["output"] = audio_output_update(
                    new["audio"]["output"], audio["output"], f"{p}.output"
                )
        elif key == "include":
            new[key] = _include(value, p)
        elif key == "tracing":
            if value is None or value == "auto":
                new[key] = value
            else:
                tracing = check_object(value, p)
                check_keys(tracing, ("workflow_name", "group_id", "metadata"), p)
                new[key] = copy.deepcopy(tracing)
        elif key == "truncation":
            if isinstance(value, str):
                new[key] = check_enum(value, p, ("auto", "disabled"))
            else:
                trunc = check_object(value, p)
                check_keys(trunc, ("type", "retention_ratio", "token_limits"), p)
                check_enum(trunc.get("type"), f"{p}.type", ("retention_ratio",))
                if "retention_ratio" not in trunc:
                    raise missing(f"{p}.retention_ratio")
                check_number(trunc["retention_ratio"], f"{p}.retention_ratio", 0.0, 1.0)
                new[key] = copy.deepcopy(trunc)
        else:
            new[key] = common_option(key, value, p)
    return new


def apply_transcription_update(current: JSON, update: Any) -> JSON:
    """Validate a ``session.update`` of a transcription session; the merged session.

    Only ``type``, ``audio.input`` and ``include`` exist in a transcription session:
    a realtime-only field (``instructions``, ``output_modalities``, ``tools``,
    ``audio.output``, ``model``...) is refused as an unknown parameter, like the live
    server does, and so is a realtime ``session.update``.
    """
    upd = check_object(update, "session")
    if "type" not in upd:
        raise missing("session.type")
    kind = check_enum(upd["type"], "session.type", ("realtime", "transcription"))
    if kind == "realtime":
        raise ProtocolError(
            "Passing a realtime session update event to a transcription session is not allowed.",
            code="invalid_parameter",
            param="session.type",
        )
    check_keys(upd, _TRANSCRIPTION_SESSION_KEYS, "session")
    new = copy.deepcopy(current)
    for key, value in upd.items():
        p = f"session.{key}"
        if key == "audio":
            audio = check_object(value, p)
            check_keys(audio, ("input",), p)
            if "input" in audio:
                new["audio"]["input"] = _audio_input(
                    new["audio"]["input"], audio["input"], f"{p}.input", transcription_session=True
                )
        elif key == "include":
            new[key] = _include(value, p)
    audio_input = new["audio"]["input"]
    model = (audio_input.get("transcription") or {}).get("model")
    if model in _NO_VAD_MODELS and audio_input.get("turn_detection") is not None:
        raise ProtocolError(
            f"Turn detection is not supported with '{model}': set "
            "'session.audio.input.turn_detection' to null.",
            code="invalid_value",
            param="session.audio.input.turn_detection",
        )
    return new


def validate_response_options(params: Any, audio_output: JSON) -> Tuple[JSON, Optional[List[Any]]]:
    """Check the ``response`` object of a ``response.create``.

    ``audio_output`` is the session's current ``audio.output``. Returns the
    validated options (without ``input``) and the raw ``input`` array, which the
    caller resolves against its conversation (None when absent).
    """
    if params is None:
        params = {}
    params = check_object(params, "response")
    check_keys(params, RESPONSE_KEYS, "response")
    options: JSON = {}
    raw_input: Optional[List[Any]] = None
    for key, value in params.items():
        p = f"response.{key}"
        if key == "conversation":
            options[key] = check_enum(value, p, ("auto", "none"))
        elif key == "metadata":
            if value is not None:
                meta = check_object(value, p)
                if len(meta) > 16:
                    raise ProtocolError(
                        f"Invalid '{p}': at most 16 keys are allowed.",
                        code="invalid_value",
                        param=p,
                    )
                for mkey, mval in meta.items():
                    check_str(mval, f"{p}.{mkey}")
            options[key] = copy.deepcopy(value)
        elif key == "audio":
            audio = check_object(value, p)
            check_keys(audio, ("output",), p)
            base = {"format": audio_output["format"], "voice": audio_output["voice"]}
            options[key] = audio_output_update(
                base, audio.get("output", {}), f"{p}.output", allow_speed=False
            )
        elif key == "input":
            if not isinstance(value, list):
                raise type_error(p, "an array", value)
            raw_input = list(value)
        else:
            options[key] = common_option(key, value, p)
    return options, raw_input
