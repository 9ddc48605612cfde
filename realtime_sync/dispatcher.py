"""The event dispatcher: one thread that runs handlers, in arrival order.

The reader thread (and any thread that sends) only *posts* events onto an
unbounded queue; the dispatcher thread takes them off one at a time and runs,
for each event:

1. the pre-handler (the client's conversation cache, so handlers see it current),
2. the handlers registered for the event's type,
3. ``SERVER_ALL`` or ``CLIENT_ALL`` handlers (wire events only),
4. ``ALL`` handlers, with a :class:`~realtime_sync.events.RealtimeEvent` wrapper,
5. the ``wait_for`` futures the event satisfies.

A slow handler delays later handlers, never the reader: events wait in the
queue (see :attr:`EventDispatcher.queue_depth`), which is unbounded so no event
is ever dropped; memory grows with a handler that cannot keep up.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent import futures
from concurrent.futures import Future
from typing import Any, Callable, Dict, List, Optional, Tuple

from .errors import ConnectionClosedError, RealtimeError, RealtimeTimeoutError
from .events import RealtimeEvent, RealtimeEventType, SdkErrorEvent
from .models import RealtimeErrorDetails

__all__ = ["EventDispatcher", "EventFuture", "Handler"]

logger = logging.getLogger("realtime_sync")

Handler = Callable[[Any], object]
"""A handler takes the event and returns nothing useful."""

_ALL = RealtimeEventType.ALL.value
_SERVER_ALL = RealtimeEventType.SERVER_ALL.value
_CLIENT_ALL = RealtimeEventType.CLIENT_ALL.value
_ERROR = RealtimeEventType.ERROR.value

_SURVIVE_CLOSE = frozenset(
    {RealtimeEventType.RECONNECTING.value, RealtimeEventType.RECONNECTED.value}
)
_STOP = object()  # queue sentinel: fail the waiters, end the thread


class EventFuture(Future):  # type: ignore[type-arg]
    """The :class:`concurrent.futures.Future` returned by ``wait_for``.

    Calling :meth:`result` or :meth:`exception` on the dispatcher thread before
    the event arrived raises :class:`RealtimeError` at once: that thread is the
    one that would deliver the event, so waiting there could never end.
    Use ``on_next`` or ``add_done_callback`` in handlers instead.
    """

    def __init__(self, dispatcher: EventDispatcher, event_type: str) -> None:
        super().__init__()
        self._dispatcher = dispatcher
        self._event_type = event_type

    def _check_deadlock(self) -> None:
        if not self.done() and self._dispatcher.is_dispatch_thread():
            raise RealtimeError(
                f"waiting for {self._event_type!r} inside a handler would deadlock: handlers run "
                "on the dispatcher thread, which delivers that event. Use on_next() or "
                "future.add_done_callback() in handlers, or wait from another thread."
            )

    def result(self, timeout: Optional[float] = None) -> Any:
        """The event; raises :class:`RealtimeTimeoutError` (a ``TimeoutError``) on timeout."""
        self._check_deadlock()
        try:
            return super().result(timeout)
        except futures.TimeoutError:  # not the builtin TimeoutError before Python 3.11
            raise RealtimeTimeoutError(
                f"no {self._event_type!r} event within {timeout:g} s"
            ) from None

    def exception(self, timeout: Optional[float] = None) -> Optional[BaseException]:
        """The exception the wait failed with, if any."""
        self._check_deadlock()
        return super().exception(timeout)


class _Waiter:
    __slots__ = ("epoch", "future", "predicate")

    def __init__(
        self, future: EventFuture, predicate: Optional[Callable[[Any], bool]], epoch: int
    ) -> None:
        self.future = future
        self.predicate = predicate
        self.epoch = epoch  # the connection it was registered for: a later stop spares it


class EventDispatcher:
    """Thread-safe handler registry plus the one thread that runs handlers.

    ``on``/``off``/``wait_for`` may be called from any thread, including from
    handlers. :meth:`start` and :meth:`stop` bracket one connection.
    """

    def __init__(self, *, name: str = "realtime-dispatcher") -> None:
        self._name = name
        # Guards _handlers, _once, _waiters and _epoch (registration happens on any thread).
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by each stop(): waiters registered after it outlive it
        self._handlers: Dict[str, List[Handler]] = {}
        self._once: Dict[str, List[Handler]] = {}
        self._waiters: Dict[str, List[_Waiter]] = {}
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: Optional[threading.Thread] = None
        self._stopping = False
        # True from start() until the thread's loop ends (cheaper than is_alive() per event).
        self._running = False
        self.pre_handler: Optional[Callable[[Any, Optional[str]], None]] = None
        """Runs before any handler for every event (the client's conversation cache)."""

    # ------------------------------------------------------------------ registration

    def on(self, event_type: str, handler: Handler) -> Handler:
        """Call ``handler(event)`` for every event of ``event_type``; returns ``handler``."""
        with self._lock:
            self._handlers.setdefault(str(event_type), []).append(handler)
        return handler

    def on_next(self, event_type: str, handler: Handler) -> Handler:
        """Call ``handler(event)`` for the next event of ``event_type`` only."""
        with self._lock:
            self._once.setdefault(str(event_type), []).append(handler)
        return handler

    def off(self, event_type: str, handler: Optional[Handler] = None) -> None:
        """Remove ``handler`` (or, without one, every handler) for ``event_type``.

        Raises :class:`ValueError` when ``handler`` is not registered for it.
        """
        key = str(event_type)
        with self._lock:
            if handler is None:
                self._handlers.pop(key, None)
                self._once.pop(key, None)
                return
            for table in (self._handlers, self._once):
                handlers = table.get(key, [])
                if handler in handlers:
                    handlers.remove(handler)
                    return
        raise ValueError(f"handler {handler!r} is not registered for {key!r}")

    def clear_handlers(self) -> None:
        """Remove every handler (pending ``wait_for`` futures are kept)."""
        with self._lock:
            self._handlers.clear()
            self._once.clear()

    def wait_for(
        self, event_type: str, *, predicate: Optional[Callable[[Any], bool]] = None
    ) -> EventFuture:
        """A future resolved with the next ``event_type`` event matching ``predicate``.

        It is registered now, so an event that arrives after this call returns is
        never missed. Cancelling the future unregisters it.
        """
        key = str(event_type)
        future = EventFuture(self, key)
        with self._lock:
            waiter = _Waiter(future, predicate, self._epoch)
            self._waiters.setdefault(key, []).append(waiter)

        def forget(done: Future) -> None:  # type: ignore[type-arg]
            if done.cancelled():
                with self._lock:
                    waiters = self._waiters.get(key, [])
                    if waiter in waiters:
                        waiters.remove(waiter)

        future.add_done_callback(forget)
        return future

    def fail_waiters(self, exc: BaseException, *, up_to_epoch: Optional[int] = None) -> None:
        """Fail pending ``wait_for`` futures with ``exc`` (used on close).

        Only waiters registered before the stop of epoch ``up_to_epoch`` (all,
        when ``None``) fail: one registered for the next connection does not.
        Waits for ``reconnecting`` / ``reconnected`` survive: those events
        happen because of the close.
        """
        with self._lock:
            waiters = []
            for key, pending in self._waiters.items():
                if key in _SURVIVE_CLOSE:
                    continue
                doomed = [w for w in pending if up_to_epoch is None or w.epoch <= up_to_epoch]
                waiters.extend(doomed)
                pending[:] = [w for w in pending if w not in doomed]
        for waiter in waiters:
            if not waiter.future.done():
                waiter.future.set_exception(exc)

    # ------------------------------------------------------------------ thread

    @property
    def queue_depth(self) -> int:
        """Events posted but not yet handled (grows when handlers are slow)."""
        return self._queue.qsize()

    def is_dispatch_thread(self) -> bool:
        """True when called from the dispatcher thread (that is, from a handler)."""
        return self._thread is not None and threading.current_thread() is self._thread

    def is_running(self) -> bool:
        """True while the dispatcher thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> bool:
        """Start the dispatcher thread; False when it was already running (and not stopping).

        A thread that was asked to stop is first allowed to finish its queue.
        Raises :class:`RealtimeError` when called from a handler.
        """
        if self.is_dispatch_thread():
            raise RealtimeError(
                "cannot (re)connect from a handler: handlers run on the dispatcher thread; "
                "call connect() from your own thread"
            )
        old = self._thread
        if old is not None and old.is_alive():
            if not self._stopping:
                return False
            old.join(5.0)
        self._stopping = False
        self._queue = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._running = True
        self._thread.start()
        return True

    def stop(self, closed: Optional[BaseException] = None) -> None:
        """Ask the thread to finish the queued events, fail the waiters and end.

        ``closed`` is the exception pending waiters fail with (default
        :class:`ConnectionClosedError`). It does not wait: see :meth:`join`.
        """
        with self._lock:
            epoch = self._epoch
            self._epoch += 1
            self._stopping = True
        self._queue.put((_STOP, (closed or ConnectionClosedError(), epoch), 0.0))

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait for the thread to end; returns False on timeout. Safe from a handler."""
        thread = self._thread
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def post(self, event: Any, source: Optional[str] = None) -> None:
        """Queue ``event`` for the dispatcher thread (from any thread).

        ``source`` is ``"server"`` or ``"client"`` for wire events. When the
        thread is not running the event is delivered on the calling thread.
        """
        if self._running:
            self._queue.put((event, source, time.time()))
        else:
            self._deliver(event, source, time.time())

    def emit(self, event: Any) -> None:
        """Deliver a utility event: inline on the dispatcher thread, else queued."""
        if self.is_dispatch_thread():
            self._deliver(event, None, time.time())
        else:
            self.post(event)

    def _run(self) -> None:
        get = self._queue.get
        deliver = self._deliver
        try:
            while True:
                event, source, stamp = get()
                if event is _STOP:
                    closed, epoch = source
                    self.fail_waiters(closed, up_to_epoch=epoch)
                    return
                deliver(event, source, stamp)
        finally:
            self._running = False

    # ------------------------------------------------------------------ delivery

    def _deliver(self, event: Any, source: Optional[str], stamp: float) -> None:
        pre = self.pre_handler
        if pre is not None:
            try:
                pre(event, source)
            except Exception as exc:
                self._report(exc, "the conversation cache", event)
        key = event.type
        with self._lock:
            handlers = self._handlers.get(key)
            once = self._once.pop(key, None)
            if source is not None:
                wildcard = self._handlers.get(_SERVER_ALL if source == "server" else _CLIENT_ALL)
                all_handlers = self._handlers.get(_ALL)
            else:
                wildcard = all_handlers = None
            snapshot = [
                *(handlers or ()),
                *(once or ()),
                *(wildcard or ()),
            ]
            waiters = self._waiters.get(key)
        for handler in snapshot:
            self._call(handler, event)
        if all_handlers:
            wrapped = RealtimeEvent(source=source, event=event, time=stamp)  # type: ignore[arg-type]
            for handler in list(all_handlers):
                self._call(handler, wrapped)
        if waiters:
            self._resolve(key, event)

    def _resolve(self, key: str, event: Any) -> None:
        with self._lock:
            waiters = self._waiters.get(key, [])
            matched: List[Tuple[_Waiter, Optional[BaseException]]] = []
            for waiter in list(waiters):
                if waiter.future.done():
                    waiters.remove(waiter)
                    continue
                try:
                    ok = waiter.predicate is None or waiter.predicate(event)
                    error: Optional[BaseException] = None
                except Exception as exc:
                    ok, error = True, exc
                if ok:
                    waiters.remove(waiter)
                    matched.append((waiter, error))
        for waiter, error in matched:
            if waiter.future.set_running_or_notify_cancel():
                if error is None:
                    waiter.future.set_result(event)
                else:
                    waiter.future.set_exception(error)

    def _call(self, handler: Handler, event: Any) -> None:
        try:
            handler(event)
        except Exception as exc:
            self._report(exc, f"handler {getattr(handler, '__qualname__', handler)!r}", event)

    def _report(self, exc: Exception, where: str, event: Any) -> None:
        logger.exception("%s raised on %s event", where, getattr(event, "type", "?"))
        if isinstance(event, SdkErrorEvent) or getattr(event, "type", None) == _ERROR:
            return  # an error handler that fails is only logged, never re-reported
        self._deliver(
            SdkErrorEvent(
                error=RealtimeErrorDetails(
                    type="handler_error",
                    code=type(exc).__name__,
                    message=f"{where} raised {type(exc).__name__}: {exc}",
                ),
                exception=exc,
            ),
            None,
            time.time(),
        )
