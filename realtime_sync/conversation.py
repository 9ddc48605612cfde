"""``RealtimeConversation``: the client-side cache of the conversation, safe across threads.

The cache itself (:class:`~realtime_sync.core.conversation.ConversationCache`)
is part of the sans-IO session core; this is the thread-safe object the client
exposes as ``client.conversation``: every method takes one re-entrant lock, so
the app may read items and append input audio on its own threads while the
dispatcher thread applies server events.
"""

from __future__ import annotations

import threading
from typing import Optional

from .core.conversation import (
    DEFAULT_AUDIO_RETENTION_S,
    DEFAULT_INPUT_AUDIO_RETENTION_S,
    ConversationCache,
)
from .items import FormattedContent, FormattedItem, FormattedTool

__all__ = ["FormattedContent", "FormattedItem", "FormattedTool", "RealtimeConversation"]


class RealtimeConversation(ConversationCache):
    """The conversation cache with a lock: items in order, audio, text, transcripts, tool calls.

    Args:
        input_audio_retention_s: how much recent input audio to keep for
            slicing the user's speech into items (older audio is dropped).
        audio_retention_s: how much audio completed items keep in total,
            newest first; older items let their audio go (``audio_dropped``)
            but keep text and transcripts. ``None`` keeps everything.
    """

    def __init__(
        self,
        *,
        input_audio_retention_s: float = DEFAULT_INPUT_AUDIO_RETENTION_S,
        audio_retention_s: Optional[float] = DEFAULT_AUDIO_RETENTION_S,
    ) -> None:
        # The lock guards all of the cache's state (see ConversationCache).
        super().__init__(
            input_audio_retention_s=input_audio_retention_s,
            audio_retention_s=audio_retention_s,
            lock=threading.RLock(),
        )
