"""Audio and id helpers for the Realtime API, in pure Python.

The Realtime API speaks 16-bit little-endian mono PCM ("pcm16") at 24 kHz,
sent as base64 text inside JSON events. This module converts to and from that
format without NumPy:

* ids: :func:`generate_id`;
* samples: :func:`float_to_pcm16`, :func:`pcm16_to_float`;
* base64: :func:`base64_encode`, :func:`base64_decode` (``pybase64`` is used
  when installed, via the ``fast`` extra, otherwise :mod:`binascii`);
* resampling: :func:`resample_pcm16` and the streaming :class:`Resampler`;
* WAV files: :func:`read_wav`, :func:`write_wav`, :func:`load_wav_as_pcm16_24k`;
* sizes and durations: :func:`pcm16_duration_ms`, :func:`ms_to_pcm16_bytes`,
  :func:`samples_to_ms`;
* test signals: :func:`generate_tone`, :func:`generate_silence`.

:class:`RealtimeUtils` exposes the same functions as static methods, for code
ported from the JavaScript and Dart clients, which have a class of that name.

All PCM in and out of this module is little-endian, whatever the host's byte
order.
"""

from __future__ import annotations

import binascii
import functools
import math
import os
import random
import sys
import threading
import wave
from array import array
from itertools import repeat
from operator import add, mul
from typing import IO, Callable, List, Sequence, Tuple, Union

import attrs

__all__ = [
    "RealtimeUtils",
    "Resampler",
    "WavAudio",
    "base64_decode",
    "base64_encode",
    "float_to_pcm16",
    "generate_id",
    "generate_silence",
    "generate_tone",
    "load_wav_as_pcm16_24k",
    "ms_to_pcm16_bytes",
    "pcm16_duration_ms",
    "pcm16_to_float",
    "read_wav",
    "resample_pcm16",
    "samples_to_ms",
    "write_wav",
]

_BytesLike = Union[bytes, bytearray, memoryview]
_PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]

_LITTLE_ENDIAN_HOST = sys.byteorder == "little"

#: Sample rate of the Realtime API's ``pcm16`` audio format.
_API_RATE = 24000


def _int16_array(data: _BytesLike) -> array[int]:
    """Return little-endian PCM16 ``data`` as a native ``array('h')``."""
    samples = array("h")
    samples.frombytes(data)
    if not _LITTLE_ENDIAN_HOST:
        samples.byteswap()
    return samples


def _int16_bytes(samples: array[int]) -> bytes:
    """Return a native ``array('h')`` as little-endian PCM16 bytes."""
    if not _LITTLE_ENDIAN_HOST:
        samples = array("h", samples)
        samples.byteswap()
    return samples.tobytes()


def _byte_view(data: _BytesLike) -> memoryview:
    """Return a flat, byte-sized view of any bytes-like object."""
    view = memoryview(data)
    return view if view.format == "B" and view.ndim == 1 else view.cast("B")


# ---------------------------------------------------------------------------
# ids
# ---------------------------------------------------------------------------

_ID_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
# Byte values 0..247 map evenly onto the 62 characters (4 each); 248..255 are
# dropped, so every character is equally likely.
_ID_TABLE = bytes(_ID_ALPHABET[i % len(_ID_ALPHABET)] for i in range(256))
_ID_REJECT = bytes(range(4 * len(_ID_ALPHABET), 256))
_MIN_RANDOM_ID_CHARS = 8

# Ids are not secrets, so a fast seeded PRNG is enough; reseeding after fork()
# keeps a parent and its children from producing the same ids.
_id_rng = random.Random(os.urandom(32))


def _reseed_id_rng() -> None:
    _id_rng.seed(os.urandom(32))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reseed_id_rng)


def generate_id(prefix: str = "", length: int = 21) -> str:
    """Return ``prefix`` followed by random characters from ``[A-Za-z0-9]``.

    As in the JavaScript reference client, ``length`` is the length of the
    whole id, prefix included: ``generate_id("evt_")`` is 4 + 17 characters.
    If the prefix is as long as ``length`` or longer, the prefix is kept whole
    and 8 random characters are appended, so the id is still unique; such ids
    are longer than ``length``.

    Ids are unique (62**17 possibilities for an ``evt_`` id) but not
    unpredictable: use :mod:`secrets` for anything that must stay secret.
    Safe to call from any number of threads.

    Raises:
        ValueError: ``length`` is negative.
    """
    if length < 0:
        raise ValueError(f"length must be >= 0, got {length}")
    count = length - len(prefix)
    if count <= 0:
        count = _MIN_RANDOM_ID_CHARS
    chars = b""
    while len(chars) < count:
        # A few spare bytes make up for the rejected ones (1 in 32 on average).
        raw = _id_rng.randbytes(count - len(chars) + 8)
        chars += raw.translate(_ID_TABLE, _ID_REJECT)
    return prefix + chars[:count].decode("ascii")


# ---------------------------------------------------------------------------
# float <-> pcm16
# ---------------------------------------------------------------------------


def _float_to_int16_checked(x: float) -> int:
    """Convert one sample, mapping NaN to 0 (the slow path of float_to_pcm16)."""
    if math.isnan(x):
        return 0
    if x >= 1.0:
        return 32767
    if x <= -1.0:
        return -32768
    if x >= 0.0:
        return int(x * 32767.0 + 0.5)
    return int(x * 32768.0 - 0.5)


def float_to_pcm16(samples: Sequence[float]) -> bytes:
    """Convert float samples in [-1.0, 1.0] to little-endian PCM16 bytes.

    Values outside the range are clamped and NaN becomes 0. Positive values
    are scaled by 32767 and negative ones by 32768, so -1.0 and 1.0 map to the
    two ends of the int16 range and 0.0 to 0; results are rounded to the
    nearest integer (halves away from zero). :func:`pcm16_to_float` is the
    exact inverse for every int16 value.
    """
    try:
        values = [
            32767
            if x >= 1.0
            else -32768
            if x <= -1.0
            else int(x * 32767.0 + 0.5)
            if x >= 0.0
            else int(x * 32768.0 - 0.5)
            for x in samples
        ]
    except ValueError:  # a NaN reached int(); redo the slow, careful way
        values = [_float_to_int16_checked(x) for x in samples]
    return _int16_bytes(array("h", values))


def pcm16_to_float(data: _BytesLike) -> list[float]:
    """Convert little-endian PCM16 bytes to floats in [-1.0, 1.0].

    The inverse of :func:`float_to_pcm16`: negative samples are divided by
    32768 and the others by 32767.

    Raises:
        ValueError: ``data`` has an odd number of bytes, so it cannot be PCM16.
    """
    view = _byte_view(data)
    if len(view) % 2:
        raise ValueError(
            f"PCM16 data must have an even number of bytes (2 per sample), got {len(view)}"
        )
    return [s / 32768.0 if s < 0 else s / 32767.0 for s in _int16_array(view)]


# ---------------------------------------------------------------------------
# base64 (pybase64 when installed, chosen once at import)
# ---------------------------------------------------------------------------

_b64encode: Callable[[_BytesLike], bytes]
_b64decode: Callable[[Union[str, _BytesLike]], bytes]

try:
    # The ignore keeps mypy quiet where the optional extra is not installed.
    import pybase64 as _pybase64  # type: ignore[import-not-found, unused-ignore]
except ImportError:  # the optional "fast" extra is not installed

    def _b64encode(data: _BytesLike) -> bytes:
        return binascii.b2a_base64(data, newline=False)

    _b64decode = binascii.a2b_base64
    _BASE64_BACKEND = "binascii"
else:
    _b64encode = _pybase64.b64encode
    _BASE64_BACKEND = "pybase64"

    def _b64decode(data: Union[str, _BytesLike]) -> bytes:
        # The validating decoder is the faster one; only odd input takes the lenient path.
        try:
            result: bytes = _pybase64.b64decode(data, validate=True)
        except ValueError:
            result = _pybase64.b64decode(data)
        return result


def base64_encode(data: _BytesLike) -> str:
    """Encode bytes as standard base64 text (with padding, no newlines)."""
    return _b64encode(data).decode("ascii")


def base64_decode(data: Union[str, bytes]) -> bytes:
    """Decode standard base64 text (``str`` or ASCII ``bytes``) to bytes.

    Characters outside the base64 alphabet, such as newlines, are ignored.

    Raises:
        ValueError: the padding is wrong or ``data`` is not ASCII
            (:class:`binascii.Error` is a subclass of ``ValueError``).
    """
    return _b64decode(data)


# ---------------------------------------------------------------------------
# resampling
# ---------------------------------------------------------------------------

# Kernel design: a Kaiser-windowed sinc. _ZERO_CROSSINGS is the half-width of
# the kernel in samples of the lower of the two rates; _ROLLOFF puts the cutoff
# (-6 dB) just below the lower rate's Nyquist frequency; _KAISER_BETA trades
# stopband attenuation against transition width.
_ZERO_CROSSINGS = 8
_ROLLOFF = 0.91
_KAISER_BETA = 7.0
# Rate pairs that need more distinct fractional positions than this use the
# nearest of _MAX_PHASES + 1 evenly spaced ones (at most 1/1024 sample off).
_MAX_PHASES = 512
# Kernel taps are integers summing to 2**_TAP_BITS in every phase, so DC is
# passed exactly and the arithmetic is exact (streamed == one-shot, bit for bit).
_TAP_BITS = 15

_sumprod: Callable[[Sequence[int], Sequence[int]], int] = getattr(
    math, "sumprod", lambda a, b: sum(map(mul, a, b))
)


def _bessel_i0(x: float) -> float:
    """Modified Bessel function of the first kind, order 0 (power series)."""
    total = term = 1.0
    k = 1
    half = x / 2.0
    while term > 1e-12 * total:
        term *= (half / k) ** 2
        total += term
        k += 1
    return total


@functools.lru_cache(maxsize=32)
def _design_kernel(up: int, down: int) -> Tuple[int, Tuple[Tuple[int, ...], ...]]:
    """Return ``(half_width, phase_tables)`` for resampling by ``up/down``.

    Output ``m`` sits at input position ``t = m * down / up`` = ``i + r / up``
    and is ``sum(x[i - half_width + 1 + j] * table[r][j]) / 2**_TAP_BITS``.
    """
    ratio = max(1.0, down / up)  # > 1 when downsampling: cutoff moves down
    half_width = math.ceil(_ZERO_CROSSINGS * ratio)
    taps = 2 * half_width
    cutoff = 0.5 * _ROLLOFF / ratio  # cycles per input sample
    i0_beta = _bessel_i0(_KAISER_BETA)
    scale = 1 << _TAP_BITS

    def table(frac: float) -> Tuple[int, ...]:
        weights = []
        for j in range(taps):
            d = j - (half_width - 1) - frac  # distance from the output position
            u = d / half_width
            if abs(u) >= 1.0:
                weights.append(0.0)
                continue
            arg = 2.0 * cutoff * d
            sinc = 1.0 if arg == 0.0 else math.sin(math.pi * arg) / (math.pi * arg)
            window = _bessel_i0(_KAISER_BETA * math.sqrt(1.0 - u * u)) / i0_beta
            weights.append(sinc * window)
        total = sum(weights)
        ints = [round(w * scale / total) for w in weights]
        # Put the rounding residue on the largest tap: every phase sums to 2**bits.
        biggest = max(range(taps), key=lambda k: ints[k])
        ints[biggest] += scale - sum(ints)
        return tuple(ints)

    if up <= _MAX_PHASES:
        return half_width, tuple(table(r / up) for r in range(up))
    unique = [table(q / _MAX_PHASES) for q in range(_MAX_PHASES + 1)]
    return half_width, tuple(unique[(r * _MAX_PHASES + up // 2) // up] for r in range(up))


def _check_rate(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (samples per second), got {value!r}")
    if value <= 0:
        raise ValueError(f"{name} must be > 0, got {value}")


class Resampler:
    """Streaming PCM16 resampler: interleaved input at ``from_rate``, mono output.

    Feed chunks of any size to :meth:`process` (each returns the output that
    is ready) and call :meth:`flush` at the end of the stream for the rest.
    Output equals :func:`resample_pcm16` on the whole stream bit for bit,
    however the input is split, even in the middle of a sample.

    Multi-channel input is averaged to mono first. Resampling uses a
    Kaiser-windowed sinc evaluated at exact rational positions in integer
    arithmetic (the quality of a good polyphase resampler, not of linear
    interpolation). Measured for 48 kHz / 44.1 kHz / 16 kHz -> 24 kHz: the
    response is within 0.5 dB up to 75% of the lower rate's Nyquist frequency
    (9 kHz for 24 kHz output), -2.3 dB at 83% and -6.5 dB at 92%; aliases and
    images that land below 2/3 of that Nyquist frequency (8 kHz) are at least
    64 dB down, those landing higher at least 27 dB down. The kernel is 16
    taps long when upsampling and ``16 * from_rate / to_rate`` taps when
    downsampling (32 for 48 kHz), which delays the output by half that many
    input frames. Equal rates only mix the channels. Speed, pure CPython 3.11:
    about 0.3 s for 10 s of 48 kHz audio, 0.2 s for 10 s of 16 kHz audio.

    An instance holds the state of one stream; :meth:`process` and
    :meth:`flush` may be called from different threads (a lock serialises
    them). After :meth:`flush` the instance is ready for a new stream.
    """

    def __init__(self, from_rate: int, to_rate: int = _API_RATE, channels: int = 1) -> None:
        """Create a resampler from ``from_rate`` Hz to ``to_rate`` Hz (mono).

        Raises:
            TypeError: a rate or ``channels`` is not an int.
            ValueError: a rate or ``channels`` is not positive.
        """
        _check_rate("from_rate", from_rate)
        _check_rate("to_rate", to_rate)
        if isinstance(channels, bool) or not isinstance(channels, int):
            raise TypeError(f"channels must be an int, got {channels!r}")
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self._from_rate = from_rate
        self._to_rate = to_rate
        self._channels = channels
        self._frame_bytes = 2 * channels
        # Guards the stream state set by _reset() (_pending, _buf, _base, _frames_in, _next_out).
        self._lock = threading.Lock()
        self._passthrough = from_rate == to_rate
        common = math.gcd(from_rate, to_rate)
        self._up = to_rate // common
        self._down = from_rate // common
        if self._passthrough:
            self._half_width = 0
            self._tables: Tuple[Tuple[int, ...], ...] = ()
        else:
            self._half_width, self._tables = _design_kernel(self._up, self._down)
        self._denominator = channels << _TAP_BITS
        self._reset()

    def _reset(self) -> None:
        self._pending = b""  # trailing bytes of an incomplete frame
        # Channel-summed input; _buf[0] is input frame number _base. The stream
        # starts with half_width - 1 frames of (virtual) silence.
        self._buf: List[int] = [0] * max(self._half_width - 1, 0)
        self._base = -len(self._buf)
        self._frames_in = 0  # input frames received in this stream
        self._next_out = 0  # number of the next output sample

    @property
    def from_rate(self) -> int:
        """Input sample rate in Hz."""
        return self._from_rate

    @property
    def to_rate(self) -> int:
        """Output sample rate in Hz."""
        return self._to_rate

    @property
    def channels(self) -> int:
        """Number of interleaved input channels (the output is mono)."""
        return self._channels

    def process(self, chunk: _BytesLike) -> bytes:
        """Add a chunk of interleaved PCM16 input; return the output now ready.

        The chunk may end in the middle of a frame: the extra bytes are kept
        for the next call.
        """
        with self._lock:
            frames = self._whole_frames(chunk)
            if self._passthrough and self._channels == 1:
                return bytes(frames)
            mono = self._sum_channels(frames)
            if self._passthrough:
                return _int16_bytes(array("h", self._mix_down(mono)))
            self._buf += mono
            self._frames_in += len(mono)
            # Output m needs input frames up to floor(m * down / up) + half_width.
            ready = self._frames_in - self._half_width
            end = -((-ready * self._up) // self._down) if ready > 0 else 0
            return self._produce(end)

    def flush(self) -> bytes:
        """Return the rest of the output and reset for a new stream.

        The input is treated as followed by silence, and the output stops at
        the last output position inside the input: ``ceil(frames * to_rate /
        from_rate)`` samples in all for the stream. An incomplete trailing
        frame is dropped.
        """
        with self._lock:
            try:
                if self._passthrough:
                    return b""
                self._buf += [0] * self._half_width
                end = -((-self._frames_in * self._up) // self._down)
                return self._produce(end)
            finally:
                self._reset()

    def _whole_frames(self, chunk: _BytesLike) -> _BytesLike:
        """Return the whole frames available, keeping any partial one for later."""
        view = _byte_view(chunk)
        if self._pending:
            data: _BytesLike = self._pending + view.tobytes()
        else:
            data = view
        whole = len(data) - len(data) % self._frame_bytes
        self._pending = bytes(data[whole:])
        return data[:whole]

    def _sum_channels(self, frames: _BytesLike) -> List[int]:
        """Decode interleaved frames into per-frame sums of the channels."""
        samples = _int16_array(frames).tolist()
        channels = self._channels
        if channels == 1:
            return samples
        mixed = list(map(add, samples[0::channels], samples[1::channels]))
        for c in range(2, channels):
            mixed = list(map(add, mixed, samples[c::channels]))
        return mixed

    def _mix_down(self, summed: List[int]) -> List[int]:
        """Turn channel sums into rounded channel averages."""
        channels = self._channels
        if channels == 1:
            return summed
        half = channels // 2
        return [(s + half) // channels for s in summed]

    def _produce(self, end: int) -> bytes:
        """Compute output samples ``_next_out .. end - 1`` and trim the buffer."""
        start = self._next_out
        if end <= start:
            return b""
        up, down = self._up, self._down
        taps = 2 * self._half_width
        tables = self._tables
        buf = self._buf
        denominator = self._denominator
        half = denominator // 2
        dot = _sumprod
        # Output m reads buf[s : s + taps] with table r, where
        # m * down = (s + offset) * up + r and offset = half_width - 1 + base.
        shift = (self._half_width - 1 + self._base) * up
        values = [
            (dot(buf[s : s + taps], tables[r]) + half) // denominator
            for s, r in map(
                divmod, range(start * down - shift, end * down - shift, down), repeat(up)
            )
        ]
        if max(values) > 32767 or min(values) < -32768:
            values = [min(32767, max(-32768, v)) for v in values]
        self._next_out = end
        # Drop input no later output needs.
        first_needed = (end * down) // up - self._half_width + 1
        drop = min(first_needed - self._base, len(buf))
        if drop > 0:
            del buf[:drop]
            self._base += drop
        return _int16_bytes(array("h", values))


def resample_pcm16(
    data: _BytesLike, from_rate: int, to_rate: int = _API_RATE, *, channels: int = 1
) -> bytes:
    """Resample interleaved PCM16 ``data`` to mono PCM16 at ``to_rate``.

    Channels are averaged to mono first. The output has
    ``ceil(frames * to_rate / from_rate)`` samples; the method and its quality
    are described on :class:`Resampler`. Mono input at the same rate is
    returned unchanged.

    Raises:
        ValueError: ``data`` is not a whole number of frames (2 bytes per
            channel), or a rate or ``channels`` is not positive.
        TypeError: a rate or ``channels`` is not an int.
    """
    resampler = Resampler(from_rate, to_rate, channels)
    view = _byte_view(data)
    if len(view) % (2 * channels):
        raise ValueError(
            f"PCM16 data with {channels} channel(s) must be a multiple of "
            f"{2 * channels} bytes, got {len(view)}"
        )
    if from_rate == to_rate and channels == 1:
        return view.tobytes()
    return resampler.process(view) + resampler.flush()


# ---------------------------------------------------------------------------
# WAV files
# ---------------------------------------------------------------------------


def _pcm_repr(pcm: bytes) -> str:
    return f"<{len(pcm)} bytes>"


@attrs.frozen
class WavAudio:
    """PCM16 audio read from a WAV file.

    ``pcm`` is interleaved little-endian 16-bit PCM with ``channels`` channels
    at ``sample_rate`` Hz.
    """

    pcm: bytes = attrs.field(repr=_pcm_repr)
    sample_rate: int
    channels: int

    @property
    def frames(self) -> int:
        """Number of frames (samples per channel)."""
        return len(self.pcm) // (2 * self.channels)

    @property
    def duration_s(self) -> float:
        """Duration in seconds."""
        return self.frames / self.sample_rate


def _wave_target(path_or_file: _PathOrFile) -> Union[str, IO[bytes]]:
    """Return what :func:`wave.open` accepts (it takes no path-like before 3.12)."""
    if isinstance(path_or_file, (str, os.PathLike)):
        return os.fspath(path_or_file)
    return path_or_file


def read_wav(path_or_file: _PathOrFile) -> WavAudio:
    """Read a 16-bit PCM WAV file (a path or a binary file object).

    Raises:
        ValueError: the file is not a WAV file, is truncated, or does not hold
            16-bit PCM (the message names the sample width and how to convert).
    """
    try:
        with wave.open(_wave_target(path_or_file), "rb") as reader:
            width = reader.getsampwidth()
            if width != 2:
                raise ValueError(
                    f"unsupported WAV sample width: {8 * width}-bit; only 16-bit PCM is "
                    "supported. Convert the file first, for example with "
                    "`ffmpeg -i in.wav -c:a pcm_s16le out.wav` or `sox in.wav -b 16 out.wav`"
                )
            channels = reader.getnchannels()
            sample_rate = reader.getframerate()
            raw = reader.readframes(reader.getnframes())
    except wave.Error as exc:
        raise ValueError(
            f"not a 16-bit PCM WAV file ({exc}); convert it first, for example with "
            "`ffmpeg -i in.wav -c:a pcm_s16le out.wav`"
        ) from exc
    except EOFError as exc:
        raise ValueError("the WAV file is empty or truncated") from exc
    if not _LITTLE_ENDIAN_HOST:
        # wave hands out native-order samples; this module uses little-endian.
        swapped = array("h")
        swapped.frombytes(raw)
        swapped.byteswap()
        raw = swapped.tobytes()
    frame_bytes = 2 * channels
    raw = raw[: len(raw) - len(raw) % frame_bytes]  # drop a truncated last frame
    return WavAudio(pcm=raw, sample_rate=sample_rate, channels=channels)


def write_wav(
    path_or_file: _PathOrFile,
    pcm: _BytesLike,
    sample_rate: int = _API_RATE,
    channels: int = 1,
) -> None:
    """Write interleaved little-endian PCM16 to a WAV file (path or binary file).

    Raises:
        ValueError: ``pcm`` is not a whole number of frames, or the rate or
            channel count is not positive.
    """
    _check_rate("sample_rate", sample_rate)
    if channels < 1:
        raise ValueError(f"channels must be >= 1, got {channels}")
    view = _byte_view(pcm)
    if len(view) % (2 * channels):
        raise ValueError(
            f"PCM16 data with {channels} channel(s) must be a multiple of "
            f"{2 * channels} bytes, got {len(view)}"
        )
    data: _BytesLike = view
    if not _LITTLE_ENDIAN_HOST:
        # wave expects native-order samples and swaps them to little-endian.
        native = _int16_array(view)
        data = native.tobytes()
    with wave.open(_wave_target(path_or_file), "wb") as writer:
        writer.setnchannels(channels)
        writer.setsampwidth(2)
        writer.setframerate(sample_rate)
        writer.writeframes(data)


def load_wav_as_pcm16_24k(path: _PathOrFile) -> bytes:
    """Read a 16-bit PCM WAV file as mono 24 kHz PCM16, ready to send to the API.

    Raises:
        ValueError: as :func:`read_wav`.
    """
    audio = read_wav(path)
    return resample_pcm16(audio.pcm, audio.sample_rate, _API_RATE, channels=audio.channels)


# ---------------------------------------------------------------------------
# sizes, durations and test signals
# ---------------------------------------------------------------------------


def pcm16_duration_ms(data_or_len: Union[_BytesLike, int], sample_rate: int = _API_RATE) -> float:
    """Duration in milliseconds of mono PCM16 audio, given the bytes or their count."""
    size = data_or_len if isinstance(data_or_len, int) else _byte_view(data_or_len).nbytes
    return (size // 2) * 1000.0 / sample_rate


def ms_to_pcm16_bytes(ms: float, sample_rate: int = _API_RATE) -> int:
    """Number of bytes of mono PCM16 lasting ``ms`` milliseconds (always even).

    The sample count ``ms * sample_rate / 1000`` is rounded to the nearest
    integer, then doubled.

    Raises:
        ValueError: ``ms`` is negative.
    """
    if ms < 0:
        raise ValueError(f"ms must be >= 0, got {ms}")
    return round(ms * sample_rate / 1000.0) * 2


def samples_to_ms(samples: int, sample_rate: int = _API_RATE) -> int:
    """Whole milliseconds in ``samples`` samples, rounded down.

    Rounding down suits ``audio_end_ms`` when truncating played audio: it never
    claims more than was played.
    """
    return (samples * 1000) // sample_rate


def generate_tone(
    *,
    frequency: float = 440.0,
    duration_ms: float,
    sample_rate: int = _API_RATE,
    amplitude: float = 0.3,
) -> bytes:
    """Return a mono PCM16 sine wave (handy for tests and demos).

    ``amplitude`` is the peak as a fraction of full scale, in [0, 1].

    Raises:
        ValueError: ``amplitude`` is outside [0, 1] or ``duration_ms`` is negative.
    """
    if not 0.0 <= amplitude <= 1.0:
        raise ValueError(f"amplitude must be in [0, 1], got {amplitude}")
    count = ms_to_pcm16_bytes(duration_ms, sample_rate) // 2
    step = 2.0 * math.pi * frequency / sample_rate
    sin = math.sin
    return float_to_pcm16([amplitude * sin(step * n) for n in range(count)])


def generate_silence(duration_ms: float, sample_rate: int = _API_RATE) -> bytes:
    """Return ``duration_ms`` of mono PCM16 silence (zero bytes).

    Raises:
        ValueError: ``duration_ms`` is negative.
    """
    return bytes(ms_to_pcm16_bytes(duration_ms, sample_rate))


# ---------------------------------------------------------------------------
# RealtimeUtils
# ---------------------------------------------------------------------------


class RealtimeUtils:
    """The module's functions as static methods, as in the JS and Dart clients.

    ``RealtimeUtils.generate_id is generate_id``, and so on: both spellings
    are the same functions.
    """

    generate_id = staticmethod(generate_id)
    float_to_pcm16 = staticmethod(float_to_pcm16)
    pcm16_to_float = staticmethod(pcm16_to_float)
    base64_encode = staticmethod(base64_encode)
    base64_decode = staticmethod(base64_decode)
    resample_pcm16 = staticmethod(resample_pcm16)
    read_wav = staticmethod(read_wav)
    write_wav = staticmethod(write_wav)
    load_wav_as_pcm16_24k = staticmethod(load_wav_as_pcm16_24k)
    pcm16_duration_ms = staticmethod(pcm16_duration_ms)
    ms_to_pcm16_bytes = staticmethod(ms_to_pcm16_bytes)
    samples_to_ms = staticmethod(samples_to_ms)
    generate_tone = staticmethod(generate_tone)
    generate_silence = staticmethod(generate_silence)
