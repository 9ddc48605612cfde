"""Audio helpers of the simulator: formats, tone generation and an energy VAD.

Everything here is pure Python (``array`` + ``math``) so the simulator needs no
numeric library. Three wire formats exist in the GA protocol:

* ``audio/pcm``: 16-bit signed little-endian PCM, 24 kHz, mono (48 bytes per ms);
* ``audio/pcmu``: G.711 mu-law, 8 kHz, mono (8 bytes per ms);
* ``audio/pcma``: G.711 A-law, 8 kHz, mono (8 bytes per ms).

VAD threshold maths
-------------------
The session's ``turn_detection.threshold`` (0.0 to 1.0) is mapped linearly to an
RMS level on the int16 scale::

    rms_threshold = threshold * 0.05 * 32768      # 0.5 -> 819.2 (about -32 dBFS)

Audio is cut into 10 ms frames aligned on the start of the session's audio; a
frame whose RMS is at or above ``rms_threshold`` is speech, any other frame is
silence. Digital silence (RMS 0) is therefore never speech and a tone of
amplitude 0.1 full scale or more (RMS >= 2317) always is, at the default threshold.
"""

from __future__ import annotations

import math
import sys
from array import array
from typing import Iterator, List, NamedTuple, Optional

__all__ = [
    "FORMAT_TYPES",
    "FRAME_MS",
    "AudioFormat",
    "EnergyVad",
    "VadEvent",
    "rms_threshold",
    "speech_audio",
    "tone",
    "tone_chunk_count",
    "tone_chunks",
]

FORMAT_TYPES = ("audio/pcm", "audio/pcmu", "audio/pcma")
"""The ``type`` values a GA audio format object may carry."""

FRAME_MS = 10
"""Length of one VAD analysis frame, in milliseconds."""

_INT16_FULL_SCALE = 32768.0
_VAD_SCALE = 0.05
_BIG_ENDIAN = sys.byteorder == "big"

# --- G.711 ----------------------------------------------------------------------------------

_ULAW_BIAS = 0x84
_ULAW_CLIP = 32635


def _ulaw_decode_byte(code: int) -> int:
    code = ~code & 0xFF
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (((mantissa << 3) + _ULAW_BIAS) << exponent) - _ULAW_BIAS
    return -magnitude if code & 0x80 else magnitude


def _alaw_decode_byte(code: int) -> int:
    code ^= 0x55
    exponent = (code >> 4) & 0x07
    mantissa = code & 0x0F
    magnitude = (
        (mantissa << 4) + 8 if exponent == 0 else ((mantissa << 4) + 0x108) << (exponent - 1)
    )
    return magnitude if code & 0x80 else -magnitude


def _ulaw_encode_sample(sample: int) -> int:
    sign = 0x80 if sample < 0 else 0
    magnitude = min(-sample if sign else sample, _ULAW_CLIP) + _ULAW_BIAS
    exponent = max(magnitude.bit_length() - 8, 0)
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    return ~(sign | (exponent << 4) | mantissa) & 0xFF


def _alaw_encode_sample(sample: int) -> int:
    if sample >= 0:
        mask = 0xD5
    else:
        mask = 0x55
        sample = -sample - 1
    sample = min(sample, 32767)
    if sample < 256:
        exponent = 0
        mantissa = (sample >> 4) & 0x0F
    else:
        exponent = sample.bit_length() - 8
        mantissa = (sample >> (exponent + 3)) & 0x0F
    return ((exponent << 4) | mantissa) ^ mask


_ULAW_TABLE = [_ulaw_decode_byte(code) for code in range(256)]
_ALAW_TABLE = [_alaw_decode_byte(code) for code in range(256)]


class AudioFormat:
    """One of the three GA audio formats, with conversions to and from int16 samples."""

    __slots__ = ("bytes_per_sample", "sample_rate", "type")

    def __init__(self, type_: str = "audio/pcm") -> None:
        if type_ not in FORMAT_TYPES:
            raise ValueError(f"unknown audio format {type_!r}")
        self.type = type_
        self.sample_rate = 24000 if type_ == "audio/pcm" else 8000
        self.bytes_per_sample = 2 if type_ == "audio/pcm" else 1

    @classmethod
    def from_config(cls, config: object) -> AudioFormat:
        """Build the format from a session's ``{"type": ..., "rate": ...}`` object."""
        if isinstance(config, dict) and config.get("type") in FORMAT_TYPES:
            return cls(str(config["type"]))
        return cls()

    @property
    def bytes_per_ms(self) -> float:
        """How many bytes one millisecond of audio takes."""
        return self.sample_rate * self.bytes_per_sample / 1000.0

    def duration_ms(self, n_bytes: int) -> float:
        """Duration of ``n_bytes`` bytes of audio, in milliseconds."""
        return n_bytes / self.bytes_per_ms

    def bytes_for_ms(self, ms: float) -> int:
        """Byte offset of ``ms`` milliseconds, rounded down to a whole sample."""
        samples = int(ms * self.sample_rate / 1000.0 + 1e-9)
        return max(samples, 0) * self.bytes_per_sample

    def decode(self, data: bytes) -> List[int]:
        """Decode wire bytes to int16 samples (a trailing odd byte of PCM is ignored)."""
        if self.type == "audio/pcmu":
            return [_ULAW_TABLE[b] for b in data]
        if self.type == "audio/pcma":
            return [_ALAW_TABLE[b] for b in data]
        samples = array("h")
        samples.frombytes(data[: len(data) - len(data) % 2])
        if _BIG_ENDIAN:
            samples.byteswap()
        return samples.tolist()

    def encode(self, samples: List[int]) -> bytes:
        """Encode int16 samples to wire bytes."""
        if self.type == "audio/pcmu":
            return bytes(_ulaw_encode_sample(s) for s in samples)
        if self.type == "audio/pcma":
            return bytes(_alaw_encode_sample(s) for s in samples)
        out = array("h", samples)
        if _BIG_ENDIAN:
            out.byteswap()
        return out.tobytes()


def _tone_samples(
    start: int, stop: int, n: int, fmt: AudioFormat, *, frequency: float, amplitude: float
) -> List[int]:
    fade = max(int(0.005 * fmt.sample_rate), 1)
    peak = amplitude * 32767.0
    step = 2.0 * math.pi * frequency / fmt.sample_rate
    return [
        int(peak * min(1.0, (i + 1) / fade, (n - i) / fade) * math.sin(step * i))
        for i in range(start, stop)
    ]


def tone(
    duration_ms: float,
    fmt: Optional[AudioFormat] = None,
    *,
    frequency: float = 440.0,
    amplitude: float = 0.25,
) -> bytes:
    """A sine tone of ``duration_ms`` in ``fmt`` (PCM16 24 kHz by default).

    ``amplitude`` is a fraction of full scale; 5 ms fades at both ends avoid clicks.
    """
    fmt = fmt or AudioFormat()
    n = int(duration_ms * fmt.sample_rate / 1000.0 + 1e-9)
    return fmt.encode(_tone_samples(0, n, n, fmt, frequency=frequency, amplitude=amplitude))


def tone_chunks(
    duration_ms: float,
    fmt: AudioFormat,
    chunk_bytes: int,
    *,
    frequency: float = 440.0,
    amplitude: float = 0.25,
) -> Iterator[bytes]:
    """:func:`tone`'s bytes cut into ``chunk_bytes`` pieces, generated one piece at a time.

    A long answer's audio is thus never held in memory at once, and its first
    chunk is ready at once whatever the answer's length.
    """
    n = int(duration_ms * fmt.sample_rate / 1000.0 + 1e-9)
    per_chunk = max(chunk_bytes // fmt.bytes_per_sample, 1)
    for start in range(0, n, per_chunk):
        stop = min(start + per_chunk, n)
        yield fmt.encode(
            _tone_samples(start, stop, n, fmt, frequency=frequency, amplitude=amplitude)
        )


def tone_chunk_count(duration_ms: float, fmt: AudioFormat, chunk_bytes: int) -> int:
    """How many pieces :func:`tone_chunks` yields."""
    n = int(duration_ms * fmt.sample_rate / 1000.0 + 1e-9)
    per_chunk = max(chunk_bytes // fmt.bytes_per_sample, 1)
    return -(-n // per_chunk)


def speech_audio(
    speech_ms: int = 500,
    *,
    silence_ms: int = 1200,
    leading_silence_ms: int = 0,
    audio_format: str = "audio/pcm",
) -> bytes:
    """Speech-like audio that the simulator's server VAD detects as one user turn.

    Returns ``leading_silence_ms`` of digital silence, ``speech_ms`` of a voiced
    sound (a 150 Hz fundamental with two harmonics, its loudness swinging four
    times a second like syllables), then ``silence_ms`` of silence, in the wire
    format ``audio_format`` (PCM16 24 kHz mono by default; "audio/pcmu" and
    "audio/pcma" give G.711 at 8 kHz).

    Every 10 ms frame of the voiced part stays above the speech level of any
    ``threshold`` up to 1.0, and the default trailing silence outlasts both the
    default ``silence_duration_ms`` (500) and semantic_vad's longest pause
    (1000), so appending the result (in one event or in chunks) makes a turn
    happen: ``speech_started``, ``speech_stopped``, the commit and, with
    ``create_response``, a response. A longer ``silence_duration_ms`` needs a
    longer ``silence_ms``.
    """
    if speech_ms <= 0 or silence_ms < 0 or leading_silence_ms < 0:
        raise ValueError("speech_ms must be positive, silence lengths non-negative")
    fmt = AudioFormat(audio_format)
    rate = fmt.sample_rate
    n = int(speech_ms * rate / 1000)
    fade = max(int(0.002 * rate), 1)
    voiced: List[int] = []
    for i in range(n):
        t = i / rate
        envelope = 0.8 + 0.2 * math.cos(2.0 * math.pi * 4.0 * t)
        wave = (
            0.6 * math.sin(2.0 * math.pi * 150.0 * t)
            + 0.3 * math.sin(2.0 * math.pi * 300.0 * t)
            + 0.1 * math.sin(2.0 * math.pi * 450.0 * t)
        )
        gain = min(1.0, (i + 1) / fade, (n - i) / fade)
        voiced.append(int(0.3 * 32767.0 * envelope * gain * wave))
    lead = [0] * int(leading_silence_ms * rate / 1000)
    tail = [0] * int(silence_ms * rate / 1000)
    return fmt.encode(lead + voiced + tail)


def rms_threshold(threshold: float) -> float:
    """RMS level (int16 scale) at or above which a 10 ms frame counts as speech."""
    return threshold * _VAD_SCALE * _INT16_FULL_SCALE


def _rms(samples: List[int]) -> float:
    if not samples:
        return 0.0
    return math.sqrt(sum(s * s for s in samples) / len(samples))


class VadEvent(NamedTuple):
    """A VAD transition: ``kind`` is "start" or "stop", ``ms`` its position in session audio.

    For "start", ``ms`` is the beginning of the first loud frame (prefix padding is
    applied by the caller). For "stop", ``ms`` is the end of the silence window,
    that is the end of the last loud frame plus ``silence_duration_ms``.
    """

    kind: str
    ms: int


class EnergyVad:
    """Frame-energy voice activity detector over the session's appended audio.

    ``position_ms`` is the session-audio time at which the first fed byte starts.
    Not thread-safe: the session feeds it from its receive loop only.
    """

    def __init__(
        self,
        *,
        threshold: float,
        silence_duration_ms: int,
        fmt: AudioFormat,
        position_ms: float = 0.0,
    ) -> None:
        self.threshold = threshold
        self.silence_duration_ms = silence_duration_ms
        self.fmt = fmt
        self._position_ms = position_ms
        self._pending = b""
        self._in_speech = False
        self._silence_ms = 0

    @property
    def in_speech(self) -> bool:
        """Whether speech started and has not stopped yet."""
        return self._in_speech

    def reset(self) -> None:
        """Forget any speech in progress (after a commit or a clear); time keeps running."""
        self._in_speech = False
        self._silence_ms = 0

    def feed(self, data: bytes) -> List[VadEvent]:
        """Analyse newly appended audio and return the transitions it contains."""
        frame_bytes = self.fmt.bytes_for_ms(FRAME_MS)
        buf = self._pending + data
        level = rms_threshold(self.threshold)
        events: List[VadEvent] = []
        offset = 0
        while len(buf) - offset >= frame_bytes:
            frame = buf[offset : offset + frame_bytes]
            offset += frame_bytes
            start_ms = self._position_ms
            self._position_ms += FRAME_MS
            loud = _rms(self.fmt.decode(frame)) >= level
            if not self._in_speech:
                if loud:
                    self._in_speech = True
                    self._silence_ms = 0
                    events.append(VadEvent("start", round(start_ms)))
            elif loud:
                self._silence_ms = 0
            else:
                self._silence_ms += FRAME_MS
                if self._silence_ms >= self.silence_duration_ms:
                    self._in_speech = False
                    self._silence_ms = 0
                    events.append(VadEvent("stop", round(self._position_ms)))
        self._pending = buf[offset:]
        return events
