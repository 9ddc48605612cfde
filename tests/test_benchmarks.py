"""The benchmark's correctness path, as a CI guard: what the client caches is what was sent.

Timings are printed (``pytest -s``), never asserted: CI machines are too noisy.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)  # benchmarks/ is not an installed package

from benchmarks import run  # noqa: E402
from benchmarks.stream import StreamSpec, build_stream, check_items  # noqa: E402


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # openai's own use of websockets
def test_quick_correctness_path() -> None:
    result = run.correctness(responses=3, chunks=30, appends=200)
    print("\nratios (not asserted):", {k: round(v, 2) for k, v in result["ratios"].items()})
    assert result["problems"] == []


def test_the_check_catches_a_wrong_cache() -> None:
    stream = build_stream(StreamSpec(responses=2, chunks=3, chunk_bytes=480))
    first, second = stream.expected
    good = {first: (b"", ""), second: (b"", "")}
    problems = check_items(stream, good)
    assert len(problems) == 4  # two items, each with wrong audio and transcript
    audio = bytes(stream.expected[first].audio_len)
    problems = check_items(stream, {first: (audio, stream.expected[first].transcript)})
    assert problems == [
        f"{first}: cached audio differs from the audio sent",
        f"{second}: missing from the cache",
    ]


@pytest.mark.timeout(60)
def test_cli_without_the_fast_extra() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--no-fast",
            "--no-openai",
            "--only",
            "throughput",
            "--rounds",
            "1",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    print(done.stdout[-1500:])
    assert done.returncode == 0, done.stderr[-2000:]
    assert "JSON json, base64 binascii" in done.stdout
    assert "correctness: OK" in done.stdout


@pytest.mark.timeout(120)
def test_quick_run_reports_the_live_receive_path() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "--quick",
            "--no-openai",
            "--only",
            "live",
            "--rounds",
            "1",
        ],
        check=False,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "Live receive path" in done.stdout and "live / raw" in done.stdout
