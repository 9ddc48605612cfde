"""The simulator in the situations a client must handle on the live GA server.

Long answers that can be cancelled or truncated mid-stream, server VAD turns,
refused and out-of-band responses, the fields live servers add or leave out, and
responses that end ``incomplete`` or ``failed``. Everything goes over a real
socket with websocket-client and plain JSON (never the SDK client), and every
event the simulator sends is validated against the official ``openai`` models
(the few events a test alters on purpose are checked separately).
"""

from __future__ import annotations

import base64
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Set

import pytest
from openai.types.realtime.realtime_error_event import RealtimeErrorEvent

from realtime_sync.testing import RealtimeSimulator, speech_audio

from .test_simulator import BYTES_PER_MS, JSON, Client, b64, squash, validate_server_event

pytestmark = pytest.mark.timeout(30)

LONG_TEXT = " ".join(f"word{i}" for i in range(400)) + "."


def _no_simulator_threads() -> bool:
    return not [t for t in threading.enumerate() if t.name.startswith("realtime-simulator")]


@pytest.fixture
def make_sim() -> Iterator[Callable[..., RealtimeSimulator]]:
    """Start simulators; at the end, validate every event they sent.

    Events of the ``altered_types`` a test changes on purpose are left out ("*": all).
    """
    started: List[RealtimeSimulator] = []
    altered: Set[str] = set()

    def make(*, altered_types: Optional[Set[str]] = None, **kwargs: Any) -> RealtimeSimulator:
        altered.update(altered_types or ())
        simulator = RealtimeSimulator(**kwargs).start()
        started.append(simulator)
        return simulator

    yield make
    for simulator in started:
        simulator.stop()
        for event in simulator.sent:
            if "*" not in altered and event["type"] not in altered:
                validate_server_event(event)
    assert _no_simulator_threads()


@pytest.fixture
def sim(make_sim: Callable[..., RealtimeSimulator]) -> RealtimeSimulator:
    return make_sim()


@pytest.fixture
def client(sim: RealtimeSimulator) -> Iterator[Client]:
    c = Client(sim.url)
    c.expect("session.created")
    yield c
    c.close()


def _update(client: Client, **session: Any) -> JSON:
    client.send({"type": "session.update", "session": {"type": "realtime", **session}})
    return client.expect("session.updated")["session"]


def _text_mode(client: Client) -> None:
    _update(client, output_modalities=["text"])


def _append_in_chunks(client: Client, audio: bytes, chunk_ms: int = 100) -> None:
    chunk = chunk_ms * BYTES_PER_MS
    for offset in range(0, len(audio), chunk):
        client.send(
            {"type": "input_audio_buffer.append", "audio": b64(audio[offset : offset + chunk])}
        )


def _deltas(events: List[JSON], type_: str) -> List[JSON]:
    return [e for e in events if e["type"] == type_]


# --- long answers ------------------------------------------------------------------------------


def test_long_answer_streams_until_cancelled_by_response_id(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.add_reply("story", text=LONG_TEXT, event_delay=0.01)
    _text_mode(client)
    client.say("Tell me a story")
    client.send({"type": "response.create"})
    response_id = client.expect("response.created")["response"]["id"]
    events = client.until("response.output_text.delta")
    for _ in range(20):
        events.append(client.expect("response.output_text.delta"))
    client.send({"type": "response.cancel", "event_id": "evt_cancel", "response_id": response_id})
    asked = time.monotonic()
    events += client.until("response.done")
    assert time.monotonic() - asked < 1.0
    done = events[-1]["response"]
    assert done["id"] == response_id
    assert done["status"] == "cancelled"
    assert done["status_details"] == {"type": "cancelled", "reason": "client_cancelled"}
    deltas = _deltas(events, "response.output_text.delta")
    assert 21 <= len(deltas) < 200
    streamed = "".join(e["delta"] for e in deltas)
    assert done["output"][0]["status"] == "incomplete"
    assert done["output"][0]["content"] == [{"type": "output_text", "text": streamed}]
    text_done = next(e for e in events if e["type"] == "response.output_text.done")
    assert text_done["text"] == streamed
    client.expect("rate_limits.updated")


def test_long_audio_answer_starts_at_once_and_its_item_truncates_mid_stream(
    sim: RealtimeSimulator, client: Client
) -> None:
    # 30 000 characters: 30 minutes of generated audio, produced lazily chunk by chunk.
    sim.add_reply("lecture", text=" ".join(["lecture"] * 3750), event_delay=0.005)
    client.say("Give me a lecture")
    client.send({"type": "response.create"})
    asked = time.monotonic()
    response_id = client.expect("response.created")["response"]["id"]
    events = client.until("response.output_audio.delta")
    assert time.monotonic() - asked < 1.0
    while len(_deltas(events, "response.output_audio.delta")) < 4:
        events.append(client.recv())
    item_id = events[-1]["item_id"]

    client.send(
        {
            "type": "conversation.item.truncate",
            "event_id": "evt_too_far",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 3_600_000,
        }
    )
    client.send(
        {
            "type": "conversation.item.truncate",
            "item_id": item_id,
            "content_index": 0,
            "audio_end_ms": 150,
        }
    )
    events = client.until("conversation.item.truncated")
    error = next(e for e in events if e["type"] == "error")["error"]
    assert (error["code"], error["param"], error["event_id"]) == (
        "invalid_value",
        "audio_end_ms",
        "evt_too_far",
    )
    truncated = events[-1]
    assert (truncated["item_id"], truncated["audio_end_ms"]) == (item_id, 150)
    # The response goes on streaming after the truncation...
    more = [client.recv() for _ in range(5)]
    assert {e["type"] for e in more} <= {
        "response.output_audio.delta",
        "response.output_audio_transcript.delta",
    }
    client.send({"type": "response.cancel", "response_id": response_id})
    done = client.until("response.done")[-1]["response"]
    assert done["status"] == "cancelled"
    # ...but the conversation keeps the truncated item: 150 ms of audio, no transcript.
    assert done["output"][0]["content"] == [{"type": "output_audio", "transcript": ""}]
    client.expect("rate_limits.updated")
    client.send({"type": "conversation.item.retrieve", "item_id": item_id})
    part = client.expect("conversation.item.retrieved")["item"]["content"][0]
    assert part["transcript"] == ""
    assert len(base64.b64decode(part["audio"])) == 150 * BYTES_PER_MS


# --- server VAD --------------------------------------------------------------------------------


@pytest.mark.parametrize("audio_format", ["audio/pcm", "audio/pcmu", "audio/pcma"])
def test_speech_audio_makes_a_server_vad_turn_that_answers_itself(
    sim: RealtimeSimulator, client: Client, audio_format: str
) -> None:
    sim.transcript_for_audio = "What time is it?"
    sim.add_reply("time", text="It is noon.")
    fmt: JSON = {"type": audio_format}
    if audio_format == "audio/pcm":
        fmt["rate"] = 24000
    session = _update(client, audio={"input": {"format": fmt}})
    td = session["audio"]["input"]["turn_detection"]
    assert (td["type"], td["create_response"], td["interrupt_response"]) == (
        "server_vad",
        True,
        True,
    )
    audio = speech_audio(600, leading_silence_ms=400, audio_format=audio_format)
    client.send({"type": "input_audio_buffer.append", "audio": b64(audio)})
    started = client.expect("input_audio_buffer.speech_started")
    assert started["audio_start_ms"] == 100  # 400 ms of silence minus prefix_padding_ms (300)
    stopped = client.expect("input_audio_buffer.speech_stopped")
    assert stopped["audio_end_ms"] == 400 + 600 + 500  # + silence_duration_ms
    committed = client.expect("input_audio_buffer.committed")
    assert committed["item_id"] == started["item_id"] == stopped["item_id"]
    assert client.expect("conversation.item.added")["item"]["role"] == "user"
    client.expect("conversation.item.done")
    events = client.until("response.done")
    assert events[0]["type"] == "response.created"
    assert events[0]["response"]["conversation_id"].startswith("conv_")
    assert events[-1]["response"]["status"] == "completed"
    assert events[-1]["response"]["output"][0]["content"][0]["transcript"] == "It is noon."


def test_speech_during_an_answer_interrupts_it_and_starts_the_next_one(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.add_reply("story", text=LONG_TEXT, event_delay=0.01)
    client.say("a story please")
    client.send({"type": "response.create"})
    first = client.expect("response.created")["response"]["id"]
    client.until("response.output_audio.delta")
    _append_in_chunks(client, speech_audio(500))
    events = client.until("response.done")
    assert "input_audio_buffer.speech_started" in [e["type"] for e in events]
    done = events[-1]["response"]
    assert (done["id"], done["status"]) == (first, "cancelled")
    assert done["status_details"] == {"type": "cancelled", "reason": "turn_detected"}
    events = client.until("response.created")
    assert [e["type"] for e in events][:4] == [
        "rate_limits.updated",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
        "conversation.item.added",
    ]
    assert events[-1]["response"]["id"] != first
    assert client.until("response.done")[-1]["response"]["status"] == "completed"


def test_interrupt_response_false_lets_the_answer_finish(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.add_reply("count", text="one two three four five six seven eight", event_delay=0.02)
    _update(
        client,
        audio={"input": {"turn_detection": {"type": "server_vad", "interrupt_response": False}}},
    )
    client.say("count please")
    client.send({"type": "response.create"})
    response_id = client.expect("response.created")["response"]["id"]
    client.until("response.output_audio.delta")
    client.send({"type": "input_audio_buffer.append", "audio": b64(speech_audio(300))})
    events = client.until("response.done")
    types = [e["type"] for e in events]
    assert "input_audio_buffer.speech_started" in types
    assert "input_audio_buffer.committed" in types  # the turn is committed meanwhile
    assert events[-1]["response"]["id"] == response_id
    assert events[-1]["response"]["status"] == "completed"


# --- refusals and out-of-band responses -----------------------------------------------------------


def test_second_default_response_is_refused_but_out_of_band_runs_alongside(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.add_reply("story", text=LONG_TEXT, event_delay=0.01)
    _text_mode(client)
    client.say("story time")
    client.send({"type": "response.create"})
    active = client.expect("response.created")["response"]["id"]
    client.send({"type": "response.create", "event_id": "evt_again"})
    events = client.until("error")
    error_event = events[-1]
    parsed = RealtimeErrorEvent.model_validate(error_event)
    assert parsed.error.model_dump() == {
        "type": "invalid_request_error",
        "code": "conversation_already_has_active_response",
        "message": (
            f"Conversation already has an active response in progress: {active}. "
            "Wait until the response is finished before creating a new one."
        ),
        "param": None,
        "event_id": "evt_again",
    }
    assert error_event["event_id"].startswith("event_")

    client.send(
        {
            "type": "response.create",
            "event_id": "evt_oob",
            "response": {
                "conversation": "none",
                "metadata": {"purpose": "summary"},
                "input": [
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "Summarise."}],
                    }
                ],
            },
        }
    )
    events = client.until("response.created")
    oob = events[-1]["response"]
    assert oob["conversation_id"] is None
    assert oob["metadata"] == {"purpose": "summary"}
    assert "error" not in [e["type"] for e in events]
    # Cancel the first one by id; the out-of-band one completes on its own.
    client.send({"type": "response.cancel", "response_id": active})
    finished = {}
    while len(finished) < 2:
        event = client.recv()
        if event["type"] == "response.done":
            finished[event["response"]["id"]] = event["response"]
    assert finished[active]["status"] == "cancelled"
    assert finished[oob["id"]]["status"] == "completed"
    assert finished[oob["id"]]["metadata"] == {"purpose": "summary"}


def test_out_of_band_output_stays_out_of_the_conversation(client: Client) -> None:
    _text_mode(client)
    client.say("in the conversation", id="item_conv")
    client.send(
        {
            "type": "response.create",
            "response": {
                "conversation": "none",
                "metadata": {"topic": "weather"},
                "input": [
                    {"type": "item_reference", "id": "item_conv"},
                    {
                        "type": "message",
                        "role": "user",
                        "content": [{"type": "input_text", "text": "only for this answer"}],
                    },
                ],
            },
        }
    )
    events = client.until("response.done")
    assert squash([e["type"] for e in events]) == [
        "response.created",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.done",
    ]
    created, done = events[0]["response"], events[-1]["response"]
    assert created["conversation_id"] is None and done["conversation_id"] is None
    assert created["metadata"] == done["metadata"] == {"topic": "weather"}
    # The model answered the input's last user message, not the conversation's.
    assert done["output"][0]["content"][0]["text"] == (
        'You said: "only for this answer". I am the realtime_sync simulator.'
    )
    client.expect("rate_limits.updated")
    client.send({"type": "conversation.item.retrieve", "item_id": done["output"][0]["id"]})
    assert client.error()["code"] == "item_retrieve_invalid_item_id"
    # The next conversation item follows the last one of the conversation.
    assert client.say("next")["previous_item_id"] == "item_conv"


def test_out_of_band_function_call_lives_only_in_its_response(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.add_reply(
        "classify",
        function_call=("classify", {"text": "hi"}),
        then_text=lambda outputs: f"Category: {outputs[0]}",
    )
    _text_mode(client)
    question: JSON = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "classify this"}],
    }
    client.send(
        {"type": "response.create", "response": {"conversation": "none", "input": [question]}}
    )
    events = client.until("response.done")
    assert "conversation.item.added" not in [e["type"] for e in events]
    call = events[-1]["response"]["output"][0]
    assert (call["type"], call["name"], call["status"]) == (
        "function_call",
        "classify",
        "completed",
    )
    client.expect("rate_limits.updated")

    client.send(
        {
            "type": "conversation.item.create",
            "event_id": "evt_output",
            "item": {"type": "function_call_output", "call_id": call["call_id"], "output": "A"},
        }
    )
    error = client.error()
    assert (error["type"], error["code"], error["event_id"]) == (
        "invalid_request_error",
        "invalid_tool_call_id",
        "evt_output",
    )
    assert call["call_id"] in error["message"]
    # No item was created: the conversation is still empty.
    assert client.say("hello")["previous_item_id"] is None

    # The call is answered out of band too, with the call and its output as input.
    output: JSON = {"type": "function_call_output", "call_id": call["call_id"], "output": "A"}
    call_item = {k: call[k] for k in ("type", "name", "arguments", "call_id")}
    client.send(
        {
            "type": "response.create",
            "response": {"conversation": "none", "input": [question, call_item, output]},
        }
    )
    done = client.until("response.done")[-1]["response"]
    assert done["conversation_id"] is None
    assert done["output"][0]["content"][0]["text"] == "Category: A"


# --- live-server fields ------------------------------------------------------------------------


def test_text_and_transcript_deltas_carry_obfuscation(
    sim: RealtimeSimulator, client: Client
) -> None:
    sim.add_reply("", text="Sure, here is a rather long sentence for the padding check.")
    _update(client, audio={"input": {"transcription": {"model": "gpt-4o-transcribe"}}})
    client.say("text please")
    client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    events = client.until("response.done")
    client.expect("rate_limits.updated")
    client.say("audio please")
    client.send({"type": "response.create"})
    events += client.until("response.done")
    client.expect("rate_limits.updated")
    client.send({"type": "input_audio_buffer.append", "audio": b64(speech_audio(400))})
    events += client.until("conversation.item.input_audio_transcription.completed")

    padded = (
        _deltas(events, "response.output_text.delta")
        + _deltas(events, "response.output_audio_transcript.delta")
        + _deltas(events, "conversation.item.input_audio_transcription.delta")
    )
    assert {e["type"] for e in padded} == {
        "response.output_text.delta",
        "response.output_audio_transcript.delta",
        "conversation.item.input_audio_transcription.delta",
    }
    for event in padded:
        pad = event["obfuscation"]
        assert isinstance(pad, str) and pad.isalnum()
        assert len(event["delta"] + pad) % 16 == 0
    assert len({e["obfuscation"] for e in padded}) > 1  # random, not a constant
    for event in _deltas(events, "response.output_audio.delta"):
        assert "obfuscation" not in event
    completed = events[-1]
    assert completed["usage"]["type"] == "tokens"
    assert completed["usage"]["total_tokens"] > 0


def test_omitted_and_extra_fields_from_the_constructor(
    make_sim: Callable[..., RealtimeSimulator],
) -> None:
    completed = "conversation.item.input_audio_transcription.completed"
    sim = make_sim(
        altered_types={"*"},
        omit_fields={completed: ["usage"], "response.done": ["response.usage"]},
        extra_fields={"*": {"x_everywhere": 1}, "response.done": {"response.x_future": "v"}},
    )
    client = Client(sim.url)
    created = client.expect("session.created")
    assert created["x_everywhere"] == 1
    _update(client, audio={"input": {"transcription": {"model": "whisper-1"}}})
    client.send({"type": "input_audio_buffer.append", "audio": b64(speech_audio(400))})
    event = client.until(completed)[-1]
    assert "usage" not in event
    assert event["transcript"] == "Hello there."
    done = client.until("response.done")[-1]
    assert "usage" not in done["response"]
    assert done["response"]["x_future"] == "v"
    assert done["x_everywhere"] == 1
    client.close()
    for sent in sim.sent:
        assert sent["x_everywhere"] == 1
        if sent["type"] in (completed, "response.done"):
            continue
        # Apart from the extra field, the other events are untouched GA events.
        validate_server_event({k: v for k, v in sent.items() if k != "x_everywhere"})


def test_field_overrides_set_and_cleared_at_run_time(
    make_sim: Callable[..., RealtimeSimulator],
) -> None:
    sim = make_sim(altered_types={"response.output_text.delta", "response.created"})
    client = Client(sim.url)
    client.expect("session.created")
    _text_mode(client)
    sim.omit_fields("response.output_text.delta", "obfuscation")
    sim.add_extra_fields("response.created", {"response.x_new": [1, 2], "response.status": "x"})
    sim.add_extra_fields("response.created", {"missing.parent": 1})
    client.send({"type": "response.create"})
    events = client.until("response.done")
    created = events[0]
    assert created["response"]["x_new"] == [1, 2]
    assert "missing" not in created
    assert created["response"]["status"] == "in_progress"  # present: never replaced
    assert all("obfuscation" not in e for e in _deltas(events, "response.output_text.delta"))
    client.expect("rate_limits.updated")
    # send_event() stays verbatim.
    sim.send_event({"type": "response.output_text.delta", "event_id": "event_raw"})
    assert client.recv() == {"type": "response.output_text.delta", "event_id": "event_raw"}
    sim.clear_field_overrides()
    client.send({"type": "response.create"})
    events = client.until("response.done")
    assert "x_new" not in events[0]["response"]
    assert all("obfuscation" in e for e in _deltas(events, "response.output_text.delta"))
    client.close()


# --- response.done statuses --------------------------------------------------------------------


def test_max_output_tokens_ends_the_response_incomplete(client: Client) -> None:
    _text_mode(client)
    client.say("a fairly long question that gets an even longer echo back")
    client.send({"type": "response.create", "response": {"max_output_tokens": 5}})
    events = client.until("response.done")
    done = events[-1]["response"]
    assert done["max_output_tokens"] == 5
    assert done["status"] == "incomplete"
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert 0 < done["usage"]["output_tokens"] <= 5
    item = done["output"][0]
    assert item["status"] == "incomplete"
    text = "".join(e["delta"] for e in _deltas(events, "response.output_text.delta"))
    assert item["content"][0]["text"] == text
    assert 0 < len(text) <= 20


def test_max_output_tokens_counts_audio_tokens(client: Client) -> None:
    client.say("hello")
    client.send({"type": "response.create", "response": {"max_output_tokens": 20}})
    done = client.until("response.done")[-1]["response"]
    assert done["status_details"] == {"type": "incomplete", "reason": "max_output_tokens"}
    assert done["usage"]["output_tokens"] <= 20
    assert done["usage"]["output_token_details"]["audio_tokens"] > 0


def test_scripted_incomplete_reply(sim: RealtimeSimulator, client: Client) -> None:
    sim.add_reply(
        "cut", text="one two three four five six", status="incomplete", stop_after_words=2
    )
    sim.add_reply(
        "filter",
        text="this is not allowed",
        function_call=("never", {}),
        status="incomplete",
        status_reason="content_filter",
    )
    _text_mode(client)
    client.say("cut it")
    client.send({"type": "response.create"})
    events = client.until("response.done")
    assert [e["delta"] for e in _deltas(events, "response.output_text.delta")] == ["one ", "two "]
    done = events[-1]["response"]
    assert (done["status"], done["status_details"]) == (
        "incomplete",
        {"type": "incomplete", "reason": "max_output_tokens"},
    )
    assert done["output"][0]["status"] == "incomplete"
    conv_done = next(e for e in events if e["type"] == "conversation.item.done")
    assert conv_done["item"]["status"] == "incomplete"
    client.expect("rate_limits.updated")

    client.say("filter this")
    client.send({"type": "response.create"})
    done = client.until("response.done")[-1]["response"]
    assert done["status_details"] == {"type": "incomplete", "reason": "content_filter"}
    assert [o["type"] for o in done["output"]] == ["message"]  # the call is never made
    assert done["output"][0]["content"][0]["text"] == "this is "


def test_scripted_failed_reply(sim: RealtimeSimulator, client: Client) -> None:
    quota = {
        "type": "insufficient_quota",
        "code": "insufficient_quota",
        "message": "You exceeded your current quota.",
    }
    sim.add_reply("quota", text="never said", status="failed", error=quota)
    sim.add_reply("late", text="half of it then boom", status="failed", stop_after_words=3)
    client.say("quota please")
    client.send({"type": "response.create"})
    events = client.until("response.done")
    assert [e["type"] for e in events] == ["response.created", "response.done"]
    done = events[-1]["response"]
    assert done["status"] == "failed"
    assert done["status_details"] == {"type": "failed", "error": quota}
    assert done["output"] == []
    client.expect("rate_limits.updated")

    client.say("late failure")
    client.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    events = client.until("response.done")
    done = events[-1]["response"]
    assert done["status_details"] == {
        "type": "failed",
        "error": {
            "type": "server_error",
            "code": None,
            "message": "The server had an error while processing your request.",
        },
    }
    assert done["output"][0]["content"][0]["text"] == "half of it "
    assert done["output"][0]["status"] == "incomplete"
    client.expect("rate_limits.updated")
    # The conversation is free again: the next response is accepted.
    client.say("hello")
    client.send({"type": "response.create"})
    assert client.until("response.done")[-1]["response"]["status"] == "completed"


def test_add_reply_rejects_inconsistent_endings(sim: RealtimeSimulator) -> None:
    bad: List[JSON] = [
        {"status": "done"},
        {"status": "completed", "status_reason": "max_output_tokens"},
        {"status": "incomplete", "status_reason": "turn_detected"},
        {"status": "incomplete", "error": {"type": "x"}},
        {"stop_after_words": 2},
        {"status": "failed", "stop_after_words": -1},
        {"event_delay": -0.1},
    ]
    for kwargs in bad:
        with pytest.raises(ValueError):
            sim.add_reply("x", text="y", **kwargs)


def test_speech_audio_arguments() -> None:
    audio = speech_audio(250, silence_ms=100, leading_silence_ms=50)
    assert len(audio) == (50 + 250 + 100) * BYTES_PER_MS
    assert audio[: 50 * BYTES_PER_MS] == bytes(50 * BYTES_PER_MS)
    assert audio[-100 * BYTES_PER_MS :] == bytes(100 * BYTES_PER_MS)
    assert len(speech_audio(100, silence_ms=0, audio_format="audio/pcmu")) == 800
    for kwargs in ({"speech_ms": 0}, {"silence_ms": -1}, {"audio_format": "audio/wav"}):
        with pytest.raises(ValueError):
            speech_audio(**kwargs)
