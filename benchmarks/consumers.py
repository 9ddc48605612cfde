"""The consumers the benchmark compares, each timed over one turn of a stream.

Every consumer connects (untimed), answers the handshake events, then starts
its clock, sends ``response.create`` and stops the clock when it has processed
the stream's last event. Each returns a :class:`Result`. Streams have one turn.

* ``socket``: a raw ``recv_into`` loop counting bytes (the loopback ceiling);
* ``raw``: a bare websocket-client ``recv()`` loop that only counts frames,
  with ``skip_utf8_validation=True`` (the baseline of target 1);
* ``client``: the full :class:`realtime_sync.RealtimeClient` pipeline with a
  handler on ``conversation.updated``; its cache is checked afterwards;
* ``openai``: openai-python's sync ``client.realtime.connect()`` iterated.
"""

from __future__ import annotations

import inspect
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Tuple

import websocket

from .stream import Stream, check_items

__all__ = ["CONSUMERS", "Result", "run_client", "run_openai", "run_raw", "run_socket"]

_SESSION_UPDATE = json.dumps({"type": "session.update", "session": {"type": "realtime"}})
_RESPONSE_CREATE = json.dumps({"type": "response.create"})


@dataclass
class Result:
    name: str
    seconds: float
    events: int
    problems: List[str] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict)


def _keep_all_audio() -> Dict[str, Any]:
    """Client options that keep every item's audio, so all of it can be checked."""
    from realtime_sync import RealtimeClient

    if "audio_retention_s" in inspect.signature(RealtimeClient).parameters:
        return {"audio_retention_s": None}
    return {}


KEEP_ALL_AUDIO = _keep_all_audio()


def _connect_raw(url: str) -> websocket.WebSocket:
    ws = websocket.create_connection(
        url, timeout=30, skip_utf8_validation=True, suppress_origin=True
    )
    ws.recv()  # session.created
    ws.send(_SESSION_UPDATE)
    ws.recv()  # session.updated
    return ws


def run_socket(url: str, stream: Stream) -> Result:
    """Drain the stream's bytes from the socket without framing: the loopback ceiling."""
    ws = _connect_raw(url)
    sock = ws.sock
    assert sock is not None
    buf = bytearray(1 << 18)
    want = len(stream.turns[0])
    got = 0
    start = time.perf_counter()
    ws.send(_RESPONSE_CREATE)
    while got < want:
        n = sock.recv_into(buf)
        if not n:
            break
        got += n
    seconds = time.perf_counter() - start
    ws.close(timeout=1)
    problems = [] if got >= want else [f"socket: {got} of {want} bytes"]
    return Result("socket", seconds, stream.events, problems)


def run_raw(url: str, stream: Stream) -> Result:
    """websocket-client's ``recv()`` in a loop, counting frames (the baseline)."""
    ws = _connect_raw(url)
    want = stream.events
    count = 0
    start = time.perf_counter()
    ws.send(_RESPONSE_CREATE)
    recv = ws.recv
    while count < want:
        recv()
        count += 1
    seconds = time.perf_counter() - start
    ws.close(timeout=1)
    return Result("raw", seconds, count)


def run_client(url: str, stream: Stream, *, check: bool = True) -> Result:
    """The full RealtimeClient pipeline; checks the cached audio and transcripts."""
    from realtime_sync import RealtimeClient, RealtimeEventType

    client = RealtimeClient(url=url, **KEEP_ALL_AUDIO)
    want = len(stream.expected)  # responses: the stream ends with the last one's last event
    done = threading.Event()
    finish: List[float] = []
    seen = {"audio": 0, "transcript": 0, "ends": 0}

    def on_updated(event: Any) -> None:
        delta = event.delta
        if delta is not None:
            if delta.audio:
                seen["audio"] += len(delta.audio)
            if delta.transcript:
                seen["transcript"] += len(delta.transcript)

    def on_end(event: Any) -> None:
        seen["ends"] += 1
        if seen["ends"] == want:
            finish.append(time.perf_counter())
            done.set()

    client.on(RealtimeEventType.CONVERSATION_UPDATED, on_updated)
    client.on(stream.last_event_type, on_end)
    client.connect(timeout=30)
    try:
        start = time.perf_counter()
        client.create_response()
        if not done.wait(600):
            return Result("client", float("nan"), 0, ["client: the stream did not finish"])
        seconds = finish[0] - start
        problems: List[str] = []
        if check:
            items: Dict[str, Tuple[bytes, str]] = {
                item.id: (bytes(item.formatted.audio_buffer), item.formatted.transcript)
                for item in client.conversation.get_items()
            }
            problems = check_items(stream, items)
            want_audio = sum(e.audio_len for e in stream.expected.values())
            if seen["audio"] != want_audio:
                problems.append(
                    f"conversation.updated carried {seen['audio']} audio bytes, sent {want_audio}"
                )
        return Result("client", seconds, stream.events, problems)
    finally:
        client.disconnect()


def run_openai(url: str, stream: Stream) -> Result:
    """openai-python's sync realtime connection, iterated until the stream's last event."""
    from openai import OpenAI

    base = url.rsplit("/realtime", 1)[0]  # ws://127.0.0.1:PORT/v1; openai appends /realtime
    oai = OpenAI(
        api_key="bench", base_url=base.replace("ws://", "http://", 1), websocket_base_url=base
    )
    want = stream.events
    with oai.realtime.connect(model="gpt-realtime") as conn:
        conn.recv()  # session.created
        conn.send({"type": "session.update", "session": {"type": "realtime"}})
        conn.recv()  # session.updated
        count = 0
        start = time.perf_counter()
        conn.send({"type": "response.create"})
        for _event in conn:
            count += 1
            if count == want:
                break
        seconds = time.perf_counter() - start
    oai.close()
    return Result("openai", seconds, count)


CONSUMERS: Dict[str, Callable[[str, Stream], Result]] = {
    "socket": run_socket,
    "raw": run_raw,
    "client": run_client,
    "openai": run_openai,
}
