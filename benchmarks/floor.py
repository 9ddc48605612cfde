"""The floor of any Python client of one stream: read the bytes, parse JSON, decode base64.

One thread and nothing else: the socket is read with ``recv_into`` through one
large buffer, each (unmasked, unfragmented) server frame is cut out of it, its
payload parsed with the JSON backend :mod:`realtime_sync.protocol` chose
(``orjson`` with the ``fast`` extra, else the standard library), and the audio of
every ``response.output_audio.delta`` decoded with the base64 backend
:mod:`realtime_sync.utils` chose (``pybase64``, else ``binascii``). No typed
events, no cache, no second thread: what is left of a client when everything
that is not the wire has been taken away, so ``client / floor`` is what the SDK
costs on top of it.

The floor keeps what it decoded (audio chunks and transcript deltas per item,
as a client's cache would) and, after the clock stops, checks it against the
stream like the client consumer is checked; the check is not timed.
"""

from __future__ import annotations

import json
import struct
import time
from typing import Any, Callable, Dict, List, Tuple

from .consumers import Result, _connect_raw
from .stream import Stream, check_items

__all__ = ["backends", "run_floor"]

_RESPONSE_CREATE = json.dumps({"type": "response.create"})
_AUDIO_DELTA = "response.output_audio.delta"
_TRANSCRIPT_DELTA = "response.output_audio_transcript.delta"


def backends() -> Tuple[Callable[[bytes], Any], Callable[[str], bytes]]:
    """The JSON parser and base64 decoder the SDK uses, as bare backend calls."""
    from realtime_sync import protocol, utils

    if protocol.JSON_BACKEND == "orjson":
        import orjson

        loads: Callable[[bytes], Any] = orjson.loads
    else:
        loads = json.loads
    if utils._BASE64_BACKEND == "pybase64":
        import pybase64

        def b64decode(text: str) -> bytes:
            out: bytes = pybase64.b64decode(text, validate=True)
            return out

    else:
        import binascii

        b64decode = binascii.a2b_base64
    return loads, b64decode


def run_floor(url: str, stream: Stream) -> Result:
    """Receive, parse and decode the stream on one thread; check the result untimed."""
    loads, b64decode = backends()
    ws = _connect_raw(url)
    sock = ws.sock
    assert sock is not None
    want = stream.events
    audio: Dict[str, List[bytes]] = {}
    words: Dict[str, List[str]] = {}
    buf = bytearray(1 << 18)
    view = memoryview(buf)
    unpack_from = struct.unpack_from
    have = 0  # bytes in buf
    pos = 0  # start of the first unparsed frame
    count = 0
    start = time.perf_counter()
    ws.send(_RESPONSE_CREATE)
    while count < want:
        # Cut every whole frame out of what has been read.
        while True:
            if have - pos < 2:
                break
            n = buf[pos + 1] & 0x7F
            head = 2
            if n == 126:
                if have - pos < 4:
                    break
                (n,) = unpack_from("!H", buf, pos + 2)
                head = 4
            elif n == 127:
                if have - pos < 10:
                    break
                (n,) = unpack_from("!Q", buf, pos + 2)
                head = 10
            end = pos + head + n
            if end > have:
                break
            obj = loads(bytes(view[pos + head : end]))
            kind = obj["type"]
            if kind == _AUDIO_DELTA:
                audio.setdefault(obj["item_id"], []).append(b64decode(obj["delta"]))
            elif kind == _TRANSCRIPT_DELTA:
                words.setdefault(obj["item_id"], []).append(obj["delta"])
            count += 1
            pos = end
            if count == want:
                break
        if count == want:
            break
        if pos:  # keep the partial frame at the start of the buffer
            buf[: have - pos] = buf[pos:have]
            have -= pos
            pos = 0
        if have == len(buf):  # a frame larger than the buffer
            view.release()
            buf.extend(bytes(len(buf)))
            view = memoryview(buf)
        got = sock.recv_into(view[have:])
        if not got:
            break
        have += got
    seconds = time.perf_counter() - start
    view.release()
    ws.close(timeout=1)
    problems: List[str] = []
    if count != want:
        problems.append(f"floor: {count} of {want} events")
    items = {
        item_id: (b"".join(chunks), "".join(words.get(item_id, [])))
        for item_id, chunks in audio.items()
    }
    problems += [f"floor: {p}" for p in check_items(stream, items)]
    return Result("floor", seconds, count, problems)
