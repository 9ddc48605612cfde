"""The GPT-Live receive path: ``session.output_audio.delta`` (and transcript deltas), pre-framed.

A loopback server answers the WebSocket handshake, waits for one client text
frame (the go signal, ``session.close``), then sends the whole pre-framed
stream and a close frame. ``raw`` is a websocket-client ``recv()`` loop that
counts frames; ``live`` is a :class:`realtime_sync.live.LiveAPI` (decode_live,
the reader thread, the dispatcher) with a handler on the audio and transcript
deltas. The ratio live/raw is measured per round, in the same run.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from typing import Any, Dict, List

import websocket

from .server import BenchServer
from .stream import close_frame, frame

_GO = json.dumps({"type": "session.close"})


def build_live_stream(chunks: int, chunk_ms: int = 40) -> bytes:
    """``chunks`` audio deltas, a transcript delta every fifth, as WebSocket frames."""
    audio = base64.b64encode(os.urandom(48 * chunk_ms)).decode("ascii")
    out = bytearray()
    for i in range(chunks):
        ms = i * chunk_ms
        out += frame(
            json.dumps(
                {
                    "type": "session.output_audio.delta",
                    "event_id": f"evt_a{i}",
                    "delta": audio,
                    "start_ms": ms,
                    "end_ms": ms + chunk_ms,
                }
            ).encode()
        )
        if i % 5 == 0:
            out += frame(
                json.dumps(
                    {
                        "type": "session.output_transcript.delta",
                        "event_id": f"evt_t{i}",
                        "delta": " word",
                        "start_ms": ms,
                        "end_ms": ms + chunk_ms,
                    }
                ).encode()
            )
    return bytes(out)


class LiveBenchServer(BenchServer):
    """Serves the pre-framed Live stream after the client's first text frame."""

    def __init__(self, data: bytes) -> None:
        super().__init__(stream=None)  # type: ignore[arg-type]
        self.data = data
        self.url = f"ws://127.0.0.1:{self.port}/v1/live/sessions"

    def _session(self, conn: socket.socket) -> None:
        self._handshake(conn)
        conn.recv(65536)  # the go signal
        conn.sendall(self.data + close_frame())


def run_raw(url: str, events: int) -> float:
    ws = websocket.create_connection(
        url, timeout=30, skip_utf8_validation=True, suppress_origin=True
    )
    start = time.perf_counter()
    ws.send(_GO)
    got = 0
    while got < events:
        ws.recv()
        got += 1
    seconds = time.perf_counter() - start
    ws.close()
    return seconds


def run_live(url: str, events: int) -> float:
    from realtime_sync.live import LiveAPI

    api = LiveAPI(url=url)
    count = [0]
    done = threading.Event()

    def handler(event: Any) -> None:
        count[0] += 1
        if count[0] >= events:
            done.set()

    api.on("session.output_audio.delta", handler)
    api.on("session.output_transcript.delta", handler)
    api.connect(model="", timeout=30)
    start = time.perf_counter()
    api.send({"type": "session.close"})
    if not done.wait(60):
        raise RuntimeError(f"live: {count[0]} of {events} events")
    seconds = time.perf_counter() - start
    api.disconnect()
    return seconds


def live_receive(chunks: int, rounds: int) -> Dict[str, Any]:
    data = build_live_stream(chunks)
    events = chunks + (chunks + 4) // 5
    times: Dict[str, List[float]] = {"raw": [], "live": []}
    with LiveBenchServer(data) as server:
        for r in range(rounds + 1):
            for name in ["raw", "live"] if r % 2 == 0 else ["live", "raw"]:
                seconds = (run_raw if name == "raw" else run_live)(server.url, events)
                if r > 0:
                    times[name].append(seconds)
    ratios = sorted(a / b for a, b in zip(times["live"], times["raw"]))
    return {
        "events": events,
        "megabytes": len(data) / 1e6,
        "rounds": rounds,
        "times": times,
        "live/raw": ratios,
    }


if __name__ == "__main__":
    print(live_receive(2000, 3))
