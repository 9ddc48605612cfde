"""The wire format: the one cattrs converter, and ``encode`` / ``decode``.

* :func:`encode` turns a client event into JSON text: the ``type`` first, unset
  optional fields left out (``None`` is never sent for "not given"; see
  :mod:`realtime_sync.models` for the few fields where ``null`` means "off"),
  raw audio ``bytes`` base64-encoded.
* :func:`decode` turns JSON text into a typed server event. An unknown ``type``
  gives an :class:`~realtime_sync.events.UnknownServerEvent` keeping the raw
  dict; malformed JSON or a known type with missing or mistyped fields raises
  :class:`~realtime_sync.errors.ProtocolError` naming the type and field.

Decoding is on the hot path (every audio delta), so the converter is built
without detailed validation; only when an event fails is it decoded again by a
detailed twin of the same configuration, to name the bad field.
"""

from __future__ import annotations

import enum
import json
import typing
from typing import Any, Callable, Dict, Type, TypeVar, Union

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import models
from .errors import ProtocolError
from .events import (
    SERVER_EVENT_CLASSES,
    AnyServerEvent,
    ClientEvent,
    UnknownServerEvent,
)
from .utils import base64_encode

try:  # the optional "fast" extra
    import orjson  # type: ignore[import-not-found, unused-ignore]

    def _loads(data: Union[str, bytes]) -> Any:
        return orjson.loads(data)

    def _dumps(obj: Any) -> str:
        text: str = orjson.dumps(obj).decode("utf-8")
        return text

    JSON_BACKEND = "orjson"
except ImportError:  # pragma: no cover - exercised by the stdlib-only CI leg
    _json_decoder = json.JSONDecoder()
    _json_encoder = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)

    _scan_once: Callable[[str, int], Any] = _json_decoder.scan_once  # type: ignore[attr-defined]

    def _loads(data: Union[str, bytes]) -> Any:
        if isinstance(data, (bytes, bytearray, memoryview)):
            data = bytes(data).decode("utf-8")
        # The scanner directly saves decode()'s two whitespace regex passes (~0.5 us a
        # frame); anything but one bare JSON value takes decode(), errors included.
        try:
            obj, end = _scan_once(data, 0)
        except StopIteration:
            return _json_decoder.decode(data)
        return obj if end == len(data) else _json_decoder.decode(data)

    def _dumps(obj: Any) -> str:
        return _json_encoder.encode(obj)

    JSON_BACKEND = "json"

__all__ = [
    "JSON_BACKEND",
    "converter",
    "decode",
    "dumps",
    "encode",
    "encode_dict",
    "from_wire",
    "loads",
    "to_wire",
]

T = TypeVar("T")


# --------------------------------------------------------------------------- strict primitives


def _strict_str(value: Any, _: Any) -> str:
    if isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _strict_int(value: Any, _: Any) -> int:
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    raise TypeError(f"expected an integer, got {type(value).__name__}")


def _strict_float(value: Any, _: Any) -> float:
    if type(value) in (int, float):
        return float(value)
    raise TypeError(f"expected a number, got {type(value).__name__}")


def _strict_bool(value: Any, _: Any) -> bool:
    if type(value) is bool:
        return value
    raise TypeError(f"expected true or false, got {type(value).__name__}")


def _json_object(value: Any, _: Any) -> Dict[str, Any]:
    if isinstance(value, dict):
        return value
    raise TypeError(f"expected a JSON object, got {type(value).__name__}")


def _passthrough(value: Any, _: Any) -> Any:
    return value


# --------------------------------------------------------------------------- tagged unions


def _structure_item(conv: cattrs.Converter) -> Callable[[Any, Any], models.Item]:
    def structure(value: Any, _: Any) -> models.Item:
        data = _json_object(value, None)
        kind = data.get("type")
        if kind == "message":
            return conv.structure(data, models.ItemMessage)
        if kind == "function_call":
            return conv.structure(data, models.ItemFunctionCall)
        if kind == "function_call_output":
            return conv.structure(data, models.ItemFunctionCallOutput)
        if isinstance(kind, str):
            return models.GenericItem(type=kind, data=data)
        raise TypeError("an item needs a string 'type'")

    return structure


def _structure_tool(conv: cattrs.Converter) -> Callable[[Any, Any], models.Tool]:
    def structure(value: Any, _: Any) -> models.Tool:
        data = _json_object(value, None)
        kind = data.get("type")
        if kind == "function":
            return conv.structure(data, models.ToolDefinition)
        return models.GenericTool(type=str(kind), data=data)

    return structure


def _structure_tool_choice(value: Any, _: Any) -> models.ToolChoiceSetting:
    if isinstance(value, str):
        return models.ToolChoice(value)
    data = _json_object(value, None)
    if data.get("type") == "function" and isinstance(data.get("name"), str):
        return models.ToolChoiceFunction(name=data["name"])
    return data


def _structure_voice(value: Any, _: Any) -> models.VoiceSetting:
    if isinstance(value, str):
        return models.Voice(value)
    data = _json_object(value, None)
    return models.CustomVoice(id=_strict_str(data.get("id"), None))


def _structure_max_tokens(value: Any, _: Any) -> models.MaxOutputTokens:
    if value == "inf":
        return "inf"
    return _strict_int(value, None)


def _structure_str_or_object(value: Any, _: Any) -> Union[str, Dict[str, Any]]:
    if isinstance(value, str):
        return value
    return _json_object(value, None)


def _structure_open_enum(value: Any, cls: Type[enum.Enum]) -> enum.Enum:
    if isinstance(value, str):
        return cls(value)
    raise TypeError(f"expected a string for {cls.__name__}, got {type(value).__name__}")


def _is_nullable(tp: Any) -> bool:
    """``Optional[...]`` and ``Union[..., None, NotGiven]`` types."""
    args = typing.get_args(tp)
    return typing.get_origin(tp) is Union and (type(None) in args or models.NotGiven in args)


# --------------------------------------------------------------------------- unstructuring


def _always_sent(field: attrs.Attribute[Any]) -> bool:
    """Fields whose default is a real value (``type`` tags, lists) are always sent.

    ``None``, :data:`NOT_GIVEN` and ``""`` defaults mean "not given": omitted when unchanged.
    """
    return (
        field.default is not None and field.default is not models.NOT_GIVEN and field.default != ""
    )


def _unstructure_attrs_factory(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any], Any]]:
    def factory(cls: Any) -> Callable[[Any], Any]:
        overrides: Dict[str, Any] = {
            field.name: override(omit_if_default=False)
            for field in attrs.fields(cls)
            if _always_sent(field)
        }
        return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)

    return factory


def _make_converter(*, detailed: bool) -> cattrs.Converter:
    """Build the converter. ``detailed`` only adds error paths (for diagnostics)."""
    conv = cattrs.Converter(detailed_validation=detailed, forbid_extra_keys=False)

    conv.register_structure_hook(str, _strict_str)
    conv.register_structure_hook(int, _strict_int)
    conv.register_structure_hook(float, _strict_float)
    conv.register_structure_hook(bool, _strict_bool)
    conv.register_structure_hook_func(lambda t: t is Any, _passthrough)
    conv.register_structure_hook_func(lambda t: t == Dict[str, Any], _json_object)
    # Registered by class (not predicate) so it wins over the ``str`` hook for these str subclasses.
    conv.register_structure_hook(models._OpenStrEnum, _structure_open_enum)
    conv.register_structure_hook_factory(_is_nullable, lambda t: _nullable_hook(conv, t))
    conv.register_structure_hook(models.Item, _structure_item(conv))
    conv.register_structure_hook(models.Tool, _structure_tool(conv))
    conv.register_structure_hook(models.ToolChoiceSetting, _structure_tool_choice)
    conv.register_structure_hook(models.VoiceSetting, _structure_voice)
    conv.register_structure_hook(models.MaxOutputTokens, _structure_max_tokens)
    conv.register_structure_hook(Union[bytes, str], lambda v, _: _strict_str(v, None))
    conv.register_structure_hook(Union[str, Dict[str, Any]], _structure_str_or_object)
    conv.register_structure_hook_factory(
        attrs.has,
        lambda cls: make_dict_structure_fn(
            cls, conv, _cattrs_detailed_validation=detailed, _cattrs_forbid_extra_keys=False
        ),
    )

    conv.register_unstructure_hook(bytes, base64_encode)
    conv.register_unstructure_hook(models.GenericItem, lambda item: item.data)
    conv.register_unstructure_hook(models.GenericTool, lambda tool: tool.data)
    conv.register_unstructure_hook_factory(attrs.has, _unstructure_attrs_factory(conv))
    return conv


def _nullable_hook(conv: cattrs.Converter, tp: Any) -> Callable[[Any, Any], Any]:
    """Structure ``Optional[X]`` and ``Union[X, None, NotGiven]``: ``null`` is ``None``."""
    rest = tuple(a for a in typing.get_args(tp) if a not in (models.NotGiven, type(None)))
    inner: Any = rest[0] if len(rest) == 1 else Union[rest]
    inner_hook = conv.get_structure_hook(inner)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else inner_hook(value, inner)

    return structure


converter = _make_converter(detailed=False)
"""The SDK's one converter (hot path: no detailed validation)."""

_diagnostic_converter = _make_converter(detailed=True)

_server_structurers: Dict[str, Callable[[Any, Any], Any]] = {
    name: converter.get_structure_hook(cls) for name, cls in SERVER_EVENT_CLASSES.items()
}


# --------------------------------------------------------------------------- public API


def loads(data: Union[str, bytes]) -> Any:
    """Parse JSON text (orjson when installed, else the stdlib)."""
    return _loads(data)


def dumps(obj: Any) -> str:
    """Serialise to compact JSON text (orjson when installed, else the stdlib)."""
    return _dumps(obj)


def to_wire(obj: Any) -> Any:
    """Unstructure a model or event to JSON-ready data (no ``type`` added for events)."""
    return converter.unstructure(obj)


def from_wire(cls: Type[T], data: Any) -> T:
    """Structure JSON data into ``cls``; raises :class:`ProtocolError` when it does not fit."""
    try:
        return converter.structure(data, cls)
    except Exception as exc:
        raise _explain(exc, data, cls, getattr(cls, "__name__", str(cls))) from None


def encode_dict(event: ClientEvent) -> Dict[str, Any]:
    """A client event as the JSON object sent on the wire (``type`` first)."""
    body = converter.unstructure(event)
    return {"type": event.type.value, **body}


def encode(event: ClientEvent) -> str:
    """A client event as the JSON text sent on the wire."""
    return _dumps(encode_dict(event))


def decode(data: Union[str, bytes]) -> AnyServerEvent:
    """Decode one server frame into a typed event.

    Raises :class:`ProtocolError` for malformed JSON, a non-object, a missing
    ``type`` or a known event with missing or mistyped fields. Nothing else
    escapes.
    """
    try:
        obj = _loads(data)
    except Exception as exc:
        raise ProtocolError(f"malformed JSON from the server: {exc}") from None
    return decode_object(obj)


def decode_object(obj: Any) -> AnyServerEvent:
    """Decode an already-parsed server event (see :func:`decode`)."""
    if not isinstance(obj, dict):
        raise ProtocolError(
            f"a server event must be a JSON object, got {type(obj).__name__}", field="type"
        )
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("a server event has no string 'type'", field="type")
    structure = _server_structurers.get(kind)
    if structure is None:
        return UnknownServerEvent(type=kind, data=obj)
    cls = SERVER_EVENT_CLASSES[kind]
    try:
        return structure(obj, cls)  # type: ignore[no-any-return]
    except Exception as exc:
        raise _explain(exc, obj, cls, kind) from None


def _explain(exc: Exception, data: Any, cls: Any, kind: str) -> ProtocolError:
    """Re-run a failed structure with detailed validation to name the bad field."""
    try:
        _diagnostic_converter.structure(data, cls)
    except Exception as detailed:
        messages = cattrs.transform_error(detailed)
        first = messages[0] if messages else str(detailed)
        field = first.rsplit("@ $.", 1)[1] if "@ $." in first else None
        return ProtocolError(f"{kind}: {'; '.join(messages[:3])}", event_type=kind, field=field)
    return ProtocolError(f"{kind}: {type(exc).__name__}: {exc}", event_type=kind)
