"""Tools from plain Python functions: the JSON schema from the signature, hints and docstring.

:func:`tool_from_function` turns ``def get_weather(city: str, unit: Literal["c", "f"] = "c")``
into a :class:`~realtime_sync.models.ToolDefinition`: parameters from the
signature, their types from the hints (``str``, ``int``, ``float``, ``bool``,
``Literal``, ``Enum``, ``Optional``, ``list``, ``dict``, attrs classes,
``TypedDict``), descriptions from the docstring (its first paragraph for the
tool, ``name: text`` lines under ``Args:``/``Parameters:`` for parameters).
A parameter without a default is required. A hint the schema cannot express
raises :class:`~realtime_sync.errors.ToolSchemaError` at registration, naming
the parameter.

:func:`call_with_arguments` calls such a function with the model's JSON
arguments, turning attrs and Enum parameters back into their Python types.
"""

from __future__ import annotations

import enum
import inspect
import re
import sys
import typing
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import attrs

from .errors import RealtimeError
from .models import ToolDefinition

__all__ = ["ToolSchemaError", "call_with_arguments", "json_schema", "tool_from_function"]

_NONE = type(None)
_PRIMITIVES: Dict[Any, Dict[str, Any]] = {
    str: {"type": "string"},
    int: {"type": "integer"},
    float: {"type": "number"},
    bool: {"type": "boolean"},
}


class ToolSchemaError(RealtimeError, TypeError):
    """A tool function's signature cannot be turned into a JSON schema (says which parameter)."""


def _is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, dict) and hasattr(tp, "__total__")


def json_schema(tp: Any, where: str = "the value") -> Dict[str, Any]:
    """The JSON schema of a type hint; raises :class:`ToolSchemaError` naming ``where``."""
    if tp is Any or tp is inspect.Parameter.empty:
        return {}
    if tp in _PRIMITIVES:
        return dict(_PRIMITIVES[tp])
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        values = list(args)
        kinds = {type(v) for v in values}
        schema: Dict[str, Any] = {"enum": values}
        if len(kinds) == 1 and next(iter(kinds)) in _PRIMITIVES:
            schema = {**_PRIMITIVES[next(iter(kinds))], "enum": values}
        return schema
    if origin is Union or (sys.version_info >= (3, 10) and _is_union_type(tp)):
        options = [a for a in args if a is not _NONE]
        if len(options) == 1:
            inner = json_schema(options[0], where)
            return {"anyOf": [inner, {"type": "null"}]} if _NONE in args else inner
        return {"anyOf": [json_schema(a, where) for a in args]}
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        values = [member.value for member in tp]
        return {**json_schema(type(values[0]), where), "enum": values} if values else {}
    if tp in (list, List) or origin in (list, List):
        return {"type": "array", "items": json_schema(args[0], f"{where}[]") if args else {}}
    if tp in (tuple,) or origin is tuple:
        return {"type": "array"}
    if tp in (dict, Dict) or origin in (dict, Dict):
        if args and args[0] is not str:
            raise ToolSchemaError(f"{where}: JSON object keys are strings, not {args[0]!r}")
        extra = json_schema(args[1], f"{where}{{}}") if args else {}
        return {"type": "object", **({"additionalProperties": extra} if extra else {})}
    if attrs.has(tp):
        return _object_schema(
            [(f.name, f.type, f.default is attrs.NOTHING) for f in attrs.fields(tp)],
            where,
            hints=typing.get_type_hints(tp),
        )
    if _is_typeddict(tp):
        hints = typing.get_type_hints(tp)
        required = getattr(tp, "__required_keys__", set(hints) if tp.__total__ else set())
        return _object_schema(
            [(name, hint, name in required) for name, hint in hints.items()], where, hints=hints
        )
    raise ToolSchemaError(
        f"{where}: the type {tp!r} has no JSON schema; use str, int, float, bool, Literal, Enum, "
        "Optional, list, dict, an attrs class or a TypedDict (or pass a ToolDefinition)"
    )


def _is_union_type(tp: Any) -> bool:
    import types  # noqa: PLC0415 - X | Y unions exist from 3.10 on

    return isinstance(tp, types.UnionType)


def _object_schema(
    fields: List[Tuple[str, Any, bool]], where: str, *, hints: Dict[str, Any]
) -> Dict[str, Any]:
    properties = {
        name: json_schema(hints.get(name, hint), f"{where}.{name}") for name, hint, _ in fields
    }
    required = [name for name, _, needed in fields if needed]
    schema: Dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


_ARG_SECTION = re.compile(r"^\s*(Args|Arguments|Parameters|Params)\s*:?\s*$", re.IGNORECASE)
_ARG_LINE = re.compile(r"^\s*(\*{0,2}\w+)\s*(?:\([^)]*\))?\s*:\s*(.*)$")
_SECTION = re.compile(r"^\s*[A-Z][A-Za-z ]*:\s*$")


def _parse_docstring(doc: str) -> Tuple[str, Dict[str, str]]:
    """The summary (first paragraph) and ``{parameter: description}`` of a docstring."""
    lines = inspect.cleandoc(doc).splitlines()
    summary: List[str] = []
    for line in lines:
        if not line.strip() or _ARG_SECTION.match(line):
            break
        summary.append(line.strip())
    params: Dict[str, str] = {}
    in_args = False
    current: Optional[str] = None
    for line in lines:
        if _ARG_SECTION.match(line):
            in_args = True
            continue
        if in_args and _SECTION.match(line):
            in_args = False
        if not in_args or not line.strip():
            continue
        match = _ARG_LINE.match(line)
        indent = len(line) - len(line.lstrip())
        if match and (current is None or indent <= 4):
            current = match.group(1).lstrip("*")
            params[current] = match.group(2).strip()
        elif current is not None:
            params[current] = f"{params[current]} {line.strip()}".strip()
    return " ".join(summary), params


def tool_from_function(
    fn: Callable[..., Any], *, name: Optional[str] = None, description: Optional[str] = None
) -> ToolDefinition:
    """A :class:`ToolDefinition` for ``fn`` (see the module documentation)."""
    if not callable(fn):
        raise TypeError(f"{fn!r} is not callable")
    tool_name = name or getattr(fn, "__name__", "")
    if not tool_name or not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", tool_name):
        raise ToolSchemaError(
            f"{tool_name!r} is not a valid tool name (letters, digits, _ and -, at most 64): "
            "pass name=..."
        )
    summary, docs = _parse_docstring(fn.__doc__ or "")
    try:
        hints = typing.get_type_hints(fn)
    except Exception as exc:  # a forward reference that cannot be resolved
        raise ToolSchemaError(f"tool {tool_name}: its type hints cannot be read: {exc}") from None
    properties: Dict[str, Any] = {}
    required: List[str] = []
    for param in inspect.signature(fn).parameters.values():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            raise ToolSchemaError(
                f"tool {tool_name}: parameter *{param.name} cannot be described to the model; "
                "name every parameter"
            )
        schema = json_schema(
            hints.get(param.name, Any), f"tool {tool_name}, parameter {param.name}"
        )
        if docs.get(param.name):
            schema["description"] = docs[param.name]
        properties[param.name] = schema
        if param.default is inspect.Parameter.empty:
            required.append(param.name)
    parameters: Dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        parameters["required"] = required
    return ToolDefinition(name=tool_name, description=description or summary, parameters=parameters)


def _convert(value: Any, tp: Any) -> Any:
    """The model's JSON ``value`` as the Python type ``tp`` (attrs classes, enums, lists)."""
    if value is None:
        return None
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Union or (sys.version_info >= (3, 10) and _is_union_type(tp)):
        options = [a for a in args if a is not _NONE]
        return _convert(value, options[0]) if len(options) == 1 else value
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return tp(value)
    if attrs.has(tp) and isinstance(value, dict):
        hints = typing.get_type_hints(tp)
        return tp(**{k: _convert(v, hints.get(k, Any)) for k, v in value.items()})
    if origin in (list, List) and args and isinstance(value, list):
        return [_convert(v, args[0]) for v in value]
    return value


def call_with_arguments(fn: Callable[..., Any], arguments: Dict[str, Any]) -> Any:
    """Call ``fn(**arguments)`` with attrs and Enum parameters converted back to Python types."""
    hints = typing.get_type_hints(fn)
    return fn(**{k: _convert(v, hints.get(k, Any)) for k, v in arguments.items()})
