"""``VoiceLoop``: microphone -> model -> speaker, with correct interruption.

It wires an :class:`~realtime_sync.audio.AudioPlayer` and a
:class:`~realtime_sync.audio.Microphone` to a connected
:class:`~realtime_sync.RealtimeClient`:

* the microphone streams to ``client.append_input_audio``;
* the assistant's audio deltas are played as they arrive;
* when server VAD hears the user (``conversation.interrupted``), playback stops
  at once and ``client.cancel_response(item_id, player.played_samples(item_id))``
  cuts the answer where the listener stopped hearing it, so the model forgets
  exactly what was not heard;
* half-duplex (optional) mutes the microphone while the assistant speaks and
  for ``echo_tail_ms`` after, for laptops without echo cancellation, where the
  assistant would otherwise interrupt itself through the speaker;
* push-to-talk (optional) uses manual turns: :meth:`VoiceLoop.press` interrupts
  the assistant and opens the mic, :meth:`VoiceLoop.release` asks for the answer.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from typing import Any, Callable, Dict, List, Optional, Set, Union

import attrs

from realtime_sync import events as ev
from realtime_sync.client import RealtimeClient
from realtime_sync.errors import RealtimeError
from realtime_sync.events import RealtimeEventType as T
from realtime_sync.models import (
    AudioFormatType,
    ItemRole,
    NotGiven,
    TurnDetection,
    TurnDetectionType,
)

from .microphone import Microphone
from .player import AudioPlayer

__all__ = ["DEFAULT_TURN_DETECTION", "Interruption", "VoiceLoop"]

logger = logging.getLogger("realtime_sync.audio")

DEFAULT_TURN_DETECTION = TurnDetection(
    type=TurnDetectionType.SERVER_VAD, create_response=True, interrupt_response=False
)
"""Server VAD, as :class:`VoiceLoop` sets it up by default.

The server answers when the user stops speaking; it does *not* cancel the
answer itself when the user starts (``interrupt_response=False``): the loop
does, right after it stopped playback, and truncates what was not heard.
"""

_SAMPLE_RATE = 24000


@attrs.frozen
class Interruption:
    """What :meth:`VoiceLoop.interrupt` did.

    ``item_id`` is the assistant item cut short (``None`` when no audio was
    playing and only the response was cancelled); ``played_samples`` how much
    of it the listener heard (24 kHz samples) and ``audio_end_ms`` where it
    was truncated. ``reason``: ``"speech"`` (server VAD), ``"press"``
    (push-to-talk) or ``"manual"``.
    """

    item_id: Optional[str]
    played_samples: int
    audio_end_ms: Optional[int]
    reason: str

    @property
    def played_ms(self) -> float:
        """Milliseconds of the item the listener heard."""
        return self.played_samples * 1000 / _SAMPLE_RATE


class VoiceLoop:
    """A voice conversation over a :class:`RealtimeClient`: mic in, speaker out.

    Args:
        client: the client (connect it before :meth:`start`, or the first
            microphone chunks are dropped with a warning).
        player: plays the answers; default: the system speaker.
        mic: captures the user; default: the system microphone.
        half_duplex: mute the mic while the assistant speaks (no echo
            cancellation needed, but the user cannot interrupt by voice).
        push_to_talk: manual turns driven by :meth:`press` / :meth:`release`.
        turn_detection: the session's turn detection: by default
            :data:`DEFAULT_TURN_DETECTION` (manual turns with push-to-talk);
            ``None`` for manual turns; ``NOT_GIVEN`` to leave the session as
            it is.
        echo_tail_ms: half-duplex: how long the mic stays muted after the
            last audio played (the room's echo and the device's latency).
        on_interrupt: called with each :class:`Interruption` (on the thread
            that interrupted: the client's dispatcher for server VAD).

    Use it as a context manager, or call :meth:`start` and :meth:`close`.
    Handlers run on the client's dispatcher thread and never block.
    """

    def __init__(
        self,
        client: RealtimeClient,
        *,
        player: Optional[AudioPlayer] = None,
        mic: Optional[Microphone] = None,
        half_duplex: bool = False,
        push_to_talk: bool = False,
        turn_detection: Union[TurnDetection, NotGiven, None] = DEFAULT_TURN_DETECTION,
        echo_tail_ms: float = 300.0,
        on_interrupt: Optional[Callable[[Interruption], None]] = None,
    ) -> None:
        self.client = client
        self.player = player if player is not None else AudioPlayer()
        self.mic = mic if mic is not None else Microphone(push_to_talk=push_to_talk)
        if push_to_talk and not self.mic.push_to_talk:
            raise ValueError("push_to_talk=True needs a Microphone(push_to_talk=True)")
        self.half_duplex = half_duplex
        self.push_to_talk = push_to_talk
        if push_to_talk and turn_detection is DEFAULT_TURN_DETECTION:
            turn_detection = None
        self.turn_detection = turn_detection
        self.echo_tail_ms = echo_tail_ms
        self.on_interrupt = on_interrupt
        self.interruptions: List[Interruption] = []
        """Every interruption so far, oldest first."""
        # Guards interruptions and the turn state below (_generation, _response,
        # _interrupted, _user_speaking, _awaiting_response, _closed_connection,
        # _started, _closed); interrupt() holds it throughout.
        self._lock = threading.RLock()
        # Signals a turn-state change (_generation bumped) or close().
        self._changed = threading.Condition(self._lock)
        self._generation = 0  # bumped on every event that changes the turn state
        self._response: Optional[str] = None  # the response in progress
        self._interrupted: Set[str] = set()  # responses cancelled; their late audio is dropped
        self._user_speaking = False
        self._awaiting_response = False  # speech stopped; the server will answer
        self._closed_connection = False
        self._handlers: List[tuple[str, Callable[[Any], None]]] = []
        self._started = False
        self._closed = False

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> VoiceLoop:
        """Configure turn detection, start the speaker and the mic; returns ``self``.

        Raises:
            ValueError: the session's audio is not 24 kHz PCM16 (G.711 is not supported).
            AudioDeviceError: a device could not be opened (nothing is left running).
        """
        with self._lock:
            if self._started:
                return self
            self._check_formats()
            self._started = True
        try:
            self._start()
        except BaseException:
            self.close()
            raise
        return self

    def _check_formats(self) -> None:
        audio = self.client.session_config.audio
        for name, config in (
            ("input", audio.input if audio else None),
            ("output", audio.output if audio else None),
        ):
            fmt = config.format if config is not None else None
            if fmt is not None and (
                fmt.type != AudioFormatType.PCM or (fmt.rate or _SAMPLE_RATE) != _SAMPLE_RATE
            ):
                raise ValueError(
                    f"VoiceLoop plays and records 24 kHz PCM16, but the session's {name} "
                    f"audio is {fmt.type.value} at {fmt.rate or 8000} Hz"
                )

    def _start(self) -> None:
        if not isinstance(self.turn_detection, NotGiven):
            self.client.update_session(turn_detection=self.turn_detection)
        for event_type, handler in (
            (T.CONVERSATION_UPDATED, self._on_updated),
            (T.CONVERSATION_INTERRUPTED, self._on_interrupted),
            (T.INPUT_AUDIO_BUFFER_SPEECH_STOPPED, self._on_speech_stopped),
            (T.RESPONSE_CREATED, self._on_response_created),
            (T.RESPONSE_OUTPUT_AUDIO_DONE, self._on_audio_done),
            (T.RESPONSE_DONE, self._on_response_done),
            (T.CLOSE, self._on_close),
        ):
            self.client.on(event_type, handler)
            self._handlers.append((event_type, handler))
        self.mic.gate = self._mic_open
        self.player.start()
        self.mic.start(self.client.append_input_audio)

    def close(self, timeout: float = 2.0) -> None:
        """Stop the mic and the speaker (threads joined) and unhook from the client."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._changed.notify_all()
        for event_type, handler in self._handlers:
            self.client.off(event_type, handler)
        self._handlers.clear()
        self.mic.close(timeout)
        self.mic.gate = None
        self.player.close(timeout)

    def __enter__(self) -> VoiceLoop:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ state

    @property
    def assistant_speaking(self) -> bool:
        """True while the assistant's audio is playing or still streaming in."""
        return self.player.active

    @property
    def user_speaking(self) -> bool:
        """True between server VAD's ``speech_started`` and ``speech_stopped``."""
        with self._lock:
            return self._user_speaking

    def _is_idle(self) -> bool:
        return not (self._user_speaking or self._awaiting_response or self._response is not None)

    def wait_until_idle(self, timeout: float = 60.0, *, settle: float = 0.3) -> bool:
        """Block until nobody speaks and nothing is pending, for ``settle`` seconds.

        Idle means: the user is not speaking, no answer is expected or in
        progress, and the player is done. Returns False if that did not
        happen within ``timeout`` seconds (or the connection closed).
        """
        deadline = time.monotonic() + timeout
        while True:
            with self._changed:
                ok = self._changed.wait_for(
                    lambda: self._is_idle() or self._closed_connection or self._closed,
                    max(0.0, deadline - time.monotonic()),
                )
                if not ok or self._closed_connection or self._closed:
                    return False
            if not self.player.wait_idle(max(0.0, deadline - time.monotonic())):
                return False
            with self._changed:
                seen = self._generation
                self._changed.wait_for(
                    functools.partial(self._changed_since, seen),
                    max(0.0, min(settle, deadline - time.monotonic())),
                )
                if self._generation == seen and self._is_idle() and not self.player.active:
                    return True
            if time.monotonic() >= deadline:
                return False

    def _changed_since(self, generation: int) -> bool:
        return self._generation != generation

    def _bump(self) -> None:
        self._generation += 1
        self._changed.notify_all()

    # ------------------------------------------------------------------ controls

    def interrupt(self, reason: str = "manual") -> Optional[Interruption]:
        """Stop the assistant now: flush playback, cancel the answer, truncate it.

        The item being heard is truncated to what the listener heard
        (``client.cancel_response(item_id, player.played_samples(item_id))``).
        When no audio was playing but a response is in progress, that response
        is cancelled. Audio of the interrupted response that arrives later (it
        was on its way) is not played, and its items are truncated to 0 ms.
        Returns ``None`` when there was nothing to interrupt.
        """
        with self._lock:
            cut = self.player.stop()
            response = self._response
            if response is not None:
                self._interrupted.add(response)
            result: Optional[Interruption] = None
            try:
                if cut:
                    item_id, played = self._pick(cut)
                    item = self.client.cancel_response(item_id, played)
                    result = Interruption(
                        item_id=item_id,
                        played_samples=played,
                        audio_end_ms=item.audio_end_ms if item is not None else None,
                        reason=reason,
                    )
                elif response is not None:
                    self.client.cancel_response()
                    result = Interruption(
                        item_id=None, played_samples=0, audio_end_ms=None, reason=reason
                    )
            except RealtimeError as exc:
                logger.warning("could not cancel the answer: %s", exc)
            if result is None:
                return None
            self.interruptions.append(result)
            self._bump()
        if self.on_interrupt is not None:
            try:
                self.on_interrupt(result)
            except Exception:
                logger.exception("on_interrupt raised")
        return result

    def _pick(self, cut: Dict[str, int]) -> tuple[str, int]:
        """The item the listener was hearing: the first cut one with audio heard."""
        for item_id, played in cut.items():
            if played > 0:
                return item_id, played
        item_id = next(iter(cut))
        return item_id, cut[item_id]

    def press(self) -> None:
        """Push-to-talk: interrupt the assistant and start streaming the mic."""
        if not self.push_to_talk:
            raise RuntimeError("press() needs VoiceLoop(push_to_talk=True)")
        self.interrupt("press")
        self.mic.press()

    def release(self, timeout: float = 2.0) -> bool:
        """Push-to-talk: send the rest of the audio and ask for the answer.

        Returns False (and asks nothing) when the audio could not be sent
        within ``timeout`` or was shorter than the 100 ms the API needs.
        """
        if not self.push_to_talk:
            raise RuntimeError("release() needs VoiceLoop(push_to_talk=True)")
        if not self.mic.release(timeout):
            return False
        if self.client.conversation.uncommitted_input_bytes < 100 * 48:
            self.client.clear_input_audio()
            return False
        self.client.create_response()  # commits the input buffer first (manual turns)
        with self._lock:
            self._awaiting_response = True
            self._bump()
        return True

    # ------------------------------------------------------------------ the mic gate

    def _mic_open(self) -> bool:
        """Half-duplex: the mic listens only when the assistant has been quiet a while."""
        if not self.half_duplex or self.push_to_talk:
            return True
        player = self.player
        return not player.active and player.ms_since_audio >= self.echo_tail_ms

    # ------------------------------------------------------------------ handlers

    def _on_updated(self, event: ev.ConversationUpdatedEvent) -> None:
        delta = event.delta
        item = event.item
        if delta is None or not delta.audio or item.role != ItemRole.ASSISTANT:
            return
        with self._lock:
            dropped = item.response_id is not None and item.response_id in self._interrupted
        if dropped:
            # Audio of an answer the user interrupted: never heard, so the model forgets it.
            if item.audio_end_ms is None:
                try:
                    self.client.cancel_response(item.id, 0)
                except RealtimeError as exc:
                    logger.warning("could not truncate %s: %s", item.id, exc)
            return
        if self.player.play(delta.audio, item_id=item.id):
            with self._lock:
                self._bump()

    def _on_interrupted(self, _event: ev.ConversationInterruptedEvent) -> None:
        with self._lock:
            self._user_speaking = True
            self._bump()
        if not self.push_to_talk:
            self.interrupt("speech")

    def _on_speech_stopped(self, _event: Any) -> None:
        detection = self.turn_detection
        create = True
        if isinstance(detection, TurnDetection) and detection.create_response is False:
            create = False
        with self._lock:
            self._user_speaking = False
            # The server answers only when no response is in progress.
            self._awaiting_response = create and self._response is None
            self._bump()

    def _on_response_created(self, event: ev.ResponseCreatedEvent) -> None:
        with self._lock:
            self._response = event.response.id
            self._awaiting_response = False
            self._bump()

    def _on_audio_done(self, event: ev.ResponseOutputAudioDoneEvent) -> None:
        self.player.mark_done(event.item_id)

    def _on_response_done(self, event: ev.ResponseDoneEvent) -> None:
        for item in event.response.output or []:
            item_id = getattr(item, "id", None)
            if item_id:
                self.player.mark_done(item_id)
        with self._lock:
            if self._response in (event.response.id, None):
                self._response = None
            self._interrupted.discard(event.response.id or "")
            self._bump()

    def _on_close(self, _event: ev.CloseEvent) -> None:
        with self._lock:
            self._closed_connection = True
            self._bump()
