"""Replay planning: what a new session is told of the old one.

The Realtime API has no resume: a new connection is a new, empty session. The
core re-creates the completed items it can (text messages, transcripts of audio
turns as text, function calls with their outputs) so the model keeps its
context, and reports the rest as lost.
"""

from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from realtime_sync.items import FormattedItem
from realtime_sync.models import (
    ContentPart,
    ContentPartType,
    Item,
    ItemFunctionCall,
    ItemFunctionCallOutput,
    ItemMessage,
    ItemRole,
    ItemStatus,
)

__all__ = ["plan_replay"]


def _replayable(item: FormattedItem) -> Optional[Item]:
    """The item to re-create in a new session, or ``None`` when it cannot be carried over."""
    wire = item.item
    if item.status not in (ItemStatus.COMPLETED, None) or not item.id:
        return None
    if isinstance(wire, ItemMessage):
        words = item.formatted.text or item.formatted.transcript
        if not words:
            return None
        part = (
            ContentPart.output_text(text=words)
            if wire.role == ItemRole.ASSISTANT
            else ContentPart(type=ContentPartType.INPUT_TEXT, text=words)
        )
        return ItemMessage(role=wire.role, content=[part], id=item.id)
    if isinstance(wire, ItemFunctionCall) and item.formatted.tool is not None:
        tool = item.formatted.tool
        return ItemFunctionCall(
            name=tool.name or wire.name,
            arguments=tool.arguments or wire.arguments,
            call_id=tool.call_id or wire.call_id,
            id=item.id,
        )
    if isinstance(wire, ItemFunctionCallOutput):
        return ItemFunctionCallOutput(call_id=wire.call_id, output=wire.output, id=item.id)
    return None


def plan_replay(items: Sequence[FormattedItem]) -> Tuple[List[Item], List[str]]:
    """Split the cached conversation into items to re-create and ids that are lost.

    A function call is replayed only with its output (and an output only with
    its call), since the API rejects either alone.
    """
    candidates = [(item, _replayable(item)) for item in items]
    calls = {w.call_id for _, w in candidates if isinstance(w, ItemFunctionCall)}
    outputs = {w.call_id for _, w in candidates if isinstance(w, ItemFunctionCallOutput)}
    replay: List[Item] = []
    lost: List[str] = []
    for item, wire in candidates:
        paired = not (
            (isinstance(wire, ItemFunctionCall) and wire.call_id not in outputs)
            or (isinstance(wire, ItemFunctionCallOutput) and wire.call_id not in calls)
        )
        if wire is not None and paired:
            replay.append(wire)
        else:
            lost.append(item.id)
    return replay, lost
