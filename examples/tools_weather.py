"""Tools: let the model call a Python function (a weather lookup) and use its result.

``client.add_tool(definition, handler)`` declares the tool to the model and runs
``handler(arguments)`` on a worker thread whenever the model calls it; the
client sends the result back and asks for the follow-up answer by itself.
``client.ask()`` blocks until that final answer is there.

The handler asks the free open-meteo.com API for the current weather. Offline
(``--offline-stub``, and always on the built-in simulator) it returns made-up
numbers instead and touches no network.

Run it::

    python examples/tools_weather.py                      # simulator + stub
    OPENAI_API_KEY=sk-... python examples/tools_weather.py "What's the weather in Oslo?"
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.parse
import urllib.request
from typing import Any, Dict, List, Optional, Sequence

from _common import add_connection_args, open_client

from realtime_sync import ItemFunctionCall, RealtimeError, ToolDefinition

WEATHER_TOOL = ToolDefinition(
    name="get_weather",
    description="Current weather at a place, given its name and coordinates.",
    parameters={
        "type": "object",
        "properties": {
            "location": {"type": "string", "description": "Place name, e.g. 'Paris'"},
            "lat": {"type": "number", "description": "Latitude"},
            "lng": {"type": "number", "description": "Longitude"},
        },
        "required": ["location", "lat", "lng"],
    },
)

OPEN_METEO_URL = "https://api.open-meteo.com/v1/forecast"

# WMO weather codes, as open-meteo reports them (the first code of each group).
CONDITIONS = [
    (0, "clear sky"),
    (1, "partly cloudy"),
    (45, "fog"),
    (51, "drizzle"),
    (61, "rain"),
    (71, "snow"),
    (80, "rain showers"),
    (85, "snow showers"),
    (95, "thunderstorm"),
]


def describe(code: int) -> str:
    """Words for a WMO weather code."""
    words = "unknown"
    for first, text in CONDITIONS:
        if code >= first:
            words = text
    return words


def fetch_weather(location: str, lat: float, lng: float) -> Dict[str, Any]:
    """The current weather from open-meteo.com (network access, no API key needed)."""
    query = urllib.parse.urlencode(
        {"latitude": lat, "longitude": lng, "current": "temperature_2m,wind_speed_10m,weather_code"}
    )
    with urllib.request.urlopen(f"{OPEN_METEO_URL}?{query}", timeout=10) as reply:
        current = json.load(reply)["current"]
    return {
        "location": location,
        "temperature_c": current["temperature_2m"],
        "wind_kmh": current["wind_speed_10m"],
        "conditions": describe(int(current["weather_code"])),
        "source": "open-meteo.com",
    }


def stub_weather(location: str, lat: float, lng: float) -> Dict[str, Any]:
    """Made-up weather, for running offline."""
    return {
        "location": location,
        "temperature_c": 18.5,
        "wind_kmh": 12.0,
        "conditions": "partly cloudy",
        "source": "offline stub",
    }


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "question", nargs="?", default="What's the weather like in Paris right now?"
    )
    parser.add_argument(
        "--offline-stub", action="store_true", help="answer with made-up weather, no network"
    )
    add_connection_args(parser)
    args = parser.parse_args(argv)

    with open_client(args) as (client, sim):
        offline = args.offline_stub or sim is not None
        lookup = stub_weather if offline else fetch_weather
        if sim is not None:
            # Script the simulated model: call the tool, then answer from its result.
            sim.add_reply(
                "weather",
                function_call=("get_weather", {"location": "Paris", "lat": 48.86, "lng": 2.35}),
                then_text=lambda outputs: (
                    "The weather in {location}: {conditions}, {temperature_c} °C, "
                    "wind {wind_kmh} km/h.".format(**json.loads(outputs[0]))
                ),
            )

        results: List[Dict[str, Any]] = []

        def get_weather(params: Dict[str, Any]) -> Dict[str, Any]:
            # Runs on a "realtime-tool" worker thread; may block (it does network I/O).
            result = lookup(params.get("location", "?"), float(params["lat"]), float(params["lng"]))
            results.append(result)
            return result

        client.add_tool(WEATHER_TOOL, get_weather)
        try:
            client.connect()
            print(f"Weather from {'the offline stub' if offline else 'open-meteo.com'}")
            print(f"You: {args.question}")
            turn = client.ask(args.question, timeout=60)
        except (RealtimeError, TimeoutError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 1

        calls = [item for item in turn.items if isinstance(item.item, ItemFunctionCall)]
        for item in calls:
            tool = item.formatted.tool
            if tool is not None:
                print(f"Model called: {tool.name}({tool.arguments})")
        for result in results:
            print(f"Tool result:  {json.dumps(result, ensure_ascii=False)}")
        print(f"Assistant: {turn.text}")
        if not calls:
            print("(the model answered without calling the tool)")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
