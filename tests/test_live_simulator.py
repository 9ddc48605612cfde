"""Tests of realtime_sync.testing.live.LiveSimulator over real sockets.

Every server event a test receives is validated against openai.types.live's
server-event union for its endpoint (and nested ``response.event`` payloads
against openai.types.responses.ResponseStreamEvent).
"""

from __future__ import annotations

import base64
import json
import math
import struct
import threading
import time
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest
from pydantic import TypeAdapter
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import ClientConnection, connect

from realtime_sync.testing.live import LiveSimulator
from realtime_sync.testing.live._wire import Endpoint, validate_server_event

pytest.importorskip("openai.types.live")
from openai.types.responses import ResponseStreamEvent

JSON = Dict[str, Any]
TIMEOUT = 5.0
_nested = TypeAdapter(ResponseStreamEvent)


def pcm(ms: int, amplitude: int = 8000, rate: int = 24000) -> bytes:
    """PCM16 mono: a 300 Hz tone (speech-like when loud) or silence (amplitude 0)."""
    n = rate * ms // 1000
    return struct.pack(
        f"<{n}h", *(int(amplitude * math.sin(2 * math.pi * 300 * i / rate)) for i in range(n))
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


class Peer:
    """A raw WebSocket client that validates and collects every server event."""

    def __init__(self, url: str, endpoint: Endpoint = "primary", **kwargs: Any) -> None:
        self.endpoint = endpoint
        self.ws: ClientConnection = connect(url, open_timeout=TIMEOUT, **kwargs).__enter__()
        self.events: List[JSON] = []
        self.invalid: List[str] = []
        self.closed = threading.Event()
        self._cond = threading.Condition()  # guards events and invalid
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        try:
            for message in self.ws:
                event = json.loads(message)
                problem = None
                try:
                    validate_server_event(event, self.endpoint)
                    if event["type"] == "response.event":
                        _nested.validate_python(event["event"])
                except Exception as exc:  # collected, asserted by the test
                    problem = f"{event.get('type')}: {exc}"
                with self._cond:
                    self.events.append(event)
                    if problem:
                        self.invalid.append(problem)
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            self.closed.set()
            with self._cond:
                self._cond.notify_all()

    def send(self, type_: str, **fields: Any) -> None:
        self.ws.send(json.dumps({"type": type_, **fields}))

    def audio(self, data: bytes, chunk_ms: int = 100, rate: int = 24000) -> None:
        step = rate * 2 * chunk_ms // 1000
        for i in range(0, len(data), step):
            self.send("session.input_audio.append", audio=b64(data[i : i + step]))

    def wait(
        self, type_: str, count: int = 1, where: Optional[Callable[[JSON], bool]] = None
    ) -> JSON:
        def nth() -> Optional[JSON]:
            found = [e for e in self.events if e["type"] == type_ and (where is None or where(e))]
            return found[count - 1] if len(found) >= count else None

        with self._cond:
            event = self._cond.wait_for(nth, TIMEOUT)
        assert event is not None, f"no {type_} #{count}; got {[e['type'] for e in self.events]}"
        return event

    def wait_any(self, types: Any) -> JSON:
        with self._cond:
            event = self._cond.wait_for(
                lambda: next((e for e in self.events if e["type"] in types), None), TIMEOUT
            )
        assert event is not None, f"none of {types}; got {[e['type'] for e in self.events]}"
        return event

    def of(self, type_: str) -> List[JSON]:
        with self._cond:
            return [e for e in self.events if e["type"] == type_]

    def start(self, **session: Any) -> JSON:
        self.send("session.start", event_id="evt_start", session={"model": "gpt-live-1", **session})
        return self.wait("session.started")

    def close(self) -> None:
        self.ws.close()
        self._thread.join(TIMEOUT)
        assert not self.invalid, self.invalid


@pytest.fixture
def sim() -> Iterator[LiveSimulator]:
    with LiveSimulator() as s:
        s.idle_timeout = 30.0
        yield s
        for event in s.sent:  # every frame of every connection (sidebands included)
            validate_server_event(event, "attach")


@pytest.fixture
def peer(sim: LiveSimulator) -> Iterator[Peer]:
    p = Peer(sim.url)
    yield p
    p.close()


def utter(peer: Peer, speech_ms: int = 400, silence_ms: int = 700) -> None:
    peer.audio(pcm(speech_ms))
    peer.audio(pcm(silence_ms, 0))


def text_of(events: List[JSON]) -> str:
    return "".join(e["delta"] for e in events)


# --------------------------------------------------------------------- handshake and start


def test_url_and_lifecycle() -> None:
    sim = LiveSimulator(model="gpt-live-1.1", event_delay=0.0)
    with pytest.raises(RuntimeError):
        _ = sim.url
    sim.start()
    try:
        assert sim.url.startswith("ws://127.0.0.1:") and sim.url.endswith("/v1/live/sessions")
    finally:
        sim.stop()
        sim.stop()


def test_bearer_key_required() -> None:
    with LiveSimulator(api_key="sk-test") as sim:
        with pytest.raises(InvalidStatus) as info:
            connect(sim.url, open_timeout=TIMEOUT)
        assert info.value.response.status_code == 401
        with pytest.raises(InvalidStatus):
            connect(
                sim.url, open_timeout=TIMEOUT, additional_headers={"Authorization": "Bearer no"}
            )
        p = Peer(sim.url, additional_headers={"Authorization": "Bearer sk-test"})
        assert p.start()["session"]["model"] == "gpt-live-1"
        p.close()


def test_unknown_path_is_404(sim: LiveSimulator) -> None:
    with pytest.raises(InvalidStatus) as info:
        connect(sim.url.replace("/live/sessions", "/realtime"), open_timeout=TIMEOUT)
    assert info.value.response.status_code == 404
    with pytest.raises(InvalidStatus) as info:
        connect(sim.attach_url("sess_nope"), open_timeout=TIMEOUT)
    assert info.value.response.status_code == 404


def test_command_before_start_is_an_error(peer: Peer) -> None:
    peer.send("session.commentary.append", event_id="c1", content="hi", delegation_id=None)
    error = peer.wait("error")
    assert error["error"]["code"] == "session_not_started"
    assert error["error"]["client_event_id"] == "c1" and error["client_event_id"] == "c1"


def test_start_validates_config_strictly(peer: Peer, sim: LiveSimulator) -> None:
    peer.send("session.start", event_id="s1", session={"model": "gpt-live-1", "voice": "x"})
    error = peer.wait("error")
    assert error["error"]["code"] == "unknown_parameter"
    assert error["error"]["param"] == "session.voice"
    peer.send(
        "session.start",
        event_id="s2",
        session={"model": "gpt-live-1", "audio": {"output": {"voice": "marin", "speed": 2}}},
    )
    assert peer.wait("error", 2)["error"]["param"] == "session.audio.output.speed"
    peer.send("session.start", event_id="s3", session={"model": "gpt-realtime"})
    error = peer.wait("error", 3)
    assert error["error"]["param"] == "session.model" and error["client_event_id"] == "s3"
    peer.send("session.start", event_id="s4", session={})
    assert peer.wait("error", 4)["error"]["code"] == "missing_required_parameter"
    peer.send("session.nope", event_id="s5")
    assert peer.wait("error", 5)["error"]["param"] == "type"
    started = peer.start(instructions="Be brief.")
    assert started["client_event_id"] == "evt_start"
    session = started["session"]
    assert session["model"] == "gpt-live-1" and session["status"] == "active"
    assert session["audio"]["output"]["voice"] == "marin"
    assert session["id"] in sim.session_ids
    assert sim.wait_for_received("session.start", count=5)["session"]["instructions"] == "Be brief."
    peer.send("session.start", session={"model": "gpt-live-1"})
    assert peer.wait("error", 6)["error"]["code"] == "session_already_started"


# --------------------------------------------------------------------- timeline


def test_appends_are_placed_only_when_time_advances(peer: Peer) -> None:
    peer.start()
    peer.send(
        "session.instructions.append", event_id="i1", content="Speak French.", delegation_id=None
    )
    peer.send("session.thinking.append", event_id="t1", content="hmm", delegation_id=None)
    time.sleep(0.2)
    assert not peer.of("session.instructions.appended")
    peer.audio(pcm(200, 0))
    ack = peer.wait("session.instructions.appended")
    assert ack["client_event_id"] == "i1" and ack["start_ms"] == ack["end_ms"] == 0
    assert peer.wait("session.thinking.appended")["client_event_id"] == "t1"
    peer.send("session.thinking.append", event_id="t2", content="later", delegation_id=None)
    peer.audio(pcm(100, 0))
    assert peer.wait("session.thinking.appended", 2)["start_ms"] == 200


def test_output_audio_is_continuous_and_paced(peer: Peer) -> None:
    peer.start()
    peer.audio(pcm(500, 0))
    deltas = [peer.wait("session.output_audio.delta", i) for i in range(1, 6)]
    total = sum(len(base64.b64decode(d["delta"])) for d in deltas)
    assert total == 24000 * 2 // 2  # 500 ms of PCM16 24 kHz
    assert all("start_ms" not in d for d in deltas)
    assert not any(base64.b64decode(d["delta"]).strip(b"\x00") for d in deltas)


def test_scripted_reply_after_utterance(peer: Peer, sim: LiveSimulator) -> None:
    sim.transcript_for_audio = "What is the weather in Paris?"
    sim.add_reply("weather", "It is sunny today.")
    peer.start()
    utter(peer)
    peer.audio(pcm(1500, 0))
    inputs = [peer.wait("session.input_transcript.delta", i) for i in range(1, 7)]
    assert text_of(inputs) == "What is the weather in Paris?"
    assert inputs[0]["start_ms"] == 0 and inputs[-1]["end_ms"] <= 400
    outputs = [peer.wait("session.output_transcript.delta", i) for i in range(1, 5)]
    assert text_of(outputs) == "It is sunny today."
    assert all(a["end_ms"] <= b["start_ms"] for a, b in zip(outputs, outputs[1:]))
    assert outputs[0]["start_ms"] >= inputs[-1]["end_ms"]
    loud = [
        d
        for d in peer.of("session.output_audio.delta")
        if base64.b64decode(d["delta"]).strip(b"\x00")
    ]
    assert loud, "the model's speech is a tone"
    assert not [e for e in peer.events if e["type"].endswith(".done")]


def test_commentary_without_delegation_is_spoken(peer: Peer) -> None:
    peer.start()
    peer.send(
        "session.commentary.append",
        event_id="c1",
        content="Your order shipped.",
        delegation_id=None,
    )
    peer.audio(pcm(1200, 0))
    ack = peer.wait("session.commentary.appended")
    assert ack["client_event_id"] == "c1"
    words = [peer.wait("session.output_transcript.delta", i) for i in range(1, 4)]
    assert text_of(words) == "Your order shipped."
    assert words[0]["start_ms"] == ack["start_ms"]


# --------------------------------------------------------------------- delegation


def test_client_delegation(peer: Peer, sim: LiveSimulator) -> None:
    sim.transcript_for_audio = "Book a table for two."
    sim.add_delegation("book")
    peer.start()
    utter(peer)
    created = peer.wait("session.delegation.created")
    assert set(created) == {"type", "event_id", "delegation", "offset_ms"}
    assert created["delegation"]["target"] == "client"
    assert set(created["delegation"]) == {"id", "target", "type"}
    assert created["offset_ms"] >= 400
    dlg = created["delegation"]["id"]
    peer.send("session.thinking.append", event_id="t1", content="looking", delegation_id=dlg)
    peer.send(
        "session.commentary.append", event_id="c1", content="Booked for eight.", delegation_id=dlg
    )
    peer.send("session.commentary.append", event_id="c2", content="x", delegation_id="dlg_no")
    assert peer.wait("error")["error"]["client_event_id"] == "c2"
    peer.audio(pcm(1200, 0))
    assert peer.wait("session.thinking.appended")["client_event_id"] == "t1"
    assert peer.wait("session.commentary.appended")["client_event_id"] == "c1"
    words = [peer.wait("session.output_transcript.delta", i) for i in range(1, 4)]
    assert text_of(words) == "Booked for eight."


RESPONSES = {"type": "responses", "responses": {"model": "gpt-5", "instructions": "Backend."}}


def test_responses_delegation_with_function_call(peer: Peer, sim: LiveSimulator) -> None:
    sim.transcript_for_audio = "What's the weather in Paris?"
    sim.add_delegation(
        "weather", function_call=("get_weather", {"city": "Paris"}), then_text="Sunny, 21 degrees."
    )
    peer.start(delegation=RESPONSES)
    utter(peer)
    created = peer.wait("session.delegation.created")
    assert created["delegation"]["target"] == "responses" and created["delegation"]["response_id"]
    dlg = created["delegation"]["id"]
    done = peer.wait("response.event", where=lambda e: e["event"]["type"] == "response.completed")
    assert done["delegation_id"] == dlg and done["event"]["response"]["output"] == []
    item = peer.wait(
        "response.event", where=lambda e: e["event"]["type"] == "response.output_item.done"
    )
    call = item["event"]["item"]
    assert call["type"] == "function_call" and call["name"] == "get_weather"
    assert json.loads(call["arguments"]) == {"city": "Paris"}
    peer.send("response.create", event_id="r0")
    error = peer.wait("error")
    assert error["error"]["code"] == "function_call_outputs_required"
    assert error["client_event_id"] == "r0"
    peer.send(
        "response.item.create",
        event_id="o1",
        item={"type": "function_call_output", "call_id": call["call_id"], "output": "21C"},
    )
    peer.send("response.create", event_id="r1")
    second = peer.wait(
        "response.event", 2, where=lambda e: e["event"]["type"] == "response.completed"
    )
    assert second["event"]["response"]["output"] == []
    text = peer.wait(
        "response.event", where=lambda e: e["event"]["type"] == "response.output_text.done"
    )
    assert text["event"]["text"] == "Sunny, 21 degrees."
    peer.audio(pcm(1500, 0))
    words = [peer.wait("session.output_transcript.delta", i) for i in range(1, 4)]
    assert text_of(words) == "Sunny, 21 degrees."


@pytest.mark.parametrize("status", ["failed", "incomplete"])
def test_responses_delegation_failures(peer: Peer, sim: LiveSimulator, status: str) -> None:
    sim.transcript_for_audio = "Tell me a story."
    sim.add_delegation(
        "story",
        text="Once upon a time there was a dragon.",
        status=status,
        error={"code": "server_error", "message": "boom"},
    )
    peer.start(delegation=RESPONSES)
    utter(peer)
    end = peer.wait("response.event", where=lambda e: e["event"]["type"] == f"response.{status}")
    assert end["event"]["response"]["status"] == status
    assert end["event"]["response"]["output"] == []


def test_response_commands_need_responses_delegation(peer: Peer) -> None:
    peer.start()
    peer.send("response.create", event_id="r1")
    assert peer.wait("error")["error"]["code"] == "responses_delegation_required"
    peer.send("session.commentary.append", content="x", delegation_id=None, extra=1)
    assert peer.wait("error", 2)["error"]["param"] == "extra"


# --------------------------------------------------------------------- usage and close


def test_usage_is_cumulative_and_close_reports_it(peer: Peer, sim: LiveSimulator) -> None:
    sim.usage_breakdown = True
    peer.start()
    peer.audio(pcm(2500, 0))
    first = peer.wait("session.usage.updated")
    second = peer.wait("session.usage.updated", 2)
    assert (first["usage"]["seconds"], second["usage"]["seconds"]) == (1.0, 2.0)
    peer.send("session.close", event_id="bye")
    closed = peer.wait("session.closed")
    assert closed["reason"] == "close_requested" and closed["client_event_id"] == "bye"
    assert closed["usage"] == {"seconds": 2.0, "active_seconds": 2, "paused_seconds": 0}
    assert peer.closed.wait(TIMEOUT)


def test_session_expires_without_input_audio() -> None:
    with LiveSimulator() as sim:
        sim.idle_timeout = 0.3
        p = Peer(sim.url)
        p.start()
        assert p.wait("session.closed")["reason"] == "expired"
        assert p.closed.wait(TIMEOUT)
        p.close()


@pytest.mark.parametrize("reason", ["expired", "content", "remote_hangup"])
def test_close_session_scripted(peer: Peer, sim: LiveSimulator, reason: str) -> None:
    peer.start()
    sim.close_session(reason, error={"code": "session_storage_failed", "message": "disk"})
    error = peer.wait("error")
    closed = peer.wait("session.closed")
    assert error["error"]["code"] == "session_storage_failed"
    assert peer.events.index(error) < peer.events.index(closed)
    assert closed["reason"] == reason


def test_drop_connections_sends_no_closed(peer: Peer, sim: LiveSimulator) -> None:
    peer.start()
    sim.drop_connections()
    assert peer.closed.wait(TIMEOUT)
    assert not peer.of("session.closed")


# --------------------------------------------------------------------- other commands


def test_mute_fixture_and_update_acks(peer: Peer) -> None:
    peer.start(delegation={"type": "client"})
    peer.send("session.input_audio.mute", event_id="m1")
    assert peer.wait("session.input_audio.muted")["client_event_id"] == "m1"
    peer.send("session.input_audio.unmute", event_id="m2")
    assert peer.wait("session.input_audio.unmuted")["client_event_id"] == "m2"
    peer.send("session.output_audio.fixture.play", event_id="f1", audio=b64(pcm(200)))
    assert peer.wait("session.output_audio.fixture.playing")["client_event_id"] == "f1"
    peer.send("session.thinking.append", event_id="t1", content="x", delegation_id=None)
    assert peer.wait("error")["error"]["code"] == "fixture_active"
    peer.audio(pcm(300, 0))
    assert peer.wait("session.output_audio.fixture.played")["client_event_id"] == "f1"
    peer.send(
        "session.update",
        event_id="u1",
        session={"delegation": {"type": "client", "acknowledgement_delay_ms": 250}},
    )
    updated = peer.wait("session.updated")
    assert updated["client_event_id"] == "u1"
    assert updated["session"]["delegation"]["acknowledgement_delay_ms"] == 250
    peer.send("session.update", event_id="u2", session={"delegation": RESPONSES})
    assert peer.wait("error", 2)["error"]["param"] == "session.delegation.type"


# --------------------------------------------------------------------- sideband and fork


def test_sideband_attach(peer: Peer, sim: LiveSimulator) -> None:
    sim.transcript_for_audio = "hello"
    sim.add_reply("hello", "Hi there.")
    session_id = peer.start()["session"]["id"]
    side = Peer(sim.attach_url(session_id), "attach")
    side.send("transport.dtmf.send", event="5", event_id="d1")
    sent = side.wait("transport.dtmf.sent")
    assert sent["event"] == "5" and sent["client_event_id"] == "d1"
    side.send("transport.dtmf.send", event="x", event_id="d2")
    assert side.wait("error")["error"]["client_event_id"] == "d2"
    utter(peer)
    peer.audio(pcm(800, 0))
    reflected = side.wait("session.input_audio.append")
    assert "event_id" not in reflected and base64.b64decode(reflected["audio"])
    audio = side.wait("session.output_audio.delta")
    assert audio["start_ms"] == 0 and audio["end_ms"] == 100
    assert text_of([side.wait("session.output_transcript.delta", i) for i in (1, 2)]) == "Hi there."
    side.send(
        "session.commentary.append", event_id="c1", content="From the side.", delegation_id=None
    )
    sim.wait_for_received("session.commentary.append")
    # Another connection: keep time moving until the command is placed on the timeline.
    deadline = time.monotonic() + TIMEOUT
    while not peer.of("session.commentary.appended") and time.monotonic() < deadline:
        peer.audio(pcm(100, 0))
        time.sleep(0.02)
    assert peer.wait("session.commentary.appended")["client_event_id"] == "c1"
    side.send("session.start", session={"model": "gpt-live-1"})
    assert side.wait("error", 2)["error"]["param"] == "type"
    side.close()


def test_fork_stored_session(sim: LiveSimulator) -> None:
    first = Peer(sim.url)
    stored = first.start(store=True, instructions="Original.")["session"]
    first.send("session.close")
    first.wait("session.closed")
    first.close()
    unstored = Peer(sim.url)
    other = unstored.start()["session"]["id"]
    unstored.close()
    with pytest.raises(InvalidStatus):
        connect(sim.fork_url(other), open_timeout=TIMEOUT)
    fork = Peer(sim.fork_url(stored["id"]), "fork")
    fork.send(
        "session.start",
        event_id="f1",
        session={"audio": {"format": {"type": "audio/pcm", "rate": 16000}}},
    )
    started = fork.wait("session.started")
    assert started["session"]["id"] != stored["id"]
    assert started["session"]["instructions"] == "Original."
    assert started["session"]["audio"]["format"]["rate"] == 16000
    fork.audio(pcm(100, 0, rate=16000), rate=16000)
    delta = fork.wait("session.output_audio.delta")
    assert len(base64.b64decode(delta["delta"])) == 16000 * 2 // 10
    fork.close()


# --------------------------------------------------------------------- more knobs

DECISIONS = {
    "type": "decisions",
    "decisions": {"model": "gpt-5", "questions": []},
}


def test_decision_items(peer: Peer) -> None:
    peer.send("session.start", session={"model": "gpt-live-1"})
    peer.wait("session.started")
    peer.send("decision.item.delete", event_id="d0", item_id="item_x")
    assert peer.wait("error")["error"]["code"] == "decisions_delegation_required"


def test_decision_items_with_decisions_delegation(sim: LiveSimulator) -> None:
    p = Peer(sim.url)
    p.send("session.start", session={"model": "gpt-live-1", "delegation": DECISIONS})
    first = p.wait_any(("session.started", "error"))
    if first["type"] == "error":
        pytest.skip(f"decisions config shape: {first['error']['message']}")
    p.send(
        "decision.item.create",
        event_id="i1",
        item={"type": "message", "role": "user", "content": "I am vegetarian."},
    )
    created = p.wait("decision.item.created")
    assert created["client_event_id"] == "i1" and created["item"]["id"]
    p.send("decision.item.delete", event_id="i2", item_id=created["item"]["id"])
    deleted = p.wait("decision.item.deleted")
    assert deleted["item_id"] == created["item"]["id"] and deleted["client_event_id"] == "i2"
    p.send("decision.item.delete", event_id="i3", item_id=created["item"]["id"])
    assert p.wait("error")["client_event_id"] == "i3"
    p.close()


def test_future_model_and_g711(sim: LiveSimulator) -> None:
    sim.model = "gpt-live-2"
    p = Peer(sim.url)
    started = p.start(model="gpt-live-2", audio={"format": {"type": "audio/pcmu", "rate": 8000}})
    assert started["session"]["model"] == "gpt-live-2"
    p.send("session.input_audio.append", audio=b64(b"\xff" * 800))  # 100 ms of mu-law silence
    assert len(base64.b64decode(p.wait("session.output_audio.delta")["delta"])) == 800
    p.close()


def test_parallel_calls_acknowledgement_and_send_error(peer: Peer, sim: LiveSimulator) -> None:
    sim.transcript_for_audio = "Weather in Paris and Rome?"
    sim.acknowledgement_text = "One moment."
    sim.add_delegation(
        "weather",
        function_call=[("get_weather", {"city": "Paris"}), ("get_weather", '{"city": "Rome"}')],
        then_text=lambda outputs: " and ".join(outputs) + ".",
    )
    peer.start(delegation=RESPONSES)
    utter(peer)
    peer.audio(pcm(800, 0))
    ack = [peer.wait("session.output_transcript.delta", i) for i in (1, 2)]
    assert text_of(ack) == "One moment."
    done = [
        peer.wait(
            "response.event", i, where=lambda e: e["event"]["type"] == "response.output_item.done"
        )
        for i in (1, 2)
    ]
    calls = [d["event"]["item"] for d in done]
    assert [json.loads(c["arguments"])["city"] for c in calls] == ["Paris", "Rome"]
    peer.send(
        "response.item.create",
        item={"type": "function_call_output", "call_id": calls[0]["call_id"], "output": "Sun"},
    )
    peer.send("response.create", event_id="r1")
    assert peer.wait("error")["error"]["code"] == "function_call_outputs_required"
    peer.send(
        "response.item.create",
        item={"type": "function_call_output", "call_id": calls[1]["call_id"], "output": "Rain"},
    )
    peer.send("response.create", event_id="r2")
    text = peer.wait(
        "response.event", where=lambda e: e["event"]["type"] == "response.output_text.done"
    )
    assert text["event"]["text"] == "Sun and Rain."
    sim.send_error("rate_limit_exceeded", "slow down")
    assert peer.wait("error", 2)["error"]["code"] == "rate_limit_exceeded"


def test_event_delay_paces_speech() -> None:
    with LiveSimulator(event_delay=0.05) as sim:
        p = Peer(sim.url)
        p.start()
        sim.continuous_output_audio = False
        began = time.monotonic()
        p.send("session.commentary.append", content="one two three", delegation_id=None)
        p.audio(pcm(1000, 0))
        p.wait("session.output_transcript.delta", 3)
        assert time.monotonic() - began >= 0.15
        p.close()


def test_sideband_sees_connection_lost(sim: LiveSimulator) -> None:
    primary = Peer(sim.url)
    session_id = primary.start()["session"]["id"]
    side = Peer(sim.attach_url(session_id), "attach")
    side.send("transport.dtmf.send", event="#")
    side.wait("transport.dtmf.sent")
    primary.ws.close()  # the primary leaves without session.close
    closed = side.wait("session.closed")
    assert closed["reason"] == "connection_lost" and closed["session"]["id"] == session_id
    assert side.closed.wait(TIMEOUT)
    assert not primary.of("session.closed")
    side.close()
    primary.close()
