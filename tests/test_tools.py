"""Tools from plain functions (schemas from signatures), respond(), Turn status, close_all()."""

from __future__ import annotations

import enum
import json
from typing import Any, Dict, List, Literal, Optional, TypedDict

import attrs
import pytest

from realtime_sync import RealtimeClient, RealtimeUtils, ToolDefinition
from realtime_sync.testing import RealtimeSimulator
from realtime_sync.tools import ToolSchemaError, call_with_arguments, tool_from_function

from .conftest import wait_no_sdk_threads


class Unit(enum.Enum):
    CELSIUS = "c"
    FAHRENHEIT = "f"


@attrs.frozen
class Place:
    city: str
    country: Optional[str] = None


class Window(TypedDict):
    start: int
    end: int


def forecast(
    place: Place,
    days: int,
    *,
    unit: Unit = Unit.CELSIUS,
    detail: Literal["short", "long"] = "short",
    tags: Optional[List[str]] = None,
    window: Optional[Window] = None,
    extra: Optional[Dict[str, float]] = None,
    hourly: bool = False,
    margin: float = 0.5,
) -> Dict[str, Any]:
    """The weather forecast for a place.

    Longer notes that are not the summary.

    Args:
        place: where to look.
        days: how many days ahead,
            at most ten.
        unit: the temperature unit.
    """
    return {"city": place.city, "days": days, "unit": unit.value, "detail": detail}


def test_schema_from_signature_hints_and_docstring() -> None:
    tool = tool_from_function(forecast)
    assert tool.name == "forecast" and tool.description == "The weather forecast for a place."
    params = tool.parameters
    assert params["required"] == ["place", "days"]
    props = params["properties"]
    assert props["place"] == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "country": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["city"],
        "description": "where to look.",
    }
    assert props["days"] == {"type": "integer", "description": "how many days ahead, at most ten."}
    assert props["unit"] == {
        "type": "string",
        "enum": ["c", "f"],
        "description": "the temperature unit.",
    }
    assert props["detail"] == {"type": "string", "enum": ["short", "long"]}
    assert props["tags"] == {
        "anyOf": [{"type": "array", "items": {"type": "string"}}, {"type": "null"}]
    }
    window = props["window"]["anyOf"][0]
    assert window["properties"] == {"start": {"type": "integer"}, "end": {"type": "integer"}}
    assert props["extra"]["anyOf"][0] == {
        "type": "object",
        "additionalProperties": {"type": "number"},
    }
    assert props["hourly"] == {"type": "boolean"} and props["margin"] == {"type": "number"}
    json.dumps(tool.parameters)  # plain JSON


def test_arguments_are_converted_back_to_python_types() -> None:
    result = call_with_arguments(
        forecast, {"place": {"city": "Paris"}, "days": 2, "unit": "f", "detail": "long"}
    )
    assert result == {"city": "Paris", "days": 2, "unit": "f", "detail": "long"}


class Opaque:
    pass


def test_schema_errors_name_the_parameter_at_registration() -> None:
    def bad(when: Opaque) -> None:
        """Bad."""

    with pytest.raises(ToolSchemaError, match="parameter when"):
        tool_from_function(bad)

    def star(*args: int) -> None:
        """Star."""

    with pytest.raises(ToolSchemaError, match=r"\*args"):
        tool_from_function(star)

    def keys(mapping: Dict[int, str]) -> None:
        """Keys."""

    with pytest.raises(ToolSchemaError, match="parameter mapping"):
        tool_from_function(keys)
    client = RealtimeClient(url="ws://127.0.0.1:9")
    with pytest.raises(ToolSchemaError):
        client.add_tool(bad)
    assert client.tools == {}


def test_decorated_function_runs_when_the_model_calls_it(sim: RealtimeSimulator) -> None:
    sim.add_reply("weather", function_call=("forecast", {"place": {"city": "Oslo"}, "days": 1}))
    with RealtimeClient(url=sim.url) as client:

        @client.tool
        def forecast_tool(place: Place, days: int) -> Dict[str, Any]:
            """Forecast."""
            return {"city": place.city, "days": days}

        client.add_tool(forecast)  # the plain function too, under its own name
        assert set(client.tools) == {"forecast_tool", "forecast"}
        assert forecast_tool.__name__ == "forecast_tool"  # returned unchanged
        turn = client.ask("weather in Oslo?", timeout=10)
        outputs = [
            json.loads(e["item"]["output"])
            for e in sim.received
            if e["type"] == "conversation.item.create"
            and e["item"]["type"] == "function_call_output"
        ]
        assert outputs == [{"city": "Oslo", "days": 1, "unit": "c", "detail": "short"}]
        assert turn.status == "completed" and len(turn.response_ids) == 2
        session_tools = [e for e in sim.received if e["type"] == "session.update"][-1]["session"][
            "tools"
        ]
        assert {t["name"] for t in session_tools} == {"forecast_tool", "forecast"}
    with pytest.raises(TypeError):
        client.add_tool(ToolDefinition(name="x"))  # a definition needs a handler


def test_respond_commits_streamed_audio_and_waits_for_the_turn(sim: RealtimeSimulator) -> None:
    sim.transcript_for_audio = "hello by voice"
    sim.add_reply("by voice", text="Heard you.")
    with RealtimeClient(url=sim.url) as client:
        client.append_input_audio(RealtimeUtils.generate_tone(duration_ms=400, amplitude=0.3))
        turn = client.respond(timeout=10)
        assert turn.text == "Heard you." and turn.status == "completed"
        kinds = [e["type"] for e in sim.received]
        assert kinds.index("input_audio_buffer.commit") < kinds.index("response.create")


def test_turn_status_tells_a_cancelled_turn(sim: RealtimeSimulator) -> None:
    sim.add_reply("", text="word " * 300, event_delay=0.005)
    with RealtimeClient(url=sim.url) as client:
        future = client.create_response()
        client.wait_for("response.output_audio_transcript.delta").result(timeout=10)
        client.cancel_response()
        assert future.result(timeout=10).status == "cancelled"


def test_close_all_disconnects_every_client(sim: RealtimeSimulator) -> None:
    first = RealtimeClient(url=sim.url)
    second = RealtimeClient(url=sim.url)  # a connect cell run twice
    first.connect()
    second.connect()
    assert RealtimeClient.close_all() >= 2
    assert not first.is_connected() and not second.is_connected()
    assert wait_no_sdk_threads() == []
