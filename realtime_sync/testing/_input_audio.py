"""The input audio buffer of one session and its server VAD.

Times are session-audio milliseconds: the position in everything the client has
appended since the connection opened, the clock ``audio_start_ms`` and
``audio_end_ms`` use. Not thread-safe: the session's lock guards it.
"""

from __future__ import annotations

import math
from typing import List, Optional, Tuple

from ._audio import AudioFormat, EnergyVad, VadEvent
from ._ids import JSON, new_id

__all__ = ["InputAudioBuffer"]


class InputAudioBuffer:
    """Appended, not yet committed audio, and the speech detection running over it."""

    def __init__(self) -> None:
        self.fmt = AudioFormat()
        """The session's input format."""
        self._data = bytearray()
        self._start_ms = 0.0
        self._vad: Optional[EnergyVad] = None
        self._speech_item_id: Optional[str] = None
        self._speech_start_ms = 0

    @property
    def position_ms(self) -> float:
        """Session-audio time at the end of what was appended so far."""
        return self._start_ms + self.fmt.duration_ms(len(self._data))

    @property
    def in_speech(self) -> bool:
        """True between a speech start and its stop."""
        return self._speech_item_id is not None

    @property
    def duration_ms(self) -> float:
        """Duration of the audio in the buffer."""
        return self.fmt.duration_ms(len(self._data))

    def configure(self, fmt: AudioFormat, turn_detection: Optional[JSON]) -> None:
        """Follow the session's input format and ``turn_detection`` (None: no VAD)."""
        self.fmt = fmt
        td = turn_detection
        if td is None:
            self._vad = None
            return
        if td["type"] == "server_vad":
            threshold = float(td.get("threshold", 0.5))
            silence = int(td.get("silence_duration_ms", 500))
        else:  # semantic_vad: the simulator has no semantics; eagerness sets the pause length
            threshold = 0.5
            silence = {"high": 300, "low": 1000}.get(str(td.get("eagerness")), 500)
        if self._vad is None or self._vad.fmt.type != fmt.type:
            position = self._start_ms + fmt.duration_ms(len(self._data))
            self._vad = EnergyVad(
                threshold=threshold, silence_duration_ms=silence, fmt=fmt, position_ms=position
            )
        else:
            self._vad.threshold = threshold
            self._vad.silence_duration_ms = silence

    def append(self, data: bytes) -> List[VadEvent]:
        """Add audio; return the VAD transitions it contains."""
        self._data.extend(data)
        return self._vad.feed(data) if self._vad is not None else []

    def speech_started(self, onset_ms: int, prefix_padding_ms: int) -> Tuple[int, str]:
        """Open a turn at ``onset_ms`` minus the padding; return its start and item id."""
        start = max(onset_ms - prefix_padding_ms, math.ceil(self._start_ms), 0)
        self._speech_item_id = new_id("item")
        self._speech_start_ms = start
        return start, self._speech_item_id

    def speech_stopped(self, end_ms: int) -> Tuple[bytes, str]:
        """Close the turn at ``end_ms``; return its audio and item id, and drop it."""
        item_id = self._speech_item_id or new_id("item")
        begin = self.fmt.bytes_for_ms(self._speech_start_ms - self._start_ms)
        end = self.fmt.bytes_for_ms(end_ms - self._start_ms)
        audio = bytes(self._data[begin:end])
        del self._data[:end]
        self._start_ms = float(end_ms)
        self._speech_item_id = None
        return audio, item_id

    def take_all(self) -> Tuple[bytes, str]:
        """Empty the buffer for a manual commit; return its audio and the item id to use."""
        audio = bytes(self._data)
        item_id = self._speech_item_id or new_id("item")
        self.reset()
        return audio, item_id

    def reset(self) -> None:
        """Drop the buffered audio and any turn in progress (time keeps running)."""
        self._start_ms += self.fmt.duration_ms(len(self._data))
        self._data = bytearray()
        self._speech_item_id = None
        if self._vad is not None:
            self._vad.reset()
