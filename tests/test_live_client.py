"""LiveClient over real sockets against the LiveSimulator.

Every test is bounded by timeouts and synchronised on futures or on the
simulator's recorded events; every client event the client sent is checked
against openai-python's ``openai.types.live`` client-event models.
"""

from __future__ import annotations

import base64
import math
import struct
import threading
import time
from typing import Any, Iterator, List

import pydantic
import pytest
from openai.types.live import ClientEvent as OfficialClientEvent

from realtime_sync.core.live import (
    AppendKind,
    AppendResult,
    ImmutableSettingError,
    LivePhase,
    LiveSessionEndedError,
    LiveStartupError,
)
from realtime_sync.errors import RealtimeServerError
from realtime_sync.live import (
    AudioFormat,
    ClientDelegation,
    CustomVoice,
    InitialItem,
    LiveClient,
    LiveDelegation,
    ResponsesDelegationUpdate,
)
from realtime_sync.live.enums import SessionCloseReason
from realtime_sync.testing.live import LiveSimulator

OFFICIAL = pydantic.TypeAdapter(OfficialClientEvent)
T = 10.0  # the bound of every wait


def tone(ms: int) -> bytes:
    """Speech-like 24 kHz PCM16 (loud enough for the simulator to hear an utterance)."""
    return b"".join(struct.pack("<h", int(8000 * math.sin(i / 5))) for i in range(24 * ms))


@pytest.fixture
def sim() -> Iterator[LiveSimulator]:
    with LiveSimulator() as simulator:
        yield simulator
        for event in simulator.received:  # every command the clients sent is valid
            OFFICIAL.validate_python(event)
            assert event.get("event_id"), event


@pytest.fixture
def clients() -> Iterator[List[LiveClient]]:
    made: List[LiveClient] = []
    yield made
    for client in made:
        client.close(timeout=2.0)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and any(
        t.name == "realtime-live-pump" for t in threading.enumerate()
    ):
        time.sleep(0.02)
    assert not [t for t in threading.enumerate() if t.name == "realtime-live-pump"]


def connected(sim: LiveSimulator, clients: List[LiveClient], **kwargs: Any) -> LiveClient:
    client = LiveClient(url=sim.url, **kwargs)
    clients.append(client)
    client.connect(timeout=T)
    return client


def test_connect_starts_the_session_and_close_returns_how_it_ended(sim: LiveSimulator) -> None:
    history = [InitialItem.user("My name is Ada."), InitialItem.assistant("Hi Ada.")]
    with LiveClient(
        url=sim.url, instructions="Be brief.", voice="cedar", history=history
    ) as client:
        assert client.phase is LivePhase.ACTIVE
        assert client.session is not None and client.session.id in sim.session_ids
        start = sim.received[0]
        assert start["type"] == "session.start"
        assert start["session"]["model"] == "gpt-live-1"
        assert start["session"]["audio"]["output"]["voice"] == "cedar"
        assert start["session"]["audio"]["format"] == {"type": "audio/pcm", "rate": 24000}
        assert len(start["session"]["input"]) == 2
        result = client.close(timeout=T)
    assert result.confirmed and result.reason is SessionCloseReason.CLOSE_REQUESTED
    assert result.usage is not None and result.usage.seconds >= 0
    assert result.errors == ()
    assert not client.is_connected()
    assert client.close() == result  # idempotent


def test_an_early_error_raises_a_typed_startup_error(sim: LiveSimulator) -> None:
    client = LiveClient(url=sim.url, model="gpt-4o")
    with pytest.raises(LiveStartupError) as info:
        client.connect(timeout=T)
    assert info.value.code == "invalid_value" and info.value.param == "session.model"
    assert "invalid_value" in str(info.value)
    assert not client.is_connected()


def test_history_over_128_items_is_refused_before_connecting() -> None:
    with pytest.raises(ValueError, match="128"):
        LiveClient(url="ws://127.0.0.1:9/v1/live/sessions", history=[InitialItem.user("x")] * 129)


def test_speak_note_instruct_resolve_on_their_acks(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    client = connected(sim, clients)
    futures = [
        client.speak("The order shipped."),
        client.note("Checking."),
        client.instruct("Be kind."),
    ]
    results = [f.result(T) for f in futures]
    assert [r.kind for r in results] == [
        AppendKind.COMMENTARY,
        AppendKind.THINKING,
        AppendKind.INSTRUCTIONS,
    ]
    sent_ids = {e["event_id"] for e in sim.received if e["type"].endswith(".append")}
    assert all(isinstance(r, AppendResult) and set(r.event_ids) <= sent_ids for r in results)
    commentary = [e for e in sim.received if e["type"] == "session.commentary.append"]
    assert (
        commentary[0]["delegation_id"] is None and commentary[0]["content"] == "The order shipped."
    )


def test_long_commentary_goes_in_chunks_under_the_limit(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    client = connected(sim, clients)
    text = "Here is one long sentence that keeps going for a while. " * 60
    result = client.speak(text).result(T)
    chunks = [e for e in sim.received if e["type"] == "session.commentary.append"]
    assert len(chunks) == len(result.event_ids) > 1
    assert all(len(c["content"]) <= 1500 for c in chunks)
    assert " ".join(c["content"] for c in chunks) == text.strip()


def test_an_error_naming_a_command_fails_its_future_only(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    client = connected(sim, clients)
    future = client.speak("For a delegation that does not exist.", delegation_id="dlg_nope")
    with pytest.raises(RealtimeServerError) as info:
        future.result(T)
    assert info.value.code == "delegation_not_found"
    assert client.phase is LivePhase.ACTIVE
    assert client.note("still fine").result(T).kind is AppendKind.THINKING
    assert [e.code for e in client.errors] == ["delegation_not_found"]


def test_update_session_and_the_settings_it_cannot_change(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    client = connected(sim, clients)
    before = len(sim.received)
    for setting in ("model", "voice", "instructions"):
        with pytest.raises(ImmutableSettingError):
            client.update_session(**{setting: "x"})
    with pytest.raises(ImmutableSettingError, match="delegation type"):
        client.update_session(delegation=ResponsesDelegationUpdate())
    assert not [e for e in sim.received[before:] if e["type"] == "session.update"]
    session = client.update_session(
        delegation=ClientDelegation(acknowledgement_delay_ms=1500)
    ).result(T)
    assert session.delegation == ClientDelegation(acknowledgement_delay_ms=1500)
    assert client.session == session


def test_mute_and_unmute(sim: LiveSimulator, clients: List[LiveClient]) -> None:
    client = connected(sim, clients)
    assert client.mute().result(T) is None
    sim.wait_for_sent("session.input_audio.muted", timeout=T)
    assert client.unmute().result(T) is None
    sim.wait_for_sent("session.input_audio.unmuted", timeout=T)


def test_the_pump_sends_audio_or_silence_at_real_time_pace(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    client = connected(sim, clients, frame_ms=100)
    pumps = [t for t in threading.enumerate() if t.name == "realtime-live-pump"]
    assert len(pumps) == 1 and pumps[0].daemon
    first = sim.wait_for_received("session.input_audio.append", timeout=T)
    time.sleep(1.0)
    frames = [e for e in sim.received if e["type"] == "session.input_audio.append"]
    assert 6 <= len(frames) <= 14  # ~10 frames of 100 ms in a second
    assert len(first["audio"]) == len("A" * 6400)  # 4800 bytes of base64: 100 ms of 24 kHz PCM16
    client.append_audio(tone(300))
    assert client.queued_audio_ms > 0
    deadline = time.monotonic() + T
    while client.queued_audio_ms > 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.queued_audio_ms == 0
    client.close(timeout=T)
    count = len([e for e in sim.received if e["type"] == "session.input_audio.append"])
    time.sleep(0.3)
    assert len([e for e in sim.received if e["type"] == "session.input_audio.append"]) == count


def test_without_the_pump_nothing_is_sent_unless_the_app_sends(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    client = connected(sim, clients, pump=False)
    assert not [t for t in threading.enumerate() if t.name == "realtime-live-pump"]
    client.append_audio(b"\0\0" * 2400)
    sim.wait_for_received("session.input_audio.append", timeout=T)
    time.sleep(0.3)
    assert len([e for e in sim.received if e["type"] == "session.input_audio.append"]) == 1


def test_a_delegation_is_answered_by_the_handler_as_commentary(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    sim.transcript_for_audio = "What is the weather in Paris?"
    sim.add_delegation("weather")
    seen: List[LiveDelegation] = []

    def handler(delegation: LiveDelegation) -> str:
        seen.append(delegation)
        return "It is sunny in Paris."

    client = connected(sim, clients, on_delegation=handler)
    answered = client.wait_for("live.delegation.answered")
    client.append_audio(tone(400))
    event = answered.result(T)
    assert not event.fallback and event.text == "It is sunny in Paris."
    created = sim.wait_for_sent("session.delegation.created", timeout=T)
    (delegation,) = seen
    assert delegation.id == created["delegation"]["id"]
    assert "weather" in delegation.text and delegation.text.startswith("User:")
    commentary = sim.wait_for_received("session.commentary.append", timeout=T)
    assert commentary["delegation_id"] == delegation.id
    assert commentary["content"] == "It is sunny in Paris."


def test_a_failing_or_slow_handler_gets_the_spoken_fallback(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    sim.transcript_for_audio = "Book a table."
    sim.add_delegation("book")
    release = threading.Event()

    def slow(delegation: LiveDelegation) -> str:
        release.wait(T)
        return "too late"

    client = connected(
        sim, clients, on_delegation=slow, delegation_timeout=0.3, fallback="Sorry, one moment."
    )
    answered = client.wait_for("live.delegation.answered")
    client.append_audio(tone(400))
    event = answered.result(T)
    release.set()
    assert event.fallback and "0.3" in (event.error or "")
    commentary = sim.wait_for_received("session.commentary.append", timeout=T)
    assert commentary["content"] == "Sorry, one moment."
    time.sleep(0.3)  # the late answer is dropped, not sent
    assert len([e for e in sim.received if e["type"] == "session.commentary.append"]) == 1


def test_transcript_segments_come_as_turns(sim: LiveSimulator, clients: List[LiveClient]) -> None:
    sim.transcript_for_audio = "Hello, who are you?"
    sim.add_reply("who", "I am a simulated assistant.")
    client = connected(sim, clients)
    client.append_audio(tone(400))
    segments = []
    for segment in client.transcript_segments(timeout=T):
        segments.append(segment)
        if segment.speaker == "assistant":
            break
    assert [s.speaker for s in segments] == ["user", "assistant"]
    assert segments[0].text == "Hello, who are you?"
    assert segments[0].reason.value == "speaker_change"
    assert segments[1].text == "I am a simulated assistant."
    assert segments[1].previous_id == segments[0].id


def test_a_server_close_ends_the_session_and_iterators(
    sim: LiveSimulator, clients: List[LiveClient]
) -> None:
    client = connected(sim, clients)
    closed = client.wait_for("session.closed")
    sim.close_session("expired", error={"code": "session_storage_failed", "message": "no"})
    closed.result(T)
    assert list(client.transcript_segments(timeout=T)) == []  # ends: the session is over
    assert client.phase is LivePhase.CLOSED
    with pytest.raises(LiveSessionEndedError):
        client.speak("hello?")
    result = client.close(timeout=T)
    assert result.reason is SessionCloseReason.EXPIRED and result.confirmed
    assert [e.code for e in result.errors] == ["session_storage_failed"]


def test_a_custom_voice_and_g711_audio(sim: LiveSimulator, clients: List[LiveClient]) -> None:
    client = connected(
        sim, clients, voice=CustomVoice(id="voice_123"), audio_format=AudioFormat.g711_ulaw()
    )
    start = sim.received[0]["session"]
    assert start["audio"]["output"]["voice"] == {"id": "voice_123"}
    assert start["audio"]["format"] == {"type": "audio/pcmu", "rate": 8000}
    frame = sim.wait_for_received("session.input_audio.append", timeout=T)
    assert base64.b64decode(frame["audio"]) == b"\xff" * 800  # 100 ms of u-law silence
    assert client.session is not None and client.session.id in sim.session_ids
