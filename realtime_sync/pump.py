"""AudioPump: keeps a continuous audio input flowing at real-time pace.

Some sessions have a clock that only advances while input audio arrives: a
GPT-Live session places nothing and expires when appends stop, and a
translation session treats a gap as contiguous audio. For those, the app's
audio must be sent as a steady stream, silence included.

An :class:`AudioPump` owns that stream. The app feeds audio with
:meth:`AudioPump.feed` from any thread; a daemon thread sends one frame of ``frame_ms`` every
``frame_ms``: the queued audio, padded with silence (or all silence when the
app has nothing). When it falls far behind (the process was suspended), it
does not burst to catch up. The ``send`` callable returns ``False`` when the
session is over, which ends the pump.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, Optional, Union

__all__ = ["SILENCE_BYTE", "AudioPump"]

logger = logging.getLogger("realtime_sync")

SILENCE_BYTE = {"audio/pcm": b"\x00", "audio/pcmu": b"\xff", "audio/pcma": b"\xd5"}
"""One byte of silence per audio format type (PCM16 silence is two per sample)."""

_CATCH_UP_LIMIT_S = 1.0  # further behind than this: restart the schedule


class AudioPump:
    """Sends queued audio, or silence, in frames at real-time pace on its own thread.

    Args:
        send: called on the pump thread with each frame (``frame_ms`` of audio);
            returns ``False`` when the session is over (the pump then stops).
        bytes_per_ms: bytes of one millisecond of audio (48 for 24 kHz PCM16).
        frame_ms: the frame length, 10 to 1000 ms.
        silence: the byte that encodes silence (see :data:`SILENCE_BYTE`).
        name: the pump thread's name.
        clock: a monotonic clock (seconds); passed in for tests.
    """

    def __init__(
        self,
        send: Callable[[bytes], bool],
        *,
        bytes_per_ms: int,
        frame_ms: int = 100,
        silence: bytes = b"\x00",
        name: str = "realtime-pump",
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 10 <= frame_ms <= 1000:
            raise ValueError("frame_ms must be between 10 and 1000")
        if bytes_per_ms <= 0:
            raise ValueError("bytes_per_ms must be positive")
        self._send = send
        self.bytes_per_ms = bytes_per_ms
        """Bytes of one millisecond of audio."""
        self.frame_ms = frame_ms
        """The frame length in milliseconds."""
        self._silence = silence
        self._name = name
        self._clock = clock
        self._queue = bytearray()  # audio fed and not sent yet, guarded by _lock
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None  # set and cleared by start/stop only
        self.frames_sent = 0
        """Frames sent since :meth:`start` (written by the pump thread only)."""
        self.silent_frames = 0
        """Frames that were all silence (the app had nothing queued)."""

    @property
    def running(self) -> bool:
        """Whether the pump thread is alive."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def queued_ms(self) -> float:
        """Milliseconds of fed audio the pump has not sent yet."""
        with self._lock:
            return len(self._queue) / self.bytes_per_ms

    def feed(self, audio: Union[bytes, bytearray, memoryview]) -> None:
        """Queue audio for sending (any thread; returns at once)."""
        with self._lock:
            self._queue += audio

    def clear(self) -> None:
        """Drop the queued audio (what has been sent stays sent)."""
        with self._lock:
            self._queue.clear()

    def start(self) -> None:
        """Start the pump thread (a no-op when it runs)."""
        if self.running:
            return
        self._stop.clear()
        self.frames_sent = 0
        self.silent_frames = 0
        thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
        self._thread = thread
        thread.start()

    def request_stop(self) -> None:
        """Ask the pump to stop after the frame it is sending, without waiting."""
        self._stop.set()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop the pump and join its thread (at most ``timeout`` seconds).

        Safe from the pump thread itself (then it is not joined).
        """
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def take_frame(self) -> bytes:
        """The next frame: queued audio padded with silence (used by the pump thread)."""
        frame_bytes = self.bytes_per_ms * self.frame_ms
        with self._lock:
            chunk = bytes(self._queue[:frame_bytes])
            del self._queue[:frame_bytes]
        if not chunk:
            self.silent_frames += 1
        if len(chunk) == frame_bytes:
            return chunk
        return chunk + self._silence * (frame_bytes - len(chunk))

    def _loop(self) -> None:
        frame_s = self.frame_ms / 1000.0
        due = self._clock()
        while not self._stop.is_set():
            try:
                going = self._send(self.take_frame())
            except Exception:  # the app's transport failed: the session is over for us
                logger.exception("audio pump %s: sending a frame failed; pump stopped", self._name)
                return
            if not going:
                return
            self.frames_sent += 1
            due += frame_s
            delay = due - self._clock()
            if delay < -_CATCH_UP_LIMIT_S:
                due = self._clock()
            elif delay > 0:
                self._stop.wait(delay)
