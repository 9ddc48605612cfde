"""Every turn is the caller's own: the session core's guarantees over real sockets.

Each test reproduces a case that answered the wrong question before the session core:
an abandoned ``ask()``, a voice response running when the app asks, out-of-band
responses, a rejected session update, a removed tool, an early cancel, ``ask()`` in a handler.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import Any, Dict, List

import pytest

from realtime_sync import (
    RealtimeClient,
    RealtimeError,
    RealtimeEventType,
    RealtimeServerError,
    RealtimeTimeoutError,
    RealtimeUtils,
    ToolChoiceFunction,
    ToolDefinition,
    TurnDetection,
)
from realtime_sync import events as ev
from realtime_sync.models import Modality, ResponseCreateParams
from realtime_sync.testing import RealtimeSimulator

from .conftest import wait_no_sdk_threads

T = RealtimeEventType
LONG = "This answer goes on and on. " * 60


@pytest.fixture
def client(sim: RealtimeSimulator) -> Any:
    c = RealtimeClient(url=sim.url)
    yield c
    c.disconnect()
    assert wait_no_sdk_threads() == []


def received(sim: RealtimeSimulator, kind: str) -> List[Dict[str, Any]]:
    return [e for e in sim.received if e["type"] == kind]


def refusals(sim: RealtimeSimulator) -> List[Dict[str, Any]]:
    return [
        e
        for e in sim.sent
        if e["type"] == "error"
        and e["error"].get("code") == "conversation_already_has_active_response"
    ]


def test_a_timed_out_ask_does_not_poison_the_next(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    sim.add_reply("first", text=LONG)
    sim.add_reply("second", text="The second answer.")
    sim.event_delay = 0.002
    client.connect()
    with pytest.raises(RealtimeTimeoutError):
        client.ask("first question", timeout=0.3)
    turn = client.ask("second question", timeout=20)
    assert turn.text == "The second answer."
    (cancel,) = received(sim, "response.cancel")
    assert cancel["response_id"] != turn.responses[0].id
    assert refusals(sim) == []
    for truncate in received(sim, "conversation.item.truncate"):  # when audio had arrived
        first = client.conversation.get_item(truncate["item_id"])
        assert first is not None and first.audio_end_ms == truncate["audio_end_ms"]
        assert first.response_id == cancel["response_id"]


def test_ctrl_c_during_ask_cancels_its_response(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    sim.add_reply("first", text=LONG)
    sim.add_reply("again", text="Fresh answer.")
    sim.event_delay = 0.002
    client.connect()
    fired = threading.Event()

    def interrupt(event: ev.ConversationUpdatedEvent) -> None:
        if event.delta is not None and event.delta.audio and not fired.is_set():
            fired.set()
            os.kill(os.getpid(), signal.SIGINT)  # what a notebook's interrupt button does

    client.on(T.CONVERSATION_UPDATED, interrupt)
    with pytest.raises(KeyboardInterrupt):
        client.ask("first question", timeout=20)
    client.off(T.CONVERSATION_UPDATED, interrupt)
    assert client.ask("again please", timeout=20).text == "Fresh answer."
    assert len(received(sim, "response.cancel")) == 1 and refusals(sim) == []
    # Its audio item is truncated at what had arrived when the wait was interrupted.
    (truncate,) = received(sim, "conversation.item.truncate")
    first = client.conversation.get_item(truncate["item_id"])
    assert first is not None and first.role == "assistant"
    assert truncate["audio_end_ms"] == first.audio_end_ms > 0


def test_a_voice_response_is_not_returned_to_ask(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    sim.transcript_for_audio = "spoken words"
    sim.add_reply("spoken", text="Answer to the voice. " * 20)
    sim.add_reply("typed", text="Answer to the typing.")
    sim.event_delay = 0.002
    client.update_session(turn_detection=TurnDetection(silence_duration_ms=300))
    client.connect()
    voice = client.wait_for(T.RESPONSE_CREATED)
    speech = RealtimeUtils.generate_tone(duration_ms=600, amplitude=0.5)
    client.append_input_audio(speech + RealtimeUtils.generate_silence(800))
    voice_id = voice.result(timeout=10).response.id
    turn = client.ask("typed question", timeout=20)
    assert turn.text == "Answer to the typing."
    assert voice_id not in [r.id for r in turn.responses]
    assert refusals(sim) == []


def test_ask_with_interrupt_cancels_the_voice_response(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    sim.add_reply("", text=LONG)
    sim.event_delay = 0.002
    client.connect()
    first = client.create_response()  # stands in for a long answer already playing
    created = client.wait_for(T.RESPONSE_CREATED).result(timeout=10)
    turn = client.ask("stop and answer this", timeout=20, interrupt=True)
    assert first.result(timeout=10).responses[0].status == "cancelled"
    assert turn.responses[0].id != created.response.id
    assert [c["response_id"] for c in received(sim, "response.cancel")] == [created.response.id]


def test_out_of_band_ask_returns_its_own_text(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    sim.add_reply("classify", text="positive")
    client.connect()
    client.ask("Hello there", timeout=10)
    before = [i.id for i in client.conversation.get_items()]
    turn = client.ask(
        "classify the mood",
        conversation="none",
        response=ResponseCreateParams(output_modalities=[Modality.TEXT]),
        timeout=10,
    )
    assert turn.out_of_band and turn.text == "positive"
    assert [i.id for i in client.conversation.get_items()] == before
    (create,) = [e for e in received(sim, "response.create") if e["response"].get("conversation")]
    refs = [i for i in create["response"]["input"] if i["type"] == "item_reference"]
    assert [r["id"] for r in refs] == before


def test_out_of_band_function_calls_are_returned_not_run(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    calls: List[Dict[str, Any]] = []
    client.add_tool(ToolDefinition(name="lookup"), calls.append)
    sim.add_reply("look it up", function_call=("lookup", {"q": "x"}))
    client.connect()
    notified = client.wait_for(T.OUT_OF_BAND_FUNCTION_CALLS)
    turn = client.ask("look it up", conversation="none", timeout=10)
    assert [c.item.name for c in turn.function_calls] == ["lookup"]  # type: ignore[union-attr]
    assert notified.result(timeout=5).calls[0].id == turn.function_calls[0].id
    client.ask("and now in the conversation", timeout=10)  # a round trip: nothing else ran
    assert calls == []
    assert not [
        e
        for e in received(sim, "conversation.item.create")
        if e["item"]["type"] == "function_call_output"
    ]
    assert len(received(sim, "response.create")) == 2


def test_ask_from_a_handler_refuses_before_sending(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.connect()
    outcome: List[BaseException] = []
    done = threading.Event()

    def handler(event: Any) -> None:
        try:
            client.ask("from a handler")
        except RealtimeError as exc:
            outcome.append(exc)
        done.set()

    client.on(T.RATE_LIMITS_UPDATED, handler)
    client.ask("hi", timeout=10)
    assert done.wait(5)
    assert isinstance(outcome[0], RealtimeError)
    assert not [e for e in received(sim, "conversation.item.create") if "from a handler" in str(e)]
    assert len(received(sim, "response.create")) == 1


def test_a_rejected_update_raises_and_is_not_kept(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    client.connect()
    with pytest.raises(RealtimeServerError) as info:
        client.update_session(max_output_tokens=999_999)
    assert info.value.code and info.value.event_id
    assert client.session_config.max_output_tokens != 999_999
    client.add_tool(ToolDefinition(name="fine"), lambda params: {}, wait=True)
    assert [t.get("name") for t in sim.received[-1]["session"]["tools"]] == ["fine"]
    assert client.update_session(instructions="Be brief.").instructions == "Be brief."  # type: ignore[union-attr]


def test_remove_tool_resets_its_tool_choice(sim: RealtimeSimulator, client: RealtimeClient) -> None:
    client.add_tool(ToolDefinition(name="weather"), lambda params: {})
    client.update_session(tool_choice=ToolChoiceFunction(name="weather"))
    client.connect()
    client.remove_tool("weather", wait=True)
    last = [e for e in sim.received if e["type"] == "session.update"][-1]["session"]
    assert last["tool_choice"] == "auto" and not last.get("tools")


def test_cancel_before_the_first_audio_delta(
    sim: RealtimeSimulator, client: RealtimeClient
) -> None:
    sim.add_reply("", text=LONG)
    sim.event_delay = 0.002
    client.connect()
    errors: List[BaseException] = []

    def cancel_at_once(event: ev.ConversationItemAppendedEvent) -> None:
        # On the dispatcher thread, before any audio delta of the item is applied.
        if event.item.role == "assistant":
            assert not event.item.formatted.audio_buffer
            try:
                client.cancel_response(event.item.id, 0)
            except Exception as exc:  # pragma: no cover - the failure being tested
                errors.append(exc)

    client.on(T.CONVERSATION_ITEM_APPENDED, cancel_at_once)
    turn = client.create_response().result(timeout=10)
    assert errors == []
    assert turn.responses[0].status == "cancelled"
    assert received(sim, "response.cancel") and not received(sim, "conversation.item.truncate")
