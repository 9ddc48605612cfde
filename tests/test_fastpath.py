"""The generated decoders (realtime_sync._fastpath) against the cattrs path they stand in for.

``protocol.decode`` tries a generated function per event class first and
falls back to cattrs when it raises. These tests decode the same frames both
ways, the real ``decode`` and the cattrs path alone, and require equal events
(type, fields, extras, repr) or the same ProtocolError (message, event type,
field): for the official payloads of every server event, for hypothesis
mutations of them (missing fields, wrong types, unknown fields), and for the
hand-built ``input_audio_buffer.append`` encoder.
"""

from __future__ import annotations

import copy
import enum
import json
import pickle
import typing
from typing import Any, Dict, List, Optional, Tuple, Union

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_sync import _fastpath, protocol
from realtime_sync import events as ev
from realtime_sync.errors import ProtocolError
from tests.test_conformance import OFFICIAL_SERVER, _official_payloads
from tests.test_protocol import AUDIO_DELTA

HOT = [
    "response.output_audio.delta",
    "response.output_audio_transcript.delta",
    "response.output_text.delta",
    "response.function_call_arguments.delta",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "input_audio_buffer.cleared",
]


def _spec(kind: str) -> Any:
    spec = protocol._realtime_spec_missing(kind)
    assert spec is not None
    return spec


def _by_cattrs(obj: Dict[str, Any]) -> Any:
    """The decode of ``obj`` without the generated function: cattrs, as the fallback does."""
    kind = obj["type"]
    return protocol._decode_leniently(kind, obj, _spec(kind))


Outcome = Tuple[str, Any]


def _outcome(decode: Any, obj: Dict[str, Any]) -> Outcome:
    try:
        event = decode(obj)
    except ProtocolError as exc:
        return ("error", (str(exc), exc.event_type, exc.field))
    return ("event", (type(event), event, dict(event.extra), repr(event)))


def _assert_same(obj: Dict[str, Any], decode: Any = protocol.decode, tables: Any = None) -> Outcome:
    """``decode`` of ``obj``'s text gives what cattrs gives (the spec from ``tables``)."""
    text = json.dumps(obj)
    fast = _outcome(decode, text)

    def by_cattrs(t: str) -> Any:
        # Parsed by the same backend (orjson reads an integer beyond 64 bits as a float).
        parsed = protocol.loads(t)
        kind = parsed["type"]
        spec = _spec(kind) if tables is None else tables[kind]
        return protocol._decode_leniently(kind, parsed, spec)

    assert fast == _outcome(by_cattrs, text), obj
    return fast


# --------------------------------------------------------------------------- every class


@pytest.mark.parametrize("kind", sorted(OFFICIAL_SERVER))
def test_official_payloads_decode_alike(kind: str) -> None:
    for payload in _official_payloads(kind):
        assert _assert_same(payload)[0] == "event"
        for extra in ({"future": [1, {"x": None}]}, {"extra": "a wire field named extra"}):
            wire = {**payload, **extra}
            got = _assert_same(wire)
            assert got[0] == "event" and got[1][2] == extra


@pytest.mark.parametrize("kind", sorted(OFFICIAL_SERVER))
def test_the_usual_frame_takes_the_generated_function(kind: str) -> None:
    spec = _spec(kind)
    full = _official_payloads(kind)[-1]
    usual = ev.usually_sent(spec.cls) | ev.essential_fields(spec.cls)
    if not usual <= set(full):
        pytest.skip(f"the official sample of {kind} lacks a usually-sent field")
    assert spec.fast(copy.deepcopy(full)) == _by_cattrs(copy.deepcopy(full))


@pytest.mark.parametrize("kind", HOT)
def test_hot_events_are_filled_through_their_slots(kind: str) -> None:
    cls = ev.SERVER_EVENT_CLASSES[kind]
    assert _fastpath._fills_by_slots(cls)
    event = _spec(kind).fast(copy.deepcopy(_official_payloads(kind)[-1]))
    assert pickle.loads(pickle.dumps(event)) == event
    assert hash(event) == hash(copy.copy(event))
    assert attrs.evolve(event) == event
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        event.event_id = "x"  # type: ignore[misc]


# --------------------------------------------------------------------------- bad input

AUDIO = AUDIO_DELTA


@pytest.mark.parametrize(
    "change",
    [
        {"delta": 3},  # wrong type, essential field
        {"item_id": None},
        {"output_index": "0"},  # wrong type, usually-sent field
        {"output_index": 1.0},  # an integral float is an int, on both paths
        {"output_index": 1.5},
        {"content_index": True},
        {"response_id": None},
        {"obfuscation": 7},
        {"obfuscation": None},
        {"event_id": None},
        {"unknown": {"kept": True}},
    ],
)
def test_bad_fields_fail_alike(change: Dict[str, Any]) -> None:
    _assert_same({**AUDIO, **change})


@pytest.mark.parametrize("missing", sorted(set(AUDIO) - {"type"}))
def test_missing_fields_fail_or_decode_alike(missing: str) -> None:
    outcome = _assert_same({k: v for k, v in AUDIO.items() if k != missing})
    if missing in ("delta", "item_id"):
        assert outcome[0] == "error" and outcome[1][2] == missing
    else:
        assert outcome[0] == "event"


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)  # what orjson reads as integers
    | st.floats(allow_nan=False, allow_infinity=False)  # JSON has neither
    | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3)
    ),
    max_leaves=8,
)


@st.composite
def mutated_frames(draw: Any) -> Dict[str, Any]:
    kind = draw(st.sampled_from(HOT + sorted(OFFICIAL_SERVER)))
    frame: Dict[str, Any] = copy.deepcopy(draw(st.sampled_from(_official_payloads(kind))))
    names = sorted(set(frame) - {"type"} | {"event_id", "item_id", "delta", "obfuscation"})
    for name in draw(st.lists(st.sampled_from(names), max_size=3)):
        if draw(st.booleans()):
            frame.pop(name, None)
        else:
            frame[name] = draw(json_values)
    frame.update(draw(st.dictionaries(st.sampled_from(["x", "extra", "zz"]), json_values)))
    return frame


@settings(max_examples=400, deadline=None)
@given(mutated_frames())
def test_mutated_frames_decode_or_fail_alike(frame: Dict[str, Any]) -> None:
    _assert_same(frame)


# --------------------------------------------------------------------------- GPT-Live

# realtime_sync.live needs nothing from openai-python: these run on Python 3.9 too.


def _sample(tp: Any) -> Any:
    """A JSON value of a primitive field type (``NotImplemented`` for nested models)."""
    if typing.get_origin(tp) is Union:
        tp = next(a for a in typing.get_args(tp) if a is not type(None))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return next(iter(tp)).value
    return {str: "s_1", int: 7, float: 0.5, bool: True}.get(tp, NotImplemented)


def _live_frames() -> List[Dict[str, Any]]:
    import realtime_sync.live  # noqa: F401 - installs the Live table
    from realtime_sync.live.server_events import SERVER_EVENT_CLASSES as LIVE

    frames = []
    for kind, cls in sorted(LIVE.items()):
        attrs.resolve_types(cls)
        values = {f.name: _sample(f.type) for f in attrs.fields(cls) if f.name != "extra"}
        if NotImplemented not in values.values():
            frames.append({"type": kind, **values})
    return frames


LIVE_FRAMES = _live_frames()


def _assert_same_live(obj: Dict[str, Any]) -> Outcome:
    return _assert_same(obj, protocol.decode_live, protocol._live_server_specs)


def test_live_hot_events_decode_alike_and_through_their_slots() -> None:
    kinds = {f["type"] for f in LIVE_FRAMES}
    assert {"session.output_audio.delta", "session.output_transcript.delta"} <= kinds
    for frame in LIVE_FRAMES:
        assert _assert_same_live(frame)[0] == "event"
        assert _assert_same_live({**frame, "future": 1})[1][2] == {"future": 1}
    spec = protocol._live_server_specs["session.output_audio.delta"]
    assert _fastpath._fills_by_slots(spec.cls)


@st.composite
def mutated_live_frames(draw: Any) -> Dict[str, Any]:
    frame = dict(draw(st.sampled_from(LIVE_FRAMES)))
    for name in draw(st.lists(st.sampled_from(sorted(frame)), max_size=3)):
        if name == "type":
            continue
        if draw(st.booleans()):
            frame.pop(name, None)
        else:
            frame[name] = draw(json_values)
    frame.update(draw(st.dictionaries(st.sampled_from(["x", "extra"]), json_values)))
    return frame


@settings(max_examples=300, deadline=None)
@given(mutated_live_frames())
def test_mutated_live_frames_decode_or_fail_alike(frame: Dict[str, Any]) -> None:
    _assert_same_live(frame)


# --------------------------------------------------------------------------- other classes


def test_a_class_with_a_validator_is_built_through_its_init() -> None:
    seen: List[str] = []

    @attrs.frozen
    class Checked(ev.ServerEvent):
        item_id: str = attrs.field(default="zz", validator=attrs.validators.min_len(2))

        def __attrs_post_init__(self) -> None:
            seen.append(self.item_id)

    assert not _fastpath._fills_by_slots(Checked)
    structure = protocol._fast_server_structure(protocol.converter, Checked)
    event = structure({"type": "x", "event_id": "e", "item_id": "ab"})
    assert event == Checked(item_id="ab", event_id="e") and seen == ["ab", "ab"]
    with pytest.raises(ValueError):
        structure({"type": "x", "event_id": "e", "item_id": "a"})


# --------------------------------------------------------------------------- encoding the append


def _stdlib_text(audio: str, event_id: Optional[str]) -> str:
    body: Dict[str, Any] = {"type": "input_audio_buffer.append", "audio": audio}
    if event_id is not None:
        body["event_id"] = event_id
    return json.dumps(body, separators=(",", ":"), ensure_ascii=False)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40), st.none() | st.text(max_size=10))
def test_the_append_encoder_writes_what_json_writes(audio: str, event_id: Optional[str]) -> None:
    text = _fastpath.encode_append("input_audio_buffer.append", audio, event_id, protocol._dumps)
    if text is not None:
        assert text == _stdlib_text(audio, event_id)
        assert json.loads(text) == json.loads(_stdlib_text(audio, event_id))
    else:
        assert any(ch in audio for ch in '"\\') or any(ord(ch) < 32 for ch in audio)
    event = ev.InputAudioBufferAppendEvent(audio=audio, event_id=event_id)
    assert protocol.encode(event) == protocol._dumps(protocol.encode_dict(event))


def test_base64_audio_takes_the_hand_built_text() -> None:
    audio = "Zm9v+/8=" * 100
    assert _fastpath.encode_append("t", audio, "e", json.dumps) == (
        '{"type":"t","audio":"' + audio + '","event_id":"e"}'
    )
    event = ev.InputAudioBufferAppendEvent(audio=audio)
    assert protocol.encode(event) == _stdlib_text(audio, None)


def test_factory_defaults_are_fresh_and_self_factories_are_left_to_cattrs() -> None:
    @attrs.frozen
    class WithFactories(ev.ServerEvent):
        tags: List[str] = attrs.field(factory=list)
        label: str = attrs.field(
            default=attrs.Factory(lambda self: f"of {self.event_id}", takes_self=True)
        )

    structure = protocol._fast_server_structure(protocol.converter, WithFactories)
    first = structure({"type": "x", "event_id": "e", "label": "l"})
    second = structure({"type": "x", "event_id": "e", "label": "l"})
    assert first == WithFactories(event_id="e", label="l") and first.tags is not second.tags
    with pytest.raises(KeyError):
        structure({"type": "x", "event_id": "e"})  # the fallback builds it with the instance
    lenient = protocol._structure_without_extra(protocol.converter, WithFactories, False)
    assert lenient({"type": "x", "event_id": "e"}, WithFactories).label == "of e"
