"""Conversation items: client items normalised to server form, their public views,
and what a response reads from them.

Items are kept as the JSON objects the server sends, with ``audio`` payloads
stored apart (see ``_conversation.Conversation``) so they are never echoed.
"""

from __future__ import annotations

import copy
from typing import Any, Callable, Dict, List, Optional, Tuple

from ._host import ReplyRequest, ToolOutput
from ._ids import JSON, new_id
from ._text import text_tokens
from ._validation import (
    ProtocolError,
    check_enum,
    check_keys,
    check_object,
    check_opt_str,
    check_str,
    decode_base64,
    missing,
    type_error,
)

__all__ = ["normalize_item", "public_item", "reply_request", "resolve_input", "text_tokens_of"]

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


def normalize_item(raw: Any, param: str) -> Tuple[JSON, Dict[int, bytes]]:
    """Validate a client-supplied item; return it in server form plus any decoded audio."""
    item = check_object(raw, param)
    if "type" not in item:
        raise missing(f"{param}.type")
    kind = check_enum(
        item["type"],
        f"{param}.type",
        ("message", "function_call", "function_call_output"),
    )
    if "id" in item:
        check_str(item["id"], f"{param}.id")
    if "object" in item:
        check_enum(item["object"], f"{param}.object", ("realtime.item",))
    if "status" in item:
        check_enum(item["status"], f"{param}.status", ("completed", "incomplete", "in_progress"))
    head: JSON = {
        "id": item.get("id") or new_id("item"),
        "type": kind,
        "object": "realtime.item",
        "status": "completed",
    }
    audio: Dict[int, bytes] = {}
    if kind == "message":
        check_keys(item, (*_ITEM_COMMON_KEYS, "role", "content"), param)
        if "role" not in item:
            raise missing(f"{param}.role")
        role = check_enum(item["role"], f"{param}.role", ("user", "assistant", "system"))
        if "content" not in item:
            raise missing(f"{param}.content")
        if not isinstance(item["content"], list):
            raise type_error(f"{param}.content", "an array", item["content"])
        parts: List[JSON] = []
        for index, raw_part in enumerate(item["content"]):
            p = f"{param}.content[{index}]"
            part = check_object(raw_part, p)
            if "type" not in part:
                raise missing(f"{p}.type")
            ptype = check_enum(part["type"], f"{p}.type", _PART_TYPES[role])
            check_keys(part, _PART_KEYS[ptype], p)
            if ptype in ("input_text", "output_text"):
                if "text" not in part:
                    raise missing(f"{p}.text")
                parts.append({"type": ptype, "text": check_str(part["text"], f"{p}.text")})
            elif ptype == "input_image":
                if "image_url" not in part:
                    raise missing(f"{p}.image_url")
                detail = part.get("detail", "auto")
                parts.append(
                    {
                        "type": ptype,
                        "image_url": check_str(part["image_url"], f"{p}.image_url"),
                        "detail": check_enum(detail, f"{p}.detail", ("auto", "low", "high")),
                    }
                )
            else:
                if ptype == "input_audio" and "audio" not in part:
                    raise missing(f"{p}.audio")
                if "audio" in part:
                    audio[index] = decode_base64(part["audio"], f"{p}.audio")
                transcript = check_opt_str(part.get("transcript"), f"{p}.transcript")
                parts.append({"type": ptype, "transcript": transcript})
        head["role"] = role
        head["content"] = parts
    elif kind == "function_call":
        check_keys(item, (*_ITEM_COMMON_KEYS, "name", "arguments", "call_id"), param)
        for key in ("name", "arguments"):
            if key not in item:
                raise missing(f"{param}.{key}")
        head["name"] = check_str(item["name"], f"{param}.name")
        head["call_id"] = check_str(item.get("call_id") or new_id("call", 16), f"{param}.call_id")
        head["arguments"] = check_str(item["arguments"], f"{param}.arguments")
    else:
        check_keys(item, (*_ITEM_COMMON_KEYS, "call_id", "output"), param)
        for key in ("call_id", "output"):
            if key not in item:
                raise missing(f"{param}.{key}")
        head["call_id"] = check_str(item["call_id"], f"{param}.call_id")
        head["output"] = check_str(item["output"], f"{param}.output")
    return head, audio


def public_item(item: JSON) -> JSON:
    """A deep copy of ``item`` as sent in events (audio payloads are never echoed)."""
    out = copy.deepcopy(item)
    for part in out.get("content", ()):
        part.pop("audio", None)
    return out


def resolve_input(
    raw_items: List[Any], find: Callable[[str], Optional[JSON]], param: str = "response.input"
) -> List[JSON]:
    r"""The items of a ``response.create`` ``input``: new items or ``item_reference``\ s.

    ``find`` returns the conversation item with an id, or None.
    """
    items: List[JSON] = []
    for index, raw in enumerate(raw_items):
        ip = f"{param}[{index}]"
        if isinstance(raw, dict) and raw.get("type") == "item_reference":
            check_keys(raw, ("type", "id"), ip)
            if "id" not in raw:
                raise missing(f"{ip}.id")
            found = find(check_str(raw["id"], f"{ip}.id"))
            if found is None:
                raise ProtocolError(
                    f"Item with id '{raw['id']}' not found in the conversation.",
                    code="invalid_value",
                    param=f"{ip}.id",
                )
            items.append(found)
        else:
            items.append(normalize_item(raw, ip)[0])
    return items


def reply_request(context: List[JSON], heard: str) -> ReplyRequest:
    """What the model answers to: trailing tool outputs and the last user message.

    User audio without a transcript counts as ``heard``.
    """
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
                    pieces.append(part.get("transcript") or heard)
            user_text = " ".join(p for p in pieces if p)
            break
    return ReplyRequest(user_text=user_text, tool_outputs=tuple(outputs))


def text_tokens_of(item: JSON) -> int:
    """Estimated text tokens of an item (texts, transcripts, arguments, outputs)."""
    tokens = 0
    for part in item.get("content", ()):
        tokens += text_tokens(part.get("text") or part.get("transcript") or "")
    return tokens + text_tokens(item.get("arguments", "") + item.get("output", ""))
