"""The wire format: the one cattrs converter, and ``encode`` / ``decode``.

* :func:`encode` turns a client event into JSON text: the ``type`` first, unset
  optional fields left out (``None`` is never sent for "not given"; see
  :mod:`realtime_sync.models` for the few fields where ``null`` means "off"),
  raw audio ``bytes`` base64-encoded.
* :func:`decode` turns JSON text into a typed server event. An unknown ``type``
  gives an :class:`~realtime_sync.events.UnknownServerEvent` keeping the raw
  dict; malformed JSON, a mistyped field or a missing *essential* field raises
  :class:`~realtime_sync.errors.ProtocolError` naming the type and field. A
  missing field that is only *usually sent* decodes as absent, with one debug
  message per event type and set of missing fields (see :mod:`realtime_sync.events`).
* Fields a class does not model are kept in its ``extra``
  (:class:`~realtime_sync.models.ExtraFields`), for events and nested models
  alike, and :func:`to_wire` / :func:`encode_server_event` put them back.

The GPT-Live protocol (:mod:`realtime_sync.live`) goes through the same
converter: :func:`encode_live` / :func:`decode_live` /
:func:`encode_live_server_event` are its three calls, with the same rules
(unknown types as :class:`~realtime_sync.live.events.UnknownLiveEvent`, extras
kept, only :class:`~realtime_sync.errors.ProtocolError` raised). Its hooks
(:mod:`realtime_sync.live._hooks`) and decode table are installed in this
converter when :mod:`realtime_sync.live` is first imported
(by the app, or by the first Live call here), and its table is apart from the
Realtime one: an app that only speaks Realtime neither imports nor pays for it,
and decoding a Realtime event costs what it did.

Decoding is on the hot path (every audio delta), so the converter is built
without detailed validation, and server events first go through a generated
function that expects the usual frame (every essential and usually-sent field
there; see :mod:`realtime_sync._fastpath`), built for every type by the first
decode rather than at import. A frame it refuses is decoded again by the
lenient cattrs function, and only when that fails too by a detailed twin of the
same configuration, to name the bad field. The extras mapping is only built
when there are extras.
"""

from __future__ import annotations

import enum
import json
import logging
import threading
import typing
from typing import (
    TYPE_CHECKING,
    Any,
    Callable,
    Dict,
    FrozenSet,
    List,
    Optional,
    Set,
    Tuple,
    Type,
    TypeVar,
    Union,
)

import attrs
import cattrs
from cattrs.gen import make_dict_structure_fn, make_dict_unstructure_fn, override

from . import _fastpath, models
from .errors import ProtocolError
from .events import (
    SERVER_EVENT_CLASSES,
    AnyServerEvent,
    ClientEvent,
    InputAudioBufferAppendEvent,
    ServerEvent,
    UnknownServerEvent,
    usually_sent,
)
from .utils import base64_encode

if TYPE_CHECKING:
    from .live.events import AnyLiveServerEvent, LiveClientEvent

try:  # the optional "fast" extra
    import orjson  # type: ignore[import-not-found, unused-ignore]

    _loads: Callable[[Union[str, bytes]], Any] = orjson.loads

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
    "SEND_NULL_KEY",
    "converter",
    "decode",
    "decode_live",
    "decode_live_object",
    "dumps",
    "encode",
    "encode_dict",
    "encode_live",
    "encode_live_dict",
    "encode_live_server_event",
    "encode_server_event",
    "from_wire",
    "loads",
    "to_wire",
]

T = TypeVar("T")

logger = logging.getLogger("realtime_sync")

SEND_NULL_KEY = "realtime_sync.send_null"
"""Field metadata: send the field even when it is ``None``, as ``null``."""


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


# Optional primitives in one call, not two: deltas carry several (``response_id``...).


def _optional_str(value: Any, _: Any) -> Optional[str]:
    if value is None or isinstance(value, str):
        return value
    raise TypeError(f"expected a string, got {type(value).__name__}")


def _optional_int(value: Any, _: Any) -> Optional[int]:
    if value is None or type(value) is int:
        return value
    return _strict_int(value, None)


def _optional_float(value: Any, _: Any) -> Optional[float]:
    return None if value is None else _strict_float(value, None)


def _optional_bool(value: Any, _: Any) -> Optional[bool]:
    return None if value is None else _strict_bool(value, None)


_OPTIONAL_PRIMITIVES: Dict[Any, Callable[[Any, Any], Any]] = {
    str: _optional_str,
    int: _optional_int,
    float: _optional_float,
    bool: _optional_bool,
}


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


def _structure_tool_choice(
    conv: cattrs.Converter,
) -> Callable[[Any, Any], models.ToolChoiceSetting]:
    def structure(value: Any, _: Any) -> models.ToolChoiceSetting:
        if isinstance(value, str):
            return models.ToolChoice(value)
        data = _json_object(value, None)
        if data.get("type") == "function" and isinstance(data.get("name"), str):
            return conv.structure(data, models.ToolChoiceFunction)
        return data

    return structure


def _structure_voice(conv: cattrs.Converter) -> Callable[[Any, Any], models.VoiceSetting]:
    def structure(value: Any, _: Any) -> models.VoiceSetting:
        if isinstance(value, str):
            return models.Voice(value)
        return conv.structure(_json_object(value, None), models.CustomVoice)

    return structure


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


# --------------------------------------------------------------------------- unknown fields


# The base classes of server events (whose wire ``type`` is a class attribute, not a field).
_server_event_bases: List[type] = [ServerEvent]


def _keeps_extra(cls: Any) -> bool:
    return isinstance(cls, type) and issubclass(cls, models.WireModel)


def _wire_names(cls: Any) -> FrozenSet[str]:
    """The JSON keys a class models: its fields but ``extra``, and ``type`` for events."""
    names = {field.name for field in attrs.fields(cls) if field.name != "extra"}
    if issubclass(cls, tuple(_server_event_bases)):
        names.add("type")
    return frozenset(names)


def _set_extra(obj: Any, data: Dict[str, Any], known: FrozenSet[str]) -> None:
    extra = models.ExtraFields({k: v for k, v in data.items() if k not in known})
    # ``obj`` was just built and nobody else holds it yet: fill the frozen field the
    # way attrs' own __init__ does, instead of building the instance a second time.
    object.__setattr__(obj, "extra", extra)


def _structure_attrs(conv: cattrs.Converter, cls: Any, detailed: bool) -> Callable[[Any, Any], Any]:
    if not _keeps_extra(cls):
        return make_dict_structure_fn(
            cls, conv, _cattrs_detailed_validation=detailed, _cattrs_forbid_extra_keys=False
        )
    base = _structure_without_extra(conv, cls, detailed)
    known = _wire_names(cls)

    def structure(data: Any, tp: Any) -> Any:
        obj = base(data, tp)
        if not known.issuperset(data):
            _set_extra(obj, data, known)
        return obj

    return structure


def _structure_without_extra(
    conv: cattrs.Converter, cls: Any, detailed: bool
) -> Callable[[Any, Any], Any]:
    """The generated structure function, leaving ``extra`` to its default."""
    return make_dict_structure_fn(
        cls,
        conv,
        _cattrs_detailed_validation=detailed,
        _cattrs_forbid_extra_keys=False,
        extra=override(omit=True),
    )


# --------------------------------------------------------------------------- unstructuring


def _always_sent(field: attrs.Attribute[Any]) -> bool:
    """Fields whose default is a real value (``type`` tags, lists) are always sent.

    ``None``, :data:`NOT_GIVEN` and ``""`` defaults mean "not given": omitted when
    unchanged, but for the fields whose metadata has :data:`SEND_NULL_KEY`
    (``delegation_id`` of Live commands): their ``None`` is sent as ``null``.
    """
    return (
        field.default is not None and field.default is not models.NOT_GIVEN and field.default != ""
    ) or bool(field.metadata.get(SEND_NULL_KEY))


def _unstructure_attrs_factory(conv: cattrs.Converter) -> Callable[[Any], Callable[[Any], Any]]:
    def factory(cls: Any) -> Callable[[Any], Any]:
        overrides: Dict[str, Any] = {
            field.name: override(omit_if_default=False)
            for field in attrs.fields(cls)
            if _always_sent(field)
        }
        if not _keeps_extra(cls):
            return make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)
        overrides["extra"] = override(omit=True)
        base = make_dict_unstructure_fn(cls, conv, _cattrs_omit_if_default=True, **overrides)

        def unstructure(obj: Any) -> Any:
            out = base(obj)
            for key, value in obj.extra.items():
                out.setdefault(key, value)  # a modelled field wins over an extra of that name
            return out

        return unstructure

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
    conv.register_structure_hook(models.ToolChoiceSetting, _structure_tool_choice(conv))
    conv.register_structure_hook(models.VoiceSetting, _structure_voice(conv))
    conv.register_structure_hook(models.MaxOutputTokens, _structure_max_tokens)
    conv.register_structure_hook(Union[bytes, str], lambda v, _: _strict_str(v, None))
    conv.register_structure_hook(Union[str, Dict[str, Any]], _structure_str_or_object)
    conv.register_structure_hook_factory(
        attrs.has, lambda cls: _structure_attrs(conv, cls, detailed)
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
    if inner in _OPTIONAL_PRIMITIVES:
        return _OPTIONAL_PRIMITIVES[inner]
    inner_hook = conv.get_structure_hook(inner)

    def structure(value: Any, _: Any) -> Any:
        return None if value is None else inner_hook(value, inner)

    return structure


converter = _make_converter(detailed=False)
"""The SDK's one converter (hot path: no detailed validation)."""

_diagnostic_converter = _make_converter(detailed=True)


# The strict primitive hooks, and the inline test that a value passes one unchanged.
_INLINE_CHECKS: Dict[Any, str] = {
    _strict_str: "type({v}) is str",
    _optional_str: "type({v}) is str or {v} is None",
    _strict_int: "type({v}) is int",
    _optional_int: "type({v}) is int or {v} is None",
    _strict_float: "type({v}) is float",
    _optional_float: "type({v}) is float or {v} is None",
    _strict_bool: "type({v}) is bool",
    _optional_bool: "type({v}) is bool or {v} is None",
    _passthrough: "True",
}


def _fast_server_structure(conv: cattrs.Converter, cls: Any) -> Callable[[Dict[str, Any]], Any]:
    """The generated decoder of the usual frame of one server event class.

    It raises on anything unusual (a missing usually-sent field, an error) and
    :func:`decode_object` then retries the frame with the lenient cattrs
    function; see :mod:`realtime_sync._fastpath`.
    """
    attrs.resolve_types(cls)
    hooks = {
        field.name: conv.get_structure_hook(field.type)
        for field in attrs.fields(cls)
        if field.name != "extra"
    }
    return _fastpath.server_structurer(
        cls,
        hooks=hooks,
        primitives=_INLINE_CHECKS,
        usual=usually_sent(cls),
        known=_wire_names(cls),
        set_extra=_set_extra,
    )


@attrs.frozen
class _ServerSpec:
    """How to decode one wire type."""

    cls: type
    fast: Callable[[Dict[str, Any]], Any]
    lenient: Callable[[Any, Any], Any]
    known: FrozenSet[str]
    usual: FrozenSet[str]


def _server_spec(cls: Any) -> _ServerSpec:
    return _ServerSpec(
        cls=cls,
        fast=_fast_server_structure(converter, cls),
        lenient=_structure_without_extra(converter, cls, False),
        known=_wire_names(cls),
        usual=usually_sent(cls),
    )


# Filled by the first decode, for every type at once: building them at import took
# ~40 ms, and one at a time they would stall the first response's events instead.
_server_specs: Dict[str, _ServerSpec] = {}
_fast_structurers: Dict[str, Callable[[Dict[str, Any]], Any]] = {}  # spec.fast by type
# Guards building both decode tables and registering the Live hooks in the converters:
# the two may happen on different reader threads, and cattrs' hook caches are shared.
_build_lock = threading.Lock()


def _realtime_spec_missing(kind: str) -> Optional[_ServerSpec]:
    """The spec of a known Realtime type, building the table first if need be; else ``None``."""
    if kind not in SERVER_EVENT_CLASSES:
        return None
    with _build_lock:
        if not _server_specs:
            specs = {name: _server_spec(cls) for name, cls in SERVER_EVENT_CLASSES.items()}
            _server_specs.update(specs)
            # After the specs: decode finds a type's spec once it finds its function.
            _fast_structurers.update({name: spec.fast for name, spec in specs.items()})
    return _server_specs[kind]


# The Live table is apart: a Realtime frame is never looked up in it, nor the reverse.
# Filled by _install_live (empty until realtime_sync.live is imported).
_live_server_specs: Dict[str, _ServerSpec] = {}


def _install_live() -> None:
    """Register the Live types in the converters and build their decode table, once.

    Called by :mod:`realtime_sync.live` when it is imported, before any of its
    classes can reach the converter.
    """
    from .live._hooks import register_live_hooks  # noqa: PLC0415 - see the module doc
    from .live.events import LiveServerEvent  # noqa: PLC0415
    from .live.server_events import SERVER_EVENT_CLASSES as LIVE_EVENTS  # noqa: PLC0415

    with _build_lock:
        if _live_server_specs:
            return
        _server_event_bases.append(LiveServerEvent)
        register_live_hooks(converter)
        register_live_hooks(_diagnostic_converter)
        _live_server_specs.update({name: _server_spec(cls) for name, cls in LIVE_EVENTS.items()})


def _live_spec_missing(kind: str, obj: Dict[str, Any]) -> Any:
    """A Live type not in the table: install it if need be, else an unknown event."""
    if not _live_server_specs:
        import realtime_sync.live  # noqa: F401, PLC0415 - its import installs the table

        spec = _live_server_specs.get(kind)
        if spec is not None:
            return _decode_with(kind, obj, spec)
    from .live.events import UnknownLiveEvent  # noqa: PLC0415

    return UnknownLiveEvent(type=kind, data=obj)


_absences_logged: Set[Tuple[str, FrozenSet[str]]] = set()


# The stdlib encoder spends ~2 ns a character escaping the base64 of an append (14 us
# for 100 ms of audio); orjson is faster than the scan that replaces it.
_APPEND_BY_HAND = JSON_BACKEND == "json"
_APPEND_TYPE = InputAudioBufferAppendEvent.type.value


# --------------------------------------------------------------------------- public API


def loads(data: Union[str, bytes]) -> Any:
    """Parse JSON text (orjson when installed, else the stdlib)."""
    return _loads(data)


def dumps(obj: Any) -> str:
    """Serialise to compact JSON text (orjson when installed, else the stdlib)."""
    return _dumps(obj)


def to_wire(obj: Any) -> Any:
    """Unstructure a model or event to JSON-ready data, extras included.

    No ``type`` is added for events: see :func:`encode_dict` and
    :func:`encode_server_event`.
    """
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
    if type(event) is InputAudioBufferAppendEvent and type(event.audio) is str:
        # The microphone's hot path: what encode_dict gives, without the converter.
        if _APPEND_BY_HAND:
            text = _fastpath.encode_append(_APPEND_TYPE, event.audio, event.event_id, _dumps)
            if text is not None:
                return text
        body = {"type": _APPEND_TYPE, "audio": event.audio}
        if event.event_id is not None:
            body["event_id"] = event.event_id
        return _dumps(body)
    return _dumps(encode_dict(event))


def encode_server_event(event: AnyServerEvent) -> Dict[str, Any]:
    """A decoded server event as the JSON object it came from (``type`` first).

    Fields the event does not model (its ``extra``) are included, so what is
    logged or forwarded is what the server sent (less the fields it left out or
    sent as ``null`` where ``null`` only means "absent").
    """
    if isinstance(event, UnknownServerEvent):
        return dict(event.data)
    body = converter.unstructure(event)
    return {"type": event.type.value, **body}


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
    # decode_object inlined for the usual frame: a call less on every event.
    if type(obj) is dict:
        kind = obj.get("type")
        if type(kind) is str:
            fast = _fast_structurers.get(kind)
            if fast is not None:
                try:
                    return fast(obj)  # type: ignore[no-any-return]
                except Exception:
                    return _decode_leniently(kind, obj, _server_specs[kind])
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
    spec = _server_specs.get(kind) or _realtime_spec_missing(kind)
    if spec is None:
        return UnknownServerEvent(type=kind, data=obj)
    try:
        return spec.fast(obj)  # type: ignore[no-any-return]
    except Exception:
        return _decode_leniently(kind, obj, spec)


def encode_live_dict(event: LiveClientEvent) -> Dict[str, Any]:
    """A Live client event as the JSON object sent on the wire (``type`` first)."""
    body = converter.unstructure(event)  # the event's module installed the Live hooks
    return {"type": event.type.value, **body}


def encode_live(event: LiveClientEvent) -> str:
    """A Live client event as the JSON text sent on the wire."""
    return _dumps(encode_live_dict(event))


def encode_live_server_event(event: AnyLiveServerEvent) -> Dict[str, Any]:
    """A decoded Live server event as the JSON it came from, extras included.

    As :func:`encode_server_event` does for Realtime events.
    """
    from .live.events import UnknownLiveEvent  # noqa: PLC0415 - loaded with the event

    if isinstance(event, UnknownLiveEvent):
        return dict(event.data)
    body = converter.unstructure(event)
    return {"type": event.type.value, **body}


def decode_live(data: Union[str, bytes]) -> AnyLiveServerEvent:
    """Decode one Live server frame (any connection kind) into a typed event.

    An unknown ``type`` gives an :class:`~realtime_sync.live.events.UnknownLiveEvent`;
    otherwise as :func:`decode`: only :class:`ProtocolError` escapes.
    """
    try:
        obj = _loads(data)
    except Exception as exc:
        raise ProtocolError(f"malformed JSON from the server: {exc}") from None
    return decode_live_object(obj)


def decode_live_object(obj: Any) -> AnyLiveServerEvent:
    """Decode an already-parsed Live server event (see :func:`decode_live`)."""
    if not isinstance(obj, dict):
        raise ProtocolError(
            f"a server event must be a JSON object, got {type(obj).__name__}", field="type"
        )
    kind = obj.get("type")
    if not isinstance(kind, str):
        raise ProtocolError("a server event has no string 'type'", field="type")
    spec = _live_server_specs.get(kind)
    if spec is None:
        return _live_spec_missing(kind, obj)  # type: ignore[no-any-return]
    return _decode_with(kind, obj, spec)  # type: ignore[no-any-return]


def _decode_with(kind: str, obj: Dict[str, Any], spec: _ServerSpec) -> Any:
    """The fast path, then the lenient one (as :func:`decode_object` does inline)."""
    try:
        return spec.fast(obj)
    except Exception:
        return _decode_leniently(kind, obj, spec)


def _decode_leniently(kind: str, obj: Dict[str, Any], spec: _ServerSpec) -> ServerEvent:
    """Decode a frame the fast path refused: usually-sent fields missing, or an error."""
    try:
        event: ServerEvent = spec.lenient(obj, spec.cls)
    except Exception as exc:
        raise _explain(exc, obj, spec.cls, kind) from None
    if not spec.known.issuperset(obj):
        _set_extra(event, obj, spec.known)
    missing = spec.usual.difference(obj)
    if missing:
        _log_absent(kind, missing)
    return event


def _log_absent(kind: str, missing: FrozenSet[str]) -> None:
    """Say once per event type and set of fields that usually-sent fields were missing."""
    key = (kind, missing)
    # Bounded: a broken or hostile peer could send every subset of every event's fields.
    if key in _absences_logged or len(_absences_logged) >= 1000:
        return
    _absences_logged.add(key)
    logger.debug(
        "%s without %s: decoded as absent (further such events are not reported)",
        kind,
        ", ".join(sorted(missing)),
    )


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
