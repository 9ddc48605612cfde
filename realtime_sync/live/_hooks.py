"""The converter hooks of the Live types that the generic ones do not cover.

:func:`realtime_sync.protocol._install_live` registers them in the SDK's one
converter (and its diagnostic twin) when :mod:`realtime_sync.live` is imported:
unions told apart by ``type`` (delegations, tools, Decision items), voices,
Decision content, JSON data, typed choice values and the ``"all"``-or-list
permissions of a WebRTC data channel. Every hook raises ``TypeError`` for a
value of the wrong JSON shape, which the protocol turns into a
:class:`~realtime_sync.errors.ProtocolError` naming the field.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, List, Literal, Optional, Tuple, Union

import cattrs

from realtime_sync import models
from realtime_sync.protocol import _json_object, _strict_int

from . import decisions as ld
from . import models as lm
from .enums import BuiltInVoice

__all__ = ["register_live_hooks"]


def _structure_tagged(
    conv: cattrs.Converter,
    classes: Dict[Optional[str], type],
    fallback: Optional[Callable[[str, Dict[str, Any]], Any]],
    what: str,
) -> Callable[[Any, Any], Any]:
    """A hook for a union of models told apart by ``type``; unknown types go to ``fallback``."""

    def structure(value: Any, _: Any) -> Any:
        data = _json_object(value, None)
        kind = data.get("type")
        if kind is None or isinstance(kind, str):
            cls = classes.get(kind)
            if cls is not None:
                return conv.structure(data, cls)
            if kind is not None and fallback is not None:
                return fallback(kind, data)
        raise TypeError(f"{what} needs a string 'type'")

    return structure


def _structure_voice(conv: cattrs.Converter) -> Callable[[Any, Any], Any]:
    def structure(value: Any, _: Any) -> lm.VoiceSetting:
        if isinstance(value, str):
            return BuiltInVoice(value)
        return conv.structure(_json_object(value, None), models.CustomVoice)

    return structure


def _structure_all_or_list(conv: cattrs.Converter, item: Any) -> Callable[[Any, Any], Any]:
    """``"all"`` or a list of ``item`` (the data channel permissions)."""
    list_type = List[item]

    def structure(value: Any, _: Any) -> Any:
        if value == "all":
            return "all"
        if isinstance(value, list):
            return conv.structure(value, list_type)
        raise TypeError(f'expected "all" or a list, got {type(value).__name__}')

    return structure


def _structure_decision_content(conv: cattrs.Converter, part: Any) -> Callable[[Any, Any], Any]:
    parts = List[part]

    def structure(value: Any, _: Any) -> ld.DecisionContent:
        if isinstance(value, str):
            return value
        if isinstance(value, list):
            return conv.structure(value, parts)
        raise TypeError(f"expected a string or a list of parts, got {type(value).__name__}")

    return structure


def _structure_json_data(value: Any, _: Any) -> ld.JsonData:
    if isinstance(value, list):
        return [_json_object(v, None) for v in value]
    return _json_object(value, None)


def _structure_str_or_bool(value: Any, _: Any) -> Union[str, bool]:
    if isinstance(value, (str, bool)):
        return value
    raise TypeError(f"expected a string or true/false, got {type(value).__name__}")


def _structure_str_bool_or_int(value: Any, _: Any) -> Union[str, bool, int]:
    if isinstance(value, (str, int)):  # bool is an int
        return value
    return _strict_int(value, None)


def register_live_hooks(conv: cattrs.Converter) -> None:
    """Register in ``conv`` the hooks of the Live types that the generic ones do not cover.

    Unknown tools, delegations and Decision items are kept as raw JSON (their
    ``Generic*`` class, called with the type and the data).
    """
    hooks: List[Tuple[Any, Callable[[Any, Any], Any]]] = [
        (lm.VoiceSetting, _structure_voice(conv)),
        (
            lm.Tool,
            _structure_tagged(conv, {"function": lm.FunctionTool}, models.GenericTool, "a tool"),
        ),
        (
            lm.Delegation,
            _structure_tagged(
                conv,
                {
                    "client": lm.ClientDelegation,
                    "responses": lm.ResponsesDelegation,
                    "decisions": lm.DecisionsDelegation,
                },
                lm.GenericDelegation,
                "a delegation",
            ),
        ),
        (
            lm.DelegationUpdate,
            _structure_tagged(
                conv,
                {
                    "client": lm.ClientDelegation,
                    "responses": lm.ResponsesDelegationUpdate,
                    "decisions": lm.DecisionsDelegationUpdate,
                },
                lm.GenericDelegation,
                "a delegation",
            ),
        ),
        (
            ld.DecisionItem,
            _structure_tagged(
                conv,
                {
                    None: ld.DecisionMessage,
                    "message": ld.DecisionMessage,
                    "function_call": ld.DecisionFunctionCall,
                    "function_call_output": ld.DecisionFunctionCallOutput,
                    "custom_tool_call": ld.DecisionCustomToolCall,
                    "custom_tool_call_output": ld.DecisionCustomToolCallOutput,
                },
                models.GenericItem,
                "a decision item",
            ),
        ),
        (ld.DecisionContent, _structure_decision_content(conv, ld.DecisionContentPart)),
        (ld.JsonData, _structure_json_data),
        (Union[str, bool], _structure_str_or_bool),
        (Union[str, bool, int], _structure_str_bool_or_int),
        (Union[Literal["all"], List[str]], _structure_all_or_list(conv, str)),
        (
            Union[Literal["all"], List[lm.ServerEventSelector]],
            _structure_all_or_list(conv, lm.ServerEventSelector),
        ),
    ]
    for tp, hook in hooks:
        conv.register_structure_hook(tp, hook)
    conv.register_unstructure_hook(lm.GenericDelegation, lambda delegation: delegation.data)
