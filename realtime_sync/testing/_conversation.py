"""The default conversation of one session: ordered items and their audio.

Not thread-safe by itself: the session's lock guards it (response runs take that
lock too before touching it).
"""

from __future__ import annotations

import base64
from typing import Dict, List, Mapping, Optional

from ._ids import JSON, new_id
from ._items import public_item
from ._validation import ProtocolError

__all__ = ["Conversation"]


class Conversation:
    """Items in order (server form, without audio) and the audio of their content parts."""

    def __init__(self) -> None:
        self.id: str = new_id("conv")
        """The ``conversation_id`` of responses in this conversation."""
        self._items: List[JSON] = []
        self._audio: Dict[str, Dict[int, bytearray]] = {}

    @property
    def items(self) -> List[JSON]:
        """The items, oldest first (a shallow copy of the list)."""
        return list(self._items)

    def index_of(self, item_id: str) -> int:
        """Position of the item, or -1."""
        for index, item in enumerate(self._items):
            if item["id"] == item_id:
                return index
        return -1

    def get(self, item_id: str) -> Optional[JSON]:
        """The item with that id (the stored object itself), or None."""
        index = self.index_of(item_id)
        return self._items[index] if index >= 0 else None

    def previous_id(self, item_id: str) -> Optional[str]:
        """Id of the item before ``item_id`` (None for the first one)."""
        index = self.index_of(item_id)
        return self._items[index - 1]["id"] if index > 0 else None

    def last_id(self) -> Optional[str]:
        """Id of the newest item, or None when empty."""
        return self._items[-1]["id"] if self._items else None

    def has_function_call(self, call_id: str) -> bool:
        """Whether a ``function_call`` item with this ``call_id`` is in the conversation."""
        return any(
            item["type"] == "function_call" and item.get("call_id") == call_id
            for item in self._items
        )

    def append(self, item: JSON, audio: Optional[Mapping[int, bytes]] = None) -> Optional[str]:
        """Add ``item`` at the end; return the id of the item before it."""
        previous = self.last_id()
        self._items.append(item)
        if audio:
            self._audio[item["id"]] = {k: bytearray(v) for k, v in audio.items()}
        return previous

    def insert(
        self,
        item: JSON,
        previous_item_id: Optional[str],
        audio: Optional[Mapping[int, bytes]] = None,
    ) -> Optional[str]:
        """Insert ``item`` after ``previous_item_id`` ("root": first; None: last).

        Returns the id of the item now before it.
        """
        if previous_item_id is None:
            position = len(self._items)
        elif previous_item_id == "root":
            position = 0
        else:
            found = self.index_of(previous_item_id)
            if found < 0:
                raise ProtocolError(
                    f"Error adding item: the previous item with id '{previous_item_id}' "
                    "does not exist.",
                    code="item_create_invalid_previous_item_id",
                    param="previous_item_id",
                )
            position = found + 1
        self._items.insert(position, item)
        if audio:
            self._audio[item["id"]] = {k: bytearray(v) for k, v in audio.items()}
        return self._items[position - 1]["id"] if position > 0 else None

    def delete(self, item_id: str) -> bool:
        """Remove the item and its audio; False when there is no such item."""
        index = self.index_of(item_id)
        if index < 0:
            return False
        del self._items[index]
        self._audio.pop(item_id, None)
        return True

    def audio(self, item_id: str, content_index: int) -> bytearray:
        """The stored audio of one content part (created empty when missing)."""
        return self._audio.setdefault(item_id, {}).setdefault(content_index, bytearray())

    def attach_audio(self, item_id: str, content_index: int, buffer: bytearray) -> None:
        """Store ``buffer`` (kept by reference: a streaming response keeps filling it)."""
        self._audio.setdefault(item_id, {})[content_index] = buffer

    def replace_audio(self, item_id: str, content_index: int, data: bytes) -> None:
        """Replace a part's audio with a copy of ``data`` (detaches a streaming buffer)."""
        self._audio.setdefault(item_id, {})[content_index] = bytearray(data)

    def audio_bytes(self, item_id: str) -> int:
        """Total bytes of audio stored for the item."""
        return sum(len(blob) for blob in self._audio.get(item_id, {}).values())

    def retrieved_view(self, item_id: str) -> Optional[JSON]:
        """The item as ``conversation.item.retrieved`` shows it: with base64 audio."""
        item = self.get(item_id)
        if item is None:
            return None
        view = public_item(item)
        content = view.get("content", ())
        for part_index, audio in self._audio.get(item_id, {}).items():
            if part_index < len(content):
                content[part_index]["audio"] = base64.b64encode(audio).decode("ascii")
        return view
