"""The clock of a simulated Live session: input audio, utterances and the model's speech.

Nothing here touches sockets. A session's time is the duration of the input
audio received so far (``now_ms``); :meth:`Timeline.advance` consumes one input
chunk and returns what happened during it: utterances that ended, the output
audio of that stretch and the output transcript words spoken in it.
"""

from __future__ import annotations

import math
import struct
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

__all__ = [
    "Advance",
    "AudioCodec",
    "Speech",
    "Timeline",
    "Utterance",
    "Word",
    "resample_24k",
    "resample_from_24k",
]

_TONE_HZ = 440.0
_SPEECH_RMS = 500.0  # PCM16 RMS above which a 10 ms frame counts as speech
_FRAME_MS = 10


class AudioCodec:
    """One of the Live WebSocket formats: audio/pcm (16/24 kHz), audio/pcmu, audio/pcma (8 kHz)."""

    def __init__(self, type_: str = "audio/pcm", rate: int = 24000) -> None:
        self.type = type_
        self.rate = rate

    @property
    def bytes_per_sample(self) -> int:
        """2 for PCM16, 1 for G.711."""
        return 2 if self.type == "audio/pcm" else 1

    def duration_ms(self, data: bytes) -> float:
        """Duration of ``data`` in milliseconds."""
        return len(data) / self.bytes_per_sample / self.rate * 1000.0

    def decode(self, data: bytes) -> List[int]:
        """PCM16 samples of ``data``."""
        if self.type == "audio/pcm":
            n = len(data) // 2
            return list(struct.unpack(f"<{n}h", data[: n * 2]))
        if self.type == "audio/pcmu":
            return [_ulaw_decode(b) for b in data]
        return [_alaw_decode(b) for b in data]

    def encode(self, samples: List[int]) -> bytes:
        """``samples`` (PCM16 values) in this format."""
        if self.type == "audio/pcm":
            return struct.pack(f"<{len(samples)}h", *samples)
        if self.type == "audio/pcmu":
            return bytes(0x7F if s > 0 else 0xFF if s == 0 else 0x80 for s in samples)
        return bytes(0xAA if s > 0 else 0xD5 if s == 0 else 0x2A for s in samples)


def _ulaw_decode(byte: int) -> int:
    u = ~byte & 0xFF
    t = ((u & 0x0F) << 3) + 0x84
    t <<= (u & 0x70) >> 4
    return (0x84 - t) if u & 0x80 else (t - 0x84)


def _alaw_decode(byte: int) -> int:
    a = byte ^ 0x55
    t = (a & 0x0F) << 4
    seg = (a & 0x70) >> 4
    if seg == 0:
        t += 8
    elif seg == 1:
        t += 0x108
    else:
        t = (t + 0x108) << (seg - 1)
    return t if a & 0x80 else -t


@dataclass(frozen=True)
class Utterance:
    """A stretch of user speech that ended with silence (session ms)."""

    start_ms: int
    end_ms: int


@dataclass(frozen=True)
class Word:
    """One output transcript fragment and where it sits on the timeline."""

    text: str
    start_ms: int
    end_ms: int


@dataclass
class Speech:
    """Something the model says: words laid out from ``start_ms``, with optional audio.

    ``audio`` is PCM16 24 kHz mono to play instead of the tone; ``fixture`` marks an
    ``output_audio.fixture.play`` (no words; ``fixture_event_id`` echoes the command).
    """

    start_ms: int
    end_ms: int
    words: List[Word]
    audio: Optional[bytes] = None
    fixture: bool = False
    fixture_event_id: Optional[str] = None
    emitted_words: int = 0


@dataclass
class Advance:
    """What happened while one input chunk was consumed."""

    start_ms: int
    end_ms: int
    utterances: List[Utterance] = field(default_factory=list)
    words: List[Word] = field(default_factory=list)
    output_pcm24: bytes = b""
    speaking: bool = False
    fixtures_done: List[Speech] = field(default_factory=list)


class Timeline:
    """The session clock and the model's speech schedule (not thread-safe: the session locks)."""

    def __init__(self, *, silence_ms: int, min_speech_ms: int, ms_per_word: int) -> None:
        self.silence_ms = silence_ms
        self.min_speech_ms = min_speech_ms
        self.ms_per_word = ms_per_word
        self.now_ms: float = 0.0
        self._speech_start: Optional[float] = None
        self._last_voice: float = 0.0
        self._queue: List[Speech] = []

    @property
    def now(self) -> int:
        """The session time in whole milliseconds."""
        return int(self.now_ms)

    @property
    def speaking(self) -> bool:
        """Whether the model has speech queued or in progress."""
        return bool(self._queue)

    @property
    def fixture_active(self) -> bool:
        """Whether an audio fixture is playing."""
        return any(s.fixture for s in self._queue)

    def _next_start(self) -> int:
        return max([self.now] + [s.end_ms for s in self._queue])

    def say(self, text: str, audio: Optional[bytes] = None) -> Speech:
        """Queue ``text`` after whatever the model is saying; return its schedule."""
        start = self._next_start()
        words: List[Word] = []
        pieces = text.split()
        per_word = self.ms_per_word
        if audio is not None and pieces:
            per_word = max(1, int(len(audio) / 2 / 24000 * 1000 / len(pieces)))
        t = start
        for i, piece in enumerate(pieces):
            delta = piece if i == 0 else " " + piece
            words.append(Word(delta, t, t + per_word))
            t += per_word
        end = t
        if audio is not None:
            end = max(end, start + int(len(audio) / 2 / 24000 * 1000))
        speech = Speech(start_ms=start, end_ms=end, words=words, audio=audio)
        self._queue.append(speech)
        return speech

    def play_fixture(self, audio: bytes, event_id: Optional[str]) -> Speech:
        """Queue a fixture (PCM16 24 kHz) after the current speech."""
        start = self._next_start()
        end = start + int(len(audio) / 2 / 24000 * 1000)
        speech = Speech(start, end, [], audio=audio, fixture=True, fixture_event_id=event_id)
        self._queue.append(speech)
        return speech

    def advance(self, samples: List[int], duration_ms: float, *, muted: bool) -> Advance:
        """Consume one input chunk (PCM16 samples lasting ``duration_ms``)."""
        start = self.now_ms
        end = start + duration_ms
        result = Advance(start_ms=int(start), end_ms=int(end))
        self._detect(samples, start, duration_ms, muted, result)
        self.now_ms = end
        result.output_pcm24 = self._render(int(start), int(end), result)
        return result

    def _detect(
        self, samples: List[int], start: float, duration_ms: float, muted: bool, out: Advance
    ) -> None:
        if not samples:
            return
        frame = max(1, int(len(samples) * _FRAME_MS / max(duration_ms, 1e-9)))
        for i in range(0, len(samples), frame):
            chunk = samples[i : i + frame]
            t = start + duration_ms * i / len(samples)
            t_end = start + duration_ms * (i + len(chunk)) / len(samples)
            rms = math.sqrt(sum(s * s for s in chunk) / len(chunk))
            if rms >= _SPEECH_RMS and not muted:
                if self._speech_start is None:
                    self._speech_start = t
                self._last_voice = t_end
            elif self._speech_start is not None and t_end - self._last_voice >= self.silence_ms:
                if self._last_voice - self._speech_start >= self.min_speech_ms:
                    out.utterances.append(Utterance(int(self._speech_start), int(self._last_voice)))
                self._speech_start = None

    def _render(self, start: int, end: int, out: Advance) -> bytes:
        n = max(0, (end - start) * 24)
        pcm = [0] * n
        for speech in list(self._queue):
            lo, hi = max(start, speech.start_ms), min(end, speech.end_ms)
            if hi > lo:
                out.speaking = True
                for k in range(int((lo - start) * 24), min(n, int((hi - start) * 24))):
                    pos = (start * 24 + k) - speech.start_ms * 24
                    pcm[k] = _sample(speech, pos)
            while speech.emitted_words < len(speech.words):
                word = speech.words[speech.emitted_words]
                if word.start_ms >= end:
                    break
                out.words.append(word)
                speech.emitted_words += 1
            if speech.end_ms <= end and speech.emitted_words == len(speech.words):
                self._queue.remove(speech)
                if speech.fixture:
                    out.fixtures_done.append(speech)
        return struct.pack(f"<{n}h", *pcm)

    def speech_ranges(self) -> List[Tuple[int, int]]:
        """The (start_ms, end_ms) of the queued speech (for tests and snapshots)."""
        return [(s.start_ms, s.end_ms) for s in self._queue]


def _sample(speech: Speech, pos: int) -> int:
    if speech.audio is not None:
        i = pos * 2
        if 0 <= i + 1 < len(speech.audio):
            value: int = struct.unpack_from("<h", speech.audio, i)[0]
            return value
        return 0
    return int(8000 * math.sin(2 * math.pi * _TONE_HZ * pos / 24000))


def resample_from_24k(pcm24: bytes, rate: int) -> List[int]:
    """Nearest-neighbour resampling of PCM16 24 kHz to ``rate``."""
    n = len(pcm24) // 2
    samples = struct.unpack(f"<{n}h", pcm24[: n * 2])
    if rate == 24000:
        return list(samples)
    m = n * rate // 24000
    return [samples[i * 24000 // rate] for i in range(m)]


def resample_24k(samples: List[int], rate: int) -> bytes:
    """PCM16 samples at ``rate`` as PCM16 24 kHz bytes (nearest neighbour)."""
    if rate == 24000:
        out = samples
    else:
        n = len(samples) * 24000 // rate
        out = [samples[i * rate // 24000] for i in range(n)]
    return struct.pack(f"<{len(out)}h", *out)
