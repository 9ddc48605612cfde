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


# GPT-Live's conformance authority is openai-python >= 3.57 (openai.types.live), which needs
# Python >= 3.10: on older Pythons the Live test modules are not collected, and the report says so.
try:
    import openai.types.live  # noqa: F401
except ImportError:  # pragma: no cover - Python 3.9 legs
    collect_ignore = [
        "test_live_client.py",
        "test_live_conformance.py",
        "test_live_core.py",
        "test_live_responses.py",
        "test_live_simulator.py",
    ]

    def pytest_report_header() -> str:
        return (
            "GPT-Live tests not collected: openai.types.live (openai >= 3.57, Python >= 3.10) "
            "is not installed"
        )
