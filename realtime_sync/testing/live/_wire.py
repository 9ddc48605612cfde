"""Validation of Live events against ``openai.types.live`` (openai-python >= 3.57).

Client events are parsed with openai's client-event unions and then checked
strictly: openai's models accept unknown keys, the live server does not, so
:func:`unknown_param` walks the parsed model's declared fields and reports the
first key no model declares (``unknown_parameter``, like the Realtime
simulator). Server events the simulator emits can be checked with
:func:`validate_server_event` (the tests do it for every frame).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List, Literal, Mapping, Optional, Tuple, Union, get_args

from pydantic import BaseModel, TypeAdapter, ValidationError

from realtime_sync.testing._ids import JSON

__all__ = [
    "Endpoint",
    "WireError",
    "parse_client_event",
    "validate_server_event",
]

Endpoint = Literal["primary", "attach", "fork"]
"""Which kind of connection an event travels on."""


@dataclass
class WireError(Exception):
    """A client event the server refuses: the fields of the ``error`` object."""

    message: str
    code: str = "invalid_request_error"
    param: Optional[str] = None
    type: str = "invalid_request_error"

    def __str__(self) -> str:
        return self.message


_client_adapters: Dict[str, TypeAdapter[Any]] = {}
_server_adapters: Dict[str, TypeAdapter[Any]] = {}


def _client_adapter(endpoint: Endpoint) -> TypeAdapter[Any]:
    adapter = _client_adapters.get(endpoint)
    if adapter is None:
        from openai.types import live  # noqa: PLC0415 - openai is needed only here

        union: Any = {
            "primary": live.ClientEvent,
            "attach": live.ConnectClientEvent,
            "fork": live.ForkClientEvent,
        }[endpoint]
        adapter = _client_adapters[endpoint] = TypeAdapter(union)
    return adapter


def _server_adapter(endpoint: Endpoint) -> TypeAdapter[Any]:
    adapter = _server_adapters.get(endpoint)
    if adapter is None:
        from openai.types import live  # noqa: PLC0415 - openai is needed only here

        union: Any = {
            "primary": live.ServerEvent,
            "attach": live.ConnectServerEvent,
            "fork": live.ForkServerEvent,
        }[endpoint]
        adapter = _server_adapters[endpoint] = TypeAdapter(union)
    return adapter


def _client_types(endpoint: Endpoint) -> Tuple[str, ...]:
    from openai.types import live  # noqa: PLC0415 - openai is needed only here

    union: Any = {
        "primary": live.ClientEvent,
        "attach": live.ConnectClientEvent,
        "fork": live.ForkClientEvent,
    }[endpoint]
    names: List[str] = []
    for member in get_args(get_args(union)[0]):
        names.extend(get_args(member.model_fields["type"].annotation))
    return tuple(names)


def _loc(loc: Tuple[Union[int, str], ...]) -> str:
    """A pydantic error location as a dotted param, without the union tag."""
    parts = [str(p) for p in loc[1:]]  # loc[0] is the discriminator tag
    out = ""
    for part in parts:
        if part.isdigit():
            out += f"[{part}]"
        elif part.startswith(("function-", "tagged-union", "literal", "nullable")) or "[" in part:
            continue  # pydantic's internal union branch names
        else:
            out = f"{out}.{part}" if out else part
    return out


def parse_client_event(event: JSON, endpoint: Endpoint = "primary") -> BaseModel:
    """Parse a client event with openai's models, strictly.

    Raises:
        WireError: unknown ``type`` (``invalid_request_error``/``unknown_event``... as the
            real server), a missing or ill-typed field (``invalid_value`` /
            ``missing_required_parameter``) or an unknown key (``unknown_parameter``).
    """
    type_ = event.get("type")
    if not isinstance(type_, str) or type_ not in _client_types(endpoint):
        raise WireError(
            f"Invalid value: {type_!r}. Supported values are: "
            + ", ".join(repr(t) for t in _client_types(endpoint))
            + ".",
            code="invalid_value",
            param="type",
        )
    try:
        model: BaseModel = _client_adapter(endpoint).validate_python(event)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = _loc(tuple(first["loc"]))
        if first["type"] == "missing":
            raise WireError(
                f"Missing required parameter: '{param}'.",
                code="missing_required_parameter",
                param=param,
            ) from None
        raise WireError(
            f"Invalid value for '{param}': {first['msg']}.", code="invalid_value", param=param
        ) from None
    unknown = unknown_param(model, event)
    if unknown is not None:
        raise WireError(f"Unknown parameter: '{unknown}'.", code="unknown_parameter", param=unknown)
    return model


def unknown_param(model: BaseModel, data: Mapping[str, Any], prefix: str = "") -> Optional[str]:
    """The dotted path of the first key of ``data`` that ``model`` does not declare."""
    fields = type(model).model_fields
    aliases = {(f.alias or name): name for name, f in fields.items()}
    for key, value in data.items():
        path = f"{prefix}.{key}" if prefix else key
        name = aliases.get(key)
        if name is None:
            return path
        found = _unknown_in(getattr(model, name, None), value, path)
        if found is not None:
            return found
    return None


def _unknown_in(parsed: Any, raw: Any, path: str) -> Optional[str]:
    if isinstance(parsed, BaseModel) and isinstance(raw, Mapping):
        return unknown_param(parsed, raw, path)
    if isinstance(parsed, list) and isinstance(raw, list):
        for i, (p, r) in enumerate(zip(parsed, raw)):
            found = _unknown_in(p, r, f"{path}[{i}]")
            if found is not None:
                return found
    if isinstance(parsed, dict) and isinstance(raw, Mapping):
        return None  # free-form objects (JSON schemas, metadata)
    return None


def validate_server_event(event: JSON, endpoint: Endpoint = "primary") -> BaseModel:
    """Validate a server event with openai's server-event union for ``endpoint``.

    Raises:
        pydantic.ValidationError: the event does not match any server-event model.
    """
    model: BaseModel = _server_adapter(endpoint).validate_python(event)
    return model
