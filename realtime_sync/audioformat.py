"""Audio format arithmetic, in one place: sample rates, sample widths, bytes and milliseconds.

The Realtime API speaks PCM16 (16-bit little-endian mono, 24 kHz unless the
format says otherwise) and G.711 (μ-law or A-law: one byte per sample at 8 kHz).
Every conversion between a duration and a byte count in the SDK goes through here.
"""

from __future__ import annotations

from typing import Optional

from .models import AudioFormat, AudioFormatType

__all__ = [
    "DEFAULT_PCM_RATE",
    "bytes_per_ms",
    "bytes_to_ms",
    "ms_to_bytes",
    "sample_rate",
    "sample_width",
]

DEFAULT_PCM_RATE = 24000
"""The sample rate of ``audio/pcm`` when the format does not name one."""

_G711_RATE = 8000


def sample_rate(fmt: Optional[AudioFormat]) -> int:
    """Samples per second of ``fmt`` (``None``: the API's default PCM16 at 24 kHz)."""
    if fmt is None or fmt.type == AudioFormatType.PCM:
        return (fmt.rate if fmt is not None else None) or DEFAULT_PCM_RATE
    return _G711_RATE


def sample_width(fmt: Optional[AudioFormat]) -> int:
    """Bytes per sample: 2 for PCM16, 1 for G.711."""
    return 2 if fmt is None or fmt.type == AudioFormatType.PCM else 1


def bytes_per_ms(fmt: Optional[AudioFormat]) -> float:
    """Bytes of mono audio per millisecond (PCM16 at 24 kHz: 48)."""
    return sample_rate(fmt) * sample_width(fmt) / 1000


def ms_to_bytes(ms: float, fmt: Optional[AudioFormat]) -> int:
    """The byte offset of ``ms`` milliseconds, aligned down to a whole sample."""
    width = sample_width(fmt)
    return int(ms * bytes_per_ms(fmt)) // width * width


def bytes_to_ms(size: int, fmt: Optional[AudioFormat]) -> float:
    """Milliseconds of audio in ``size`` bytes."""
    return size / bytes_per_ms(fmt)
