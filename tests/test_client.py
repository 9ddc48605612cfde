"""RealtimeClient against RealtimeSimulator: the seed README examples and client behaviour."""

from __future__ import annotations

import json
import random
import threading
from typing import Any, Dict, List

import pytest

from realtime_sync import (
    ConnectionClosedError,
    ContentPart,
    InputAudioTranscriptionConfig,
    ItemFunctionCall,
    ItemMessage,
    ItemStatus,
    NotConnectedError,
    RealtimeClient,
    RealtimeError,
    RealtimeEventType,
    RealtimeServerError,
    RealtimeTimeoutError,
    RealtimeUtils,
    ToolDefinition,
    TurnDetection,
    TurnDetectionType,
    Voice,
)
from realtime_sync import events as ev
from realtime_sync.testing import FunctionCall, RealtimeSimulator

from .conftest import wait_no_sdk_threads

T = RealtimeEventType

WEATHER = ToolDefinition(
    name="get_weather",
    description="Retrieves the weather for a location given its latitude and longitude.",
    parameters={
        "type": "object",
        "properties": {
            "lat": {"type": "number", "description": "Latitude"},
            "lng": {"type": "number", "description": "Longitude"},
        },
        "required": ["lat", "lng"],
    },
)


@pytest.fixture
def client(sim: RealtimeSimulator) -> Any:
    c = RealtimeClient(url=sim.url)
    yield c
    c.disconnect()
    assert wait_no_sdk_threads() == []


def session_updates(sim: RealtimeSimulator) -> List[Dict[str, Any]]:
    return [e["session"] for e in sim.received if e["type"] == "session.update"]


def count(sim: RealtimeSimulator, kind: str) -> int:
    return sum(1 for e in sim.received if e["type"] == kind)


# --------------------------------------------------------------------------- seed: quickstart


def test_quickstart(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.update_session(instructions="You are a great, upbeat friend.")
    client.update_session(voice=Voice.ALLOY)
    client.update_session(
        turn_detection=TurnDetection(type=TurnDetectionType.SERVER_VAD),
        input_audio_transcription=InputAudioTranscriptionConfig(model="whisper-1"),
    )
    updates: List[ev.ConversationUpdatedEvent] = []
    client.on(T.CONVERSATION_UPDATED, updates.append)
    session = client.connect()
    assert session.type == "realtime"
    sim.wait_for_received("session.update", timeout=5)
    sent = session_updates(sim)
    assert len(sent) == 1  # settings made before connect go out once, right after session.created
    assert sent[0]["type"] == "realtime"
    assert sent[0]["instructions"] == "You are a great, upbeat friend."
    assert sent[0]["audio"]["output"]["voice"] == "alloy"
    assert sent[0]["audio"]["input"]["turn_detection"] == {"type": "server_vad"}
    assert sent[0]["audio"]["input"]["transcription"] == {"model": "whisper-1"}
    assert sent[0]["audio"]["input"]["format"] == {"type": "audio/pcm", "rate": 24000}

    done = client.wait_for(T.RESPONSE_DONE)
    client.send_user_message_content([ContentPart.input_text(text="How are you?")])
    response = done.result(timeout=10).response
    assert response.status == "completed"

    items = client.conversation.get_items()
    assert [i.role for i in items] == ["user", "assistant"]
    user, assistant = items
    assert user.formatted.text == "How are you?"
    assert "How are you?" in assistant.formatted.transcript
    assert len(assistant.formatted.audio) > 0 and len(assistant.formatted.audio) % 2 == 0
    assert assistant.status == ItemStatus.COMPLETED
    audio_deltas = [u.delta.audio for u in updates if u.delta and u.delta.audio]
    assert b"".join(audio_deltas) == assistant.formatted.audio
    assert all(u.item is assistant for u in updates if u.delta and u.delta.audio)


def test_context_manager_connects_and_cleans_up(sim: RealtimeSimulator) -> None:
    with RealtimeClient(url=sim.url) as client:
        assert client.is_connected()
        turn = client.ask("Hello there", timeout=10)
        assert "Hello there" in turn.text
        assert len(turn.audio) > 0
    assert not client.is_connected()
    assert wait_no_sdk_threads() == []


# --------------------------------------------------------------------------- seed: sending messages


def test_sending_text_and_audio_parts_without_mutating_them(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.connect()
    audio = RealtimeUtils.generate_tone(duration_ms=200)
    parts = [ContentPart.input_text(text="Listen:"), ContentPart.input_audio(audio=audio)]
    done = client.wait_for(T.RESPONSE_DONE)
    client.send_user_message_content(parts)
    done.result(timeout=10)
    assert parts[1].audio == audio  # the caller's part still holds bytes
    created = next(e for e in sim.received if e["type"] == "conversation.item.create")
    assert created["item"]["content"][1]["audio"] == RealtimeUtils.base64_encode(audio)
    user = client.conversation.get_items()[0]
    assert user.formatted.text == "Listen:"
    assert user.formatted.audio == audio


# --------------------------------------------------------------------------- seed: streaming audio


def test_streaming_audio_in_manual_mode_commits_before_responding(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.connect()
    rng = random.Random(7)
    chunks = []
    for _ in range(10):  # 1 s of noise in 100 ms chunks, as in the seed
        chunk = RealtimeUtils.float_to_pcm16([rng.uniform(-1, 1) for _ in range(2400)])
        chunks.append(chunk)
        client.append_input_audio(chunk)
    done = client.wait_for(T.RESPONSE_DONE)
    client.create_response()
    done.result(timeout=10)
    kinds = [e["type"] for e in sim.received]
    assert kinds.index("input_audio_buffer.commit") < kinds.index("response.create")
    assert kinds.count("input_audio_buffer.append") == 10
    user = client.conversation.get_items()[0]
    assert user.role == "user"
    assert user.formatted.audio == b"".join(chunks)
    # nothing pending now: a second create_response does not commit again
    done = client.wait_for(T.RESPONSE_DONE)
    client.create_response()
    done.result(timeout=10)
    assert count(sim, "input_audio_buffer.commit") == 1


def test_server_vad_slices_speech_and_interrupts(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.update_session(
        turn_detection=TurnDetection(prefix_padding_ms=300, silence_duration_ms=500),
        input_audio_transcription=InputAudioTranscriptionConfig(model="whisper-1"),
    )
    sim.transcript_for_audio = "What a lovely tone."
    client.connect()
    interrupted = client.wait_for(T.CONVERSATION_INTERRUPTED)
    transcribed = client.wait_for(
        T.CONVERSATION_UPDATED,
        predicate=lambda e: e.delta is not None and e.delta.transcript == "What a lovely tone.",
    )
    done = client.wait_for(T.RESPONSE_DONE)
    silence = RealtimeUtils.generate_silence(500)
    tone = RealtimeUtils.generate_tone(duration_ms=1000, amplitude=0.5)
    stream = silence + tone + RealtimeUtils.generate_silence(1000)
    for i in range(0, len(stream), 4800):
        client.append_input_audio(stream[i : i + 4800])
    event = interrupted.result(timeout=10)
    assert event.audio_start_ms == 200
    user = transcribed.result(timeout=10).item
    done.result(timeout=10)
    assert user.formatted.transcript == "What a lovely tone."
    # the user's item holds exactly the audio between speech start and stop (at 48 bytes/ms)
    stopped = next(e for e in sim.sent if e["type"] == "input_audio_buffer.speech_stopped")
    assert user.formatted.audio == stream[200 * 48 : stopped["audio_end_ms"] * 48]
    assert client.conversation.get_items()[-1].role == "assistant"


def test_input_audio_retention_is_bounded(sim: RealtimeSimulator) -> None:
    client = RealtimeClient(url=sim.url, input_audio_retention_s=1.0)
    client.connect()
    for _ in range(50):  # 5 s
        client.append_input_audio(RealtimeUtils.generate_silence(100))
    assert client.conversation.input_audio_ms == 5000
    assert client.conversation.retained_input_audio_ms <= 2000
    client.disconnect()


# --------------------------------------------------------------------------- seed: tools


def test_add_tool_runs_it_and_asks_for_one_response(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    calls: List[Dict[str, Any]] = []
    threads: List[str] = []

    def get_weather(params: Dict[str, Any]) -> Dict[str, Any]:
        calls.append(params)
        threads.append(threading.current_thread().name)
        return {"temperature_c": 21.5, "conditions": "sunny"}

    client.add_tool(WEATHER, get_weather)
    sim.add_reply(
        "weather",
        function_call=("get_weather", {"lat": 48.85, "lng": 2.35}),
        then_text=lambda outputs: f"It is {json.loads(outputs[0])['conditions']} in Paris.",
    )
    errors: List[Any] = []
    client.on(T.ERROR, errors.append)
    client.connect()
    assert session_updates(sim)[0]["tools"][0]["name"] == "get_weather"
    turn = client.ask("What's the weather in Paris?", timeout=10)
    assert calls == [{"lat": 48.85, "lng": 2.35}]
    assert threads[0].startswith("realtime-tool")
    assert count(sim, "response.create") == 2  # the user's turn, then exactly one follow-up
    outputs = [e["item"] for e in sim.received if e["type"] == "conversation.item.create"]
    assert outputs[-1]["type"] == "function_call_output"
    assert json.loads(outputs[-1]["output"]) == {"temperature_c": 21.5, "conditions": "sunny"}
    assert isinstance(turn.items[0].item, ItemFunctionCall)
    assert turn.items[0].formatted.tool is not None
    assert json.loads(turn.items[0].formatted.tool.arguments) == {"lat": 48.85, "lng": 2.35}
    assert turn.text == "It is sunny in Paris."
    assert errors == []


def test_parallel_tool_calls_get_one_follow_up_after_the_response(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    release = threading.Event()

    def slow(params: Dict[str, Any]) -> str:
        release.wait(5)
        return f"slow {params['n']}"

    client.add_tool(ToolDefinition(name="slow"), slow)
    client.add_tool(ToolDefinition(name="fast"), lambda p: f"fast {p['n']}")
    sim.add_reply(
        "both",
        function_call=[FunctionCall("slow", {"n": 1}), FunctionCall("fast", {"n": 2})],
        then_text=lambda outs: " & ".join(sorted(json.loads(o) for o in outs)),
    )
    client.connect()
    first_done = client.wait_for(T.RESPONSE_DONE)
    final = client.wait_for(
        T.RESPONSE_DONE,
        predicate=lambda e: e.response.output and isinstance(e.response.output[0], ItemMessage),
    )
    client.send_text("Call both tools")
    first_done.result(timeout=10)
    release.set()
    final.result(timeout=10)
    kinds = [e["type"] for e in sim.received]
    assert kinds.count("response.create") == 2
    follow_up = len(kinds) - 1 - kinds[::-1].index("response.create")
    outputs = [
        i
        for i, e in enumerate(sim.received)
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]
    assert len(outputs) == 2 and max(outputs) < follow_up
    assert client.conversation.get_items()[-1].formatted.transcript == "fast 2 & slow 1"
    assert not any(e["type"] == "error" for e in sim.sent), (
        "no conversation_already_has_active_response race"
    )


def test_raising_tool_and_bad_arguments_send_error_outputs(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    def broken(params: Dict[str, Any]) -> Any:
        raise RuntimeError("weather service down")

    client.add_tool(WEATHER, broken)
    client.add_tool(ToolDefinition(name="strict"), lambda p: "never")
    sim.add_reply("weather", function_call=("get_weather", {"lat": 1, "lng": 2}))
    sim.add_reply("strict", function_call=FunctionCall("strict", "not json"))
    errors: List[Any] = []
    client.on(T.ERROR, errors.append)
    client.connect()
    client.ask("weather please", timeout=10)
    client.ask("strict please", timeout=10)
    outputs = [
        json.loads(e["item"]["output"])
        for e in sim.received
        if e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
    ]
    assert outputs[0] == {"error": "RuntimeError: weather service down"}
    assert "invalid JSON arguments" in outputs[1]["error"]
    assert [e.error.type for e in errors if isinstance(e, ev.SdkErrorEvent)] == ["tool_error"]
    assert count(sim, "response.create") == 4


def test_manual_tools_are_left_to_the_app(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.update_session(tools=[WEATHER])
    sim.add_reply("weather", function_call=("get_weather", {"lat": 1, "lng": 2}))
    calls: List[ItemFunctionCall] = []

    def on_completed(event: ev.ConversationItemCompletedEvent) -> None:
        if isinstance(event.item.item, ItemFunctionCall):
            calls.append(event.item.item)

    client.on(T.CONVERSATION_ITEM_COMPLETED, on_completed)
    client.connect()
    turn = client.ask("weather?", timeout=10)
    assert len(calls) == 1 and calls[0].name == "get_weather"
    assert json.loads(calls[0].arguments) == {"lat": 1, "lng": 2}
    assert isinstance(turn.items[0].item, ItemFunctionCall)
    assert count(sim, "response.create") == 1
    assert not any(
        e["type"] == "conversation.item.create" and e["item"]["type"] == "function_call_output"
        for e in sim.received
    )


def test_session_tools_and_added_tools_survive_later_updates(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.add_tool(WEATHER, lambda p: "ok")
    client.update_session(tools=[ToolDefinition(name="lookup", description="manual")])
    client.connect()
    client.update_session(instructions="Be brief.")
    client.update_session(voice="cedar")
    sim.wait_for_received("session.update", count=3, timeout=5)
    for update in session_updates(sim):
        assert sorted(t["name"] for t in update["tools"]) == ["get_weather", "lookup"]
    client.remove_tool("get_weather")
    sim.wait_for_received("session.update", count=4, timeout=5)
    assert [t["name"] for t in session_updates(sim)[-1]["tools"]] == ["lookup"]
    with pytest.raises(KeyError):
        client.remove_tool("get_weather")
    client.add_tool(WEATHER, lambda p: "ok")
    with pytest.raises(RealtimeError, match="already added"):
        client.add_tool(WEATHER, lambda p: "again")


def test_temperature_is_rejected_and_none_disables(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    with pytest.raises(RealtimeError, match="temperature"):
        client.update_session(temperature=0.8)
    client.update_session(
        turn_detection=TurnDetection(),
        modalities=["text", "audio"],
        max_response_output_tokens=4096,
        input_audio_format="g711_ulaw",
    )
    client.update_session(turn_detection=None)
    configured = client.connect()
    sent = session_updates(sim)[0]
    assert sent["audio"]["input"]["turn_detection"] is None
    assert sent["audio"]["input"]["format"] == {"type": "audio/pcmu"}
    assert sent["output_modalities"] == ["audio"]
    assert sent["max_output_tokens"] == 4096
    assert configured.audio is not None and configured.audio.input is not None
    assert configured.audio.input.turn_detection is None


def test_rejected_session_config_raises_server_error(sim: RealtimeSimulator) -> None:
    client = RealtimeClient(url=sim.url)
    client.update_session(session=client.session_config.__class__(type="transcription_only"))
    with pytest.raises(RealtimeServerError) as info:
        client.connect(timeout=5)
    assert info.value.code == "invalid_value"
    assert info.value.event_id is not None and info.value.event_id.startswith("evt_")
    assert not client.is_connected()


# --------------------------------------------------------------------------- seed: interruption


def test_cancel_response_truncates_what_was_not_heard(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    sim.add_reply("story", text="Once upon a time " * 20)  # several seconds of audio
    sim.event_delay = 0.005
    client.connect()
    heard = threading.Event()
    state: Dict[str, Any] = {}

    def on_update(event: ev.ConversationUpdatedEvent) -> None:
        if event.delta and event.delta.audio and client.conversation.audio_ms(event.item) >= 1000:
            state["item"] = event.item
            heard.set()

    client.on(T.CONVERSATION_UPDATED, on_update)
    done = client.wait_for(T.RESPONSE_DONE)
    client.send_text("Tell me a story")
    assert heard.wait(10)
    item = state["item"]
    before = len(sim.received)
    with pytest.raises(RealtimeError, match="not an assistant"):
        client.cancel_response(client.conversation.get_items()[0].id, 100)
    assert len(sim.received) == before  # validated before sending anything
    truncated = client.wait_for(T.CONVERSATION_ITEM_TRUNCATED)
    client.cancel_response(item.id, sample_count=12000)  # the listener heard 500 ms
    response = done.result(timeout=10).response
    assert response.status == "cancelled"
    truncate = sim.wait_for_received("conversation.item.truncate", timeout=5)
    assert truncate["audio_end_ms"] == 500 and truncate["item_id"] == item.id
    kinds = [e["type"] for e in sim.received]
    assert kinds.index("response.cancel") < kinds.index("conversation.item.truncate")
    truncated.result(timeout=5)
    assert len(item.formatted.audio) == 500 * 48
    assert item.formatted.transcript == ""


def test_cancel_clamps_to_audio_received(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.connect()
    turn = client.ask("Hi", timeout=10)
    item = turn.items[0]
    received_ms = int(client.conversation.audio_ms(item))
    client.cancel_response(item.id, sample_count=24000 * 3600)
    truncate = sim.wait_for_received("conversation.item.truncate", timeout=5)
    assert truncate["audio_end_ms"] == received_ms
    with pytest.raises(RealtimeError, match="no item"):
        client.cancel_response("item_missing", 10)


# ------------------------------------------------- seed: utility and server events


def test_utility_event_order_and_all_events(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    log: List[str] = []
    client.on(T.CONVERSATION_ITEM_APPENDED, lambda e: log.append(f"appended {e.item.id}"))
    client.on(T.CONVERSATION_ITEM_COMPLETED, lambda e: log.append(f"completed {e.item.id}"))
    everything: List[ev.RealtimeEvent] = []
    client.on(T.ALL, everything.append)
    server: List[Any] = []
    client.on(T.SERVER_ALL, server.append)
    client.connect()
    turn = client.ask("Hello", timeout=10)
    for item in [*client.conversation.get_items()]:
        assert log.index(f"appended {item.id}") < log.index(f"completed {item.id}")
    assert {w.source for w in everything} == {"client", "server"}
    assert any(w.event.type == "response.output_audio.delta" for w in everything)
    assert server[0].type == "session.created"
    assert turn.responses[0].usage is not None and turn.responses[0].usage.total_tokens


def test_server_errors_reach_error_handlers_once(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    sim.event_delay = 0.01
    errors: List[Any] = []
    client.on(T.ERROR, errors.append)
    client.connect()
    got_error = client.wait_for(T.ERROR)
    done = client.wait_for(T.RESPONSE_DONE)
    client.create_response()
    sid = client.realtime.send(ev.ResponseCreateEvent())  # while the first is active
    error = got_error.result(timeout=10)
    done.result(timeout=10)
    assert isinstance(error, ev.ErrorEvent)
    assert error.error.code == "conversation_already_has_active_response"
    assert error.error.event_id == sid
    assert errors == [error]


def test_failed_response_is_an_sdk_error(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.connect()
    failed = client.wait_for(T.ERROR)
    sim.send_event(
        {
            "type": "response.done",
            "event_id": "event_x",
            "response": {
                "id": "resp_x",
                "object": "realtime.response",
                "status": "failed",
                "status_details": {
                    "type": "failed",
                    "error": {"type": "server_error", "code": "overloaded", "message": "busy"},
                },
                "output": [],
            },
        }
    )
    error = failed.result(timeout=5)
    assert isinstance(error, ev.SdkErrorEvent)
    assert error.error.type == "response_failed"
    assert error.error.code == "overloaded" and error.error.message == "busy"


def test_raw_dict_send_and_delete_item(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.connect()
    added = client.wait_for(T.CONVERSATION_ITEM_COMPLETED)
    client.realtime.send(
        {
            "type": "conversation.item.create",
            "item": {
                "id": "item_raw",
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "raw"}],
            },
        }
    )
    assert added.result(timeout=5).item.id == "item_raw"
    assert client.conversation.get_item("item_raw") is not None
    updated = client.wait_for(T.CONVERSATION_UPDATED)
    client.delete_item("item_raw")
    assert updated.result(timeout=5).item.id == "item_raw"
    assert client.conversation.get_item("item_raw") is None
    assert client.conversation.get_items() == []


def test_transcription_before_its_item_is_kept(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.connect()
    sim.send_event(
        {
            "type": "conversation.item.input_audio_transcription.completed",
            "event_id": "event_t",
            "item_id": "item_early",
            "content_index": 0,
            "transcript": "said early",
            "usage": {"type": "duration", "seconds": 1.0},
        }
    )
    completed = client.wait_for(T.CONVERSATION_ITEM_COMPLETED)
    client.realtime.send(
        ev.ConversationItemCreateEvent(
            item=ItemMessage(
                id="item_early",
                role="user",  # type: ignore[arg-type]
                content=[
                    ContentPart.input_audio(audio=RealtimeUtils.generate_tone(duration_ms=200))
                ],
            )
        )
    )
    assert completed.result(timeout=5).item.formatted.transcript == "said early"


def test_items_keep_conversation_order(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.connect()
    for item_id, previous in (("item_b", None), ("item_c", None), ("item_a", "root")):
        done = client.wait_for(T.CONVERSATION_ITEM_COMPLETED)
        client.realtime.send(
            ev.ConversationItemCreateEvent(
                item=ItemMessage(
                    id=item_id, role="user", content=[ContentPart.input_text(text=item_id)]
                ),  # type: ignore[arg-type]
                previous_item_id=previous,
            )
        )
        done.result(timeout=5)
    assert [i.id for i in client.conversation.get_items()] == ["item_a", "item_b", "item_c"]


# --------------------------------------------------------------------------- blocking helpers


def test_wait_helpers_time_out_and_fail_fast_when_closed(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    with pytest.raises(NotConnectedError):
        client.wait_for_next_item(timeout=5)
    client.connect()
    assert client.wait_for_session_created(timeout=1).type == "realtime"
    with pytest.raises(RealtimeTimeoutError):
        client.wait_for_next_completed_item(timeout=0.2)
    with pytest.raises(TimeoutError):  # also a builtin TimeoutError
        client.wait_for_next_item(timeout=0.2)
    result: List[BaseException] = []

    def waiter() -> None:
        try:
            client.wait_for_next_item(timeout=30)
        except BaseException as exc:
            result.append(exc)

    thread = threading.Thread(target=waiter)
    thread.start()
    sim.close_connections(code=1011, reason="going away")
    thread.join(10)
    assert isinstance(result[0], ConnectionClosedError)
    with pytest.raises(ConnectionClosedError):
        client.ask("anyone?", timeout=5)


def test_next_item_helpers(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.connect()
    results: Dict[str, Any] = {}

    def wait() -> None:
        results["next"] = client.wait_for_next_item(timeout=10)
        results["completed"] = client.wait_for_next_completed_item(timeout=10)

    thread = threading.Thread(target=wait)
    thread.start()
    # the helper registers before it blocks: wait for it to be listening
    while not client.realtime.dispatcher._waiters.get(T.CONVERSATION_ITEM_APPENDED.value):
        threading.Event().wait(0.005)
    client.send_text("hello", create_response=True)
    thread.join(10)
    assert results["next"].role == "user"
    assert results["completed"].status == ItemStatus.COMPLETED


def test_handlers_may_call_client_methods_and_disconnect(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.connect()
    closed = client.wait_for(T.CLOSE)

    def on_done(event: Any) -> None:
        client.update_session(instructions="changed from a handler")
        client.disconnect()

    client.on_next(T.RESPONSE_DONE, on_done)
    client.send_text("hi")
    assert closed.result(timeout=10).error is False
    assert not client.is_connected()
    assert wait_no_sdk_threads() == []


def test_reset_forgets_everything(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.add_tool(WEATHER, lambda p: "x")
    client.update_session(instructions="custom")
    client.on(T.CONVERSATION_UPDATED, lambda e: None)
    client.connect()
    client.ask("hi", timeout=10)
    client.reset()
    sim.wait_until_idle(timeout=5)
    assert not client.is_connected()
    assert client.conversation.get_items() == []
    assert client.tools == {}
    assert client.session_config.instructions is None
    client.connect()
    sim.wait_for_received("session.update", count=2, timeout=5)
    assert session_updates(sim)[-1].get("tools", []) == []


def test_connect_can_be_retried_on_the_same_client(sim: RealtimeSimulator) -> None:
    client = RealtimeClient(url=sim.url)
    sim.reject_handshake(status=401)
    for _ in range(3):
        with pytest.raises(RealtimeError):
            client.connect(timeout=5)
    sim.reject_handshake(None)
    assert client.connect(timeout=5).type == "realtime"
    assert client.ask("after the retries", timeout=10).text
    client.disconnect()
    assert wait_no_sdk_threads() == []
