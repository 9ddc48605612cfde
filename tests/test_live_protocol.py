"""The Live wire format: decode errors, unknown types and fields, commands, property tests."""

from __future__ import annotations

import contextlib
import json
import logging
import subprocess
import sys
from typing import Any, Dict

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_sync import events as rt_events
from realtime_sync import live, protocol
from realtime_sync.errors import ProtocolError
from realtime_sync.live import client_events as lc
from realtime_sync.live import server_events as ls
from realtime_sync.models import ExtraFields

TRANSCRIPT = {
    "type": "session.output_transcript.delta",
    "event_id": "event_1",
    "delta": "Hello",
    "start_ms": 1200,
    "end_ms": 1500,
}


def _decode(frame: Dict[str, Any]) -> Any:
    return protocol.decode_live(json.dumps(frame))


# --------------------------------------------------------------------------- decoding


def test_transcript_delta_and_its_fragment() -> None:
    event = _decode(TRANSCRIPT)
    assert isinstance(event, ls.OutputTranscriptDeltaEvent)
    assert event.type is live.LiveEventType.SESSION_OUTPUT_TRANSCRIPT_DELTA
    assert event.fragment == live.TranscriptFragment(
        live.TranscriptSource.OUTPUT, "Hello", 1200, 1500, "event_1"
    )
    user = _decode({**TRANSCRIPT, "type": "session.input_transcript.delta"})
    assert isinstance(user, ls.InputTranscriptDeltaEvent)
    assert user.fragment.source is live.TranscriptSource.INPUT


def test_decode_accepts_bytes() -> None:
    assert isinstance(
        protocol.decode_live(json.dumps(TRANSCRIPT).encode()), ls.OutputTranscriptDeltaEvent
    )


def test_primary_output_audio_has_no_event_id_or_times() -> None:
    event = _decode({"type": "session.output_audio.delta", "delta": "AAAA"})
    assert isinstance(event, ls.OutputAudioDeltaEvent)
    assert (event.delta, event.event_id, event.start_ms, event.end_ms) == ("AAAA", "", None, None)
    assert protocol.encode_live_server_event(event) == {
        "type": "session.output_audio.delta",
        "delta": "AAAA",
    }


def test_reflected_input_audio_is_a_server_event() -> None:
    event = _decode({"type": "session.input_audio.append", "audio": "AAAA"})
    assert isinstance(event, ls.SessionInputAudioAppendEvent)
    assert event.audio == "AAAA"


def test_unknown_type_keeps_raw_data() -> None:
    raw = {"type": "session.brand_new", "event_id": "e", "payload": [1, 2]}
    event = _decode(raw)
    assert isinstance(event, live.UnknownLiveEvent)
    assert (event.type, event.data, event.event_id) == ("session.brand_new", raw, "e")
    assert protocol.encode_live_server_event(event) == raw
    assert live.UnknownLiveEvent("x", {"event_id": 3}).event_id == ""


def test_the_two_protocols_do_not_mix() -> None:
    realtime_frame = {"type": "response.output_audio.delta", "item_id": "i", "delta": "AAAA"}
    assert isinstance(_decode(realtime_frame), live.UnknownLiveEvent)
    assert isinstance(protocol.decode(json.dumps(TRANSCRIPT)), rt_events.UnknownServerEvent)
    # "error" is both: each decoder gives its own class
    live_error = _decode({"type": "error", "event_id": "e", "error": {"message": "m"}})
    assert isinstance(live_error, ls.ErrorEvent)
    rt_error = protocol.decode(json.dumps({"type": "error", "event_id": "e", "error": {}}))
    assert isinstance(rt_error, rt_events.ErrorEvent)
    assert not set(protocol._server_specs.values()) & set(protocol._live_server_specs.values())


@pytest.mark.parametrize(
    ("field", "value"),
    [("delta", 5), ("start_ms", "soon"), ("event_id", None), ("client_event_id", 3)],
)
def test_mistyped_field_names_event_and_field(field: str, value: Any) -> None:
    with pytest.raises(ProtocolError) as info:
        _decode({**TRANSCRIPT, field: value})
    assert info.value.event_type == "session.output_transcript.delta"
    assert info.value.field == field


def test_missing_essential_field_names_it() -> None:
    frame = dict(TRANSCRIPT)
    del frame["delta"]
    with pytest.raises(ProtocolError) as info:
        _decode(frame)
    assert info.value.field == "delta"
    assert "required field missing" in str(info.value)


def test_nested_field_path_is_named() -> None:
    frame = {
        "type": "decision.item.created",
        "event_id": "e",
        "item": {"id": "d", "role": "user", "content": [{"type": "input_text", "text": 3}]},
    }
    with pytest.raises(ProtocolError) as info:
        _decode(frame)
    assert info.value.field == "item.content[0].text"


def test_missing_usually_sent_fields_decode_as_absent(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="realtime_sync")
    event = _decode({"type": "session.commentary.appended", "client_event_id": "evt_c"})
    assert isinstance(event, ls.CommentaryAppendedEvent)
    assert (event.event_id, event.start_ms, event.end_ms) == ("", None, None)
    assert event.client_event_id == "evt_c"
    assert "session.commentary.appended without end_ms, event_id, start_ms" in caplog.text
    closed = _decode({"type": "session.closed"})
    assert isinstance(closed, ls.SessionClosedEvent)
    assert closed.reason is None and closed.usage is None


@pytest.mark.parametrize("text", ["", "{", "[]", "3", '"x"', '{"type": 4}', "{}", "\x00"])
def test_garbage_raises_protocol_error(text: str) -> None:
    with pytest.raises(ProtocolError):
        protocol.decode_live(text)


def test_open_enums_accept_new_values() -> None:
    frame = {
        "type": "session.closed",
        "event_id": "e",
        "reason": "power_cut",
        "session": {"id": "s", "status": "archived", "audio": {"output": {"voice": "nova-9"}}},
        "usage": {"seconds": 3},
    }
    event = _decode(frame)
    assert isinstance(event, ls.SessionClosedEvent)
    assert event.reason is not None and event.reason.value == "power_cut"
    assert event.session is not None and event.session.audio is not None
    assert event.session.audio.output is not None
    assert event.session.audio.output.voice == "nova-9"
    assert event.usage == live.SessionUsage(seconds=3.0)
    assert protocol.encode_live_server_event(event) == {**frame, "usage": {"seconds": 3.0}}


def test_unknown_delegation_tool_and_decision_item_kinds_are_kept() -> None:
    delegation = {"type": "agents", "agents": {"model": "x"}}
    tool = {"type": "future_tool", "depth": 3}
    session = {
        "id": "s",
        "delegation": {"type": "responses", "responses": {"model": "m", "tools": [tool]}},
    }
    started = _decode({"type": "session.started", "event_id": "e", "session": session})
    assert isinstance(started, ls.SessionStartedEvent)
    backend = started.session.delegation
    assert isinstance(backend, live.ResponsesDelegation)
    assert backend.responses.tools == [live.GenericTool("future_tool", tool)]
    other = _decode(
        {
            "type": "session.updated",
            "event_id": "e",
            "session": {"id": "s", "delegation": delegation},
        }
    )
    assert isinstance(other, ls.SessionUpdatedEvent)
    assert other.session.delegation == live.GenericDelegation("agents", delegation)
    assert protocol.to_wire(other.session) == {"id": "s", "delegation": delegation}
    item = {"type": "reasoning", "id": "r", "summary": []}
    created = _decode({"type": "decision.item.created", "event_id": "e", "item": item})
    assert isinstance(created, ls.DecisionItemCreatedEvent)
    assert created.item == live.GenericItem("reasoning", item)


def test_decision_messages_without_a_type_are_messages() -> None:
    frame = {
        "type": "decision.item.created",
        "event_id": "e",
        "client_event_id": "evt_1",
        "item": {"id": "d1", "role": "developer", "content": "Be strict."},
    }
    event = _decode(frame)
    assert isinstance(event, ls.DecisionItemCreatedEvent)
    assert event.item == live.DecisionMessage(
        role=live.LiveRole.DEVELOPER, content="Be strict.", id="d1"
    )
    assert protocol.encode_live_server_event(event) == frame


def test_choice_values_keep_their_json_type() -> None:
    for value in ("yes", True):
        option = protocol.from_wire(live.DecisionChoiceOption, {"value": value})
        assert option.value == value and type(option.value) is type(value)
    for bad in (1, None, 1.5, ["yes"]):
        with pytest.raises(ProtocolError):
            protocol.from_wire(live.DecisionChoiceOption, {"value": bad})
    assert (
        protocol.from_wire(live.DecisionAnswerProbability, {"probability": 1, "value": 2.0}).value
        == 2
    )


def test_data_channel_permissions() -> None:
    every = protocol.from_wire(
        live.DataChannelConfig, {"allowed_client_events": "all", "allowed_server_events": []}
    )
    assert every == live.DataChannelConfig(allowed_client_events="all", allowed_server_events=[])
    with pytest.raises(ProtocolError):
        protocol.from_wire(live.DataChannelConfig, {"allowed_client_events": "some"})
    with pytest.raises(ProtocolError):
        protocol.from_wire(live.DataChannelConfig, {"allowed_server_events": [{"kind": "x"}]})


def test_extras_are_kept_and_re_encoded() -> None:
    frame = {**TRANSCRIPT, "obfuscation": "xyz", "speaker": {"id": 1}}
    event = _decode(frame)
    assert event.extra == {"obfuscation": "xyz", "speaker": {"id": 1}}
    assert protocol.encode_live_server_event(event) == frame
    assert not _decode(TRANSCRIPT).extra


# --------------------------------------------------------------------------- commands


def test_context_commands_send_a_null_delegation_id() -> None:
    for cls in (lc.CommentaryAppendEvent, lc.ThinkingAppendEvent, lc.InstructionsAppendEvent):
        assert json.loads(protocol.encode_live(cls(content="hi"))) == {
            "type": cls.type.value,
            "content": "hi",
            "delegation_id": None,
        }
        assert protocol.encode_live_dict(cls(content="ok", delegation_id="del_1")) == {
            "type": cls.type.value,
            "content": "ok",
            "delegation_id": "del_1",
        }


def test_session_start_puts_the_model_in_the_message() -> None:
    event = lc.SessionStartEvent(
        session=live.SessionConfig(model=live.LiveModel.GPT_LIVE_1), event_id="evt_1"
    )
    assert json.loads(protocol.encode_live(event)) == {
        "type": "session.start",
        "session": {"model": "gpt-live-1"},
        "event_id": "evt_1",
    }
    assert protocol.encode_live_dict(lc.ForkSessionStartEvent()) == {
        "type": "session.start",
        "session": {},
    }


def test_triggers_can_be_cleared_with_an_empty_list() -> None:
    update = lc.SessionUpdateEvent(session=live.SessionUpdateConfig(triggers=[]))
    assert protocol.encode_live_dict(update) == {
        "type": "session.update",
        "session": {"triggers": []},
    }


def test_decision_create_always_has_a_fresh_event_id() -> None:
    a, b = lc.DecisionCreateEvent(), lc.DecisionCreateEvent()
    assert a.event_id.startswith("evt_") and a.event_id != b.event_id
    assert protocol.encode_live_dict(lc.DecisionCreateEvent("evt_x")) == {
        "type": "decision.create",
        "event_id": "evt_x",
    }


def test_audio_commands_encode_raw_bytes() -> None:
    assert lc.InputAudioAppendEvent.from_audio(b"\x01\x02\x03\x04").audio == "AQIDBA=="
    assert lc.OutputAudioFixturePlayEvent.from_audio("AAAA").audio == "AAAA"


def test_dtmf_keys_are_checked() -> None:
    for key in "0123456789ABCD*#":
        assert lc.TransportDtmfSendEvent(event=key).event == key
    for bad in ("", "E", "12", "a"):
        with pytest.raises(ValueError, match="DTMF"):
            lc.TransportDtmfSendEvent(event=bad)


def test_audio_formats() -> None:
    assert live.AudioFormat.pcm16() == live.AudioFormat(live.AudioFormatType.PCM, 24000)
    assert live.AudioFormat.pcm16(16000).rate == 16000
    assert live.AudioFormat.g711_ulaw() == live.AudioFormat(live.AudioFormatType.PCMU, 8000)
    assert live.AudioFormat.g711_alaw().type is live.AudioFormatType.PCMA
    with pytest.raises(ValueError, match="16000 or 24000"):
        live.AudioFormat.pcm16(8000)


def test_the_app_can_send_a_field_the_sdk_does_not_model() -> None:
    config = live.SessionConfig(model="gpt-live-1", extra=ExtraFields({"beta_flag": True}))
    event = lc.SessionStartEvent(session=config)
    assert protocol.encode_live_dict(event)["session"] == {"model": "gpt-live-1", "beta_flag": True}


def test_models_are_frozen() -> None:
    event = lc.CommentaryAppendEvent(content="x")
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.content = "y"  # type: ignore[misc]


# --------------------------------------------------------------------------- installation


def _fresh(code: str) -> str:
    """Run ``code`` in a new interpreter after ``import realtime_sync``; its last output word."""
    prologue = (
        "import sys, realtime_sync\n"
        "from realtime_sync import protocol\n"
        "if 'realtime_sync.live' in sys.modules:\n"
        "    print('eager')\n"
        "    raise SystemExit\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", prologue + code + "print('ok')\n"],
        check=True,
        timeout=120,
        capture_output=True,
        text=True,
    )
    status = done.stdout.split()[-1]
    if status == "eager":
        pytest.skip("a module of the package imports realtime_sync.live at startup")
    return status


def test_realtime_only_apps_do_not_load_live_and_live_loads_on_first_use() -> None:
    code = (
        "assert not protocol._live_server_specs\n"
        'event = protocol.decode_live(\'{"type": "session.paused", "event_id": "e"}\')\n'
        "assert type(event).__name__ == 'SessionPausedEvent', event\n"
        "assert 'realtime_sync.live' in sys.modules\n"
    )
    assert _fresh(code) == "ok"


def test_unknown_type_before_install_still_installs() -> None:
    code = (
        'event = protocol.decode_live(\'{"type": "nope"}\')\n'
        "assert type(event).__name__ == 'UnknownLiveEvent', event\n"
        "assert protocol._live_server_specs\n"
    )
    assert _fresh(code) == "ok"


def test_the_fast_path_takes_the_usual_frames() -> None:
    spec = protocol._live_server_specs["session.output_transcript.delta"]
    assert spec.fast(dict(TRANSCRIPT)) == _decode(TRANSCRIPT)
    with pytest.raises(KeyError):
        spec.fast({"type": TRANSCRIPT["type"], "delta": "x"})  # left to the lenient path


# --------------------------------------------------------------------------- properties

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=20,
)
known_types = st.sampled_from(sorted(ls.SERVER_EVENT_CLASSES))
field_names = st.sampled_from(
    sorted(
        {f.name for cls in ls.SERVER_EVENT_CLASSES.values() for f in attrs.fields(cls)} - {"extra"}
    )
)
nested_names = st.sampled_from(
    [
        "id",
        "type",
        "role",
        "content",
        "delegation",
        "responses",
        "decisions",
        "tools",
        "questions",
        "answers",
        "decision",
        "audio",
        "format",
        "output",
        "voice",
        "triggers",
        "seconds",
        "target",
        "value",
        "choices",
        "data",
        "client",
        "data_channel",
        "allowed_server_events",
    ]
)
nested_objects = st.recursive(
    json_values,
    lambda children: (
        st.dictionaries(nested_names, children, max_size=5) | st.lists(children, max_size=3)
    ),
    max_leaves=30,
)


def _check(obj: Any) -> None:
    try:
        event = protocol.decode_live(json.dumps(obj))
    except ProtocolError:
        return
    assert isinstance(event, (live.LiveServerEvent, live.UnknownLiveEvent))
    again = protocol.encode_live_server_event(event)
    assert again["type"] == obj["type"]


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_any_json_decodes_or_raises_protocol_error(value: Any) -> None:
    _check(value)


@settings(max_examples=500, deadline=None)
@given(known_types, st.dictionaries(field_names, nested_objects, max_size=8))
def test_known_types_with_arbitrary_fields(kind: str, fields: Any) -> None:
    _check({**fields, "type": kind})


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=64))
def test_arbitrary_bytes_never_escape(data: bytes) -> None:
    with contextlib.suppress(ProtocolError):
        protocol.decode_live(data)
