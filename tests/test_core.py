"""The Realtime session core, sans IO: events and requests in, actions out (no server)."""

from __future__ import annotations

import base64
from typing import Any, List, Optional, Sequence, Type, TypeVar

import pytest

from realtime_sync import events as ev
from realtime_sync.core import (
    Emit,
    Fail,
    Phase,
    RealtimeSessionCore,
    Recycle,
    Resolve,
    RunTool,
    Send,
    Turn,
)
from realtime_sync.core.conversation import ConversationCache
from realtime_sync.core.responses import REQUEST_TAG
from realtime_sync.errors import ConnectionClosedError, RealtimeError, RealtimeServerError
from realtime_sync.models import (
    ContentPart,
    ItemFunctionCall,
    ItemMessage,
    ItemRole,
    ItemStatus,
    RealtimeErrorDetails,
    Response,
    ResponseCreateParams,
    ResponseStatus,
    SessionConfig,
    ToolChoiceFunction,
    ToolDefinition,
)
from realtime_sync.session_config import DEFAULT_SESSION, apply_settings

A = TypeVar("A")


def of(kind: Type[A], actions: Sequence[Any]) -> List[A]:
    return [a for a in actions if isinstance(a, kind)]


def sent(actions: Sequence[Any], kind: Type[A]) -> List[A]:
    return [a.event for a in of(Send, actions) if isinstance(a.event, kind)]


class Server:
    """Makes the server events of one scripted session (ids, items, responses)."""

    def __init__(self, core: RealtimeSessionCore, tags: bool = True) -> None:
        self.core = core
        self.tags = tags
        self.now = 0.0
        self.n = 0
        self.last_item: Optional[str] = None

    def feed(self, event: Any) -> List[Any]:
        return self.core.receive(event, self.now)

    def connect(self, *, replay: bool = False) -> str:
        request_id = self.core.open(self.now, replay=replay)
        actions = self.feed(ev.SessionCreatedEvent(session=SessionConfig(type="realtime")))
        assert sent(actions, ev.SessionUpdateEvent)
        actions = self.feed(ev.SessionUpdatedEvent(session=self.core.config))
        if not replay:
            assert of(Resolve, actions) and of(Resolve, actions)[0].request_id == request_id
        return request_id

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}_{self.n}"

    def created(self, create: Optional[ev.ResponseCreateEvent] = None) -> str:
        """``response.created`` answering ``create`` (or started by the server if None)."""
        rid = self._id("resp")
        meta = None
        out_of_band = False
        if create is not None and create.response is not None:
            meta = create.response.metadata if self.tags else None
            out_of_band = create.response.conversation == "none"
        response = Response(
            id=rid,
            status=ResponseStatus.IN_PROGRESS,
            metadata=meta,
            conversation_id=None if out_of_band else "conv_1",
        )
        self.actions = self.feed(ev.ResponseCreatedEvent(response=response))
        return rid

    def message(
        self, rid: str, text: str, *, audio: bytes = b"", in_conversation: bool = True
    ) -> str:
        """An assistant message streamed in response ``rid`` (not completed)."""
        item_id = self._id("item")
        item = ItemMessage(
            role=ItemRole.ASSISTANT, content=[], id=item_id, status=ItemStatus.IN_PROGRESS
        )
        out = self.feed(ev.ResponseOutputItemAddedEvent(response_id=rid, output_index=0, item=item))
        if in_conversation:
            out += self.feed(
                ev.ConversationItemAddedEvent(item=item, previous_item_id=self.last_item)
            )
            self.last_item = item_id
        if audio:
            out += self.feed(
                ev.ResponseOutputAudioDeltaEvent(
                    response_id=rid,
                    item_id=item_id,
                    output_index=0,
                    content_index=0,
                    delta=base64.b64encode(audio).decode(),
                )
            )
        out += self.feed(
            ev.ResponseOutputTextDeltaEvent(
                response_id=rid, item_id=item_id, output_index=0, content_index=0, delta=text
            )
        )
        return item_id

    def finish_item(
        self, rid: str, item_id: str, text: str, *, in_conversation: bool = True
    ) -> List[Any]:
        item = ItemMessage(
            role=ItemRole.ASSISTANT,
            content=[ContentPart.output_text(text=text)],
            id=item_id,
            status=ItemStatus.COMPLETED,
        )
        out = self.feed(ev.ResponseOutputItemDoneEvent(response_id=rid, output_index=0, item=item))
        if in_conversation:
            out += self.feed(ev.ConversationItemDoneEvent(item=item))
        return out

    def call(self, rid: str, name: str, *, in_conversation: bool = True) -> ItemFunctionCall:
        call = ItemFunctionCall(
            name=name,
            arguments="{}",
            call_id=self._id("call"),
            id=self._id("item"),
            status=ItemStatus.COMPLETED,
        )
        self.actions = self.feed(
            ev.ResponseOutputItemAddedEvent(response_id=rid, output_index=0, item=call)
        )
        if in_conversation:
            self.actions += self.feed(ev.ConversationItemAddedEvent(item=call))
            self.actions += self.feed(ev.ConversationItemDoneEvent(item=call))
        else:
            self.actions += self.feed(
                ev.ResponseOutputItemDoneEvent(response_id=rid, output_index=0, item=call)
            )
        return call

    def done(
        self, rid: str, status: ResponseStatus = ResponseStatus.COMPLETED, output: Any = None
    ) -> List[Any]:
        record = self.core._records.get(rid)
        meta = record.response.metadata if record is not None else None
        return self.feed(
            ev.ResponseDoneEvent(
                response=Response(id=rid, status=status, metadata=meta, output=output or [])
            )
        )

    def error(self, event_id: Optional[str], code: str, message: str = "no") -> List[Any]:
        return self.feed(
            ev.ErrorEvent(
                error=RealtimeErrorDetails(
                    type="invalid_request_error", code=code, message=message, event_id=event_id
                )
            )
        )


def make_core(**kwargs: Any) -> RealtimeSessionCore:
    return RealtimeSessionCore(conversation=ConversationCache(), config=DEFAULT_SESSION, **kwargs)


@pytest.fixture
def server() -> Server:
    s = Server(make_core())
    s.connect()
    return s


def user(text: str) -> ItemMessage:
    return ItemMessage(
        role=ItemRole.USER, content=[ContentPart.input_text(text=text)], id=f"u_{text}"
    )


def resolved(actions: Sequence[Any], request_id: str) -> Any:
    values = [a.value for a in of(Resolve, actions) if a.request_id == request_id]
    assert len(values) == 1, actions
    return values[0]


# --------------------------------------------------------------------------- handshake


def test_handshake_sends_the_config_and_resolves_on_session_updated() -> None:
    core = make_core()
    request_id = core.open(0.0)
    assert core.phase is Phase.AWAITING_SESSION
    actions = core.receive(ev.SessionCreatedEvent(session=SessionConfig(type="realtime")), 0.0)
    (update,) = sent(actions, ev.SessionUpdateEvent)
    assert update.event_id and update.session == core.config
    assert core.phase is Phase.CONFIGURING
    actions = core.receive(ev.SessionUpdatedEvent(session=core.config), 0.0)
    assert resolved(actions, request_id).session == core.config
    assert core.is_ready


def test_rejected_connect_config_fails_the_connect_request() -> None:
    core = make_core()
    request_id = core.open(0.0)
    (update,) = sent(
        core.receive(ev.SessionCreatedEvent(session=SessionConfig()), 0.0), ev.SessionUpdateEvent
    )
    server = Server(core)
    (failure,) = of(Fail, server.error(update.event_id, "invalid_value"))
    assert failure.request_id == request_id
    assert isinstance(failure.error, RealtimeServerError) and failure.error.code == "invalid_value"


# --------------------------------------------------------------------------- case 1: abandoned ask


def test_an_abandoned_request_is_cancelled_and_never_answers_the_next(server: Server) -> None:
    core = server.core
    first, actions = core.request_response(message=user("first"))
    (create,) = sent(actions, ev.ResponseCreateEvent)
    assert create.response is not None and create.response.metadata == {REQUEST_TAG: first}
    r1 = server.created(create)
    item = server.message(r1, "a long answer", audio=b"\x01\x00" * 2400)  # 100 ms received
    # The caller times out (or Ctrl-C): cancel by id, truncate at what was received.
    actions = core.abandon(first)
    (cancel,) = sent(actions, ev.ResponseCancelEvent)
    assert cancel.response_id == r1
    (truncate,) = sent(actions, ev.ConversationItemTruncateEvent)
    assert truncate.item_id == item and truncate.audio_end_ms == 100
    # The next request waits for the cancelled response instead of being refused.
    second, actions = core.request_response(message=user("second"))
    assert sent(actions, ev.ConversationItemCreateEvent) and not sent(
        actions, ev.ResponseCreateEvent
    )
    actions = server.done(r1, ResponseStatus.CANCELLED)
    assert not of(Resolve, actions)  # the abandoned request resolves nothing
    (create2,) = sent(actions, ev.ResponseCreateEvent)
    assert create2.response is not None and create2.response.metadata == {REQUEST_TAG: second}
    r2 = server.created(create2)
    own = server.message(r2, "the second answer")
    server.finish_item(r2, own, "the second answer")
    turn: Turn = resolved(server.done(r2), second)
    assert [i.id for i in turn.items] == [own]
    assert turn.text == "the second answer" and [r.id for r in turn.responses] == [r2]


def test_abandoning_a_queued_request_sends_nothing_later(server: Server) -> None:
    core = server.core
    first, actions = core.request_response()
    r1 = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    queued, actions = core.request_response()
    assert not sent(actions, ev.ResponseCreateEvent)
    assert core.abandon(queued) == []
    actions = server.done(r1)
    assert resolved(actions, first).responses[0].id == r1
    assert not sent(actions, ev.ResponseCreateEvent)


def test_abandoned_before_its_response_exists_it_is_cancelled_on_arrival(server: Server) -> None:
    core = server.core
    request_id, actions = core.request_response()
    create = sent(actions, ev.ResponseCreateEvent)[0]
    assert core.abandon(request_id) == []
    rid = server.created(create)
    (cancel,) = sent(server.actions, ev.ResponseCancelEvent)
    assert cancel.response_id == rid
    assert not of(Resolve, server.done(rid, ResponseStatus.CANCELLED))


# --------------------------------------------------------------------------- case 2: VAD response


def test_a_voice_response_is_never_returned_to_a_request(server: Server) -> None:
    core = server.core
    vad = server.created(None)  # the server started it after the user spoke
    spoken = server.message(vad, "spoken answer")
    request_id, actions = core.request_response(message=user("typed"))
    assert not sent(actions, ev.ResponseCreateEvent)  # never into an active response
    server.finish_item(vad, spoken, "spoken answer")
    actions = server.done(vad)
    assert not of(Resolve, actions)
    (create,) = sent(actions, ev.ResponseCreateEvent)
    rid = server.created(create)
    mine = server.message(rid, "typed answer")
    server.finish_item(rid, mine, "typed answer")
    turn = resolved(server.done(rid), request_id)
    assert turn.text == "typed answer" and spoken not in [i.id for i in turn.items]


def test_interrupt_cancels_the_active_response_first(server: Server) -> None:
    core = server.core
    vad = server.created(None)
    _, actions = core.request_response(interrupt=True)
    (cancel,) = sent(actions, ev.ResponseCancelEvent)
    assert cancel.response_id == vad and not sent(actions, ev.ResponseCreateEvent)
    assert sent(server.done(vad, ResponseStatus.CANCELLED), ev.ResponseCreateEvent)


def test_a_refusal_fails_its_request_with_the_code(server: Server) -> None:
    core = server.core
    _, actions = core.request_response()
    rid = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    server.done(rid)
    request_id, actions = core.request_response()
    (create,) = sent(actions, ev.ResponseCreateEvent)
    server.created(None)  # a voice response raced ours: untagged, so not ours
    (failure,) = of(Fail, server.error(create.event_id, "conversation_already_has_active_response"))
    assert failure.request_id == request_id
    assert isinstance(failure.error, RealtimeServerError)
    assert failure.error.code == "conversation_already_has_active_response"
    assert "interrupt=True" in str(failure.error)


def test_without_tag_echo_the_oldest_sent_request_owns_the_response() -> None:
    server = Server(make_core(), tags=False)
    server.connect()
    request_id, actions = server.core.request_response()
    rid = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    assert resolved(server.done(rid), request_id).responses[0].id == rid


# --------------------------------------------------------------------------- case 3: out of band


def test_out_of_band_responses_are_collected_apart_and_calls_are_not_run(server: Server) -> None:
    core = server.core
    core.add_tool(ToolDefinition(name="lookup"))
    server.feed(ev.SessionUpdatedEvent(session=core.config))
    vad = server.created(None)
    params = ResponseCreateParams(conversation="none", output_modalities=None)
    request_id, actions = core.request_response(params)
    (create,) = sent(actions, ev.ResponseCreateEvent)  # alongside the active one
    rid = server.created(create)
    item = server.message(rid, "classified: happy", in_conversation=False)
    server.finish_item(rid, item, "classified: happy", in_conversation=False)
    call = server.call(rid, "lookup", in_conversation=False)
    assert not of(RunTool, server.actions)
    assert core.conversation.get_item(item) is None
    actions = server.done(rid)
    turn: Turn = resolved(actions, request_id)
    assert turn.out_of_band and turn.text == "classified: happy"
    assert [c.item.call_id for c in turn.function_calls] == [call.call_id]
    (emitted,) = [
        a.event for a in of(Emit, actions) if isinstance(a.event, ev.OutOfBandFunctionCallsEvent)
    ]
    assert emitted.calls[0].item.call_id == call.call_id
    assert not sent(actions, ev.ResponseCreateEvent) and not sent(
        actions, ev.ConversationItemCreateEvent
    )
    assert core.active_response == vad


def test_out_of_band_input_references_the_conversation(server: Server) -> None:
    r = server.created(None)
    item = server.message(r, "hi")
    server.finish_item(r, item, "hi")
    question = ItemMessage(role=ItemRole.USER, content=[ContentPart.input_text(text="sum up")])
    inputs = server.core.out_of_band_input(question)
    assert inputs[-1] is question
    assert getattr(inputs[0], "data", None) == {"type": "item_reference", "id": item}


# --------------------------------------------------------------------------- tools


def test_tools_run_once_with_deadlines_and_one_follow_up_in_the_same_turn() -> None:
    server = Server(make_core(tool_timeout=5.0))
    core = server.core
    core.add_tool(ToolDefinition(name="a"))
    core.add_tool(ToolDefinition(name="b"))
    server.connect()
    server.now = 100.0
    request_id, actions = core.request_response()
    r1 = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    call_a = server.call(r1, "a")
    (run,) = of(RunTool, server.actions)
    assert run.deadline == 105.0 and run.name == "a"
    call_b = server.call(r1, "b")
    assert [r.name for r in of(RunTool, server.actions)] == ["b"]
    manual = server.call(r1, "manual")
    assert not of(RunTool, server.actions)
    # Output of one call before the response is done: no follow-up yet.
    actions = core.tool_answered(call_a.call_id or "", '{"ok": 1}')
    assert sent(actions, ev.ConversationItemCreateEvent) and not sent(
        actions, ev.ResponseCreateEvent
    )
    actions = server.done(r1, output=[call_a, call_b, manual])
    assert not of(RunTool, actions) and not sent(actions, ev.ResponseCreateEvent)
    actions = core.tool_answered(call_b.call_id or "", '{"ok": 2}')
    (follow,) = sent(actions, ev.ResponseCreateEvent)
    assert core.tool_answered(call_b.call_id or "", "late") == []  # the first answer won
    assert follow.response is not None and follow.response.metadata == {REQUEST_TAG: request_id}
    r2 = server.created(follow)
    text = server.message(r2, "done")
    server.finish_item(r2, text, "done")
    turn = resolved(server.done(r2), request_id)
    assert [r.id for r in turn.responses] == [r1, r2]
    assert [c.item.call_id for c in turn.function_calls] == [manual.call_id]


def test_follow_up_keeps_the_callers_overrides_but_not_its_input() -> None:
    server = Server(make_core())
    server.core.add_tool(ToolDefinition(name="t"))
    server.connect()
    params = ResponseCreateParams(instructions="be brief", input=[user("x")])
    _, actions = server.core.request_response(params)
    rid = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    call = server.call(rid, "t")
    server.done(rid)
    (follow,) = sent(server.core.tool_answered(call.call_id or "", "{}"), ev.ResponseCreateEvent)
    assert follow.response is not None
    assert follow.response.instructions == "be brief" and follow.response.input is None


# --------------------------------------------------------------------------- cases 6-8


def test_a_rejected_update_is_undone_so_later_updates_succeed(server: Server) -> None:
    core = server.core
    before = core.config
    bad = apply_settings(core.base_config, instructions="x" * 10)
    request_id, actions = core.update_session(bad)
    (update,) = sent(actions, ev.SessionUpdateEvent)
    assert request_id is not None and core.config.instructions == "x" * 10
    (failure,) = of(Fail, server.error(update.event_id, "invalid_value"))
    assert failure.request_id == request_id
    assert core.config == before
    _, actions = core.add_tool(ToolDefinition(name="ok"))
    (update,) = sent(actions, ev.SessionUpdateEvent)
    assert update.session.instructions == before.instructions
    assert [t.name for t in update.session.tools or []] == ["ok"]  # type: ignore[union-attr]


def test_an_update_sent_on_top_of_a_refused_one_is_sent_again_with_its_own_change(
    server: Server,
) -> None:
    core = server.core
    voice_before = core.config.audio.output.voice  # type: ignore[union-attr]
    first, actions = core.update_session(apply_settings(core.base_config, voice="not-a-voice"))
    (bad,) = sent(actions, ev.SessionUpdateEvent)
    second, actions = core.update_session(apply_settings(core.base_config, instructions="brief"))
    (built_on_bad,) = sent(actions, ev.SessionUpdateEvent)
    assert built_on_bad.session.audio.output.voice == "not-a-voice"  # type: ignore[union-attr]
    (failure,) = of(Fail, server.error(bad.event_id, "invalid_value"))
    assert failure.request_id == first
    assert core.config.instructions == "brief"
    assert core.config.audio.output.voice == voice_before  # type: ignore[union-attr]
    # The server refuses the second for the first's voice: it goes again, alone.
    actions = server.error(built_on_bad.event_id, "invalid_value")
    assert not of(Fail, actions)
    (again,) = sent(actions, ev.SessionUpdateEvent)
    assert again.event_id != built_on_bad.event_id
    assert again.session.instructions == "brief"
    assert again.session.audio.output.voice == voice_before  # type: ignore[union-attr]
    actions = server.feed(ev.SessionUpdatedEvent(session=again.session))
    assert resolved(actions, second).instructions == "brief"
    # Refused again (its own change is the problem): it fails, once.
    third, actions = core.update_session(apply_settings(core.base_config, instructions="x"))
    (own,) = sent(actions, ev.SessionUpdateEvent)
    (failure,) = of(Fail, server.error(own.event_id, "invalid_value"))
    assert failure.request_id == third and core.config.instructions == "brief"


def test_a_late_echo_of_an_item_being_deleted_does_not_bring_it_back(server: Server) -> None:
    core = server.core
    item = ItemMessage(
        id="item_del",
        role=ItemRole.USER,
        status=ItemStatus.COMPLETED,
        content=[ContentPart.input_text(text="delete me")],
    )
    question = ItemMessage(role=ItemRole.USER, content=[ContentPart.input_text(text="q")])

    def referenced() -> bool:
        return any(getattr(i, "id", None) == "item_del" for i in core.out_of_band_input(question))

    server.feed(ev.ConversationItemAddedEvent(item=item, previous_item_id=None))
    server.feed(ev.ConversationItemDoneEvent(item=item, previous_item_id=None))
    assert referenced()
    core.forget_item("item_del")
    assert not referenced()
    server.feed(ev.ConversationItemDoneEvent(item=item, previous_item_id=None))  # sent before
    assert not referenced()  # the server got the delete
    server.feed(ev.ConversationItemDeletedEvent(item_id="item_del"))
    assert not referenced()


def test_update_resolves_with_the_servers_session(server: Server) -> None:
    request_id, _ = server.core.update_session(
        apply_settings(server.core.base_config, instructions="hi")
    )
    assert request_id is not None
    actions = server.feed(ev.SessionUpdatedEvent(session=SessionConfig(instructions="hi")))
    assert resolved(actions, request_id).instructions == "hi"


def test_update_before_connecting_is_sent_by_the_handshake() -> None:
    core = make_core()
    request_id, actions = core.update_session(
        apply_settings(core.base_config, instructions="later")
    )
    assert request_id is None and actions == []
    core.open(0.0)
    (update,) = sent(
        core.receive(ev.SessionCreatedEvent(session=SessionConfig()), 0.0), ev.SessionUpdateEvent
    )
    assert update.session.instructions == "later"


def test_remove_tool_resets_a_tool_choice_naming_it(server: Server) -> None:
    core = server.core
    core.add_tool(ToolDefinition(name="weather"))
    core.update_session(
        apply_settings(core.base_config, tool_choice=ToolChoiceFunction(name="weather"))
    )
    _, actions = core.remove_tool("weather")
    (update,) = sent(actions, ev.SessionUpdateEvent)
    assert update.session.tool_choice == "auto" and not update.session.tools
    with pytest.raises(KeyError):
        core.remove_tool("weather")


def test_cancel_before_any_audio_cancels_and_skips_the_truncate(server: Server) -> None:
    core = server.core
    rid = server.created(None)
    item = server.message(rid, "")
    actions = core.cancel(item, 0)
    assert [type(a.event) for a in of(Send, actions)] == [ev.ResponseCancelEvent]
    assert sent(actions, ev.ResponseCancelEvent)[0].response_id == rid


def test_cancel_truncates_at_what_was_heard_clamped(server: Server) -> None:
    rid = server.created(None)
    item = server.message(rid, "", audio=b"\x00\x00" * 2400)  # 100 ms
    (truncate,) = sent(server.core.cancel(item, 24000), ev.ConversationItemTruncateEvent)
    assert truncate.audio_end_ms == 100
    with pytest.raises(RealtimeError):
        server.core.cancel("nope", 0)


# --------------------------------------------------------------------------- close, replay, recycle


def test_close_fails_every_open_request() -> None:
    server = Server(make_core())
    server.connect()
    request_id, _ = server.core.request_response()
    update_id, _ = server.core.update_session(server.core.base_config)
    failures = of(Fail, server.core.closed(1.0, "bye"))
    assert {f.request_id for f in failures} == {request_id, update_id}
    assert all(isinstance(f.error, ConnectionClosedError) for f in failures)
    assert server.core.phase is Phase.CLOSED


def test_reconnect_replays_completed_items_before_it_is_ready() -> None:
    server = Server(make_core())
    server.connect()
    _, actions = server.core.request_response(message=user("hi"))
    server.feed(ev.ConversationItemAddedEvent(item=attrs_evolve_status(user("hi"))))
    server.feed(ev.ConversationItemDoneEvent(item=attrs_evolve_status(user("hi"))))
    server.last_item = "u_hi"
    rid = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    item = server.message(rid, "hello")
    server.finish_item(rid, item, "hello")
    server.done(rid)
    server.core.closed(2.0)
    connect_id = server.core.open(3.0, replay=True)
    server.feed(ev.SessionCreatedEvent(session=SessionConfig()))
    actions = server.feed(ev.SessionUpdatedEvent(session=server.core.config))
    creates = sent(actions, ev.ConversationItemCreateEvent)
    assert [c.item.id for c in creates] == ["u_hi", item] and not of(Resolve, actions)
    assert server.core.phase is Phase.REPLAYING
    server.feed(ev.ConversationItemDoneEvent(item=creates[0].item))
    result = resolved(server.feed(ev.ConversationItemDoneEvent(item=creates[1].item)), connect_id)
    assert result.replayed == ["u_hi", item] and server.core.is_ready


def attrs_evolve_status(item: ItemMessage) -> ItemMessage:
    import attrs

    return attrs.evolve(item, status=ItemStatus.COMPLETED)


def test_recycle_is_asked_for_between_responses_only() -> None:
    server = Server(make_core(recycle_after=10.0))
    server.connect()
    _, actions = server.core.request_response()
    rid = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    server.now = 5.0
    assert not of(Recycle, server.done(rid))  # too young
    _, actions = server.core.request_response()
    rid = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    server.now = 11.0
    server.core.request_response()  # queued behind the active one
    actions = server.done(rid)
    assert not of(Recycle, actions)  # the queued request goes first
    queued = server.created(sent(actions, ev.ResponseCreateEvent)[0])
    assert of(Recycle, server.done(queued))


def test_usage_is_summed_and_rate_limits_kept(server: Server) -> None:
    from realtime_sync.models import RateLimit, Usage

    server.feed(ev.RateLimitsUpdatedEvent(rate_limits=[RateLimit(name="tokens", remaining=5)]))
    assert server.core.rate_limits[0].remaining == 5
    rid = server.created(None)
    server.feed(
        ev.ResponseDoneEvent(
            response=Response(id=rid, status=ResponseStatus.COMPLETED, usage=Usage(total_tokens=7))
        )
    )
    assert server.core.usage.total_tokens == 7


def test_replay_plan_carries_spoken_turns_as_transcript_or_audio() -> None:
    from realtime_sync.core.replay import plan_replay
    from realtime_sync.items import FormattedContent, FormattedItem
    from realtime_sync.models import ContentPartType

    def spoken(item_id: str, transcript: str, audio: bytes, dropped: bool = False) -> FormattedItem:
        wire = ItemMessage(
            role=ItemRole.USER,
            content=[ContentPart(type=ContentPartType.INPUT_AUDIO)],
            id=item_id,
            status=ItemStatus.COMPLETED,
        )
        return FormattedItem(
            id=item_id,
            item=wire,
            status=ItemStatus.COMPLETED,
            formatted=FormattedContent(transcript=transcript, audio_buffer=bytearray(audio)),
            audio_dropped=dropped,
        )

    plan = plan_replay(
        [
            spoken("a", "hello there", b"\x01\x00" * 10),
            spoken("b", "", b"\x02\x00" * 10),
            spoken("c", "", b"", dropped=True),
        ]
    )
    assert plan.sources == {"a": "transcript", "b": "audio"} and plan.lost == ["c"]
    first, second = plan.items
    assert first.content[0].text == "hello there"  # type: ignore[union-attr]
    assert second.content[0].audio == b"\x02\x00" * 10  # type: ignore[union-attr]
