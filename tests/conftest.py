"""Shared fixtures: a fresh RealtimeSimulator per test, and a thread-leak check."""

from __future__ import annotations

import threading
import time
from typing import Iterator

import pytest

from realtime_sync.testing import RealtimeSimulator

SDK_THREAD_PREFIXES = ("realtime-reader", "realtime-dispatcher", "realtime-tool")


def sdk_threads() -> list[threading.Thread]:
    """Threads the SDK started that are still alive."""
    return [t for t in threading.enumerate() if t.name.startswith(SDK_THREAD_PREFIXES)]


def wait_no_sdk_threads(timeout: float = 5.0) -> list[threading.Thread]:
    """Join leftover SDK threads for up to ``timeout``; returns those still alive."""
    deadline = time.monotonic() + timeout
    for thread in sdk_threads():
        thread.join(max(0.0, deadline - time.monotonic()))
    return sdk_threads()


@pytest.fixture
def sim() -> Iterator[RealtimeSimulator]:
    with RealtimeSimulator() as simulator:
        yield simulator
