"""The GPT-Live sans-IO core: feed it events, assert the actions (no sockets, no threads)."""

from __future__ import annotations

import json
import threading
import time
from typing import Any, List, Tuple

import pydantic
import pytest
from openai.types.live import ClientEvent as OfficialClientEvent

from realtime_sync import protocol
from realtime_sync.core.actions import Emit, Fail, Resolve, RunTool, Send
from realtime_sync.core.live import (
    DELEGATION_TOOL,
    MAX_APPEND_TOKENS,
    AppendKind,
    AppendResult,
    DelegationAnsweredEvent,
    ImmutableSettingError,
    LiveCloseResult,
    LivePhase,
    LiveSessionCore,
    LiveSessionEndedError,
    LiveStartupError,
    estimate_tokens,
    split_for_append,
)
from realtime_sync.errors import RealtimeServerError
from realtime_sync.live import client_events as lc
from realtime_sync.live import server_events as ls
from realtime_sync.live.enums import DelegationTarget, SessionCloseReason, TranscriptSource
from realtime_sync.live.models import (
    ClientDelegation,
    DelegationInfo,
    ErrorDetails,
    InitialItem,
    ResponsesDelegationUpdate,
    SessionConfig,
    SessionResource,
    SessionUpdateConfig,
    SessionUsage,
    TranscriptFragment,
)
from realtime_sync.live.transcripts import CloseReason, TranscriptGrouper, TranscriptGrouping

OFFICIAL = pydantic.TypeAdapter(OfficialClientEvent)
CONFIG = SessionConfig(model="gpt-live-1", instructions="Be brief.")
RESOURCE = SessionResource(id="sess_1", model="gpt-live-1")


def sent(actions: List[Any]) -> List[Any]:
    """The events of the Send actions, each checked against openai's client-event models."""
    events = [a.event for a in actions if isinstance(a, Send)]
    for event in events:
        OFFICIAL.validate_python(json.loads(protocol.encode_live(event)))
        assert event.event_id
    return events


def started() -> Tuple[LiveSessionCore, str]:
    core = LiveSessionCore()
    request_id, actions = core.start(CONFIG, 0.0)
    (start,) = sent(actions)
    out = core.receive(
        ls.SessionStartedEvent(session=RESOURCE, event_id="e1", client_event_id=start.event_id),
        0.1,
    )
    assert out == [Resolve(request_id, RESOURCE)]
    return core, request_id


def test_start_sends_session_start_and_resolves_on_started() -> None:
    core = LiveSessionCore()
    request_id, actions = core.start(CONFIG, 0.0)
    (event,) = sent(actions)
    assert isinstance(event, lc.SessionStartEvent) and event.session == CONFIG
    assert core.phase is LivePhase.STARTING
    assert core.receive(ls.SessionStartedEvent(session=RESOURCE), 0.1) == [
        Resolve(request_id, RESOURCE)
    ]
    assert core.phase is LivePhase.ACTIVE and core.session == RESOURCE


def test_an_early_error_fails_the_start_with_a_typed_error_naming_the_code() -> None:
    core = LiveSessionCore()
    request_id, _ = core.start(CONFIG, 0.0)
    error = ErrorDetails(
        message="no such voice",
        type="invalid_request_error",
        code="unknown_parameter",
        param="session.audio.output.voice",
    )
    (fail,) = core.receive(ls.ErrorEvent(error=error), 0.1)
    assert isinstance(fail, Fail) and fail.request_id == request_id
    assert isinstance(fail.error, LiveStartupError)
    assert (
        fail.error.code == "unknown_parameter" and fail.error.param == "session.audio.output.voice"
    )
    assert "unknown_parameter" in str(fail.error)
    assert core.phase is LivePhase.CLOSED
    with pytest.raises(LiveSessionEndedError):
        core.append(AppendKind.COMMENTARY, "hi", 0.2)


def test_history_is_limited_to_128_items() -> None:
    core = LiveSessionCore()
    with pytest.raises(ValueError, match="128"):
        core.start(SessionConfig(model="m", input=[InitialItem.user("x")] * 129), 0.0)
    assert core.phase is LivePhase.IDLE
    core.start(SessionConfig(model="m", input=[InitialItem.user("x")] * 128), 0.0)


def test_commands_before_start_raise() -> None:
    with pytest.raises(LiveSessionEndedError, match="not started"):
        LiveSessionCore().mute(0.0)


@pytest.mark.parametrize(
    ("kind", "cls", "ack"),
    [
        (AppendKind.COMMENTARY, lc.CommentaryAppendEvent, ls.CommentaryAppendedEvent),
        (AppendKind.THINKING, lc.ThinkingAppendEvent, ls.ThinkingAppendedEvent),
        (AppendKind.INSTRUCTIONS, lc.InstructionsAppendEvent, ls.InstructionsAppendedEvent),
    ],
)
def test_append_resolves_on_the_ack_naming_its_event(kind: AppendKind, cls: Any, ack: Any) -> None:
    core, _ = started()
    request_id, actions = core.append(kind, "The order shipped.", 1.0)
    (event,) = sent(actions)
    assert isinstance(event, cls) and event.delegation_id is None
    assert json.loads(protocol.encode_live(event))["delegation_id"] is None
    other = ack(client_event_id="evt_someone_else", start_ms=1, end_ms=2)
    assert core.receive(other, 1.1) == []  # not ours: nothing resolves
    out = core.receive(ack(client_event_id=event.event_id, start_ms=10, end_ms=20), 1.2)
    assert out == [Resolve(request_id, AppendResult(kind, (event.event_id,), 10, 20))]


def test_an_ack_without_client_event_id_answers_the_oldest_request_of_its_kind() -> None:
    core, _ = started()
    first, _ = core.append(AppendKind.THINKING, "one", 1.0)
    second, _ = core.append(AppendKind.THINKING, "two", 1.0)
    (resolve,) = core.receive(ls.ThinkingAppendedEvent(), 1.1)
    assert isinstance(resolve, Resolve) and resolve.request_id == first
    (resolve,) = core.receive(ls.ThinkingAppendedEvent(), 1.2)
    assert resolve.request_id == second


def test_long_text_is_chunked_and_resolves_when_every_chunk_is_acked() -> None:
    core, _ = started()
    sentence = "This sentence is about fifty characters long, ok. "
    text = sentence * 100  # ~5000 characters: well over 500 tokens
    _, actions = core.append(AppendKind.COMMENTARY, text, 1.0)
    events = sent(actions)
    assert len(events) > 1
    for event in events:
        assert estimate_tokens(event.content) <= MAX_APPEND_TOKENS
        assert event.content.endswith(".")  # split between sentences
    assert " ".join(e.content for e in events) == text.strip()
    for event in events[:-1]:
        assert core.receive(ls.CommentaryAppendedEvent(client_event_id=event.event_id), 1.1) == []
    (resolve,) = core.receive(ls.CommentaryAppendedEvent(client_event_id=events[-1].event_id), 1.2)
    assert isinstance(resolve, Resolve) and len(resolve.value.event_ids) == len(events)


def test_split_falls_back_to_words_then_characters() -> None:
    words = " ".join(["word"] * 1000)  # no sentence end at all
    chunks = split_for_append(words)
    assert len(chunks) > 1 and all(c.split(" ")[0] == "word" for c in chunks)
    assert all(estimate_tokens(c) <= MAX_APPEND_TOKENS for c in chunks)
    blob = "x" * 4000
    chunks = split_for_append(blob)
    assert "".join(chunks) == blob and all(estimate_tokens(c) <= MAX_APPEND_TOKENS for c in chunks)
    cjk = "\u4f60\u597d" * 400  # one token per character, conservatively
    assert all(estimate_tokens(c) <= MAX_APPEND_TOKENS for c in split_for_append(cjk))
    assert split_for_append("   ") == []


def test_an_error_naming_a_chunk_fails_the_request_and_is_not_fatal() -> None:
    core, _ = started()
    request_id, actions = core.append(AppendKind.COMMENTARY, "x " * 2000, 1.0)
    events = sent(actions)
    error = ErrorDetails(
        message="too long",
        type="invalid_request_error",
        code="too_many_tokens",
        client_event_id=events[1].event_id,
    )
    (fail,) = core.receive(ls.ErrorEvent(error=error), 1.1)
    assert isinstance(fail, Fail) and fail.request_id == request_id
    assert isinstance(fail.error, RealtimeServerError) and fail.error.code == "too_many_tokens"
    assert fail.error.event_id == events[1].event_id
    assert core.receive(ls.CommentaryAppendedEvent(client_event_id=events[0].event_id), 1.2) == []
    assert core.phase is LivePhase.ACTIVE
    assert core.errors == [error]


def test_empty_text_is_refused() -> None:
    core, _ = started()
    with pytest.raises(ValueError, match="empty"):
        core.append(AppendKind.COMMENTARY, "  \n", 1.0)


def test_update_session_resolves_on_session_updated() -> None:
    core, _ = started()
    update = SessionUpdateConfig(delegation=ClientDelegation(acknowledgement_delay_ms=500))
    request_id, actions = core.update_session(update, 1.0)
    (event,) = sent(actions)
    assert isinstance(event, lc.SessionUpdateEvent) and event.session == update
    new = SessionResource(id="sess_1", delegation=ClientDelegation(acknowledgement_delay_ms=500))
    out = core.receive(ls.SessionUpdatedEvent(session=new, client_event_id=event.event_id), 1.1)
    assert out == [Resolve(request_id, new)] and core.session == new


@pytest.mark.parametrize("setting", ["model", "instructions", "audio", "input", "voice"])
def test_immutable_settings_are_refused_before_anything_is_sent(setting: str) -> None:
    core, _ = started()
    with pytest.raises(ImmutableSettingError) as info:
        core.update_session({setting: "x"}, 1.0)
    assert info.value.setting == setting and "fixed" in str(info.value)
    assert len(list(core._ledger)) == 0


def test_the_delegation_type_cannot_change() -> None:
    core, _ = started()  # no delegation given: the application's (client)
    with pytest.raises(ImmutableSettingError, match="delegation type"):
        core.update_session({"delegation": ResponsesDelegationUpdate()}, 1.0)
    with pytest.raises(TypeError, match="no setting"):
        core.update_session({"colour": "red"}, 1.0)


def test_mute_and_unmute_resolve_on_their_acks() -> None:
    core, _ = started()
    mute_id, actions = core.mute(1.0)
    (mute,) = sent(actions)
    assert isinstance(mute, lc.InputAudioMuteEvent)
    out = core.receive(ls.InputAudioMutedEvent(client_event_id=mute.event_id), 1.1)
    assert out == [Resolve(mute_id, None)] and core.muted
    unmute_id, actions = core.mute(1.2, muted=False)
    (unmute,) = sent(actions)
    assert isinstance(unmute, lc.InputAudioUnmuteEvent)
    out = core.receive(ls.InputAudioUnmutedEvent(client_event_id=unmute.event_id), 1.3)
    assert out == [Resolve(unmute_id, None)] and not core.muted


def _delegation(core: LiveSessionCore, delegation_id: str = "del_1", now: float = 5.0) -> RunTool:
    info = DelegationInfo(id=delegation_id, target=DelegationTarget.CLIENT)
    (run,) = core.receive(ls.DelegationCreatedEvent(delegation=info, offset_ms=4200), now)
    assert isinstance(run, RunTool)
    return run


def test_a_client_delegation_runs_the_handler_with_the_transcript_since_the_last_one() -> None:
    core = LiveSessionCore(run_delegations=True, delegation_timeout=10.0)
    core.start(CONFIG, 0.0)
    core.receive(ls.SessionStartedEvent(session=RESOURCE), 0.1)
    for event in (
        ls.InputTranscriptDeltaEvent(delta="Where is ", start_ms=0, end_ms=500),
        ls.InputTranscriptDeltaEvent(delta="my order?", start_ms=500, end_ms=900),
        ls.OutputTranscriptDeltaEvent(delta="Let me check.", start_ms=1000, end_ms=1500),
    ):
        assert core.receive(event, 1.0) == []
    run = _delegation(core)
    assert run.name == DELEGATION_TOOL and run.call_id == "del_1"
    assert run.deadline == 15.0 and run.timeout == 10.0
    args = json.loads(run.arguments)
    assert args["delegation_id"] == "del_1" and args["offset_ms"] == 4200
    assert [(t["source"], t["text"]) for t in args["transcript"]] == [
        ("input", "Where is my order?"),
        ("output", "Let me check."),
    ]
    core.receive(ls.InputTranscriptDeltaEvent(delta="Thanks", start_ms=5000, end_ms=5200), 6.0)
    second = json.loads(_delegation(core, "del_2", 7.0).arguments)
    assert [t["text"] for t in second["transcript"]] == ["Thanks"]  # only since the last one


def test_the_handler_answer_becomes_commentary_for_the_delegation() -> None:
    core = LiveSessionCore(run_delegations=True)
    core.start(CONFIG, 0.0)
    core.receive(ls.SessionStartedEvent(session=RESOURCE), 0.1)
    _delegation(core)
    actions = core.delegation_answered("del_1", json.dumps({"text": "It ships Monday."}))
    (event,) = sent(actions)
    assert isinstance(event, lc.CommentaryAppendEvent)
    assert event.delegation_id == "del_1" and event.content == "It ships Monday."
    assert Emit(DelegationAnsweredEvent("del_1", "It ships Monday.")) in actions
    assert core.delegation_answered("del_1", json.dumps({"text": "again"})) == []  # once only


def test_a_failed_or_late_handler_sends_the_spoken_fallback() -> None:
    core = LiveSessionCore(run_delegations=True, fallback="One moment, that failed.")
    core.start(CONFIG, 0.0)
    core.receive(ls.SessionStartedEvent(session=RESOURCE), 0.1)
    _delegation(core)
    actions = core.delegation_answered("del_1", json.dumps({"error": "timed out"}))
    (event,) = sent(actions)
    assert event.content == "One moment, that failed." and event.delegation_id == "del_1"
    (emit,) = [a for a in actions if isinstance(a, Emit)]
    assert emit.event.fallback and emit.event.error == "timed out"


def test_delegations_are_left_to_the_app_without_a_handler() -> None:
    core, _ = started()
    info = DelegationInfo(id="del_1", target=DelegationTarget.CLIENT)
    assert core.receive(ls.DelegationCreatedEvent(delegation=info), 1.0) == []


def test_close_resolves_with_reason_usage_and_errors() -> None:
    core, _ = started()
    warning = ErrorDetails(message="storage", type="server_error", code="session_storage_failed")
    assert core.receive(ls.ErrorEvent(error=warning), 1.0) == []  # just an event
    assert core.phase is LivePhase.ACTIVE
    core.receive(ls.SessionUsageUpdatedEvent(usage=SessionUsage(seconds=3.0)), 1.5)
    pending, _ = core.append(AppendKind.THINKING, "still waiting", 1.6)
    close_id, actions = core.close(2.0)
    (event,) = sent(actions)
    assert isinstance(event, lc.SessionCloseEvent) and core.phase is LivePhase.CLOSING
    with pytest.raises(LiveSessionEndedError):
        core.append(AppendKind.COMMENTARY, "too late", 2.1)
    closed = ls.SessionClosedEvent(
        reason=SessionCloseReason.CLOSE_REQUESTED, usage=SessionUsage(seconds=4.5), session=RESOURCE
    )
    out = core.receive(closed, 2.2)
    result = LiveCloseResult(
        SessionCloseReason.CLOSE_REQUESTED, SessionUsage(seconds=4.5), RESOURCE, (warning,)
    )
    assert out[0] == Resolve(close_id, result)
    (fail,) = out[1:]
    assert isinstance(fail, Fail) and fail.request_id == pending
    assert isinstance(fail.error, LiveSessionEndedError)


def test_a_fatal_error_ends_the_session() -> None:
    core, _ = started()
    pending, _ = core.append(AppendKind.THINKING, "x", 1.0)
    fatal = ErrorDetails(message="gone", type="server_error", code="session_expired")
    (fail,) = core.receive(ls.ErrorEvent(error=fatal), 1.1)
    assert fail.request_id == pending and isinstance(fail.error, LiveSessionEndedError)
    assert core.phase is LivePhase.CLOSED
    with pytest.raises(LiveSessionEndedError):
        core.mute(1.2)


def test_a_lost_connection_fails_requests_and_resolves_close_unconfirmed() -> None:
    core, _ = started()
    core.receive(ls.SessionUsageUpdatedEvent(usage=SessionUsage(seconds=2.0)), 1.0)
    pending, _ = core.append(AppendKind.COMMENTARY, "x", 1.0)
    close_id, _ = core.close(1.1)
    out = core.closed(1.2, "connection lost")
    resolve = out[0]
    assert isinstance(resolve, Resolve) and resolve.request_id == close_id
    assert resolve.value.confirmed is False and resolve.value.reason is None
    assert resolve.value.usage == SessionUsage(seconds=2.0)
    assert [a.request_id for a in out[1:]] == [pending]
    again, actions = core.close(1.3)  # closing an ended session answers at once
    assert actions == [Resolve(again, resolve.value)]


def test_audio_is_sent_only_while_the_session_runs() -> None:
    core = LiveSessionCore()
    assert core.append_audio(b"\0\0") == []
    core.start(CONFIG, 0.0)
    (event,) = sent(core.append_audio(b"\0\0"))
    assert isinstance(event, lc.InputAudioAppendEvent) and event.audio == "AAA="


# --------------------------------------------------------------------------- transcripts as turns


def _user(text: str, start: int, end: int) -> TranscriptFragment:
    return TranscriptFragment(TranscriptSource.INPUT, text, start, end)


def _model(text: str, start: int, end: int) -> TranscriptFragment:
    return TranscriptFragment(TranscriptSource.OUTPUT, text, start, end)


def test_grouping_closes_a_segment_on_speaker_change() -> None:
    grouping = TranscriptGrouping()
    assert grouping.feed(_user("Where is ", 0, 400)) == []
    assert grouping.feed(_user("my order?", 400, 900)) == []
    (segment,) = grouping.feed(_model("Let me check.", 1200, 1800))
    assert (segment.speaker, segment.text, segment.start_ms, segment.end_ms) == (
        "user",
        "Where is my order?",
        0,
        900,
    )
    assert segment.reason is CloseReason.SPEAKER_CHANGE and segment.previous_id is None
    (last,) = grouping.close(CloseReason.SESSION_CLOSED)
    assert last.text == "Let me check." and last.previous_id == segment.id
    assert last.reason is CloseReason.SESSION_CLOSED
    assert grouping.feed(_user("late", 5000, 5100)) == []


def test_grouping_closes_a_segment_after_an_inactivity_gap() -> None:
    grouping = TranscriptGrouping(gap_ms=1000)
    grouping.feed(_model("One.", 0, 500))
    assert grouping.advance(1400) == []
    assert grouping.deadline() == 1500
    (segment,) = grouping.advance(1500)
    assert segment.reason is CloseReason.INACTIVITY and segment.text == "One."
    grouping.feed(_user("Hi", 2000, 2200))
    (segment,) = grouping.feed(_user("again", 4000, 4300))  # same speaker, after the gap
    assert segment.reason is CloseReason.INACTIVITY and segment.text == "Hi"


def test_a_backchannel_inside_a_turn_is_suppressed() -> None:
    grouping = TranscriptGrouping()
    grouping.feed(_user("I was thinking ", 0, 1000))
    assert grouping.feed(_model("Mhm.", 1100, 1300)) == []  # held, not a turn yet
    assert grouping.feed(_user("that we could go.", 1500, 2500)) == []
    (segment,) = grouping.close(CloseReason.MANUAL)
    assert segment.text == "I was thinking that we could go." and segment.speaker == "user"


def test_an_acknowledgement_nobody_talks_over_becomes_a_turn() -> None:
    grouping = TranscriptGrouping(backchannel_hold_ms=1000)
    grouping.feed(_user("Is it open?", 0, 800))
    assert grouping.feed(_model("Yes.", 900, 1100)) == []
    (user,) = grouping.advance(2100)
    assert user.text == "Is it open?" and user.reason is CloseReason.SPEAKER_CHANGE
    (answer,) = grouping.close(CloseReason.MANUAL)
    assert answer.speaker == "assistant" and answer.text == "Yes."


def test_a_long_reply_is_not_taken_for_a_backchannel() -> None:
    grouping = TranscriptGrouping()
    grouping.feed(_user("Is it open?", 0, 800))
    (user,) = grouping.feed(_model("Yes, until nine tonight.", 900, 2500))
    assert user.reason is CloseReason.SPEAKER_CHANGE


def test_a_timestamp_reset_closes_everything() -> None:
    grouping = TranscriptGrouping()
    grouping.feed(_user("Before.", 5000, 5500))
    (segment,) = grouping.feed(_user("After.", 100, 400))
    assert segment.reason is CloseReason.TIMESTAMP_RESET and segment.text == "Before."
    (after,) = grouping.close(CloseReason.MANUAL)
    assert after.text == "After."


def test_the_grouper_shell_closes_on_time_and_on_session_closed() -> None:
    grouper = TranscriptGrouper(TranscriptGrouping(gap_ms=200))
    got: List[Any] = []

    def read() -> None:
        for segment in grouper.segments(timeout=5.0):
            got.append(segment)  # one by one, as they finish

    reader = threading.Thread(target=read)
    reader.start()
    grouper.push(ls.OutputTranscriptDeltaEvent(delta="Hello.", start_ms=0, end_ms=300))
    started = time.monotonic()
    while not got and time.monotonic() - started < 5.0:
        time.sleep(0.01)
    assert [s.text for s in got] == ["Hello."] and got[0].reason is CloseReason.INACTIVITY
    waited = time.monotonic() - started
    assert 0.15 <= waited < 2.0  # closed by the clock, soon after the gap
    grouper.push(ls.InputTranscriptDeltaEvent(delta="Bye.", start_ms=900, end_ms=1000))
    grouper.push(ls.SessionClosedEvent(reason=SessionCloseReason.CLOSE_REQUESTED))
    reader.join(5.0)
    assert not reader.is_alive()
    assert [(s.text, s.reason) for s in got] == [
        ("Hello.", CloseReason.INACTIVITY),
        ("Bye.", CloseReason.SESSION_CLOSED),
    ]
    assert grouper.finished == got and list(grouper.segments(timeout=0.1, start=1)) == got[1:]
