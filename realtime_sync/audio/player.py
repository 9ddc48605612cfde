"""``AudioPlayer``: plays the assistant's audio and knows what the listener heard.

Deltas are queued per item as they arrive (:meth:`AudioPlayer.play`) and the
output device pulls them in its own blocks (:meth:`AudioPlayer.read`). In
between sits a jitter buffer that never drops audio: playback of an answer
starts once ``prebuffer_ms`` is queued (or the item is complete), and when the
network falls behind mid-answer the player plays silence, waits for
``prebuffer_ms`` again, and grows the prebuffer a little (up to
``max_prebuffer_ms``) so the next gap is less likely.

Every sample handed to the device is accounted to its item on a timeline, so
:meth:`AudioPlayer.played_samples` is exact: it is what the device took, which
the listener hears within the device's own latency (a stopped player lets the
device finish its current buffer, so that audio is heard too).
:meth:`AudioPlayer.stop` flushes everything not yet handed to the device at
once and returns, per item cut short, how many samples were heard: exactly
what ``RealtimeClient.cancel_response(item_id, sample_count)`` needs.

When the device runs at another rate than the audio (a 48 kHz sound card),
the player resamples with :class:`realtime_sync.utils.Resampler` and keeps the
accounting in 24 kHz samples.
"""

from __future__ import annotations

import collections
import threading
from typing import Deque, Dict, List, Optional

from realtime_sync.utils import Resampler

from .backends import OutputDevice

__all__ = ["AudioPlayer"]

_IDLE, _BUFFERING, _PLAYING = "idle", "buffering", "playing"


class _Item:
    """Bookkeeping of one item's audio."""

    __slots__ = ("discarded", "done", "id", "partial", "queued", "received", "segments")

    def __init__(self, item_id: str) -> None:
        self.id = item_id
        self.received = 0  # samples given to play()
        self.queued = 0  # samples waiting in the queue
        self.done = False  # no more audio expected
        self.discarded = False  # stopped: later audio is ignored
        self.partial = b""  # an odd trailing byte, completed by the next delta
        # [start, length] runs on the player's timeline (source-rate samples).
        self.segments: List[List[int]] = []


class _Chunk:
    """A delta waiting in the queue; ``offset`` bytes of it were already taken."""

    __slots__ = ("data", "item", "offset")

    def __init__(self, item: _Item, data: bytes) -> None:
        self.item = item
        self.data = data
        self.offset = 0


class AudioPlayer:
    """Plays PCM16 deltas through an output device, with exact per-item accounting.

    Args:
        device: where to play; default: the system's speaker through
            :class:`~realtime_sync.audio.SounddeviceOutput` (the ``audio`` extra).
        prebuffer_ms: audio queued before an answer starts playing, and again
            after the network fell behind (the jitter buffer).
        max_prebuffer_ms: how far the prebuffer may grow after repeated gaps.
        sample_rate: rate of the audio given to :meth:`play` (the API's 24 kHz).
        stall_ms: an item that has had no audio for this long (device time)
            with nothing queued is treated as complete, so :attr:`active`
            turns False even if :meth:`mark_done` is never called for it
            (audio arriving later still plays).

    Thread-safe: :meth:`play` and :meth:`stop` are called from the client's
    dispatcher thread, :meth:`read` from the device's thread; :meth:`read` only
    copies and never blocks on anything but a short lock.
    """

    def __init__(
        self,
        device: Optional[OutputDevice] = None,
        *,
        prebuffer_ms: float = 80.0,
        max_prebuffer_ms: float = 400.0,
        sample_rate: int = 24000,
        stall_ms: float = 3000.0,
    ) -> None:
        if device is None:
            from .backends import SounddeviceOutput  # noqa: PLC0415 - needs the audio extra

            device = SounddeviceOutput(sample_rate=sample_rate)
        if prebuffer_ms < 0 or max_prebuffer_ms < prebuffer_ms:
            raise ValueError("need 0 <= prebuffer_ms <= max_prebuffer_ms")
        self.device = device
        self.sample_rate = sample_rate
        self._device_rate = device.sample_rate
        # Guards every attribute below (queue, items, timeline, jitter-buffer state,
        # resampler, underruns, _started, _closed): play() and read() run on different threads.
        self._lock = threading.Lock()
        # Signals that the player may have gone idle (not active), was stopped, or closed.
        self._idle = threading.Condition(self._lock)
        self._queue: Deque[_Chunk] = collections.deque()
        self._queued = 0  # samples queued, all items
        self._items: Dict[str, _Item] = {}
        self._open = 0  # items neither done nor discarded
        self._pos = 0  # timeline position of the next sample taken from the queue
        self._delivered = 0  # timeline position the device has been handed
        self._last_audio_end: Optional[int] = None  # just after the last audio sample
        self._state = _IDLE
        self._min_prebuffer = self._ms_to_samples(prebuffer_ms)
        self._prebuffer = self._min_prebuffer
        self._max_prebuffer = self._ms_to_samples(max_prebuffer_ms)
        self._waited = 0  # samples played as silence while waiting for the prebuffer
        self._starved = 0  # samples played with an open item and nothing queued
        self._stall = self._ms_to_samples(stall_ms)
        self.underruns = 0
        """Times the queue ran dry in the middle of an answer (silence was played)."""
        # Resampling when the device's rate differs; positions stay in source samples.
        self._fifo = bytearray()  # resampled frames not yet handed to the device
        self._resampler: Optional[Resampler] = None
        if self._device_rate != sample_rate:
            self._resampler = Resampler(sample_rate, self._device_rate)
        self._base = 0  # timeline position of device frame 0 (moves on stop())
        self._device_frames = 0  # device frames handed since _base
        self._started = False
        self._closed = False

    def _ms_to_samples(self, ms: float) -> int:
        return round(ms * self.sample_rate / 1000)

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> AudioPlayer:
        """Start the device; returns ``self``."""
        with self._lock:
            if self._started:
                return self
            self._started = True
        self.device.start(self)
        return self

    def close(self, timeout: float = 2.0) -> None:
        """Stop the device and drop queued audio. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self.device.close(timeout)
        with self._lock:
            self._queue.clear()
            self._queued = 0
            self._idle.notify_all()

    def __enter__(self) -> AudioPlayer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ feeding

    def play(self, audio: bytes, *, item_id: str = "") -> bool:
        """Queue PCM16 ``audio`` of item ``item_id``; returns False if it was ignored.

        Audio of an item cut short by :meth:`stop` is ignored (deltas the
        server sent before it saw the cancellation must not be played).
        """
        with self._lock:
            item = self._items.get(item_id)
            if item is None:
                item = self._items[item_id] = _Item(item_id)
                self._open += 1
                self._forget_old_items()
            if item.discarded:
                return False
            data = item.partial + bytes(audio) if item.partial else bytes(audio)
            item.partial = b""
            if len(data) % 2:
                item.partial = data[-1:]
                data = data[:-1]
            samples = len(data) // 2
            if samples:
                item.received += samples
                item.queued += samples
                self._queued += samples
                self._queue.append(_Chunk(item, data))
                self._starved = 0
            return True

    def mark_done(self, item_id: str) -> None:
        """Say no more audio will come for ``item_id``: its tail plays without waiting."""
        with self._lock:
            item = self._items.get(item_id)
            if item is not None and not item.done:
                item.done = True
                self._open -= 1
                self._notify_if_idle()

    def stop(self) -> Dict[str, int]:
        """Flush all queued audio at once; returns ``{item_id: played_samples}`` of items cut.

        An item is cut when some of its audio was not played or more was still
        expected (:meth:`mark_done` not called). Cut items are closed: their
        later deltas are ignored. What the device already took still plays
        out (its latency), and is counted as played.
        """
        with self._lock:
            cut: Dict[str, int] = {}
            delivered = self._delivered
            for item in self._items.values():
                if item.discarded:
                    continue
                played = self._played(item, delivered)
                if item.done and played >= item.received:
                    continue
                cut[item.id] = played
                item.discarded = True
                item.queued = 0
                item.partial = b""
                if not item.done:
                    item.done = True
                    self._open -= 1
                for segment in item.segments:  # forget what was taken but never handed over
                    segment[1] = max(0, min(segment[1], delivered - segment[0]))
            self._queue.clear()
            self._queued = 0
            self._fifo.clear()
            if self._resampler is not None:
                self._resampler = Resampler(self.sample_rate, self._device_rate)
            self._pos = self._base = delivered
            self._device_frames = 0
            if self._last_audio_end is not None:
                self._last_audio_end = min(self._last_audio_end, delivered)
            self._state = _IDLE
            self._waited = self._starved = 0
            self._idle.notify_all()
            return cut

    # ------------------------------------------------------------------ accounting

    def played_samples(self, item_id: str) -> int:
        """Samples of ``item_id`` (at :attr:`sample_rate`) handed to the device so far."""
        with self._lock:
            item = self._items.get(item_id)
            return 0 if item is None else self._played(item, self._delivered)

    def received_samples(self, item_id: str) -> int:
        """Samples of ``item_id`` given to :meth:`play` (audio ignored after a stop excluded)."""
        with self._lock:
            item = self._items.get(item_id)
            return 0 if item is None else item.received

    @staticmethod
    def _played(item: _Item, delivered: int) -> int:
        return sum(min(length, max(0, delivered - start)) for start, length in item.segments)

    @property
    def active(self) -> bool:
        """True while audio is queued or playing, or an item is still streaming in."""
        with self._lock:
            return self._is_active()

    def _is_active(self) -> bool:
        return self._queued > 0 or self._open > 0 or self._delivered < (self._last_audio_end or 0)

    @property
    def buffered_ms(self) -> float:
        """Milliseconds of audio queued and not yet handed to the device."""
        with self._lock:
            return self._queued * 1000 / self.sample_rate

    @property
    def ms_since_audio(self) -> float:
        """Device time since the last audio sample was handed over.

        0 while audio is playing or queued; infinite before any audio was played.
        """
        with self._lock:
            end = self._last_audio_end
            if self._queued > 0 or (end is not None and self._delivered < end):
                return 0.0
            if end is None:
                return float("inf")
            return (self._delivered - end) * 1000 / self.sample_rate

    @property
    def position_ms(self) -> float:
        """Device time handed over since the start (audio and silence)."""
        with self._lock:
            return self._delivered * 1000 / self.sample_rate

    @property
    def prebuffer_ms(self) -> float:
        """The jitter buffer's current target (grows after gaps)."""
        with self._lock:
            return self._prebuffer * 1000 / self.sample_rate

    def playable_frames(self, sample_rate: int) -> int:
        """Frames (at ``sample_rate``) :meth:`read` would return as audio right now."""
        with self._lock:
            if self._state == _PLAYING or self._can_start():
                return self._queued * sample_rate // self.sample_rate
            return 0

    def wait_idle(self, timeout: float) -> bool:
        """Block until :attr:`active` is False; False if ``timeout`` s passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: not self._is_active() or self._closed, timeout)

    def _notify_if_idle(self) -> None:
        if not self._is_active():
            self._idle.notify_all()

    def _forget_old_items(self, keep: int = 1000) -> None:
        """Bound the bookkeeping: drop the oldest finished items beyond ``keep``."""
        if len(self._items) <= keep:
            return
        for item_id in list(self._items)[: len(self._items) - keep]:
            item = self._items[item_id]
            if item.done and item.queued == 0:
                del self._items[item_id]

    # ------------------------------------------------------------------ the device side

    def read(self, frames: int) -> bytes:
        """The next ``frames`` mono PCM16 frames at the device's rate (called by the device)."""
        with self._lock:
            return self._read_locked(frames)

    def _read_locked(self, frames: int) -> bytes:
        if self._resampler is None:
            out = self._take(frames)
            self._delivered = self._pos
        else:
            need = 2 * frames
            while len(self._fifo) < need:
                missing = (need - len(self._fifo)) // 2
                count = max(1, -(-missing * self.sample_rate // self._device_rate))
                self._fifo += self._resampler.process(self._take(count))
            out = bytes(self._fifo[:need])
            del self._fifo[:need]
            self._device_frames += frames
            self._delivered = (
                self._base + self._device_frames * self.sample_rate // self._device_rate
            )
        self._notify_if_idle()
        return out

    def advance_idle(self, frames: int) -> bool:
        """Let ``frames`` device frames of silence pass, only if there is nothing to play.

        For devices that skip idle time (a WAV file played as fast as possible):
        the clock behind :attr:`ms_since_audio` still runs. Returns False, and
        does nothing, when audio is queued or an item is still streaming in.
        """
        with self._lock:
            if self._is_active():
                return False
            self._read_locked(frames)
            return True

    def _can_start(self) -> bool:
        return self._queued > 0 and (
            self._queued >= self._prebuffer or self._open == 0 or self._waited >= self._prebuffer
        )

    def _take(self, count: int) -> bytes:
        """``count`` samples from the queue (silence where there is none); lock held."""
        need = 2 * count
        out = bytearray()
        if self._state != _PLAYING and self._can_start():
            self._state = _PLAYING
            self._waited = 0
        if self._state == _PLAYING:
            while len(out) < need and self._queue:
                chunk = self._queue[0]
                item, data, offset = chunk.item, chunk.data, chunk.offset
                size = min(need - len(out), len(data) - offset)
                start = self._pos + len(out) // 2
                out += memoryview(data)[offset : offset + size]
                samples = size // 2
                segments = item.segments
                if segments and segments[-1][0] + segments[-1][1] == start:
                    segments[-1][1] += samples
                else:
                    segments.append([start, samples])
                item.queued -= samples
                self._queued -= samples
                self._last_audio_end = start + samples
                if offset + size == len(data):
                    self._queue.popleft()
                else:
                    chunk.offset = offset + size
            if len(out) < need:
                if self._open > 0:  # the answer is still streaming: the network fell behind
                    self._state = _BUFFERING
                    self.underruns += 1
                    step = max(self._ms_to_samples(20), self._min_prebuffer // 2)
                    self._prebuffer = min(self._prebuffer + step, self._max_prebuffer)
                else:
                    self._state = _IDLE
        elif self._queued > 0:
            self._waited += count
        elif self._open > 0:
            self._starved += count
            if self._starved >= self._stall:  # nothing came for a long time: stop waiting
                for item in self._items.values():
                    if not item.done:
                        item.done = True
                self._open = 0
                self._starved = 0
        if len(out) < need:
            out += bytes(need - len(out))
        self._pos += count
        return bytes(out)
