"""Audio devices behind a small interface, and the devices the SDK ships.

The player and the microphone never talk to sound hardware directly: they use
an :class:`OutputDevice` (which *pulls* blocks of PCM16 from an
:class:`AudioSource`, as a sound card does) and an :class:`InputDevice`
(which *pushes* blocks of captured PCM16 to a callback). That keeps the logic
(jitter buffering, sample accounting, truncation maths, resampling) testable
without sound hardware.

Devices here:

* :class:`FakeOutputDevice` / :class:`FakeInputDevice`: driven by the caller.
  The fake output consumes audio in device-sized blocks only when
  :meth:`FakeOutputDevice.advance` is called, so "1.2 s were played" is exact
  and tests need no sleeps.
* :class:`WavFileOutput` / :class:`WavFileInput`: a WAV file standing in for
  the speaker or the microphone, paced in real time or faster (``speed``).
* :class:`SounddeviceOutput` / :class:`SounddeviceInput`: real devices through
  PortAudio, with the ``audio`` extra (``pip install -e ".[audio]"``).
  ``sounddevice`` is imported only when one of these is created.

All PCM is 16-bit little-endian. Output devices play mono; input devices
deliver interleaved frames with :attr:`InputDevice.channels` channels.
"""

from __future__ import annotations

import abc
import logging
import os
import threading
import time
from array import array
from typing import Any, Callable, List, Optional, Protocol, Union

from realtime_sync.errors import RealtimeError
from realtime_sync.utils import read_wav, write_wav

__all__ = [
    "AudioBackendUnavailableError",
    "AudioDeviceError",
    "AudioSource",
    "FakeInputDevice",
    "FakeOutputDevice",
    "InputDevice",
    "OutputDevice",
    "SounddeviceInput",
    "SounddeviceOutput",
    "WavFileInput",
    "WavFileOutput",
    "list_devices",
]

logger = logging.getLogger("realtime_sync.audio")

DeviceSpec = Union[int, str, None]
"""A PortAudio device: an index, a (part of a) name, or ``None`` for the default."""


class AudioDeviceError(RealtimeError):
    """An audio device could not be opened or failed."""


class AudioBackendUnavailableError(AudioDeviceError):
    """The ``sounddevice`` backend cannot be used: the package or PortAudio is missing."""


class AudioSource(Protocol):
    """What an output device plays from (an :class:`~realtime_sync.audio.AudioPlayer`)."""

    def read(self, frames: int) -> bytes:
        """Exactly ``frames`` mono PCM16 frames at the device's rate (silence when idle)."""
        ...

    @property
    def active(self) -> bool:
        """True while there is audio to play or an item is still streaming in."""
        ...

    def playable_frames(self, sample_rate: int) -> int:
        """Frames (at ``sample_rate``) that :meth:`read` would return as audio right now."""
        ...

    def advance_idle(self, frames: int) -> bool:
        """Let ``frames`` of silence pass if there is nothing to play; False (no-op) otherwise."""
        ...


class OutputDevice(abc.ABC):
    """A speaker: pulls mono PCM16 from a source at :attr:`sample_rate` once started."""

    sample_rate: int
    """Frames per second the device pulls."""

    @abc.abstractmethod
    def start(self, source: AudioSource) -> None:
        """Start pulling from ``source``."""

    @abc.abstractmethod
    def close(self, timeout: float = 2.0) -> None:
        """Stop pulling and release the device (waits at most ``timeout`` s). Idempotent."""


class InputDevice(abc.ABC):
    """A microphone: pushes interleaved PCM16 blocks to a callback once started."""

    sample_rate: int
    """Frames per second captured."""
    channels: int
    """Interleaved channels per frame."""
    realtime: bool = True
    """True for a device that cannot wait (a sound card): when the microphone falls
    behind, its audio is dropped. A device that can wait (a file, a test fake) is
    False, and its ``push`` blocks until the microphone has caught up."""

    @abc.abstractmethod
    def start(self, push: Callable[[bytes], None]) -> None:
        """Start capturing; ``push(block)`` is called from the device's thread."""

    @abc.abstractmethod
    def close(self, timeout: float = 2.0) -> None:
        """Stop capturing and release the device (waits at most ``timeout`` s). Idempotent."""


def _check_rate(sample_rate: int) -> int:
    if isinstance(sample_rate, bool) or not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    return sample_rate


def _block_frames(sample_rate: int, block_ms: float) -> int:
    if block_ms <= 0:
        raise ValueError(f"block_ms must be > 0, got {block_ms}")
    return max(1, round(sample_rate * block_ms / 1000))


# --------------------------------------------------------------------------- fakes


class FakeOutputDevice(OutputDevice):
    """An output device driven by the caller: a manual clock for tests.

    Nothing is played until :meth:`advance` (or :meth:`step`) is called; each
    call pulls whole device blocks of ``block_ms`` from the source on the
    calling thread, so after ``advance(1200)`` exactly 1.2 s has been played.
    Everything played (silence included) is kept in :attr:`played`.
    """

    def __init__(self, sample_rate: int = 24000, *, block_ms: float = 20.0) -> None:
        self.sample_rate = _check_rate(sample_rate)
        self.blocksize = _block_frames(sample_rate, block_ms)
        """Frames per block pulled from the source."""
        self.played = bytearray()
        """Every byte played so far (PCM16 mono at :attr:`sample_rate`)."""
        self._source: Optional[AudioSource] = None
        # Guards _source, _closed and played; step() holds it while it pulls blocks.
        self._lock = threading.Lock()
        self._closed = False

    @property
    def frames_played(self) -> int:
        """Frames pulled from the source so far."""
        return len(self.played) // 2

    def start(self, source: AudioSource) -> None:
        """Attach ``source``; nothing is pulled until :meth:`step` or :meth:`advance`."""
        with self._lock:
            if self._source is not None:
                raise RuntimeError("the device is already started")
            self._source = source

    def step(self, blocks: int = 1) -> bytes:
        """Play ``blocks`` device blocks; returns what was played."""
        with self._lock:
            source = self._source
            if source is None or self._closed:
                raise RuntimeError("the device is not started (or closed)")
            out = bytearray()
            for _ in range(blocks):
                block = source.read(self.blocksize)
                if len(block) != 2 * self.blocksize:
                    raise RuntimeError(
                        f"the source returned {len(block)} bytes for {self.blocksize} frames"
                    )
                out += block
            self.played += out
            return bytes(out)

    def advance(self, ms: float) -> bytes:
        """Play ``ms`` milliseconds (a whole number of blocks); returns what was played.

        Raises:
            ValueError: ``ms`` is not a whole number of device blocks.
        """
        frames = ms * self.sample_rate / 1000
        blocks = round(frames / self.blocksize)
        if abs(blocks * self.blocksize - frames) > 1e-6:
            raise ValueError(
                f"{ms} ms is not a whole number of {self.blocksize}-frame blocks "
                f"at {self.sample_rate} Hz"
            )
        return self.step(blocks)

    def close(self, timeout: float = 2.0) -> None:
        """Mark the device closed: later :meth:`step` calls raise. Idempotent."""
        with self._lock:
            self._closed = True


class FakeInputDevice(InputDevice):
    """An input device driven by the caller: :meth:`feed` delivers audio as captured.

    ``feed(pcm)`` cuts interleaved PCM16 at :attr:`sample_rate` into blocks of
    ``block_ms`` and pushes them synchronously on the calling thread, as a
    sound card's callback would (the last block may be shorter).
    """

    realtime = False

    def __init__(
        self, sample_rate: int = 48000, channels: int = 1, *, block_ms: float = 20.0
    ) -> None:
        self.sample_rate = _check_rate(sample_rate)
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.channels = channels
        self.blocksize = _block_frames(sample_rate, block_ms)
        self._push: Optional[Callable[[bytes], None]] = None
        # Guards _push and frames_fed; feed() holds it while it pushes blocks.
        self._lock = threading.Lock()
        self.frames_fed = 0
        """Frames delivered so far."""

    def start(self, push: Callable[[bytes], None]) -> None:
        """Attach ``push``; :meth:`feed` then calls it on the feeding thread."""
        with self._lock:
            if self._push is not None:
                raise RuntimeError("the device is already started")
            self._push = push

    def feed(self, pcm: bytes) -> None:
        """Deliver ``pcm`` (interleaved PCM16 frames) in device blocks."""
        with self._lock:
            push = self._push
            if push is None:
                raise RuntimeError("the device is not started (or closed)")
            step = 2 * self.channels * self.blocksize
            view = memoryview(pcm)
            for offset in range(0, len(view), step):
                block = bytes(view[offset : offset + step])
                self.frames_fed += len(block) // (2 * self.channels)
                push(block)

    def feed_silence(self, ms: float) -> None:
        """Deliver ``ms`` milliseconds of silence."""
        frames = round(ms * self.sample_rate / 1000)
        self.feed(bytes(2 * self.channels * frames))

    def close(self, timeout: float = 2.0) -> None:
        """Detach ``push``: later :meth:`feed` calls raise. Idempotent."""
        with self._lock:
            self._push = None


# --------------------------------------------------------------------------- WAV files


class _Pacer:
    """Real-time pacing at ``speed`` times real time (0: no pacing), interruptible."""

    def __init__(self, speed: float, stop: threading.Event) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.speed = speed
        self._stop = stop
        self._origin = time.monotonic()

    def wait_until(self, media_s: float) -> bool:
        """Wait until ``media_s`` seconds of media time; False when stopping."""
        if self.speed > 0:
            delay = self._origin + media_s / self.speed - time.monotonic()
            if delay > 0:
                return not self._stop.wait(delay)
        return not self._stop.is_set()


class WavFileOutput(OutputDevice):
    """A WAV file standing in for the speaker.

    A thread (``realtime-audio-wav-output``) pulls blocks of ``block_ms`` from
    the source, paced at ``speed`` times real time, and the file is written on
    :meth:`close`. Blocks pulled while the source is idle (nothing queued,
    nothing streaming) are left out, so the file holds what the speaker would
    have played during the conversation, without the pauses between turns;
    gaps *inside* an answer (the network was too slow) are kept as silence.

    ``speed=0`` plays audio as soon as it is playable, back to back, with no
    silence at all, and lets idle time pass in real time.
    """

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        *,
        sample_rate: int = 24000,
        speed: float = 1.0,
        block_ms: float = 20.0,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        self.path = os.fspath(path)
        self.sample_rate = _check_rate(sample_rate)
        self.speed = speed
        self.blocksize = _block_frames(sample_rate, block_ms)
        self._chunks: List[bytes] = []
        self._lock = threading.Lock()  # guards _chunks and _written
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._source: Optional[AudioSource] = None
        self._written = False

    @property
    def frames_written(self) -> int:
        """Frames kept for the file so far."""
        with self._lock:
            return sum(len(c) for c in self._chunks) // 2

    def start(self, source: AudioSource) -> None:
        """Start the thread that pulls blocks from ``source``."""
        if self._thread is not None:
            raise RuntimeError("the device is already started")
        self._source = source
        self._thread = threading.Thread(
            target=self._run, args=(source,), name="realtime-audio-wav-output", daemon=True
        )
        self._thread.start()

    def _run(self, source: AudioSource) -> None:
        pacer = _Pacer(self.speed, self._stop)
        block_s = self.blocksize / self.sample_rate
        clock = 0.0  # media seconds played
        try:
            while not self._stop.is_set():
                if self.speed == 0:
                    playable = source.playable_frames(self.sample_rate)
                    if playable > 0:
                        block = source.read(min(playable, self.blocksize))
                        with self._lock:
                            self._chunks.append(block)
                        continue
                    # Idle, the clock runs in real time with nothing written; or waiting
                    # for more audio of an answer, the clock stops.
                    if self._stop.wait(block_s if not source.active else 0.002):
                        break
                    source.advance_idle(self.blocksize)
                    continue
                if not pacer.wait_until(clock):
                    break
                active = source.active
                block = source.read(self.blocksize)
                clock += block_s
                if active:
                    with self._lock:
                        self._chunks.append(block)
        except Exception:
            logger.exception("the WAV output thread failed")

    def close(self, timeout: float = 2.0) -> None:
        """Stop the thread and write the file (once)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)
        with self._lock:
            if self._written:
                return
            self._written = True
            pcm = b"".join(self._chunks)
        write_wav(self.path, pcm, self.sample_rate)


class WavFileInput(InputDevice):
    """A WAV file standing in for the microphone (any rate and channel count).

    A thread (``realtime-audio-wav-input``) pushes the file in blocks of
    ``block_ms``, paced at ``speed`` times real time (``0``: as fast as
    possible), after ``lead_silence_ms`` of silence and followed by
    ``tail_silence_ms`` of silence (so server VAD hears the end of the last
    utterance). :meth:`wait_finished` returns once everything was pushed.

    Raises:
        ValueError: the file is not a 16-bit PCM WAV file.
        OSError: the file cannot be read.
    """

    realtime = False

    def __init__(
        self,
        path: Union[str, os.PathLike[str]],
        *,
        speed: float = 1.0,
        block_ms: float = 20.0,
        lead_silence_ms: float = 0.0,
        tail_silence_ms: float = 1500.0,
    ) -> None:
        if speed < 0:
            raise ValueError(f"speed must be >= 0, got {speed}")
        audio = read_wav(path)
        self.path = os.fspath(path)
        self.sample_rate = audio.sample_rate
        self.channels = audio.channels
        self.speed = speed
        self.blocksize = _block_frames(self.sample_rate, block_ms)
        frame = 2 * self.channels

        def silence(ms: float) -> bytes:
            return bytes(frame * round(ms * self.sample_rate / 1000))

        self._pcm = silence(lead_silence_ms) + audio.pcm + silence(tail_silence_ms)
        self.duration_s = len(self._pcm) / frame / self.sample_rate
        """Seconds pushed in all, silences included."""
        self._stop = threading.Event()
        self._finished = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self, push: Callable[[bytes], None]) -> None:
        """Start the thread that pushes the file to ``push``."""
        if self._thread is not None:
            raise RuntimeError("the device is already started")
        self._thread = threading.Thread(
            target=self._run, args=(push,), name="realtime-audio-wav-input", daemon=True
        )
        self._thread.start()

    def _run(self, push: Callable[[bytes], None]) -> None:
        pacer = _Pacer(self.speed, self._stop)
        step = 2 * self.channels * self.blocksize
        try:
            for index, offset in enumerate(range(0, len(self._pcm), step)):
                # A block is pushed once it has been "captured": at its end time.
                if not pacer.wait_until((index + 1) * self.blocksize / self.sample_rate):
                    return
                push(self._pcm[offset : offset + step])
        except Exception:
            logger.exception("the WAV input thread failed")
        finally:
            self._finished.set()

    def wait_finished(self, timeout: float) -> bool:
        """Block until the whole file was pushed (or the device closed); False on timeout."""
        return self._finished.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Stop pushing and join the thread (within ``timeout``). Idempotent."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)


# --------------------------------------------------------------------------- sounddevice


def _sounddevice() -> Any:
    """Import ``sounddevice`` (the ``audio`` extra), or explain what is missing."""
    try:
        # Optional extra, imported on first use; the ignore keeps mypy quiet without it.
        import sounddevice  # type: ignore[import-not-found, import-untyped, unused-ignore]  # noqa: PLC0415
    except ImportError:
        raise AudioBackendUnavailableError(
            "audio devices need the 'audio' extra: pip install -e '.[audio]'"
        ) from None
    except OSError as exc:  # the package is there but the PortAudio library is not
        raise AudioBackendUnavailableError(
            f"the PortAudio library is missing ({exc}): install it (Debian/Ubuntu: "
            "apt-get install libportaudio2; macOS: brew install portaudio)"
        ) from None
    return sounddevice


def list_devices() -> str:
    """The audio devices PortAudio sees, as ``sounddevice`` prints them.

    Raises:
        AudioBackendUnavailableError: ``sounddevice`` or PortAudio is missing.
    """
    return str(_sounddevice().query_devices())


def _to_interleaved(mono: bytes, channels: int) -> bytes:
    """Copy a mono PCM16 block onto every channel."""
    if channels == 1:
        return mono
    samples = array("h")
    samples.frombytes(mono)
    out = array("h", bytes(2 * channels * len(samples)))
    for c in range(channels):
        out[c::channels] = samples
    return out.tobytes()


class _PortAudioStream:
    """What both PortAudio devices share: opening, starting and closing a raw int16 stream."""

    _sd: Any
    _stream: Any
    name: str
    device: DeviceSpec
    sample_rate: int
    blocksize: int
    channels: int
    latency: Union[str, float]

    def _callback(self, data: Any, frames: int, time: Any, status: Any) -> None:
        raise NotImplementedError

    def _open_stream(self, direction: str) -> None:
        """Open and start the ``"output"`` or ``"input"`` stream; raises AudioDeviceError."""
        if self._stream is not None:
            raise RuntimeError("the device is already started")
        sd = self._sd
        factory = sd.RawOutputStream if direction == "output" else sd.RawInputStream
        try:
            stream = factory(
                samplerate=self.sample_rate,
                blocksize=self.blocksize,
                device=self.device,
                channels=self.channels,
                dtype="int16",
                latency=self.latency,
                callback=self._callback,
            )
            stream.start()
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioDeviceError(
                f"cannot open the audio {direction} {self.name!r}: {exc}"
            ) from None
        self._stream = stream

    def _close_stream(self, direction: str) -> None:
        """Abort and close the stream at once. Idempotent."""
        stream, self._stream = self._stream, None
        if stream is None:
            return
        try:
            stream.abort()
            stream.close()
        except Exception:
            logger.warning("closing the audio %s failed", direction, exc_info=True)


class SounddeviceOutput(_PortAudioStream, OutputDevice):
    """A speaker through PortAudio (``sounddevice``, the ``audio`` extra).

    Opens a raw 16-bit stream at 24 kHz when the device accepts it, else at
    the device's default rate (the player then resamples). ``latency`` is
    PortAudio's: ``"high"`` (the default) is robust against Python pauses,
    ``"low"`` answers faster. The stream's callback only copies from the
    player's buffer; it never blocks.

    Raises:
        AudioBackendUnavailableError: ``sounddevice`` or PortAudio is missing.
        AudioDeviceError: no usable output device.
    """

    def __init__(
        self,
        device: DeviceSpec = None,
        *,
        sample_rate: int = 24000,
        latency: Union[str, float] = "high",
        blocksize: int = 0,
    ) -> None:
        sd = self._sd = _sounddevice()
        self.device = device
        self.latency = latency
        self.blocksize = blocksize
        try:
            info = sd.query_devices(device, "output")
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioDeviceError(f"no usable audio output device: {exc}") from None
        self.channels = 1
        self.sample_rate = sample_rate
        for rate, channels in (
            (sample_rate, 1),
            (int(info["default_samplerate"]), 1),
            (sample_rate, 2),
            (int(info["default_samplerate"]), 2),
        ):
            try:
                sd.check_output_settings(
                    device=device, samplerate=rate, channels=channels, dtype="int16"
                )
            except (ValueError, sd.PortAudioError):
                continue
            self.sample_rate, self.channels = rate, channels
            break
        else:
            raise AudioDeviceError(
                f"the output device {info['name']!r} takes neither {sample_rate} Hz nor "
                f"{int(info['default_samplerate'])} Hz 16-bit audio"
            )
        self.name: str = str(info["name"])
        self.underflows = 0
        """Times PortAudio reported an output underflow (audible glitches)."""
        self._stream: Any = None
        self._source: Optional[AudioSource] = None
        self._failed = False

    def start(self, source: AudioSource) -> None:
        """Open and start the PortAudio output stream, playing from ``source``.

        Raises:
            AudioDeviceError: the stream could not be opened.
        """
        self._source = source
        self._open_stream("output")

    def _callback(self, outdata: Any, frames: int, _time: Any, status: Any) -> None:
        # PortAudio's thread: copy and return, never block, never raise.
        if status.output_underflow:
            self.underflows += 1
        source = self._source
        try:
            if source is None:
                raise RuntimeError("no source")
            block = _to_interleaved(source.read(frames), self.channels)
        except Exception:
            if not self._failed:
                self._failed = True
                logger.exception("the audio output callback failed; playing silence")
            block = bytes(2 * self.channels * frames)
        outdata[:] = block

    def close(self, timeout: float = 2.0) -> None:
        """Abort and close the stream at once (``timeout`` is not needed). Idempotent."""
        self._close_stream("output")


class SounddeviceInput(_PortAudioStream, InputDevice):
    """A microphone through PortAudio (``sounddevice``, the ``audio`` extra).

    Captures 16-bit mono at the device's default rate (``sample_rate``
    overrides it); the microphone resamples to 24 kHz. The stream's callback
    only copies the block and hands it over.

    Raises:
        AudioBackendUnavailableError: ``sounddevice`` or PortAudio is missing.
        AudioDeviceError: no usable input device.
    """

    def __init__(
        self,
        device: DeviceSpec = None,
        *,
        sample_rate: Optional[int] = None,
        channels: int = 1,
        latency: Union[str, float] = "low",
        block_ms: float = 20.0,
    ) -> None:
        sd = self._sd = _sounddevice()
        self.device = device
        try:
            info = sd.query_devices(device, "input")
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioDeviceError(f"no usable audio input device: {exc}") from None
        self.name: str = str(info["name"])
        self.sample_rate = sample_rate or int(info["default_samplerate"])
        self.channels = channels
        self.latency = latency
        self.blocksize = _block_frames(self.sample_rate, block_ms)
        try:
            sd.check_input_settings(
                device=device, samplerate=self.sample_rate, channels=channels, dtype="int16"
            )
        except (ValueError, sd.PortAudioError) as exc:
            raise AudioDeviceError(
                f"the input device {self.name!r} does not take {self.sample_rate} Hz "
                f"16-bit audio with {channels} channel(s): {exc}"
            ) from None
        self.overflows = 0
        """Times PortAudio reported an input overflow (audio lost before the SDK saw it)."""
        self._stream: Any = None
        self._push: Optional[Callable[[bytes], None]] = None
        self._failed = False

    def start(self, push: Callable[[bytes], None]) -> None:
        """Open and start the PortAudio input stream, capturing to ``push``.

        Raises:
            AudioDeviceError: the stream could not be opened.
        """
        self._push = push
        self._open_stream("input")

    def _callback(self, indata: Any, _frames: int, _time: Any, status: Any) -> None:
        if status.input_overflow:
            self.overflows += 1
        push = self._push
        if push is None:
            return
        try:
            push(bytes(indata))
        except Exception:
            if not self._failed:
                self._failed = True
                logger.exception("the audio input callback failed")

    def close(self, timeout: float = 2.0) -> None:
        """Stop calling ``push``, abort and close the stream at once. Idempotent."""
        self._push = None
        self._close_stream("input")
