"""Usage and cost: add up token usage, and price it.

Every ``response.done`` carries the response's :class:`~realtime_sync.models.Usage`:
input and output tokens broken down into text, audio and image, with the
cached part of the input (billed far cheaper) counted within the input.
:func:`sum_usage` adds usages up keeping that whole breakdown, and
:func:`cost_of` prices one with a :class:`Prices` row.

The built-in table :data:`PRICES` is a snapshot of OpenAI's published prices
as of :data:`PRICES_AS_OF`, in US dollars per million tokens. Prices change
and differ by contract and by platform (Azure has its own): treat results as
estimates, and pass your own ``prices=`` for anything that matters. Input
transcription (``whisper-1``, ``gpt-4o-transcribe``) is billed separately and
is not included.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, Mapping, Optional

import attrs

from .errors import RealtimeError
from .models import InputTokenDetails, OutputTokenDetails, Usage

__all__ = [
    "PRICES",
    "PRICES_AS_OF",
    "Cost",
    "Prices",
    "add_usage",
    "cost_of",
    "prices_for",
    "sum_usage",
]

_PER = 1_000_000


@attrs.frozen(kw_only=True)
class Prices:
    """What a model's tokens cost, in US dollars per million tokens.

    A cached input price applies to the cached part of the input (reported in
    ``input_token_details.cached_tokens_details``), the plain price to the rest.
    """

    text_input: float
    cached_text_input: float
    audio_input: float
    cached_audio_input: float
    text_output: float
    audio_output: float
    image_input: float = 0.0
    cached_image_input: float = 0.0


PRICES_AS_OF = "2025-10-06"
"""The date of the built-in :data:`PRICES`: OpenAI's list prices as published then.

Check https://openai.com/api/pricing/ and pass your own ``prices=`` when they
have changed, or for Azure OpenAI.
"""

PRICES: Mapping[str, Prices] = {
    "gpt-realtime": Prices(
        text_input=4.00,
        cached_text_input=0.40,
        audio_input=32.00,
        cached_audio_input=0.40,
        image_input=5.00,
        cached_image_input=0.50,
        text_output=16.00,
        audio_output=64.00,
    ),
    "gpt-realtime-mini": Prices(
        text_input=0.60,
        cached_text_input=0.06,
        audio_input=10.00,
        cached_audio_input=0.30,
        image_input=0.80,
        cached_image_input=0.08,
        text_output=2.40,
        audio_output=20.00,
    ),
}
"""US dollars per million tokens, by model, as of :data:`PRICES_AS_OF`.

A dated snapshot name (``gpt-realtime-2025-08-28``) is priced as its model;
any other model is unknown here: pass ``prices=``.
"""

_SNAPSHOT = re.compile(r"(?P<model>.+)-\d{4}-\d{2}-\d{2}")


def prices_for(model: str, table: Optional[Mapping[str, Prices]] = None) -> Prices:
    """The prices of ``model`` in ``table`` (default :data:`PRICES`).

    The exact name is looked up first, then the name without a ``-YYYY-MM-DD``
    snapshot date.

    Raises:
        RealtimeError: the model is not in the table.
    """
    prices = PRICES if table is None else table
    found = prices.get(model)
    if found is None:
        snapshot = _SNAPSHOT.fullmatch(model)
        found = prices.get(snapshot.group("model")) if snapshot else None
    if found is None:
        raise RealtimeError(
            f"no prices for the model {model!r} in the table (built-in prices are as of "
            f"{PRICES_AS_OF}, for {', '.join(sorted(PRICES))}): pass prices=Prices(...) with "
            "its rates in US dollars per million tokens"
        )
    return found


@attrs.frozen(kw_only=True)
class Cost:
    """What a usage costs, in US dollars, by kind of token.

    Attributes:
        model: the model priced (``""`` when ``prices=`` was given without one).
        text_input: uncached text input.
        cached_text_input: cached text input.
        audio_input: uncached audio input.
        cached_audio_input: cached audio input.
        image_input: uncached image input.
        cached_image_input: cached image input.
        text_output: text output.
        audio_output: audio output.
        unattributed_input_tokens: input tokens the usage did not break down
            into text, audio or image; priced as text input (check it: audio
            costs more).
        unattributed_output_tokens: likewise for output, priced as text output.
    """

    model: str = ""
    text_input: float = 0.0
    cached_text_input: float = 0.0
    audio_input: float = 0.0
    cached_audio_input: float = 0.0
    image_input: float = 0.0
    cached_image_input: float = 0.0
    text_output: float = 0.0
    audio_output: float = 0.0
    unattributed_input_tokens: int = 0
    unattributed_output_tokens: int = 0

    @property
    def input(self) -> float:
        """All input, cached or not."""
        return (
            self.text_input
            + self.cached_text_input
            + self.audio_input
            + self.cached_audio_input
            + self.image_input
            + self.cached_image_input
        )

    @property
    def output(self) -> float:
        """All output."""
        return self.text_output + self.audio_output

    @property
    def total(self) -> float:
        """Input and output."""
        return self.input + self.output

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        fields: Dict[str, Any] = {
            f.name: getattr(self, f.name) + getattr(other, f.name)
            for f in attrs.fields(Cost)
            if f.name != "model"
        }
        model = self.model if self.model == other.model else ""
        return Cost(model=model, **fields)

    def __str__(self) -> str:
        return f"${self.total:.4f} (input ${self.input:.4f}, output ${self.output:.4f})"


def _n(value: Optional[int]) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def cost_of(
    usage: Usage,
    *,
    model: Optional[str] = None,
    prices: Optional[Prices] = None,
    table: Optional[Mapping[str, Prices]] = None,
) -> Cost:
    """The cost of ``usage`` (one response's, or a sum from :func:`sum_usage`).

    Args:
        usage: the token usage.
        model: the model whose prices apply (looked up with :func:`prices_for`).
        prices: the rates to use instead of a table lookup.
        table: the table ``model`` is looked up in (default :data:`PRICES`).

    Cached input tokens are taken from ``cached_tokens_details`` when the
    usage has it; otherwise ``cached_tokens`` are counted against text first,
    then audio, then image (an upper estimate, text being the cheapest to
    discount).

    Raises:
        RealtimeError: neither ``model`` nor ``prices``, or a model not in the table.
    """
    if prices is None:
        if not model:
            raise RealtimeError(
                "cost_of needs model= (to look its prices up) or prices=Prices(...)"
            )
        prices = prices_for(model, table)
    details = usage.input_token_details or InputTokenDetails()
    text, audio, image = _n(details.text_tokens), _n(details.audio_tokens), _n(details.image_tokens)
    cached_details = details.cached_tokens_details
    if isinstance(cached_details, Mapping):
        cached_text = min(_n(cached_details.get("text_tokens")), text)
        cached_audio = min(_n(cached_details.get("audio_tokens")), audio)
        cached_image = min(_n(cached_details.get("image_tokens")), image)
    else:
        left = _n(details.cached_tokens)
        cached_text = min(left, text)
        left -= cached_text
        cached_audio = min(left, audio)
        left -= cached_audio
        cached_image = min(left, image)
    unattributed_in = max(_n(usage.input_tokens) - (text + audio + image), 0)
    out = usage.output_token_details or OutputTokenDetails()
    text_out, audio_out = _n(out.text_tokens), _n(out.audio_tokens)
    unattributed_out = max(_n(usage.output_tokens) - (text_out + audio_out), 0)
    return Cost(
        model=model or "",
        text_input=(text - cached_text + unattributed_in) * prices.text_input / _PER,
        cached_text_input=cached_text * prices.cached_text_input / _PER,
        audio_input=(audio - cached_audio) * prices.audio_input / _PER,
        cached_audio_input=cached_audio * prices.cached_audio_input / _PER,
        image_input=(image - cached_image) * prices.image_input / _PER,
        cached_image_input=cached_image * prices.cached_image_input / _PER,
        text_output=(text_out + unattributed_out) * prices.text_output / _PER,
        audio_output=audio_out * prices.audio_output / _PER,
        unattributed_input_tokens=unattributed_in,
        unattributed_output_tokens=unattributed_out,
    )


def add_usage(a: Usage, b: Usage) -> Usage:
    """``a + b`` with every count added, the text/audio/image/cached breakdown included."""
    return a + b


def sum_usage(usages: Iterable[Optional[Usage]]) -> Usage:
    """All of ``usages`` added with :func:`add_usage` (``None`` entries skipped)."""
    total = Usage()
    for usage in usages:
        if usage is not None:
            total = add_usage(total, usage)
    return total
