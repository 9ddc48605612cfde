"""The reconnect thread: renews a session after a drop, or on a planned recycle.

The Realtime API has no resume, so renewing means a new connection, the
session config, and the replay the session core plans (see
:mod:`realtime_sync.reconnect` for the policy). :class:`Reconnector` runs that
on one named daemon thread (``realtime-reconnect``) and keeps the gate that
app sends wait at meanwhile, so nothing the app sends reaches a new session
before its config and replay.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable, List, Optional, Tuple

from . import events as ev
from .api import RealtimeAPI
from .core.realtime import HandshakeResult
from .errors import (
    ConnectionClosedError,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeRedirectError,
    RealtimeServerError,
)
from .models import RealtimeErrorDetails
from .reconnect import ReconnectPolicy

__all__ = ["Losses", "Reconnector"]

logger = logging.getLogger("realtime_sync")

Losses = Tuple[Optional[str], List[str], float]
"""What a drop cost: the response under way, its unfinished items, uncommitted input ms."""


class Reconnector:
    """Runs renewals of one client's session, one at a time.

    Args:
        transport: the connection to renew.
        open_session: opens a new session (``replay`` or not) and returns the handshake.
        losses: what the drop cost, read when a renewal starts.
        item_ids: the ids of every cached item (all lost when replay is off).
    """

    def __init__(
        self,
        transport: RealtimeAPI,
        *,
        open_session: Callable[[bool], HandshakeResult],
        losses: Callable[[], Losses],
        item_ids: Callable[[], List[str]],
    ) -> None:
        self._transport = transport
        self._open_session = open_session
        self._losses = losses
        self._item_ids = item_ids
        self.ready = threading.Event()
        """Set while a session is open, configured and replayed: app sends may go."""
        self.renewing = threading.Event()
        """Set from the moment a renewal is decided until it ends."""
        self._stop = threading.Event()
        # Guards _thread (its start).
        self._lock = threading.Lock()
        self._thread: Optional[threading.Thread] = None

    def begin(
        self, policy: ReconnectPolicy, reason: str, code: Optional[int], recycle: bool
    ) -> None:
        """Start a renewal on the reconnect thread, unless one is under way."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self.ready.clear()  # from now on app sends wait for the new session
            self.renewing.set()
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._run,
                args=(policy, reason, code, recycle),
                name="realtime-reconnect",
                daemon=True,
            )
            # The one dispatcher thread outlives the close's stop: handlers keep their thread.
            self._transport.dispatcher.hold()
            try:
                self._thread.start()
            except BaseException:
                self._transport.dispatcher.release()
                raise

    def cancel(self) -> None:
        """End a renewal in progress (at its next wait) and close the gate."""
        self._stop.set()
        self.renewing.clear()
        self.ready.clear()

    def join(self, timeout: float = 10.0) -> None:
        """Wait for the reconnect thread to end (a no-op on that thread itself)."""
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def _run(
        self, policy: ReconnectPolicy, reason: str, code: Optional[int], recycle: bool
    ) -> None:
        try:
            self._renew(policy, reason, code, recycle)
        finally:
            self.renewing.clear()
            self.ready.set()  # wake waiting senders: they see the new session, or none
            self._transport.dispatcher.release()  # ends the thread if the reconnect failed

    def _renew(
        self, policy: ReconnectPolicy, reason: str, code: Optional[int], recycle: bool
    ) -> None:
        started = time.monotonic()
        lost_response, abandoned, lost_audio_ms = self._losses()
        if recycle:  # planned between responses: nothing was under way
            lost_response, abandoned = None, []
            self._transport.disconnect()
        dispatcher = self._transport.dispatcher
        config_refused = False
        for attempt in range(1, policy.max_attempts + 1):
            delay = 0.0 if recycle and attempt == 1 else policy.delay(attempt)
            dispatcher.post(
                ev.ReconnectingEvent(attempt=attempt, delay=delay, reason=reason, code=code)
            )
            if self._stop.wait(delay):
                break
            try:
                result = self._open_session(policy.replay)
            except RealtimeRedirectError as exc:
                reason = f"giving up: {exc}"
                break
            except RealtimeConnectionError as exc:
                if exc.status in (401, 403):
                    reason = f"giving up: the server refused the handshake with HTTP {exc.status}"
                    break
                reason = str(exc)
                continue
            except RealtimeServerError as exc:
                if not config_refused:
                    # The core has undone the refused change: try once more without it.
                    config_refused = True
                    dispatcher.post(
                        ev.SdkErrorEvent(
                            error=RealtimeErrorDetails(
                                type="session_update_rejected",
                                code=exc.code or "session_update_rejected",
                                message=f"the new session refused the config, change undone: {exc}",
                            )
                        )
                    )
                    reason = str(exc)
                    continue
                reason = f"giving up: the server rejected the session config: {exc}"
                break
            except RealtimeError as exc:  # timeouts, a close during the handshake
                reason = str(exc)
                continue
            lost = list(result.lost) if policy.replay else self._item_ids()
            dispatcher.post(
                ev.ReconnectedEvent(
                    attempts=attempt,
                    replayed=list(result.replayed),
                    lost_items=sorted(set(lost) | set(abandoned)),
                    lost_response_id=lost_response,
                    lost_input_audio_ms=lost_audio_ms,
                    downtime_s=time.monotonic() - started,
                    recycled=recycle,
                    replayed_as=dict(result.replayed_as),
                )
            )
            return
        if not self._stop.is_set():
            logger.error("reconnecting failed: %s", reason)
            dispatcher.post(
                ev.SdkErrorEvent(
                    error=RealtimeErrorDetails(
                        type="reconnect_failed", code="reconnect_failed", message=reason
                    )
                )
            )
        dispatcher.fail_waiters(ConnectionClosedError(f"reconnecting failed: {reason}"))
