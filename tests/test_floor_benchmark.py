"""The floor benchmark (benchmarks/floor.py) decodes what was sent, and says so when it did not.

Correctness only: timings are printed (``pytest -s``), never asserted.
"""

from __future__ import annotations

import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # benchmarks/ is not an installed package

from benchmarks.floor import backends, run_floor  # noqa: E402
from benchmarks.server import BenchServer  # noqa: E402
from benchmarks.stream import StreamSpec, build_stream  # noqa: E402


@pytest.mark.timeout(60)
def test_the_floor_receives_and_decodes_the_whole_stream() -> None:
    # chunks larger than the read buffer's first fill, and frames split across reads
    stream = build_stream(StreamSpec(responses=3, chunks=40, chunk_bytes=48000))
    with BenchServer(stream) as server:
        result = run_floor(server.url, stream)
    print(f"\nfloor: {result.seconds * 1e6 / stream.events:.2f} us/event (not asserted)")
    assert result.problems == []
    assert result.events == stream.events


@pytest.mark.timeout(60)
def test_the_floor_check_catches_other_audio() -> None:
    sent = build_stream(StreamSpec(responses=2, chunks=5, seed=1))
    expected = build_stream(StreamSpec(responses=2, chunks=5, seed=2))
    with BenchServer(sent) as server:
        result = run_floor(server.url, expected)
    assert result.problems
    assert all("cached audio differs" in p for p in result.problems)


def test_the_floor_uses_the_sdks_backends() -> None:
    from realtime_sync import protocol, utils

    loads, b64decode = backends()
    assert loads(b'{"a":[1]}') == {"a": [1]} == protocol.loads(b'{"a":[1]}')
    assert b64decode("AAEC") == b"\x00\x01\x02" == utils.base64_decode("AAEC")
