"""The conversation cache: the client-side copy of the Realtime conversation.

It turns server events into :class:`FormattedItem` objects kept in
conversation order, with audio accumulated in ``bytearray`` buffers (appending
a delta costs the delta, never a copy of the item) and text, transcripts and
function arguments assembled from their deltas. :meth:`process` returns the
utility events the change produced; :class:`~realtime_sync.client.RealtimeClient`
dispatches them.

The cache is sans-IO: it never touches a socket or starts a thread. It takes
a lock from whoever drives it (the public
:class:`~realtime_sync.conversation.RealtimeConversation` passes a re-entrant
lock, so the app may read items on its own threads while the dispatcher thread
applies events); without one it is single-threaded.
"""

from __future__ import annotations

import collections
import contextlib
import logging
from typing import (
    Any,
    Callable,
    ContextManager,
    Deque,
    Dict,
    List,
    Optional,
    Sequence,
    Set,
    Tuple,
    Type,
    Union,
)

from realtime_sync import events as ev
from realtime_sync.audioformat import bytes_per_ms, ms_to_bytes
from realtime_sync.items import FormattedContent, FormattedItem, FormattedTool
from realtime_sync.models import (
    NOT_GIVEN,
    AudioFormat,
    ContentPartType,
    Item,
    ItemFunctionCall,
    ItemFunctionCallOutput,
    ItemMessage,
    ItemRole,
    ItemStatus,
    Response,
)
from realtime_sync.utils import base64_decode

__all__ = ["ConversationCache"]

_ItemEvent = Union[
    ev.ConversationItemAddedEvent,
    ev.ConversationItemCreatedEvent,
    ev.ConversationItemRetrievedEvent,
    ev.ConversationItemDoneEvent,
]

logger = logging.getLogger("realtime_sync")

DEFAULT_INPUT_AUDIO_RETENTION_S = 300.0
"""How much of the user's input audio is kept to slice speech items from (seconds)."""

DEFAULT_AUDIO_RETENTION_S = 300.0
"""How much audio completed items keep in total (seconds; about 14 MB of 24 kHz PCM16)."""


class ConversationCache:
    """The client-side conversation cache. See the module documentation.

    Args:
        input_audio_retention_s: how much recent input audio to keep for
            slicing the user's speech into items (older audio is dropped).
        audio_retention_s: how much audio completed items keep in total,
            newest first; older items let their audio go (``audio_dropped``)
            but keep text and transcripts. ``None`` keeps everything.
        lock: a re-entrant lock to take around every access (``None``: no locking).
    """

    def __init__(
        self,
        *,
        input_audio_retention_s: float = DEFAULT_INPUT_AUDIO_RETENTION_S,
        audio_retention_s: Optional[float] = DEFAULT_AUDIO_RETENTION_S,
        lock: Optional[ContextManager[Any]] = None,
    ) -> None:
        # Guards every attribute below when the driver passes a lock: process() runs on
        # the dispatcher thread while the app reads and appends input audio from its own.
        self._lock: ContextManager[Any] = lock if lock is not None else contextlib.nullcontext()
        self.input_audio_retention_s = input_audio_retention_s
        self.audio_retention_s = audio_retention_s
        self._handlers: Dict[Type[Any], Callable[[Any], List[Any]]] = {
            ev.ConversationItemAddedEvent: self._item_added,
            ev.ConversationItemCreatedEvent: self._item_added,
            ev.ConversationItemRetrievedEvent: self._item_retrieved,
            ev.ConversationItemDoneEvent: self._item_done,
            ev.ConversationItemTruncatedEvent: self._item_truncated,
            ev.ConversationItemDeletedEvent: self._item_deleted,
            ev.ConversationItemInputAudioTranscriptionDeltaEvent: self._transcription_delta,
            ev.ConversationItemInputAudioTranscriptionCompletedEvent: self._transcription_done,
            ev.ConversationItemInputAudioTranscriptionFailedEvent: self._transcription_failed,
            ev.InputAudioBufferSpeechStartedEvent: self._speech_started,
            ev.InputAudioBufferSpeechStoppedEvent: self._speech_stopped,
            ev.InputAudioBufferCommittedEvent: self._committed,
            ev.InputAudioBufferClearedEvent: self._cleared,
            ev.ResponseCreatedEvent: self._response_seen,
            ev.ResponseDoneEvent: self._response_seen,
            ev.ResponseOutputItemAddedEvent: self._output_item_added,
            ev.ResponseOutputTextDeltaEvent: self._text_delta,
            ev.ResponseOutputTextDoneEvent: self._text_done,
            ev.ResponseOutputAudioTranscriptDeltaEvent: self._transcript_delta,
            ev.ResponseOutputAudioTranscriptDoneEvent: self._transcript_done,
            ev.ResponseOutputAudioDeltaEvent: self._audio_delta,
            ev.ResponseFunctionCallArgumentsDeltaEvent: self._arguments_delta,
            ev.ResponseFunctionCallArgumentsDoneEvent: self._arguments_done,
            ev.ResponseMcpCallArgumentsDeltaEvent: self._mcp_arguments_delta,
            ev.ResponseMcpCallArgumentsDoneEvent: self._mcp_arguments_done,
        }
        self.clear()

    # ------------------------------------------------------------------ state

    def clear(self) -> None:
        """Forget every item, response and buffered input audio."""
        with self._lock:
            self._items: List[FormattedItem] = []
            self._by_id: Dict[str, FormattedItem] = {}
            self._responses: Dict[str, Response] = {}
            self._response_order: List[str] = []
            # Transcriptions and speech that arrived before their item.
            self._early_transcripts: Dict[str, str] = {}
            self._item_response: Dict[str, str] = {}
            # Audio of items the app created: the server never echoes it back.
            self._sent_audio: Dict[str, bytes] = {}
            # Completed items holding audio, oldest first, with the bytes counted for each.
            self._retained: Deque[Tuple[FormattedItem, int]] = collections.deque()
            self._retained_bytes = 0
            # Items being re-created in a new session: their echoes change nothing.
            self._replaying: Set[str] = set()
            self._speech: Dict[str, Dict[str, int]] = {}
            # Input audio: a window of the session's input stream.
            self._input = bytearray()
            self._input_start = 0  # absolute byte offset of _input[0]
            self._input_total = 0  # bytes appended this session
            self._commit_from = 0  # absolute offset where uncommitted audio starts
            self._pending_commit_audio: Optional[bytes] = None
            self.input_format: Optional[AudioFormat] = None
            self.output_format: Optional[AudioFormat] = None

    def get_items(self) -> List[FormattedItem]:
        """A list of the items, in conversation order (the items themselves are live)."""
        with self._lock:
            return list(self._items)

    def get_item(self, item_id: str) -> Optional[FormattedItem]:
        """The item with ``item_id``, or ``None``."""
        with self._lock:
            return self._by_id.get(item_id)

    def get_response(self, response_id: str) -> Optional[Response]:
        """The latest state of a response (status, output, usage), or ``None``."""
        with self._lock:
            return self._responses.get(response_id)

    def get_responses(self) -> List[Response]:
        """Every response of the session, oldest first."""
        with self._lock:
            return [self._responses[rid] for rid in self._response_order]

    # ------------------------------------------------------------------ input audio

    @property
    def _in_bytes_per_ms(self) -> float:
        return bytes_per_ms(self.input_format)

    @property
    def _out_bytes_per_ms(self) -> float:
        return bytes_per_ms(self.output_format)

    @property
    def input_audio_ms(self) -> float:
        """Milliseconds of input audio appended this session."""
        with self._lock:
            return self._input_total / self._in_bytes_per_ms

    @property
    def retained_input_audio_ms(self) -> float:
        """Milliseconds of input audio still held for slicing (bounded by the retention)."""
        with self._lock:
            return len(self._input) / self._in_bytes_per_ms

    @property
    def uncommitted_input_ms(self) -> float:
        """Milliseconds of input audio appended since the last commit or clear."""
        with self._lock:
            return (self._input_total - self._commit_from) / self._in_bytes_per_ms

    @property
    def uncommitted_input_bytes(self) -> int:
        """Input audio appended since the last commit or clear."""
        with self._lock:
            return self._input_total - self._commit_from

    def append_input_audio(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Record audio the app sent, so speech items can be sliced from it."""
        with self._lock:
            self._input += data
            self._input_total += len(data)
            limit = int(self.input_audio_retention_s * 1000 * self._in_bytes_per_ms)
            if len(self._input) > 2 * limit:
                drop = len(self._input) - limit
                del self._input[:drop]
                self._input_start += drop

    def _input_slice(self, start: int, end: int) -> bytes:
        """Input audio between absolute byte offsets (what is still retained)."""
        lo = max(start, self._input_start) - self._input_start
        hi = max(lo, min(end, self._input_total) - self._input_start)
        return bytes(self._input[lo:hi])

    def remember_sent_audio(self, item_id: str, audio: bytes) -> None:
        """Keep the audio of an item the app is creating, to attach when the server adds it."""
        with self._lock:
            self._sent_audio[item_id] = audio

    def mark_committed(self) -> None:
        """The app committed the input buffer: its audio belongs to the next user item."""
        with self._lock:
            self._pending_commit_audio = self._input_slice(self._commit_from, self._input_total)
            self._commit_from = self._input_total

    def mark_cleared(self) -> None:
        """The app cleared the input buffer."""
        with self._lock:
            self._commit_from = self._input_total

    # ------------------------------------------------------------------ truncation

    def truncate_audio(self, item_id: str, audio_end_ms: int) -> Optional[FormattedItem]:
        """Cut an item's audio at ``audio_end_ms`` and drop audio arriving for it later."""
        with self._lock:
            item = self._by_id.get(item_id)
            if item is None:
                return None
            end = ms_to_bytes(audio_end_ms, self.output_format)
            buffer = item.formatted.audio_buffer
            if len(buffer) > end:
                del buffer[end:]
            item.audio_end_ms = audio_end_ms
            item.formatted.transcript = ""
            return item

    def audio_ms(self, item: FormattedItem) -> float:
        """Milliseconds of (output) audio cached for an item."""
        return len(item.formatted.audio_buffer) / self._out_bytes_per_ms

    # ------------------------------------------------------------------ processing

    def process(self, event: Any) -> Sequence[Any]:
        """Apply a server event to the cache; returns the utility events it caused.

        Events the cache does not use return ``()``. Events for unknown items
        are logged and ignored (nothing is invented for them).
        """
        handler = self._handlers.get(type(event))
        if handler is None:
            return ()
        with self._lock:
            return handler(event)

    def _updated(
        self, item: FormattedItem, delta: Optional[ev.ItemDelta] = None
    ) -> ev.ConversationUpdatedEvent:
        return ev.ConversationUpdatedEvent(item=item, delta=delta)

    def _orphan(self, event: Any) -> List[Any]:
        logger.debug("%s for unknown item %s ignored", event.type, getattr(event, "item_id", "?"))
        return []

    def _insert(self, item: FormattedItem, first: bool = False) -> None:
        prev = item.previous_item_id
        if first or prev == "root":  # the server says: no predecessor
            self._items.insert(0, item)
        elif prev is not None and prev in self._by_id:
            index = next(i for i, it in enumerate(self._items) if it.id == prev)
            self._items.insert(index + 1, item)
        else:
            self._items.append(item)
        self._by_id[item.id] = item

    def _fill_from_item(
        self, formatted: FormattedContent, wire: Item, truncated: bool = False
    ) -> None:
        """Take text, transcripts, audio and tool data the wire item itself carries.

        A truncated item's transcript stays empty: the server dropped it too.
        """
        if isinstance(wire, ItemMessage):
            texts = [p.text for p in wire.content if p.text and p.type in _TEXT_PARTS]
            transcripts = [p.transcript for p in wire.content if p.transcript]
            if texts and not formatted.text:
                formatted.text = "".join(texts)
            if transcripts and not formatted.transcript and not truncated:
                formatted.transcript = "".join(transcripts)
            if not formatted.audio_buffer:
                for part in wire.content:
                    if part.type in _AUDIO_PARTS and part.audio:
                        raw = part.audio
                        formatted.audio_buffer += (
                            raw if isinstance(raw, bytes) else base64_decode(raw)
                        )
        elif isinstance(wire, ItemFunctionCall):
            if formatted.tool is None:
                formatted.tool = FormattedTool(name=wire.name, call_id=wire.call_id or "")
            if wire.arguments:
                formatted.tool.arguments = wire.arguments
        elif isinstance(wire, ItemFunctionCallOutput):
            formatted.output = wire.output

    def _item_added(self, event: _ItemEvent) -> List[Any]:
        wire: Item = event.item
        item_id = wire.id
        if not item_id:
            return []
        if item_id in self._replaying:
            return []
        existing = self._by_id.get(item_id)
        if existing is not None:
            existing.item = wire
            existing.status = wire.status or existing.status
            self._fill_from_item(
                existing.formatted, wire, truncated=existing.audio_end_ms is not None
            )
            return []
        item = FormattedItem(
            id=item_id,
            item=wire,
            status=wire.status,
            previous_item_id=_previous(event),
            response_id=self._item_response.pop(item_id, None),
        )
        self._fill_from_item(item.formatted, wire)
        if isinstance(wire, ItemMessage) and wire.role == ItemRole.USER:
            self._attach_input_audio(item, wire)
        early = self._early_transcripts.pop(item_id, None)
        if early is not None and not item.formatted.transcript:
            item.formatted.transcript = early
        self._insert(item, first=getattr(event, "previous_item_id", NOT_GIVEN) is None)
        out: List[Any] = [ev.ConversationItemAppendedEvent(item=item)]
        if item.status == ItemStatus.COMPLETED and event.type != "conversation.item.added":
            out.extend(self._completed(item))
        return out

    def _completed(self, item: FormattedItem) -> List[Any]:
        """The one ``conversation.item.completed`` of an item (never twice)."""
        if item._completion_reported:
            return []
        item._completion_reported = True
        self._retain(item)
        return [ev.ConversationItemCompletedEvent(item=item)]

    def _retain(self, item: FormattedItem) -> None:
        """Account a completed item's audio; let the oldest go beyond the retention."""
        limit = self.audio_retention_s
        size = len(item.formatted.audio_buffer)
        if limit is None or size == 0:
            return
        self._retained.append((item, size))
        self._retained_bytes += size
        budget = int(limit * 1000 * self._out_bytes_per_ms)
        while self._retained_bytes > budget and self._retained:
            old, counted = self._retained.popleft()
            self._retained_bytes -= counted
            old.formatted.audio_buffer = bytearray()
            old.audio_dropped = True

    def expect_replay(self, item_ids: Sequence[str]) -> None:
        """Ignore the server's echoes of these items (they are re-created after a reconnect)."""
        with self._lock:
            self._replaying = set(item_ids)

    def abandon_response(self, response_id: Optional[str]) -> List[str]:
        """Mark the unfinished items of a response that will never finish; returns their ids."""
        with self._lock:
            lost = []
            for item in self._items:
                unfinished = item.status in (ItemStatus.IN_PROGRESS, None)
                if unfinished and (response_id is None or item.response_id == response_id):
                    if item.response_id is None and response_id is None:
                        continue
                    item.status = ItemStatus.INCOMPLETE
                    lost.append(item.id)
            return lost

    def _attach_input_audio(self, item: FormattedItem, wire: ItemMessage) -> None:
        if not any(p.type == ContentPartType.INPUT_AUDIO for p in wire.content):
            return
        if item.formatted.audio_buffer:
            return
        sent = self._sent_audio.pop(item.id, None)
        speech = self._speech.pop(item.id, None)
        if sent is not None:
            audio = sent
        elif speech is not None and "end" in speech:
            audio = self._input_slice(speech["start"], speech["end"])
        else:
            audio = self._pending_commit_audio or b""
        self._pending_commit_audio = None
        item.formatted.audio_buffer += audio

    def _item_retrieved(self, event: ev.ConversationItemRetrievedEvent) -> List[Any]:
        item = self._by_id.get(event.item.id or "")
        if item is None:
            return self._item_added(event)
        item.item = event.item
        item.status = event.item.status or item.status
        return [self._updated(item)]

    def _item_done(self, event: ev.ConversationItemDoneEvent) -> List[Any]:
        wire: Item = event.item
        out: List[Any] = []
        if wire.id in self._replaying:
            return out
        item = self._by_id.get(wire.id or "")
        if item is None:
            out.extend(self._item_added(event))
            item = self._by_id.get(wire.id or "")
            if item is None:
                return out
        item.item = wire
        item.status = wire.status or ItemStatus.COMPLETED
        self._fill_from_item(item.formatted, wire, truncated=item.audio_end_ms is not None)
        if isinstance(wire, ItemMessage):
            final = [p.transcript for p in wire.content if p.transcript is not None]
            if final and item.audio_end_ms is None:
                item.formatted.transcript = "".join(final)
        out.extend(self._completed(item))
        return out

    def _item_truncated(self, event: ev.ConversationItemTruncatedEvent) -> List[Any]:
        item = self.truncate_audio(event.item_id, event.audio_end_ms)
        return [] if item is None else [self._updated(item)]

    def _item_deleted(self, event: ev.ConversationItemDeletedEvent) -> List[Any]:
        item = self._by_id.pop(event.item_id, None)
        if item is None:
            return []
        self._items.remove(item)
        return [self._updated(item)]

    def _transcription_delta(
        self, event: ev.ConversationItemInputAudioTranscriptionDeltaEvent
    ) -> List[Any]:
        item = self._by_id.get(event.item_id)
        delta = event.delta or ""
        if item is None:
            self._early_transcripts[event.item_id] = (
                self._early_transcripts.get(event.item_id, "") + delta
            )
            return []
        item.formatted.transcript += delta
        return [self._updated(item, ev.ItemDelta(transcript=delta))]

    def _transcription_done(
        self, event: ev.ConversationItemInputAudioTranscriptionCompletedEvent
    ) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            self._early_transcripts[event.item_id] = event.transcript
            return []
        item.formatted.transcript = event.transcript
        return [self._updated(item, ev.ItemDelta(transcript=event.transcript))]

    def _transcription_failed(
        self, event: ev.ConversationItemInputAudioTranscriptionFailedEvent
    ) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            return self._orphan(event)
        logger.info("transcription of %s failed: %s", event.item_id, event.error.message)
        return [self._updated(item)]

    def _speech_started(self, event: ev.InputAudioBufferSpeechStartedEvent) -> List[Any]:
        start = ms_to_bytes(event.audio_start_ms, self.input_format)
        self._speech[event.item_id] = {"start": start}
        return [
            ev.ConversationInterruptedEvent(
                item_id=event.item_id, audio_start_ms=event.audio_start_ms
            )
        ]

    def _speech_stopped(self, event: ev.InputAudioBufferSpeechStoppedEvent) -> List[Any]:
        speech = self._speech.setdefault(event.item_id, {"start": self._commit_from})
        speech["end"] = ms_to_bytes(event.audio_end_ms, self.input_format)
        return []

    def _committed(self, event: ev.InputAudioBufferCommittedEvent) -> List[Any]:
        # A server-side (VAD) commit: later audio starts a new turn.
        if event.item_id in self._speech:
            self._commit_from = max(self._commit_from, self._speech[event.item_id].get("end", 0))
        return []

    def _cleared(self, event: ev.InputAudioBufferClearedEvent) -> List[Any]:
        self._commit_from = self._input_total
        return []

    def _response_seen(
        self, event: Union[ev.ResponseCreatedEvent, ev.ResponseDoneEvent]
    ) -> List[Any]:
        """``response.created`` / ``.done``: keep the latest state of the response."""
        response: Response = event.response
        if response.id:
            if response.id not in self._responses:
                self._response_order.append(response.id)
            self._responses[response.id] = response
        return []

    def _output_item_added(self, event: ev.ResponseOutputItemAddedEvent) -> List[Any]:
        item_id = event.item.id or ""
        item = self._by_id.get(item_id)
        if item is not None:
            item.response_id = event.response_id
        else:  # conversation.item.added follows
            self._item_response[item_id] = event.response_id
        return []

    def _text_delta(self, event: ev.ResponseOutputTextDeltaEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            return self._orphan(event)
        item.formatted.text += event.delta
        return [self._updated(item, ev.ItemDelta(text=event.delta))]

    def _text_done(self, event: ev.ResponseOutputTextDoneEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is not None:
            item.formatted.text = event.text
        return []

    def _transcript_delta(self, event: ev.ResponseOutputAudioTranscriptDeltaEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            return self._orphan(event)
        if item.audio_end_ms is not None:
            return []
        item.formatted.transcript += event.delta
        return [self._updated(item, ev.ItemDelta(transcript=event.delta))]

    def _transcript_done(self, event: ev.ResponseOutputAudioTranscriptDoneEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is not None and item.audio_end_ms is None:
            item.formatted.transcript = event.transcript
        return []

    def _audio_delta(self, event: ev.ResponseOutputAudioDeltaEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            return self._orphan(event)
        if item.audio_end_ms is not None:
            return []  # truncated: the listener will never hear what comes after the cut
        audio = base64_decode(event.delta)
        item.formatted.audio_buffer += audio
        return [self._updated(item, ev.ItemDelta(audio=audio))]

    def _arguments_delta(self, event: ev.ResponseFunctionCallArgumentsDeltaEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            return self._orphan(event)
        tool = item.formatted.tool
        if tool is None:
            tool = item.formatted.tool = FormattedTool(name="", call_id=event.call_id)
        tool.arguments += event.delta
        return [self._updated(item, ev.ItemDelta(arguments=event.delta))]

    def _arguments_done(self, event: ev.ResponseFunctionCallArgumentsDoneEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            return self._orphan(event)
        tool = item.formatted.tool
        if tool is None:
            item.formatted.tool = FormattedTool(
                name=event.name, call_id=event.call_id, arguments=event.arguments
            )
        else:
            tool.name = tool.name or event.name
            tool.arguments = event.arguments
        return []

    def _mcp_arguments_delta(self, event: ev.ResponseMcpCallArgumentsDeltaEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            return self._orphan(event)
        tool = item.formatted.tool
        if tool is None:
            name = str(getattr(item.item, "data", {}).get("name", ""))
            tool = item.formatted.tool = FormattedTool(name=name, call_id=item.id)
        tool.arguments += event.delta
        return [self._updated(item, ev.ItemDelta(arguments=event.delta))]

    def _mcp_arguments_done(self, event: ev.ResponseMcpCallArgumentsDoneEvent) -> List[Any]:
        item = self._by_id.get(event.item_id)
        if item is None:
            return self._orphan(event)
        arguments = getattr(event, "arguments", None)
        if item.formatted.tool is None:
            name = str(getattr(item.item, "data", {}).get("name", ""))
            item.formatted.tool = FormattedTool(name=name, call_id=item.id)
        if isinstance(arguments, str):
            item.formatted.tool.arguments = arguments
        return []


def _previous(event: Any) -> Optional[str]:
    prev = getattr(event, "previous_item_id", None)
    return prev if isinstance(prev, str) else None


_TEXT_PARTS = frozenset(
    {ContentPartType.INPUT_TEXT, ContentPartType.OUTPUT_TEXT, ContentPartType.TEXT}
)
_AUDIO_PARTS = frozenset({ContentPartType.INPUT_AUDIO, ContentPartType.OUTPUT_AUDIO})
