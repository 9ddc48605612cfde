"""Tests of realtime_sync.testing.RealtimeSimulator over real sockets.

The simulator is driven with websocket-client and plain JSON, never with the
SDK, and every server event it sends in any test is validated against the
official ``openai`` pydantic models (see the ``sim`` fixture).
"""

from __future__ import annotations

import base64
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from array import array
from typing import Any, Dict, Iterator, List, Optional, Set

import pydantic
import pytest
import websocket
from openai.types.realtime.realtime_server_event import RealtimeServerEvent

from realtime_sync.testing import FunctionCall, RealtimeSimulator

pytestmark = pytest.mark.timeout(30)

JSON = Dict[str, Any]

SERVER_EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RealtimeServerEvent)

# Fields the real server sends that the openai models do not declare (``obfuscation``:
# the random padding live servers add to text and transcript deltas).
ALLOWED_EXTRAS = {
    "RealtimeSessionCreateRequest": {"object", "id", "expires_at"},
    "ResponseTextDeltaEvent": {"obfuscation"},
    "ResponseAudioTranscriptDeltaEvent": {"obfuscation"},
    "ConversationItemInputAudioTranscriptionDeltaEvent": {"obfuscation"},
    # response.status_details.error.message: declared by newer openai releases only (not
    # by 2.48, the newest for Python 3.9)
    "Error": {"message"},
}

BYTES_PER_MS = 48  # PCM16, 24 kHz, mono


# --- helpers -----------------------------------------------------------------------------------


def _extra_fields(model: Any, path: str) -> Iterator[str]:
    if isinstance(model, pydantic.BaseModel):
        allowed = ALLOWED_EXTRAS.get(type(model).__name__, set())
        for key in model.model_extra or {}:
            if key not in allowed:
                yield f"{path}.{key}"
        for name in type(model).model_fields:
            yield from _extra_fields(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for index, value in enumerate(model):
            yield from _extra_fields(value, f"{path}[{index}]")
    elif isinstance(model, dict):
        for key, value in model.items():
            yield from _extra_fields(value, f"{path}.{key}")


def validate_server_event(event: JSON) -> None:
    """Validate against the openai union and reject fields the models do not know."""
    model = SERVER_EVENTS.validate_python(event)
    assert model.type == event["type"]
    extras = list(_extra_fields(model, event["type"]))
    assert not extras, f"undeclared fields in {event['type']}: {extras}"


def pcm_silence(ms: int) -> bytes:
    return b"\x00\x00" * (ms * 24)


def pcm_tone(ms: int, *, amplitude: float = 0.3, frequency: float = 300.0) -> bytes:
    n = ms * 24
    step = 2 * math.pi * frequency / 24000
    samples = array("h", (int(amplitude * 32767 * math.sin(step * i)) for i in range(n)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Client:
    """A thin websocket-client wrapper speaking JSON."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.ws = websocket.create_connection(url, timeout=5, **kwargs)

    def send(self, event: JSON) -> None:
        self.ws.send(json.dumps(event))

    def recv(self) -> JSON:
        event = json.loads(self.ws.recv())
        assert isinstance(event, dict)
        return event

    def until(self, type_: str) -> List[JSON]:
        """Events up to and including the first one of ``type_``."""
        events = []
        while True:
            event = self.recv()
            events.append(event)
            if event["type"] == type_:
                return events

    def expect(self, type_: str) -> JSON:
        event = self.recv()
        assert event["type"] == type_, event
        return event

    def error(self) -> JSON:
        event = self.expect("error")
        error = event["error"]
        assert isinstance(error, dict)
        return error

    def say(self, text: str, **item: Any) -> JSON:
        """Add a user text message; return the conversation.item.done."""
        self.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": text}],
                    **item,
                },
            }
        )
        self.expect("conversation.item.added")
        return self.expect("conversation.item.done")

    def close(self) -> None:
        self.ws.close()


def hang_up(ws: Any) -> None:
    """Close the TCP connection without a close frame (websocket-client's shutdown())."""
    ws.shutdown()


def squash(types: List[str]) -> List[str]:
    """Collapse runs of the same event type into one entry."""
    out: List[str] = []
    for t in types:
        if not out or out[-1] != t:
            out.append(t)
    return out


@pytest.fixture
def sim() -> Iterator[RealtimeSimulator]:
    with RealtimeSimulator() as simulator:
        yield simulator
        sent = simulator.sent
    for event in sent:
        validate_server_event(event)
    assert not [t for t in threading.enumerate() if t.name.startswith("realtime-simulator")]


@pytest.fixture
def client(sim: RealtimeSimulator) -> Iterator[Client]:
    c = Client(sim.url)
    c.expect("session.created")
    yield c
    c.close()


# --- connection & session ----------------------------------------------------------------------


def test_session_created_is_a_full_ga_session(sim: RealtimeSimulator) -> None:
    c = Client(sim.url)
    event = c.recv()
    assert event["type"] == "session.created"
    assert event["event_id"].startswith("event_")
    session = event["session"]
    assert session["type"] == "realtime"
    assert session["object"] == "realtime.session"
    assert session["id"].startswith("sess_")
    assert session["model"] == "gpt-realtime"
    assert session["output_modalities"] == ["audio"]
    assert session["instructions"]
    assert session["tools"] == []
    assert session["tool_choice"] == "auto"
    assert session["max_output_tokens"] == "inf"
    assert session["audio"] == {
        "input": {
            "format": {"type": "audio/pcm", "rate": 24000},
            "transcription": None,
            "noise_reduction": None,
            "turn_detection": {
                "type": "server_vad",
                "threshold": 0.5,
                "prefix_padding_ms": 300,
                "silence_duration_ms": 500,
                "idle_timeout_ms": None,
                "create_response": True,
                "interrupt_response": True,
            },
        },
        "output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin", "speed": 1.0},
    }
    # No conversation.created in GA: the next event answers our next request.
    c.send({"type": "input_audio_buffer.clear"})
    assert c.recv()["type"] == "input_audio_buffer.cleared"
    c.close()

    other = Client(sim.url + "?model=gpt-realtime-mini")
    assert other.expect("session.created")["session"]["model"] == "gpt-realtime-mini"
    other.close()
    assert sim.connection_count == 2


def test_each_connection_has_its_own_session(sim: RealtimeSimulator) -> None:
    a, b = Client(sim.url), Client(sim.url)
    id_a = a.expect("session.created")["session"]["id"]
    id_b = b.expect("session.created")["session"]["id"]
    assert id_a != id_b
    assert sim.active_connections == 2
    a.send({"type": "session.update", "session": {"type": "realtime", "instructions": "A only"}})
    assert a.expect("session.updated")["session"]["instructions"] == "A only"
    b.send({"type": "session.update", "session": {"type": "realtime"}})
    assert b.expect("session.updated")["session"]["instructions"] != "A only"
    a.close()
    b.close()
    sim.wait_until_idle()
    assert sim.active_connections == 0


def test_session_update_deep_merges(client: Client) -> None:
    client.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "instructions": "Be brief.",
                "output_modalities": ["text"],
                "tools": [{"type": "function", "name": "f", "parameters": {"type": "object"}}],
                "audio": {
                    "input": {"turn_detection": {"type": "server_vad", "threshold": 0.7}},
                    "output": {"voice": "cedar"},
                },
            },
        }
    )
    session = client.expect("session.updated")["session"]
    assert session["instructions"] == "Be brief."
    assert session["output_modalities"] == ["text"]
    assert session["tools"][0]["name"] == "f"
    assert session["audio"]["output"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "voice": "cedar",
        "speed": 1.0,
    }
    td = session["audio"]["input"]["turn_detection"]
    assert td["threshold"] == 0.7
    assert td["silence_duration_ms"] == 500
    assert session["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}

    client.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        }
    )
    session = client.expect("session.updated")["session"]
    assert session["audio"]["input"]["turn_detection"] is None
    assert session["instructions"] == "Be brief."


@pytest.mark.parametrize(
    ("payload", "code", "param"),
    [
        ({"type": "realtime", "temperature": 0.8}, "unknown_parameter", "session.temperature"),
        ({"type": "realtime", "modalities": ["text"]}, "unknown_parameter", "session.modalities"),
        ({"type": "realtime", "voice": "alloy"}, "unknown_parameter", "session.voice"),
        ({"instructions": "hi"}, "missing_required_parameter", "session.type"),
        (
            {"type": "realtime", "audio": {"output": {"voice": 5}}},
            "invalid_value",
            "session.audio.output.voice",
        ),
        (
            {"type": "realtime", "audio": {"input": {"format": {"type": "audio/wav"}}}},
            "invalid_value",
            "session.audio.input.format.type",
        ),
        (
            {"type": "realtime", "audio": {"input": {"turn_detection": {"type": "magic_vad"}}}},
            "invalid_value",
            "session.audio.input.turn_detection.type",
        ),
        (
            {
                "type": "realtime",
                "audio": {"input": {"turn_detection": {"type": "server_vad", "x": 1}}},
            },
            "unknown_parameter",
            "session.audio.input.turn_detection.x",
        ),
        ({"type": "realtime", "instructions": 3}, "invalid_type", "session.instructions"),
    ],
)
def test_session_update_rejects_invalid_payloads(
    sim: RealtimeSimulator, payload: JSON, code: str, param: str
) -> None:
    c = Client(sim.url)
    original = c.expect("session.created")["session"]
    c.send({"type": "session.update", "event_id": "evt_bad_update", "session": payload})
    error = c.error()
    assert error["type"] == "invalid_request_error"
    assert error["code"] == code
    assert error["param"] == param
    assert error["event_id"] == "evt_bad_update"
    if code == "unknown_parameter":
        assert error["message"] == f"Unknown parameter: '{param}'."
    # The session did not change.
    c.send({"type": "session.update", "session": {"type": "realtime"}})
    assert c.expect("session.updated")["session"] == original
    c.close()


def test_unknown_events_and_malformed_json_keep_the_connection(
    client: Client, sim: RealtimeSimulator
) -> None:
    client.ws.send("{not json")
    error = client.error()
    assert error["code"] == "invalid_json"
    assert error["event_id"] is None
    client.send({"type": "response.audio.delta", "event_id": "evt_beta"})
    error = client.error()
    assert error["type"] == "invalid_request_error"
    assert error["code"] == "invalid_value"
    assert error["param"] == "type"
    assert error["event_id"] == "evt_beta"
    client.send({"type": "input_audio_buffer.clear", "bogus": 1})
    assert client.error()["code"] == "unknown_parameter"
    client.send({"type": "input_audio_buffer.clear"})
    client.expect("input_audio_buffer.cleared")
    assert sim.wait_for_received("input_audio_buffer.clear", count=2)["type"] == (
        "input_audio_buffer.clear"
    )
    assert [e["type"] for e in sim.received] == [
        "response.audio.delta",
        "input_audio_buffer.clear",
        "input_audio_buffer.clear",
    ]
    with pytest.raises(TimeoutError):
        sim.wait_for_received("response.create", timeout=0.05)


# --- conversation items ------------------------------------------------------------------------


def test_item_create_added_then_done_with_previous_item_ids(client: Client) -> None:
    first = client.say("one", id="item_first")
    assert first["previous_item_id"] is None
    item = first["item"]
    assert item == {
        "id": "item_first",
        "type": "message",
        "object": "realtime.item",
        "status": "completed",
        "role": "user",
        "content": [{"type": "input_text", "text": "one"}],
    }
    second = client.say("two")
    assert second["previous_item_id"] == "item_first"
    assert second["item"]["id"].startswith("item_")
    client.send(
        {
            "type": "conversation.item.create",
            "previous_item_id": "root",
            "item": {
                "type": "message",
                "role": "system",
                "content": [{"type": "input_text", "text": "sys"}],
            },
        }
    )
    added = client.expect("conversation.item.added")
    assert added["previous_item_id"] is None
    assert client.expect("conversation.item.done")["item"]["role"] == "system"


@pytest.mark.parametrize(
    ("item", "code", "param"),
    [
        ({"type": "message", "role": "user"}, "missing_required_parameter", "item.content"),
        (
            {
                "type": "message",
                "role": "assistant",
                "content": [{"type": "input_text", "text": "x"}],
            },
            "invalid_value",
            "item.content[0].type",
        ),
        (
            {"type": "message", "role": "assistant", "content": [{"type": "text", "text": "x"}]},
            "invalid_value",
            "item.content[0].type",
        ),
        (
            {"type": "message", "role": "user", "content": [{"type": "input_text"}]},
            "missing_required_parameter",
            "item.content[0].text",
        ),
        (
            {"type": "function_call_output", "call_id": "call_nope", "output": "{}"},
            "invalid_tool_call_id",
            None,
        ),
    ],
)
def test_item_create_rejects_bad_items(
    client: Client, item: JSON, code: str, param: Optional[str]
) -> None:
    client.send({"type": "conversation.item.create", "event_id": "evt_item", "item": item})
    error = client.error()
    assert (error["code"], error["param"], error["event_id"]) == (code, param, "evt_item")


def test_truncate_delete_and_retrieve(client: Client) -> None:
    client.say("hi", id="item_user")
    client.send({"type": "response.create"})
    events = client.until("response.done")
    item = events[-1]["response"]["output"][0]
    audio_bytes = sum(
        len(base64.b64decode(e["delta"]))
        for e in events
        if e["type"] == "response.output_audio.delta"
    )
    audio_ms = audio_bytes // BYTES_PER_MS
    client.expect("rate_limits.updated")

    client.send(
        {
            "type": "conversation.item.truncate",
            "event_id": "evt_t1",
            "item_id": item["id"],
            "content_index": 0,
            "audio_end_ms": audio_ms + 500,
        }
    )
    error = client.error()
    assert (error["code"], error["param"], error["event_id"]) == (
        "invalid_value",
        "audio_end_ms",
        "evt_t1",
    )
    client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": "item_user",
            "content_index": 0,
            "audio_end_ms": 0,
        }
    )
    assert client.error()["code"] == "invalid_value"
    client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": "item_missing",
            "content_index": 0,
            "audio_end_ms": 0,
        }
    )
    assert client.error()["code"] == "item_truncate_invalid_item_id"

    client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item["id"],
            "content_index": 0,
            "audio_end_ms": 100,
        }
    )
    truncated = client.expect("conversation.item.truncated")
    assert (truncated["item_id"], truncated["content_index"], truncated["audio_end_ms"]) == (
        item["id"],
        0,
        100,
    )
    client.send({"type": "conversation.item.retrieve", "item_id": item["id"]})
    retrieved = client.expect("conversation.item.retrieved")["item"]
    part = retrieved["content"][0]
    assert part["type"] == "output_audio"
    assert part["transcript"] == ""
    assert len(base64.b64decode(part["audio"])) == 100 * BYTES_PER_MS

    client.send({"type": "conversation.item.delete", "item_id": item["id"]})
    assert client.expect("conversation.item.deleted")["item_id"] == item["id"]
    client.send({"type": "conversation.item.delete", "event_id": "evt_d2", "item_id": item["id"]})
    error = client.error()
    assert (error["code"], error["event_id"]) == ("item_delete_invalid_item_id", "evt_d2")
    client.send({"type": "conversation.item.retrieve", "item_id": item["id"]})
    assert client.error()["code"] == "item_retrieve_invalid_item_id"


# --- responses ---------------------------------------------------------------------------------


def test_text_response_event_order(client: Client) -> None:
    client.say("hello there")
    client.send(
        {
            "type": "response.create",
            "response": {"output_modalities": ["text"], "metadata": {"k": "v"}},
        }
    )
    events = client.until("rate_limits.updated")
    assert squash([e["type"] for e in events]) == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
        "rate_limits.updated",
    ]
    created = events[0]["response"]
    assert created["status"] == "in_progress"
    assert created["output"] == []
    assert created["id"].startswith("resp_")
    assert created["metadata"] == {"k": "v"}
    expected = 'You said: "hello there". I am the realtime_sync simulator.'
    deltas = "".join(e["delta"] for e in events if e["type"] == "response.output_text.delta")
    assert deltas == expected
    by_type = {e["type"]: e for e in events}
    assert by_type["response.output_text.done"]["text"] == expected
    assert by_type["response.content_part.added"]["part"] == {"type": "text", "text": ""}
    assert by_type["response.content_part.done"]["part"] == {"type": "text", "text": expected}
    done = by_type["response.done"]["response"]
    assert done["status"] == "completed"
    assert done["output"] == [
        {
            "id": by_type["response.output_item.added"]["item"]["id"],
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "assistant",
            "content": [{"type": "output_text", "text": expected}],
        }
    ]
    usage = done["usage"]
    assert usage["total_tokens"] == usage["input_tokens"] + usage["output_tokens"]
    assert usage["output_token_details"]["audio_tokens"] == 0
    assert {r["name"] for r in by_type["rate_limits.updated"]["rate_limits"]} == {
        "requests",
        "tokens",
    }
    # Every event targets the same response and item.
    for e in events[1:-2]:
        if "response_id" in e:
            assert e["response_id"] == created["id"]


def test_audio_response_streams_interleaved_audio_and_transcript(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.add_reply("sing", text="La la la, a little song.")
    client.say("Please sing")
    client.send({"type": "response.create"})
    events = client.until("response.done")
    types = [e["type"] for e in events]
    assert squash(types)[:4] == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.content_part.added",
    ]
    assert squash(types)[-6:] == [
        "response.output_audio.done",
        "response.output_audio_transcript.done",
        "response.content_part.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    audio_idx = [i for i, t in enumerate(types) if t == "response.output_audio.delta"]
    text_idx = [i for i, t in enumerate(types) if t == "response.output_audio_transcript.delta"]
    assert audio_idx and text_idx
    assert any(audio_idx[0] < i for i in text_idx), "transcript and audio are not interleaved"
    assert any(text_idx[0] < i for i in audio_idx)

    text = "La la la, a little song."
    chunks = [base64.b64decode(events[i]["delta"]) for i in audio_idx]
    assert all(len(c) <= 100 * BYTES_PER_MS for c in chunks)
    assert sum(len(c) for c in chunks) == max(300, 60 * len(text)) * BYTES_PER_MS
    transcript = "".join(events[i]["delta"] for i in text_idx)
    assert transcript == text
    by_type = {e["type"]: e for e in events}
    assert by_type["response.content_part.added"]["part"] == {"type": "audio", "transcript": ""}
    assert by_type["response.output_audio_transcript.done"]["transcript"] == text
    final = by_type["response.done"]["response"]
    assert final["output"][0]["content"] == [{"type": "output_audio", "transcript": text}]
    assert final["usage"]["output_token_details"]["audio_tokens"] > 0


def test_function_call_then_text_after_output(sim: RealtimeSimulator, client: Client) -> None:
    args = {"lat": 1, "lng": 2}
    seen: List[List[str]] = []

    def then(outputs: List[str]) -> str:
        seen.append(outputs)
        return f"It is {json.loads(outputs[0])['temp']} degrees."

    sim.add_reply("weather", function_call=("get_weather", args), then_text=then)
    client.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "output_modalities": ["text"],
                "tools": [{"type": "function", "name": "get_weather", "parameters": {}}],
            },
        }
    )
    client.expect("session.updated")
    client.say("What's the WEATHER like?")
    client.send({"type": "response.create"})
    events = client.until("response.done")
    assert squash([e["type"] for e in events]) == [
        "response.created",
        "response.output_item.added",
        "conversation.item.added",
        "response.function_call_arguments.delta",
        "response.function_call_arguments.done",
        "response.output_item.done",
        "conversation.item.done",
        "response.done",
    ]
    added = events[1]["item"]
    assert (added["type"], added["name"], added["arguments"], added["status"]) == (
        "function_call",
        "get_weather",
        "",
        "in_progress",
    )
    assert added["call_id"].startswith("call_")
    deltas = [e for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert len(deltas) > 1
    assert "".join(d["delta"] for d in deltas) == json.dumps(args)
    args_done = events[-4]
    assert (args_done["name"], args_done["call_id"], json.loads(args_done["arguments"])) == (
        "get_weather",
        added["call_id"],
        args,
    )
    call_item = events[-1]["response"]["output"][0]
    assert call_item["status"] == "completed"
    assert json.loads(call_item["arguments"]) == args
    client.expect("rate_limits.updated")

    client.send(
        {
            "type": "conversation.item.create",
            "item": {
                "type": "function_call_output",
                "call_id": added["call_id"],
                "output": '{"temp": 21}',
            },
        }
    )
    client.expect("conversation.item.added")
    client.expect("conversation.item.done")
    client.send({"type": "response.create"})
    events = client.until("response.done")
    assert events[-1]["response"]["output"][0]["content"] == [
        {"type": "output_text", "text": "It is 21 degrees."}
    ]
    assert seen == [['{"temp": 21}']]


def test_parallel_function_calls_and_default_then_text(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.add_reply(
        lambda text: text.startswith("both"),
        function_call=[("a", {}), FunctionCall("b", '{"x": 1}', call_id="call_fixed")],
    )
    client.say("both please")
    client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    done = client.until("response.done")[-1]["response"]
    calls = done["output"]
    assert [(c["name"], c["arguments"]) for c in calls] == [("a", "{}"), ("b", '{"x": 1}')]
    assert calls[1]["call_id"] == "call_fixed"
    client.expect("rate_limits.updated")
    for call, output in zip(calls, ("A!", "B!")):
        client.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "type": "function_call_output",
                    "call_id": call["call_id"],
                    "output": output,
                },
            }
        )
        client.expect("conversation.item.added")
        client.expect("conversation.item.done")
    client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    done = client.until("response.done")[-1]["response"]
    assert done["output"][0]["content"][0]["text"] == "The tool returned: A!; B!"


def test_second_response_create_is_rejected_while_active(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.event_delay = 0.02
    client.say("hello")
    client.send({"type": "response.create"})
    response_id = client.expect("response.created")["response"]["id"]
    client.send({"type": "response.create", "event_id": "evt_second"})
    events = client.until("error")
    error = events[-1]["error"]
    assert error["code"] == "conversation_already_has_active_response"
    assert error["event_id"] == "evt_second"
    assert response_id in error["message"]
    sim.event_delay = 0.0
    assert client.until("response.done")[-1]["response"]["status"] == "completed"
    client.expect("rate_limits.updated")
    # Out-of-band responses do not count as the conversation's active response.
    client.send(
        {
            "type": "response.create",
            "response": {"conversation": "none", "output_modalities": ["text"]},
        }
    )
    events = client.until("response.done")
    assert "conversation.item.added" not in [e["type"] for e in events]
    assert events[-1]["response"]["conversation_id"] is None


def test_response_cancel_mid_stream(sim: RealtimeSimulator, client: Client) -> None:
    sim.event_delay = 0.03
    client.say("tell me a long story")
    client.send({"type": "response.create"})
    client.until("response.output_audio.delta")
    client.send({"type": "response.cancel"})
    events = client.until("response.done")
    types = [e["type"] for e in events]
    assert "response.output_audio.done" in types
    assert "response.content_part.done" in types
    item_done = next(e for e in events if e["type"] == "response.output_item.done")
    assert item_done["item"]["status"] == "incomplete"
    conv_done = next(e for e in events if e["type"] == "conversation.item.done")
    assert conv_done["item"]["status"] == "incomplete"
    response = events[-1]["response"]
    assert response["status"] == "cancelled"
    assert response["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    assert response["output"][0]["status"] == "incomplete"
    client.expect("rate_limits.updated")
    client.send({"type": "response.cancel", "event_id": "evt_cancel_again"})
    error = client.error()
    assert (error["code"], error["event_id"]) == ("response_cancel_not_active", "evt_cancel_again")


def test_output_audio_buffer_clear(client: Client) -> None:
    client.send({"type": "output_audio_buffer.clear"})
    client.error()
    client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    response_id = client.until("response.done")[-1]["response"]["id"]
    client.expect("rate_limits.updated")
    client.send({"type": "output_audio_buffer.clear"})
    assert client.expect("output_audio_buffer.cleared")["response_id"] == response_id


# --- input audio -------------------------------------------------------------------------------


def _disable_vad(client: Client) -> None:
    client.send(
        {
            "type": "session.update",
            "session": {"type": "realtime", "audio": {"input": {"turn_detection": None}}},
        }
    )
    client.expect("session.updated")


def test_audio_append_commit_and_clear(client: Client) -> None:
    _disable_vad(client)
    client.send({"type": "input_audio_buffer.commit", "event_id": "evt_c0"})
    error = client.error()
    assert error["code"] == "input_audio_buffer_commit_empty"
    assert error["event_id"] == "evt_c0"
    assert "buffer only has 0.00ms of audio" in error["message"]

    client.send({"type": "input_audio_buffer.append", "audio": b64(pcm_tone(50))})
    client.send({"type": "input_audio_buffer.commit"})
    assert "buffer only has 50.00ms of audio" in client.error()["message"]

    client.send({"type": "input_audio_buffer.append", "audio": b64(pcm_tone(200))})
    client.send({"type": "input_audio_buffer.commit"})
    committed = client.expect("input_audio_buffer.committed")
    assert committed["previous_item_id"] is None
    added = client.expect("conversation.item.added")
    assert added["item"]["id"] == committed["item_id"]
    assert added["item"]["content"] == [{"type": "input_audio", "transcript": None}]
    client.expect("conversation.item.done")
    client.send({"type": "conversation.item.retrieve", "item_id": committed["item_id"]})
    part = client.expect("conversation.item.retrieved")["item"]["content"][0]
    assert len(base64.b64decode(part["audio"])) == 250 * BYTES_PER_MS

    client.send({"type": "input_audio_buffer.append", "audio": b64(pcm_tone(200))})
    client.send({"type": "input_audio_buffer.clear"})
    client.expect("input_audio_buffer.cleared")
    client.send({"type": "input_audio_buffer.commit"})
    assert client.error()["code"] == "input_audio_buffer_commit_empty"
    client.send({"type": "input_audio_buffer.append", "audio": "@@not base64@@"})
    assert client.error()["code"] == "invalid_value"


def test_server_vad_detects_speech_commits_transcribes_and_responds(
    sim: RealtimeSimulator, client: Client
) -> None:
    """500 ms silence + 1000 ms tone + 1000 ms silence, default server_vad settings.

    Speech starts at 500 ms; audio_start_ms includes prefix_padding_ms (300), so 200.
    The last loud frame ends at 1500 ms and speech_stopped fires once
    silence_duration_ms (500) of silence has elapsed: audio_end_ms is 2000, which,
    like the real server's, includes the silence window. The committed item holds
    the audio between those two instants.
    """
    sim.transcript_for_audio = "Turn the lights on."
    sim.add_reply("lights", text="Done.")
    client.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "whisper-1"}}},
            },
        }
    )
    client.expect("session.updated")
    audio = pcm_silence(500) + pcm_tone(1000) + pcm_silence(1000)
    chunk = 100 * BYTES_PER_MS
    for offset in range(0, len(audio), chunk):
        client.send(
            {"type": "input_audio_buffer.append", "audio": b64(audio[offset : offset + chunk])}
        )

    started = client.expect("input_audio_buffer.speech_started")
    assert abs(started["audio_start_ms"] - 200) <= 20
    stopped = client.expect("input_audio_buffer.speech_stopped")
    assert abs(stopped["audio_end_ms"] - 2000) <= 20
    assert stopped["item_id"] == started["item_id"]
    committed = client.expect("input_audio_buffer.committed")
    assert committed["item_id"] == started["item_id"]
    assert client.expect("conversation.item.added")["item"]["role"] == "user"
    client.expect("conversation.item.done")
    events = client.until("conversation.item.input_audio_transcription.completed")
    deltas = [e["delta"] for e in events if e["type"].endswith("transcription.delta")]
    assert "".join(deltas) == "Turn the lights on."
    completed = events[-1]
    assert completed["transcript"] == "Turn the lights on."
    assert completed["item_id"] == started["item_id"]
    assert completed["usage"]["type"] == "duration"
    assert completed["usage"]["seconds"] == pytest.approx(1.8, abs=0.05)

    events = client.until("response.done")
    assert events[0]["type"] == "response.created"
    assert events[-1]["response"]["output"][0]["content"][0]["transcript"] == "Done."
    client.expect("rate_limits.updated")
    client.send({"type": "conversation.item.retrieve", "item_id": started["item_id"]})
    item = client.expect("conversation.item.retrieved")["item"]
    assert item["content"][0]["transcript"] == "Turn the lights on."
    assert len(base64.b64decode(item["content"][0]["audio"])) == 1800 * BYTES_PER_MS


def test_server_vad_speech_interrupts_the_response(sim: RealtimeSimulator, client: Client) -> None:
    sim.event_delay = 0.03
    client.say("talk to me")
    client.send({"type": "response.create"})
    client.until("response.output_audio.delta")
    client.send({"type": "input_audio_buffer.append", "audio": b64(pcm_tone(200))})
    events = client.until("response.done")
    assert "input_audio_buffer.speech_started" in [e["type"] for e in events]
    assert events[-1]["response"]["status"] == "cancelled"
    assert events[-1]["response"]["status_details"]["reason"] == "turn_detected"


# --- handshake & faults ------------------------------------------------------------------------


def test_reject_handshake(sim: RealtimeSimulator) -> None:
    sim.reject_handshake(401)
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(sim.url, timeout=5)
    assert info.value.status_code == 401
    body = json.loads(info.value.resp_body or b"")
    assert body["error"]["code"] == "invalid_api_key"
    assert body["error"]["type"] == "invalid_request_error"

    sim.reject_handshake(503, body='{"error": {"message": "overloaded"}}')
    with pytest.raises(websocket.WebSocketBadStatusException) as info:
        websocket.create_connection(sim.url, timeout=5)
    assert info.value.status_code == 503
    assert json.loads(info.value.resp_body or b"") == {"error": {"message": "overloaded"}}

    sim.reject_handshake(None)
    c = Client(sim.url)
    c.expect("session.created")
    c.close()
    assert sim.connection_count == 1


def test_api_key_is_required_and_never_logged(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    caplog.set_level(logging.DEBUG)
    key = "sk-simulator-secret-123"
    with RealtimeSimulator(api_key=key) as sim:
        for headers in ([], ["Authorization: Bearer sk-wrong"], [f"Authorization: Basic {key}"]):
            with pytest.raises(websocket.WebSocketBadStatusException) as info:
                websocket.create_connection(sim.url, timeout=5, header=headers)
            assert info.value.status_code == 401
            assert key not in (info.value.resp_body or b"").decode()
        wrong = json.loads(info.value.resp_body or b"")
        assert wrong["error"]["code"] == "invalid_api_key"
        c = Client(sim.url, header=[f"Authorization: Bearer {key}"])
        c.expect("session.created")
        c.close()
    assert key not in caplog.text


def test_beta_header_gets_an_error_then_close(sim: RealtimeSimulator) -> None:
    ws = websocket.create_connection(sim.url, timeout=5, header=["OpenAI-Beta: realtime=v1"])
    event = json.loads(ws.recv())
    assert event["type"] == "error"
    assert event["error"]["code"] == "beta_api_shape_disabled"
    opcode, frame = ws.recv_data_frame(True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 4000
    hang_up(ws)  # the close frame was answered; now close TCP


def test_drop_after_closes_without_close_frame(sim: RealtimeSimulator) -> None:
    c = Client(sim.url)
    c.expect("session.created")
    sim.drop_after(2)
    c.send({"type": "input_audio_buffer.clear"})
    c.send({"type": "input_audio_buffer.clear"})
    c.expect("input_audio_buffer.cleared")
    c.expect("input_audio_buffer.cleared")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        c.ws.recv_data_frame(True)
    hang_up(c.ws)
    sim.wait_until_idle()

    # With no connection open, the next connection is armed.
    sim.drop_after(1)
    c = Client(sim.url)
    c.expect("session.created")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        c.ws.recv_data_frame(True)
    hang_up(c.ws)

    # Later connections are unaffected.
    c = Client(sim.url)
    c.expect("session.created")
    c.send({"type": "input_audio_buffer.clear"})
    c.expect("input_audio_buffer.cleared")
    c.close()


def test_send_raw_and_send_event(client: Client, sim: RealtimeSimulator) -> None:
    sim.send_raw("{this is not json")
    assert client.ws.recv() == "{this is not json"
    sim.send_raw(b"\x00\x01binary")
    opcode, data = client.ws.recv_data()
    assert (opcode, data) == (websocket.ABNF.OPCODE_BINARY, b"\x00\x01binary")
    custom = {"type": "rate_limits.updated", "event_id": "event_custom", "rate_limits": []}
    sim.send_event(custom)
    assert client.recv() == custom
    assert sim.sent[-1] == custom


def test_close_connections_sends_close_frame(sim: RealtimeSimulator) -> None:
    c = Client(sim.url)
    c.expect("session.created")
    sim.close_connections(code=1011, reason="simulated failure")
    opcode, frame = c.ws.recv_data_frame(True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 1011
    assert frame.data[2:].decode() == "simulated failure"
    hang_up(c.ws)  # websocket-client answered the close frame; now close TCP
    sim.wait_until_idle()


def test_stop_closes_connections_and_joins_threads() -> None:
    sim = RealtimeSimulator(event_delay=0.05).start()
    c = Client(sim.url)
    c.expect("session.created")
    frames: List[int] = []

    def read() -> None:
        try:
            while True:
                opcode, frame = c.ws.recv_data_frame(True)
                if opcode == websocket.ABNF.OPCODE_CLOSE:
                    frames.append(int.from_bytes(frame.data[:2], "big"))
                    hang_up(c.ws)
                    return
        except websocket.WebSocketException:
            return

    c.say("a long answer please")
    c.send({"type": "response.create"})
    c.expect("response.created")
    reader = threading.Thread(target=read)
    reader.start()
    started = time.monotonic()
    sim.stop()
    assert time.monotonic() - started < 1.5
    reader.join(5)
    assert frames == [1001]
    assert not [t for t in threading.enumerate() if t.name.startswith("realtime-simulator")]
    assert not sim.running
    sim.stop()  # idempotent


def test_cli_serves_until_interrupted() -> None:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_sync.testing", "--host", "127.0.0.1", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/v1/realtime")
        c = Client(url)
        c.expect("session.created")
        c.close()
        proc.send_signal(signal.SIGINT)
        assert proc.wait(10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


# --- protocol coverage -------------------------------------------------------------------------

EXPECTED_TYPES = {
    "session.created",
    "session.updated",
    "error",
    "conversation.item.added",
    "conversation.item.done",
    "conversation.item.deleted",
    "conversation.item.retrieved",
    "conversation.item.truncated",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
    "input_audio_buffer.committed",
    "input_audio_buffer.cleared",
    "input_audio_buffer.speech_started",
    "input_audio_buffer.speech_stopped",
    "output_audio_buffer.cleared",
    "response.created",
    "response.output_item.added",
    "response.output_item.done",
    "response.content_part.added",
    "response.content_part.done",
    "response.output_audio.delta",
    "response.output_audio.done",
    "response.output_audio_transcript.delta",
    "response.output_audio_transcript.done",
    "response.output_text.delta",
    "response.output_text.done",
    "response.function_call_arguments.delta",
    "response.function_call_arguments.done",
    "response.done",
    "rate_limits.updated",
}


def test_every_emitted_event_type_validates_against_openai_models(
    sim: RealtimeSimulator, client: Client
) -> None:
    """One scenario that makes the simulator emit every event type it knows.

    The ``sim`` fixture validates each of them with
    ``TypeAdapter(RealtimeServerEvent)`` (and rejects undeclared fields).
    """
    sim.add_reply("tool", function_call=("lookup", {"q": "x"}))
    client.send(
        {
            "type": "session.update",
            "session": {
                "type": "realtime",
                "audio": {"input": {"transcription": {"model": "gpt-4o-transcribe"}}},
            },
        }
    )
    client.expect("session.updated")
    client.send({"type": "session.update", "session": {"type": "realtime", "temperature": 1}})
    client.error()
    audio = pcm_silence(300) + pcm_tone(400) + pcm_silence(600)
    client.send({"type": "input_audio_buffer.append", "audio": b64(audio)})
    client.until("response.done")
    client.expect("rate_limits.updated")
    client.send({"type": "input_audio_buffer.clear"})
    client.expect("input_audio_buffer.cleared")
    item = client.say("use the tool")["item"]
    client.send({"type": "response.create"})
    call = client.until("response.done")[-1]["response"]["output"][0]
    client.expect("rate_limits.updated")
    client.send(
        {
            "type": "conversation.item.create",
            "item": {"type": "function_call_output", "call_id": call["call_id"], "output": "ok"},
        }
    )
    client.expect("conversation.item.added")
    client.expect("conversation.item.done")
    client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    client.until("rate_limits.updated")
    client.say("now say something")
    client.send({"type": "response.create"})
    spoken = client.until("response.done")[-1]["response"]["output"][0]
    client.expect("rate_limits.updated")
    client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": spoken["id"],
            "content_index": 0,
            "audio_end_ms": 50,
        }
    )
    client.expect("conversation.item.truncated")
    client.send({"type": "conversation.item.retrieve", "item_id": spoken["id"]})
    client.expect("conversation.item.retrieved")
    client.send({"type": "conversation.item.delete", "item_id": item["id"]})
    client.expect("conversation.item.deleted")
    client.send({"type": "output_audio_buffer.clear"})
    client.expect("output_audio_buffer.cleared")

    emitted: Set[str] = {e["type"] for e in sim.sent}
    assert emitted >= EXPECTED_TYPES, EXPECTED_TYPES - emitted
    for event in sim.sent:
        validate_server_event(event)
    ids = [e["event_id"] for e in sim.sent]
    assert len(ids) == len(set(ids))
