"""AudioPump: the continuous input stream shared by Live and translation sessions."""

from __future__ import annotations

import threading
from typing import List

import pytest

from realtime_sync.pump import SILENCE_BYTE, AudioPump


class _Sink:
    """Collects frames; returns False (session over) after ``limit`` frames."""

    def __init__(self, limit: int) -> None:
        self.frames: List[bytes] = []
        self.limit = limit
        self.done = threading.Event()
        self.threads: List[str] = []

    def __call__(self, frame: bytes) -> bool:
        self.frames.append(frame)
        self.threads.append(threading.current_thread().name)
        if len(self.frames) >= self.limit:
            self.done.set()
            return False
        return True


def test_frames_are_fed_audio_then_silence_and_the_pump_ends_when_send_says_so() -> None:
    sink = _Sink(limit=4)
    pump = AudioPump(sink, bytes_per_ms=48, frame_ms=10, name="test-pump")
    pump.feed(b"\x01\x02" * 240)  # 10 ms
    pump.feed(b"\x03\x04" * 120)  # 5 ms: padded with silence
    pump.start()
    assert sink.done.wait(5.0)
    pump.stop(timeout=2.0)
    assert not pump.running
    assert sink.frames[0] == b"\x01\x02" * 240
    assert sink.frames[1] == b"\x03\x04" * 120 + b"\x00" * 240
    assert sink.frames[2] == sink.frames[3] == b"\x00" * 480
    assert set(sink.threads) == {"test-pump"}
    assert pump.frames_sent == 3  # the fourth send ended the pump
    assert pump.silent_frames == 2


def test_silence_byte_follows_the_encoding() -> None:
    sink = _Sink(limit=1)
    pump = AudioPump(sink, bytes_per_ms=8, frame_ms=20, silence=SILENCE_BYTE["audio/pcmu"])
    pump.start()
    assert sink.done.wait(5.0)
    pump.stop()
    assert sink.frames == [b"\xff" * 160]


def test_stop_joins_the_thread_and_clear_drops_queued_audio() -> None:
    sink = _Sink(limit=10_000)
    pump = AudioPump(sink, bytes_per_ms=48, frame_ms=10, name="test-pump-2")
    pump.start()
    pump.stop(timeout=2.0)
    assert not pump.running
    pump.feed(b"\x01" * 960)
    assert pump.queued_ms == 20.0
    pump.clear()
    assert pump.queued_ms == 0.0


def test_a_failing_send_stops_the_pump_without_killing_the_process() -> None:
    calls = threading.Event()

    def send(frame: bytes) -> bool:
        calls.set()
        raise OSError("socket gone")

    pump = AudioPump(send, bytes_per_ms=48, frame_ms=10)
    pump.start()
    assert calls.wait(5.0)
    pump.stop(timeout=2.0)
    assert not pump.running


@pytest.mark.parametrize("frame_ms", [5, 2000])
def test_frame_length_is_bounded(frame_ms: int) -> None:
    with pytest.raises(ValueError, match="frame_ms"):
        AudioPump(lambda frame: True, bytes_per_ms=48, frame_ms=frame_ms)
