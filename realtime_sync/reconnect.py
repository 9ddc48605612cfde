"""Reconnection: the policy, its backoff, and what a new session is told of the old one.

The Realtime API has no resume: a new connection is a new, empty session. So
after a drop the client opens a new one, sends its session config and tools,
and *replays* the completed items it can (planned by
:func:`~realtime_sync.core.replay.plan_replay`) so the model keeps its context.
What cannot be carried over is reported as lost.
"""

from __future__ import annotations

import random
from typing import FrozenSet, Optional

import attrs

from .core.replay import plan_replay

__all__ = ["FATAL_ERROR_CODES", "RETRY_CLOSE_CODES", "ReconnectPolicy", "plan_replay"]

RETRY_CLOSE_CODES: FrozenSet[int] = frozenset({1001, 1005, 1006, 1011, 1012, 1013})
"""Close codes after which reconnecting can help (going away, abnormal, server errors)."""

FATAL_ERROR_CODES: FrozenSet[str] = frozenset(
    {
        "invalid_api_key",
        "insufficient_quota",
        "beta_api_shape_disabled",
        "account_deactivated",
        "model_not_found",
        "unsupported_country_region_territory",
    }
)
"""Server error codes after which reconnecting cannot help."""


@attrs.frozen
class ReconnectPolicy:
    """How :class:`~realtime_sync.client.RealtimeClient` recovers from a dropped connection.

    Attributes:
        max_attempts: connection attempts per drop before giving up.
        initial_delay: seconds before the first attempt; doubled (``multiplier``)
            after each failure up to ``max_delay``, with ``jitter`` (a fraction,
            +/-) so many clients do not retry in step.
        send_timeout: how long a send made while reconnecting waits for the new
            session before failing with ``ConnectionClosedError`` (0: fail at once).
        replay: re-create completed items in the new session.
        max_session_duration: when set, proactively recycle the session (new
            connection plus replay) after this many seconds, between responses
            (the API ends sessions at its own limit).
        retry_close_codes: close codes that trigger a reconnect.
    """

    max_attempts: int = 5
    initial_delay: float = 0.5
    max_delay: float = 15.0
    multiplier: float = 2.0
    jitter: float = 0.2
    send_timeout: float = 10.0
    replay: bool = True
    max_session_duration: Optional[float] = None
    retry_close_codes: FrozenSet[int] = RETRY_CLOSE_CODES

    def delay(self, attempt: int, rng: Optional[random.Random] = None) -> float:
        """Seconds to wait before attempt number ``attempt`` (1-based)."""
        base = min(self.max_delay, self.initial_delay * self.multiplier ** max(0, attempt - 1))
        spread = base * self.jitter
        return max(0.0, base + (rng or random).uniform(-spread, spread))

    def should_retry(self, code: Optional[int]) -> bool:
        """Whether a close with ``code`` (``None``: network failure) is worth a reconnect."""
        return code is None or code in self.retry_close_codes
