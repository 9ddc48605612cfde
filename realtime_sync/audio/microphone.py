"""``Microphone``: captures, resamples to 24 kHz PCM16 and streams in small chunks.

The input device hands blocks over from its own thread (PortAudio's, for a
sound card); the microphone only queues them there. Its own thread
(``realtime-audio-mic``) resamples from the device's rate and channel count to
mono 24 kHz with :class:`realtime_sync.utils.Resampler` and calls the sink
(usually ``client.append_input_audio``) with chunks of exactly ``chunk_ms``.

Two modes:

* open mic (the default): everything captured is streamed, for server VAD;
* push-to-talk: only what is captured between :meth:`Microphone.press` and
  :meth:`Microphone.release` is streamed; ``release`` sends the rest (a final,
  shorter chunk) before it returns.

:meth:`Microphone.mute` (or a :attr:`Microphone.gate` that returns False)
drops audio instead of streaming it: half-duplex voice apps mute the mic while
the assistant speaks, so it does not hear itself through the speaker.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, Optional, Tuple, Union

from realtime_sync.utils import Resampler

from .backends import InputDevice

__all__ = ["Microphone"]

logger = logging.getLogger("realtime_sync.audio")

API_RATE = 24000
_BYTES_PER_MS = API_RATE * 2 // 1000
_WAIT_FOR_ROOM_S = 10.0  # longest a device that can wait is made to wait for room


class _Marker:
    """A press / release / stop request, ordered with the audio blocks."""

    __slots__ = ("done", "kind")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.done = threading.Event()


class Microphone:
    """Streams captured audio to a sink as 24 kHz mono PCM16 chunks.

    Args:
        device: where to capture from; default: the system's microphone through
            :class:`~realtime_sync.audio.SounddeviceInput` (the ``audio`` extra).
        chunk_ms: size of the chunks given to the sink (10 to 1000 ms; 20 to
            100 ms suits the Realtime API).
        push_to_talk: stream only between :meth:`press` and :meth:`release`.
        max_backlog_ms: captured audio the microphone's thread may fall behind
            by. Beyond that, blocks of a real-time device are dropped (and
            counted in :attr:`overflow_ms`) rather than filling memory, and a
            device that can wait (a WAV file) is made to wait.
    """

    def __init__(
        self,
        device: Optional[InputDevice] = None,
        *,
        chunk_ms: int = 40,
        push_to_talk: bool = False,
        max_backlog_ms: float = 2000.0,
    ) -> None:
        if not 10 <= chunk_ms <= 1000:
            raise ValueError(f"chunk_ms must be between 10 and 1000, got {chunk_ms}")
        if device is None:
            from .backends import SounddeviceInput  # noqa: PLC0415 - needs the audio extra

            device = SounddeviceInput()
        self.device = device
        self.chunk_ms = chunk_ms
        self.push_to_talk = push_to_talk
        self.gate: Optional[Callable[[], bool]] = None
        """When set, audio is streamed only while ``gate()`` returns True.

        It is called for every captured block, on the device's thread (when the
        block is captured): it must be quick and must not block."""
        self._frame_bytes = 2 * device.channels
        self._max_backlog = int(max_backlog_ms * device.sample_rate / 1000) * self._frame_bytes
        self._chunk_bytes = chunk_ms * _BYTES_PER_MS
        self._resampler = Resampler(device.sample_rate, API_RATE, device.channels)
        # (block, open) pairs: whether the mic was open is decided when it was captured.
        self._queue: queue.Queue[Union[Tuple[bytes, bool], _Marker]] = queue.Queue()
        # Guards _sink, _thread, _closed, _submitted, _processed, _backlog and overflow_ms.
        self._lock = threading.Lock()
        # Signals that the thread processed an entry (_processed up, _backlog down) or close().
        self._progress = threading.Condition(self._lock)
        self._submitted = 0
        self._processed = 0
        self._backlog = 0
        self._muted = False
        self._talking = False  # push-to-talk: between press and release (mic thread's view)
        self._pending = bytearray()  # resampled audio not yet sent
        self._sink: Optional[Callable[[bytes], None]] = None
        self._thread: Optional[threading.Thread] = None
        self._closed = False
        self._sink_failed = False
        self.chunks_sent = 0
        """Chunks given to the sink."""
        self.ms_sent = 0.0
        """Milliseconds of 24 kHz audio given to the sink."""
        self.ms_dropped = 0.0
        """Milliseconds of 24 kHz audio dropped: muted, gated, or push-to-talk released."""
        self.overflow_ms = 0.0
        """Milliseconds of captured audio dropped because the thread fell behind."""

    @property
    def sample_rate(self) -> int:
        """The device's capture rate (the audio is resampled from it to 24 kHz)."""
        return self.device.sample_rate

    # ------------------------------------------------------------------ lifecycle

    def start(self, sink: Callable[[bytes], None]) -> Microphone:
        """Start capturing and streaming to ``sink`` (e.g. ``client.append_input_audio``)."""
        with self._lock:
            if self._thread is not None:
                raise RuntimeError("the microphone is already started")
            self._sink = sink
            self._thread = threading.Thread(
                target=self._run, name="realtime-audio-mic", daemon=True
            )
            self._thread.start()
        try:
            self.device.start(self._capture)
        except BaseException:
            self.close()
            raise
        return self

    def close(self, timeout: float = 2.0) -> None:
        """Stop the device and the thread (joined within ``timeout``). Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._progress.notify_all()
        self.device.close(timeout)
        if thread is not None:
            self._queue.put(_Marker("stop"))
            if thread is not threading.current_thread():
                thread.join(timeout)

    def __enter__(self) -> Microphone:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ controls

    @property
    def muted(self) -> bool:
        """True while captured audio is dropped instead of streamed."""
        return self._muted

    def mute(self) -> None:
        """Drop captured audio until :meth:`unmute`."""
        self._muted = True

    def unmute(self) -> None:
        """Stream captured audio again."""
        self._muted = False

    def press(self) -> None:
        """Push-to-talk: start streaming what is captured from now on."""
        self._require_push_to_talk()
        self._submit(_Marker("press"))

    def release(self, timeout: float = 2.0) -> bool:
        """Push-to-talk: stop streaming; returns once the audio captured so far was sent.

        Returns False if that took longer than ``timeout`` seconds.
        """
        self._require_push_to_talk()
        marker = _Marker("release")
        self._submit(marker)
        return marker.done.wait(timeout)

    def _require_push_to_talk(self) -> None:
        if not self.push_to_talk:
            raise RuntimeError("press() and release() need a Microphone(push_to_talk=True)")

    def drain(self, timeout: float = 2.0) -> bool:
        """Block until everything captured so far was processed; False on timeout."""
        with self._progress:
            target = self._submitted
            return self._progress.wait_for(lambda: self._processed >= target, timeout)

    # ------------------------------------------------------------------ the device side

    def _capture(self, block: bytes) -> None:
        """Called by the device, on its thread: queue and return at once."""
        with self._lock:
            if self._closed:
                return
            if not self.device.realtime and not self._wait_for_room(len(block)):
                return
            if self._backlog + len(block) > self._max_backlog:
                first = self.overflow_ms == 0
                self.overflow_ms += len(block) / self._frame_bytes * 1000 / self.sample_rate
                if first:
                    logger.warning(
                        "the microphone thread fell %d ms behind: dropping captured audio",
                        self._max_backlog // self._frame_bytes * 1000 // self.sample_rate,
                    )
                return
            self._backlog += len(block)
            self._submitted += 1
        self._queue.put((block, self._open()))

    def _wait_for_room(self, size: int) -> bool:
        """A device that can wait waits for the thread to catch up; False once closed."""
        self._progress.wait_for(
            lambda: self._closed or self._backlog + size <= self._max_backlog, _WAIT_FOR_ROOM_S
        )
        return not self._closed

    def _submit(self, marker: _Marker) -> None:
        with self._lock:
            if self._thread is None or self._closed:
                marker.done.set()
                return
            self._submitted += 1
        self._queue.put(marker)

    # ------------------------------------------------------------------ the mic thread

    def _run(self) -> None:
        while True:
            try:
                entry = self._queue.get(timeout=0.5)
            except queue.Empty:
                if self._closed:
                    return
                continue
            try:
                if isinstance(entry, _Marker):
                    if entry.kind == "stop":
                        return
                    self._handle_marker(entry)
                else:
                    block, is_open = entry
                    with self._lock:
                        self._backlog -= len(block)
                    self._handle_audio(block, is_open)
            except Exception:
                logger.exception("the microphone thread failed on a block")
            finally:
                if isinstance(entry, _Marker):
                    entry.done.set()
                with self._progress:
                    self._processed += 1
                    self._progress.notify_all()

    def _handle_marker(self, marker: _Marker) -> None:
        if marker.kind == "press":
            self._resampler.flush()  # a new utterance: no audio from before the press
            self._pending.clear()
            self._talking = True
        elif marker.kind == "release" and self._talking:
            self._talking = False
            self._pending += self._resampler.flush()
            if self._pending:
                self._send(bytes(self._pending))
            self._pending.clear()

    def _handle_audio(self, block: bytes, is_open: bool) -> None:
        if self.push_to_talk and not self._talking:
            self.ms_dropped += len(block) / self._frame_bytes * 1000 / self.sample_rate
            return
        pcm = self._resampler.process(block)
        if not is_open:
            self.ms_dropped += (len(pcm) + len(self._pending)) / _BYTES_PER_MS
            self._pending.clear()
            return
        self._pending += pcm
        size = self._chunk_bytes
        while len(self._pending) >= size:
            self._send(bytes(self._pending[:size]))
            del self._pending[:size]

    def _open(self) -> bool:
        """Whether captured audio is to be sent (on the device's thread, at capture)."""
        if self._muted:
            return False
        gate = self.gate
        try:
            return gate is None or bool(gate())
        except Exception:
            logger.exception("the microphone gate raised; the mic stays open")
            return True

    def _send(self, chunk: bytes) -> None:
        sink = self._sink
        if sink is None:
            return
        try:
            sink(chunk)
        except Exception as exc:
            if not self._sink_failed:
                self._sink_failed = True
                logger.warning("the microphone could not send audio (%s); still trying", exc)
            self.ms_dropped += len(chunk) / _BYTES_PER_MS
            return
        self._sink_failed = False
        self.chunks_sent += 1
        self.ms_sent += len(chunk) / _BYTES_PER_MS
