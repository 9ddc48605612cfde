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
from typing import Any, Callable, Dict, List, Mapping, Optional, TypeVar, Union

from . import events as ev
from .api import RealtimeAPI
from .audioformat import sample_rate
from .client_settings import SessionSettings
from .client_turns import ConversationTurns
from .conversation import RealtimeConversation
from .core.actions import Fail
from .core.realtime import HandshakeResult, Phase, RealtimeSessionCore
from .core.responses import Turn
from .cost import Cost, Prices, cost_of
from .dispatcher import EventFuture
from .driver import CoreDriver, EventRegistration, ToolHandler
from .endpoints import Credential, Endpoint
from .errors import (
    NotConnectedError,
    RealtimeError,
    RealtimeTimeoutError,
)
from .items import FormattedItem
from .models import (
    RateLimit,
    RealtimeErrorDetails,
    SessionConfig,
    Usage,
)
from .reconnect import FATAL_ERROR_CODES, ReconnectPolicy
from .reconnector import Losses, Reconnector
from .session_config import (
    DEFAULT_SESSION,
)

__all__ = ["DEFAULT_SESSION", "RealtimeClient", "ToolHandler", "Turn"]

logger = logging.getLogger("realtime_sync")

F = TypeVar("F", bound=Callable[..., Any])

BENIGN_ERROR_CODES = frozenset(
    {"conversation_already_has_active_response", "response_cancel_not_active"}
)
"""Server errors that report a harmless race: logged at debug, still dispatched as events."""


class RealtimeClient(EventRegistration, SessionSettings, ConversationTurns):
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

    # ------------------------------------------------------------------ internals

    def _require_connected(self, future: EventFuture) -> None:
        if not self.is_connected() and not future.done():
            future.cancel()
            raise NotConnectedError()

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
