"""Delivery latency: from the reader getting a frame to a handler running it.

Method (all in one process, one clock, ``time.perf_counter_ns``):

* **reader -> handler** (the measure of target 4): ``realtime_sync.protocol.decode``
  is wrapped while the client connects (the reader thread binds it when it
  starts), so the reader stamps each frame just before decoding it, that is
  as soon as the frame is whole in its buffer. A handler on
  ``response.output_audio.delta`` (which runs after the conversation cache and
  the ``conversation.updated`` handlers) subtracts that stamp. This covers
  decode, the queue, the dispatcher thread waking up, the cache and dispatch.
* **server -> handler** (context): the in-process server stamps the event's
  ``event_id`` just before ``sendall`` (paced runs only), which adds the
  loopback TCP hop and the reader waking up.
* **thread-handoff floor**: two bare threads and a ``SimpleQueue`` at the same
  pace, the cost of any design that hands events to a second thread.
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from typing import Any, Dict, Iterator, List

from .server import BenchServer
from .stream import Stream

__all__ = ["handoff_floor", "measure", "percentiles", "reader_stamps"]

_now = time.perf_counter_ns


@contextlib.contextmanager
def reader_stamps() -> Iterator[Dict[str, int]]:
    """Stamp every frame the reader decodes, by ``event_id`` (see the module doc)."""
    from realtime_sync import protocol

    arrivals: Dict[str, int] = {}
    original = protocol.decode

    def decode(data: Any) -> Any:
        start = _now()
        event = original(data)
        arrivals[getattr(event, "event_id", "")] = start
        return event

    protocol.decode = decode
    try:
        yield arrivals
    finally:
        protocol.decode = original


def percentiles(samples_ns: List[int]) -> Dict[str, float]:
    """Median, p90, p99 and max in microseconds."""
    if not samples_ns:
        return {
            "n": 0,
            "median_us": float("nan"),
            "p90_us": float("nan"),
            "p99_us": float("nan"),
            "max_us": float("nan"),
        }
    v = sorted(samples_ns)

    def at(q: float) -> float:
        return v[min(len(v) - 1, int(q * len(v)))] / 1000.0

    return {
        "n": len(v),
        "median_us": at(0.5),
        "p90_us": at(0.9),
        "p99_us": at(0.99),
        "max_us": v[-1] / 1000.0,
    }


def measure(stream: Stream, *, pace_s: float, timeout: float = 300.0) -> Dict[str, Any]:
    """Latency of every audio delta of ``stream`` (one turn) through a RealtimeClient."""
    from realtime_sync import RealtimeClient

    from .consumers import KEEP_ALL_AUDIO

    reader_ns: List[int] = []
    server_ns: List[int] = []
    handled: List[int] = []
    done = threading.Event()
    want = stream.audio_deltas
    with BenchServer(stream, pace_s=pace_s) as server, reader_stamps() as arrivals:
        client = RealtimeClient(url=server.url, **KEEP_ALL_AUDIO)

        def on_audio(event: Any) -> None:
            now = _now()
            arrived = arrivals.pop(event.event_id, None)
            if arrived is not None:
                reader_ns.append(now - arrived)
            if pace_s > 0:
                server_ns.append(now - int(event.event_id[4:]))
            handled.append(1)
            if len(handled) >= want:
                done.set()

        client.on("response.output_audio.delta", on_audio)
        client.connect(timeout=30)
        try:
            client.create_response()
            finished = done.wait(timeout)
        finally:
            client.disconnect()
    out: Dict[str, Any] = {"reader_to_handler": percentiles(reader_ns), "pace_s": pace_s}
    if pace_s > 0:
        out["server_to_handler"] = percentiles(server_ns)
    if not finished or len(reader_ns) != want:
        out["problem"] = f"latency: {len(reader_ns)} of {want} audio deltas stamped"
    return out


def handoff_floor(n: int, pace_s: float) -> Dict[str, float]:
    """Latency of a bare ``SimpleQueue`` handoff between two threads at ``pace_s``."""
    q: queue.SimpleQueue[int] = queue.SimpleQueue()
    samples: List[int] = []

    def consume() -> None:
        for _ in range(n):
            sent = q.get()
            samples.append(_now() - sent)

    thread = threading.Thread(target=consume, daemon=True)
    thread.start()
    for _ in range(n):
        time.sleep(pace_s)
        q.put(_now())
    thread.join(30)
    return percentiles(samples)
