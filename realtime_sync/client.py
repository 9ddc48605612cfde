"""``RealtimeClient``: the high-level API most applications use.

It owns a :class:`~realtime_sync.api.RealtimeAPI` (``client.realtime``) and a
:class:`~realtime_sync.conversation.RealtimeConversation` (``client.conversation``),
keeps the session configuration, runs tools, and turns server events into the
utility events ``conversation.updated`` / ``.item.appended`` / ``.item.completed``
/ ``.interrupted``.

Threads: server events are applied to the conversation on the dispatcher
thread, before any handler sees them. Tool handlers run on a small worker pool
(``realtime-tool_N``), never on the reader or the dispatcher thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent import futures
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import attrs

from . import events as ev
from .api import DEFAULT_MODEL, RealtimeAPI
from .conversation import FormattedItem, RealtimeConversation
from .dispatcher import EventFuture, Handler
from .errors import (
    ConnectionClosedError,
    NotConnectedError,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeServerError,
    RealtimeTimeoutError,
)
from .models import (
    NOT_GIVEN,
    AudioConfig,
    AudioFormat,
    AudioInputConfig,
    AudioOutputConfig,
    ContentPart,
    ContentPartType,
    CustomVoice,
    InputAudioTranscriptionConfig,
    ItemFunctionCall,
    ItemFunctionCallOutput,
    ItemMessage,
    ItemRole,
    ItemStatus,
    MaxOutputTokens,
    Modality,
    NoiseReduction,
    NotGiven,
    RateLimit,
    RealtimeErrorDetails,
    Response,
    ResponseCreateParams,
    ResponseStatus,
    SessionConfig,
    Tool,
    ToolChoice,
    ToolChoiceSetting,
    ToolDefinition,
    TurnDetection,
    Usage,
    Voice,
)
from .reconnect import FATAL_ERROR_CODES, ReconnectPolicy, plan_replay
from .utils import RealtimeUtils, base64_encode, generate_id

__all__ = ["DEFAULT_SESSION", "RealtimeClient", "ToolHandler", "Turn"]

logger = logging.getLogger("realtime_sync")

ToolHandler = Callable[[Dict[str, Any]], Any]
"""A tool handler: called with the parsed JSON arguments, returns anything JSON-serialisable."""

DEFAULT_SESSION = SessionConfig(
    type="realtime",
    output_modalities=[Modality.AUDIO],
    audio=AudioConfig(
        input=AudioInputConfig(
            format=AudioFormat.pcm16(),
            transcription=None,
            turn_detection=None,
        ),
        output=AudioOutputConfig(format=AudioFormat.pcm16(), voice=Voice.MARIN),
    ),
    tool_choice=ToolChoice.AUTO,
)
"""The session a new client asks for, sent right after ``session.created``.

Audio answers (with transcripts), PCM16 24 kHz both ways, voice ``marin``,
no input transcription, and **manual turns** (``turn_detection=None``) as in
the seed libraries: the app decides when the user is done and calls
:meth:`RealtimeClient.create_response`. Pass ``turn_detection=TurnDetection()``
for server VAD.
"""


@attrs.frozen
class Turn:
    """What :meth:`RealtimeClient.ask` returns: the assistant's items of one turn.

    ``items`` holds the assistant messages and function calls of every response
    in the turn (a tool call's follow-up response included), in order.
    """

    items: List[FormattedItem]
    responses: List[Response]

    @property
    def text(self) -> str:
        """The assistant's words: message text, or audio transcripts."""
        parts = []
        for item in self.items:
            if item.role == ItemRole.ASSISTANT:
                parts.append(item.formatted.text or item.formatted.transcript)
        return "\n".join(p for p in parts if p)

    @property
    def audio(self) -> bytes:
        """The assistant's audio of the turn, PCM16 concatenated."""
        return b"".join(item.formatted.audio for item in self.items)


@attrs.define(eq=False)
class _ResponseTools:
    """Bookkeeping of one response's calls of auto-run tools."""

    started: set[str] = attrs.field(factory=set)
    pending: set[str] = attrs.field(factory=set)
    done: bool = False
    follow_up_sent: bool = False


BENIGN_ERROR_CODES = frozenset(
    {"conversation_already_has_active_response", "response_cancel_not_active"}
)
"""Server errors that report a harmless race: logged at debug, still dispatched as events."""


class RealtimeClient:
    """A Realtime API session with a conversation cache, tools and utility events.

    Args:
        api_key: defaults to ``$OPENAI_API_KEY``.
        url: the endpoint (default OpenAI's); a relay or ``RealtimeSimulator.url``.
        headers: extra handshake headers.
        debug: log every frame at DEBUG on the ``realtime_sync`` logger.
        dangerously_allow_api_key_in_browser: permit a key in a browser runtime.
        input_audio_retention_s: seconds of input audio kept to slice speech items.
        audio_retention_s: seconds of audio kept in completed items, newest first
            (older items keep their text and transcripts; ``None`` keeps all).
        tool_workers: threads that run tool handlers.
        tool_timeout: seconds a tool handler may take before ``{"error": ...}``
            is sent in its place (``None``: wait forever).
        reconnect: a :class:`ReconnectPolicy` (``True`` for the defaults) to
            reconnect after an unexpected close, replaying the conversation.
    """

    def __init__(
        self,
        *,
        api_key: Optional[str] = None,
        url: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        debug: bool = False,
        dangerously_allow_api_key_in_browser: bool = False,
        input_audio_retention_s: float = 300.0,
        audio_retention_s: Optional[float] = 300.0,
        tool_workers: int = 4,
        tool_timeout: Optional[float] = 60.0,
        reconnect: Union[ReconnectPolicy, bool, None] = None,
    ) -> None:
        self.realtime = RealtimeAPI(
            url=url,
            api_key=api_key,
            headers=headers,
            debug=debug,
            dangerously_allow_api_key_in_browser=dangerously_allow_api_key_in_browser,
        )
        self.conversation = RealtimeConversation(
            input_audio_retention_s=input_audio_retention_s, audio_retention_s=audio_retention_s
        )
        self._tool_workers = tool_workers
        self.tool_timeout = tool_timeout
        self.reconnect_policy: Optional[ReconnectPolicy] = (
            ReconnectPolicy() if reconnect is True else (reconnect or None)
        )
        self.rate_limits: List[RateLimit] = []
        """The latest ``rate_limits.updated`` from the server."""
        self.usage = Usage()
        """Token usage summed over this client's responses."""
        # Set while a session is open and configured; sends made during a
        # reconnect wait on it (bounded by the policy's send_timeout).
        self._ready = threading.Event()
        self._stop_reconnect = threading.Event()
        self._closing = False
        self._reconnect_thread: Optional[threading.Thread] = None
        self._fatal_error: Optional[str] = None
        self._connected_at = 0.0
        self._connect_args: Dict[str, Any] = {"model": DEFAULT_MODEL, "timeout": 10.0}
        # Guards _session_config, _session_tools, _tools, _response_tools, _active_response,
        # _executor, _reconnect_thread (its start), session and usage.
        self._lock = threading.RLock()
        self._session_config = DEFAULT_SESSION
        self._session_tools: List[Tool] = []
        self._tools: Dict[str, tuple[ToolDefinition, ToolHandler]] = {}
        self._response_tools: Dict[str, _ResponseTools] = {}
        self._active_response: Optional[str] = None
        self._executor: Optional[ThreadPoolExecutor] = None
        self.session: Optional[SessionConfig] = None
        """The session as the server last reported it (``session.created`` / ``.updated``)."""
        # What the client itself does with a server event (after the cache has it).
        self._reactions: Dict[str, Callable[[Any], None]] = {
            "session.created": self._session_seen,
            "session.updated": self._session_seen,
            "response.created": self._response_started,
            "response.done": lambda e: self._response_done(e.response),
            "conversation.item.done": lambda e: self._maybe_run_tool(e.item),
            "rate_limits.updated": self._rate_limits_seen,
            "error": lambda e: self._log_server_error(e.error),
        }
        self.realtime.dispatcher.pre_handler = self._on_event

    def __repr__(self) -> str:
        return f"RealtimeClient(url={self.realtime.url!r}, connected={self.is_connected()})"

    def __enter__(self) -> RealtimeClient:
        if not self.is_connected():
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    # ------------------------------------------------------------------ events

    def on(self, event_type: str, handler: Handler) -> Handler:
        """Call ``handler(event)`` for every ``event_type`` event; returns ``handler``."""
        return self.realtime.on(event_type, handler)

    def on_next(self, event_type: str, handler: Handler) -> Handler:
        """Call ``handler(event)`` for the next ``event_type`` event only."""
        return self.realtime.on_next(event_type, handler)

    def off(self, event_type: str, handler: Optional[Handler] = None) -> None:
        """Remove a handler (or all handlers) of ``event_type``."""
        self.realtime.off(event_type, handler)

    def clear_handlers(self) -> None:
        """Remove every handler."""
        self.realtime.clear_handlers()

    def wait_for(
        self, event_type: str, *, predicate: Optional[Callable[[Any], bool]] = None
    ) -> EventFuture:
        """A future for the next ``event_type`` event, registered now.

        See :meth:`RealtimeAPI.wait_for`.
        """
        return self.realtime.wait_for(event_type, predicate=predicate)

    # ------------------------------------------------------------------ connection

    def is_connected(self) -> bool:
        """True while connected."""
        return self.realtime.is_connected()

    def connect(self, *, model: Optional[str] = None, timeout: float = 10.0) -> SessionConfig:
        """Connect, wait for ``session.created``, send the session config and wait for its echo.

        Returns the session as the server configured it (``session.updated``).

        Raises:
            RealtimeConnectionError: the connection failed (refused handshake, unreachable).
            RealtimeServerError: the server rejected the session config.
            RealtimeTimeoutError: no session within ``timeout`` seconds.
        """
        if self.is_connected():
            raise RealtimeError("already connected: call disconnect() first")
        self._join_reconnect()
        self.conversation.clear()
        with self._lock:
            self._response_tools.clear()
            self.usage = Usage()
        self._closing = False
        self._stop_reconnect.clear()
        self._fatal_error = None
        self._connect_args = {"model": model or DEFAULT_MODEL, "timeout": timeout}
        session = self._open_session(model or DEFAULT_MODEL, timeout)
        self._ready.set()
        return session

    def _open_session(self, model: str, timeout: float) -> SessionConfig:
        """Connect, wait for the session, configure it; disconnects again on failure."""
        with self._lock:
            self._active_response = None
            self.session = None
        created = self.realtime.wait_for(ev.RealtimeEventType.SESSION_CREATED)
        self.realtime.connect(model=model, timeout=timeout)
        try:
            _result(created, timeout, "session.created")
            event_id = generate_id("evt_")
            updated = self.realtime.wait_for(ev.RealtimeEventType.SESSION_UPDATED)
            rejected = self._wait_for_error_answering(event_id)
            self._send_session(event_id)
            reply = _first_of(updated, rejected, timeout, "session.updated")
        except BaseException:
            self.realtime.disconnect()
            raise
        session: SessionConfig = reply.session
        self._connected_at = time.monotonic()
        return session

    def disconnect(self, timeout: float = 5.0) -> None:
        """Close the connection and stop the threads. Idempotent; safe from a handler.

        Also ends a reconnect in progress.
        """
        self._closing = True
        self._stop_reconnect.set()
        self._ready.clear()
        self.realtime.disconnect(timeout)
        self._join_reconnect(timeout)
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=False)

    def _join_reconnect(self, timeout: float = 10.0) -> None:
        thread = self._reconnect_thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def reset(self) -> None:
        """Disconnect, forget the conversation, handlers, tools and session settings."""
        self.disconnect()
        self.clear_handlers()
        self.conversation.clear()
        with self._lock:
            self._session_config = DEFAULT_SESSION
            self._session_tools = []
            self._tools.clear()

    # ------------------------------------------------------------------ session

    def update_session(
        self,
        *,
        instructions: Union[str, NotGiven] = NOT_GIVEN,
        voice: Union[Voice, CustomVoice, str, NotGiven] = NOT_GIVEN,
        turn_detection: Union[TurnDetection, NotGiven, None] = NOT_GIVEN,
        input_audio_transcription: Union[InputAudioTranscriptionConfig, NotGiven, None] = NOT_GIVEN,
        input_audio_noise_reduction: Union[NoiseReduction, NotGiven, None] = NOT_GIVEN,
        noise_reduction: Union[NoiseReduction, NotGiven, None] = NOT_GIVEN,
        input_audio_format: Union[AudioFormat, str, NotGiven] = NOT_GIVEN,
        output_audio_format: Union[AudioFormat, str, NotGiven] = NOT_GIVEN,
        speed: Union[float, NotGiven, None] = NOT_GIVEN,
        tools: Union[Sequence[Tool], NotGiven, None] = NOT_GIVEN,
        tool_choice: Union[ToolChoiceSetting, str, NotGiven, None] = NOT_GIVEN,
        max_response_output_tokens: Union[MaxOutputTokens, NotGiven, None] = NOT_GIVEN,
        max_output_tokens: Union[MaxOutputTokens, NotGiven, None] = NOT_GIVEN,
        modalities: Union[Sequence[Union[Modality, str]], NotGiven] = NOT_GIVEN,
        output_modalities: Union[Sequence[Union[Modality, str]], NotGiven] = NOT_GIVEN,
        parallel_tool_calls: Union[bool, NotGiven, None] = NOT_GIVEN,
        session: Union[SessionConfig, NotGiven] = NOT_GIVEN,
        temperature: Any = NOT_GIVEN,
    ) -> None:
        """Change session settings; sends ``session.update`` now, or after ``connect``.

        Takes the seed libraries' names (``voice``, ``turn_detection``,
        ``input_audio_transcription``, ``input_audio_format``,
        ``max_response_output_tokens``, ``modalities``...) and the GA names
        (``output_modalities``, ``max_output_tokens``, ``noise_reduction``,
        ``speed``...), and always sends a GA session. A setting not given keeps
        its value; ``None`` turns it off (``turn_detection=None``: manual turns).
        ``tools`` here and tools from :meth:`add_tool` are merged. ``session``
        replaces the whole base config (advanced). ``temperature`` is accepted
        only to raise a clear :class:`RealtimeError`: GA sessions have none.
        """
        if temperature is not NOT_GIVEN:
            raise RealtimeError(
                "temperature is not part of the GA Realtime API and the server rejects a session "
                "that has it: remove it (use instructions or reasoning effort instead)"
            )
        with self._lock:
            cfg = self._session_config if isinstance(session, NotGiven) else session
            audio = cfg.audio or AudioConfig()
            inp = audio.input or AudioInputConfig()
            out = audio.output or AudioOutputConfig()
            if not isinstance(turn_detection, NotGiven):
                inp = attrs.evolve(inp, turn_detection=turn_detection)
            if not isinstance(input_audio_transcription, NotGiven):
                inp = attrs.evolve(inp, transcription=input_audio_transcription)
            for reduction in (input_audio_noise_reduction, noise_reduction):
                if not isinstance(reduction, NotGiven):
                    inp = attrs.evolve(inp, noise_reduction=reduction)
            if not isinstance(input_audio_format, NotGiven):
                inp = attrs.evolve(inp, format=AudioFormat.from_legacy(input_audio_format))
            if not isinstance(output_audio_format, NotGiven):
                out = attrs.evolve(out, format=AudioFormat.from_legacy(output_audio_format))
            if not isinstance(voice, NotGiven):
                out = attrs.evolve(
                    out, voice=voice if isinstance(voice, CustomVoice) else Voice(voice)
                )
            if not isinstance(speed, NotGiven):
                out = attrs.evolve(out, speed=speed)
            changes: Dict[str, Any] = {"audio": AudioConfig(input=inp, output=out)}
            if not isinstance(instructions, NotGiven):
                changes["instructions"] = instructions
            if not isinstance(tool_choice, NotGiven):
                changes["tool_choice"] = (
                    ToolChoice(tool_choice) if isinstance(tool_choice, str) else tool_choice
                )
            for tokens in (max_response_output_tokens, max_output_tokens):
                if not isinstance(tokens, NotGiven):
                    changes["max_output_tokens"] = tokens
            for mods in (modalities, output_modalities):
                if not isinstance(mods, NotGiven):
                    changes["output_modalities"] = _ga_modalities(mods)
            if not isinstance(parallel_tool_calls, NotGiven):
                changes["parallel_tool_calls"] = parallel_tool_calls
            if not isinstance(tools, NotGiven):
                self._session_tools = list(tools or [])
            elif not isinstance(session, NotGiven):
                self._session_tools = list(session.tools or [])
            self._session_config = attrs.evolve(cfg, **changes)
        if self.is_connected():
            self._send_session()
        # else: sent by connect(), or by the reconnect that is under way

    @property
    def session_config(self) -> SessionConfig:
        """The session config this client asks for (tools from :meth:`add_tool` included)."""
        with self._lock:
            tools: List[Tool] = [
                t
                for t in self._session_tools
                if not (isinstance(t, ToolDefinition) and t.name in self._tools)
            ]
            tools.extend(definition for definition, _ in self._tools.values())
            return attrs.evolve(self._session_config, tools=tools)

    def _send_session(self, event_id: Optional[str] = None) -> None:
        config = self.session_config
        audio = config.audio
        self.conversation.input_format = audio.input.format if audio and audio.input else None
        self.conversation.output_format = audio.output.format if audio and audio.output else None
        self.realtime.send(ev.SessionUpdateEvent(session=config, event_id=event_id))

    def _send(self, event: ev.ClientEvent) -> str:
        """Send, waiting (bounded) for the new session when a reconnect is under way."""
        try:
            return self.realtime.send(event)
        except NotConnectedError:
            policy = self.reconnect_policy
            waiting_allowed = (
                policy is not None
                and not self._closing
                and policy.send_timeout > 0
                and not self.realtime.dispatcher.is_dispatch_thread()
            )
            if not waiting_allowed or policy is None:
                raise
            if not self._ready.wait(policy.send_timeout) or not self.is_connected():
                raise ConnectionClosedError(
                    f"{event.type.value} was not sent: the connection dropped and no new session "
                    f"was ready within {policy.send_timeout:g} s (ReconnectPolicy.send_timeout)"
                ) from None
            return self.realtime.send(event)

    def _wait_for_error_answering(self, event_id: str) -> EventFuture:
        """A future for the server ``error`` that answers the client event ``event_id``."""
        return self.realtime.wait_for(
            ev.RealtimeEventType.ERROR,
            predicate=lambda e: isinstance(e, ev.ErrorEvent) and e.error.event_id == event_id,
        )

    # ------------------------------------------------------------------ tools

    def add_tool(self, definition: ToolDefinition, handler: ToolHandler) -> ToolDefinition:
        """Register a tool the client runs itself when the model calls it.

        ``handler(params)`` gets the parsed JSON arguments on a worker thread;
        its JSON-serialisable result is sent back and one response is then
        requested. Raises :class:`RealtimeError` if the name is taken.
        """
        if not definition.name:
            raise ValueError("a tool needs a name")
        if not callable(handler):
            raise TypeError(f"the handler of tool {definition.name!r} is not callable")
        with self._lock:
            if definition.name in self._tools:
                raise RealtimeError(
                    f"tool {definition.name!r} is already added: remove_tool() it first"
                )
            self._tools[definition.name] = (definition, handler)
        if self.is_connected():
            self._send_session()
        return definition

    def remove_tool(self, name: str) -> None:
        """Unregister a tool added with :meth:`add_tool`; raises ``KeyError`` if unknown."""
        with self._lock:
            if name not in self._tools:
                raise KeyError(f"no tool named {name!r} was added")
            del self._tools[name]
        if self.is_connected():
            self._send_session()

    @property
    def tools(self) -> Dict[str, ToolDefinition]:
        """The tools added with :meth:`add_tool`, by name."""
        with self._lock:
            return {name: definition for name, (definition, _) in self._tools.items()}

    # ------------------------------------------------------------------ conversation

    def send_user_message_content(
        self, content: Sequence[ContentPart], *, create_response: bool = True
    ) -> str:
        """Add a user message (text and/or audio parts) and ask for a response.

        Raw audio bytes in parts are base64-encoded on the wire; the parts
        themselves are not changed. Returns the new item's id.
        """
        if not content:
            raise ValueError("a message needs at least one content part")
        item_id = generate_id("item_", 32)
        parts = list(content)
        audio = b"".join(
            RealtimeUtils.base64_decode(p.audio) if isinstance(p.audio, str) else p.audio
            for p in parts
            if p.type == ContentPartType.INPUT_AUDIO and p.audio
        )
        if audio:
            self.conversation.remember_sent_audio(item_id, audio)
        self._send(
            ev.ConversationItemCreateEvent(
                item=ItemMessage(role=ItemRole.USER, content=parts, id=item_id)
            )
        )
        if create_response:
            self.create_response()
        return item_id

    def send_text(self, text: str, *, create_response: bool = True) -> str:
        """Shortcut for a one-part text message; returns the item id."""
        return self.send_user_message_content(
            [ContentPart.input_text(text=text)], create_response=create_response
        )

    def append_input_audio(self, audio: Union[bytes, bytearray, memoryview]) -> None:
        """Stream user audio (PCM16, 24 kHz mono by default) into the input buffer."""
        if len(audio) == 0:
            return
        # Recorded first: the server's speech events for this audio may be handled
        # (on the dispatcher thread) before send() returns.
        self.conversation.append_input_audio(audio)
        self._send(ev.InputAudioBufferAppendEvent(audio=base64_encode(audio)))

    def commit_input_audio(self) -> None:
        """Commit the input buffer as a user message (manual turns)."""
        self.conversation.mark_committed()
        self._send(ev.InputAudioBufferCommitEvent())

    def clear_input_audio(self) -> None:
        """Drop uncommitted input audio."""
        self.conversation.mark_cleared()
        self._send(ev.InputAudioBufferClearEvent())

    def create_response(self, response: Optional[ResponseCreateParams] = None) -> None:
        """Ask the model to respond. In manual-turn mode pending input audio is committed first."""
        if self._manual_turns() and self.conversation.uncommitted_input_bytes > 0:
            self.commit_input_audio()
        self._send(ev.ResponseCreateEvent(response=response))

    def cancel_response(
        self, item_id: Optional[str] = None, sample_count: int = 0
    ) -> Optional[FormattedItem]:
        """Stop the current response; with ``item_id``, also truncate its audio.

        ``sample_count`` is how many samples of the item the listener heard
        (``heard_seconds * output_sample_rate``); the item is truncated to that
        (clamped to the audio received) so the model forgets what was not
        heard. The item is checked (an assistant message with audio) before
        anything is sent. ``response.cancel`` names the item's response and is
        only sent while that response is still being generated, so it can
        never cancel a later answer. Returns the item.
        """
        if item_id is None:
            self._send(ev.ResponseCancelEvent())
            return None
        item = self.conversation.get_item(item_id)
        if item is None:
            raise RealtimeError(f"cannot cancel: no item {item_id!r} in the conversation")
        if item.role != ItemRole.ASSISTANT or not isinstance(item.item, ItemMessage):
            raise RealtimeError(f"cannot truncate item {item_id!r}: it is not an assistant message")
        audio_parts = [
            i for i, p in enumerate(item.item.content) if p.type == ContentPartType.OUTPUT_AUDIO
        ]
        if not audio_parts and not item.formatted.audio_buffer:
            raise RealtimeError(f"cannot truncate item {item_id!r}: it has no audio")
        if sample_count < 0:
            raise ValueError("sample_count must be >= 0")
        rate = self.output_sample_rate
        audio_end_ms = min(int(sample_count * 1000 // rate), int(self.conversation.audio_ms(item)))
        with self._lock:
            generating = item.response_id is not None and item.response_id == self._active_response
        if generating:
            self._send(ev.ResponseCancelEvent(response_id=item.response_id))
        self._send(
            ev.ConversationItemTruncateEvent(
                item_id=item_id,
                content_index=audio_parts[0] if audio_parts else 0,
                audio_end_ms=audio_end_ms,
            )
        )
        self.conversation.truncate_audio(item_id, audio_end_ms)
        return item

    def delete_item(self, item_id: str) -> None:
        """Delete an item from the server's conversation (the cache follows the server's reply)."""
        self._send(ev.ConversationItemDeleteEvent(item_id=item_id))

    # ------------------------------------------------------------------ blocking helpers

    def wait_for_session_created(self, timeout: float = 10.0) -> SessionConfig:
        """The session, once ``session.created`` has arrived (at once if it has)."""
        current = self.session
        if current is not None:
            return current
        future = self.wait_for(ev.RealtimeEventType.SESSION_CREATED)
        current = self.session  # it may have arrived while the future was registered
        if current is not None:
            future.cancel()
            return current
        self._require_connected(future)
        event = _result(future, timeout, "session.created")
        session: SessionConfig = event.session
        return session

    def wait_for_next_item(self, timeout: float = 30.0) -> FormattedItem:
        """The next item added to the conversation."""
        future = self.wait_for(ev.RealtimeEventType.CONVERSATION_ITEM_APPENDED)
        self._require_connected(future)
        item: FormattedItem = _result(future, timeout, "the next item").item
        return item

    def wait_for_next_completed_item(self, timeout: float = 30.0) -> FormattedItem:
        """The next item that completes."""
        future = self.wait_for(ev.RealtimeEventType.CONVERSATION_ITEM_COMPLETED)
        self._require_connected(future)
        item: FormattedItem = _result(future, timeout, "the next completed item").item
        return item

    def ask(
        self,
        text: Union[str, Sequence[ContentPart]],
        *,
        timeout: float = 60.0,
        response: Optional[ResponseCreateParams] = None,
    ) -> Turn:
        """Send a user message and block until the assistant's turn is over.

        The turn ends with the first ``response.done`` that is not followed
        by an automatic tool follow-up. ``response`` overrides settings for
        this answer (e.g. ``ResponseCreateParams(output_modalities=[Modality.TEXT])``).
        Returns a :class:`Turn` with the
        assistant's items (tool calls included). Raises
        :class:`RealtimeTimeoutError` after ``timeout`` seconds and
        :class:`ConnectionClosedError` if the connection closes first.
        """
        finished = threading.Event()
        responses: List[Response] = []
        failure: List[BaseException] = []

        def on_done(event: ev.ResponseDoneEvent) -> None:
            responses.append(event.response)
            with self._lock:
                tools = self._response_tools.get(event.response.id or "")
                follow_up = tools is not None and (tools.pending or tools.follow_up_sent)
            if not follow_up:
                finished.set()

        def on_close(event: ev.CloseEvent) -> None:
            failure.append(
                ConnectionClosedError(
                    f"the connection closed during ask(): {event.reason}", code=event.code
                )
            )
            finished.set()

        self.on(ev.RealtimeEventType.RESPONSE_DONE, on_done)
        self.on(ev.RealtimeEventType.CLOSE, on_close)
        try:
            if not self.is_connected():
                raise NotConnectedError()
            parts = [ContentPart.input_text(text=text)] if isinstance(text, str) else list(text)
            self.send_user_message_content(parts, create_response=False)
            self.create_response(response)
            if self.realtime.dispatcher.is_dispatch_thread():
                raise RealtimeError(
                    "ask() blocks until handlers have run: call it from another thread"
                )
            if not finished.wait(timeout):
                raise RealtimeTimeoutError(
                    f"the assistant did not finish its turn within {timeout:g} s"
                )
            if failure:
                raise failure[0]
        finally:
            self.off(ev.RealtimeEventType.RESPONSE_DONE, on_done)
            self.off(ev.RealtimeEventType.CLOSE, on_close)
        items: List[FormattedItem] = []
        for done in responses:
            for out in done.output or []:
                cached = self.conversation.get_item(out.id or "") if out.id else None
                if cached is not None:
                    items.append(cached)
        return Turn(items=items, responses=responses)

    # ------------------------------------------------------------------ internals

    def _require_connected(self, future: EventFuture) -> None:
        if not self.is_connected() and not future.done():
            future.cancel()
            raise NotConnectedError()

    def _manual_turns(self) -> bool:
        audio = self._session_config.audio
        detection = audio.input.turn_detection if audio and audio.input else NOT_GIVEN
        return detection is None

    @property
    def output_sample_rate(self) -> int:
        """Samples per second of the assistant's audio (24000 for PCM16, 8000 for G.711).

        ``sample_count`` for :meth:`cancel_response` is ``heard_seconds * output_sample_rate``.
        """
        fmt = self.conversation.output_format
        if fmt is None or fmt.type.value == "audio/pcm":
            return (fmt.rate if fmt is not None else None) or 24000
        return 8000

    def _on_event(self, event: Any, source: Optional[str]) -> None:
        """Pre-handler, on the dispatcher thread: update the cache, emit utility events."""
        if source != "server":
            if isinstance(event, ev.CloseEvent):
                self._on_close(event)
            return
        emit = self.realtime.dispatcher.emit
        for utility in self.conversation.process(event):
            emit(utility)
        react = self._reactions.get(event.type)
        if react is not None:
            react(event)

    def _session_seen(self, event: Any) -> None:
        with self._lock:
            self.session = event.session

    def _response_started(self, event: ev.ResponseCreatedEvent) -> None:
        with self._lock:
            self._active_response = event.response.id

    def _rate_limits_seen(self, event: ev.RateLimitsUpdatedEvent) -> None:
        self.rate_limits = list(event.rate_limits)

    def _log_server_error(self, error: RealtimeErrorDetails) -> None:
        if error.code in BENIGN_ERROR_CODES:
            logger.debug("benign race reported by the server: %s (%s)", error.code, error.message)
            return
        if error.code in FATAL_ERROR_CODES:
            self._fatal_error = error.code
        logger.warning("server error %s: %s", error.code or error.type, error.message)

    # ------------------------------------------------------------------ reconnection

    def _on_close(self, event: ev.CloseEvent) -> None:
        self._ready.clear()
        policy = self.reconnect_policy
        if policy is None or self._closing or not event.error:
            return
        if self._fatal_error is not None:
            logger.warning("not reconnecting after the fatal error %s", self._fatal_error)
            return
        if not policy.should_retry(event.code):
            logger.warning("not reconnecting after close code %s", event.code)
            return
        self._start_reconnect(event.reason or f"closed with code {event.code}", event.code)

    def _start_reconnect(self, reason: str, code: Optional[int], recycle: bool = False) -> None:
        with self._lock:
            if self._reconnect_thread is not None and self._reconnect_thread.is_alive():
                return
            self._reconnect_thread = threading.Thread(
                target=self._reconnect,
                args=(reason, code, recycle),
                name="realtime-reconnect",
                daemon=True,
            )
            self._reconnect_thread.start()

    def _reconnect(self, reason: str, code: Optional[int], recycle: bool) -> None:
        """The reconnect thread: new session, config, replay, then ``reconnected``."""
        policy = self.reconnect_policy
        assert policy is not None
        started = time.monotonic()
        if recycle:
            self.realtime.disconnect()
        with self._lock:
            lost_response = self._active_response
            self._active_response = None
            self._response_tools.clear()
        lost_audio_ms = self.conversation.uncommitted_input_ms
        abandoned = self.conversation.abandon_response(lost_response)
        snapshot = self.conversation.get_items()
        dispatcher = self.realtime.dispatcher
        dispatcher.start()  # the old dispatcher drains first; handlers keep one thread
        for attempt in range(1, policy.max_attempts + 1):
            delay = 0.0 if recycle and attempt == 1 else policy.delay(attempt)
            dispatcher.post(
                ev.ReconnectingEvent(attempt=attempt, delay=delay, reason=reason, code=code)
            )
            if self._stop_reconnect.wait(delay):
                break
            try:
                self._open_session(self._connect_args["model"], self._connect_args["timeout"])
            except RealtimeConnectionError as exc:
                if exc.status in (401, 403):
                    reason = f"giving up: the server refused the handshake with HTTP {exc.status}"
                    break
                reason = str(exc)
                continue
            except RealtimeServerError as exc:
                reason = f"giving up: the server rejected the session config: {exc}"
                break
            except RealtimeError as exc:  # timeouts, a close during the handshake
                reason = str(exc)
                continue
            replayed, lost = (
                self._replay(snapshot) if policy.replay else ([], [i.id for i in snapshot])
            )
            self._ready.set()
            dispatcher.post(
                ev.ReconnectedEvent(
                    attempts=attempt,
                    replayed=replayed,
                    lost_items=sorted(set(lost) | set(abandoned)),
                    lost_response_id=lost_response,
                    lost_input_audio_ms=lost_audio_ms,
                    downtime_s=time.monotonic() - started,
                    recycled=recycle,
                )
            )
            return
        if not self._closing:
            logger.error("reconnecting failed: %s", reason)
            dispatcher.post(
                ev.SdkErrorEvent(
                    error=RealtimeErrorDetails(
                        type="reconnect_failed", code="reconnect_failed", message=reason
                    )
                )
            )
        if not self.is_connected():
            dispatcher.stop()
        self._ready.set()  # wake waiting senders: they see no connection and fail

    def _replay(self, items: Sequence[FormattedItem]) -> tuple[List[str], List[str]]:
        """Re-create the replayable items in the new session; returns (replayed, lost) ids."""
        replay, lost = plan_replay(items)
        if not replay:
            return [], lost
        ids = [item.id for item in replay if item.id]
        self.conversation.expect_replay(ids)
        last = self.realtime.wait_for(
            ev.RealtimeEventType.CONVERSATION_ITEM_DONE,
            predicate=lambda e: getattr(e.item, "id", None) == ids[-1],
        )
        rejected: Dict[str, str] = {}
        sent: Dict[str, str] = {}

        def on_error(event: Any) -> None:
            if isinstance(event, ev.ErrorEvent) and event.error.event_id in sent:
                rejected[sent[event.error.event_id]] = event.error.message

        self.realtime.on(ev.RealtimeEventType.ERROR, on_error)
        try:
            for item in replay:
                event_id = self.realtime.send(ev.ConversationItemCreateEvent(item=item))
                sent[event_id] = item.id or ""
            last.result(self._connect_args["timeout"])
        except (RealtimeError, TimeoutError) as exc:
            logger.warning("replaying the conversation did not finish: %s", exc)
        finally:
            last.cancel()
            self.realtime.off(ev.RealtimeEventType.ERROR, on_error)
        self.conversation.expect_replay([])
        replayed = [i for i in ids if i not in rejected]
        return replayed, lost + list(rejected)

    def _response_done(self, response: Response) -> None:
        rid = response.id or ""
        # Calls whose conversation.item.done was missed still run (once: see _maybe_run_tool).
        for item in response.output or []:
            if isinstance(item, ItemFunctionCall):
                self._maybe_run_tool(item, response_id=rid)
        with self._lock:
            if self._active_response == rid:
                self._active_response = None
            tools = self._response_tools.get(rid)
            if tools is not None:
                tools.done = True
            if response.usage is not None:
                self.usage = self.usage + response.usage
        if response.status == ResponseStatus.FAILED:
            error = response.status_details.error if response.status_details else None
            self.realtime.dispatcher.emit(
                ev.SdkErrorEvent(
                    error=RealtimeErrorDetails(
                        type="response_failed",
                        code=(error.code if error else None) or "response_failed",
                        message=(error.message if error else "") or f"response {rid} failed",
                    )
                )
            )
        if tools is not None:
            self._maybe_follow_up(rid)
        self._maybe_recycle()

    def _maybe_recycle(self) -> None:
        """Proactively renew a long session, between responses (see ReconnectPolicy)."""
        policy = self.reconnect_policy
        if policy is None or policy.max_session_duration is None or self._closing:
            return
        with self._lock:
            busy = self._active_response is not None or any(
                t.pending or (t.done and not t.follow_up_sent)
                for t in self._response_tools.values()
            )
        if not busy and time.monotonic() - self._connected_at >= policy.max_session_duration:
            self._start_reconnect("session recycled before the server's time limit", None, True)

    def _maybe_run_tool(self, item: Any, response_id: Optional[str] = None) -> None:
        """Start an auto-run tool for a completed call, once per call."""
        if not isinstance(item, ItemFunctionCall) or not item.call_id:
            return
        if item.status not in (None, ItemStatus.COMPLETED):
            return  # an interrupted call: its arguments may be cut short
        with self._lock:
            entry = self._tools.get(item.name)
            if entry is None:
                return  # a manual tool: the app handles it
            cached = self.conversation.get_item(item.id or "")
            rid = (
                response_id
                or (cached.response_id if cached else None)
                or self._active_response
                or ""
            )
            tools = self._response_tools.setdefault(rid, _ResponseTools())
            if item.call_id in tools.started:
                return
            tools.started.add(item.call_id)
            tools.pending.add(item.call_id)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    max_workers=self._tool_workers, thread_name_prefix="realtime-tool"
                )
            executor = self._executor
        executor.submit(self._run_tool, rid, item, entry[1])

    def _run_tool(self, response_id: str, item: ItemFunctionCall, handler: ToolHandler) -> None:
        # Guards sending this call's output: whoever takes it first (the tool or the timer) answers.
        finished = threading.Lock()
        timer: Optional[threading.Timer] = None
        if self.tool_timeout is not None:
            late = json.dumps(
                {"error": f"the tool {item.name} did not finish within {self.tool_timeout:g} s"}
            )
            timer = threading.Timer(
                self.tool_timeout, self._tool_done, args=(response_id, item, late, finished)
            )
            timer.name = "realtime-tool-timer"
            timer.daemon = True
            timer.start()
        output = self._call_tool(item, handler)
        if timer is not None:
            timer.cancel()
        self._tool_done(response_id, item, output, finished)

    def _call_tool(self, item: ItemFunctionCall, handler: ToolHandler) -> str:
        """The tool's JSON output: its result, or ``{"error": ...}``."""
        try:
            params = json.loads(item.arguments or "{}")
            if not isinstance(params, dict):
                raise ValueError("the arguments are not a JSON object")
        except ValueError as exc:
            output = json.dumps({"error": f"invalid JSON arguments for {item.name}: {exc}"})
        else:
            try:
                output = json.dumps(handler(params))
            except Exception as exc:
                logger.exception("tool %s raised", item.name)
                output = json.dumps({"error": f"{type(exc).__name__}: {exc}"})
                self.realtime.dispatcher.post(
                    ev.SdkErrorEvent(
                        error=RealtimeErrorDetails(
                            type="tool_error",
                            code=item.name,
                            message=f"tool {item.name} raised {type(exc).__name__}: {exc}",
                        ),
                        exception=exc,
                    )
                )
        return output

    def _tool_done(
        self, response_id: str, item: ItemFunctionCall, output: str, finished: threading.Lock
    ) -> None:
        if not finished.acquire(blocking=False):
            logger.warning("tool %s answered after its timeout; result dropped", item.name)
            return
        try:
            self._send(
                ev.ConversationItemCreateEvent(
                    item=ItemFunctionCallOutput(call_id=item.call_id or "", output=output)
                )
            )
        except RealtimeError:
            logger.warning(
                "tool %s finished after the connection closed; output dropped", item.name
            )
            return
        with self._lock:
            tools = self._response_tools.get(response_id)
            if tools is not None:
                tools.pending.discard(item.call_id or "")
        self._maybe_follow_up(response_id)

    def _maybe_follow_up(self, response_id: str) -> None:
        """One ``response.create`` once the response is done and all its tools answered."""
        with self._lock:
            tools = self._response_tools.get(response_id)
            if tools is None or not tools.done or tools.pending or tools.follow_up_sent:
                return
            tools.follow_up_sent = True
        try:
            self._send(ev.ResponseCreateEvent())
        except RealtimeError:
            logger.warning("could not ask for the response after tool calls: not connected")


def _ga_modalities(mods: Sequence[Union[Modality, str]]) -> List[Modality]:
    """GA takes ``["audio"]`` (with transcripts) or ``["text"]``; the seed's pair means audio."""
    values = [Modality(m) for m in mods]
    if Modality.AUDIO in values:
        return [Modality.AUDIO]
    return values


def _first_of(reply: EventFuture, error: EventFuture, timeout: float, what: str) -> Any:
    """The reply, or raise the server's error answering the request, whichever comes first."""
    done, _ = futures.wait([reply, error], timeout, return_when=futures.FIRST_COMPLETED)
    try:
        if error in done and not error.cancelled() and error.exception() is None:
            details = error.result().error
            raise RealtimeServerError(
                f"the server rejected the request: {details.message}",
                code=details.code,
                error_type=details.type,
                param=details.param,
                event_id=details.event_id,
            )
        return _result(reply, 0 if done else timeout, what)
    finally:
        reply.cancel()
        error.cancel()


def _result(future: EventFuture, timeout: float, what: str) -> Any:
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise RealtimeTimeoutError(f"timed out after {timeout:g} s waiting for {what}") from None
