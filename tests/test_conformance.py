"""Conformance of the typed protocol with the official ``openai`` package's GA models.

* Every GA client and server event type in the installed ``openai`` package has
  a class here (and nothing here is unknown to it).
* Every client event we encode validates with the official pydantic model.
* Every server event built with the official model decodes with ours, and
  re-encodes to the same JSON.
"""

from __future__ import annotations

import enum
import json
import typing
from pathlib import Path
from typing import Any, Callable, Dict, List

import pydantic
import pytest
import typing_extensions
from openai.types.realtime.realtime_client_event import RealtimeClientEvent
from openai.types.realtime.realtime_server_event import RealtimeServerEvent

from realtime_sync import events as ev
from realtime_sync import models as m
from realtime_sync import protocol

SHARED_JSON = (
    Path(__file__).resolve().parents[2] / "shared" / "protocol" / "openai_realtime_events.json"
)

CLIENT_ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RealtimeClientEvent)
SERVER_ADAPTER: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RealtimeServerEvent)


def _union_members(union: Any) -> List[type[pydantic.BaseModel]]:
    if typing.get_origin(union) is typing.Annotated:
        union = typing.get_args(union)[0]
    return list(typing.get_args(union))


def _wire_type(model: type[pydantic.BaseModel]) -> str:
    return typing.get_args(model.model_fields["type"].annotation)[0]  # type: ignore[no-any-return]


OFFICIAL_SERVER = {_wire_type(model): model for model in _union_members(RealtimeServerEvent)}
OFFICIAL_CLIENT = {_wire_type(model): model for model in _union_members(RealtimeClientEvent)}


# --------------------------------------------------------------------------- coverage


def test_every_official_server_event_has_a_class() -> None:
    assert set(OFFICIAL_SERVER) - set(ev.SERVER_EVENT_CLASSES) == set()
    assert set(ev.SERVER_EVENT_CLASSES) - set(OFFICIAL_SERVER) == set()


def test_every_official_client_event_has_a_class() -> None:
    assert set(OFFICIAL_CLIENT) - set(ev.CLIENT_EVENT_CLASSES) == set()
    assert set(ev.CLIENT_EVENT_CLASSES) - set(OFFICIAL_CLIENT) == set()


@pytest.mark.skipif(not SHARED_JSON.exists(), reason="../shared is not beside the checkout")
def test_shared_protocol_reference_is_covered() -> None:
    ga = json.loads(SHARED_JSON.read_text())["ga"]
    assert set(ga["server"]) == set(ev.SERVER_EVENT_CLASSES)
    assert set(ga["client"]) == set(ev.CLIENT_EVENT_CLASSES)
    for side, classes in (("server", ev.SERVER_EVENT_CLASSES), ("client", ev.CLIENT_EVENT_CLASSES)):
        for kind, spec in ga[side].items():
            ours = {f.name for f in __import__("attrs").fields(classes[kind])}
            missing = set(spec["fields"]) - ours - {"type"}
            assert not missing, f"{kind} lacks fields {missing}"


def test_event_type_enum_names_follow_wire_names() -> None:
    for kind in [*ev.SERVER_EVENT_CLASSES, *ev.CLIENT_EVENT_CLASSES]:
        member = ev.RealtimeEventType[kind.replace(".", "_").upper()]
        assert member.value == kind


# --------------------------------------------------------------------------- client events


def _session() -> m.SessionConfig:
    return m.SessionConfig(
        instructions="Be brief.",
        output_modalities=[m.Modality.AUDIO],
        audio=m.AudioConfig(
            input=m.AudioInputConfig(
                format=m.AudioFormat.pcm16(),
                transcription=m.InputAudioTranscriptionConfig(model="whisper-1", language="en"),
                noise_reduction=m.NoiseReduction(type=m.NoiseReductionType.FAR_FIELD),
                turn_detection=m.TurnDetection(
                    type=m.TurnDetectionType.SERVER_VAD,
                    threshold=0.5,
                    prefix_padding_ms=300,
                    silence_duration_ms=500,
                    create_response=True,
                ),
            ),
            output=m.AudioOutputConfig(
                format=m.AudioFormat.pcm16(), voice=m.Voice.ALLOY, speed=1.1
            ),
        ),
        tools=[
            m.ToolDefinition(
                name="get_weather",
                description="Weather at a place",
                parameters={"type": "object", "properties": {"lat": {"type": "number"}}},
            )
        ],
        tool_choice=m.ToolChoice.AUTO,
        max_output_tokens="inf",
        parallel_tool_calls=True,
    )


CLIENT_SAMPLES: Dict[str, List[Callable[[], ev.ClientEvent]]] = {
    "session.update": [
        lambda: ev.SessionUpdateEvent(session=_session()),
        lambda: ev.SessionUpdateEvent(
            session=m.SessionConfig(
                audio=m.AudioConfig(
                    input=m.AudioInputConfig(
                        turn_detection=m.TurnDetection(
                            type=m.TurnDetectionType.SEMANTIC_VAD, eagerness=m.Eagerness.LOW
                        ),
                        format=m.AudioFormat.g711_ulaw(),
                    ),
                    output=m.AudioOutputConfig(voice=m.CustomVoice(id="voice_123")),
                ),
                tool_choice=m.ToolChoiceFunction(name="get_weather"),
                max_output_tokens=512,
            )
        ),
        lambda: ev.SessionUpdateEvent(
            session=m.SessionConfig(
                audio=m.AudioConfig(
                    input=m.AudioInputConfig(turn_detection=None, transcription=None)
                )
            ),
            event_id="evt_1",
        ),
    ],
    "conversation.item.create": [
        lambda: ev.ConversationItemCreateEvent(
            item=m.ItemMessage(
                role=m.ItemRole.USER,
                content=[
                    m.ContentPart.input_text(text="Hello"),
                    m.ContentPart.input_audio(audio=b"\x00\x01" * 100),
                    m.ContentPart.input_image(image_url="data:image/png;base64,AAAA", detail="low"),
                ],
            )
        ),
        lambda: ev.ConversationItemCreateEvent(
            item=m.ItemMessage(
                role=m.ItemRole.SYSTEM, content=[m.ContentPart.input_text(text="Be nice.")]
            ),
            previous_item_id="root",
        ),
        lambda: ev.ConversationItemCreateEvent(
            item=m.ItemMessage(
                role=m.ItemRole.ASSISTANT, content=[m.ContentPart.output_text(text="Hi!")]
            )
        ),
        lambda: ev.ConversationItemCreateEvent(
            item=m.ItemFunctionCall(name="get_weather", arguments='{"lat": 1}', call_id="call_1")
        ),
        lambda: ev.ConversationItemCreateEvent(
            item=m.ItemFunctionCallOutput(call_id="call_1", output='{"temp": 20}', id="item_x")
        ),
        lambda: ev.ConversationItemCreateEvent(
            item=m.GenericItem(
                type="mcp_approval_response",
                data={
                    "type": "mcp_approval_response",
                    "id": "mcpr_1",
                    "approval_request_id": "a",
                    "approve": True,
                },
            )
        ),
    ],
    "conversation.item.delete": [lambda: ev.ConversationItemDeleteEvent(item_id="item_1")],
    "conversation.item.retrieve": [lambda: ev.ConversationItemRetrieveEvent(item_id="item_1")],
    "conversation.item.truncate": [
        lambda: ev.ConversationItemTruncateEvent(
            item_id="item_1", content_index=0, audio_end_ms=1200
        )
    ],
    "input_audio_buffer.append": [lambda: ev.InputAudioBufferAppendEvent(audio="AAAA")],
    "input_audio_buffer.clear": [ev.InputAudioBufferClearEvent],
    "input_audio_buffer.commit": [ev.InputAudioBufferCommitEvent],
    "output_audio_buffer.clear": [ev.OutputAudioBufferClearEvent],
    "response.cancel": [
        ev.ResponseCancelEvent,
        lambda: ev.ResponseCancelEvent(response_id="resp_1"),
    ],
    "response.create": [
        ev.ResponseCreateEvent,
        lambda: ev.ResponseCreateEvent(
            response=m.ResponseCreateParams(
                output_modalities=[m.Modality.TEXT],
                instructions="Summarise.",
                conversation="none",
                metadata={"topic": "x"},
                input=[
                    m.ItemMessage(
                        role=m.ItemRole.USER, content=[m.ContentPart.input_text(text="x")]
                    ),
                    m.ItemFunctionCallOutput(call_id="call_1", output="{}"),
                ],
                max_output_tokens=100,
                tool_choice=m.ToolChoice.NONE,
            )
        ),
    ],
}


def test_every_client_event_has_samples() -> None:
    assert set(CLIENT_SAMPLES) == set(ev.CLIENT_EVENT_CLASSES)


@pytest.mark.parametrize(
    "build",
    [b for builders in CLIENT_SAMPLES.values() for b in builders],
    ids=[f"{k}-{i}" for k, builders in CLIENT_SAMPLES.items() for i in range(len(builders))],
)
def test_client_event_validates_with_official_model(build: Callable[[], ev.ClientEvent]) -> None:
    event = build()
    text = protocol.encode(event)
    data = json.loads(text)
    assert data["type"] == event.type.value
    assert "null" not in text or "turn_detection" in text  # null only where it means "off"
    official = OFFICIAL_CLIENT[data["type"]].model_validate(data)
    assert official.type == event.type.value
    # Nothing we send is dropped by the official model (no unknown fields).
    dumped = official.model_dump(mode="json", exclude_unset=True)
    assert dumped == data


def test_null_is_sent_only_for_fields_where_it_means_off() -> None:
    event = ev.SessionUpdateEvent(
        session=m.SessionConfig(audio=m.AudioConfig(input=m.AudioInputConfig(turn_detection=None)))
    )
    data = json.loads(protocol.encode(event))
    assert data["session"]["audio"]["input"] == {"turn_detection": None}
    assert "instructions" not in data["session"]
    assert data["session"]["type"] == "realtime"


def test_raw_audio_bytes_are_encoded_without_mutating_the_part() -> None:
    part = m.ContentPart.input_audio(audio=b"\x01\x02\x03\x04")
    event = ev.ConversationItemCreateEvent(item=m.ItemMessage(role=m.ItemRole.USER, content=[part]))
    data = json.loads(protocol.encode(event))
    assert data["item"]["content"][0]["audio"] == "AQIDBA=="
    assert part.audio == b"\x01\x02\x03\x04"


# --------------------------------------------------------------------------- server events


def _sample(annotation: Any, name: str, depth: int = 0) -> Any:
    """A realistic-enough value for a pydantic annotation (first union member, all fields)."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _sample(args[0], name, depth)
    if origin is typing.Union:
        non_none = [a for a in args if a is not type(None)]
        return _sample(non_none[0], name, depth)
    # (typing_extensions has its own Literal on Python < 3.10.1, used by openai's models there)
    if origin is typing.Literal or origin is typing_extensions.Literal:
        return args[0]
    if origin in (list, List):
        return [_sample(args[0], name, depth + 1)] if depth < 4 else []
    if origin in (dict, Dict):
        return {"key": "value"}
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if depth > 5:
            return {}
        return {
            fname: _sample(field.annotation, fname, depth + 1)
            for fname, field in annotation.model_fields.items()
        }
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return next(iter(annotation)).value
    if annotation is bool:
        return True
    if annotation is int:
        return 1200 if name.endswith("_ms") else 3
    if annotation is float:
        return 0.5
    if annotation is str:
        return {"delta": "AAAAAAAA", "audio": "AAAA", "arguments": '{"a": 1}'}.get(
            name, f"{name}_1"
        )
    if annotation is typing.Any or annotation is object:
        return {"any": 1}
    raise AssertionError(f"no sample for {annotation!r} ({name})")


def _official_payloads(kind: str) -> List[Dict[str, Any]]:
    """Payloads for one server event: required fields only, and every field set."""
    model = OFFICIAL_SERVER[kind]
    full = {name: _sample(f.annotation, name) for name, f in model.model_fields.items()}
    required = {
        name: _sample(f.annotation, name)
        for name, f in model.model_fields.items()
        if f.is_required()
    }
    out = []
    for payload in (required, full):
        official = model.model_validate(payload)
        out.append(official.model_dump(mode="json", exclude_none=True))
    return out


REALISTIC: List[Dict[str, Any]] = [
    {
        "type": "response.done",
        "event_id": "event_1",
        "response": {
            "id": "resp_1",
            "object": "realtime.response",
            "status": "completed",
            "status_details": None,
            "output": [
                {
                    "id": "item_1",
                    "object": "realtime.item",
                    "type": "message",
                    "status": "completed",
                    "role": "assistant",
                    "content": [{"type": "output_audio", "transcript": "Hi there."}],
                },
                {
                    "id": "item_2",
                    "object": "realtime.item",
                    "type": "function_call",
                    "status": "completed",
                    "name": "get_weather",
                    "call_id": "call_1",
                    "arguments": '{"lat": 1}',
                },
            ],
            "conversation_id": "conv_1",
            "output_modalities": ["audio"],
            "max_output_tokens": "inf",
            "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
            "usage": {
                "total_tokens": 30,
                "input_tokens": 10,
                "output_tokens": 20,
                "input_token_details": {"text_tokens": 10, "audio_tokens": 0, "cached_tokens": 0},
                "output_token_details": {"text_tokens": 5, "audio_tokens": 15},
            },
            "metadata": None,
        },
    },
    {
        "type": "error",
        "event_id": "event_2",
        "error": {
            "type": "invalid_request_error",
            "code": "conversation_already_has_active_response",
            "message": "Conversation already has an active response in progress: resp_1",
            "param": None,
            "event_id": "evt_9",
        },
    },
]


@pytest.mark.parametrize("kind", sorted(OFFICIAL_SERVER))
def test_server_event_from_official_model_decodes_and_round_trips(kind: str) -> None:
    for payload in _official_payloads(kind):
        text = json.dumps(payload)
        event = protocol.decode(text)
        cls = ev.SERVER_EVENT_CLASSES[kind]
        assert isinstance(event, cls), (kind, event)
        again = {"type": kind, **protocol.to_wire(event)}
        assert again == payload
        # and what we re-encode is still valid for the official model
        SERVER_ADAPTER.validate_python(again)


@pytest.mark.parametrize("kind", sorted(OFFICIAL_SERVER))
def test_official_required_fields_are_essential_or_usually_sent(kind: str) -> None:
    """Never stricter than the official schema; what it requires is essential or usually sent."""
    cls = ev.SERVER_EVENT_CLASSES[kind]
    model = OFFICIAL_SERVER[kind]
    required = {name for name, f in model.model_fields.items() if f.is_required()} - {"type"}
    assert ev.essential_fields(cls) | ev.usually_sent(cls) == required


@pytest.mark.parametrize("payload", REALISTIC, ids=lambda p: p["type"])
def test_realistic_server_events(payload: Dict[str, Any]) -> None:
    SERVER_ADAPTER.validate_python(payload)
    event = protocol.decode(json.dumps(payload))
    assert event.type == payload["type"]
    if isinstance(event, ev.ResponseDoneEvent):
        response = event.response
        assert response.status == m.ResponseStatus.COMPLETED
        assert response.usage is not None and response.usage.output_token_details is not None
        assert response.usage.output_token_details.audio_tokens == 15
        assert response.output is not None
        message, call = response.output
        assert isinstance(message, m.ItemMessage) and message.role == m.ItemRole.ASSISTANT
        assert message.content[0].transcript == "Hi there."
        assert isinstance(call, m.ItemFunctionCall) and call.call_id == "call_1"
    if isinstance(event, ev.ErrorEvent):
        assert event.error.code == "conversation_already_has_active_response"
        assert event.error.event_id == "evt_9"
