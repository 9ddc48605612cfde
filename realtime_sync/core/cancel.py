"""Cancel and truncate: what the core sends to stop an answer and forget what was not heard.

``response.cancel`` always names the response it stops (so it never cancels a
later answer), and ``conversation.item.truncate`` cuts an audio item at what
the listener heard, clamped to what the client received. Both go through the
conversation cache first, so it agrees with the server.
"""

from __future__ import annotations

from typing import List, Optional, Sequence

from realtime_sync import events as ev
from realtime_sync.audioformat import sample_rate
from realtime_sync.errors import RealtimeError
from realtime_sync.items import FormattedItem
from realtime_sync.models import ContentPartType, ItemMessage, ItemRole
from realtime_sync.utils import generate_id

from .actions import Action, Send
from .conversation import ConversationCache

__all__ = ["cancel_actions", "truncate_event", "truncate_received"]


def truncate_event(item: FormattedItem, audio_end_ms: int) -> Send:
    """The ``conversation.item.truncate`` that cuts ``item``'s audio at ``audio_end_ms``."""
    parts = item.item.content if isinstance(item.item, ItemMessage) else []
    index = next((i for i, p in enumerate(parts) if p.type == ContentPartType.OUTPUT_AUDIO), 0)
    return Send(
        ev.ConversationItemTruncateEvent(
            item_id=item.id,
            content_index=index,
            audio_end_ms=audio_end_ms,
            event_id=generate_id("evt_"),
        )
    )


def truncate_received(cache: ConversationCache, item_ids: Sequence[str]) -> List[Action]:
    """Truncate these items' audio at what the client received (items without audio: skipped)."""
    actions: List[Action] = []
    for item_id in item_ids:
        item = cache.get_item(item_id)
        if item is None or item.audio_end_ms is not None or not item.formatted.audio_buffer:
            continue
        audio_end_ms = int(cache.audio_ms(item))
        actions.append(truncate_event(item, audio_end_ms))
        cache.truncate_audio(item_id, audio_end_ms)
    return actions


def cancel_actions(
    cache: ConversationCache,
    active_response: Optional[str],
    item_id: Optional[str],
    sample_count: int,
) -> List[Action]:
    """Stop the response; with ``item_id``, truncate that item at ``sample_count`` samples.

    ``response.cancel`` names the item's response and goes out only while it
    is being generated (``active_response``). With no audio received yet and
    ``sample_count == 0`` there is nothing to truncate. Raises
    :class:`RealtimeError` (nothing sent) for an item that cannot be cut.
    """
    if item_id is None:
        return [Send(ev.ResponseCancelEvent(response_id=active_response))]
    item = cache.get_item(item_id)
    if item is None:
        raise RealtimeError(f"cannot cancel: no item {item_id!r} in the conversation")
    if item.role != ItemRole.ASSISTANT or not isinstance(item.item, ItemMessage):
        raise RealtimeError(f"cannot truncate item {item_id!r}: it is not an assistant message")
    if sample_count < 0:
        raise ValueError("sample_count must be >= 0")
    has_audio_part = any(p.type == ContentPartType.OUTPUT_AUDIO for p in item.item.content)
    received = bool(item.formatted.audio_buffer)
    if not received and sample_count > 0 and not has_audio_part:
        raise RealtimeError(f"cannot truncate item {item_id!r}: it has no audio")
    actions: List[Action] = []
    if item.response_id is not None and item.response_id == active_response:
        actions.append(Send(ev.ResponseCancelEvent(response_id=item.response_id)))
    if not received and sample_count == 0:
        return actions  # nothing was heard, nothing arrived: no truncate to send
    rate = sample_rate(cache.output_format)
    audio_end_ms = min(int(sample_count * 1000 // rate), int(cache.audio_ms(item)))
    actions.append(truncate_event(item, audio_end_ms))
    cache.truncate_audio(item_id, audio_end_ms)
    return actions
