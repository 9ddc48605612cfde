"""Conformance of the typed Live protocol with openai-python's ``openai.types.live`` models.

* The event types of each union (primary, sideband, fork; client and server)
  are those of the installed ``openai`` package and of ``../shared``'s reference.
* Every client event the SDK builds validates with the official pydantic model
  of every union it belongs to, and dumps back identical.
* Every server event shape built from the official models (required fields
  only, and every field, once per member of each nested union) decodes to the
  right class and re-encodes to the same JSON, unknown fields included.
"""

from __future__ import annotations

import enum
import json
import typing
from pathlib import Path
from typing import Any, Callable, Dict, List, Mapping

import attrs
import pydantic
import pytest
from openai.types.live import (
    ClientEvent,
    ConnectClientEvent,
    ConnectServerEvent,
    ForkClientEvent,
    ForkServerEvent,
    ServerEvent,
)

from realtime_sync import events as rt_events
from realtime_sync import live, protocol
from realtime_sync import models as rt_models
from realtime_sync.live import client_events as lc
from realtime_sync.live import server_events as ls

SHARED_JSON = (
    Path(__file__).resolve().parents[2] / "shared" / "protocol" / "openai_live_events.json"
)


def _members(union: Any) -> Dict[str, type[pydantic.BaseModel]]:
    if typing.get_origin(union) is typing.Annotated:
        union = typing.get_args(union)[0]
    out = {}
    for model in typing.get_args(union):
        out[typing.get_args(model.model_fields["type"].annotation)[0]] = model
    return out


# union name in openai / ../shared -> (official members, our table)
CLIENT_UNIONS: Dict[str, Any] = {
    "ClientEvent": (_members(ClientEvent), lc.PRIMARY_CLIENT_EVENTS),
    "ConnectClientEvent": (_members(ConnectClientEvent), lc.SIDEBAND_CLIENT_EVENTS),
    "ForkClientEvent": (_members(ForkClientEvent), lc.FORK_CLIENT_EVENTS),
}
SERVER_UNIONS: Dict[str, Any] = {
    "ServerEvent": (_members(ServerEvent), ls.PRIMARY_SERVER_EVENTS),
    "ConnectServerEvent": (_members(ConnectServerEvent), ls.SIDEBAND_SERVER_EVENTS),
    "ForkServerEvent": (_members(ForkServerEvent), ls.FORK_SERVER_EVENTS),
}
ALL_UNIONS = {**CLIENT_UNIONS, **SERVER_UNIONS}
SERVER_ADAPTERS: Dict[str, pydantic.TypeAdapter[Any]] = {
    "ServerEvent": pydantic.TypeAdapter(ServerEvent),
    "ConnectServerEvent": pydantic.TypeAdapter(ConnectServerEvent),
    "ForkServerEvent": pydantic.TypeAdapter(ForkServerEvent),
}


# --------------------------------------------------------------------------- coverage


@pytest.mark.parametrize("name", sorted(ALL_UNIONS))
def test_union_types_equal_openai(name: str) -> None:
    official, ours = ALL_UNIONS[name]
    assert set(ours) == set(official)


def test_union_sizes() -> None:
    sizes = {name: len(ours) for name, (_, ours) in ALL_UNIONS.items()}
    assert sizes == {
        "ClientEvent": 15,
        "ConnectClientEvent": 14,
        "ForkClientEvent": 15,
        "ServerEvent": 28,
        "ConnectServerEvent": 30,
        "ForkServerEvent": 28,
    }


def test_a_class_per_official_class() -> None:
    """Where openai shares a model between unions, so do we; where it has two, we have two."""
    for unions in (CLIENT_UNIONS, SERVER_UNIONS):
        pairs = {
            (kind, official[kind], ours[kind])
            for official, ours in unions.values()
            for kind in official
        }
        ours_by_official: Dict[Any, set[type]] = {}
        official_by_ours: Dict[Any, set[type]] = {}
        for _, theirs, mine in pairs:
            ours_by_official.setdefault(theirs, set()).add(mine)
            official_by_ours.setdefault(mine, set()).add(theirs)
        assert all(len(v) == 1 for v in ours_by_official.values())
        # openai defines TransportDtmfSend & co. once per server union module: same shape
        for mine, theirs in official_by_ours.items():
            assert len({t.__name__ for t in theirs}) == 1, (mine, theirs)


def test_server_decode_table_is_every_union() -> None:
    union = {k: v for _, ours in SERVER_UNIONS.values() for k, v in ours.items()}
    assert dict(ls.SERVER_EVENT_CLASSES) == union


def test_event_type_enum_names_follow_wire_names() -> None:
    kinds = {kind for _, ours in ALL_UNIONS.values() for kind in ours}
    assert {m.value for m in live.LiveEventType} == kinds
    for kind in kinds:
        assert live.LiveEventType[kind.replace(".", "_").upper()].value == kind


@pytest.mark.skipif(not SHARED_JSON.exists(), reason="../shared is not beside the checkout")
def test_shared_protocol_reference_is_covered() -> None:
    shared = json.loads(SHARED_JSON.read_text())
    assert set(shared["unions"]) == set(ALL_UNIONS)
    for name, specs in shared["unions"].items():
        official, ours = ALL_UNIONS[name]
        assert set(specs) == set(ours) == set(official), name
        for kind, spec in specs.items():
            cls = ours[kind]
            fields = {f.name for f in attrs.fields(cls)}
            missing = set(spec["fields"]) - fields - {"type"}
            assert not missing, f"{name} {kind} lacks {missing}"
            required = {f for f, s in spec["fields"].items() if s["required"]} - {"type"}
            if name in SERVER_UNIONS:
                assert rt_events.essential_fields(cls) | rt_events.usually_sent(cls) == required
            else:
                assert {f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING} <= required
    for key, cls in (
        ("session_config", live.SessionConfig),
        ("session_update_config", live.SessionUpdateConfig),
    ):
        spec = shared[key]
        assert set(spec) == {f.name for f in attrs.fields(cls)} - {"extra"}
        required = {f for f, s in spec.items() if s["required"]}
        assert {f.name for f in attrs.fields(cls) if f.default is attrs.NOTHING} == required


@pytest.mark.parametrize(
    ("name", "kind"),
    [(name, kind) for name, (official, _) in SERVER_UNIONS.items() for kind in sorted(official)],
)
def test_official_required_fields_are_essential_or_usually_sent(name: str, kind: str) -> None:
    """Never stricter than the official schema; what it requires is essential or usually sent."""
    official, ours = SERVER_UNIONS[name]
    cls = ours[kind]
    required = {n for n, f in official[kind].model_fields.items() if f.is_required()} - {"type"}
    assert rt_events.essential_fields(cls) | rt_events.usually_sent(cls) == required
    assert {f.name for f in attrs.fields(cls)} >= set(official[kind].model_fields) - {"type"}


# --------------------------------------------------------------------------- client events


def _questions() -> List[live.DecisionQuestion]:
    return [
        live.DecisionQuestion.choice(
            "Which department?",
            [
                live.DecisionChoiceOption("billing", description="Money"),
                live.DecisionChoiceOption(True),
            ],
            name="department",
        ),
        live.DecisionQuestion.predicate(
            [
                live.DecisionContentPart.input_text("Is the caller angry?"),
                live.DecisionContentPart.input_json({"account": "gold"}),
                live.DecisionContentPart.input_image(
                    "https://example.com/a.png", detail=live.ImageDetail.LOW
                ),
            ]
        ),
        live.DecisionQuestion.score(
            "How urgent?", [live.ScoreLevel("low"), live.ScoreLevel("high", description="now")]
        ),
    ]


def _responses_config() -> live.ResponsesDelegationConfig:
    return live.ResponsesDelegationConfig(
        model="gpt-5.5",
        instructions="You are the back office.",
        max_output_tokens=2048,
        parallel_tool_calls=False,
        reasoning=live.DelegationReasoning(
            effort=live.ReasoningEffort.LOW, summary=live.ReasoningSummary.AUTO
        ),
        service_tier=live.ServiceTier.PRIORITY,
        text=live.ResponsesText(verbosity=live.Verbosity.LOW),
        tool_choice=rt_models.ToolChoice.AUTO,
        tools=[
            live.FunctionTool(
                name="lookup",
                description="Find an order",
                parameters={"type": "object", "properties": {"id": {"type": "string"}}},
                strict=True,
            ),
            live.GenericTool("web_search", {"type": "web_search"}),
            live.GenericTool(
                "mcp", {"type": "mcp", "server_label": "crm", "server_url": "https://x.example"}
            ),
        ],
    )


def _session_config() -> live.SessionConfig:
    return live.SessionConfig(
        model=live.LiveModel.GPT_LIVE_1,
        instructions="Be brief.",
        audio=live.AudioConfig(
            format=live.AudioFormat.pcm16(),
            output=live.AudioOutputConfig(voice=live.BuiltInVoice.MARIN),
        ),
        client=live.ClientConfig(
            data_channel=live.DataChannelConfig(
                allowed_client_events=["session.input_audio.mute"],
                allowed_server_events=[
                    live.ServerEventSelector("session.output_transcript.delta"),
                    live.ServerEventSelector(
                        "response.event", response_event="response.output_text.delta"
                    ),
                ],
            )
        ),
        delegation=live.ResponsesDelegation(
            responses=_responses_config(), acknowledgement_delay_ms=300
        ),
        input=[
            live.InitialItem.developer("The caller is a gold member."),
            live.InitialItem.user("Hi"),
            live.InitialItem.assistant("Hello! How can I help?"),
        ],
        safety_identifier="user-123",
        store=True,
        triggers=[live.DecisionTrigger.on(live.TranscriptEventType.INPUT, _questions())],
    )


CLIENT_SAMPLES: Dict[type, List[Callable[[], live.LiveClientEvent]]] = {
    lc.SessionStartEvent: [
        lambda: lc.SessionStartEvent(session=live.SessionConfig(model="gpt-live-1")),
        lambda: lc.SessionStartEvent(session=_session_config(), event_id="evt_start"),
        lambda: lc.SessionStartEvent(
            session=live.SessionConfig(
                model="gpt-live-1.1",
                audio=live.AudioConfig(
                    format=live.AudioFormat.g711_ulaw(),
                    output=live.AudioOutputConfig(voice=live.CustomVoice(id="voice_abc")),
                ),
                client=live.ClientConfig(
                    data_channel=live.DataChannelConfig(
                        allowed_client_events="all", allowed_server_events=[]
                    )
                ),
                delegation=live.ClientDelegation(acknowledgement_delay_ms=0),
            )
        ),
        lambda: lc.SessionStartEvent(
            session=live.SessionConfig(
                model="gpt-live-1",
                audio=live.AudioConfig(format=live.AudioFormat.g711_alaw()),
                delegation=live.DecisionsDelegation(
                    decisions=live.DecisionsDelegationConfig(
                        model="gpt-5-mini", questions=_questions()
                    )
                ),
            )
        ),
        lambda: lc.SessionStartEvent(
            session=live.SessionConfig(
                model="gpt-live-1", audio=live.AudioConfig(format=live.AudioFormat.pcm16(16000))
            )
        ),
    ],
    lc.ForkSessionStartEvent: [
        lc.ForkSessionStartEvent,
        lambda: lc.ForkSessionStartEvent(
            session=live.ForkSessionConfig(
                audio=live.ForkAudioConfig(format=live.AudioFormat.pcm16()),
                delegation=live.ResponsesDelegationUpdate(
                    responses=live.ResponsesDelegationUpdateConfig(instructions="New rules.")
                ),
                store=False,
            ),
            event_id="evt_fork",
        ),
    ],
    lc.SessionUpdateEvent: [
        lambda: lc.SessionUpdateEvent(session=live.SessionUpdateConfig(triggers=[])),
        lambda: lc.SessionUpdateEvent(
            session=live.SessionUpdateConfig(
                delegation=live.ResponsesDelegationUpdate(
                    responses=live.ResponsesDelegationUpdateConfig(model="gpt-5.5-mini"),
                    acknowledgement_delay_ms=100,
                )
            ),
            event_id="evt_upd",
        ),
        lambda: lc.SessionUpdateEvent(
            session=live.SessionUpdateConfig(
                delegation=live.DecisionsDelegationUpdate(
                    decisions=live.DecisionsDelegationUpdateConfig(questions=_questions()[:1])
                ),
                triggers=[live.DecisionTrigger.on(live.TranscriptEventType.OUTPUT, _questions())],
            )
        ),
        lambda: lc.SessionUpdateEvent(
            session=live.SessionUpdateConfig(delegation=live.ClientDelegation())
        ),
    ],
    lc.InputAudioAppendEvent: [
        lambda: lc.InputAudioAppendEvent(audio="AAAA"),
        lambda: lc.InputAudioAppendEvent.from_audio(b"\x00\x01" * 8, event_id="evt_a"),
    ],
    lc.InputAudioMuteEvent: [lc.InputAudioMuteEvent],
    lc.InputAudioUnmuteEvent: [lambda: lc.InputAudioUnmuteEvent(event_id="evt_u")],
    lc.OutputAudioFixturePlayEvent: [
        lambda: lc.OutputAudioFixturePlayEvent.from_audio(b"\x00\x00" * 24)
    ],
    lc.InstructionsAppendEvent: [
        lambda: lc.InstructionsAppendEvent(content="Offer the upgrade."),
        lambda: lc.InstructionsAppendEvent(content="x", delegation_id="del_1", event_id="e"),
    ],
    lc.ThinkingAppendEvent: [lambda: lc.ThinkingAppendEvent(content="Checking the order...")],
    lc.CommentaryAppendEvent: [
        lambda: lc.CommentaryAppendEvent(content="Your order ships today."),
        lambda: lc.CommentaryAppendEvent(content="Done.", delegation_id="del_1"),
    ],
    lc.DecisionCreateEvent: [lc.DecisionCreateEvent, lambda: lc.DecisionCreateEvent("evt_d")],
    lc.DecisionItemCreateEvent: [
        lambda: lc.DecisionItemCreateEvent(item=live.DecisionMessage.user("Cancel my plan")),
        lambda: lc.DecisionItemCreateEvent(
            item=live.DecisionMessage.user(
                [
                    live.DecisionContentPart.input_text("Plan:"),
                    live.DecisionContentPart.input_json([{"plan": "gold"}]),
                ]
            ),
            event_id="evt_i",
        ),
        lambda: lc.DecisionItemCreateEvent(item=live.DecisionMessage.developer("Be strict.")),
        lambda: lc.DecisionItemCreateEvent(item=live.DecisionMessage.system("Policy v2")),
        lambda: lc.DecisionItemCreateEvent(
            item=live.DecisionMessage.assistant(
                [live.DecisionContentPart.output_text("Sure.")],
                phase=live.AssistantPhase.FINAL_ANSWER,
            )
        ),
        lambda: lc.DecisionItemCreateEvent(
            item=live.DecisionFunctionCall(call_id="c1", name="lookup", arguments='{"id": 1}')
        ),
        lambda: lc.DecisionItemCreateEvent(
            item=live.DecisionFunctionCallOutput(
                call_id="c1",
                output=[
                    live.DecisionContentPart.input_text("found"),
                    live.DecisionContentPart.input_image("data:image/png;base64,AAAA"),
                ],
            )
        ),
        lambda: lc.DecisionItemCreateEvent(
            item=live.DecisionCustomToolCall(
                call_id="c2", name="grep", input="error", namespace="tools"
            )
        ),
        lambda: lc.DecisionItemCreateEvent(
            item=live.DecisionCustomToolCallOutput(call_id="c2", output="3 matches")
        ),
    ],
    lc.DecisionItemDeleteEvent: [lambda: lc.DecisionItemDeleteEvent(item_id="ditem_1")],
    lc.ResponseItemCreateEvent: [
        lambda: lc.ResponseItemCreateEvent.user_message("What's my balance?"),
        lambda: lc.ResponseItemCreateEvent.function_call_output("call_1", '{"ok": true}'),
    ],
    lc.ResponseCreateEvent: [lc.ResponseCreateEvent],
    lc.SessionCloseEvent: [lc.SessionCloseEvent, lambda: lc.SessionCloseEvent(event_id="bye")],
    lc.TransportDtmfSendEvent: [lambda: lc.TransportDtmfSendEvent(event="5")],
}


def test_every_client_class_has_samples() -> None:
    classes = {cls for _, ours in CLIENT_UNIONS.values() for cls in ours.values()}
    assert set(CLIENT_SAMPLES) == classes


def _client_cases() -> List[Any]:
    cases = []
    for cls, builders in CLIENT_SAMPLES.items():
        for union, (_, ours) in CLIENT_UNIONS.items():
            if ours.get(cls.type.value) is cls:  # type: ignore[attr-defined]
                for i, build in enumerate(builders):
                    cases.append(pytest.param(union, build, id=f"{union}-{cls.__name__}-{i}"))
    return cases


@pytest.mark.parametrize(("union", "build"), _client_cases())
def test_client_event_validates_with_official_model(
    union: str, build: Callable[[], live.LiveClientEvent]
) -> None:
    event = build()
    text = protocol.encode_live(event)
    data = json.loads(text)
    assert data["type"] == event.type.value
    assert set(data) >= {"type"}
    nulls = [key for key, value in data.items() if value is None]
    assert nulls in ([], ["delegation_id"])  # null only where the API requires it
    official = CLIENT_UNIONS[union][0][data["type"]].model_validate(data)
    assert official.model_dump(mode="json", exclude_unset=True) == data


# --------------------------------------------------------------------------- server events


def _sample(annotation: Any, name: str, variant: int, depth: int = 0) -> Any:
    """A value for a pydantic annotation; ``variant`` picks union members and literals."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _sample(args[0], name, variant, depth)
    if origin is typing.Union:
        options = [a for a in args if a is not type(None)]
        return _sample(options[variant % len(options)], name, variant, depth)
    if origin is typing.Literal:
        return args[variant % len(args)]
    if origin in (list, List):
        return [_sample(args[0], name, variant, depth + 1)] if depth < 12 else []
    if origin in (dict, Dict):
        return {"key": "value"}
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        return {
            fname: _sample(field.annotation, fname, variant, depth + 1)
            for fname, field in annotation.model_fields.items()
        }
    if isinstance(annotation, type) and issubclass(annotation, enum.Enum):
        return list(annotation)[variant % len(annotation)].value
    if annotation is bool:
        return True
    if annotation is int:
        return 1200 if name.endswith("_ms") else 3
    if annotation is float:
        return 0.5
    if annotation is str:
        return {"delta": "AAAAAAAA", "audio": "AAAA", "arguments": '{"a": 1}'}.get(
            name, f"{name}_1"
        )
    if annotation is object or annotation is typing.Any:
        return {"any": 1}
    raise AssertionError(f"no sample for {annotation!r} ({name})")


def _union_width(annotation: Any, seen: set[Any]) -> int:
    """The widest union (or literal) reachable from ``annotation``: how many variants to try."""
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Literal:
        return len(args)
    width = 1
    if origin is typing.Union:
        width = len([a for a in args if a is not type(None)])
    if isinstance(annotation, type) and issubclass(annotation, pydantic.BaseModel):
        if annotation in seen:
            return 1
        seen.add(annotation)
        args = tuple(f.annotation for f in annotation.model_fields.values())
    return max([width, *(_union_width(a, seen) for a in args)])


def _payloads(model: type[pydantic.BaseModel]) -> List[Dict[str, Any]]:
    """Required-only and all-fields payloads, once per variant, as the official model dumps them."""
    out: List[Dict[str, Any]] = []
    for variant in range(_union_width(model, set())):
        for required_only in (True, False):
            payload = {
                name: _sample(f.annotation, name, variant)
                for name, f in model.model_fields.items()
                if f.is_required() or not required_only
            }
            dumped = model.model_validate(payload).model_dump(mode="json", exclude_none=True)
            if dumped not in out:
                out.append(dumped)
    return out


def _with_extras(value: Any) -> Any:
    """``value`` with an unknown field in every JSON object."""
    if isinstance(value, dict):
        return {**{k: _with_extras(v) for k, v in value.items()}, "x_future": "kept"}
    if isinstance(value, list):
        return [_with_extras(v) for v in value]
    return value


def _server_cases() -> List[Any]:
    return [
        pytest.param(union, kind, id=f"{union}-{kind}")
        for union, (official, _) in SERVER_UNIONS.items()
        for kind in sorted(official)
    ]


@pytest.mark.parametrize(("union", "kind"), _server_cases())
def test_server_event_from_official_model_decodes_and_round_trips(union: str, kind: str) -> None:
    official, ours = SERVER_UNIONS[union]
    model = official[kind]
    adapter = SERVER_ADAPTERS[union]
    for payload in _payloads(model):
        for frame in (payload, _with_extras(payload)):
            event = protocol.decode_live(json.dumps(frame))
            assert type(event) is ours[kind], (kind, event)
            again = protocol.encode_live_server_event(event)
            assert again == frame
            assert json.loads(json.dumps(again)) == frame
            model.model_validate(again)  # still valid for the official model
            adapter.validate_python(again)
        plain = protocol.decode_live(json.dumps(payload))
        assert isinstance(plain, live.LiveServerEvent) and not plain.extra


def _nested(obj: Any) -> List[Any]:
    """Every attrs instance inside ``obj``, ``obj`` included."""
    found = []
    if attrs.has(type(obj)):
        found.append(obj)
        for field in attrs.fields(type(obj)):
            found += _nested(getattr(obj, field.name))
    elif isinstance(obj, list):
        for value in obj:
            found += _nested(value)
    return found


def test_official_union_members_decode_to_modelled_classes() -> None:
    """Delegations and Decision items of every official kind get their own class, not raw JSON."""
    official, _ = SERVER_UNIONS["ConnectServerEvent"]
    seen: set[type] = set()
    for model in official.values():
        for payload in _payloads(model):
            for obj in _nested(protocol.decode_live(json.dumps(payload))):
                seen.add(type(obj))
                assert not isinstance(obj, (live.GenericDelegation, live.GenericItem)), obj
                if isinstance(obj, live.GenericTool):
                    assert obj.type != "function"
    modelled = {
        live.ClientDelegation,
        live.ResponsesDelegation,
        live.DecisionsDelegation,
        live.FunctionTool,
        live.GenericTool,
        live.DecisionMessage,
        live.DecisionFunctionCall,
        live.DecisionFunctionCallOutput,
        live.DecisionCustomToolCall,
        live.DecisionCustomToolCallOutput,
        live.DecisionQuestion,
        live.DecisionChoiceOption,
        live.ScoreLevel,
        live.DecisionContentPart,
        live.DecisionTrigger,
        live.InitialItem,
        live.DecisionAnswer,
        live.DecisionAnswerProbability,
        live.Decision,
        live.DecisionUsage,
        live.ContextWindow,
        live.TransportError,
        live.ErrorDetails,
        live.DelegationInfo,
        live.SessionUsage,
        live.CustomVoice,
        live.AudioFormat,
        live.ServerEventSelector,
        live.DataChannelConfig,
    }
    assert modelled <= seen, modelled - seen


def test_extras_are_visible_where_they_arrive() -> None:
    frame = {
        "type": "session.delegation.created",
        "event_id": "ev_1",
        "offset_ms": 1200,
        "delegation": {"id": "del_1", "target": "client", "type": "delegation", "hint": 1},
        "trace": "abc",
    }
    event = protocol.decode_live(json.dumps(frame))
    assert isinstance(event, ls.DelegationCreatedEvent)
    assert event.extra == {"trace": "abc"}
    assert event.delegation.extra == {"hint": 1}
    assert event.delegation.target is live.DelegationTarget.CLIENT


REALISTIC: List[Mapping[str, Any]] = [
    {
        "type": "session.started",
        "event_id": "event_1",
        "client_event_id": "evt_start",
        "session": {
            "id": "sess_1",
            "expires_at": 1760000000,
            "model": "gpt-live-1",
            "status": "active",
            "audio": {
                "format": {"type": "audio/pcm", "rate": 24000},
                "output": {"voice": "marin"},
            },
            "delegation": {"type": "client", "acknowledgement_delay_ms": 0},
            "instructions": "Be brief.",
            "store": False,
        },
    },
    {
        "type": "session.closed",
        "event_id": "event_9",
        "reason": "close_requested",
        "session": {"id": "sess_1", "expires_at": 1, "model": "gpt-live-1", "status": "active"},
        "usage": {"seconds": 42.0, "active_seconds": 40, "paused_seconds": 2},
        "client_event_id": "bye",
    },
    {
        "type": "error",
        "event_id": "event_3",
        "client_event_id": "evt_7",
        "error": {
            "type": "invalid_request_error",
            "code": "unknown_parameter",
            "message": "Unknown parameter: 'session.voice'.",
            "param": "session.voice",
            "client_event_id": "evt_7",
        },
    },
    {
        "type": "response.event",
        "event_id": "event_4",
        "delegation_id": "del_1",
        "event": {"type": "response.output_text.delta", "delta": "Hi", "item_id": "msg_1"},
    },
    {
        "type": "decision.event",
        "event_id": "event_5",
        "trigger_id": "trig_1",
        "source_event_id": "event_2",
        "source_event_type": "session.input_transcript.delta",
        "event": {
            "type": "decision.completed",
            "decision": {
                "model": "gpt-5-mini",
                "answers": [
                    {"type": "predicate", "name": "angry", "probability": 0.9},
                    {
                        "type": "choice",
                        "choice": True,
                        "confidence": 0.7,
                        "probabilities": [
                            {"value": True, "probability": 0.7},
                            {"value": "no", "probability": 0.3},
                        ],
                    },
                    {
                        "type": "score",
                        "score": 2,
                        "confidence": 0.6,
                        "probabilities": [{"label": "high", "value": 2, "probability": 0.6}],
                    },
                    {"type": "refusal", "name": "secret"},
                ],
                "usage": {
                    "input_tokens": 10,
                    "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                    "output_tokens": 2,
                    "output_tokens_details": {"reasoning_tokens": 0},
                    "total_tokens": 12,
                },
            },
        },
    },
]


@pytest.mark.parametrize("payload", REALISTIC, ids=lambda p: p["type"])
def test_realistic_server_events(payload: Mapping[str, Any]) -> None:
    SERVER_ADAPTERS["ConnectServerEvent"].validate_python(payload)
    event = protocol.decode_live(json.dumps(payload))
    assert protocol.encode_live_server_event(event) == payload
    if isinstance(event, ls.SessionStartedEvent):
        assert event.client_event_id == "evt_start"
        assert event.session.audio is not None and event.session.audio.format is not None
        assert event.session.audio.format.rate == 24000
        assert isinstance(event.session.delegation, live.ClientDelegation)
    if isinstance(event, ls.SessionClosedEvent):
        assert event.reason is live.SessionCloseReason.CLOSE_REQUESTED
        assert event.usage is not None and event.usage.seconds == 42.0
    if isinstance(event, ls.ErrorEvent):
        assert event.client_event_id == event.error.client_event_id == "evt_7"
        assert event.error.param == "session.voice"
    if isinstance(event, ls.ResponseEvent):
        assert event.event_type == "response.output_text.delta"
        assert event.delegation_id == "del_1"
    if isinstance(event, ls.DecisionEvent):
        decision = event.event.decision
        assert decision is not None
        kinds = [a.type for a in decision.answers]
        assert kinds == [
            live.DecisionAnswerType.PREDICATE,
            live.DecisionAnswerType.CHOICE,
            live.DecisionAnswerType.SCORE,
            live.DecisionAnswerType.REFUSAL,
        ]
        choice = decision.answers[1]
        assert choice.choice is True and choice.probabilities is not None
        assert [p.value for p in choice.probabilities] == [True, "no"]
        assert event.source_event_type is live.TranscriptEventType.INPUT
