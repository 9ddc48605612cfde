"""Usage sums keep the whole breakdown; costs follow the price table and the cached split."""

from __future__ import annotations

import re
from typing import Any, Dict

import pytest

from realtime_sync import RealtimeError, protocol
from realtime_sync.cost import (
    PRICES,
    PRICES_AS_OF,
    Cost,
    Prices,
    add_usage,
    cost_of,
    prices_for,
    sum_usage,
)
from realtime_sync.events import ResponseDoneEvent
from realtime_sync.models import InputTokenDetails, OutputTokenDetails, Usage

# A response.done usage as the server sends it (the shape of openai-python's RealtimeResponseUsage).
WIRE_USAGE: Dict[str, Any] = {
    "total_tokens": 1_250,
    "input_tokens": 1_000,
    "output_tokens": 250,
    "input_token_details": {
        "text_tokens": 400,
        "audio_tokens": 600,
        "image_tokens": 0,
        "cached_tokens": 500,
        "cached_tokens_details": {"text_tokens": 300, "audio_tokens": 200, "image_tokens": 0},
    },
    "output_token_details": {"text_tokens": 50, "audio_tokens": 200},
}


def usage(data: Dict[str, Any] = WIRE_USAGE) -> Usage:
    return protocol.from_wire(Usage, data)


def test_the_wire_usage_is_openai_pythons_shape() -> None:
    openai_usage = pytest.importorskip("openai.types.realtime.realtime_response_usage")
    parsed = openai_usage.RealtimeResponseUsage.model_validate(WIRE_USAGE)
    assert parsed.input_token_details.cached_tokens_details.audio_tokens == 200
    assert protocol.to_wire(usage()) == WIRE_USAGE


def test_cost_of_prices_every_kind_of_token() -> None:
    cost = cost_of(usage(), model="gpt-realtime")
    p = PRICES["gpt-realtime"]
    expected = {
        "text_input": 100 * p.text_input,
        "cached_text_input": 300 * p.cached_text_input,
        "audio_input": 400 * p.audio_input,
        "cached_audio_input": 200 * p.cached_audio_input,
        "text_output": 50 * p.text_output,
        "audio_output": 200 * p.audio_output,
    }
    for name, value in expected.items():
        assert getattr(cost, name) == pytest.approx(value / 1e6), name
    assert cost.image_input == cost.cached_image_input == 0
    assert cost.total == pytest.approx(sum(expected.values()) / 1e6)
    assert cost.input + cost.output == pytest.approx(cost.total)
    assert cost.model == "gpt-realtime"
    assert cost.unattributed_input_tokens == cost.unattributed_output_tokens == 0
    # gpt-realtime as of the table ($ per 1M tokens):
    # 100 x 4 + 300 x 0.40 + 400 x 32 + 200 x 0.40 + 50 x 16 + 200 x 64 = 27,000 -> $0.027
    assert cost.total == pytest.approx(0.027)
    assert str(cost).startswith("$0.0270 ")


def test_the_mini_model_and_dated_snapshots() -> None:
    mini = cost_of(usage(), model="gpt-realtime-mini")
    assert mini.total < cost_of(usage(), model="gpt-realtime").total
    assert cost_of(usage(), model="gpt-realtime-mini-2025-10-06") == attrs_evolve_model(
        mini, "gpt-realtime-mini-2025-10-06"
    )
    assert prices_for("gpt-realtime-2025-08-28") is PRICES["gpt-realtime"]
    with pytest.raises(RealtimeError, match=re.escape(PRICES_AS_OF)):
        prices_for("gpt-realtime-2")  # a newer model is not a snapshot of an old one
    with pytest.raises(RealtimeError, match="model="):
        cost_of(usage())


def attrs_evolve_model(cost: Cost, model: str) -> Cost:
    import attrs

    return attrs.evolve(cost, model=model)


def test_your_own_prices_and_table_win() -> None:
    mine = Prices(
        text_input=1,
        cached_text_input=0,
        audio_input=10,
        cached_audio_input=0,
        text_output=2,
        audio_output=20,
    )
    cost = cost_of(usage(), prices=mine)
    assert cost.total == pytest.approx((100 * 1 + 400 * 10 + 50 * 2 + 200 * 20) / 1e6)
    assert cost.model == ""
    assert cost_of(usage(), model="my-deployment", table={"my-deployment": mine}) == Cost(
        **{**_fields(cost), "model": "my-deployment"}
    )


def _fields(cost: Cost) -> Dict[str, Any]:
    import attrs

    return attrs.asdict(cost)


def test_without_cached_details_the_cached_tokens_discount_text_first() -> None:
    data = {
        "input_tokens": 1_000,
        "output_tokens": 0,
        "input_token_details": {"text_tokens": 100, "audio_tokens": 900, "cached_tokens": 300},
    }
    cost = cost_of(usage(data), model="gpt-realtime")
    p = PRICES["gpt-realtime"]
    assert cost.cached_text_input == pytest.approx(100 * p.cached_text_input / 1e6)
    assert cost.cached_audio_input == pytest.approx(200 * p.cached_audio_input / 1e6)
    assert cost.text_input == 0
    assert cost.audio_input == pytest.approx(700 * p.audio_input / 1e6)


def test_tokens_without_a_breakdown_are_counted_and_priced_as_text() -> None:
    cost = cost_of(Usage(input_tokens=1_000, output_tokens=10), model="gpt-realtime")
    assert (cost.unattributed_input_tokens, cost.unattributed_output_tokens) == (1_000, 10)
    p = PRICES["gpt-realtime"]
    assert cost.text_input == pytest.approx(1_000 * p.text_input / 1e6)
    assert cost.text_output == pytest.approx(10 * p.text_output / 1e6)
    assert cost_of(Usage(), model="gpt-realtime").total == 0


def test_costs_add_up() -> None:
    one = cost_of(usage(), model="gpt-realtime")
    two = one + one
    assert two.total == pytest.approx(2 * one.total)
    assert two.model == "gpt-realtime"
    assert (one + cost_of(usage(), model="gpt-realtime-mini")).model == ""


def test_sum_usage_keeps_the_whole_breakdown() -> None:
    a = usage()
    b = Usage(
        total_tokens=10,
        input_tokens=7,
        output_tokens=3,
        input_token_details=InputTokenDetails(
            audio_tokens=7, cached_tokens=2, cached_tokens_details={"audio_tokens": 2}
        ),
        output_token_details=OutputTokenDetails(audio_tokens=3),
    )
    total = sum_usage([a, None, b])
    assert (total.total_tokens, total.input_tokens, total.output_tokens) == (1_260, 1_007, 253)
    details = total.input_token_details
    assert details is not None and total.output_token_details is not None
    assert (details.text_tokens, details.audio_tokens, details.cached_tokens) == (400, 607, 502)
    assert details.cached_tokens_details == {
        "text_tokens": 300,
        "audio_tokens": 202,
        "image_tokens": 0,
    }
    assert total.output_token_details.audio_tokens == 203
    assert total.output_token_details.text_tokens == 50
    # So the cost of the sum is the sum of the costs.
    both = cost_of(total, model="gpt-realtime")
    assert both.total == pytest.approx(
        cost_of(a, model="gpt-realtime").total + cost_of(b, model="gpt-realtime").total
    )
    assert add_usage(Usage(), Usage()) == Usage()


def test_the_usage_of_a_decoded_response_done_prices_directly() -> None:
    frame = {
        "type": "response.done",
        "event_id": "event_1",
        "response": {
            "id": "resp_1",
            "object": "realtime.response",
            "status": "completed",
            "output": [],
            "usage": WIRE_USAGE,
        },
    }
    event = protocol.decode(protocol.dumps(frame).encode())
    assert isinstance(event, ResponseDoneEvent)
    assert event.response.usage is not None
    assert cost_of(event.response.usage, model="gpt-realtime").total == pytest.approx(0.027)
