"""Property-based fuzzing of the conversation cache with arbitrary server event sequences.

Whatever order, duplication or nonsense the events come in, the cache never raises, keeps its
list and index in step, never invents an item for an orphan delta, and reports each item's
completion at most once.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Set

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_sync import RealtimeConversation, protocol
from realtime_sync import events as ev

IDS = ["item_a", "item_b", "item_c", "item_d"]
item_ids = st.sampled_from(IDS)
previous = st.sampled_from(["absent", None, "root", *IDS])
pcm = st.integers(min_value=0, max_value=40).map(lambda n: bytes(range(n * 2 % 256)) * 2)


def _with_previous(event: Dict[str, Any], prev: Any) -> Dict[str, Any]:
    if prev != "absent":
        event["previous_item_id"] = prev
    return event


@st.composite
def items(draw: Any, item_id: str) -> Dict[str, Any]:
    kind = draw(st.sampled_from(["user", "assistant", "call", "output"]))
    status = draw(st.sampled_from(["in_progress", "completed", "incomplete"]))
    base = {"id": item_id, "object": "realtime.item", "status": status}
    if kind == "call":
        return {
            **base,
            "type": "function_call",
            "name": "f",
            "call_id": "c_" + item_id,
            "arguments": draw(st.sampled_from(["", "{}", '{"a": 1}'])),
        }
    if kind == "output":
        return {**base, "type": "function_call_output", "call_id": "c_" + item_id, "output": "ok"}
    part = (
        {"type": "input_audio", "transcript": None}
        if kind == "user"
        else {"type": "output_audio", "transcript": draw(st.sampled_from([None, "", "hi"]))}
    )
    return {**base, "type": "message", "role": kind, "content": [part]}


@st.composite
def server_events(draw: Any) -> Dict[str, Any]:
    item_id = draw(item_ids)
    common = {"event_id": "e", "response_id": "resp_1", "output_index": 0, "content_index": 0}
    choice = draw(st.integers(min_value=0, max_value=16))
    if choice == 0:
        return _with_previous(
            {"type": "conversation.item.added", "event_id": "e", "item": draw(items(item_id))},
            draw(previous),
        )
    if choice == 1:
        return _with_previous(
            {"type": "conversation.item.done", "event_id": "e", "item": draw(items(item_id))},
            draw(previous),
        )
    if choice == 2:
        audio = base64.b64encode(draw(pcm)).decode()
        return {"type": "response.output_audio.delta", "item_id": item_id, "delta": audio, **common}
    if choice == 3:
        return {"type": "response.output_text.delta", "item_id": item_id, "delta": "t", **common}
    if choice == 4:
        return {
            "type": "response.output_audio_transcript.delta",
            "item_id": item_id,
            "delta": "w",
            **common,
        }
    if choice == 5:
        return {
            "type": "response.function_call_arguments.delta",
            "item_id": item_id,
            "call_id": "c",
            "delta": "{",
            **common,
        }
    if choice == 6:
        return {
            "type": "response.function_call_arguments.done",
            "item_id": item_id,
            "call_id": "c",
            "name": "f",
            "arguments": "{}",
            **common,
        }
    if choice == 7:
        return {
            "type": "conversation.item.truncated",
            "event_id": "e",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": draw(st.integers(0, 50)),
        }
    if choice == 8:
        return {"type": "conversation.item.deleted", "event_id": "e", "item_id": item_id}
    if choice == 9:
        return {
            "type": "conversation.item.input_audio_transcription.delta",
            "event_id": "e",
            "item_id": item_id,
            "content_index": 0,
            "delta": "s",
        }
    if choice == 10:
        return {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "e",
            "item_id": item_id,
            "content_index": 0,
            "transcript": "said",
            "usage": {"type": "duration", "seconds": 1.0},
        }
    if choice == 11:
        return {
            "type": "input_audio_buffer.speech_started",
            "event_id": "e",
            "item_id": item_id,
            "audio_start_ms": draw(st.integers(0, 100)),
        }
    if choice == 12:
        return {
            "type": "input_audio_buffer.speech_stopped",
            "event_id": "e",
            "item_id": item_id,
            "audio_end_ms": draw(st.integers(0, 200)),
        }
    if choice == 13:
        return _with_previous(
            {"type": "input_audio_buffer.committed", "event_id": "e", "item_id": item_id},
            draw(previous),
        )
    if choice == 14:
        return {
            "type": "response.output_item.added",
            "event_id": "e",
            "response_id": "resp_1",
            "output_index": 0,
            "item": draw(items(item_id)),
        }
    if choice == 15:
        status = draw(st.sampled_from(["in_progress", "completed", "cancelled", "failed"]))
        kind = "response.created" if status == "in_progress" else "response.done"
        return {"type": kind, "event_id": "e", "response": {"id": "resp_1", "status": status}}
    return {"type": "input_audio_buffer.cleared", "event_id": "e"}


@settings(max_examples=400, deadline=None)
@given(st.lists(server_events(), max_size=40), st.lists(pcm, max_size=5))
def test_any_event_sequence_keeps_the_cache_consistent(
    sequence: List[Dict[str, Any]], input_audio: List[bytes]
) -> None:
    conversation = RealtimeConversation(audio_retention_s=0.5, input_audio_retention_s=0.05)
    for chunk in input_audio:
        conversation.append_input_audio(chunk)
    introduced: Set[str] = set()
    completed: Set[str] = set()  # items completed in their current life (a delete ends one)
    for data in sequence:
        event = protocol.decode(json.dumps(data))  # the cache sees only typed events
        if data["type"] in (
            "conversation.item.added",
            "conversation.item.done",
        ):
            introduced.add(data["item"]["id"])
        for utility in conversation.process(event):  # never raises
            if isinstance(utility, ev.ConversationItemCompletedEvent):
                assert utility.item.id not in completed, "an item completed twice"
                completed.add(utility.item.id)
        listed = conversation.get_items()
        ids = [item.id for item in listed]
        assert len(ids) == len(set(ids)), "an item is listed twice"
        for item in listed:
            assert conversation.get_item(item.id) is item, "list and index disagree"
            assert len(item.formatted.audio_buffer) % 2 == 0, "PCM16 cut mid-sample"
        assert set(ids) <= introduced, "an item was invented for an orphan event"
        if data["type"] == "conversation.item.deleted":
            assert conversation.get_item(data["item_id"]) is None
            completed.discard(data["item_id"])
