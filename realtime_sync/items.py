"""The conversation's items as the client assembles them: :class:`FormattedItem` and its parts.

These are what :class:`~realtime_sync.conversation.RealtimeConversation` keeps,
what utility events carry and what :class:`~realtime_sync.client.Turn` holds.
"""

from __future__ import annotations

from typing import Optional

import attrs

from .models import Item, ItemMessage, ItemRole, ItemStatus

__all__ = ["FormattedContent", "FormattedItem", "FormattedTool"]


@attrs.define(eq=False)
class FormattedTool:
    """A function call: tool ``name``, ``call_id`` and JSON ``arguments`` text."""

    name: str
    call_id: str
    arguments: str = ""


@attrs.define(eq=False)
class FormattedContent:
    """An item's content, assembled from deltas.

    ``audio`` is the item's PCM16 so far (a copy); ``audio_buffer`` is the live
    buffer, cheap to read but only valid until the next delta.
    """

    text: str = ""
    transcript: str = ""
    audio_buffer: bytearray = attrs.field(factory=bytearray, repr=lambda b: f"<{len(b)} bytes>")
    tool: Optional[FormattedTool] = None
    output: Optional[str] = None

    @property
    def audio(self) -> bytes:
        """The audio received so far, as ``bytes`` (copied: O(length))."""
        return bytes(self.audio_buffer)


@attrs.define(eq=False)
class FormattedItem:
    """A conversation item with its content assembled (``.formatted``).

    ``item`` is the latest typed wire item; ``status`` its status.
    """

    id: str
    item: Item
    status: Optional[ItemStatus] = None
    formatted: FormattedContent = attrs.field(factory=FormattedContent)
    previous_item_id: Optional[str] = None
    """The item before this one, as the server said (``None``: first, or not said)."""
    response_id: Optional[str] = None
    audio_end_ms: Optional[int] = None
    """Where the item's audio was truncated, when it was."""
    audio_dropped: bool = False
    """True when the audio was let go under the client's audio retention (text is kept)."""
    _completion_reported: bool = attrs.field(default=False, init=False, repr=False)

    @property
    def type(self) -> str:
        """``message``, ``function_call``, ``function_call_output`` or another item type."""
        return self.item.type

    @property
    def role(self) -> Optional[ItemRole]:
        """The message's role (``None`` for other items)."""
        return self.item.role if isinstance(self.item, ItemMessage) else None

    @property
    def is_completed(self) -> bool:
        """True once the item is ``completed``."""
        return self.status == ItemStatus.COMPLETED
