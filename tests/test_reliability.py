"""Reliability: reconnection with replay, recycling, fault injection, limits, and handshakes."""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections import Counter
from typing import Any, List

import pytest

from realtime_sync import (
    ConnectionClosedError,
    RealtimeAPI,
    RealtimeClient,
    RealtimeConnectionError,
    RealtimeConnectTimeoutError,
    RealtimeEventType,
    ReconnectPolicy,
    ToolDefinition,
)
from realtime_sync import events as ev
from realtime_sync.testing import RealtimeSimulator

from .conftest import wait_no_sdk_threads

T = RealtimeEventType
FAST = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, send_timeout=5.0)


@pytest.fixture
def client(sim: RealtimeSimulator) -> Any:
    c = RealtimeClient(url=sim.url, reconnect=FAST)
    yield c
    c.disconnect()
    assert wait_no_sdk_threads() == []


def completed_counter(client: RealtimeClient) -> Counter[str]:
    counts: Counter[str] = Counter()
    client.on(T.CONVERSATION_ITEM_COMPLETED, lambda e: counts.update([e.item.id]))
    return counts


# --------------------------------------------------------------------------- reconnection


def test_server_drop_mid_response_reconnects_and_replays(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    completed = completed_counter(client)
    client.connect()
    first = client.ask("Remember the number 42", timeout=10)
    assert first.text
    before = [(i.id, i.role) for i in client.conversation.get_items()]

    reconnecting: List[ev.ReconnectingEvent] = []
    client.on(T.RECONNECTING, reconnecting.append)
    reconnected = client.wait_for(T.RECONNECTED)
    sim.add_reply("story", text="A long story " * 30)
    sim.event_delay = 0.005
    got_audio = client.wait_for(
        T.CONVERSATION_UPDATED, predicate=lambda e: e.delta is not None and e.delta.audio
    )
    pending = client.wait_for(T.RESPONSE_DONE)
    client.send_text("Tell me a story")
    story_item = got_audio.result(timeout=10).item
    sim.drop_after(0)
    sim.send_event({"type": "future.nudge", "event_id": "x"})  # the drop happens on this send
    with pytest.raises(ConnectionClosedError):
        pending.result(timeout=10)
    info = reconnected.result(timeout=10)
    sim.event_delay = 0.0

    assert reconnecting and reconnecting[0].attempt == 1
    assert info.attempts >= 1 and not info.recycled
    # the first turn and the user's story request; the half-told story is lost
    replayed_ids = [i for i, _ in before] + [client.conversation.get_items()[len(before)].id]
    assert info.replayed == replayed_ids
    assert story_item.id in info.lost_items
    assert info.lost_response_id == story_item.response_id
    assert client.conversation.get_item(story_item.id).status == "incomplete"  # type: ignore[union-attr]
    # the new connection got the config and the replayed items, as text
    assert sim.connection_count == 2
    kinds = [e["type"] for e in sim.received]
    second_session = len(kinds) - 1 - kinds[::-1].index("session.update")
    creates = [e for e in sim.received[second_session:] if e["type"] == "conversation.item.create"]
    replayed = [e["item"] for e in creates if e["item"].get("id") in replayed_ids]
    assert [r["role"] for r in replayed] == ["user", "assistant", "user"]
    assert replayed[1]["content"][0]["type"] == "output_text"
    # the cache is consistent and no completion was reported twice
    ids = [i.id for i in client.conversation.get_items()]
    assert len(ids) == len(set(ids))
    assert ids[: len(replayed_ids)] == replayed_ids
    assert all(n == 1 for n in completed.values())
    # and the conversation goes on
    assert "Remember" not in client.ask("And now?", timeout=10).text
    assert client.is_connected()


def test_client_side_socket_failure_reconnects(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.connect()
    client.ask("hello", timeout=10)
    reconnected = client.wait_for(T.RECONNECTED)
    ws = client.realtime._ws  # fault injection: the client's own socket dies
    assert ws is not None and ws.sock is not None
    ws.sock.shutdown(socket.SHUT_RDWR)
    info = reconnected.result(timeout=10)
    assert len(info.replayed) == 2
    assert client.ask("again", timeout=10).text


def test_sends_wait_for_the_new_session_or_fail_clearly(sim: RealtimeSimulator) -> None:
    slow = ReconnectPolicy(initial_delay=0.4, max_delay=0.4, jitter=0.0, send_timeout=5.0)
    client = RealtimeClient(url=sim.url, reconnect=slow)
    client.connect()
    dropped = client.wait_for(T.RECONNECTING)
    sim.close_connections(code=1011, reason="boom")
    dropped.result(timeout=5)
    item_id = client.send_text("sent while reconnecting", create_response=False)  # waits
    assert client.is_connected()
    sim.wait_for_received("conversation.item.create", timeout=5)
    assert any(
        e["type"] == "conversation.item.create" and e["item"].get("id") == item_id
        for e in sim.received
    )
    client.disconnect()

    impatient = RealtimeClient(
        url=sim.url, reconnect=ReconnectPolicy(initial_delay=0.5, send_timeout=0.0)
    )
    impatient.connect()
    dropped = impatient.wait_for(T.RECONNECTING)
    sim.close_connections(code=1011)
    dropped.result(timeout=5)
    with pytest.raises(ConnectionClosedError):
        impatient.send_text("not now")
    impatient.disconnect()
    assert wait_no_sdk_threads() == []


def test_no_reconnect_after_normal_close_or_fatal_error(sim: RealtimeSimulator) -> None:
    client = RealtimeClient(url=sim.url, reconnect=FAST)
    reconnecting: List[Any] = []
    client.on(T.RECONNECTING, reconnecting.append)
    client.connect()
    closed = client.wait_for(T.CLOSE)
    sim.close_connections(code=1000, reason="bye")
    assert closed.result(timeout=5).error is False
    client.connect()
    closed = client.wait_for(T.CLOSE)
    sim.send_event(
        {
            "type": "error",
            "event_id": "e",
            "error": {"type": "invalid_request_error", "code": "invalid_api_key", "message": "no"},
        }
    )
    sim.close_connections(code=1011)
    assert closed.result(timeout=5).error is True
    client.disconnect()
    assert reconnecting == []
    assert sim.connection_count == 2


def test_reconnect_gives_up_on_401(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.connect()
    failures: List[ev.SdkErrorEvent] = []
    gave_up = threading.Event()

    def on_error(event: Any) -> None:
        if isinstance(event, ev.SdkErrorEvent) and event.error.type == "reconnect_failed":
            failures.append(event)
            gave_up.set()

    client.on(T.ERROR, on_error)
    sim.reject_handshake(status=401)
    sim.close_connections(code=1011)
    assert gave_up.wait(10)
    assert "401" in failures[0].error.message
    assert not client.is_connected()


def test_session_is_recycled_between_responses(sim: RealtimeSimulator) -> None:
    client = RealtimeClient(
        url=sim.url, reconnect=ReconnectPolicy(max_session_duration=0.0, initial_delay=0.05)
    )
    client.connect()
    recycled = client.wait_for(T.RECONNECTED)
    turn = client.ask("first", timeout=10)
    info = recycled.result(timeout=10)
    assert info.recycled and info.lost_response_id is None
    assert info.replayed == [i.id for i in client.conversation.get_items()][: len(info.replayed)]
    assert len(info.replayed) == 1 + len(turn.items)
    client.disconnect()
    assert wait_no_sdk_threads() == []


# --------------------------------------------------------------------------- errors, limits, usage


def test_rate_limits_usage_and_benign_races(
    sim: RealtimeSimulator, client: RealtimeClient, caplog: Any
) -> None:
    client.connect()
    with caplog.at_level(logging.DEBUG, logger="realtime_sync"):
        sim.event_delay = 0.005
        error = client.wait_for(T.ERROR)
        first = client.create_response()
        second = client.create_response()  # waits for the first: never sent into it
        first_turn, second_turn = first.result(timeout=10), second.result(timeout=10)
        assert first_turn.responses[0].id != second_turn.responses[0].id
        assert not error.done()
        # A raw transport send bypasses the session core: the server reports the race.
        done = client.wait_for(T.RESPONSE_DONE)
        client.create_response()
        client.realtime.send(ev.ResponseCreateEvent())
        assert error.result(timeout=10).error.code == "conversation_already_has_active_response"
        done.result(timeout=10)
        sim.event_delay = 0.0
    benign = [
        r for r in caplog.records if "conversation_already_has_active_response" in r.getMessage()
    ]
    assert benign and all(r.levelno == logging.DEBUG for r in benign)
    limits = client.wait_for(T.RATE_LIMITS_UPDATED)
    turn = client.ask("count my tokens", timeout=10)
    limits.result(timeout=5)
    assert {r.name for r in client.rate_limits} >= {"requests", "tokens"}
    total = sum((r.usage.total_tokens or 0) for r in client.conversation.get_responses() if r.usage)
    assert client.usage.total_tokens == total > 0
    assert turn.responses[0].usage is not None


def test_tool_that_never_returns_times_out(sim: RealtimeSimulator) -> None:
    client = RealtimeClient(url=sim.url, tool_timeout=0.3)
    release = threading.Event()
    client.add_tool(ToolDefinition(name="hang"), lambda p: release.wait(30))
    sim.add_reply("hang", function_call=("hang", {}))
    client.connect()
    try:
        turn = client.ask("please hang", timeout=10)
        outputs = [
            json.loads(e["item"]["output"])
            for e in sim.received
            if e["type"] == "conversation.item.create"
            and e["item"]["type"] == "function_call_output"
        ]
        assert outputs == [{"error": "the tool hang did not finish within 0.3 s"}]
        assert "did not finish" in turn.text
    finally:
        release.set()
        client.disconnect()


# --------------------------------------------------------------------------- faults on the wire


def test_out_of_order_unknown_and_duplicate_events_are_survived(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    completed = completed_counter(client)
    errors: List[Any] = []
    client.on(T.ERROR, errors.append)
    client.connect()
    base = {"response_id": "r", "output_index": 0, "content_index": 0}
    sim.send_event(
        {
            "type": "response.output_audio.delta",
            "event_id": "a",
            "item_id": "ghost",
            "delta": "AAAA",
            **base,
        }
    )
    sim.send_event(
        {
            "type": "response.output_text.delta",
            "event_id": "b",
            "item_id": "ghost",
            "delta": "hi",
            **base,
        }
    )
    sim.send_event(
        {
            "type": "conversation.item.truncated",
            "event_id": "c",
            "item_id": "ghost",
            "content_index": 0,
            "audio_end_ms": 5,
        }
    )
    sim.send_event({"type": "conversation.item.deleted", "event_id": "d", "item_id": "ghost"})
    sim.send_raw("x" * 200_000)  # oversized garbage
    turn = client.ask("still there?", timeout=10)
    for item in turn.items:  # a duplicated done changes nothing
        sim.send_event(
            {
                "type": "conversation.item.done",
                "event_id": "dup",
                "item": {
                    "id": item.id,
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_audio", "transcript": item.formatted.transcript}],
                },
            }
        )
    client.ask("and now?", timeout=10)
    assert client.conversation.get_item("ghost") is None
    assert all(n == 1 for n in completed.values())
    assert [e.error.type for e in errors if isinstance(e, ev.SdkErrorEvent)] == ["protocol_error"]


def test_slow_and_raising_handlers_do_not_stop_the_reader(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    release = threading.Event()
    blocked = threading.Event()

    def slow(event: Any) -> None:
        blocked.set()
        release.wait(10)

    client.on_next(T.RESPONSE_CREATED, slow)
    client.on(T.CONVERSATION_UPDATED, lambda e: 1 / 0)
    client.connect()
    client.send_text("hello")
    assert blocked.wait(5)
    # the server's whole response arrives while the handler blocks the dispatcher
    sim.wait_for_received("response.create", timeout=5)
    done_at = client.realtime.dispatcher
    finished = threading.Event()
    client.on_next(T.RESPONSE_DONE, lambda e: finished.set())
    depth_seen = 0
    for _ in range(200):  # bounded: the queue fills while the handler is blocked
        depth_seen = max(depth_seen, done_at.queue_depth)
        if depth_seen > 10:
            break
        threading.Event().wait(0.01)
    assert depth_seen > 10
    release.set()
    assert finished.wait(10)


def test_handshake_failures_are_distinct(sim: RealtimeSimulator) -> None:
    sim.reject_handshake(status=500)
    with pytest.raises(RealtimeConnectionError) as info:
        RealtimeAPI(url=sim.url).connect(timeout=5)
    assert info.value.status == 500 and "HTTP 500" in str(info.value)
    sim.reject_handshake(None)

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(1)
    try:
        port = silent.getsockname()[1]
        with pytest.raises(RealtimeConnectTimeoutError) as timeout_info:
            RealtimeAPI(url=f"ws://127.0.0.1:{port}/v1/realtime").connect(timeout=0.5)
        assert isinstance(timeout_info.value, TimeoutError)
    finally:
        silent.close()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    with pytest.raises(RealtimeConnectionError) as refused:
        RealtimeAPI(url=f"ws://127.0.0.1:{closed_port}/v1/realtime").connect(timeout=2)
    assert refused.value.status is None and "refused" in str(refused.value).lower()
    assert wait_no_sdk_threads() == []


def test_eight_threads_send_while_events_stream(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.connect()
    sim.event_delay = 0.001
    done = client.wait_for(T.RESPONSE_DONE)
    client.create_response()
    errors: List[BaseException] = []
    chunk = b"\x01\x00" * 2400

    def audio_sender() -> None:
        try:
            for _ in range(100):
                client.append_input_audio(chunk)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    def text_sender(n: int) -> None:
        try:
            for i in range(20):
                client.send_text(f"t{n}-{i}", create_response=False)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=audio_sender) for _ in range(4)]
    threads += [threading.Thread(target=text_sender, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not any(t.is_alive() for t in threads), "watchdog: a sender is stuck"
    assert errors == []
    done.result(timeout=30)
    sim.wait_for_received("conversation.item.create", count=80, timeout=10)
    sim.wait_for_received("input_audio_buffer.append", count=400, timeout=10)
    assert client.conversation.input_audio_ms == 400 * 100


def test_1000_connect_disconnect_cycles_leak_nothing(sim: RealtimeSimulator) -> None:
    before = {t.ident for t in threading.enumerate()}
    api = RealtimeAPI(url=sim.url)
    for _ in range(1000):
        created = api.wait_for(T.SESSION_CREATED)
        api.connect(timeout=5)
        created.result(timeout=5)
        api.disconnect()
    assert wait_no_sdk_threads() == []
    sim.wait_until_idle(timeout=5)  # the server side of the last connection
    new = [t for t in threading.enumerate() if t.ident not in before]
    # only the simulator's own short-lived closing helpers may still be winding down
    assert [t.name for t in new if not t.name.startswith("realtime-simulator")] == []


# ------------------------------------------------------- memory over long sessions


def _audio_events(item_id: str, n: int) -> List[Any]:
    from realtime_sync import protocol

    added = protocol.decode(
        json.dumps(
            {
                "type": "conversation.item.added",
                "event_id": "e",
                "item": {
                    "id": item_id,
                    "type": "message",
                    "role": "assistant",
                    "status": "in_progress",
                    "content": [],
                },
            }
        )
    )
    delta = protocol.decode(
        json.dumps(
            {
                "type": "response.output_audio.delta",
                "event_id": "e",
                "response_id": "r",
                "item_id": item_id,
                "output_index": 0,
                "content_index": 0,
                "delta": "AAAA" * 1200,
            }
        )
    )  # 3600 bytes = 75 ms
    done = protocol.decode(
        json.dumps(
            {
                "type": "conversation.item.done",
                "event_id": "e",
                "item": {
                    "id": item_id,
                    "type": "message",
                    "role": "assistant",
                    "status": "completed",
                    "content": [{"type": "output_audio", "transcript": "words"}],
                },
            }
        )
    )
    return [added, *([delta] * n), done]


def test_thirty_minutes_of_audio_stay_within_the_retention() -> None:
    from realtime_sync import RealtimeConversation

    conversation = RealtimeConversation(audio_retention_s=60.0, input_audio_retention_s=30.0)
    chunk = b"\x00\x01" * 2400
    for n in range(600):  # 600 items x 40 deltas x 75 ms = 30 minutes of output audio
        for event in _audio_events(f"item_{n}", 40):
            conversation.process(event)
        for _ in range(30):  # and 3 s of input audio per turn
            conversation.append_input_audio(chunk)
    items = conversation.get_items()
    assert len(items) == 600 and all(i.formatted.transcript == "words" for i in items)
    held = sum(len(i.formatted.audio_buffer) for i in items)
    assert held <= 60 * 48_000
    assert items[-1].formatted.audio_buffer and not items[-1].audio_dropped
    assert items[0].audio_dropped and items[0].formatted.audio == b""
    assert conversation.retained_input_audio_ms <= 60_000
    assert conversation.input_audio_ms == 600 * 3000


def test_no_retention_limit_keeps_everything() -> None:
    from realtime_sync import RealtimeConversation

    conversation = RealtimeConversation(audio_retention_s=None)
    for n in range(20):
        for event in _audio_events(f"item_{n}", 10):
            conversation.process(event)
    assert all(len(i.formatted.audio_buffer) == 36_000 for i in conversation.get_items())


def test_reconnect_replays_spoken_turns_and_images_and_says_how(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    from realtime_sync import ContentPart, RealtimeUtils

    client.connect()
    client.append_input_audio(RealtimeUtils.generate_tone(duration_ms=300, amplitude=0.3))
    spoken = client.respond(timeout=10)  # no transcription: the audio itself is kept
    png = (
        "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8"
        "z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )
    client.ask(
        [ContentPart.input_text(text="what is this?"), ContentPart.input_image(image_url=png)]
    )
    items = client.conversation.get_items()
    voice, image = items[0], items[2]
    reconnected = client.wait_for(T.RECONNECTED)
    start = len(sim.received)
    sim.close_connections(code=1011)
    info = reconnected.result(timeout=10)
    assert info.replayed_as[voice.id] == "audio" and info.replayed_as[image.id] == "image"
    assert info.replayed_as[spoken.items[0].id] == "transcript"  # the assistant's spoken answer
    creates = {
        e["item"]["id"]: e["item"]
        for e in sim.received[start:]
        if e["type"] == "conversation.item.create"
    }
    audio_part = creates[voice.id]["content"][0]
    assert audio_part["type"] == "input_audio"
    assert RealtimeUtils.base64_decode(audio_part["audio"]) == voice.formatted.audio
    assert [p["type"] for p in creates[image.id]["content"]] == ["input_text", "input_image"]
