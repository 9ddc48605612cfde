"""Per-connection protocol state of the simulator.

One :class:`RealtimeSession` exists per accepted WebSocket. It validates and
answers client events like the real GA server, keeps the session configuration,
the default conversation (``_conversation``), the input audio buffer and its
server VAD (``_input_audio``), and starts responses, which stream on threads of
their own (``_response``) so the receive loop keeps reading client events.

A connection opened with ``?intent=transcription`` gets a *transcription session*
instead (``session.type`` ``"transcription"``): input audio only, VAD or manual
commits turn speech into items that are transcribed
(``conversation.item.input_audio_transcription.delta`` / ``.completed``), no
responses, and the realtime-only fields and events are refused.

Locking: ``RealtimeSession._lock`` guards the session state and is held while a
state change *and the event announcing it* are emitted, so the order of events on
the wire matches the order of state changes. The outbox serializes the frames
themselves. The session lock may be taken before the outbox lock, never the
other way round, and no thread ever joins another while holding either.
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

from ._audio import AudioFormat
from ._conversation import Conversation
from ._host import SessionHost
from ._ids import JSON, new_id, obfuscation
from ._input_audio import InputAudioBuffer
from ._items import normalize_item, public_item, reply_request, resolve_input, text_tokens_of
from ._outbox import Outbox
from ._response import ResponseRun
from ._text import split_words, text_tokens
from ._validation import (
    ProtocolError,
    apply_session_update,
    apply_transcription_update,
    check_int,
    check_keys,
    check_str,
    decode_base64,
    default_session,
    default_transcription_session,
    kind_of,
    missing,
    validate_response_options,
    value_error,
)

__all__ = ["RealtimeSession"]

logger = logging.getLogger("realtime_sync.testing")

_JOIN_TIMEOUT = 5.0
_MIN_COMMIT_MS = 100.0

_Handler = Tuple[Tuple[str, ...], Callable[[JSON], None]]

TRANSCRIPTION_INTENT = "transcription"
"""The ``intent`` query value of a transcription connection."""

_LOGPROBS = "item.input_audio_transcription.logprobs"
_UNKNOWN: Any = object()  # the intent was not passed: see RealtimeSession


class RealtimeSession:
    """Protocol state and event handling for one connection.

    ``intent`` is the connection URL's ``intent`` query value (``None`` when it
    has none): ``"transcription"`` opens a transcription session. When the
    caller does not pass it at all, the intent is unknown and a fresh session
    (no audio, items or responses yet) becomes a transcription session on the
    first ``session.update`` of ``type`` ``"transcription"``; with a known
    intent a realtime session refuses that update, as the live server does.
    """

    def __init__(
        self, *, host: SessionHost, outbox: Outbox, model: str, intent: Optional[str] = _UNKNOWN
    ) -> None:
        self._host = host
        self._outbox = outbox
        # Guards every attribute below (session config, conversation, input audio buffer,
        # response runs, rate-limit counters, _closed); response runs take it too.
        self._lock = threading.RLock()
        self._transcription = intent == TRANSCRIPTION_INTENT
        self._may_switch = intent is _UNKNOWN  # see the class documentation
        self._session = (
            default_transcription_session() if self._transcription else default_session(model)
        )
        self._conversation = Conversation()
        self._input = InputAudioBuffer()
        # Where the server VAD's idle timer started (after a response), None while unarmed.
        self._idle_from: Optional[float] = None
        self._runs: Dict[str, ResponseRun] = {}
        self._default_run: Optional[ResponseRun] = None
        self._last_response_id: Optional[str] = None
        self._tokens_used = 0
        self._requests_used = 0
        self._closed = False
        self._configure_input()

    # -- what response runs use (RunOwner)

    @property
    def lock(self) -> Any:
        """The session lock (re-entrant)."""
        return self._lock

    @property
    def conversation(self) -> Conversation:
        """The default conversation (guarded by :attr:`lock`)."""
        return self._conversation

    def emit(self, type_: str, **fields: Any) -> bool:
        """Send a server event of ``type_`` with a fresh ``event_id`` (overrides applied)."""
        event: JSON = {"type": type_, "event_id": new_id("event")}
        event.update(fields)
        return self._outbox.send_event(self._host.shape_event(event))

    def run_finished(self, run: ResponseRun) -> None:
        """Forget a run that ended (lock held)."""
        self._runs.pop(run.response_id, None)
        if self._default_run is run:
            self._default_run = None
            self._idle_from = self._input.position_ms  # the idle timer starts now

    def rate_limits(self, tokens: int) -> List[JSON]:
        """Count one request of ``tokens`` tokens; the ``rate_limits`` to report."""
        with self._lock:
            self._requests_used += 1
            self._tokens_used += tokens
            return [
                {
                    "name": "requests",
                    "limit": 5000,
                    "remaining": max(5000 - self._requests_used, 0),
                    "reset_seconds": round(0.012 * self._requests_used, 3),
                },
                {
                    "name": "tokens",
                    "limit": 800000,
                    "remaining": max(800000 - self._tokens_used, 0),
                    "reset_seconds": round(0.0075 * self._tokens_used / 100.0 + 0.1, 3),
                },
            ]

    # -- lifecycle

    def _error(self, exc: ProtocolError, client_event_id: Optional[str]) -> None:
        self.emit(
            "error",
            error={
                "type": exc.type,
                "code": exc.code,
                "message": exc.message,
                "param": exc.param,
                "event_id": client_event_id,
            },
        )

    def preset(self, update: JSON) -> None:
        """Start from ``update`` applied to the default session (a SIP call's accepted config)."""
        with self._lock:
            self._session = apply_session_update(self._session, update)

    def start(self) -> None:
        """Greet the client with ``session.created``."""
        with self._lock:
            self.emit("session.created", session=copy.deepcopy(self._session))

    def close(self) -> None:
        """Stop every response in progress and wait for their threads (connection is gone)."""
        with self._lock:
            self._closed = True
            runs = list(self._runs.values())
        for run in runs:
            run.cancel("client_cancelled")
        for run in runs:
            run.join(_JOIN_TIMEOUT)

    # -- dispatch

    def handle_message(self, message: Union[str, bytes]) -> None:
        """Handle one frame received from the client."""
        try:
            text = message.decode("utf-8") if isinstance(message, bytes) else message
            event = json.loads(text)
        except (UnicodeDecodeError, ValueError) as exc:
            self._error(
                ProtocolError(
                    f"Invalid JSON in client event: {exc}.", code="invalid_json", param=None
                ),
                None,
            )
            return
        if not isinstance(event, dict):
            self._error(
                ProtocolError(
                    f"Invalid client event: expected a JSON object, but got {kind_of(event)}.",
                    code="invalid_json",
                ),
                None,
            )
            return
        self._host.record_received(event)
        raw_id = event.get("event_id")
        client_event_id = raw_id if isinstance(raw_id, str) else None
        if event.get("type") != "session.update":
            self._may_switch = False  # the session is in use: its type is settled
        try:
            self._dispatch(event)
        except ProtocolError as exc:
            self._error(exc, client_event_id)
        except Exception:  # a simulator bug: report it like the real server would
            logger.exception("realtime simulator failed to handle %r", event.get("type"))
            self._error(
                ProtocolError(
                    "The server had an error while processing your request.",
                    code=None,
                    type_="server_error",
                ),
                client_event_id,
            )

    def _dispatch(self, event: JSON) -> None:
        if "type" not in event:
            raise missing("type")
        kind = event["type"]
        handlers = self._handlers()
        handler = handlers.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise value_error("type", kind, sorted(handlers))
        keys, method = handler
        check_keys(event, ("type", "event_id", *keys), "")
        if "event_id" in event:
            check_str(event["event_id"], "event_id")
        method(event)

    def _handlers(self) -> Dict[str, _Handler]:
        if self._transcription:
            # A transcription session has input audio only: no conversation, no responses.
            return {
                "session.update": (("session",), self._on_session_update),
                "input_audio_buffer.append": (("audio",), self._on_audio_append),
                "input_audio_buffer.commit": ((), self._on_audio_commit),
                "input_audio_buffer.clear": ((), self._on_audio_clear),
            }
        return {
            "session.update": (("session",), self._on_session_update),
            "input_audio_buffer.append": (("audio",), self._on_audio_append),
            "input_audio_buffer.commit": ((), self._on_audio_commit),
            "input_audio_buffer.clear": ((), self._on_audio_clear),
            "output_audio_buffer.clear": ((), self._on_output_audio_clear),
            "conversation.item.create": (("item", "previous_item_id"), self._on_item_create),
            "conversation.item.truncate": (
                ("item_id", "content_index", "audio_end_ms"),
                self._on_item_truncate,
            ),
            "conversation.item.delete": (("item_id",), self._on_item_delete),
            "conversation.item.retrieve": (("item_id",), self._on_item_retrieve),
            "response.create": (("response",), self._on_response_create),
            "response.cancel": (("response_id",), self._on_response_cancel),
        }

    # -- session

    def _on_session_update(self, event: JSON) -> None:
        if "session" not in event:
            raise missing("session")
        update = event["session"]
        with self._lock:
            if self._may_switch and isinstance(update, dict):
                if update.get("type") == TRANSCRIPTION_INTENT:
                    # The intent is unknown (see the class doc): a fresh session may still
                    # become a transcription session. Validated before anything changes.
                    session = apply_transcription_update(default_transcription_session(), update)
                    session["id"] = self._session["id"]
                    self._transcription = True
                    self._session = session
                    self._may_switch = False
                    self._configure_input()
                    self.emit("session.updated", session=copy.deepcopy(self._session))
                    return
                if update.get("type") == "realtime":
                    self._may_switch = False
            if self._transcription:
                self._session = apply_transcription_update(self._session, update)
            else:
                self._session = apply_session_update(self._session, update)
            self._configure_input()
            self.emit("session.updated", session=copy.deepcopy(self._session))

    def _input_format(self) -> AudioFormat:
        return AudioFormat.from_config(self._session["audio"]["input"]["format"])

    def _turn_detection(self) -> Optional[JSON]:
        td = self._session["audio"]["input"]["turn_detection"]
        return td if isinstance(td, dict) else None

    def _configure_input(self) -> None:
        self._input.configure(self._input_format(), self._turn_detection())

    # -- input audio

    def _on_audio_append(self, event: JSON) -> None:
        if "audio" not in event:
            raise missing("audio")
        data = decode_base64(event["audio"], "audio")
        with self._lock:
            vad_events = self._input.append(data)
        for vad_event in vad_events:
            if vad_event.kind == "start":
                self._speech_started(vad_event.ms)
            else:
                self._speech_stopped(vad_event.ms)
        self._check_idle_timeout()

    def _check_idle_timeout(self) -> None:
        """``idle_timeout_ms`` of server VAD: no speech that long after a response -> prompt."""
        with self._lock:
            td = self._turn_detection() or {}
            limit = td.get("idle_timeout_ms")
            since = self._idle_from
            now = self._input.position_ms
            if (
                td.get("type") != "server_vad"
                or not limit
                or since is None
                or self._input.in_speech
                or self._default_run is not None
                or now - since < float(limit)
            ):
                return
            self._idle_from = None
            audio, item_id = self._input.take_all()
            self.emit(
                "input_audio_buffer.timeout_triggered",
                audio_start_ms=int(since),
                audio_end_ms=int(now),
                item_id=item_id,
            )
            self._commit(audio, item_id)
        self._start_response({})

    def _speech_started(self, onset_ms: int) -> None:
        with self._lock:
            td = self._turn_detection() or {}
            start, item_id = self._input.speech_started(
                onset_ms, int(td.get("prefix_padding_ms", 300))
            )
            self._idle_from = None
            self.emit("input_audio_buffer.speech_started", audio_start_ms=start, item_id=item_id)
            run = self._default_run if td.get("interrupt_response", True) else None
        if run is not None:
            run.cancel("turn_detected")
            run.join(_JOIN_TIMEOUT)

    def _speech_stopped(self, end_ms: int) -> None:
        with self._lock:
            td = self._turn_detection() or {}
            audio, item_id = self._input.speech_stopped(end_ms)
            self.emit("input_audio_buffer.speech_stopped", audio_end_ms=end_ms, item_id=item_id)
            self._commit(audio, item_id)
            wants_response = (
                not self._transcription
                and bool(td.get("create_response", True))
                and self._default_run is None
            )
        if wants_response:
            self._start_response({})

    def _on_audio_commit(self, _event: JSON) -> None:
        with self._lock:
            have_ms = self._input.duration_ms
            if have_ms < _MIN_COMMIT_MS:
                raise ProtocolError(
                    "Error committing input audio buffer: buffer too small. Expected at least "
                    f"100ms of audio, but buffer only has {have_ms:.2f}ms of audio.",
                    code="input_audio_buffer_commit_empty",
                )
            audio, item_id = self._input.take_all()
            self._commit(audio, item_id)

    def _on_audio_clear(self, _event: JSON) -> None:
        with self._lock:
            self._input.reset()
            self.emit("input_audio_buffer.cleared")

    def _commit(self, audio: bytes, item_id: str) -> None:
        """Turn committed audio into a user item (lock held)."""
        item: JSON = {
            "id": item_id,
            "type": "message",
            "object": "realtime.item",
            "status": "completed",
            "role": "user",
            "content": [{"type": "input_audio", "transcript": None}],
        }
        previous = self._conversation.append(item, {0: audio})
        self.emit("input_audio_buffer.committed", previous_item_id=previous, item_id=item_id)
        if not self._transcription:  # a transcription session has no conversation to add to
            self.emit("conversation.item.added", previous_item_id=previous, item=public_item(item))
            self.emit("conversation.item.done", previous_item_id=previous, item=public_item(item))
        transcription = self._session["audio"]["input"]["transcription"]
        if transcription is not None:
            self._transcribe(item, transcription, self._input_format().duration_ms(len(audio)))

    def _transcribe(self, item: JSON, config: JSON, duration_ms: float) -> None:
        transcript = self._host.transcript_for_audio
        with_logprobs = _LOGPROBS in (self._session.get("include") or [])
        all_logprobs: List[JSON] = []
        for piece in split_words(transcript):
            extra: JSON = {}
            if with_logprobs:
                extra["logprobs"] = [_logprob(piece)]
                all_logprobs.extend(extra["logprobs"])
            self.emit(
                "conversation.item.input_audio_transcription.delta",
                item_id=item["id"],
                content_index=0,
                delta=piece,
                obfuscation=obfuscation(piece),
                **extra,
            )
        model = str(config.get("model") or "whisper-1")
        usage: JSON
        if "whisper" in model:
            usage = {"type": "duration", "seconds": round(duration_ms / 1000.0, 3)}
        else:
            audio_tokens = max(1, int(duration_ms / 100))
            out_tokens = text_tokens(transcript)
            usage = {
                "type": "tokens",
                "input_tokens": audio_tokens,
                "output_tokens": out_tokens,
                "total_tokens": audio_tokens + out_tokens,
                "input_token_details": {"text_tokens": 0, "audio_tokens": audio_tokens},
            }
        item["content"][0]["transcript"] = transcript
        self.emit(
            "conversation.item.input_audio_transcription.completed",
            item_id=item["id"],
            content_index=0,
            transcript=transcript,
            usage=usage,
            **({"logprobs": all_logprobs} if with_logprobs else {}),
        )

    def _on_output_audio_clear(self, _event: JSON) -> None:
        with self._lock:
            if self._last_response_id is None:
                raise ProtocolError(
                    "There is no response whose output audio could be cleared.",
                    code="invalid_value",
                )
            self.emit("output_audio_buffer.cleared", response_id=self._last_response_id)

    # -- conversation items

    def _on_item_create(self, event: JSON) -> None:
        if "item" not in event:
            raise missing("item")
        item, audio = normalize_item(event["item"], "item")
        previous_id = event.get("previous_item_id")
        if previous_id is not None:
            check_str(previous_id, "previous_item_id")
        with self._lock:
            conversation = self._conversation
            if conversation.get(item["id"]) is not None:
                raise ProtocolError(
                    f"Error adding item: an item with id '{item['id']}' already exists.",
                    code="invalid_value",
                    param="item.id",
                )
            # Calls made by out-of-band responses are not in the conversation: their
            # outputs are refused here like any unknown call id.
            if item["type"] == "function_call_output" and not conversation.has_function_call(
                item["call_id"]
            ):
                raise ProtocolError(
                    f"Tool call ID '{item['call_id']}' not found in conversation.",
                    code="invalid_tool_call_id",
                )
            previous = conversation.insert(item, previous_id, audio)
            self.emit("conversation.item.added", previous_item_id=previous, item=public_item(item))
            self.emit("conversation.item.done", previous_item_id=previous, item=public_item(item))

    def _item_id_param(self, event: JSON) -> str:
        if "item_id" not in event:
            raise missing("item_id")
        return check_str(event["item_id"], "item_id")

    def _on_item_truncate(self, event: JSON) -> None:
        item_id = self._item_id_param(event)
        for key in ("content_index", "audio_end_ms"):
            if key not in event:
                raise missing(key)
        content_index = check_int(event["content_index"], "content_index", minimum=0)
        audio_end_ms = check_int(event["audio_end_ms"], "audio_end_ms", minimum=0)
        with self._lock:
            item = self._conversation.get(item_id)
            if item is None:
                raise ProtocolError(
                    f"Error truncating item: the item with id '{item_id}' does not exist.",
                    code="item_truncate_invalid_item_id",
                    param="item_id",
                )
            content = item.get("content") or []
            if item.get("role") != "assistant" or not any(
                part["type"] == "output_audio" for part in content
            ):
                raise ProtocolError(
                    "Only model output audio messages can be truncated.",
                    code="invalid_value",
                    param="item_id",
                )
            if content_index >= len(content) or content[content_index]["type"] != "output_audio":
                raise ProtocolError(
                    f"Invalid 'content_index': content part {content_index} of item "
                    f"'{item_id}' is not an output_audio part.",
                    code="invalid_value",
                    param="content_index",
                )
            audio = self._conversation.audio(item_id, content_index)
            fmt = AudioFormat.from_config(self._session["audio"]["output"]["format"])
            have_ms = fmt.duration_ms(len(audio))
            if audio_end_ms > have_ms + 1e-6:
                raise ProtocolError(
                    f"Audio content of {int(have_ms)}ms is already shorter than {audio_end_ms}ms.",
                    code="invalid_value",
                    param="audio_end_ms",
                )
            # A copy: a response still streaming this item must not grow it again.
            self._conversation.replace_audio(
                item_id, content_index, bytes(audio[: fmt.bytes_for_ms(audio_end_ms)])
            )
            content[content_index]["transcript"] = ""
            for run in self._runs.values():
                run.item_truncated(item_id)
            self.emit(
                "conversation.item.truncated",
                item_id=item_id,
                content_index=content_index,
                audio_end_ms=audio_end_ms,
            )

    def _on_item_delete(self, event: JSON) -> None:
        item_id = self._item_id_param(event)
        with self._lock:
            if not self._conversation.delete(item_id):
                raise ProtocolError(
                    f"Error deleting item: the item with id '{item_id}' does not exist.",
                    code="item_delete_invalid_item_id",
                    param="item_id",
                )
            self.emit("conversation.item.deleted", item_id=item_id)

    def _on_item_retrieve(self, event: JSON) -> None:
        item_id = self._item_id_param(event)
        with self._lock:
            item = self._conversation.retrieved_view(item_id)
            if item is None:
                raise ProtocolError(
                    f"Error retrieving item: the item with id '{item_id}' does not exist.",
                    code="item_retrieve_invalid_item_id",
                    param="item_id",
                )
            self.emit("conversation.item.retrieved", item=item)

    # -- responses

    def _on_response_create(self, event: JSON) -> None:
        self._start_response(event.get("response"))

    def _input_tokens(self, context: List[JSON], instructions: str) -> Tuple[int, int]:
        text = text_tokens(instructions) + sum(text_tokens_of(item) for item in context)
        in_fmt = self._input_format()
        audio_ms = sum(
            in_fmt.duration_ms(self._conversation.audio_bytes(item["id"])) for item in context
        )
        return text, int(audio_ms / 100)

    def _start_response(self, params: Any) -> None:
        """Create and start a response (from response.create or from server VAD)."""
        with self._lock:
            if self._closed:
                return
            options, raw_input = validate_response_options(params, self._session["audio"]["output"])
            in_conversation = options.get("conversation", "auto") != "none"
            if in_conversation and self._default_run is not None:
                raise ProtocolError(
                    "Conversation already has an active response in progress: "
                    f"{self._default_run.response_id}. Wait until the response is finished "
                    "before creating a new one.",
                    code="conversation_already_has_active_response",
                )
            if raw_input is None:
                context = self._conversation.items
            else:
                context = resolve_input(raw_input, self._conversation.get)
            request = reply_request(context, self._host.transcript_for_audio)
            modalities: List[str] = list(
                options.get("output_modalities") or self._session["output_modalities"]
            )
            audio_out = options.get("audio") or {
                "format": self._session["audio"]["output"]["format"],
                "voice": self._session["audio"]["output"]["voice"],
            }
            instructions = str(options.get("instructions", self._session["instructions"]))
            input_tokens = self._input_tokens(context, instructions)
        plan = self._host.plan_reply(request)
        response_id = new_id("resp")
        response: JSON = {
            "object": "realtime.response",
            "id": response_id,
            "status": "in_progress",
            "status_details": None,
            "output": [],
            "conversation_id": self._conversation.id if in_conversation else None,
            "output_modalities": list(modalities),
            "max_output_tokens": options.get(
                "max_output_tokens", self._session["max_output_tokens"]
            ),
            "audio": {"output": copy.deepcopy(audio_out)},
            "usage": None,
            "metadata": options.get("metadata"),
        }
        run = ResponseRun(
            self,
            self._host,
            response=response,
            plan=plan,
            in_conversation=in_conversation,
            audio=modalities == ["audio"],
            out_format=AudioFormat.from_config(audio_out["format"]),
            speed=float(self._session["audio"]["output"].get("speed", 1.0)),
            input_tokens=input_tokens,
        )
        with self._lock:
            if self._is_closed():  # the connection may have gone while the reply was planned
                return
            self._runs[response_id] = run
            if in_conversation:
                self._default_run = run
            self._last_response_id = response_id
            run.start()

    def _is_closed(self) -> bool:
        return self._closed

    def _on_response_cancel(self, event: JSON) -> None:
        wanted = event.get("response_id")
        if wanted is not None:
            check_str(wanted, "response_id")
        with self._lock:
            if wanted is not None:
                run = self._runs.get(wanted)
            else:
                run = self._default_run or next(iter(self._runs.values()), None)
            if run is None:
                if wanted is not None:
                    raise ProtocolError(
                        f"Cancellation failed: no active response found with id '{wanted}'.",
                        code="response_cancel_not_active",
                        param="response_id",
                    )
                raise ProtocolError(
                    "Cancellation failed: no active response found.",
                    code="response_cancel_not_active",
                )
        run.cancel("client_cancelled")
        run.join(_JOIN_TIMEOUT)


def _logprob(piece: str) -> JSON:
    """A made-up, deterministic log-probability entry for one transcript delta."""
    return {
        "token": piece,
        "logprob": -round(0.01 * (1 + len(piece.strip()) % 7), 4),
        "bytes": list(piece.encode("utf-8")),
    }
