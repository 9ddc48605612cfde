"""Replay planning: what a new session is told of the old one.

The Realtime API has no resume: a new connection is a new, empty session. The
core re-creates the completed items it can (text messages, transcripts of audio
turns as text, function calls with their outputs) so the model keeps its
context, and reports the rest as lost.
"""

from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple

import attrs

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
from realtime_sync.utils import generate_id

__all__ = ["ReplayPlan", "ReplayRun", "plan_replay"]


@attrs.frozen
class ReplayPlan:
    """What a new session is told of the old one."""

    items: List[Item]
    """The items to re-create, in conversation order."""
    lost: List[str]
    """Ids of the items that cannot be carried over."""
    sources: Dict[str, str]
    """How each replayed item is carried over, by id: ``"text"``, ``"transcript"`` (a spoken
    turn as its transcript), ``"audio"`` (a spoken turn as the audio the client kept),
    ``"image"`` (a message with images, and its text), ``"tool"`` (a call or its output)."""


def _user_parts(item: FormattedItem, wire: ItemMessage) -> Tuple[List[ContentPart], str]:
    """A user message's replayable parts, and how it is carried over ("" when it cannot be)."""
    parts: List[ContentPart] = []
    source = "text"
    spoken = False
    for part in wire.content:
        if part.type in (ContentPartType.INPUT_TEXT, ContentPartType.TEXT) and part.text:
            parts.append(ContentPart(type=ContentPartType.INPUT_TEXT, text=part.text))
        elif part.type == ContentPartType.INPUT_IMAGE and part.image_url:
            parts.append(ContentPart.input_image(image_url=part.image_url, detail=part.detail))
            source = "image"
        elif part.type == ContentPartType.INPUT_AUDIO:
            spoken = True
    if spoken:
        if item.formatted.transcript:
            parts.append(
                ContentPart(type=ContentPartType.INPUT_TEXT, text=item.formatted.transcript)
            )
            source = "transcript" if source == "text" else source
        elif item.formatted.audio_buffer and not item.audio_dropped:
            parts.append(ContentPart.input_audio(audio=bytes(item.formatted.audio_buffer)))
            source = "audio" if source == "text" else source
    if not parts and item.formatted.text:
        parts.append(ContentPart(type=ContentPartType.INPUT_TEXT, text=item.formatted.text))
    return parts, source if parts else ""


def _replayable(item: FormattedItem) -> Tuple[Optional[Item], str]:
    """The item to re-create in a new session and how, or ``(None, "")`` when it cannot be."""
    wire = item.item
    if item.status not in (ItemStatus.COMPLETED, None) or not item.id:
        return None, ""
    if isinstance(wire, ItemMessage) and wire.role == ItemRole.USER:
        parts, source = _user_parts(item, wire)
        if not parts:
            return None, ""
        return ItemMessage(role=wire.role, content=parts, id=item.id), source
    if isinstance(wire, ItemMessage):
        words = item.formatted.text or item.formatted.transcript
        if not words:
            return None, ""
        part = (
            ContentPart.output_text(text=words)
            if wire.role == ItemRole.ASSISTANT
            else ContentPart(type=ContentPartType.INPUT_TEXT, text=words)
        )
        source = "text" if item.formatted.text else "transcript"
        return ItemMessage(role=wire.role, content=[part], id=item.id), source
    if isinstance(wire, ItemFunctionCall) and item.formatted.tool is not None:
        tool = item.formatted.tool
        call = ItemFunctionCall(
            name=tool.name or wire.name,
            arguments=tool.arguments or wire.arguments,
            call_id=tool.call_id or wire.call_id,
            id=item.id,
        )
        return call, "tool"
    if isinstance(wire, ItemFunctionCallOutput):
        return ItemFunctionCallOutput(call_id=wire.call_id, output=wire.output, id=item.id), "tool"
    return None, ""


def plan_replay(items: Sequence[FormattedItem]) -> ReplayPlan:
    """Split the cached conversation into items to re-create and ids that are lost.

    Text messages go as they are; a spoken user turn as its transcript when there
    is one, else as the audio the client kept (see ``audio_retention_s``); images
    go with their message; assistant audio as its transcript. A function call is
    replayed only with its output (and an output only with its call), since the
    API rejects either alone.
    """
    candidates = [(item, *_replayable(item)) for item in items]
    calls = {w.call_id for _, w, _ in candidates if isinstance(w, ItemFunctionCall)}
    outputs = {w.call_id for _, w, _ in candidates if isinstance(w, ItemFunctionCallOutput)}
    replay: List[Item] = []
    lost: List[str] = []
    sources: Dict[str, str] = {}
    for item, wire, source in candidates:
        paired = not (
            (isinstance(wire, ItemFunctionCall) and wire.call_id not in outputs)
            or (isinstance(wire, ItemFunctionCallOutput) and wire.call_id not in calls)
        )
        if wire is not None and paired:
            replay.append(wire)
            sources[item.id] = source
        else:
            lost.append(item.id)
    return ReplayPlan(items=replay, lost=lost, sources=sources)


class ReplayRun:
    """A replay under way: the items sent to the new session, and how each one settled."""

    def __init__(self) -> None:
        self.sources: Dict[str, str] = {}
        """How each item of the last plan was carried over (see :attr:`ReplayPlan.sources`)."""
        self.replayed: List[str] = []
        """Ids of the items the new session has (so far)."""
        self.lost: List[str] = []
        """Ids of the items it will not have."""
        self._waiting: Dict[str, str] = {}  # event_id of the item's create -> item id

    def start(self, plan: Optional[ReplayPlan]) -> List[Tuple[str, Item]]:
        """Begin ``plan``; returns the items to create, each with its event id."""
        self.sources = dict(plan.sources) if plan is not None else {}
        self.replayed, self.lost = [], list(plan.lost) if plan is not None else []
        creates = [(generate_id("evt_"), item) for item in (plan.items if plan else [])]
        self._waiting = {event_id: item.id or "" for event_id, item in creates}
        return creates

    @property
    def waiting(self) -> bool:
        """True while a created item has been neither echoed nor refused."""
        return bool(self._waiting)

    def item_of(self, event_id: Optional[str]) -> Optional[str]:
        """The item whose create carried ``event_id`` (if it is still waiting)."""
        return self._waiting.get(event_id or "")

    def waits_for(self, item_id: Optional[str]) -> bool:
        """True if ``item_id`` is a replayed item not settled yet."""
        return item_id in self._waiting.values()

    def settle(self, item_id: str, *, rejected: bool) -> bool:
        """``item_id`` was echoed (or refused); returns True once nothing is waiting."""
        for event_id, waiting in list(self._waiting.items()):
            if waiting == item_id:
                del self._waiting[event_id]
                (self.lost if rejected else self.replayed).append(item_id)
        return not self._waiting

    def clear(self) -> None:
        """The connection closed: nothing is waiting any more."""
        self._waiting.clear()
