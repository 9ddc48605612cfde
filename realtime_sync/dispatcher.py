"""The event dispatcher: one thread that runs handlers, in arrival order.

The reader thread (and any thread that sends) only *posts* events onto an
unbounded queue; the dispatcher thread takes them off one at a time and runs,
for each event:

1. the hooks, in order (the client's conversation cache, so handlers see it current),
2. the handlers registered for the event's type,
3. ``SERVER_ALL`` or ``CLIENT_ALL`` handlers (wire events only),
4. ``ALL`` handlers, with a :class:`~realtime_sync.events.RealtimeEvent` wrapper,
5. the ``wait_for`` futures the event satisfies.

A slow handler delays later handlers, never the reader: events wait in the
queue (see :attr:`EventDispatcher.queue_depth`), which is unbounded so no event
is ever dropped; memory grows with a handler that cannot keep up.

There is only ever one dispatcher thread. A handler that never returns is
reported (:meth:`EventDispatcher.join` logs it, :meth:`EventDispatcher.current_handler`
names it), never worked around with a second thread: events wait for it.
Handlers, hooks and ``wait_for`` predicates never run under the dispatcher's
locks, so any of them may call ``on``, ``off``, ``wait_for``, ``post`` and the
hook methods.
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

__all__ = ["EventDispatcher", "EventFuture", "Handler", "Hook"]

logger = logging.getLogger("realtime_sync")

Handler = Callable[[Any], object]
"""A handler takes the event and returns nothing useful."""

Hook = Callable[[Any, Optional[str]], object]
"""A hook takes the event and its source (``"server"``, ``"client"`` or ``None``)."""

_ALL = RealtimeEventType.ALL.value
_SERVER_ALL = RealtimeEventType.SERVER_ALL.value
_CLIENT_ALL = RealtimeEventType.CLIENT_ALL.value
_ERROR = RealtimeEventType.ERROR.value

_SURVIVE_CLOSE = frozenset(
    {RealtimeEventType.RECONNECTING.value, RealtimeEventType.RECONNECTED.value}
)
# Queue marker for the thread's own work: with a (closed, epoch) payload it is a
# stop (fail those waiters, then maybe end), with None a wake-up (maybe end).
_CONTROL = object()
_WAKE = (_CONTROL, None, 0.0)
_PRE_HANDLER = "pre_handler"
_monotonic = time.monotonic
_get_ident = threading.get_ident


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


def _settle(future: EventFuture, result: Any, error: Optional[BaseException]) -> None:
    """Complete a claimed future, unless it was cancelled (or completed by its owner)."""
    try:
        if not future.set_running_or_notify_cancel():
            return
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)
    except (RuntimeError, futures.InvalidStateError):
        pass  # someone other than the dispatcher completed it: theirs wins


def _qualname(fn: Callable[..., object]) -> str:
    return str(getattr(fn, "__qualname__", None) or repr(fn))


class EventDispatcher:
    """Thread-safe handler registry plus the one thread that runs handlers.

    ``on``/``off``/``wait_for`` and the hook methods may be called from any
    thread, including from handlers, hooks and ``wait_for`` predicates.

    Lifecycle: the transport (:class:`~realtime_sync.api.RealtimeAPI`) owns the
    thread: :meth:`start` and :meth:`stop` bracket one connection. Anyone else
    who needs the thread to outlive a stop (the client while it reconnects)
    uses :meth:`hold` and :meth:`release`. There is never more than one
    dispatcher thread: :meth:`start` reuses a thread that is still alive.
    """

    def __init__(self, *, name: str = "realtime-dispatcher") -> None:
        self._name = name
        # Guards the changes to _handlers, _once, _waiters, _hooks and _epoch (registration
        # happens on any thread) and taking _once entries. Never held while user code runs.
        self._lock = threading.Lock()
        self._epoch = 0  # bumped by each stop(): waiters registered after it outlive it
        # Handler tables hold tuples, replaced (never changed) under _lock, so a delivery
        # reads them without it: this runs for every event.
        self._handlers: Dict[str, Tuple[Handler, ...]] = {}
        self._once: Dict[str, Tuple[Handler, ...]] = {}
        self._waiters: Dict[str, List[_Waiter]] = {}
        self._hooks: Tuple[Tuple[str, Hook], ...] = ()  # likewise replaced whole
        # The one queue for the dispatcher's life: a new thread takes over what is left on it.
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        # _life guards the thread's lifecycle: _thread, _alive, _exit_pending, _holds,
        # _wake_queued, _stops_requested and _stops_done; join() waits on it. Never held
        # while user code runs.
        self._life = threading.Condition(threading.Lock())
        self._thread: Optional[threading.Thread] = None
        self._ident: Optional[int] = None  # the live thread's get_ident(), None when none runs
        # True while the thread takes events off the queue. Read without the lock by post():
        # it only turns False under _life with the queue empty (see _control and post).
        self._alive = False
        self._exit_pending = False  # a stop asked the thread to end and no start() cancelled it
        self._holds = 0
        self._wake_queued = False
        self._stops_requested = 0
        self._stops_done = 0
        # What the dispatcher thread runs now (a handler, hook or predicate) or None;
        # _since is when the outermost of the running calls started (time.monotonic()).
        self._current: Optional[Callable[..., object]] = None
        self._since = 0.0

    # ------------------------------------------------------------------ registration

    def on(self, event_type: str, handler: Handler) -> Handler:
        """Call ``handler(event)`` for every event of ``event_type``; returns ``handler``."""
        key = str(event_type)
        with self._lock:
            self._handlers[key] = (*self._handlers.get(key, ()), handler)
        return handler

    def on_next(self, event_type: str, handler: Handler) -> Handler:
        """Call ``handler(event)`` for the next event of ``event_type`` only."""
        key = str(event_type)
        with self._lock:
            self._once[key] = (*self._once.get(key, ()), handler)
        return handler

    def off(self, event_type: str, handler: Optional[Handler] = None) -> None:
        """Remove ``handler`` (or, without one, every handler) for ``event_type``.

        Raises :class:`ValueError` when ``handler`` is not registered for it.
        An event being delivered still reaches the handlers it started with.
        """
        key = str(event_type)
        with self._lock:
            if handler is None:
                self._handlers.pop(key, None)
                self._once.pop(key, None)
                return
            for table in (self._handlers, self._once):
                handlers = table.get(key, ())
                if handler in handlers:
                    at = handlers.index(handler)
                    table[key] = handlers[:at] + handlers[at + 1 :]
                    return
        raise ValueError(f"handler {handler!r} is not registered for {key!r}")

    def clear_handlers(self) -> None:
        """Remove every handler (pending ``wait_for`` futures and hooks are kept)."""
        with self._lock:
            self._handlers.clear()
            self._once.clear()

    def add_hook(self, name: str, hook: Hook, *, first: bool = False) -> None:
        """Run ``hook(event, source)`` for every event, before any handler.

        Hooks run in the order they were added (``first=True`` puts this one
        before the others). A hook that raises is reported like a handler that
        raises (an ``error`` event of type ``handler_error``) and the later
        hooks and handlers still run. Raises :class:`ValueError` when a hook
        named ``name`` is already installed.
        """
        with self._lock:
            if any(existing == name for existing, _ in self._hooks):
                raise ValueError(f"a hook named {name!r} is already installed")
            pair = (name, hook)
            self._hooks = (pair, *self._hooks) if first else (*self._hooks, pair)

    def remove_hook(self, name: str) -> None:
        """Remove the hook named ``name``; raises :class:`KeyError` when there is none."""
        with self._lock:
            hooks = tuple(pair for pair in self._hooks if pair[0] != name)
            if len(hooks) == len(self._hooks):
                raise KeyError(name)
            self._hooks = hooks

    @property
    def hooks(self) -> Tuple[str, ...]:
        """The names of the installed hooks, in the order they run."""
        return tuple(name for name, _ in self._hooks)

    @property
    def pre_handler(self) -> Optional[Hook]:
        """Compatibility alias for the hook named ``"pre_handler"`` (None when not installed).

        Setting it installs that hook (first), replaces it in place, or with
        ``None`` removes it. Kept so callers from before named hooks keep
        working until they move to :meth:`add_hook`; new code should not use it.
        """
        for name, hook in self._hooks:
            if name == _PRE_HANDLER:
                return hook
        return None

    @pre_handler.setter
    def pre_handler(self, hook: Optional[Hook]) -> None:
        with self._lock:
            others = [pair for pair in self._hooks if pair[0] != _PRE_HANDLER]
            if hook is None:
                self._hooks = tuple(others)
            elif len(others) < len(self._hooks):
                self._hooks = tuple(
                    (name, hook) if name == _PRE_HANDLER else (name, old)
                    for name, old in self._hooks
                )
            else:
                self._hooks = ((_PRE_HANDLER, hook), *others)

    def wait_for(
        self, event_type: str, *, predicate: Optional[Callable[[Any], bool]] = None
    ) -> EventFuture:
        """A future resolved with the next ``event_type`` event matching ``predicate``.

        It is registered now, so an event that arrives after this call returns is
        never missed. Cancelling the future unregisters it. ``predicate`` runs on
        the dispatcher thread, outside any lock; if it raises, the future fails
        with that exception.
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
            doomed: List[_Waiter] = []
            for key, pending in self._waiters.items():
                if key in _SURVIVE_CLOSE:
                    continue
                keep = []
                for waiter in pending:
                    if up_to_epoch is None or waiter.epoch <= up_to_epoch:
                        doomed.append(waiter)
                    else:
                        keep.append(waiter)
                pending[:] = keep
        for waiter in doomed:
            _settle(waiter.future, None, exc)

    # ------------------------------------------------------------------ thread

    @property
    def queue_depth(self) -> int:
        """Events posted but not yet handled (grows when handlers are slow)."""
        return self._queue.qsize()

    def is_dispatch_thread(self) -> bool:
        """True when called from the dispatcher thread (that is, from a handler)."""
        # The thread clears _ident before it ends, so a recycled ident never matches.
        return _get_ident() == self._ident

    def is_running(self) -> bool:
        """True while the dispatcher thread takes events off the queue."""
        return self._alive

    def start(self) -> bool:
        """Make sure the dispatcher thread runs; False when it already ran for someone.

        Never creates a second thread: when the thread is alive with a stop
        pending (its handlers have not finished the previous connection's
        events yet), the stop is cancelled and the same thread goes on with
        the new connection's events after the old ones. The pending stop still
        fails the waiters registered before it. Only a thread that has really
        ended is replaced by a new one. Returns True when this call created the
        thread or cancelled a stop (the caller then owns a :meth:`stop`),
        False when the thread was running with no stop pending.

        Raises :class:`RealtimeError` when called from a handler.
        """
        if self.is_dispatch_thread():
            raise RealtimeError(
                "cannot (re)connect from a handler: handlers run on the dispatcher thread; "
                "call connect() from your own thread"
            )
        while True:
            with self._life:
                if self._alive:
                    if self._exit_pending:
                        self._exit_pending = False
                        self._life.notify_all()
                        return True
                    return False
                old = self._thread
                if old is None or not old.is_alive():
                    self._exit_pending = False
                    self._alive = True
                    self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
                    self._thread.start()
                    return True
            # It has decided to end and runs no user code any more: only its last lines are left.
            old.join()

    def stop(self, closed: Optional[BaseException] = None) -> None:
        """Ask the thread to finish the queued events, fail the waiters and end.

        ``closed`` is the exception pending waiters fail with (default
        :class:`ConnectionClosedError`); only waiters registered before this
        call fail. The thread ends once the queue is empty, unless
        :meth:`start` cancels the stop first or :meth:`hold` keeps it. It does
        not wait: see :meth:`join`. Without a running thread the waiters fail
        at once, on the calling thread.
        """
        closed = closed or ConnectionClosedError()
        with self._lock:
            epoch = self._epoch
            self._epoch += 1
        with self._life:
            if self._alive:
                self._exit_pending = True
                self._stops_requested += 1
                self._queue.put((_CONTROL, (closed, epoch), 0.0))
                return
        self._drain_inline()
        self.fail_waiters(closed, up_to_epoch=epoch)

    def hold(self) -> None:
        """Keep the thread alive across :meth:`stop` until the matching :meth:`release`.

        A stop while held still fails its waiters; the thread goes on serving
        events. Called from a handler it is always in time for the stop queued
        behind the event being handled (the client's reconnect does this on
        ``close``). Holding while no thread runs keeps the next one alive.
        """
        with self._life:
            self._holds += 1
            self._life.notify_all()

    def release(self) -> None:
        """Undo one :meth:`hold`; the thread ends if a stop is pending and nothing holds it.

        Raises :class:`RuntimeError` without a matching :meth:`hold`.
        """
        with self._life:
            if self._holds == 0:
                raise RuntimeError("release() without a matching hold()")
            self._holds -= 1
            if self._holds == 0 and self._exit_pending and self._alive and not self._wake_queued:
                self._wake_queued = True
                self._queue.put(_WAKE)

    def join(self, timeout: Optional[float] = None) -> bool:
        """Wait until the last :meth:`stop` is done; returns False on timeout.

        Done means the events queued before it were handled, its waiters failed
        and the thread ended, or lives on because :meth:`start` or
        :meth:`hold` keeps it. On timeout a warning names the handler that is
        still running and for how long (a stuck handler is only reported: the
        events behind it wait). Returns True at once when called from a handler.
        """
        if self.is_dispatch_thread():
            return True
        deadline = None if timeout is None else _monotonic() + timeout
        with self._life:
            target = self._stops_requested
            settled = self._life.wait_for(
                lambda: (
                    not self._alive
                    or (self._stops_done >= target and (not self._exit_pending or self._holds > 0))
                ),
                timeout,
            )
            thread = None if self._alive else self._thread
        if settled:
            if thread is not None:
                left = None if deadline is None else max(0.0, deadline - _monotonic())
                thread.join(left)  # it ran its last handler: only its last lines are left
            return True
        current = self.current_handler()
        if current is None:
            logger.warning(
                "the dispatcher did not finish within %g s (%d events queued)",
                timeout,
                self.queue_depth,
            )
        else:
            logger.warning(
                "the dispatcher did not finish within %g s: %s has been running for %.1f s "
                "(%d events queued behind it; it is not interrupted and no second dispatcher "
                "is started, so later events wait for it)",
                timeout,
                current[0],
                current[1],
                self.queue_depth,
            )
        return False

    def current_handler(self) -> Optional[Tuple[str, float]]:
        """What the dispatcher thread runs now, as (name, seconds), or None when idle.

        For diagnostics: a hook is named ``"hook 'name' (qualname)"``. The
        seconds count from the start of the outermost running call (a
        handler of an event emitted by a hook counts from the hook's start).
        """
        current = self._current
        since = self._since
        if current is None or not self._alive:
            return None
        name = _qualname(current)
        for hook_name, hook in self._hooks:
            if hook is current:
                name = f"hook {hook_name!r} ({name})"
                break
        return name, max(0.0, _monotonic() - since)

    def post(self, event: Any, source: Optional[str] = None) -> None:
        """Queue ``event`` for the dispatcher thread (from any thread).

        ``source`` is ``"server"`` or ``"client"`` for wire events. While the
        thread runs, the event is always delivered by it, in posting order.
        When no thread runs (never started, or ended after a stop) the event
        is delivered right away on the calling thread instead: then deliveries
        from different threads may run at the same time (including one that
        began just before a concurrent :meth:`start` and the new thread's).
        """
        if self._alive:
            self._queue.put((event, source, time.time()))
            if self._alive:
                return
            # The thread ended between the two reads (it checked that the queue was
            # empty before it ended), so nothing else will take this event off the queue.
            # (mypy cannot know that another thread cleared the flag.)
            self._drain_inline()  # type: ignore[unreachable]
        else:
            if not self._queue.empty():
                self._drain_inline()
            self._deliver(event, source, time.time())

    def emit(self, event: Any) -> None:
        """Deliver a utility event: inline on the dispatcher thread, else queued."""
        if _get_ident() == self._ident:
            self._deliver(event, None, time.time())
        else:
            self.post(event)

    def _run(self) -> None:
        self._ident = _get_ident()
        self._current = None
        get = self._queue.get
        deliver = self._deliver
        try:
            while True:
                event, source, stamp = get()
                if event is _CONTROL:
                    if self._control(source):
                        return
                    continue
                deliver(event, source, stamp)
        finally:
            self._current = None
            with self._life:
                self._ident = None
                if self._thread is threading.current_thread():
                    self._alive = False  # already, unless a handler raised a BaseException
                self._life.notify_all()

    def _control(self, stop: Optional[Tuple[BaseException, int]]) -> bool:
        """A stop or a wake-up, on the dispatcher thread; True when the thread ends now."""
        if stop is not None:
            self.fail_waiters(stop[0], up_to_epoch=stop[1])
        with self._life:
            if stop is None:
                self._wake_queued = False
            else:
                self._stops_done += 1
            self._life.notify_all()
            if not self._exit_pending or self._holds:
                return False
            if not self._queue.empty():
                # Events posted after the stop: handle them, then look again.
                if not self._wake_queued:
                    self._wake_queued = True
                    self._queue.put(_WAKE)
                return False
            self._alive = False
            self._exit_pending = False
            return True

    def _drain_inline(self) -> None:
        """Deliver, on the calling thread, events left on the queue while no thread runs."""
        while True:
            with self._life:
                if self._alive:
                    return  # a new thread takes what is left
                try:
                    event, source, stamp = self._queue.get_nowait()
                except queue.Empty:
                    return
                if event is _CONTROL:
                    if source is None:
                        self._wake_queued = False
                    else:
                        self._stops_done += 1
            if event is not _CONTROL:
                self._deliver(event, source, stamp)
            elif source is not None:
                self.fail_waiters(source[0], up_to_epoch=source[1])

    # ------------------------------------------------------------------ delivery

    def _deliver(self, event: Any, source: Optional[str], stamp: float) -> None:
        for name, hook in self._hooks:
            outer = self._current
            if outer is None:
                self._since = _monotonic()
            self._current = hook
            try:
                hook(event, source)
            except Exception as exc:
                self._report(exc, f"hook {name!r}", event)
            self._current = outer
        # Everything this event goes to is fixed before its first handler runs: a
        # handler that registers (on_next, wait_for, ...) waits for a later event.
        key = event.type
        table = self._handlers
        handlers = table.get(key, ())
        once: Tuple[Handler, ...] = ()
        if key in self._once:
            with self._lock:
                once = self._once.pop(key, ())
        wildcard: Tuple[Handler, ...] = ()
        every: Tuple[Handler, ...] = ()
        if source is not None:
            wildcard = table.get(_SERVER_ALL if source == "server" else _CLIENT_ALL, ())
            every = table.get(_ALL, ())
        waiting = self._waiters.get(key)
        pending = list(waiting) if waiting else None
        call = self._call
        for handler in handlers:
            call(handler, event)
        for handler in once:
            call(handler, event)
        for handler in wildcard:
            call(handler, event)
        if every:
            wrapped = RealtimeEvent(source=source, event=event, time=stamp)  # type: ignore[arg-type]
            for handler in every:
                call(handler, wrapped)
        if pending:
            self._resolve(key, event, pending)

    def _resolve(self, key: str, event: Any, pending: List[_Waiter]) -> None:
        # Predicates are user code: they run outside the lock, on the snapshot taken
        # before the handlers, then the matches are claimed under it. A waiter is
        # claimed once: whoever removes it from the list (this, a nested delivery,
        # fail_waiters, a cancel) owns it.
        matched: List[Tuple[_Waiter, Optional[BaseException]]] = []
        for waiter in pending:
            if waiter.future.done():
                continue  # cancelled: its done-callback unregisters it
            predicate = waiter.predicate
            if predicate is None:
                matched.append((waiter, None))
                continue
            outer = self._current
            if outer is None:
                self._since = _monotonic()
            self._current = predicate
            try:
                if predicate(event):
                    matched.append((waiter, None))
            except Exception as exc:
                matched.append((waiter, exc))
            self._current = outer
        if not matched:
            return
        claimed: List[Tuple[_Waiter, Optional[BaseException]]] = []
        with self._lock:
            waiters = self._waiters.get(key)
            if waiters:
                for waiter, error in matched:
                    if waiter in waiters:
                        waiters.remove(waiter)
                        claimed.append((waiter, error))
        for waiter, error in claimed:
            _settle(waiter.future, event, error)

    def _call(self, handler: Handler, event: Any) -> None:
        outer = self._current
        if outer is None:
            self._since = _monotonic()
        self._current = handler
        try:
            handler(event)
        except Exception as exc:
            self._report(exc, f"handler {_qualname(handler)!r}", event)
        self._current = outer

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
