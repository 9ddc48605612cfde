"""Transcripts as turns: Live transcript fragments grouped into speaker segments.

A Live session streams ``session.input_transcript.delta`` (the user) and
``session.output_transcript.delta`` (the model) fragments, with timeline
positions and no "turn done" event. This module groups them into
:class:`TranscriptSegment` objects, one per stretch of one speaker:

* :class:`TranscriptGrouping` is the **policy**, pure: fragments and the
  timeline time in, finished segments out. No clock, no threads.
* :class:`TranscriptGrouper` is the **shell**: thread-safe, fed server events
  (from the dispatcher thread), keeping the policy's time from the wall clock,
  with a blocking iterator of finished segments (:meth:`TranscriptGrouper.segments`).

A segment closes, with its :class:`CloseReason`, when:

* ``speaker_change``: the other speaker starts a real turn;
* ``inactivity``: its speaker was silent for ``gap_ms`` (a fragment of the same
  speaker after that starts a new segment);
* ``timestamp_reset``: a fragment starts before the previous one of the same
  speaker did (a new timeline: a new connection or a fork), so nothing is
  joined across it;
* ``session_closed``: ``session.closed`` arrived; ``manual``: the app closed the grouper.

**Backchannel suppression**: a short acknowledgement of the other speaker
("mhm", "yeah", "okay"... shorter than ``backchannel_max_ms``) in the middle
of a turn is held back. If the speaker goes on within ``backchannel_hold_ms``
it is dropped and the turn continues as one segment; otherwise it was a real
answer and becomes a segment of its own. The segments are a display
projection: not conversation items, not audio playback positions.
"""

from __future__ import annotations

import enum
import itertools
import re
import threading
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

import attrs

from .enums import TranscriptSource
from .models import TranscriptFragment
from .server_events import (
    InputTranscriptDeltaEvent,
    OutputTranscriptDeltaEvent,
    SessionClosedEvent,
)

__all__ = ["CloseReason", "TranscriptGrouper", "TranscriptGrouping", "TranscriptSegment"]

ACKNOWLEDGEMENTS = frozenset(
    {
        "ok",
        "okay",
        "yeah",
        "yep",
        "yes",
        "sure",
        "right",
        "alright",
        "mhm",
        "mm",
        "hmm",
        "uh huh",
        "uh-huh",
        "mm hmm",
        "mm-hmm",
        "got it",
        "i see",
    }
)
"""Words and phrases taken for backchannels (compared lower-case, punctuation stripped)."""

_PUNCTUATION = re.compile(r"[^\w\s'-]+")


class CloseReason(str, enum.Enum):
    """Why a segment was closed."""

    SPEAKER_CHANGE = "speaker_change"
    INACTIVITY = "inactivity"
    TIMESTAMP_RESET = "timestamp_reset"
    SESSION_CLOSED = "session_closed"
    MANUAL = "manual"


@attrs.frozen
class TranscriptSegment:
    """One finished stretch of one speaker's transcript.

    ``speaker`` is ``"user"`` or ``"assistant"``; ``start_ms`` / ``end_ms`` are
    timeline positions of its first and last fragment; ``previous_id`` chains
    the segments in order. ``id`` is local to the grouper.
    """

    id: str
    previous_id: Optional[str]
    speaker: str
    text: str
    start_ms: int
    end_ms: int
    reason: CloseReason


def _speaker(source: TranscriptSource) -> str:
    return "user" if source is TranscriptSource.INPUT else "assistant"


def _normalized(text: str) -> str:
    return " ".join(_PUNCTUATION.sub(" ", text.lower()).split())


def _join(text: str, more: str) -> str:
    """``text`` + ``more``; a space between a sentence's end and a new word ("shop! Your")."""
    if text and more and text[-1] in ".!?,;:" and more[0].isalnum():
        return f"{text} {more}"
    return text + more


@attrs.define
class _Open:
    speaker: str
    text: str
    start_ms: int
    end_ms: int


class TranscriptGrouping:
    """The grouping policy (pure; see the module docs). Times are timeline milliseconds.

    Args:
        gap_ms: silence of the current speaker that ends its segment.
        backchannel_max_ms: the longest a backchannel may last.
        backchannel_hold_ms: how long a possible backchannel is held for the
            speaker to go on before it counts as a turn.
        acknowledgements: the phrases taken for backchannels.
    """

    def __init__(
        self,
        *,
        gap_ms: int = 2000,
        backchannel_max_ms: int = 1000,
        backchannel_hold_ms: int = 1500,
        acknowledgements: Sequence[str] = tuple(ACKNOWLEDGEMENTS),
    ) -> None:
        self.gap_ms = gap_ms
        self.backchannel_max_ms = backchannel_max_ms
        self.backchannel_hold_ms = backchannel_hold_ms
        self._acks = frozenset(_normalized(a) for a in acknowledgements)
        self._current: Optional[_Open] = None
        self._held: Optional[_Open] = None
        self._last_start: Dict[str, int] = {}  # speaker -> start of their latest fragment
        self._ids = itertools.count(1)
        self._last_id: Optional[str] = None
        self.closed = False

    @property
    def current(self) -> Optional[Tuple[str, str]]:
        """The open segment's ``(speaker, text)``, if any (still growing)."""
        return None if self._current is None else (self._current.speaker, self._current.text)

    def feed(self, fragment: TranscriptFragment) -> List[TranscriptSegment]:
        """Take one fragment; returns the segments it finished."""
        if self.closed or not fragment.text:
            return []
        start = fragment.start_ms if fragment.start_ms is not None else self._end_hint()
        end = fragment.end_ms if fragment.end_ms is not None else start
        speaker = _speaker(fragment.source)
        done: List[TranscriptSegment] = []
        last = self._last_start.get(speaker)
        if last is not None and start < last:
            done += self._close_all(CloseReason.TIMESTAMP_RESET)
            self._last_start.clear()
        self._last_start[speaker] = start
        done += self.advance(start)
        piece = _Open(speaker, fragment.text, start, end)
        current = self._current
        if current is None:
            self._current = piece
        elif speaker == current.speaker:
            if self._held is not None:
                self._held = None  # the speaker went on: the other's "mhm" was a backchannel
            elif start - current.end_ms >= self.gap_ms:
                done += self._finish(CloseReason.INACTIVITY)
                self._current = piece
                return done
            current.text = _join(current.text, fragment.text)
            current.end_ms = max(current.end_ms, end)
        elif self._held is not None:
            self._held.text = _join(self._held.text, fragment.text)
            self._held.end_ms = max(self._held.end_ms, end)
            if not self._is_backchannel(self._held):
                done += self._promote()
        elif self._is_backchannel(piece):
            self._held = piece
        else:
            done += self._finish(CloseReason.SPEAKER_CHANGE)
            self._current = piece
        return done

    def advance(self, now_ms: float) -> List[TranscriptSegment]:
        """The timeline reached ``now_ms``: close what waited long enough."""
        done: List[TranscriptSegment] = []
        if self._held is not None and now_ms >= self._held.end_ms + self.backchannel_hold_ms:
            done += self._promote()  # nobody went on: it was an answer, not a backchannel
        current = self._current
        if current is not None and self._held is None and now_ms >= current.end_ms + self.gap_ms:
            done += self._finish(CloseReason.INACTIVITY)
        return done

    def deadline(self) -> Optional[float]:
        """The timeline time at which :meth:`advance` would close something, if any."""
        if self._held is not None:
            return float(self._held.end_ms + self.backchannel_hold_ms)
        if self._current is not None:
            return float(self._current.end_ms + self.gap_ms)
        return None

    def close(self, reason: CloseReason) -> List[TranscriptSegment]:
        """Finish everything (``session_closed`` or ``manual``); later fragments are ignored."""
        done = self._close_all(reason)
        self.closed = True
        return done

    def _end_hint(self) -> int:
        return self._current.end_ms if self._current is not None else 0

    def _is_backchannel(self, piece: _Open) -> bool:
        return (
            piece.end_ms - piece.start_ms <= self.backchannel_max_ms
            and _normalized(piece.text) in self._acks
        )

    def _promote(self) -> List[TranscriptSegment]:
        done = self._finish(CloseReason.SPEAKER_CHANGE)
        self._current, self._held = self._held, None
        return done

    def _close_all(self, reason: CloseReason) -> List[TranscriptSegment]:
        held, self._held = self._held, None
        done = self._finish(reason)
        if held is not None:
            self._current = held
            done += self._finish(reason)
        return done

    def _finish(self, reason: CloseReason) -> List[TranscriptSegment]:
        current, self._current = self._current, None
        if current is None or not current.text.strip():
            return []
        segment_id = f"seg_{next(self._ids)}"
        segment = TranscriptSegment(
            segment_id,
            self._last_id,
            current.speaker,
            current.text.strip(),
            current.start_ms,
            current.end_ms,
            reason,
        )
        self._last_id = segment_id
        return [segment]


class TranscriptGrouper:
    """Thread-safe shell of :class:`TranscriptGrouping`, fed server events.

    :meth:`push` takes every server event (only transcript deltas and
    ``session.closed`` matter). The policy's time is the latest fragment's
    ``end_ms`` plus the wall-clock time since it arrived, so a silent speaker's
    segment closes on time even when no event comes. Finished segments are kept
    in :attr:`finished`; :meth:`segments` iterates over them as they finish.
    """

    def __init__(self, grouping: Optional[TranscriptGrouping] = None) -> None:
        self._grouping = grouping or TranscriptGrouping()
        self._cond = threading.Condition()
        self._finished: List[TranscriptSegment] = []
        self._anchor: Optional[Tuple[float, float]] = None  # (timeline ms, monotonic s)
        self._last_start: Dict[TranscriptSource, int] = {}

    @property
    def finished(self) -> List[TranscriptSegment]:
        """The segments finished so far, in order."""
        with self._cond:
            self._tick()
            return list(self._finished)

    @property
    def closed(self) -> bool:
        """True once the session closed (or :meth:`close` was called)."""
        with self._cond:
            return self._grouping.closed

    def push(self, event: Any) -> None:
        """Take a server event (any: the others are ignored)."""
        if isinstance(event, SessionClosedEvent):
            self._end(CloseReason.SESSION_CLOSED)
            return
        if not isinstance(event, (InputTranscriptDeltaEvent, OutputTranscriptDeltaEvent)):
            return
        fragment = event.fragment
        with self._cond:
            start = fragment.start_ms
            last = self._last_start.get(fragment.source)
            if start is not None and last is not None and start < last:
                self._anchor = None  # a new timeline: the policy closes the old one
                self._last_start.clear()
            if start is not None:
                self._last_start[fragment.source] = start
            self._add(self._grouping.feed(fragment))
            end = fragment.end_ms if fragment.end_ms is not None else start
            if end is not None:
                now = end if self._anchor is None else max(end, self._now_ms())
                self._anchor = (float(now), time.monotonic())
            self._cond.notify_all()  # the policy's next deadline may have changed

    def close(self) -> None:
        """Finish the open segment (``manual``); iterators end once they have read everything."""
        self._end(CloseReason.MANUAL)

    def _end(self, reason: CloseReason) -> None:
        with self._cond:
            if not self._grouping.closed:
                self._add(self._grouping.close(reason))
            self._cond.notify_all()

    def _now_ms(self) -> float:
        if self._anchor is None:
            return 0.0
        timeline, at = self._anchor
        return timeline + (time.monotonic() - at) * 1000.0

    def _add(self, done: List[TranscriptSegment]) -> None:
        if done:
            self._finished.extend(done)
            self._cond.notify_all()

    def _tick(self) -> Optional[float]:
        """Advance the policy to now (lock held); the seconds until its next deadline."""
        if self._anchor is None or self._grouping.closed:
            return None
        self._add(self._grouping.advance(self._now_ms()))
        deadline = self._grouping.deadline()
        if deadline is None:
            return None
        return max(0.0, (deadline - self._now_ms()) / 1000.0)

    def segments(
        self, timeout: Optional[float] = None, *, start: int = 0
    ) -> Iterator[TranscriptSegment]:
        """Finished segments, from the ``start``-th one, blocking for each next one.

        Ends when the grouper is closed (the session closed) and every segment
        was read, or when no segment finished within ``timeout`` seconds
        (``None``: wait for the session's end). Any number of iterators may run,
        on any threads; each sees every segment.
        """
        index = start
        while True:
            with self._cond:
                limit = None if timeout is None else time.monotonic() + timeout
                while index >= len(self._finished):
                    wake = self._tick()
                    if index < len(self._finished):
                        break
                    if self._grouping.closed:
                        return
                    left = None if limit is None else limit - time.monotonic()
                    if left is not None and left <= 0:
                        return
                    waits = [w for w in (wake, left) if w is not None]
                    self._cond.wait(min(waits) + 0.001 if waits else None)
                segment = self._finished[index]
            index += 1
            yield segment
