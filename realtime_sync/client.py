"""``RealtimeClient``: the high-level API most applications use.

It owns a :class:`~realtime_sync.api.RealtimeAPI` (``client.realtime``, the
transport) and a :class:`~realtime_sync.conversation.RealtimeConversation`
(``client.conversation``, the cache), and drives the sans-IO session core
(:class:`~realtime_sync.core.realtime.RealtimeSessionCore`), which decides what
every server event and every request means: the handshake, which response
answers which request, tools, cancel and truncate, recycling and replay.

Threads: server events reach the core on the dispatcher thread, before any
handler sees them (so handlers see the cache current). Tool handlers run on
the ``realtime-tool_N`` workers, never on the reader or the dispatcher thread.
A reconnect runs on ``realtime-reconnect``.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, TypeVar, Union

import attrs

from . import events as ev
from .api import RealtimeAPI
from .audioformat import sample_rate
from .client_settings import SessionSettings
from .conversation import RealtimeConversation
from .core.actions import Fail
from .core.realtime import HandshakeResult, Phase, RealtimeSessionCore
from .core.responses import Turn
from .cost import Cost, Prices, cost_of
from .dispatcher import EventFuture
from .driver import CoreDriver, EventRegistration, RequestFuture, ToolHandler
from .endpoints import Credential, Endpoint
from .errors import (
    ConnectionClosedError,
    NotConnectedError,
    RealtimeError,
    RealtimeTimeoutError,
)
from .items import FormattedItem
from .models import (
    NOT_GIVEN,
    ContentPart,
    ContentPartType,
    ItemMessage,
    ItemRole,
    RateLimit,
    RealtimeErrorDetails,
    ResponseCreateParams,
    SessionConfig,
    Usage,
)
from .reconnect import FATAL_ERROR_CODES, ReconnectPolicy
from .reconnector import Losses, Reconnector
from .session_config import (
    DEFAULT_SESSION,
)
from .utils import RealtimeUtils, base64_encode, generate_id

__all__ = ["DEFAULT_SESSION", "RealtimeClient", "ToolHandler", "Turn"]

logger = logging.getLogger("realtime_sync")

F = TypeVar("F", bound=Callable[..., Any])

BENIGN_ERROR_CODES = frozenset(
    {"conversation_already_has_active_response", "response_cancel_not_active"}
)
"""Server errors that report a harmless race: logged at debug, still dispatched as events."""


class RealtimeClient(EventRegistration, SessionSettings):
    """A Realtime API session with a conversation cache, tools and utility events.

    Args:
        api_key: defaults to ``$OPENAI_API_KEY``; a callable is called on every connect.
        url: the endpoint (default OpenAI's); a relay or ``RealtimeSimulator.url``.
        endpoint: an :class:`~realtime_sync.endpoints.OpenAIEndpoint` or
            :class:`~realtime_sync.endpoints.AzureEndpoint` (credentials, proxy,
            TLS), instead of ``url`` and ``api_key``.
        headers: extra handshake headers.
        debug: log every frame at DEBUG on the ``realtime_sync`` logger.
        dangerously_allow_api_key_in_browser: permit a key in a browser runtime.
        input_audio_retention_s: seconds of input audio kept to slice speech items.
        audio_retention_s: seconds of audio kept in completed items, newest first
            (older items keep their text and transcripts; ``None`` keeps all).
        tool_workers: threads that run tool handlers.
        tool_timeout: seconds a tool call may take, counted from its arrival,
            before ``{"error": ...}`` is sent in its place (``None``: wait forever).
        reconnect: a :class:`ReconnectPolicy` (``True`` for the defaults) to
            reconnect after an unexpected close, replaying the conversation.
        write_timeout: seconds a send may wait for a stalled network before the
            connection is treated as broken (see :class:`RealtimeAPI`).
    """

    def __init__(
        self,
        *,
        api_key: Optional[Credential] = None,
        url: Optional[str] = None,
        endpoint: Optional[Endpoint] = None,
        headers: Optional[Mapping[str, str]] = None,
        debug: bool = False,
        dangerously_allow_api_key_in_browser: bool = False,
        input_audio_retention_s: float = 300.0,
        audio_retention_s: Optional[float] = 300.0,
        tool_workers: int = 4,
        tool_timeout: Optional[float] = 60.0,
        reconnect: Union[ReconnectPolicy, bool, None] = None,
        write_timeout: float = 20.0,
    ) -> None:
        self.realtime = RealtimeAPI(
            url=url,
            api_key=api_key,
            headers=headers,
            debug=debug,
            dangerously_allow_api_key_in_browser=dangerously_allow_api_key_in_browser,
            write_timeout=write_timeout,
            endpoint=endpoint,
        )
        self.conversation = RealtimeConversation(
            input_audio_retention_s=input_audio_retention_s, audio_retention_s=audio_retention_s
        )
        self.reconnect_policy: Optional[ReconnectPolicy] = (
            ReconnectPolicy() if reconnect is True else (reconnect or None)
        )
        self._tool_timeout = tool_timeout
        self._core = self._new_core(DEFAULT_SESSION)
        self._driver = CoreDriver(
            self.realtime,
            answer_tool=self._tool_answered,
            recycle=self._recycle,
            tool_workers=tool_workers,
        )
        self._reconnector = Reconnector(
            self.realtime,
            open_session=self._reopen,
            losses=self._losses,
            item_ids=lambda: [item.id for item in self.conversation.get_items()],
        )
        # App sends wait at this gate during a reconnect (bounded by the policy's
        # send_timeout), so nothing reaches a new session before its config and replay.
        self._ready = self._reconnector.ready
        self._reconnecting = self._reconnector.renewing
        self._closing = False
        self._fatal_error: Optional[str] = None
        # Close events still queued for connections the core has already closed (guarded
        # by the driver's lock); the events before them belong to those connections too.
        self._stale_closes = 0
        self._connect_args: Dict[str, Any] = {"model": None, "timeout": 10.0, "call_id": None}
        self.realtime.dispatcher.add_hook("session-core", self._on_event, first=True)
        with RealtimeClient._instances_lock:
            RealtimeClient._instances.add(self)

    _instances: weakref.WeakSet[RealtimeClient] = weakref.WeakSet()
    # Guards _instances: clients are made and closed on any thread.
    _instances_lock = threading.Lock()

    @classmethod
    def close_all(cls, timeout: float = 5.0) -> int:
        """Disconnect every client of this process; returns how many were connected.

        For a notebook whose connect cell ran twice: the older client stops too,
        so its handlers no longer print into other cells' output.
        """
        with cls._instances_lock:
            clients = list(cls._instances)
        connected = 0
        for client in clients:
            connected += client.is_connected()
            client.disconnect(timeout)
        return connected

    def _tool_answered(self, call_id: str, output: str) -> List[Any]:
        # Looked up at each call: reset() gives the client a new core.
        return self._core.tool_answered(call_id, output)

    def _new_core(self, config: SessionConfig) -> RealtimeSessionCore:
        policy = self.reconnect_policy
        return RealtimeSessionCore(
            conversation=self.conversation,
            config=config,
            tool_timeout=self._tool_timeout,
            recycle_after=policy.max_session_duration if policy is not None else None,
        )

    def __repr__(self) -> str:
        return f"RealtimeClient(url={self.realtime.url!r}, connected={self.is_connected()})"

    def __enter__(self) -> RealtimeClient:
        if not self.is_connected():
            self.connect()
        return self

    def __exit__(self, *exc: object) -> None:
        self.disconnect()

    # ------------------------------------------------------------------ state

    @property
    def session(self) -> Optional[SessionConfig]:
        """The session as the server last reported it (``session.created`` / ``.updated``)."""
        with self._driver.lock:
            return self._core.session

    @property
    def usage(self) -> Usage:
        """Token usage summed over this client's responses since :meth:`connect`."""
        with self._driver.lock:
            return self._core.usage

    def cost(
        self, *, prices: Optional[Prices] = None, table: Optional[Mapping[str, Prices]] = None
    ) -> Cost:
        """What :attr:`usage` costs, with its breakdown (see :mod:`realtime_sync.cost`).

        Priced by the session's model from ``prices`` (one model's prices) or
        ``table`` (by model name; default the shipped, dated table).
        """
        session = self.session
        model = self.realtime.model or (session.model if session is not None else None)
        return cost_of(self.usage, model=model, prices=prices, table=table)

    @property
    def rate_limits(self) -> List[RateLimit]:
        """The latest ``rate_limits.updated`` from the server."""
        with self._driver.lock:
            return list(self._core.rate_limits)

    @property
    def tool_timeout(self) -> Optional[float]:
        """Seconds a tool call may take, from its arrival, before an error answers it."""
        return self._tool_timeout

    @tool_timeout.setter
    def tool_timeout(self, value: Optional[float]) -> None:
        with self._driver.lock:
            self._tool_timeout = value
            self._core.tool_timeout = value

    # ------------------------------------------------------------------ events

    # ------------------------------------------------------------------ connection

    def connect(
        self,
        *,
        model: Optional[str] = None,
        timeout: float = 10.0,
        call_id: Optional[str] = None,
    ) -> SessionConfig:
        """Connect, wait for ``session.created``, send the session config and wait for its echo.

        Returns the session as the server configured it (``session.updated``).
        ``model`` defaults to the endpoint's (``gpt-realtime`` on OpenAI, the
        deployment on Azure).

        ``call_id`` attaches to a SIP call accepted with
        :func:`~realtime_sync.calls.accept_call`: the session set when the call
        was accepted is kept (nothing is sent at connect unless this client was
        given settings or tools before), and the session as the server has it is
        returned. A reconnect attaches to the same call again.

        Raises:
            RealtimeConnectionError: the connection failed (refused handshake, unreachable).
            RealtimeServerError: the server rejected the session config.
            RealtimeTimeoutError: no session within ``timeout`` seconds.
        """
        if self.is_connected():
            raise RealtimeError("already connected: call disconnect() first")
        self._reconnector.join()
        self._ready.clear()
        self.conversation.clear()
        with self._driver.lock:
            self._core.usage = Usage()
            if call_id is not None and self._core.base_config is DEFAULT_SESSION:
                # Start from the call's own session: later updates send only what changes.
                self._core.update_session(SessionConfig(type="realtime"))
        self._closing = False
        self._fatal_error = None
        self._connect_args = {"model": model, "timeout": timeout, "call_id": call_id}
        result = self._open_session(model, timeout, replay=False)
        self._ready.set()
        return result.session

    def _open_session(
        self, model: Optional[str], timeout: float, *, replay: bool
    ) -> HandshakeResult:
        """Connect and wait for the core's handshake; disconnects again on failure."""
        now = time.monotonic()

        def open_core() -> Any:
            actions: List[Any] = []
            if self._core.phase is not Phase.CLOSED:
                # The last connection's close is still queued (behind a slow handler):
                # close its session now, and leave its remaining events out of the core.
                actions = self._core.closed(now, "a new connection replaced the last one")
                self._stale_closes += 1
            call_id = self._connect_args.get("call_id")
            configure = (
                call_id is None
                or bool(self._core.tools)
                or (self._core.base_config != SessionConfig(type="realtime"))
            )
            return self._core.open(now, replay=replay, configure=configure), actions

        future = self._driver.drive(open_core, "the session handshake")
        assert future is not None
        opened = False
        try:
            self.realtime.connect(
                model=model, timeout=timeout, call_id=self._connect_args.get("call_id")
            )
            opened = True
            result: HandshakeResult = future.result(timeout)
        except BaseException as exc:
            self._driver.forget(future)

            def close_core() -> Any:
                if opened and self._core.phase is not Phase.CLOSED:
                    self._stale_closes += 1  # its close event, still to come, is old news
                return None, self._core.closed(time.monotonic())

            self._driver.drive(close_core)
            self.realtime.disconnect()
            if isinstance(exc, RealtimeTimeoutError):
                raise RealtimeTimeoutError(
                    f"timed out after {timeout:g} s waiting for the session to be configured"
                ) from None
            raise
        return result

    def disconnect(self, timeout: float = 5.0) -> None:
        """Close the connection and stop the threads. Idempotent; safe from a handler.

        Also ends a reconnect in progress. A tool still running is abandoned (logged).
        """
        self._closing = True
        self._reconnector.cancel()
        self.realtime.disconnect(timeout)
        self._reconnector.join(timeout)
        self._driver.shutdown()

    def _reopen(self, replay: bool) -> HandshakeResult:
        """A new session for the reconnect thread, with the arguments of the last connect."""
        result = self._open_session(
            self._connect_args["model"], self._connect_args["timeout"], replay=replay
        )
        # The new session's input buffer is empty: the old uncommitted audio is lost
        # (reported as lost_input_audio_ms), not pending.
        self.conversation.mark_cleared()
        return result

    def _losses(self) -> Losses:
        with self._driver.lock:
            lost = (self._core.lost_response, list(self._core.lost_items))
        return lost[0], lost[1], self.conversation.uncommitted_input_ms

    def reset(self) -> None:
        """Disconnect, forget the conversation, handlers, tools and session settings."""
        self.disconnect()
        self.clear_handlers()
        self.conversation.clear()
        with self._driver.lock:
            self._core = self._new_core(DEFAULT_SESSION)
            self._driver.tool_handlers.clear()

    # ------------------------------------------------------------------ conversation

    def send_user_message_content(
        self, content: Sequence[ContentPart], *, create_response: bool = True
    ) -> str:
        """Add a user message (text and/or audio parts) and ask for a response.

        Raw audio bytes in parts are base64-encoded on the wire; the parts
        themselves are not changed. Returns the new item's id.
        """
        message = self._user_message(content)
        self._send(ev.ConversationItemCreateEvent(item=message))
        if create_response:
            self.create_response()
        return message.id or ""

    def _user_message(self, content: Sequence[ContentPart], *, keep: bool = True) -> ItemMessage:
        if not content:
            raise ValueError("a message needs at least one content part")
        item_id = generate_id("item_", 32) if keep else None
        parts = list(content)
        audio = b"".join(
            RealtimeUtils.base64_decode(p.audio) if isinstance(p.audio, str) else p.audio
            for p in parts
            if p.type == ContentPartType.INPUT_AUDIO and p.audio
        )
        if audio and item_id is not None:
            self.conversation.remember_sent_audio(item_id, audio)
        return ItemMessage(role=ItemRole.USER, content=parts, id=item_id)

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
        try:
            self._send(ev.InputAudioBufferAppendEvent(audio=base64_encode(audio)))
        except (ConnectionClosedError, NotConnectedError):
            # Not sent, and a new session starts with an empty buffer: nothing is pending.
            self.conversation.mark_cleared()
            raise

    def commit_input_audio(self) -> None:
        """Commit the input buffer as a user message (manual turns)."""
        self._await_ready()
        self.conversation.mark_committed()
        self._send(ev.InputAudioBufferCommitEvent(), resend=False)

    def _commit_pending(self) -> None:
        """Before a response in manual-turn mode: commit the input audio still pending.

        Waits for the session first: audio appended to a session lost at a drop
        is reported by the reconnect (``lost_input_audio_ms``) and is not pending
        in the new one, so nothing commits it there.
        """
        if not (self._manual_turns() and self.conversation.uncommitted_input_bytes > 0):
            return
        self._await_ready()
        if self.conversation.uncommitted_input_bytes == 0:
            return  # lost at a drop: the new session's buffer is empty
        self.conversation.mark_committed()
        try:
            self._send(ev.InputAudioBufferCommitEvent(), resend=False)
        except NotConnectedError:
            if not self._reconnecting.is_set():
                raise
            # The socket closed under the commit: its audio went with the old session.

    def clear_input_audio(self) -> None:
        """Drop uncommitted input audio."""
        self.conversation.mark_cleared()
        self._send(ev.InputAudioBufferClearEvent(), resend=False)

    def create_response(
        self, response: Optional[ResponseCreateParams] = None, *, interrupt: bool = False
    ) -> RequestFuture:
        """Ask the model to respond; returns a future of the :class:`Turn` that answers it.

        In manual-turn mode pending input audio is committed first. While another
        response is active in the conversation the request waits for it to end
        (``interrupt=True`` cancels it first): ``response.create`` is never sent
        into an active response. ``future.cancel()`` abandons the request.
        """
        self._commit_pending()
        return self._request_turn(response, None, interrupt)

    def _request_turn(
        self,
        params: Optional[ResponseCreateParams],
        message: Optional[ItemMessage],
        interrupt: bool,
    ) -> RequestFuture:
        self._await_ready()
        future = self._driver.drive(
            lambda: self._core.request_response(params, message=message, interrupt=interrupt),
            "the response",
        )
        assert future is not None
        future.add_done_callback(self._abandon_if_cancelled)
        return future

    def _abandon_if_cancelled(self, future: Any) -> None:
        if future.cancelled():
            self._abandon(future)

    def _abandon(self, future: RequestFuture) -> None:
        request_id = self._driver.request_id_of(future)
        if request_id is None:
            return
        self._driver.forget(future)
        self._driver.drive(lambda: (None, self._core.abandon(request_id)))

    def cancel_response(
        self, item_id: Optional[str] = None, sample_count: int = 0
    ) -> Optional[FormattedItem]:
        """Stop the current response; with ``item_id``, also truncate its audio.

        ``sample_count`` is how many samples of the item the listener heard
        (``heard_seconds * output_sample_rate``); the item is truncated to that
        (clamped to the audio received) so the model forgets what was not
        heard. The item is checked (an assistant message) before anything is
        sent. ``response.cancel`` names the item's response and is only sent
        while that response is still being generated, so it can never cancel a
        later answer. With no audio received yet and ``sample_count == 0`` the
        response is cancelled and nothing is truncated. Returns the item.
        """
        self._require_ready()
        self._driver.drive(lambda: (None, self._core.cancel(item_id, sample_count)))
        return self.conversation.get_item(item_id) if item_id is not None else None

    def delete_item(self, item_id: str) -> None:
        """Delete an item from the server's conversation (the cache follows the server's reply)."""
        with self._driver.lock:
            self._core.forget_item(item_id)
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
        session: SessionConfig = _result(future, timeout, "session.created").session
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
        interrupt: bool = False,
        conversation: Optional[str] = None,
    ) -> Turn:
        """Send a user message and block until the assistant's answer to it is complete.

        The :class:`Turn` holds this request's own response and the follow-ups
        after automatically run tools, never another response (one started by
        voice activity, or one still streaming from an earlier, abandoned
        ``ask``). If a response is active, the request waits for it to end;
        ``interrupt=True`` cancels it first. ``response`` overrides settings for
        this answer (e.g. ``ResponseCreateParams(output_modalities=[Modality.TEXT])``);
        they carry over to the follow-up after tool calls.

        ``conversation="none"`` asks out of band: the model sees the conversation
        so far and this message, and neither joins the conversation; function
        calls in such a turn are never run automatically (see ``Turn.function_calls``).

        When the wait ends early (``timeout``, or ``KeyboardInterrupt`` such as a
        notebook's interrupt button) the response is cancelled and its audio
        truncated at what was received, so the next ``ask`` works at once.

        Raises:
            RealtimeTimeoutError: no complete answer within ``timeout`` seconds.
            RealtimeServerError: the server refused the message or the response.
            ConnectionClosedError: the connection closed first.
            RealtimeError: called from a handler (nothing is sent).
        """
        if self.realtime.dispatcher.is_dispatch_thread():
            raise RealtimeError(
                "ask() blocks until handlers have run: call it from another thread "
                "(in a handler use create_response() and add_done_callback())"
            )
        self._await_ready()
        parts = [ContentPart.input_text(text=text)] if isinstance(text, str) else list(text)
        out_of_band = conversation == "none" or (
            response is not None and response.conversation == "none"
        )
        if out_of_band:
            question = self._user_message(parts, keep=False)
            params = attrs.evolve(response or ResponseCreateParams(), conversation="none")
            if params.input is None:
                with self._driver.lock:
                    params = attrs.evolve(params, input=self._core.out_of_band_input(question))
            future = self._request_turn(params, None, interrupt)
        else:
            self._commit_pending()
            future = self._request_turn(response, self._user_message(parts), interrupt)
        return self._wait_turn(future, timeout)

    def respond(
        self,
        *,
        timeout: float = 60.0,
        response: Optional[ResponseCreateParams] = None,
        interrupt: bool = False,
    ) -> Turn:
        """Answer what the user said: commit streamed input audio, ask, wait for the whole turn.

        The call for audio apps in manual-turn mode: after ``append_input_audio()``
        chunks, ``respond()`` commits them (when any are pending), asks for a
        response and blocks until the assistant's turn is over, tool follow-ups
        included. Timeouts and ``KeyboardInterrupt`` abandon the response as in
        :meth:`ask`. Raises like :meth:`ask`.
        """
        if self.realtime.dispatcher.is_dispatch_thread():
            raise RealtimeError(
                "respond() blocks until handlers have run: call it from another thread "
                "(in a handler use create_response() and add_done_callback())"
            )
        self._commit_pending()
        return self._wait_turn(self._request_turn(response, None, interrupt), timeout)

    def _wait_turn(self, future: RequestFuture, timeout: float) -> Turn:
        try:
            turn: Turn = future.result(timeout)
        except RealtimeTimeoutError:
            self._abandon(future)
            raise RealtimeTimeoutError(
                f"the assistant did not finish its answer within {timeout:g} s "
                "(the response was cancelled)"
            ) from None
        except BaseException:
            self._abandon(future)
            raise
        return turn

    # ------------------------------------------------------------------ internals

    def _await_ready(self) -> None:
        """Return once the session is ready; during a reconnect or recycle, wait (bounded)."""
        if self._ready.is_set() and self.is_connected():
            return
        if self.realtime.dispatcher.is_dispatch_thread() or not self._reconnecting.is_set():
            if self.is_connected():
                return  # the handshake of connect() is under way: the core holds requests
            raise NotConnectedError()
        policy = self.reconnect_policy
        patience = policy.send_timeout if policy is not None else 0.0
        if patience <= 0 or not self._ready.wait(patience) or not self.is_connected():
            raise ConnectionClosedError(
                "not sent: the connection dropped and no new session was ready within "
                f"{patience:g} s (ReconnectPolicy.send_timeout)"
            )

    def _require_ready(self) -> None:
        if not self._ready.is_set():
            self._await_ready()

    def _send(self, event: ev.ClientEvent, *, resend: bool = True) -> str:
        """Send an app event, after the new session's config and replay when reconnecting.

        An event that the closing socket refused is sent to the new session, unless
        ``resend`` is false: events about the input buffer (commit, clear) meant the
        old session's buffer, which the new session does not have.
        """
        self._await_ready()
        try:
            return self.realtime.send(event)
        except NotConnectedError:
            if not resend or not self._reconnecting.is_set():
                raise
        self._await_ready()  # the connection closed between the check and the send
        return self.realtime.send(event)

    def _require_connected(self, future: EventFuture) -> None:
        if not self.is_connected() and not future.done():
            future.cancel()
            raise NotConnectedError()

    def _manual_turns(self) -> bool:
        audio = self.session_config.audio
        detection = audio.input.turn_detection if audio and audio.input else NOT_GIVEN
        return detection is None

    @property
    def output_sample_rate(self) -> int:
        """Samples per second of the assistant's audio (24000 for PCM16, 8000 for G.711).

        ``sample_count`` for :meth:`cancel_response` is ``heard_seconds * output_sample_rate``.
        """
        return sample_rate(self.conversation.output_format)

    def _on_event(self, event: Any, source: Optional[str]) -> None:
        """On the dispatcher thread, before any handler: the core takes the event."""
        with self._driver.lock:
            stale = self._stale_closes > 0
            if stale and isinstance(event, ev.CloseEvent):
                self._stale_closes -= 1
        if stale:
            return  # an event of a connection the core already closed
        if source == "server":
            now = time.monotonic()
            decided: List[Any] = []

            def step() -> Any:
                decided.extend(self._core.receive(event, now))
                return None, decided

            self._driver.drive(step)
            if isinstance(event, ev.ErrorEvent):
                # One that fails a request is raised in its caller: no need to warn as well.
                claimed = any(isinstance(a, Fail) for a in decided)
                self._log_server_error(event.error, claimed)
        elif isinstance(event, ev.CloseEvent):
            reason = f"the connection closed: {event.reason or f'code {event.code}'}"
            self._driver.drive(lambda: (None, self._core.closed(time.monotonic(), reason)))
            self._on_close(event)

    def _log_server_error(self, error: RealtimeErrorDetails, claimed: bool) -> None:
        if error.code in FATAL_ERROR_CODES:
            self._fatal_error = error.code
        if claimed:
            logger.debug("server error %s answers a request: %s", error.code, error.message)
            return
        if error.code in BENIGN_ERROR_CODES:
            logger.debug("benign race reported by the server: %s (%s)", error.code, error.message)
            return
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
        self._reconnector.begin(
            policy, event.reason or f"closed with code {event.code}", event.code, recycle=False
        )

    def _recycle(self, reason: str) -> None:
        """The core asks for a new session between responses."""
        if self._closing or self.reconnect_policy is None:
            return
        self._reconnector.begin(self.reconnect_policy, reason, None, recycle=True)


def _result(future: EventFuture, timeout: float, what: str) -> Any:
    try:
        return future.result(timeout)
    except TimeoutError:
        future.cancel()
        raise RealtimeTimeoutError(f"timed out after {timeout:g} s waiting for {what}") from None
