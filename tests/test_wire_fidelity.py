"""Wire fidelity: unknown fields are kept and re-encoded, missing minor fields never drop an event.

* Every server event keeps the top-level fields it does not model in
  ``event.extra``; nested models keep theirs too; re-encoding gives the frame back.
* A missing *usually sent* field decodes as absent with a debug message; a
  missing *essential* field or a mistyped field is still a ProtocolError.
"""

from __future__ import annotations

import copy
import io
import json
import logging
import pickle
from typing import Any, Dict, Iterator, List, Tuple

import attrs
import pytest

from realtime_sync import events as ev
from realtime_sync import models as m
from realtime_sync import protocol
from realtime_sync.errors import ProtocolError
from tests.test_conformance import OFFICIAL_SERVER, SERVER_ADAPTER, _official_payloads

TEXT_DELTA: Dict[str, Any] = {
    "type": "response.output_text.delta",
    "event_id": "event_1",
    "response_id": "resp_1",
    "item_id": "item_1",
    "output_index": 0,
    "content_index": 0,
    "delta": "Hel",
    "obfuscation": "k3Xq9Zp",
    "foo": {"bar": [1, 2]},
}

TRANSCRIPTION_COMPLETED: Dict[str, Any] = {
    "type": "conversation.item.input_audio_transcription.completed",
    "event_id": "event_2",
    "item_id": "item_user",
    "content_index": 0,
    "transcript": "What's the weather like?",
    "usage": {"type": "duration", "seconds": 2.1},
}


@pytest.fixture
def fresh_absence_log(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Forget which absences were already reported (they are logged once per process)."""
    monkeypatch.setattr(protocol, "_absences_logged", set())
    yield


def _decode(payload: Dict[str, Any]) -> Any:
    return protocol.decode(json.dumps(payload))


# --------------------------------------------------------------------------- extras


def test_unknown_and_new_fields_are_kept_and_re_encoded() -> None:
    event = _decode(TEXT_DELTA)
    assert isinstance(event, ev.ResponseOutputTextDeltaEvent)
    assert event.delta == "Hel"
    assert event.obfuscation == "k3Xq9Zp"
    assert event.extra == {"foo": {"bar": [1, 2]}}
    assert event.extra["foo"] == {"bar": [1, 2]}
    assert "foo" in event.extra and len(event.extra) == 1
    assert protocol.encode_server_event(event) == TEXT_DELTA
    assert next(iter(protocol.encode_server_event(event))) == "type"
    assert {"type": event.type.value, **protocol.to_wire(event)} == TEXT_DELTA


def test_extra_is_empty_when_everything_is_modelled() -> None:
    payload = {k: v for k, v in TEXT_DELTA.items() if k != "foo"}
    event = _decode(payload)
    assert event.extra == {}
    assert event.extra is m.NO_EXTRA
    assert protocol.encode_server_event(event) == payload


def test_extra_is_read_only() -> None:
    event = _decode(TEXT_DELTA)
    with pytest.raises(TypeError):
        event.extra["foo"] = 1
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.extra = m.ExtraFields()


def test_events_built_in_code_need_no_extra() -> None:
    built = ev.ResponseOutputTextDeltaEvent(
        delta="Hel",
        item_id="item_1",
        event_id="event_1",
        response_id="resp_1",
        output_index=0,
        content_index=0,
        obfuscation="k3Xq9Zp",
    )
    assert built.extra == {}
    with_extra = attrs.evolve(built, extra=m.ExtraFields({"foo": {"bar": [1, 2]}}))
    assert with_extra == _decode(TEXT_DELTA)
    assert with_extra != built
    assert hash(with_extra) == hash(built)  # extras take no part in the hash
    assert "extra={'foo': {'bar': [1, 2]}}" in repr(with_extra)
    assert protocol.encode_server_event(with_extra) == TEXT_DELTA


def test_events_with_extras_copy_and_pickle() -> None:
    event = _decode(TEXT_DELTA)
    assert pickle.loads(pickle.dumps(event)) == event
    assert copy.deepcopy(event) == event
    assert copy.copy(event.extra) == event.extra


def test_a_wire_field_named_extra_is_an_extra() -> None:
    event = _decode({**TEXT_DELTA, "extra": 5})
    assert event.extra == {"foo": {"bar": [1, 2]}, "extra": 5}
    assert protocol.encode_server_event(event) == {**TEXT_DELTA, "extra": 5}


def test_a_modelled_field_wins_over_an_extra_of_the_same_name() -> None:
    event = ev.InputAudioBufferClearedEvent(
        event_id="e", extra=m.ExtraFields({"event_id": "x", "new": 1})
    )
    assert protocol.encode_server_event(event) == {
        "type": "input_audio_buffer.cleared",
        "event_id": "e",
        "new": 1,
    }


def test_nested_models_keep_their_unknown_fields() -> None:
    payload = {
        "type": "response.done",
        "event_id": "event_3",
        "response": {
            "id": "resp_1",
            "object": "realtime.response",
            "status": "completed",
            "future_response_field": "r",
            "output": [
                {
                    "id": "item_1",
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "future_item_field": 7,
                    "content": [
                        {"type": "output_audio", "transcript": "Hi.", "future_part_field": True}
                    ],
                }
            ],
            "usage": {"total_tokens": 3, "future_usage_field": {"a": 1}},
        },
    }
    event = _decode(payload)
    assert isinstance(event, ev.ResponseDoneEvent)
    assert event.extra == {}
    response = event.response
    assert response.extra == {"future_response_field": "r"}
    assert response.output is not None
    message = response.output[0]
    assert isinstance(message, m.ItemMessage)
    assert message.extra == {"future_item_field": 7}
    assert message.content[0].extra == {"future_part_field": True}
    assert response.usage is not None and response.usage.extra == {"future_usage_field": {"a": 1}}
    assert protocol.encode_server_event(event) == payload


def test_session_extras_survive_and_custom_voices_keep_theirs() -> None:
    session = {
        "type": "realtime",
        "id": "sess_1",
        "object": "realtime.session",
        "future_session_field": [1],
        "audio": {
            "output": {"voice": {"id": "voice_1", "future_voice_field": "v"}},
            "input": {"turn_detection": {"type": "semantic_vad", "future_vad_field": 1}},
        },
    }
    event = _decode({"type": "session.updated", "event_id": "e", "session": session})
    assert isinstance(event, ev.SessionUpdatedEvent)
    assert event.session.extra == {"future_session_field": [1]}
    assert event.session.audio is not None and event.session.audio.output is not None
    voice = event.session.audio.output.voice
    assert isinstance(voice, m.CustomVoice) and voice.extra == {"future_voice_field": "v"}
    assert protocol.to_wire(event.session) == session


def test_the_app_can_send_a_field_the_sdk_does_not_model() -> None:
    session = m.SessionConfig(instructions="Be brief.", extra=m.ExtraFields({"new_option": 1}))
    data = json.loads(protocol.encode(ev.SessionUpdateEvent(session=session)))
    assert data["session"] == {"type": "realtime", "instructions": "Be brief.", "new_option": 1}


def test_from_wire_keeps_extras_too() -> None:
    data = {k: v for k, v in TEXT_DELTA.items() if k != "type"}
    event = protocol.from_wire(ev.ResponseOutputTextDeltaEvent, data)
    assert event.extra == {"foo": {"bar": [1, 2]}}


def test_unknown_event_types_re_encode_as_received() -> None:
    raw = {"type": "session.brand_new_thing", "event_id": "e", "payload": [1]}
    event = _decode(raw)
    assert isinstance(event, ev.UnknownServerEvent)
    assert protocol.encode_server_event(event) == raw


def test_the_event_log_of_the_cli_includes_extras() -> None:
    from realtime_sync.cli import _event_logger

    out = io.StringIO()
    _event_logger(out, None)(ev.RealtimeEvent(source="server", event=_decode(TEXT_DELTA)))
    logged = json.loads(out.getvalue())["event"]
    assert logged["foo"] == {"bar": [1, 2]}
    assert logged["obfuscation"] == "k3Xq9Zp"


# --------------------------------------------------------------------------- live-server fields


def test_speech_started_with_audio_end_ms() -> None:
    payload = {
        "type": "input_audio_buffer.speech_started",
        "event_id": "event_4",
        "item_id": "item_user",
        "audio_start_ms": 1000,
        "audio_end_ms": 1500,
    }
    event = _decode(payload)
    assert isinstance(event, ev.InputAudioBufferSpeechStartedEvent)
    assert (event.audio_start_ms, event.audio_end_ms) == (1000, 1500)
    assert event.extra == {}
    assert protocol.encode_server_event(event) == payload
    without = _decode({k: v for k, v in payload.items() if k != "audio_end_ms"})
    assert isinstance(without, ev.InputAudioBufferSpeechStartedEvent)
    assert without.audio_end_ms is None


@pytest.mark.parametrize(
    "kind",
    [
        "response.output_text.delta",
        "response.output_audio_transcript.delta",
        "response.output_audio.delta",
        "response.function_call_arguments.delta",
        "response.mcp_call_arguments.delta",
        "conversation.item.input_audio_transcription.delta",
    ],
)
def test_deltas_model_obfuscation(kind: str) -> None:
    full = _official_payloads(kind)[-1]
    event = _decode({**full, "obfuscation": "pad"})
    assert event.obfuscation == "pad"
    assert event.extra == {}
    assert _decode({k: v for k, v in full.items() if k != "obfuscation"}).obfuscation is None


# --------------------------------------------------------------------------- lenient decoding


def test_transcription_without_usage_still_delivers_the_transcript(
    fresh_absence_log: None, caplog: pytest.LogCaptureFixture
) -> None:
    payload = {k: v for k, v in TRANSCRIPTION_COMPLETED.items() if k != "usage"}
    with caplog.at_level(logging.DEBUG, logger="realtime_sync"):
        event = _decode(payload)
        again = _decode(payload)
    assert isinstance(event, ev.ConversationItemInputAudioTranscriptionCompletedEvent)
    assert event.transcript == "What's the weather like?"
    assert event.item_id == "item_user"
    assert event.usage is None
    assert again == event
    messages = [r.getMessage() for r in caplog.records if r.name == "realtime_sync"]
    assert len(messages) == 1  # once, not once per frame
    assert "input_audio_transcription.completed without usage" in messages[0]
    assert protocol.encode_server_event(event) == payload


def test_transcription_with_usage() -> None:
    event = _decode(TRANSCRIPTION_COMPLETED)
    assert isinstance(event, ev.ConversationItemInputAudioTranscriptionCompletedEvent)
    assert event.usage == m.TranscriptionUsage(type="duration", seconds=2.1)


def test_a_delta_without_its_locators_is_delivered() -> None:
    event = _decode({"type": "response.output_audio.delta", "item_id": "item_1", "delta": "AAAA"})
    assert isinstance(event, ev.ResponseOutputAudioDeltaEvent)
    assert (event.item_id, event.delta) == ("item_1", "AAAA")
    assert (event.event_id, event.response_id, event.output_index, event.content_index) == (
        "",
        None,
        None,
        None,
    )


@pytest.mark.parametrize(
    ("kind", "field", "value"),
    [
        ("response.output_text.delta", "output_index", "zero"),
        ("response.output_text.delta", "response_id", 3),
        ("response.output_text.delta", "obfuscation", 3),
        ("conversation.item.input_audio_transcription.completed", "usage", "lots"),
        ("input_audio_buffer.speech_started", "audio_end_ms", "late"),
    ],
)
def test_a_mistyped_minor_field_is_still_an_error(kind: str, field: str, value: Any) -> None:
    payload = {**_official_payloads(kind)[-1], field: value}
    with pytest.raises(ProtocolError) as info:
        _decode(payload)
    assert info.value.event_type == kind
    assert info.value.field == field


def _fields_of(kind_fields: str) -> List[Tuple[str, str]]:
    out: List[Tuple[str, str]] = []
    for kind, cls in sorted(ev.SERVER_EVENT_CLASSES.items()):
        names = ev.essential_fields(cls) if kind_fields == "essential" else ev.usually_sent(cls)
        out.extend((kind, name) for name in sorted(names))
    return out


@pytest.mark.parametrize(("kind", "field"), _fields_of("essential"))
def test_a_missing_essential_field_is_an_error(kind: str, field: str) -> None:
    payload = dict(_official_payloads(kind)[-1])
    del payload[field]
    with pytest.raises(ProtocolError) as info:
        _decode(payload)
    assert info.value.event_type == kind
    assert info.value.field == field


@pytest.mark.parametrize(("kind", "field"), _fields_of("usual"))
def test_a_missing_usually_sent_field_decodes_as_absent(
    kind: str, field: str, fresh_absence_log: None, caplog: pytest.LogCaptureFixture
) -> None:
    full = _official_payloads(kind)[-1]
    payload = {k: v for k, v in full.items() if k != field}
    with caplog.at_level(logging.DEBUG, logger="realtime_sync"):
        event = _decode(payload)
    cls = ev.SERVER_EVENT_CLASSES[kind]
    assert isinstance(event, ev.ServerEvent) and type(event) is cls
    default = attrs.fields_dict(cls)[field].default
    assert getattr(event, field) == default and default in ("", None)
    assert event == attrs.evolve(_decode(full), **{field: default})
    assert protocol.encode_server_event(event) == payload
    assert any(f"{kind} without {field}" in r.getMessage() for r in caplog.records)


def test_the_classification_is_documented_per_class() -> None:
    for cls in ev.SERVER_EVENT_CLASSES.values():
        essential, usual = ev.essential_fields(cls), ev.usually_sent(cls)
        assert not essential & usual
        assert "extra" not in essential | usual


# --------------------------------------------------------------------------- every event type


@pytest.mark.parametrize("kind", sorted(OFFICIAL_SERVER))
def test_every_event_keeps_everything_round_trip(kind: str) -> None:
    for payload in _official_payloads(kind):
        wire = {**payload, "future_field": {"nested": [1, None, "x"]}}
        event = _decode(wire)
        assert isinstance(event, ev.ServerEvent) and type(event) is ev.SERVER_EVENT_CLASSES[kind]
        assert event.extra == {"future_field": {"nested": [1, None, "x"]}}
        again = protocol.encode_server_event(event)
        assert again == wire
        # without the invented field, it is still what the official model accepts
        SERVER_ADAPTER.validate_python({k: v for k, v in again.items() if k != "future_field"})
