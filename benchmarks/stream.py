"""The benchmark stream: GA server events, built once and pre-framed as WebSocket bytes.

A stream is ``session.created`` (sent on connect), ``session.updated`` (the
answer to the client's ``session.update``) and then *turns*: the frames sent
in answer to each ``response.create``. Each response carries the full GA
lifecycle around an audio message whose ``chunks`` audio deltas (``chunk_bytes``
of PCM16 each, 100 ms at 24 kHz by default) are interleaved one-to-one with
transcript deltas::

    response.created, response.output_item.added, conversation.item.added,
    response.content_part.added, (output_audio_transcript.delta, output_audio.delta) x chunks,
    response.output_audio.done, response.output_audio_transcript.done,
    response.content_part.done, response.output_item.done, conversation.item.done,
    response.done, rate_limits.updated

Everything is deterministic, so a consumer can check what it cached against
:attr:`Stream.expected` (audio length and SHA-256, transcript) without the
server sending its copy of the audio.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import struct
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Tuple

__all__ = ["ExpectedItem", "Stream", "StreamSpec", "build_stream", "frame", "frame_header"]

EVENT_ID_DIGITS = 19
"""``event_id`` is ``evt_`` plus this many digits, so a stamp can be patched in place."""


@dataclass(frozen=True)
class StreamSpec:
    """The shape of a stream (the defaults are the issue's 66 MB, ~20,000-event stream)."""

    responses: int = 40
    chunks: int = 240
    chunk_bytes: int = 4800
    turns: int = 1
    """Turns the responses are split into (one ``response.create`` each)."""
    user_items: bool = False
    """Start each turn with a user item carrying an ``input_audio`` part (memory runs)."""
    seed: int = 7


@dataclass(frozen=True)
class ExpectedItem:
    """What the client must have cached for one assistant item."""

    audio_len: int
    audio_sha256: str
    transcript: str


@dataclass
class Stream:
    spec: StreamSpec
    session_created: bytes
    session_updated: bytes
    turns: List[bytes]
    """Pre-framed bytes sent in answer to each ``response.create``."""
    events: int
    """Data frames in the turns (session.created/updated not counted)."""
    audio_deltas: int
    expected: Dict[str, ExpectedItem] = field(default_factory=dict)

    @property
    def payload_bytes(self) -> int:
        return sum(len(t) for t in self.turns)

    @property
    def last_event_type(self) -> str:
        return "rate_limits.updated"


def frame_header(length: int, opcode: int = 0x1) -> bytes:
    """An unmasked, final server frame header for a payload of ``length`` bytes."""
    first = 0x80 | opcode
    if length < 126:
        return struct.pack("!BB", first, length)
    if length < 1 << 16:
        return struct.pack("!BBH", first, 126, length)
    return struct.pack("!BBQ", first, 127, length)


def frame(payload: bytes, opcode: int = 0x1) -> bytes:
    """One unmasked, final server frame."""
    return frame_header(len(payload), opcode) + payload


def close_frame(code: int = 1000, reason: bytes = b"") -> bytes:
    return frame(struct.pack("!H", code) + reason, 0x8)


class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"evt_{self.n:0{EVENT_ID_DIGITS}d}"


class _Turn:
    """The frames of one turn, each event numbered as it is added."""

    def __init__(self, ids: _Ids) -> None:
        self.ids = ids
        self.frames: List[bytes] = []

    def send(self, kind: str, **fields: Any) -> None:
        self.frames.append(frame(_json({"type": kind, "event_id": self.ids.next(), **fields})))


def _json(obj: Dict[str, Any]) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def session_object() -> Dict[str, Any]:
    fmt = {"type": "audio/pcm", "rate": 24000}
    return {
        "type": "realtime",
        "object": "realtime.session",
        "id": "sess_bench",
        "model": "gpt-realtime",
        "output_modalities": ["audio"],
        "instructions": "Benchmark.",
        "tools": [],
        "tool_choice": "auto",
        "max_output_tokens": "inf",
        "tracing": None,
        "truncation": "auto",
        "prompt": None,
        "expires_at": 1_900_000_000,
        "audio": {
            "input": {
                "format": fmt,
                "transcription": None,
                "noise_reduction": None,
                "turn_detection": None,
            },
            "output": {"format": fmt, "voice": "marin", "speed": 1.0},
        },
        "include": None,
    }


def _response(rid: str, status: str, output: List[Any], usage: Optional[Any]) -> Dict[str, Any]:
    return {
        "object": "realtime.response",
        "id": rid,
        "status": status,
        "status_details": None,
        "output": output,
        "conversation_id": "conv_bench",
        "output_modalities": ["audio"],
        "max_output_tokens": "inf",
        "audio": {"output": {"format": {"type": "audio/pcm", "rate": 24000}, "voice": "marin"}},
        "usage": usage,
        "metadata": None,
    }


def _usage(audio_ms: int) -> Dict[str, Any]:
    out = audio_ms // 50
    return {
        "total_tokens": 10 + out,
        "input_tokens": 10,
        "output_tokens": out,
        "input_token_details": {
            "text_tokens": 10,
            "audio_tokens": 0,
            "image_tokens": 0,
            "cached_tokens": 0,
            "cached_tokens_details": {"text_tokens": 0, "audio_tokens": 0, "image_tokens": 0},
        },
        "output_token_details": {"text_tokens": 0, "audio_tokens": out},
    }


class _AudioSource:
    """Distinct, deterministic PCM chunks cut from one random pool (cheap to build)."""

    def __init__(self, seed: int, chunk_bytes: int) -> None:
        self.chunk_bytes = chunk_bytes
        self.pool = random.Random(seed).randbytes(max(1 << 20, 4 * chunk_bytes))
        self.n = 0

    def next(self) -> bytes:
        span = len(self.pool) - self.chunk_bytes
        offset = (self.n * 4801) % span & ~1
        self.n += 1
        return self.pool[offset : offset + self.chunk_bytes]


def build_stream(spec: StreamSpec = StreamSpec()) -> Stream:
    """Build (and frame) the whole stream once; see the module documentation."""
    ids = _Ids()
    audio = _AudioSource(spec.seed, spec.chunk_bytes)
    created = frame(
        _json({"type": "session.created", "event_id": ids.next(), "session": session_object()})
    )
    updated = frame(
        _json({"type": "session.updated", "event_id": ids.next(), "session": session_object()})
    )
    per_turn = -(-spec.responses // spec.turns)
    turns: List[bytes] = []
    expected: Dict[str, ExpectedItem] = {}
    events = 0
    audio_deltas = 0
    previous: Optional[str] = None
    for t in range(spec.turns):
        current = _Turn(ids)
        send = current.send
        if spec.user_items:
            user_id = f"item_user_{t:06d}"
            user_item = {
                "id": user_id,
                "type": "message",
                "object": "realtime.item",
                "status": "completed",
                "role": "user",
                "content": [{"type": "input_audio", "transcript": None}],
            }
            send("input_audio_buffer.committed", previous_item_id=previous, item_id=user_id)
            send("conversation.item.added", previous_item_id=previous, item=user_item)
            send("conversation.item.done", previous_item_id=previous, item=user_item)
            previous = user_id
        for r in range(t * per_turn, min(spec.responses, (t + 1) * per_turn)):
            rid = f"resp_{r:06d}"
            item_id = f"item_{r:06d}"
            ids4: Dict[str, Any] = {"response_id": rid, "item_id": item_id, "output_index": 0}
            item: Dict[str, Any] = {
                "id": item_id,
                "type": "message",
                "object": "realtime.item",
                "status": "in_progress",
                "role": "assistant",
                "content": [],
            }
            send("response.created", response=_response(rid, "in_progress", [], None))
            send("response.output_item.added", response_id=rid, output_index=0, item=item)
            send("conversation.item.added", previous_item_id=previous, item=item)
            send(
                "response.content_part.added",
                content_index=0,
                part={"type": "audio", "transcript": ""},
                **ids4,
            )
            sha = hashlib.sha256()
            words: List[str] = []
            for k in range(spec.chunks):
                word = f"w{r}.{k} "
                words.append(word)
                send("response.output_audio_transcript.delta", content_index=0, delta=word, **ids4)
                chunk = audio.next()
                sha.update(chunk)
                send(
                    "response.output_audio.delta",
                    content_index=0,
                    delta=base64.b64encode(chunk).decode("ascii"),
                    **ids4,
                )
            transcript = "".join(words)
            send("response.output_audio.done", content_index=0, **ids4)
            send(
                "response.output_audio_transcript.done",
                content_index=0,
                transcript=transcript,
                **ids4,
            )
            send(
                "response.content_part.done",
                content_index=0,
                part={"type": "audio", "transcript": transcript},
                **ids4,
            )
            done_item = {
                **item,
                "status": "completed",
                "content": [{"type": "output_audio", "transcript": transcript}],
            }
            send("response.output_item.done", response_id=rid, output_index=0, item=done_item)
            send("conversation.item.done", previous_item_id=previous, item=done_item)
            audio_ms = spec.chunks * spec.chunk_bytes // 48
            send(
                "response.done", response=_response(rid, "completed", [done_item], _usage(audio_ms))
            )
            send(
                "rate_limits.updated",
                rate_limits=[
                    {"name": "requests", "limit": 1000, "remaining": 999, "reset_seconds": 0.06},
                    {"name": "tokens", "limit": 100000, "remaining": 90000, "reset_seconds": 6.0},
                ],
            )
            previous = item_id
            expected[item_id] = ExpectedItem(
                audio_len=spec.chunks * spec.chunk_bytes,
                audio_sha256=sha.hexdigest(),
                transcript=transcript,
            )
            audio_deltas += spec.chunks
        events += len(current.frames)
        turns.append(b"".join(current.frames))
    return Stream(
        spec=spec,
        session_created=created,
        session_updated=updated,
        turns=turns,
        events=events,
        audio_deltas=audio_deltas,
        expected=expected,
    )


def check_items(stream: Stream, items: Dict[str, Tuple[bytes, str]]) -> List[str]:
    """Compare cached ``{item_id: (audio, transcript)}`` with the stream; returns the problems."""
    problems: List[str] = []
    for item_id, want in stream.expected.items():
        got = items.get(item_id)
        if got is None:
            problems.append(f"{item_id}: missing from the cache")
            continue
        audio, transcript = got
        if len(audio) != want.audio_len:
            problems.append(f"{item_id}: {len(audio)} bytes of audio, expected {want.audio_len}")
        elif hashlib.sha256(audio).hexdigest() != want.audio_sha256:
            problems.append(f"{item_id}: cached audio differs from the audio sent")
        if transcript != want.transcript:
            problems.append(f"{item_id}: transcript {transcript[:40]!r}... differs")
    return problems
