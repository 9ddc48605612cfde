"""Transcription sessions: the sans-IO core, the simulator's transcription sessions (raw
JSON over a socket) and ``RealtimeTranscriber`` against the simulator over real sockets.

Every client event a test sends reaches the simulator, which records it; the fixtures
validate each of them with openai-python's pydantic models, and a transcription
``session.update`` must not carry a single field that
``RealtimeTranscriptionSessionCreateRequest`` does not declare. Every server event the
simulator sends is validated too.
"""

from __future__ import annotations

import base64
import json
import math
import sys
import threading
import time
from array import array
from typing import Any, Dict, Iterator, List, Optional, Sequence, Type, TypeVar
from urllib.parse import parse_qs, urlsplit

import pydantic
import pytest
import websocket
from openai.types.realtime.realtime_client_event import RealtimeClientEvent
from openai.types.realtime.realtime_server_event import RealtimeServerEvent
from openai.types.realtime.realtime_transcription_session_create_request import (
    RealtimeTranscriptionSessionCreateRequest,
)

from realtime_sync import (
    RealtimeError,
    RealtimeServerError,
    RealtimeTimeoutError,
    RealtimeTranscriber,
    Transcript,
    TranscriptDeltaEvent,
    TranscriptDoneEvent,
    TranscriptStatus,
    TurnDetection,
    TurnDetectionType,
    protocol,
)
from realtime_sync import api as api_module
from realtime_sync import events as ev
from realtime_sync.core.actions import Emit, Fail, Resolve, Send
from realtime_sync.core.realtime import Phase
from realtime_sync.core.transcription import TranscriptionSessionCore
from realtime_sync.errors import ConnectionClosedError, NotConnectedError
from realtime_sync.models import (
    AudioFormat,
    InputAudioTranscriptionConfig,
    LogProb,
    NoiseReduction,
    NoiseReductionType,
    RealtimeErrorDetails,
    SessionConfig,
    TranscriptionUsage,
)
from realtime_sync.testing import RealtimeSimulator
from realtime_sync.testing import _session as session_module
from realtime_sync.testing import simulator as simulator_module
from realtime_sync.transcriber import transcription_session, transcription_url

from .conftest import wait_no_sdk_threads

pytestmark = pytest.mark.timeout(30)

JSON = Dict[str, Any]
A = TypeVar("A")

CLIENT_EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RealtimeClientEvent)
SERVER_EVENTS: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(RealtimeServerEvent)

# Fields the live server sends that the openai models do not declare.
ALLOWED_EXTRAS = {
    "RealtimeSessionCreateRequest": {"object", "id", "expires_at"},
    "RealtimeTranscriptionSessionCreateRequest": {"object", "id", "expires_at"},
    "ConversationItemInputAudioTranscriptionDeltaEvent": {"obfuscation"},
}

REALTIME_ONLY = {"model", "instructions", "output_modalities", "tools", "tool_choice", "voice"}


# --------------------------------------------------------------------------- helpers


def pcm_silence(ms: int) -> bytes:
    return b"\x00\x00" * (ms * 24)


def pcm_tone(ms: int, *, amplitude: float = 0.3, frequency: float = 300.0) -> bytes:
    step = 2 * math.pi * frequency / 24000
    samples = array("h", (int(amplitude * 32767 * math.sin(step * i)) for i in range(ms * 24)))
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()


def utterance(ms: int = 400) -> bytes:
    """Speech the simulator's VAD cuts into one item (silence, tone, then enough silence)."""
    return pcm_silence(200) + pcm_tone(ms) + pcm_silence(700)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _extras(model: Any, path: str) -> Iterator[str]:
    if isinstance(model, pydantic.BaseModel):
        allowed = ALLOWED_EXTRAS.get(type(model).__name__, set())
        for key in model.model_extra or {}:
            if key not in allowed:
                yield f"{path}.{key}"
        for name in type(model).model_fields:
            yield from _extras(getattr(model, name), f"{path}.{name}")
    elif isinstance(model, list):
        for index, value in enumerate(model):
            yield from _extras(value, f"{path}[{index}]")


def validate_client_event(event: JSON) -> None:
    """openai's model takes it, and declares every field of it (a transcription session.update
    must validate as RealtimeTranscriptionSessionCreateRequest, with no realtime-only field)."""
    model = CLIENT_EVENTS.validate_python(event)
    assert model.type == event["type"]
    extras = list(_extras(model, event["type"]))
    assert not extras, f"undeclared fields in {event['type']}: {extras}"
    if event["type"] == "session.update" and event["session"]["type"] == "transcription":
        assert isinstance(model.session, RealtimeTranscriptionSessionCreateRequest)
        assert not REALTIME_ONLY & set(event["session"])
        assert set(event["session"].get("audio", {})) <= {"input"}


def validate_server_event(event: JSON) -> None:
    model = SERVER_EVENTS.validate_python(event)
    assert model.type == event["type"]
    extras = list(_extras(model, event["type"]))
    assert not extras, f"undeclared fields in {event['type']}: {extras}"


def of(kind: Type[A], actions: Sequence[Any]) -> List[A]:
    return [a for a in actions if isinstance(a, kind)]


def sent(actions: Sequence[Any], kind: Type[A]) -> List[A]:
    return [a.event for a in of(Send, actions) if isinstance(a.event, kind)]


def done_ids(actions: Sequence[Any]) -> List[str]:
    return [
        a.event.transcript.item_id
        for a in of(Emit, actions)
        if isinstance(a.event, TranscriptDoneEvent)
    ]


def intent_sessions(paths: List[str]) -> Any:
    """A RealtimeSession factory that passes the intent of the connection's URL (and records
    the URL's path and query in ``paths``).

    What testing/simulator.py would do with ``intent=query.get("intent", [None])[0]``;
    the connection is only reachable through the outbox here.
    """

    def make(**kwargs: Any) -> Any:
        request = kwargs["outbox"]._connection.request
        path = request.path if request is not None else ""
        paths.append(path)
        if "intent" not in kwargs:
            kwargs["intent"] = parse_qs(urlsplit(path).query).get("intent", [None])[0]
        return session_module.RealtimeSession(**kwargs)

    return make


def _sent_by_the_sdk(event: JSON) -> bool:
    """The SDK gives every event an ``evt_`` id of 21 characters; the raw JSON tests send
    events without one (or with short ones), some of them invalid on purpose."""
    event_id = event.get("event_id")
    return isinstance(event_id, str) and event_id.startswith("evt_") and len(event_id) == 21


def _check_history(simulator: RealtimeSimulator) -> None:
    for event in simulator.received:
        if _sent_by_the_sdk(event):
            validate_client_event(event)
    for event in simulator.sent:
        validate_server_event(event)


@pytest.fixture
def handshakes() -> List[str]:
    """The path and query of every connection the ``sim`` fixture accepted."""
    return []


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch, handshakes: List[str]) -> Iterator[RealtimeSimulator]:
    """A simulator whose sessions know the URL's intent (``?intent=transcription``)."""
    monkeypatch.setattr(simulator_module, "RealtimeSession", intent_sessions(handshakes))
    with RealtimeSimulator() as simulator:
        yield simulator
        _check_history(simulator)
    assert wait_no_sdk_threads() == []


@pytest.fixture
def plain_sim() -> Iterator[RealtimeSimulator]:
    """The simulator as it is: its sessions are not told the URL's intent."""
    with RealtimeSimulator() as simulator:
        yield simulator
        _check_history(simulator)
    assert wait_no_sdk_threads() == []


class Raw:
    """A websocket-client connection speaking JSON, for the simulator's side of the protocol."""

    def __init__(self, url: str) -> None:
        self.ws = websocket.create_connection(url, timeout=5)

    def send(self, event: JSON) -> None:
        self.ws.send(json.dumps(event))

    def recv(self) -> JSON:
        event = json.loads(self.ws.recv())
        assert isinstance(event, dict)
        return event

    def expect(self, type_: str) -> JSON:
        event = self.recv()
        assert event["type"] == type_, event
        return event

    def until(self, type_: str) -> List[JSON]:
        events = []
        while True:
            events.append(self.recv())
            if events[-1]["type"] == type_:
                return events

    def error(self) -> JSON:
        error = self.expect("error")["error"]
        assert isinstance(error, dict)
        return error

    def update(self, session: JSON) -> JSON:
        self.send({"type": "session.update", "session": session})
        return self.recv()

    def close(self) -> None:
        self.ws.close()


def transcription_url_of(sim: RealtimeSimulator) -> str:
    return f"{sim.url}?intent=transcription"


# --------------------------------------------------------------------------- the URL and config


def test_transcription_url_has_the_intent_and_no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(api_module, "DEFAULT_URL", "wss://api.openai.com/v1/realtime")
    assert transcription_url() == "wss://api.openai.com/v1/realtime?intent=transcription"
    assert transcription_url("ws://127.0.0.1:9/v1/realtime?x=1") == (
        "ws://127.0.0.1:9/v1/realtime?x=1&intent=transcription"
    )
    already = "ws://h/v1/realtime?intent=transcription"
    assert transcription_url(already) == already
    with pytest.raises(ValueError, match="no model"):
        transcription_url("wss://api.openai.com/v1/realtime?model=gpt-realtime")
    with pytest.raises(ValueError, match="intent"):
        transcription_url("wss://api.openai.com/v1/realtime?intent=other")


def _session_json(config: SessionConfig) -> JSON:
    data = json.loads(protocol.encode(ev.SessionUpdateEvent(session=config, event_id="evt_1")))
    validate_client_event(data)
    session = data["session"]
    assert isinstance(session, dict)
    return session


def test_the_session_config_is_a_transcription_request_only() -> None:
    assert _session_json(transcription_session()) == {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-transcribe"},
                "turn_detection": {"type": "server_vad"},
            }
        },
    }
    full = transcription_session(
        model="gpt-4o-mini-transcribe",
        language="fr",
        prompt="Vocabulaire : ornithologie.",
        turn_detection=TurnDetection(type=TurnDetectionType.SEMANTIC_VAD),
        noise_reduction="far_field",
        input_format="g711_ulaw",
        logprobs=True,
    )
    assert _session_json(full) == {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcmu"},
                "transcription": {
                    "model": "gpt-4o-mini-transcribe",
                    "language": "fr",
                    "prompt": "Vocabulaire : ornithologie.",
                },
                "noise_reduction": {"type": "far_field"},
                "turn_detection": {"type": "semantic_vad"},
            }
        },
        "include": ["item.input_audio_transcription.logprobs"],
    }
    from openai.types.realtime import AudioTranscription

    if "languages" not in AudioTranscription.model_fields:  # openai < 3.57 (Python 3.9)
        return
    manual = transcription_session(
        transcription=InputAudioTranscriptionConfig(model="gpt-transcribe", languages=["en"]),
        turn_detection=None,
        noise_reduction=None,
    )
    assert _session_json(manual)["audio"]["input"] == {
        "format": {"type": "audio/pcm", "rate": 24000},
        "transcription": {"model": "gpt-transcribe", "languages": ["en"]},
        "noise_reduction": None,
        "turn_detection": None,
    }
    # gpt-realtime-whisper segments audio itself: no VAD unless asked for.
    whisper = transcription_session(model="gpt-realtime-whisper")
    assert _session_json(whisper)["audio"]["input"]["turn_detection"] is None


# --------------------------------------------------------------------------- the core, sans IO


def ready_core(**kwargs: Any) -> TranscriptionSessionCore:
    core = TranscriptionSessionCore(config=transcription_session(**kwargs))
    request_id = core.open(0.0)
    created = core.receive(
        ev.SessionCreatedEvent(session=SessionConfig(type="transcription", id="sess_1")), 0.0
    )
    (update,) = sent(created, ev.SessionUpdateEvent)
    assert update.session == core.config and update.event_id
    actions = core.receive(ev.SessionUpdatedEvent(session=core.config), 0.0)
    assert of(Resolve, actions) == [Resolve(request_id, core.config)]
    assert core.is_ready
    return core


def committed(item_id: str, previous: Optional[str]) -> ev.InputAudioBufferCommittedEvent:
    return ev.InputAudioBufferCommittedEvent(item_id=item_id, previous_item_id=previous)


def completed(item_id: str, text: str, **fields: Any) -> Any:
    return ev.ConversationItemInputAudioTranscriptionCompletedEvent(
        item_id=item_id, transcript=text, **fields
    )


def delta(item_id: str, text: str, **fields: Any) -> Any:
    return ev.ConversationItemInputAudioTranscriptionDeltaEvent(
        item_id=item_id, delta=text, **fields
    )


def test_core_rejects_a_realtime_config() -> None:
    with pytest.raises(ValueError, match="transcription"):
        TranscriptionSessionCore(config=SessionConfig(type="realtime"))
    core = ready_core()
    with pytest.raises(RealtimeError):
        core.update_session(SessionConfig(type="realtime"))


def test_core_delivers_transcripts_in_item_order_whatever_finishes_first() -> None:
    core = ready_core()
    for item, previous in (("a", None), ("b", "a"), ("c", "b")):
        assert core.receive(committed(item, previous), 0.0) == []
    assert core.pending == 3
    actions = core.receive(delta("c", "third "), 0.0)
    (update,) = [a.event for a in of(Emit, actions)]
    assert isinstance(update, TranscriptDeltaEvent)
    assert (update.delta, update.transcript.text, update.transcript.status) == (
        "third ",
        "third ",
        TranscriptStatus.IN_PROGRESS,
    )
    assert done_ids(core.receive(completed("c", "third"), 0.0)) == []  # waits for a and b
    assert done_ids(core.receive(completed("a", "first"), 0.0)) == ["a"]
    assert core.pending == 2
    assert done_ids(core.receive(completed("b", "second"), 0.0)) == ["b", "c"]
    assert core.pending == 0
    history = core.transcripts
    assert [(t.item_id, t.previous_item_id, t.text) for t in history] == [
        ("a", None, "first"),
        ("b", "a", "second"),
        ("c", "b", "third"),
    ]
    assert history[2].deltas == ["third "] and history[2].done
    # A late duplicate changes nothing.
    assert core.receive(completed("a", "again"), 0.0) == []


def test_core_places_an_item_after_its_previous_one() -> None:
    core = ready_core()
    core.receive(committed("a", None), 0.0)
    core.receive(delta("x", "streamed "), 0.0)  # a streaming model: no commit seen
    core.receive(committed("b", "a"), 0.0)  # goes between a and x
    assert [t.item_id for t in core.transcripts] == ["a", "b", "x"]


def test_core_failed_transcription_is_delivered_in_its_place() -> None:
    core = ready_core()
    core.receive(committed("a", None), 0.0)
    core.receive(committed("b", "a"), 0.0)
    assert done_ids(core.receive(completed("b", "later"), 0.0)) == []
    error = RealtimeErrorDetails(type="server_error", code="transcription_failed", message="no")
    actions = core.receive(
        ev.ConversationItemInputAudioTranscriptionFailedEvent(item_id="a", error=error), 0.0
    )
    done = [a.event.transcript for a in of(Emit, actions)]
    assert [(t.item_id, t.status) for t in done] == [
        ("a", TranscriptStatus.FAILED),
        ("b", TranscriptStatus.COMPLETED),
    ]
    assert done[0].error == error and done[0].text == ""


def test_core_logprobs_usage_and_speech_times() -> None:
    core = ready_core(logprobs=True)
    core.receive(ev.InputAudioBufferSpeechStartedEvent(item_id="a", audio_start_ms=100), 0.0)
    core.receive(ev.InputAudioBufferSpeechStoppedEvent(item_id="a", audio_end_ms=900), 0.0)
    core.receive(committed("a", None), 0.0)
    hello, world = LogProb(token="Hel", logprob=-0.1), LogProb(token="lo", logprob=-0.2)
    core.receive(delta("a", "Hel", logprobs=[hello]), 0.0)
    core.receive(delta("a", "lo", logprobs=[world]), 0.0)
    usage = TranscriptionUsage(type="duration", seconds=0.8)
    actions = core.receive(completed("a", "Hello", usage=usage), 0.0)
    (transcript,) = [a.event.transcript for a in of(Emit, actions)]
    assert transcript == Transcript(
        item_id="a",
        text="Hello",
        deltas=["Hel", "lo"],
        logprobs=[hello, world],  # the deltas' ones: the final event had none
        usage=usage,
        status=TranscriptStatus.COMPLETED,
        audio_start_ms=100,
        audio_end_ms=900,
    )
    core.receive(committed("b", "a"), 0.0)
    final = [LogProb(token="Bye", logprob=-0.3)]
    (transcript,) = [
        a.event.transcript for a in of(Emit, core.receive(completed("b", "Bye", logprobs=final), 0))
    ]
    assert transcript.logprobs == final and transcript.previous_item_id == "a"


def test_core_rejected_update_fails_its_own_request_and_is_undone() -> None:
    core = ready_core()
    before = core.config
    first_id, first = core.update_session(transcription_session(language="de"))
    second_id, second = core.update_session(transcription_session(model="whisper-1"))
    assert first_id is not None and second_id is not None
    (first_event,) = sent(first, ev.SessionUpdateEvent)
    (second_event,) = sent(second, ev.SessionUpdateEvent)
    # An error naming another event fails nothing.
    stray = RealtimeErrorDetails(type="invalid_request_error", code="x", event_id="evt_other")
    assert core.receive(ev.ErrorEvent(error=stray), 0.0) == []
    error = RealtimeErrorDetails(
        type="invalid_request_error",
        code="invalid_value",
        param="session.audio.input.transcription.model",
        message="bad model",
        event_id=second_event.event_id,
    )
    (failure,) = of(Fail, core.receive(ev.ErrorEvent(error=error), 0.0))
    assert failure.request_id == second_id
    assert isinstance(failure.error, RealtimeServerError)
    assert failure.error.code == "invalid_value" and failure.error.event_id == second_event.event_id
    assert core.config == first_event.session  # back to the newest update still in flight
    actions = core.receive(ev.SessionUpdatedEvent(session=first_event.session), 0.0)
    assert of(Resolve, actions) == [Resolve(first_id, first_event.session)]
    assert before != core.config


def test_core_refuses_a_session_that_is_not_a_transcription_session() -> None:
    core = TranscriptionSessionCore(config=transcription_session())
    request_id = core.open(0.0)
    core.receive(ev.SessionCreatedEvent(session=SessionConfig(type="realtime")), 0.0)
    (failure,) = of(
        Fail, core.receive(ev.SessionUpdatedEvent(session=SessionConfig(type="realtime")), 0.0)
    )
    assert failure.request_id == request_id and "intent=transcription" in str(failure.error)
    assert not core.is_ready


def test_core_closed_fails_open_requests_and_keeps_history_bounded() -> None:
    core = ready_core()
    request_id, _ = core.update_session(transcription_session(language="en"))
    (failure,) = of(Fail, core.closed(1.0, "gone"))
    assert failure.request_id == request_id and isinstance(failure.error, ConnectionClosedError)
    assert core.phase is Phase.CLOSED
    assert core.update_session(transcription_session()) == (None, [])

    small = TranscriptionSessionCore(config=transcription_session(), history=2)
    small.open(0.0)
    previous = None
    for n in range(5):
        small.receive(committed(f"i{n}", previous), 0.0)
        small.receive(completed(f"i{n}", str(n)), 0.0)
        previous = f"i{n}"
    assert [t.item_id for t in small.transcripts] == ["i3", "i4"]
    assert small.get_transcript("i0") is None and small.pending == 0


def test_core_commit_and_clear() -> None:
    core = ready_core()
    (commit,) = sent(core.commit(), ev.InputAudioBufferCommitEvent)
    assert commit.event_id
    core.receive(ev.InputAudioBufferSpeechStartedEvent(item_id="s", audio_start_ms=0), 0.0)
    assert core.get_transcript("s") is not None
    (clear,) = sent(core.clear(), ev.InputAudioBufferClearEvent)
    assert clear.event_id and core.get_transcript("s") is None


# --------------------------------------------------------------------------- the simulator


def test_simulator_opens_a_transcription_session_for_the_intent(sim: RealtimeSimulator) -> None:
    raw = Raw(transcription_url_of(sim))
    session = raw.expect("session.created")["session"]
    assert session["type"] == "transcription"
    assert session["object"] == "realtime.transcription_session"
    assert set(session) == {"type", "object", "id", "expires_at", "audio", "include"}
    assert set(session["audio"]) == {"input"}
    assert session["audio"]["input"]["turn_detection"]["type"] == "server_vad"
    raw.close()
    plain = Raw(sim.url)  # no intent: a conversation, as before
    assert plain.expect("session.created")["session"]["type"] == "realtime"
    plain.close()


@pytest.mark.parametrize(
    ("session", "param"),
    [
        ({"type": "transcription", "instructions": "Be nice."}, "session.instructions"),
        ({"type": "transcription", "output_modalities": ["text"]}, "session.output_modalities"),
        ({"type": "transcription", "tools": []}, "session.tools"),
        ({"type": "transcription", "model": "gpt-realtime"}, "session.model"),
        (
            {"type": "transcription", "audio": {"output": {"voice": "marin"}}},
            "session.audio.output",
        ),
    ],
)
def test_simulator_refuses_realtime_only_fields(
    sim: RealtimeSimulator, session: JSON, param: str
) -> None:
    raw = Raw(transcription_url_of(sim))
    raw.expect("session.created")
    raw.send({"type": "session.update", "session": session, "event_id": "evt_bad"})
    error = raw.error()
    assert (error["code"], error["param"], error["event_id"]) == (
        "unknown_parameter",
        param,
        "evt_bad",
    )
    raw.close()


def test_simulator_transcription_session_refuses_responses_and_realtime_updates(
    sim: RealtimeSimulator,
) -> None:
    raw = Raw(transcription_url_of(sim))
    raw.expect("session.created")
    raw.send({"type": "response.create"})
    assert raw.error()["code"] == "invalid_value"
    raw.send({"type": "conversation.item.create", "item": {"type": "message", "role": "user"}})
    assert raw.error()["param"] == "type"
    assert raw.update({"type": "realtime", "instructions": "x"})["error"]["code"] == (
        "invalid_parameter"
    )
    whisper = {
        "type": "transcription",
        "audio": {"input": {"transcription": {"model": "gpt-realtime-whisper"}}},
    }
    assert raw.update(whisper)["error"]["param"] == "session.audio.input.turn_detection"
    whisper["audio"]["input"]["turn_detection"] = None  # type: ignore[index]
    assert raw.update(whisper)["type"] == "session.updated"
    raw.close()
    # A conversation (known intent: none) refuses a transcription update, as the live API does.
    conversation = Raw(sim.url)
    conversation.expect("session.created")
    error = conversation.update({"type": "transcription"})["error"]
    assert error["code"] == "invalid_parameter"
    assert "transcription session update event to a realtime session" in error["message"]
    conversation.close()


def test_simulator_vad_commits_and_transcribes_with_logprobs_and_no_response(
    sim: RealtimeSimulator,
) -> None:
    sim.transcript_for_audio = "Testing one two."
    raw = Raw(transcription_url_of(sim))
    raw.expect("session.created")
    updated = raw.update(
        {
            "type": "transcription",
            "audio": {
                "input": {
                    "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                    "noise_reduction": {"type": "near_field"},
                    "turn_detection": {"type": "server_vad", "silence_duration_ms": 300},
                }
            },
            "include": ["item.input_audio_transcription.logprobs"],
        }
    )
    session = updated["session"]
    assert session["audio"]["input"]["turn_detection"] == {
        "type": "server_vad",
        "threshold": 0.5,
        "prefix_padding_ms": 300,
        "silence_duration_ms": 300,
    }
    assert session["audio"]["input"]["noise_reduction"] == {"type": "near_field"}
    raw.send({"type": "input_audio_buffer.append", "audio": b64(utterance())})
    events = raw.until("conversation.item.input_audio_transcription.completed")
    types = [e["type"] for e in events]
    assert types[:3] == [
        "input_audio_buffer.speech_started",
        "input_audio_buffer.speech_stopped",
        "input_audio_buffer.committed",
    ]
    assert "conversation.item.added" not in types  # no conversation in a transcription session
    item_id = events[2]["item_id"]
    assert events[2]["previous_item_id"] is None
    deltas = [e for e in events if e["type"].endswith(".delta")]
    assert "".join(d["delta"] for d in deltas) == "Testing one two."
    assert all(d["item_id"] == item_id and len(d["logprobs"]) == 1 for d in deltas)
    final = events[-1]
    assert final["transcript"] == "Testing one two." and final["usage"]["type"] == "tokens"
    assert [p["token"] for p in final["logprobs"]] == [d["delta"] for d in deltas]
    # A manual commit of a second utterance follows the first.
    raw.update({"type": "transcription", "audio": {"input": {"turn_detection": None}}})
    raw.send({"type": "input_audio_buffer.append", "audio": b64(pcm_tone(300))})
    raw.send({"type": "input_audio_buffer.commit"})
    assert raw.expect("input_audio_buffer.committed")["previous_item_id"] == item_id
    raw.until("conversation.item.input_audio_transcription.completed")
    raw.send({"type": "input_audio_buffer.commit", "event_id": "evt_empty"})
    error = raw.error()
    assert (error["code"], error["event_id"]) == ("input_audio_buffer_commit_empty", "evt_empty")
    raw.close()
    assert not [e for e in sim.sent if e["type"].startswith("response.")]


def test_simulator_without_the_intent_switches_a_fresh_session(
    plain_sim: RealtimeSimulator,
) -> None:
    """While simulator.py does not tell the session its URL's intent, a fresh session still
    becomes a transcription session on a transcription session.update (and only then)."""
    raw = Raw(transcription_url_of(plain_sim))
    created = raw.expect("session.created")["session"]
    updated = raw.update({"type": "transcription", "include": None})
    assert updated["type"] == "session.updated", updated
    assert updated["session"]["type"] == "transcription"
    assert updated["session"]["id"] == created["id"]
    raw.send({"type": "response.create"})
    assert raw.error()["code"] == "invalid_value"
    raw.close()
    used = Raw(plain_sim.url)
    used.expect("session.created")
    used.send({"type": "input_audio_buffer.append", "audio": b64(pcm_silence(50))})
    assert used.update({"type": "transcription"})["error"]["code"] == "invalid_parameter"
    used.close()


# --------------------------------------------------------------------------- RealtimeTranscriber


def test_transcriber_transcribes_utterances_in_order(
    sim: RealtimeSimulator, handshakes: List[str]
) -> None:
    deltas: List[str] = []
    done: List[Transcript] = []
    with RealtimeTranscriber(url=sim.url, language="en", logprobs=True) as tr:
        assert tr.realtime.url == transcription_url_of(sim)
        assert handshakes == ["/v1/realtime?intent=transcription"]  # no model=
        assert tr.session is not None and tr.session.type == "transcription"
        assert tr.session.object == "realtime.transcription_session"
        tr.on(TranscriptDeltaEvent.type, lambda e: deltas.append(e.delta))
        tr.on(TranscriptDoneEvent.type, lambda e: done.append(e.transcript))
        for text in ("First words here.", "And the second."):
            sim.transcript_for_audio = text
            wire = tr.wait_for(
                ev.RealtimeEventType.CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_COMPLETED
            )
            tr.append_input_audio(utterance())
            assert wire.result(timeout=5).transcript == text
        got = list(tr.transcripts(timeout=1.0))
        assert tr.pending == 0
    assert [t.text for t in got] == ["First words here.", "And the second."]
    first, second = got
    assert second.previous_item_id == first.item_id and first.previous_item_id is None
    assert all(t.status is TranscriptStatus.COMPLETED for t in got)
    assert "".join(first.deltas) == first.text and first.logprobs
    assert [p.token for p in first.logprobs] == first.deltas
    assert first.usage is not None and first.usage.type == "tokens"
    assert first.audio_start_ms is not None and first.audio_end_ms is not None
    assert first.audio_end_ms > first.audio_start_ms
    assert done == got and "".join(deltas) == "First words here.And the second."
    (update,) = [e for e in sim.received if e["type"] == "session.update"]
    assert update["session"] == {
        "type": "transcription",
        "audio": {
            "input": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "transcription": {"model": "gpt-4o-transcribe", "language": "en"},
                "turn_detection": {"type": "server_vad"},
            }
        },
        "include": ["item.input_audio_transcription.logprobs"],
    }
    assert not {e["type"] for e in sim.received} - {
        "session.update",
        "input_audio_buffer.append",
    }
    assert all(_sent_by_the_sdk(e) for e in sim.received)  # so the fixture validates them all


def test_transcriber_manual_commits_and_clear(sim: RealtimeSimulator) -> None:
    sim.transcript_for_audio = "Manual mode."
    with RealtimeTranscriber(url=sim.url, turn_detection=None, model="whisper-1") as tr:
        cleared = tr.wait_for(ev.RealtimeEventType.INPUT_AUDIO_BUFFER_CLEARED)
        tr.append_input_audio(pcm_tone(300))
        tr.clear()
        assert cleared.result(timeout=5)
        tr.append_input_audio(pcm_tone(300))
        tr.commit()
        (transcript,) = list(tr.transcripts(timeout=1.0))
        assert transcript.text == "Manual mode." and transcript.deltas == ["Manual ", "mode."]
        assert transcript.usage is not None and transcript.usage.type == "duration"
        assert transcript.usage.seconds == pytest.approx(0.3, abs=0.01)
        assert transcript.logprobs is None and transcript.audio_start_ms is None
        # An empty buffer: the server's error is an event; nothing is pending.
        error = tr.wait_for(ev.RealtimeEventType.ERROR)
        tr.commit()
        assert error.result(timeout=5).error.code == "input_audio_buffer_commit_empty"
        assert list(tr.transcripts(timeout=0.2)) == []
        assert tr.history == [transcript]
        assert tr.get_transcript(transcript.item_id) == transcript
    commits = [e for e in sim.received if e["type"] == "input_audio_buffer.commit"]
    assert len(commits) == 2 and all(c["event_id"] for c in commits)


def test_transcriber_orders_transcripts_the_server_finishes_out_of_order(
    sim: RealtimeSimulator,
) -> None:
    with RealtimeTranscriber(url=sim.url, turn_detection=None) as tr:
        for item, previous in (("item_a", None), ("item_b", "item_a")):
            sim.send_event(
                {
                    "type": "input_audio_buffer.committed",
                    "event_id": f"event_{item}",
                    "item_id": item,
                    "previous_item_id": previous,
                }
            )
        sim.send_event(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "event_id": "event_c1",
                "item_id": "item_b",
                "content_index": 0,
                "transcript": "second",
                "usage": {"type": "duration", "seconds": 1.0},
            }
        )
        # item_a is still being transcribed: a timeout is an error, not the end.
        with pytest.raises(RealtimeTimeoutError, match="still being transcribed"):
            next(tr.transcripts(timeout=0.3))
        sim.send_event(
            {
                "type": "conversation.item.input_audio_transcription.completed",
                "event_id": "event_c2",
                "item_id": "item_a",
                "content_index": 0,
                "transcript": "first",
                "usage": {"type": "duration", "seconds": 1.0},
            }
        )
        assert [t.text for t in tr.transcripts(timeout=1.0)] == ["first", "second"]


def test_transcriber_update_session_and_its_rejection(sim: RealtimeSimulator) -> None:
    with RealtimeTranscriber(url=sim.url) as tr:
        session = tr.update_session(
            language="es", noise_reduction=NoiseReductionType.NEAR_FIELD, logprobs=True
        )
        assert session is not None and session.audio is not None
        assert session.audio.input is not None
        transcription = session.audio.input.transcription
        assert isinstance(transcription, InputAudioTranscriptionConfig)
        assert transcription.language == "es" and transcription.model == "gpt-4o-transcribe"
        assert session.audio.input.noise_reduction == NoiseReduction(
            type=NoiseReductionType.NEAR_FIELD
        )
        assert session.include == ["item.input_audio_transcription.logprobs"]
        before = tr.session_config
        with pytest.raises(RealtimeServerError) as caught:
            tr.update_session(model="gpt-realtime-whisper")  # keeps VAD on: refused
        assert caught.value.param == "session.audio.input.turn_detection"
        rejected = [e for e in sim.received if e["type"] == "session.update"][-1]
        assert caught.value.event_id == rejected["event_id"]
        assert tr.session_config == before  # undone
        later = tr.wait_for(ev.RealtimeEventType.SESSION_UPDATED)
        assert tr.update_session(logprobs=False, wait=False) is None
        assert later.result(timeout=5).session.include == []
        assert tr.session_config.include == []
        assert tr.update_session(model="gpt-realtime-whisper", turn_detection=None) is not None


def test_transcriber_connect_fails_cleanly(sim: RealtimeSimulator) -> None:
    tr = RealtimeTranscriber(
        url=sim.url, model="gpt-realtime-whisper", turn_detection=TurnDetection()
    )
    with pytest.raises(RealtimeServerError) as caught:
        tr.connect(timeout=5)
    assert caught.value.param == "session.audio.input.turn_detection"
    assert not tr.is_connected()
    assert list(tr.transcripts(timeout=0.1)) == []
    with pytest.raises(NotConnectedError):
        tr.append_input_audio(b"\x00\x00")
    tr.disconnect()


def test_transcriber_against_a_server_without_the_intent(
    sim: RealtimeSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A server that opens a conversation whatever the URL says refuses the config: connect
    raises its error (as the live API does for a ?model= URL)."""

    def no_intent(**kwargs: Any) -> Any:
        return session_module.RealtimeSession(**{**kwargs, "intent": None})

    monkeypatch.setattr(simulator_module, "RealtimeSession", no_intent)
    tr = RealtimeTranscriber(url=sim.url)
    with pytest.raises(RealtimeServerError, match="realtime session is not allowed"):
        tr.connect(timeout=5)
    tr.disconnect()


def test_transcriber_works_with_the_plain_simulator(plain_sim: RealtimeSimulator) -> None:
    plain_sim.transcript_for_audio = "Still works."
    with RealtimeTranscriber(url=plain_sim.url) as tr:
        assert tr.session is not None and tr.session.type == "transcription"
        tr.append_input_audio(utterance())
        assert [t.text for t in tr.transcripts(timeout=2.0)] == ["Still works."]


def test_transcripts_iterator_ends_at_disconnect_and_refuses_the_dispatcher_thread(
    sim: RealtimeSimulator,
) -> None:
    with RealtimeTranscriber(url=sim.url) as tr:
        outcome: List[str] = []

        def in_handler(event: Any) -> None:
            try:
                tr.transcripts()
            except RealtimeError as exc:
                outcome.append(str(exc))

        tr.on(ev.RealtimeEventType.INPUT_AUDIO_BUFFER_CLEARED, in_handler)
        cleared = tr.wait_for(ev.RealtimeEventType.INPUT_AUDIO_BUFFER_CLEARED)
        tr.clear()
        cleared.result(timeout=5)  # resolved after the handlers of the event ran
        assert len(outcome) == 1 and "deadlock" in outcome[0]
        timer = threading.Timer(0.3, tr.disconnect)
        timer.start()
        started = time.monotonic()
        assert list(tr.transcripts()) == []  # no timeout: ends when the connection does
        assert time.monotonic() - started < 5
        timer.join()
    assert not tr.is_connected()


def test_transcriber_default_endpoint_needs_a_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    tr = RealtimeTranscriber()
    assert tr.realtime.url == f"{api_module.DEFAULT_URL}?intent=transcription"
    with pytest.raises(RealtimeError, match="no API key"):
        tr.connect(timeout=1)
    assert not tr.is_connected()


def test_transcriber_sends_its_key_to_the_default_endpoint(monkeypatch: pytest.MonkeyPatch) -> None:
    paths: List[str] = []
    monkeypatch.setattr(simulator_module, "RealtimeSession", intent_sessions(paths))
    with RealtimeSimulator(api_key="sk-test-transcribe") as secured:
        monkeypatch.setattr(api_module, "DEFAULT_URL", secured.url)
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test-transcribe")
        secured.transcript_for_audio = "Keyed."
        with RealtimeTranscriber(input_format=AudioFormat.pcm16()) as tr:
            assert tr.session is not None and tr.session.type == "transcription"
            tr.append_input_audio(utterance())
            assert [t.text for t in tr.transcripts(timeout=2.0)] == ["Keyed."]
        _check_history(secured)
    assert paths == ["/v1/realtime?intent=transcription"]
    assert wait_no_sdk_threads() == []


def test_core_sync_changes_nothing_and_speaking_follows_vad() -> None:
    core = TranscriptionSessionCore(config=transcription_session())
    assert core.sync() == (None, [])  # no session yet
    core = ready_core()
    before = core.config
    request_id, actions = core.sync()
    (update,) = sent(actions, ev.SessionUpdateEvent)
    assert json.loads(protocol.encode(update))["session"] == {"type": "transcription"}
    resolved = core.receive(ev.SessionUpdatedEvent(session=before), 0.0)
    assert of(Resolve, resolved) == [Resolve(request_id or "", before)]
    assert core.config == before
    assert not core.speaking
    core.receive(ev.InputAudioBufferSpeechStartedEvent(item_id="a", audio_start_ms=0), 0.0)
    assert core.speaking
    core.receive(committed("a", None), 0.0)  # the client committed while speech went on
    assert not core.speaking
    core.receive(ev.InputAudioBufferSpeechStartedEvent(item_id="b", audio_start_ms=9), 0.0)
    core.receive(ev.InputAudioBufferSpeechStoppedEvent(item_id="b", audio_end_ms=99), 0.0)
    assert not core.speaking


def _commits(sim: RealtimeSimulator) -> int:
    return [e["type"] for e in sim.received].count("input_audio_buffer.commit")


def test_finish_commits_speech_cut_off_at_the_end(sim: RealtimeSimulator) -> None:
    sim.transcript_for_audio = "Cut off at the"
    with RealtimeTranscriber(url=sim.url) as tr:
        tr.append_input_audio(pcm_silence(200) + pcm_tone(800))  # no silence after the speech
        (transcript,) = tr.finish(timeout=10)
        assert transcript.text == "Cut off at the" and tr.pending == 0
        assert _commits(sim) == 1
        # Speech the server already committed needs no commit.
        sim.transcript_for_audio = "Complete."
        tr.append_input_audio(utterance())
        assert [t.text for t in tr.finish(timeout=10)] == ["Complete."]
        assert _commits(sim) == 1
        assert tr.finish(timeout=10) == []  # nothing new
    barriers = [
        e
        for e in sim.received
        if e["type"] == "session.update" and e["session"] == {"type": "transcription"}
    ]
    assert len(barriers) == 4  # before and after the one commit, then one per finish()


def test_finish_commits_the_manual_tail_and_skips_what_was_iterated(
    sim: RealtimeSimulator,
) -> None:
    with RealtimeTranscriber(url=sim.url, turn_detection=None) as tr:
        sim.transcript_for_audio = "One."
        tr.append_input_audio(pcm_tone(300))
        tr.commit()
        assert [t.text for t in tr.transcripts(timeout=1.0)] == ["One."]
        sim.transcript_for_audio = "Two."
        tr.append_input_audio(pcm_tone(300))  # not committed: finish() does it
        assert [t.text for t in tr.finish(timeout=10)] == ["Two."]
        assert _commits(sim) == 2
        tr.append_input_audio(pcm_tone(50))  # less than the server's 100 ms: left alone
        assert tr.finish(timeout=10) == []
        assert _commits(sim) == 2


def test_finish_times_out_on_an_item_never_transcribed(sim: RealtimeSimulator) -> None:
    with RealtimeTranscriber(url=sim.url, turn_detection=None) as tr:
        arrived = tr.wait_for(ev.RealtimeEventType.INPUT_AUDIO_BUFFER_COMMITTED)
        sim.send_event(
            {
                "type": "input_audio_buffer.committed",
                "event_id": "event_lost",
                "item_id": "item_lost",
                "previous_item_id": None,
            }
        )
        arrived.result(timeout=5)
        started = time.monotonic()
        with pytest.raises(RealtimeTimeoutError, match="still not transcribed"):
            tr.finish(timeout=0.5)
        assert time.monotonic() - started < 3
    with pytest.raises(NotConnectedError):
        tr.finish(timeout=1)
