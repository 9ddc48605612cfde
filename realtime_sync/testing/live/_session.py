"""One simulated Live connection: a primary session, a fork, or a sideband attached to one.

The primary (or fork) connection owns the session state; a sideband (``attach``)
forwards its commands to the primary and receives a copy of every session event,
plus the reflected input audio and the output audio with ``start_ms``/``end_ms``.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import copy
import json
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Union

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection

from realtime_sync.testing._ids import JSON, new_id
from realtime_sync.testing._outbox import Outbox

from ._backend import ResponsesBackend
from ._timeline import AudioCodec, Timeline, Utterance, resample_24k, resample_from_24k
from ._wire import Endpoint, WireError, parse_client_event

if TYPE_CHECKING:
    from ._simulator import LiveSimulator

__all__ = ["LiveSession", "StoredSession"]

_MODELS = ("gpt-live-1", "gpt-live-1.1")
_DTMF = set("0123456789ABCD*#")
_MAX_SESSION_S = 3600


@dataclass
class StoredSession:
    """A session the simulator remembers: its final snapshot, for attach and fork."""

    id: str
    snapshot: JSON
    store: bool


class LiveSession:
    """The state machine of one connection (see the module documentation)."""

    def __init__(
        self, sim: LiveSimulator, outbox: Outbox, *, kind: str, target: Optional[str]
    ) -> None:
        self.sim = sim
        self.outbox = outbox
        self.kind = kind
        self.session_id: Optional[str] = target if kind == "attach" else None
        self._target = target
        # Guards every attribute below: the session state shared by the connection
        # thread, the idle watchdog and the test thread (close_session, send_error).
        self._lock = threading.RLock()
        self._snapshot: Optional[JSON] = None
        self._closed = False
        self._muted = False
        self._codec = AudioCodec()
        self._timeline = Timeline(
            silence_ms=sim.silence_ms, min_speech_ms=sim.min_speech_ms, ms_per_word=sim.ms_per_word
        )
        self._pending: List[JSON] = []
        self._decision_items: List[str] = []
        self._delegations: Dict[str, str] = {}  # id -> target
        self._acks: List[int] = []  # timeline ms of pending automatic acknowledgements
        self._sidebands: List[LiveSession] = []
        self._last_audio = time.monotonic()
        self._usage_marks = 0
        self._backend = ResponsesBackend(self)
        self._watchdog: Optional[threading.Thread] = None
        self._wake = threading.Event()

    # -- emission

    def emit(self, type_: str, **fields: Any) -> bool:
        """Send a session event (with a new ``event_id``) here and to the sidebands."""
        event: JSON = {"type": type_, "event_id": new_id("event")}
        event.update({k: v for k, v in fields.items() if v is not None})
        sent = self.outbox.send_event(event)
        for sideband in self._sideband_list():
            sideband.outbox.send_event(dict(event))
        return sent

    def emit_error(
        self,
        code: str,
        message: str,
        *,
        type_: str = "invalid_request_error",
        param: Optional[str] = None,
        client_event_id: Optional[str] = None,
        to: Optional[Outbox] = None,
    ) -> None:
        """Send an ``error`` event (to ``to``, by default this connection)."""
        error: JSON = {"type": type_, "code": code, "message": message}
        if param is not None:
            error["param"] = param
        if client_event_id is not None:
            error["client_event_id"] = client_event_id
        event: JSON = {"type": "error", "event_id": new_id("event"), "error": error}
        if client_event_id is not None:
            event["client_event_id"] = client_event_id
        (to or self.outbox).send_event(event)

    def _sideband_list(self) -> List[LiveSession]:
        with self._lock:
            return list(self._sidebands)

    def _pace(self) -> None:
        delay = float(self.sim.event_delay)
        if delay > 0:
            time.sleep(delay)

    # -- connection lifecycle

    def open(self) -> None:
        """Called once the handshake is accepted."""
        if self.kind == "attach":
            primary = self.sim.live_session(self._target or "")
            if primary is None:
                self.emit_error("session_not_active", "The session is not active.")
                self._close_socket(1000)
                return
            primary.add_sideband(self)

    def add_sideband(self, sideband: LiveSession) -> None:
        """Attach a sideband observer to this session."""
        with self._lock:
            self._sidebands.append(sideband)

    def remove_sideband(self, sideband: LiveSession) -> None:
        """Detach a sideband observer."""
        with self._lock:
            if sideband in self._sidebands:
                self._sidebands.remove(sideband)

    def connection_ended(self) -> None:
        """Called when the socket is gone: stop the watchdog, close the sidebands.

        Sidebands of a primary that vanished without ``session.closed`` get one with
        reason ``connection_lost``.
        """
        if self.kind == "attach":
            primary = self.sim.live_session(self._target or "")
            if primary is not None:
                primary.remove_sideband(self)
            return
        with self._lock:
            lost = not self._closed and self._snapshot is not None
            self._closed = True
            self._remember()
            sidebands, self._sidebands = list(self._sidebands), []
        self._wake.set()
        for sideband in sidebands:
            # The primary went away without finalizing: observers learn it was lost.
            if lost:
                sideband.outbox.send_event(
                    {
                        "type": "session.closed",
                        "event_id": new_id("event"),
                        "reason": "connection_lost",
                        "session": self.snapshot,
                        "usage": self._usage(),
                    }
                )
            sideband._close_socket(1000)

    def shutdown(self) -> None:
        """The simulator stops: wake the watchdog."""
        self._wake.set()

    def _close_socket(self, code: int = 1000) -> None:
        self.outbox.mark_closing()
        conn = getattr(self.outbox, "_connection", None)
        if conn is not None:
            closer = threading.Thread(
                target=close_quietly,
                args=(conn, code),
                daemon=True,
                name="live-simulator-close",
            )
            self.sim.track(closer)
            closer.start()

    def _remember(self) -> None:
        if self._snapshot is not None and self.session_id is not None:
            self.sim.store(
                StoredSession(
                    self.session_id,
                    copy.deepcopy(self._snapshot),
                    bool(self._snapshot.get("store")),
                )
            )

    # -- messages

    def handle_message(self, message: Union[str, bytes]) -> None:
        """Parse, validate and dispatch one client frame."""
        if isinstance(message, bytes):
            self.emit_error("invalid_json", "Binary frames are not supported; send JSON text.")
            return
        try:
            event = json.loads(message)
        except ValueError:
            self.emit_error("invalid_json", "The message is not valid JSON.")
            return
        if not isinstance(event, dict):
            self.emit_error("invalid_json", "The message must be a JSON object.")
            return
        self.sim.record(event, received=True)
        event_id = event.get("event_id") if isinstance(event.get("event_id"), str) else None
        endpoint: Endpoint = {"attach": "attach", "fork": "fork"}.get(self.kind, "primary")  # type: ignore[assignment]
        try:
            parse_client_event(event, endpoint)
            if self.kind == "attach":
                self._sideband_command(event)
            else:
                self.dispatch(event, self.outbox)
        except WireError as exc:
            self.emit_error(
                exc.code, exc.message, type_=exc.type, param=exc.param, client_event_id=event_id
            )

    def _sideband_command(self, event: JSON) -> None:
        primary = self.sim.live_session(self._target or "")
        if primary is None:
            raise WireError("The session is not active.", code="session_not_active")
        if event["type"] == "transport.dtmf.send":
            key = event["event"]
            if key not in _DTMF or len(key) != 1:
                raise WireError(
                    f"Invalid DTMF key {key!r}: use 0-9, A-D, * or #.",
                    code="invalid_value",
                    param="event",
                )
            self.outbox.send_event(
                {
                    "type": "transport.dtmf.sent",
                    "event_id": new_id("event"),
                    "event": key,
                    **({"client_event_id": event["event_id"]} if event.get("event_id") else {}),
                }
            )
            return
        primary.dispatch(event, self.outbox)

    def dispatch(self, event: JSON, origin: Outbox) -> None:
        """Apply a validated command (from this connection or a sideband)."""
        type_ = event["type"]
        with self._lock:
            if self._closed:
                raise WireError("The session is closed.", code="session_closed")
            if type_ == "session.start":
                self._on_start(event)
                return
            if self._snapshot is None:
                raise WireError(f"Send session.start before {type_}.", code="session_not_started")
            handler = self._handlers().get(type_)
            if handler is None:
                raise WireError(f"{type_} is not supported here.", code="unsupported_event")
            handler(event)

    def _handlers(self) -> Dict[str, Callable[[JSON], None]]:
        return {
            "session.update": self._on_update,
            "session.input_audio.append": self._on_audio,
            "session.input_audio.mute": self._on_mute,
            "session.input_audio.unmute": self._on_mute,
            "session.output_audio.fixture.play": self._on_fixture,
            "session.instructions.append": self._on_append,
            "session.thinking.append": self._on_append,
            "session.commentary.append": self._on_append,
            "decision.create": self._on_decision,
            "decision.item.create": self._on_decision,
            "decision.item.delete": self._on_decision,
            "response.item.create": self._backend.on_item_create,
            "response.create": self._backend.on_response_create,
            "session.close": self._on_close,
        }

    # -- session lifecycle

    def _on_start(self, event: JSON) -> None:
        if self._snapshot is not None:
            raise WireError("The session has already started.", code="session_already_started")
        config: JSON = copy.deepcopy(event["session"])
        if self.kind == "fork":
            stored = self.sim.lookup(self._target or "")
            if stored is None:
                raise WireError("The stored session is gone.", code="session_not_found")
            config = _fork_config(stored.snapshot, config)
        model = config.get("model")
        if model not in (*_MODELS, self.sim.model):
            raise WireError(
                f"Invalid value: {model!r}. Supported values are: 'gpt-live-1' and 'gpt-live-1.1'.",
                code="invalid_value",
                param="session.model",
            )
        audio = config.setdefault("audio", {})
        fmt = audio.get("format") or {"type": "audio/pcm", "rate": 24000}
        if fmt["type"] != "audio/pcm" and fmt.get("rate") != 8000:
            raise WireError(
                "G.711 audio uses 8000 Hz.", code="invalid_value", param="session.audio.format.rate"
            )
        audio["format"] = fmt
        audio.setdefault("output", {}).setdefault("voice", "marin")
        if audio["output"]["voice"] is None:
            audio["output"]["voice"] = "marin"
        delegation = config.get("delegation") or {"type": "client"}
        delegation.setdefault("acknowledgement_delay_ms", 0)
        config["delegation"] = delegation
        config.setdefault("input", [])
        config.setdefault("store", False)
        self.session_id = new_id("sess")
        self._codec = AudioCodec(fmt["type"], int(fmt["rate"]))
        self._snapshot = {
            "id": self.session_id,
            "expires_at": int(time.time()) + _MAX_SESSION_S,
            "status": "active",
            **{k: v for k, v in config.items() if k != "model"},
            "model": model,
        }
        self._last_audio = time.monotonic()
        self._remember()  # before the event: a client may attach or fork as soon as it sees it
        self.emit("session.started", session=self._snapshot, client_event_id=event.get("event_id"))
        self._start_watchdog()

    @property
    def snapshot(self) -> JSON:
        """The current session resource."""
        with self._lock:
            assert self._snapshot is not None
            return copy.deepcopy(self._snapshot)

    @property
    def delegation_type(self) -> str:
        """ "client", "responses" or "decisions"."""
        with self._lock:
            return str(((self._snapshot or {}).get("delegation") or {}).get("type", "client"))

    def _on_update(self, event: JSON) -> None:
        assert self._snapshot is not None
        update: JSON = event["session"]
        if "delegation" in update and update["delegation"] is not None:
            new = update["delegation"]
            current = self._snapshot.get("delegation") or {"type": "client"}
            if new.get("type") != current.get("type"):
                raise WireError(
                    "The delegation type cannot change after startup.",
                    code="invalid_value",
                    param="session.delegation.type",
                )
            merged = copy.deepcopy(current)
            for key, value in new.items():
                if isinstance(value, dict) and isinstance(merged.get(key), dict):
                    merged[key].update(value)
                else:
                    merged[key] = value
            self._snapshot["delegation"] = merged
        if "triggers" in update and update["triggers"] is not None:
            self._snapshot["triggers"] = update["triggers"]
        self._remember()
        self.emit("session.updated", session=self.snapshot, client_event_id=event.get("event_id"))

    def _on_close(self, event: JSON) -> None:
        self.close_session("close_requested", client_event_id=event.get("event_id"))

    def close_session(
        self,
        reason: str,
        *,
        error: Optional[JSON] = None,
        client_event_id: Optional[str] = None,
    ) -> None:
        """Finalize: optional ``error``, ``session.closed`` with final usage, close the socket."""
        with self._lock:
            if self._closed or self._snapshot is None:
                return
            self._closed = True
            if error is not None:
                self.emit_error(
                    str(error.get("code", "server_error")),
                    str(error.get("message", "The session failed.")),
                    type_=str(error.get("type", "server_error")),
                )
            self.emit(
                "session.closed",
                reason=reason,
                session=self.snapshot,
                usage=self._usage(),
                client_event_id=client_event_id,
            )
            self._remember()
            sidebands = list(self._sidebands)
        self._wake.set()
        for sideband in sidebands:
            sideband._close_socket(1000)
        self._close_socket(1000)

    def _usage(self) -> JSON:
        seconds = int(self._timeline.now_ms // 1000)
        usage: JSON = {"seconds": float(seconds)}
        if self.sim.usage_breakdown:
            usage.update(active_seconds=seconds, paused_seconds=0)
        return usage

    # -- idle expiry

    def _start_watchdog(self) -> None:
        thread = threading.Thread(target=self._watch, name="live-simulator-watchdog", daemon=True)
        self._watchdog = thread
        self.sim.track(thread)
        thread.start()

    def _watch(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                remaining = self._last_audio + float(self.sim.idle_timeout) - time.monotonic()
            if not self.sim_running():
                return
            if remaining <= 0:
                self.close_session("expired")
                return
            self._wake.wait(min(remaining, 0.5))
            self._wake.clear()

    def sim_running(self) -> bool:
        """Whether the simulator still serves (the watchdog exits otherwise)."""
        return self.sim.running

    # -- audio

    def _on_audio(self, event: JSON) -> None:
        try:
            data = base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            raise WireError("Invalid base64 audio.", code="invalid_value", param="audio") from None
        if self._codec.bytes_per_sample == 2 and len(data) % 2:
            raise WireError(
                "PCM16 audio must have an even number of bytes.",
                code="invalid_value",
                param="audio",
            )
        self._last_audio = time.monotonic()
        samples = self._codec.decode(data)
        duration = self._codec.duration_ms(data)
        self._place_pending()
        step = self._timeline.advance(samples, duration, muted=self._muted)
        pcm24 = resample_24k(samples, self._codec.rate) if self._sidebands else b""
        for sideband in self._sidebands:
            sideband.outbox.send_event({"type": "session.input_audio.append", "audio": _b64(pcm24)})
        for utterance in step.utterances:
            self._on_utterance(utterance)
        self._check_acks()
        for word in step.words:
            self._pace()
            self.emit(
                "session.output_transcript.delta",
                delta=word.text,
                start_ms=word.start_ms,
                end_ms=word.end_ms,
            )
        if step.speaking or self.sim.continuous_output_audio:
            self._send_output_audio(step.output_pcm24, step.start_ms, step.end_ms)
        for fixture in step.fixtures_done:
            self.emit(
                "session.output_audio.fixture.played", client_event_id=fixture.fixture_event_id
            )
        self._report_usage()

    def _send_output_audio(self, pcm24: bytes, start_ms: int, end_ms: int) -> None:
        if not pcm24:
            return
        self._pace()
        own = self._codec.encode(resample_from_24k(pcm24, self._codec.rate))
        self.outbox.send_event({"type": "session.output_audio.delta", "delta": _b64(own)})
        for sideband in self._sidebands:
            sideband.outbox.send_event(
                {
                    "type": "session.output_audio.delta",
                    "delta": _b64(pcm24),
                    "start_ms": start_ms,
                    "end_ms": end_ms,
                }
            )

    def _report_usage(self) -> None:
        interval = int(self.sim.usage_interval_ms)
        if interval <= 0:
            return
        marks = self._timeline.now // interval
        if marks > self._usage_marks:
            self._usage_marks = marks
            self.emit("session.usage.updated", usage=self._usage())

    def _on_mute(self, event: JSON) -> None:
        self._muted = event["type"] == "session.input_audio.mute"
        ack = "session.input_audio.muted" if self._muted else "session.input_audio.unmuted"
        self.emit(ack, client_event_id=event.get("event_id"))

    def _on_fixture(self, event: JSON) -> None:
        try:
            audio = base64.b64decode(event["audio"], validate=True)
        except (binascii.Error, ValueError):
            raise WireError("Invalid base64 audio.", code="invalid_value", param="audio") from None
        if not audio or len(audio) % 2:
            raise WireError(
                "The fixture must be non-empty PCM16 audio.", code="invalid_value", param="audio"
            )
        if self._timeline.fixture_active:
            raise WireError("An audio fixture is already playing.", code="fixture_active")
        self._timeline.play_fixture(audio, event.get("event_id"))
        self.emit("session.output_audio.fixture.playing", client_event_id=event.get("event_id"))

    # -- appended context

    def _on_append(self, event: JSON) -> None:
        if self._timeline.fixture_active:
            raise WireError(
                "Context cannot be appended while an audio fixture is active.",
                code="fixture_active",
            )
        delegation_id = event.get("delegation_id")
        if delegation_id is not None:
            if self.delegation_type == "responses":
                raise WireError(
                    "delegation_id is not accepted with Responses delegation.",
                    code="invalid_value",
                    param="delegation_id",
                )
            if delegation_id not in self._delegations:
                raise WireError(
                    f"Unknown delegation '{delegation_id}'.",
                    code="delegation_not_found",
                    param="delegation_id",
                )
        if event["type"] != "session.instructions.append":
            self._acks.clear()  # commentary or thinking cancels pending acknowledgements
        self._pending.append(event)

    def _place_pending(self) -> None:
        pending, self._pending = self._pending, []
        now = self._timeline.now
        for event in pending:
            ack = event["type"].replace(".append", ".appended")
            self.emit(ack, start_ms=now, end_ms=now, client_event_id=event.get("event_id"))
            if event["type"] == "session.commentary.append":
                self._timeline.say(event["content"])

    # -- the model's turns

    def _on_utterance(self, utterance: Utterance) -> None:
        text = str(self.sim.transcript_for_audio)
        words = text.split()
        span = max(1, utterance.end_ms - utterance.start_ms)
        for i, word in enumerate(words):
            start = utterance.start_ms + span * i // len(words)
            end = utterance.start_ms + span * (i + 1) // len(words)
            self._pace()
            self.emit(
                "session.input_transcript.delta",
                delta=word if i == 0 else " " + word,
                start_ms=start,
                end_ms=end,
            )
        rule = self.sim.script.delegation_for(text)
        if rule is not None:
            delegation_id = new_id("dlg")
            kind = self.delegation_type
            self._delegations[delegation_id] = kind
            now = self._timeline.now
            if kind == "responses":
                self._backend.delegate(delegation_id, rule, now)
            else:
                self.emit(
                    "session.delegation.created",
                    delegation={"id": delegation_id, "target": kind, "type": "delegation"},
                    offset_ms=now,
                )
            delay = int(
                ((self._snapshot or {}).get("delegation") or {}).get("acknowledgement_delay_ms")
                or 0
            )
            if self.sim.acknowledgement_text:
                self._acks.append(now + delay)
            return
        reply = self.sim.script.reply_for(text)
        if reply is not None:
            self._timeline.say(reply.text, reply.audio)

    def _check_acks(self) -> None:
        now = self._timeline.now
        due = [t for t in self._acks if t <= now]
        if due and self.sim.acknowledgement_text:
            self._acks = [t for t in self._acks if t > now]
            self._timeline.say(str(self.sim.acknowledgement_text))

    def speak(self, text: str) -> None:
        """Make the model say ``text`` (after its current speech)."""
        with self._lock:
            self._timeline.say(text)

    def _on_decision(self, event: JSON) -> None:
        if self.delegation_type != "decisions":
            raise WireError(
                f"{event['type']} requires Decisions delegation.",
                code="decisions_delegation_required",
            )
        client_event_id = event.get("event_id")
        if event["type"] == "decision.item.create":
            item: JSON = copy.deepcopy(event["item"])
            item.setdefault("id", new_id("item"))
            if item["id"] in self._decision_items:
                raise WireError(
                    f"Item '{item['id']}' already exists.", code="invalid_value", param="item.id"
                )
            if item.get("type") in (
                "function_call",
                "function_call_output",
                "custom_tool_call",
                "custom_tool_call_output",
            ):
                item.setdefault("status", "completed")
            self._decision_items.append(item["id"])
            self.emit("decision.item.created", item=item, client_event_id=client_event_id)
            return
        if event["type"] == "decision.item.delete":
            item_id = event["item_id"]
            if item_id not in self._decision_items:
                raise WireError(
                    f"Item '{item_id}' does not exist.", code="invalid_value", param="item_id"
                )
            self._decision_items.remove(item_id)
            self.emit("decision.item.deleted", item_id=item_id, client_event_id=client_event_id)
            return
        raise WireError(
            "decision.create is not simulated.", code="not_simulated", type="server_error"
        )


def close_quietly(connection: ServerConnection, code: int = 1000, reason: str = "") -> None:
    """Close a connection, ignoring a peer that is already gone."""
    with contextlib.suppress(ConnectionClosed, OSError):
        connection.close(code, reason)


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _fork_config(stored: JSON, overrides: JSON) -> JSON:
    config = {
        k: copy.deepcopy(v) for k, v in stored.items() if k not in ("id", "expires_at", "status")
    }
    audio = overrides.get("audio") or {}
    if audio.get("format") is not None:
        config.setdefault("audio", {})["format"] = audio["format"]
    delegation = overrides.get("delegation")
    if delegation is not None:
        current = config.get("delegation") or {}
        if current.get("type") != "responses":
            raise WireError(
                "Fork delegation overrides need a stored Responses delegation.",
                code="invalid_value",
                param="session.delegation",
            )
        for key, value in delegation.items():
            if isinstance(value, dict) and isinstance(current.get(key), dict):
                current[key].update(value)
            elif value is not None:
                current[key] = value
    return config
