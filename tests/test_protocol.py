"""The converter: decode errors, unknown types, open enums, and property tests."""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_sync import events as ev
from realtime_sync import models as m
from realtime_sync import protocol
from realtime_sync.errors import ProtocolError

AUDIO_DELTA = {
    "type": "response.output_audio.delta",
    "event_id": "event_1",
    "response_id": "resp_1",
    "item_id": "item_1",
    "output_index": 0,
    "content_index": 0,
    "delta": "AAAA",
}


def test_audio_delta_stays_base64_text() -> None:
    event = protocol.decode(json.dumps(AUDIO_DELTA))
    assert isinstance(event, ev.ResponseOutputAudioDeltaEvent)
    assert event.delta == "AAAA"
    assert event.type is ev.RealtimeEventType.RESPONSE_OUTPUT_AUDIO_DELTA


def test_decode_accepts_bytes() -> None:
    event = protocol.decode(json.dumps(AUDIO_DELTA).encode())
    assert isinstance(event, ev.ResponseOutputAudioDeltaEvent)


def test_unknown_type_keeps_raw_data() -> None:
    raw = {"type": "session.brand_new_thing", "event_id": "e", "payload": [1, 2]}
    event = protocol.decode(json.dumps(raw))
    assert isinstance(event, ev.UnknownServerEvent)
    assert event.type == "session.brand_new_thing"
    assert event.data == raw
    assert event.event_id == "e"


@pytest.mark.parametrize(
    ("field", "value"),
    [("output_index", "zero"), ("delta", 5), ("item_id", None), ("content_index", True)],
)
def test_mistyped_field_names_event_and_field(field: str, value: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        protocol.decode(json.dumps({**AUDIO_DELTA, field: value}))
    assert info.value.event_type == "response.output_audio.delta"
    assert info.value.field == field
    assert field in str(info.value)


def test_missing_field_names_it() -> None:
    data = dict(AUDIO_DELTA)
    del data["delta"]
    with pytest.raises(ProtocolError) as info:
        protocol.decode(json.dumps(data))
    assert info.value.field == "delta"
    assert "required field missing" in str(info.value)


def test_nested_field_path_is_named() -> None:
    data = {
        "type": "conversation.item.done",
        "event_id": "e",
        "item": {"type": "message", "role": "user", "content": [{"type": "input_text", "text": 3}]},
    }
    with pytest.raises(ProtocolError) as info:
        protocol.decode(json.dumps(data))
    assert info.value.field == "item.content[0].text"


@pytest.mark.parametrize("text", ["", "{", "[]", "3", '"x"', '{"type": 4}', "{}", "\x00"])
def test_garbage_raises_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode(text)


def test_open_enums_accept_new_values() -> None:
    data = {
        "type": "response.done",
        "event_id": "e",
        "response": {"id": "r", "status": "paused_for_lunch", "output": []},
    }
    event = protocol.decode(json.dumps(data))
    assert isinstance(event, ev.ResponseDoneEvent)
    assert event.response.status is not None
    assert event.response.status.value == "paused_for_lunch"
    assert m.Voice("brand-new") == "brand-new"


def test_unknown_item_types_are_generic_and_round_trip() -> None:
    item = {
        "type": "mcp_call",
        "id": "mcp_1",
        "name": "search",
        "arguments": "{}",
        "server_label": "s",
    }
    event = protocol.decode(
        json.dumps({"type": "conversation.item.added", "event_id": "e", "item": item})
    )
    assert isinstance(event, ev.ConversationItemAddedEvent)
    assert isinstance(event.item, m.GenericItem)
    assert event.item.id == "mcp_1"
    assert protocol.to_wire(event.item) == item


def test_null_versus_absent_on_nullable_fields() -> None:
    base = {"type": "session.updated", "event_id": "e"}
    off = protocol.decode(
        json.dumps(
            {**base, "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}}}
        )
    )
    absent = protocol.decode(
        json.dumps({**base, "session": {"type": "realtime", "audio": {"input": {}}}})
    )
    assert isinstance(off, ev.SessionUpdatedEvent) and isinstance(absent, ev.SessionUpdatedEvent)
    assert off.session.audio and off.session.audio.input
    assert off.session.audio.input.turn_detection is None
    assert absent.session.audio and absent.session.audio.input
    assert absent.session.audio.input.turn_detection is m.NOT_GIVEN


def test_from_wire_raises_protocol_error() -> None:
    with pytest.raises(ProtocolError):
        protocol.from_wire(m.TurnDetection, {"type": "server_vad", "threshold": "high"})


def test_turn_detection_rejects_mixed_parameters() -> None:
    with pytest.raises(ValueError, match="SEMANTIC_VAD"):
        m.TurnDetection(type=m.TurnDetectionType.SEMANTIC_VAD, threshold=0.3)
    with pytest.raises(ValueError, match="eagerness"):
        m.TurnDetection(eagerness=m.Eagerness.HIGH)


def test_legacy_audio_format_names() -> None:
    assert m.AudioFormat.from_legacy("pcm16") == m.AudioFormat(
        type=m.AudioFormatType.PCM, rate=24000
    )
    assert m.AudioFormat.from_legacy("g711_alaw").type == m.AudioFormatType.PCMA
    with pytest.raises(ValueError, match="pcm16"):
        m.AudioFormat.from_legacy("mp3")


# --------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
known_types = st.sampled_from(sorted(ev.SERVER_EVENT_CLASSES))
field_names = st.sampled_from(
    [
        "event_id",
        "item_id",
        "response_id",
        "delta",
        "item",
        "response",
        "session",
        "error",
        "output_index",
        "content_index",
        "audio_start_ms",
        "transcript",
        "part",
        "rate_limits",
    ]
)


def _check(obj: Any) -> None:
    try:
        event = protocol.decode(json.dumps(obj))
    except ProtocolError:
        return
    assert isinstance(event, (ev.ServerEvent, ev.UnknownServerEvent))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_decodes_or_raises_protocol_error(value: Any) -> None:
    _check(value)


@settings(max_examples=400, deadline=None)
@given(known_types, st.dictionaries(field_names, json_values, max_size=8))
def test_known_types_with_arbitrary_fields(kind: str, fields: Any) -> None:
    _check({**fields, "type": kind})


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_escape(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        protocol.decode(data)
