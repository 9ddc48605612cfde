"""Tests for realtime_sync.utils: ids, PCM conversion, base64, resampling, WAV."""

from __future__ import annotations

import io
import math
import re
import sys
import threading
import wave
from array import array
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_sync import utils
from realtime_sync.utils import (
    RealtimeUtils,
    Resampler,
    WavAudio,
    base64_decode,
    base64_encode,
    float_to_pcm16,
    generate_id,
    generate_silence,
    generate_tone,
    load_wav_as_pcm16_24k,
    ms_to_pcm16_bytes,
    pcm16_duration_ms,
    pcm16_to_float,
    read_wav,
    resample_pcm16,
    samples_to_ms,
    write_wav,
)

ID_RE = re.compile(r"^[A-Za-z0-9]*$")


def samples(pcm: bytes) -> list[int]:
    """Decode little-endian PCM16 into ints (test helper)."""
    values = array("h")
    values.frombytes(pcm)
    if sys.byteorder == "big":
        values.byteswap()
    return values.tolist()


def to_pcm(values: list[int]) -> bytes:
    """Encode ints as little-endian PCM16 (test helper)."""
    data = array("h", values)
    if sys.byteorder == "big":
        data.byteswap()
    return data.tobytes()


def interleave(*channels: list[int]) -> bytes:
    """Interleave equal-length channels into one PCM16 buffer."""
    frames: list[int] = []
    for frame in zip(*channels):
        frames.extend(frame)
    return to_pcm(frames)


def estimate_frequency(values: list[int], rate: int) -> float:
    """Frequency from the first and last rising zero crossings (interpolated)."""
    crossings = []
    for k in range(1, len(values)):
        a, b = values[k - 1], values[k]
        if a < 0 <= b:
            crossings.append(k - 1 + (-a) / (b - a))
    assert len(crossings) > 10
    return (len(crossings) - 1) * rate / (crossings[-1] - crossings[0])


def rms(values: list[int]) -> float:
    return math.sqrt(sum(v * v for v in values) / len(values))


# ---------------------------------------------------------------------------
# ids
# ---------------------------------------------------------------------------


def test_generate_id_default_length_and_alphabet() -> None:
    ident = generate_id()
    assert len(ident) == 21
    assert ID_RE.match(ident)


def test_generate_id_length_includes_prefix() -> None:
    ident = generate_id("evt_")
    assert ident.startswith("evt_")
    assert len(ident) == 21
    assert ID_RE.match(ident[4:])
    assert len(generate_id("item_", 32)) == 32
    assert len(generate_id("", 1)) == 1
    assert len(generate_id("", 0)) == 8  # nothing left for the random part


def test_generate_id_long_prefix_keeps_prefix_and_adds_random_chars() -> None:
    ident = generate_id("a_very_long_prefix_", 10)
    assert ident.startswith("a_very_long_prefix_")
    assert len(ident) == len("a_very_long_prefix_") + 8
    assert ID_RE.match(ident[len("a_very_long_prefix_") :])
    assert generate_id("abc", 3) != generate_id("abc", 3)


def test_generate_id_negative_length_rejected() -> None:
    with pytest.raises(ValueError, match="length"):
        generate_id("x", -1)


def test_generate_id_unique_10k() -> None:
    ids = {generate_id("evt_") for _ in range(10_000)}
    assert len(ids) == 10_000


def test_generate_id_uses_every_character() -> None:
    chars = set("".join(generate_id() for _ in range(2000)))
    assert chars == set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")


def test_generate_id_unique_across_threads() -> None:
    results: list[list[str]] = [[] for _ in range(4)]

    def work(out: list[str]) -> None:
        out.extend(generate_id("evt_") for _ in range(5000))

    threads = [threading.Thread(target=work, args=(out,)) for out in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    everything = [i for out in results for i in out]
    assert len(everything) == 20_000
    assert len(set(everything)) == 20_000


def test_realtime_utils_static_methods_are_the_module_functions() -> None:
    names = [
        "generate_id",
        "float_to_pcm16",
        "pcm16_to_float",
        "base64_encode",
        "base64_decode",
        "resample_pcm16",
        "read_wav",
        "write_wav",
        "load_wav_as_pcm16_24k",
        "pcm16_duration_ms",
        "ms_to_pcm16_bytes",
        "samples_to_ms",
        "generate_tone",
        "generate_silence",
    ]
    for name in names:
        assert getattr(RealtimeUtils, name) is getattr(utils, name), name
        assert name in utils.__all__
    assert len(RealtimeUtils().generate_id("x_")) == 21  # also callable on instances


def test_all_lists_existing_public_names() -> None:
    for name in utils.__all__:
        assert hasattr(utils, name), name
        assert getattr(utils, name).__doc__, name


# ---------------------------------------------------------------------------
# float <-> pcm16
# ---------------------------------------------------------------------------


def test_float_to_pcm16_known_values_little_endian() -> None:
    assert float_to_pcm16([1.0]) == b"\xff\x7f"
    assert float_to_pcm16([-1.0]) == b"\x00\x80"
    assert float_to_pcm16([0.0, -0.0]) == b"\x00\x00\x00\x00"
    assert samples(float_to_pcm16([0.5, -0.5])) == [16384, -16384]
    assert float_to_pcm16([]) == b""


def test_float_to_pcm16_clamps_and_maps_nan_to_zero() -> None:
    values = [2.0, -3.5, math.inf, -math.inf, math.nan, 1.0000001, 0.25]
    assert samples(float_to_pcm16(values)) == [32767, -32768, 32767, -32768, 0, 32767, 8192]


def test_pcm16_round_trip_is_exact_for_every_int16() -> None:
    every = list(range(-32768, 32768))
    pcm = to_pcm(every)
    floats = pcm16_to_float(pcm)
    assert min(floats) == -1.0
    assert max(floats) == 1.0
    assert float_to_pcm16(floats) == pcm


def test_pcm16_to_float_accepts_bytearray_and_memoryview() -> None:
    pcm = to_pcm([1000, -1000])
    assert pcm16_to_float(bytearray(pcm)) == pcm16_to_float(pcm)
    assert pcm16_to_float(memoryview(pcm)) == pcm16_to_float(pcm)


def test_pcm16_to_float_odd_length_rejected() -> None:
    with pytest.raises(ValueError, match="even number of bytes"):
        pcm16_to_float(b"\x00\x01\x02")


@given(st.lists(st.floats(min_value=-1.0, max_value=1.0), max_size=200))
def test_float_pcm16_round_trip_property(values: list[float]) -> None:
    back = pcm16_to_float(float_to_pcm16(values))
    assert len(back) == len(values)
    for original, restored in zip(values, back):
        assert abs(original - restored) <= 1 / 32768


@given(st.lists(st.floats(allow_nan=True, allow_infinity=True), max_size=100))
def test_float_to_pcm16_never_raises_property(values: list[float]) -> None:
    pcm = float_to_pcm16(values)
    assert len(pcm) == 2 * len(values)


@given(st.lists(st.integers(min_value=-32768, max_value=32767), max_size=200))
def test_pcm16_float_pcm16_identity_property(values: list[int]) -> None:
    pcm = to_pcm(values)
    assert float_to_pcm16(pcm16_to_float(pcm)) == pcm


# ---------------------------------------------------------------------------
# base64
# ---------------------------------------------------------------------------


def test_base64_known_vector_and_round_trip() -> None:
    assert base64_encode(b"hello") == "aGVsbG8="
    assert base64_decode("aGVsbG8=") == b"hello"
    assert base64_decode(b"aGVsbG8=") == b"hello"
    data = bytes(range(256)) * 3
    text = base64_encode(data)
    assert isinstance(text, str)
    assert "\n" not in text
    assert base64_decode(text) == data
    assert base64_encode(b"") == ""
    assert base64_decode("") == b""


def test_base64_accepts_bytearray_and_memoryview() -> None:
    assert base64_encode(bytearray(b"hi")) == "aGk="
    assert base64_encode(memoryview(b"hi")) == "aGk="


def test_base64_bad_padding_is_value_error() -> None:
    with pytest.raises(ValueError):
        base64_decode("aGVsbG8")


@given(st.binary(max_size=500))
def test_base64_round_trip_property(data: bytes) -> None:
    assert base64_decode(base64_encode(data)) == data


# ---------------------------------------------------------------------------
# resampling
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("from_rate", [48000, 44100, 16000])
def test_resample_keeps_frequency_length_and_amplitude(from_rate: int) -> None:
    tone = generate_tone(frequency=1000, duration_ms=1500, sample_rate=from_rate, amplitude=0.9)
    out = resample_pcm16(tone, from_rate)
    n = len(tone) // 2
    assert abs(len(out) // 2 - round(n * 24000 / from_rate)) <= 1
    values = samples(out)
    middle = values[1200:-1200]  # > 1 s, away from the start and end transients
    assert len(middle) >= 24000
    assert abs(estimate_frequency(middle, 24000) - 1000.0) < 1.0
    peak = max(abs(v) for v in values)
    assert peak < 32767  # no clipping
    assert abs(peak - 0.9 * 32767) < 0.02 * 32767  # amplitude kept


def test_resample_upsampling_keeps_frequency() -> None:
    tone = generate_tone(frequency=440, duration_ms=1500, sample_rate=8000, amplitude=0.5)
    values = samples(resample_pcm16(tone, 8000))
    assert len(values) == 36000
    assert abs(estimate_frequency(values[1000:-1000], 24000) - 440.0) < 1.0


def test_resample_downsampling_rejects_aliases() -> None:
    # 20 kHz cannot be represented at 24 kHz; without a low-pass it would
    # alias to 4 kHz at full strength.
    tone = generate_tone(frequency=20000, duration_ms=500, sample_rate=48000, amplitude=0.9)
    values = samples(resample_pcm16(tone, 48000))
    assert rms(values[500:-500]) < 0.001 * 0.9 * 32767


def test_resample_passes_dc_exactly() -> None:
    pcm = to_pcm([1234] * 4800)
    for rate in (48000, 44100, 16000):
        values = samples(resample_pcm16(pcm[: 2 * rate // 10], rate))
        assert set(values[100:-100]) == {1234}


def test_resample_full_scale_square_wave_is_clamped_not_wrapped() -> None:
    square = ([32767] * 24 + [-32768] * 24) * 200
    values = samples(resample_pcm16(to_pcm(square), 48000))
    assert max(values) == 32767  # ringing overshoots and is clamped...
    assert min(values) == -32768
    # ...never wrapped around: mid-half samples keep their sign (24 outputs a period)
    for period in range(2, 190):
        assert values[24 * period + 6] > 30000
        assert values[24 * period + 18] < -30000


def test_resample_stereo_to_mono_averages_channels() -> None:
    left = samples(generate_tone(frequency=1000, duration_ms=200, sample_rate=48000))
    stereo_same = interleave(left, left)
    mono = resample_pcm16(to_pcm(left), 48000)
    assert resample_pcm16(stereo_same, 48000, channels=2) == mono
    opposite = interleave(left, [-v for v in left])
    assert max(abs(v) for v in samples(resample_pcm16(opposite, 48000, channels=2))) <= 1
    constant = interleave([1000] * 4800, [3000] * 4800)
    values = samples(resample_pcm16(constant, 48000, channels=2))
    assert set(values[50:-50]) == {2000}


def test_resample_same_rate() -> None:
    pcm = generate_tone(duration_ms=100)
    assert resample_pcm16(pcm, 24000) == pcm
    stereo = interleave([100, -7, 5], [300, -8, 6])
    assert samples(resample_pcm16(stereo, 24000, channels=2)) == [200, -7, 6]


def test_resample_edge_cases_and_errors() -> None:
    assert resample_pcm16(b"", 48000) == b""
    assert len(resample_pcm16(to_pcm([5]), 48000)) == 2  # ceil(1 * 24000 / 48000)
    with pytest.raises(ValueError, match="multiple of 2 bytes"):
        resample_pcm16(b"\x00\x00\x00", 48000)
    with pytest.raises(ValueError, match="multiple of 4 bytes"):
        resample_pcm16(b"\x00\x00", 48000, channels=2)
    with pytest.raises(ValueError, match="from_rate"):
        resample_pcm16(b"", 0)
    with pytest.raises(ValueError, match="channels"):
        Resampler(48000, channels=0)
    with pytest.raises(TypeError, match="to_rate"):
        Resampler(48000, 24000.0)  # type: ignore[arg-type]


@pytest.mark.parametrize(("from_rate", "channels"), [(48000, 1), (44100, 2), (16000, 1)])
def test_chunked_resampler_matches_one_shot(from_rate: int, channels: int) -> None:
    tone = samples(generate_tone(frequency=700, duration_ms=1000, sample_rate=from_rate))
    pcm = interleave(*([tone] * channels)) if channels > 1 else to_pcm(tone)
    one_shot = resample_pcm16(pcm, from_rate, channels=channels)
    resampler = Resampler(from_rate, channels=channels)
    chunk = from_rate // 50 * 2 * channels  # 20 ms chunks, as microphones deliver
    parts = [resampler.process(pcm[i : i + chunk]) for i in range(0, len(pcm), chunk)]
    parts.append(resampler.flush())
    assert all(len(p) % 2 == 0 for p in parts)
    assert b"".join(parts) == one_shot
    # Output arrives while streaming, not all at flush().
    assert len(parts[0]) > 0
    assert len(parts[-1]) < len(one_shot) // 10


def test_resampler_reusable_after_flush() -> None:
    pcm = generate_tone(duration_ms=50, sample_rate=48000)
    resampler = Resampler(48000)
    first = resampler.process(pcm) + resampler.flush()
    second = resampler.process(pcm) + resampler.flush()
    assert first == second == resample_pcm16(pcm, 48000)
    assert (resampler.from_rate, resampler.to_rate, resampler.channels) == (48000, 24000, 1)


def test_resampler_keeps_partial_frames_between_chunks() -> None:
    pcm = interleave([1, 2, 3, 4], [5, 6, 7, 8])
    resampler = Resampler(24000, channels=2)
    out = b"".join(resampler.process(pcm[i : i + 3]) for i in range(0, len(pcm), 3))
    assert samples(out) == [3, 4, 5, 6]
    assert resampler.process(b"\x01") == b""
    assert resampler.flush() == b""  # the incomplete frame is dropped


def test_resampler_is_fast_enough_for_live_audio() -> None:
    import time

    pcm = generate_tone(frequency=1000, duration_ms=2000, sample_rate=48000)
    start = time.perf_counter()
    resample_pcm16(pcm, 48000)
    elapsed = time.perf_counter() - start
    assert elapsed < 1.0  # 2 s of audio; ~0.06 s is typical


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    from_rate=st.sampled_from([8000, 16000, 22050, 24000, 44100, 48000, 11111]),
    channels=st.integers(min_value=1, max_value=3),
)
def test_resampler_arbitrary_chunk_splits_property(
    data: st.DataObject, from_rate: int, channels: int
) -> None:
    frames = data.draw(st.integers(min_value=0, max_value=300), label="frames")
    raw = data.draw(st.binary(min_size=2 * channels * frames, max_size=2 * channels * frames))
    cuts = sorted(data.draw(st.lists(st.integers(min_value=0, max_value=len(raw)), max_size=8)))
    resampler = Resampler(from_rate, channels=channels)
    pieces = []
    previous = 0
    for cut in [*cuts, len(raw)]:
        pieces.append(resampler.process(raw[previous:cut]))
        previous = cut
    pieces.append(resampler.flush())
    out = b"".join(pieces)
    assert out == resample_pcm16(raw, from_rate, channels=channels)
    assert len(out) // 2 == math.ceil(frames * 24000 / from_rate)


# ---------------------------------------------------------------------------
# WAV
# ---------------------------------------------------------------------------


def test_wav_round_trip_mono(tmp_path: Path) -> None:
    pcm = generate_tone(duration_ms=250, sample_rate=16000)
    path = tmp_path / "mono.wav"
    write_wav(path, pcm, 16000)
    audio = read_wav(path)
    assert audio == WavAudio(pcm=pcm, sample_rate=16000, channels=1)
    assert audio.frames == 4000
    assert audio.duration_s == pytest.approx(0.25)
    assert read_wav(str(path)) == audio
    assert "bytes" in repr(audio)
    assert len(repr(audio)) < 200  # the samples are not dumped into the repr


def test_wav_round_trip_stereo_file_object() -> None:
    pcm = interleave([1, -2, 3], [32767, -32768, 0])
    buffer = io.BytesIO()
    write_wav(buffer, pcm, 44100, channels=2)
    buffer.seek(0)
    with wave.open(buffer, "rb") as reader:  # a real WAV file, readable by wave
        assert (reader.getnchannels(), reader.getsampwidth()) == (2, 2)
        assert reader.getframerate() == 44100
    buffer.seek(0)
    audio = read_wav(buffer)
    assert (audio.pcm, audio.sample_rate, audio.channels) == (pcm, 44100, 2)
    assert audio.frames == 3
    assert audio.duration_s == pytest.approx(3 / 44100)


def test_write_wav_rejects_partial_frames(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="multiple of 4 bytes"):
        write_wav(tmp_path / "x.wav", b"\x00\x00", channels=2)


def test_read_wav_rejects_8_bit_with_clear_message(tmp_path: Path) -> None:
    path = tmp_path / "eight.wav"
    with wave.open(str(path), "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(1)
        writer.setframerate(8000)
        writer.writeframes(bytes([128] * 100))
    with pytest.raises(ValueError, match="8-bit") as excinfo:
        read_wav(path)
    assert "16-bit" in str(excinfo.value)
    assert "convert" in str(excinfo.value).lower()


def test_read_wav_rejects_non_wav(tmp_path: Path) -> None:
    path = tmp_path / "not.wav"
    path.write_bytes(b"this is not a wav file at all, just text")
    with pytest.raises(ValueError, match="WAV"):
        read_wav(path)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match="WAV"):
        read_wav(empty)


def test_load_wav_as_pcm16_24k(tmp_path: Path) -> None:
    tone = samples(generate_tone(frequency=1000, duration_ms=1200, sample_rate=48000))
    path = tmp_path / "stereo48k.wav"
    write_wav(path, interleave(tone, tone), 48000, channels=2)
    pcm = load_wav_as_pcm16_24k(path)
    assert len(pcm) == 2 * 28800
    assert abs(estimate_frequency(samples(pcm)[1000:-1000], 24000) - 1000.0) < 1.0
    same = tmp_path / "mono24k.wav"
    original = generate_tone(duration_ms=100)
    write_wav(same, original)
    assert load_wav_as_pcm16_24k(same) == original


# ---------------------------------------------------------------------------
# sizes, durations, test signals
# ---------------------------------------------------------------------------


def test_durations_and_sizes() -> None:
    assert pcm16_duration_ms(48000) == 1000.0
    assert pcm16_duration_ms(b"\x00" * 960) == 20.0
    assert pcm16_duration_ms(bytearray(320), sample_rate=16000) == 10.0
    assert ms_to_pcm16_bytes(20) == 960
    assert ms_to_pcm16_bytes(1000, 16000) == 32000
    assert ms_to_pcm16_bytes(10, 44100) == 882
    assert ms_to_pcm16_bytes(0.03) == 2  # 0.72 samples rounds to 1
    assert all(ms_to_pcm16_bytes(ms / 7, 44100) % 2 == 0 for ms in range(200))
    with pytest.raises(ValueError):
        ms_to_pcm16_bytes(-1)
    assert samples_to_ms(24000) == 1000
    assert samples_to_ms(23) == 0  # rounded down
    assert samples_to_ms(8000, 16000) == 500
    assert samples_to_ms(24023) == 1000


def test_generate_tone_and_silence() -> None:
    tone = generate_tone(frequency=500, duration_ms=1000, amplitude=0.5)
    assert len(tone) == 48000
    values = samples(tone)
    assert values[0] == 0
    assert max(values) == round(0.5 * 32767)
    assert abs(estimate_frequency(values, 24000) - 500.0) < 0.5
    assert len(generate_tone(duration_ms=20, sample_rate=16000)) == 640
    with pytest.raises(ValueError, match="amplitude"):
        generate_tone(duration_ms=10, amplitude=1.5)
    assert generate_silence(20) == bytes(960)
    assert generate_silence(10, sample_rate=8000) == bytes(160)
