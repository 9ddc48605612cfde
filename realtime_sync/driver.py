"""The driver: carries out what a sans-IO session core decides, for any protocol.

A core (:mod:`realtime_sync.core`) only returns actions. :class:`CoreDriver`
performs them with the transport's threads: it sends on the WebSocket, hands
utility events to the dispatcher, runs tools on the :class:`ToolExecutor` with
deadlines, and completes the :class:`RequestFuture` each request returned.

Locking: one re-entrant lock (:attr:`CoreDriver.lock`) is held around every
call into the core and while the events it decided to send are written, so
the wire order is the order of the core's decisions. Handlers, futures' callbacks
and tools always run after the lock is released.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from concurrent.futures import Future
from typing import Any, Callable, Dict, List, Optional, Tuple

from . import events as ev
from .api import RealtimeAPI
from .core.actions import Action, Emit, Fail, Recycle, Resolve, RunTool, Send
from .dispatcher import EventFuture, Handler
from .errors import RealtimeError, RealtimeTimeoutError
from .executor import ToolExecutor
from .models import RealtimeErrorDetails

__all__ = ["CoreDriver", "EventRegistration", "RequestFuture", "ToolHandler", "settle_update"]

logger = logging.getLogger("realtime_sync")

ToolHandler = Callable[[Dict[str, Any]], Any]
"""A tool handler: called with the parsed JSON arguments, returns anything JSON-serialisable."""

Step = Callable[[], Tuple[Optional[str], List[Action]]]
"""One call into a core: the id of the request it opened (if any) and its actions."""


class RequestFuture(Future):  # type: ignore[type-arg]
    """The :class:`concurrent.futures.Future` of one request (a turn, a session update...).

    ``result()`` on the dispatcher thread, before the answer arrived, raises
    :class:`RealtimeError` at once instead of deadlocking: that thread is the one
    that would deliver the answer. ``cancel()`` abandons the request (a response
    being generated for it is cancelled).
    """

    def __init__(self, transport: RealtimeAPI, what: str) -> None:
        super().__init__()
        self._transport = transport
        self._what = what

    def _check_deadlock(self) -> None:
        if not self.done() and self._transport.dispatcher.is_dispatch_thread():
            raise RealtimeError(
                f"waiting for {self._what} inside a handler would deadlock: handlers run on the "
                "dispatcher thread, which delivers the answer. Use add_done_callback(), or wait "
                "from another thread."
            )

    def result(self, timeout: Optional[float] = None) -> Any:
        """The answer; raises :class:`RealtimeTimeoutError` (a ``TimeoutError``) on timeout."""
        self._check_deadlock()
        try:
            return super().result(timeout)
        except TimeoutError:  # concurrent.futures.TimeoutError is TimeoutError from 3.11 on
            raise RealtimeTimeoutError(f"no answer to {self._what} within {timeout:g} s") from None
        except Exception as exc:
            if type(exc).__name__ == "TimeoutError" and not isinstance(exc, RealtimeError):
                raise RealtimeTimeoutError(
                    f"no answer to {self._what} within {timeout:g} s"
                ) from None
            raise

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """The exception the request failed with, if any."""
        self._check_deadlock()
        return super().exception(timeout)


class CoreDriver:
    """Performs a core's actions over a :class:`~realtime_sync.api.RealtimeAPI`.

    Args:
        transport: the connection (its dispatcher runs the handlers).
        answer_tool: the core's entry point for a tool's output:
            ``(call_id, output_json) -> actions``.
        recycle: called (on the dispatcher thread) when the core asks for a
            new connection between responses.
        tool_workers: threads that run tool handlers.
    """

    def __init__(
        self,
        transport: RealtimeAPI,
        *,
        answer_tool: Callable[[str, str], List[Action]],
        recycle: Callable[[str], None],
        tool_workers: int = 4,
    ) -> None:
        self.transport = transport
        self._answer_tool = answer_tool
        self._recycle = recycle
        self._tool_workers = tool_workers
        # Guards the core (every call into it), _futures, _executor and the tool handlers.
        self.lock = threading.RLock()
        self._futures: Dict[str, RequestFuture] = {}
        self.tool_handlers: Dict[str, ToolHandler] = {}
        self._executor: Optional[ToolExecutor] = None

    # ------------------------------------------------------------------ steps

    def drive(self, step: Step, what: str = "the request") -> Optional[RequestFuture]:
        """Run ``step`` under the lock, send what it decided, then do the rest.

        Returns the future of the request it opened (``None`` when it opened none).
        """
        with self.lock:
            request_id, actions = step()
            future = None
            if request_id is not None:
                future = RequestFuture(self.transport, what)
                self._futures[request_id] = future
            rest = self._send_all(actions)
        self._perform(rest)
        return future

    def forget(self, future: Optional[RequestFuture]) -> None:
        """Stop tracking a future (its caller gave up on it)."""
        with self.lock:
            for request_id, known in list(self._futures.items()):
                if known is future:
                    del self._futures[request_id]

    def request_id_of(self, future: RequestFuture) -> Optional[str]:
        """The id of the request a future belongs to, while it is open."""
        with self.lock:
            return next((rid for rid, f in self._futures.items() if f is future), None)

    def _send_all(self, actions: List[Action]) -> List[Action]:
        """Send the Send actions (lock held); return the others, in order."""
        rest: List[Action] = []
        for action in actions:
            if isinstance(action, Send):
                try:
                    self.transport.send(action.event)
                except RealtimeError as exc:
                    logger.debug("%s not sent: %s", action.event.type, exc)
            else:
                rest.append(action)
        return rest

    def _perform(self, actions: List[Action]) -> None:
        dispatcher = self.transport.dispatcher
        for action in actions:
            if isinstance(action, Emit):
                dispatcher.emit(action.event)
            elif isinstance(action, (Resolve, Fail)):
                with self.lock:
                    future = self._futures.pop(action.request_id, None)
                if future is None or not future.set_running_or_notify_cancel():
                    continue
                if isinstance(action, Resolve):
                    future.set_result(action.value)
                else:
                    future.set_exception(action.error)
            elif isinstance(action, RunTool):
                self._start_tool(action)
            elif isinstance(action, Recycle):
                self._recycle(action.reason)

    # ------------------------------------------------------------------ tools

    def _start_tool(self, call: RunTool) -> None:
        with self.lock:
            handler = self.tool_handlers.get(call.name)
            if self._executor is None:
                self._executor = ToolExecutor(self._tool_workers, name="realtime-tool")
            executor = self._executor
        if handler is None:
            self.answer(call.call_id, json.dumps({"error": f"no handler for tool {call.name}"}))
            return
        timer: Optional[threading.Timer] = None
        if call.deadline is not None:
            # Counted from the call's arrival, so a call still queued behind busy workers is
            # answered in time too.
            seconds = max(0.0, call.deadline - time.monotonic())
            late = json.dumps(
                {"error": f"the tool {call.name} did not finish within {call.timeout or 0:g} s"}
            )
            timer = threading.Timer(seconds, self._deadline, args=(call, late))
            timer.name = "realtime-tool-timer"
            timer.daemon = True
            timer.start()

        def job() -> None:
            output = self._call_tool(call, handler)
            if timer is not None:
                timer.cancel()
            if not self.answer(call.call_id, output):
                logger.warning("tool %s answered after its timeout; result dropped", call.name)

        try:
            executor.submit(job, label=f"{call.name} ({call.call_id})")
        except RuntimeError:
            logger.warning("tool %s not run: the client is shutting down", call.name)

    def _deadline(self, call: RunTool, output: str) -> None:
        if self.answer(call.call_id, output):
            logger.warning("tool %s did not finish in time; answered with an error", call.name)

    def answer(self, call_id: str, output: str) -> bool:
        """Give the core a tool's output; False when the call was already answered."""
        with self.lock:
            actions = self._answer_tool(call_id, output)
            rest = self._send_all(actions)
        self._perform(rest)
        return bool(actions)

    def _call_tool(self, call: RunTool, handler: ToolHandler) -> str:
        """The tool's JSON output: its result, or ``{"error": ...}``."""
        try:
            params = json.loads(call.arguments or "{}")
            if not isinstance(params, dict):
                raise ValueError("the arguments are not a JSON object")
        except ValueError as exc:
            return json.dumps({"error": f"invalid JSON arguments for {call.name}: {exc}"})
        try:
            return json.dumps(handler(params))
        except Exception as exc:
            logger.exception("tool %s raised", call.name)
            self.transport.dispatcher.post(
                ev.SdkErrorEvent(
                    error=RealtimeErrorDetails(
                        type="tool_error",
                        code=call.name,
                        message=f"tool {call.name} raised {type(exc).__name__}: {exc}",
                    ),
                    exception=exc,
                )
            )
            return json.dumps({"error": f"{type(exc).__name__}: {exc}"})

    def shutdown(self) -> None:
        """Stop the tool workers (a tool still running is abandoned, and logged)."""
        with self.lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(timeout=0.0)


def settle_update(future: Optional[RequestFuture], wait: bool, timeout: float) -> Any:
    """The server's answer to a session update, or ``None`` when not waiting.

    Not sent (``future`` is ``None``), ``wait=False``, or called from a handler
    (which must not block): ``None`` at once, and a rejection is logged. Else
    the answer, or the request's error raised.
    """
    if future is None:
        return None
    if not wait or future._transport.dispatcher.is_dispatch_thread():
        future.add_done_callback(_log_rejection)
        return None
    try:
        return future.result(timeout)
    except RealtimeTimeoutError:
        raise RealtimeTimeoutError(
            f"no session.updated within {timeout:g} s: the change may still apply"
        ) from None


def _log_rejection(future: Any) -> None:
    if future.cancelled():
        return
    error = future.exception()
    if error is not None:
        logger.warning("session update rejected and undone: %s", error)


class EventRegistration:
    """Handler registration of a client, delegated to its transport (``self.realtime``)."""

    realtime: RealtimeAPI

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

    def is_connected(self) -> bool:
        """True while connected."""
        return self.realtime.is_connected()
