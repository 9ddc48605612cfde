"""The dispatcher on its own: locks, hooks, one thread whatever the handlers do.

Real threads throughout; every wait is bounded and synchronised with events
or futures, so a regression fails (or times out) instead of hanging.
"""

from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable, Iterator, List, Optional, Tuple

import pytest

from realtime_sync.dispatcher import EventDispatcher
from realtime_sync.errors import ConnectionClosedError, RealtimeError
from realtime_sync.events import SdkErrorEvent

WAIT = 5.0
_names = itertools.count()


@dataclass(frozen=True)
class E:
    type: str
    n: int = 0


def threads_named(name: str) -> List[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == name and t.is_alive()]


def call_with_timeout(fn: Callable[[], Any], timeout: float = WAIT) -> Any:
    """Run ``fn`` on a helper thread; fail (instead of hanging) when it does not return."""
    out: List[Any] = []
    errors: List[BaseException] = []

    def run() -> None:
        try:
            out.append(fn())
        except BaseException as exc:
            errors.append(exc)

    helper = threading.Thread(target=run, name="test-helper", daemon=True)
    helper.start()
    helper.join(timeout)
    assert not helper.is_alive(), "deadlock: the call did not return"
    if errors:
        raise errors[0]
    return out[0] if out else None


@pytest.fixture
def d() -> Iterator[EventDispatcher]:
    dispatcher = EventDispatcher(name=f"realtime-dispatcher-test-{next(_names)}")
    yield dispatcher

    def finish() -> bool:
        while dispatcher._holds:
            dispatcher.release()
        if dispatcher.is_running():
            dispatcher.stop()
        return dispatcher.join(WAIT)

    assert call_with_timeout(finish, 2 * WAIT)
    assert threads_named(dispatcher._name) == []


def name_of(d: EventDispatcher) -> str:
    return d._name


# ---------------------------------------------------------------- locks and waiters


def test_predicate_may_register_and_wait_while_other_threads_register(d: EventDispatcher) -> None:
    d.start()
    in_predicate = threading.Event()
    others_done = threading.Event()
    inner: List[Any] = []

    def predicate(event: Any) -> bool:
        in_predicate.set()
        handler = d.on("other", lambda e: None)
        d.off("other", handler)
        inner.append(d.wait_for("later"))
        # while this predicate runs, another thread must be able to register too
        return others_done.wait(WAIT)

    future = d.wait_for("x", predicate=predicate)
    d.post(E("x"))
    assert in_predicate.wait(WAIT)
    call_with_timeout(lambda: d.on("y", lambda e: None))
    call_with_timeout(lambda: d.wait_for("y").cancel())
    others_done.set()
    assert future.result(WAIT) == E("x")
    d.post(E("later", 1))
    assert inner[0].result(WAIT) == E("later", 1)


def test_a_handler_may_remove_itself_and_wait_for_another_event(d: EventDispatcher) -> None:
    d.start()
    calls: List[int] = []
    futures: List[Any] = []

    def once_by_hand(event: Any) -> None:
        calls.append(event.n)
        d.off("x", once_by_hand)
        futures.append(d.wait_for("y", predicate=lambda e: e.n == 2))

    d.on("x", once_by_hand)
    for n in range(3):
        d.post(E("x", n))
    d.post(E("y", 1))
    d.post(E("y", 2))
    done = d.wait_for("done")
    d.post(E("done"))
    done.result(WAIT)
    assert calls == [0]
    assert futures[0].result(WAIT) == E("y", 2)


def test_what_a_handler_registers_waits_for_a_later_event(d: EventDispatcher) -> None:
    d.start()
    got: List[Tuple[str, int]] = []
    futures: List[Any] = []

    def first(event: Any) -> None:
        if event.n == 0:
            d.on("x", lambda e: got.append(("on", e.n)))
            d.on_next("x", lambda e: got.append(("on_next", e.n)))
            d.on("server.*", lambda e: got.append(("wildcard", e.n)))
            futures.append(d.wait_for("x"))

    d.on("x", first)
    done = d.wait_for("x", predicate=lambda e: e.n == 1)
    d.post(E("x", 0), "server")
    d.post(E("x", 1), "server")
    done.result(WAIT)
    assert got == [("on", 1), ("on_next", 1), ("wildcard", 1)]
    assert futures[0].result(WAIT) == E("x", 1)


def test_a_waiter_is_claimed_once_even_when_its_predicate_delivers_the_same_type(
    d: EventDispatcher,
) -> None:
    d.start()
    seen: List[int] = []

    def predicate(event: Any) -> bool:
        seen.append(event.n)
        if event.n == 0:
            d.emit(E("x", 1))  # inline, nested: resolves the same waiter first
        return True

    future = d.wait_for("x", predicate=predicate)
    d.post(E("x", 0))
    assert future.result(WAIT) == E("x", 1)
    assert seen == [0, 1]
    assert d._waiters["x"] == []


def test_a_waiter_cancelled_by_another_predicate_is_skipped(d: EventDispatcher) -> None:
    d.start()
    victim_holder: List[Any] = []

    def cancel_the_other(event: Any) -> bool:
        victim_holder[0].cancel()
        return True

    first = d.wait_for("x", predicate=cancel_the_other)
    victim = d.wait_for("x")
    victim_holder.append(victim)
    errors = d.wait_for("error")
    d.post(E("x"))
    assert first.result(WAIT) == E("x")
    assert victim.cancelled()
    d.post(E("x", 1))  # nothing left waiting, nothing raised
    marker = d.wait_for("done")
    d.post(E("done"))
    marker.result(WAIT)
    assert not errors.done()
    assert d._waiters["x"] == []


def test_a_predicate_that_raises_fails_its_future(d: EventDispatcher) -> None:
    d.start()
    future = d.wait_for("x", predicate=lambda e: 1 / 0)
    d.post(E("x"))
    assert isinstance(future.exception(WAIT), ZeroDivisionError)


def test_waiting_in_a_handler_raises_instead_of_deadlocking(d: EventDispatcher) -> None:
    d.start()
    outcome: List[BaseException] = []
    ran = threading.Event()

    def handler(event: Any) -> None:
        assert d.is_dispatch_thread()
        try:
            d.wait_for("never").result(WAIT)
        except RealtimeError as exc:
            outcome.append(exc)
        ran.set()

    d.on("x", handler)
    d.post(E("x"))
    assert ran.wait(WAIT)
    assert not d.is_dispatch_thread()
    assert isinstance(outcome[0], RealtimeError)


# ---------------------------------------------------------------- hooks


def test_hooks_run_in_order_before_handlers_and_a_failing_hook_is_isolated(
    d: EventDispatcher,
) -> None:
    d.start()
    order: List[str] = []
    errors: List[Any] = []

    def broken(event: Any, source: Optional[str]) -> None:
        order.append(f"broken:{event.type}")
        if event.type == "x":
            raise ValueError("boom")

    d.add_hook("a", lambda e, s: order.append(f"a:{e.type}:{s}"))
    d.add_hook("broken", broken)
    d.add_hook("z", lambda e, s: order.append(f"z:{e.type}"), first=True)
    d.on("x", lambda e: order.append("handler"))
    d.on("error", errors.append)
    assert d.hooks == ("z", "a", "broken")
    done = d.wait_for("x")
    d.post(E("x"), "server")
    done.result(WAIT)
    # the error event goes through the hooks too, then its handler, before the rest of x
    assert order == [
        "z:x",
        "a:x:server",
        "broken:x",
        "z:error",
        "a:error:None",
        "broken:error",
        "handler",
    ]
    assert len(errors) == 1 and isinstance(errors[0], SdkErrorEvent)
    assert errors[0].error.type == "handler_error"
    assert "hook 'broken'" in errors[0].error.message
    assert isinstance(errors[0].exception, ValueError)


def test_hook_names_are_unique_and_removable(d: EventDispatcher) -> None:
    d.add_hook("cache", lambda e, s: None)
    with pytest.raises(ValueError):
        d.add_hook("cache", lambda e, s: None)
    with pytest.raises(KeyError):
        d.remove_hook("missing")
    d.remove_hook("cache")
    assert d.hooks == ()
    seen: List[str] = []
    d.add_hook("cache", lambda e, s: seen.append(e.type))
    d.post(E("x"))  # never started: delivered on this thread
    assert seen == ["x"]


def test_pre_handler_is_a_compatibility_alias_for_a_named_hook(d: EventDispatcher) -> None:
    calls: List[str] = []

    def first(event: Any, source: Optional[str]) -> None:
        calls.append("first")

    def second(event: Any, source: Optional[str]) -> None:
        calls.append("second")

    d.add_hook("other", lambda e, s: calls.append("other"))
    assert d.pre_handler is None
    d.pre_handler = first
    assert d.hooks == ("pre_handler", "other") and d.pre_handler is first
    d.pre_handler = second  # replaced in place
    assert d.hooks == ("pre_handler", "other") and d.pre_handler is second
    d.post(E("x"))
    assert calls == ["second", "other"]
    d.pre_handler = None
    assert d.hooks == ("other",)


def test_a_hook_may_add_and_remove_hooks(d: EventDispatcher) -> None:
    d.start()
    seen: List[str] = []

    def installer(event: Any, source: Optional[str]) -> None:
        d.remove_hook("installer")
        d.add_hook("late", lambda e, s: seen.append(e.type))

    d.add_hook("installer", installer)
    d.post(E("x", 0))
    done = d.wait_for("x", predicate=lambda e: e.n == 1)
    d.post(E("x", 1))
    done.result(WAIT)
    assert d.hooks == ("late",)
    assert seen == ["x"]  # the first event's hooks were fixed when it started


# ---------------------------------------------------------------- one thread


def _blocking_handler(
    d: EventDispatcher,
) -> Tuple[threading.Event, threading.Event, List[Tuple[int, str]]]:
    """A handler on ``x`` that records (n, thread) and blocks on event n == 0."""
    entered = threading.Event()
    release = threading.Event()
    delivered: List[Tuple[int, str]] = []

    def slow(event: Any) -> None:
        delivered.append((event.n, threading.current_thread().name))
        if event.n == 0:
            entered.set()
            release.wait(WAIT)

    d.on("x", slow)
    return entered, release, delivered


def test_start_while_a_slow_handler_finishes_the_old_connection_keeps_one_thread(
    d: EventDispatcher,
) -> None:
    entered, release, delivered = _blocking_handler(d)
    assert d.start()
    first_thread = threads_named(name_of(d))
    old = d.wait_for("reply")
    d.post(E("x", 0))
    assert entered.wait(WAIT)
    d.stop(ConnectionClosedError("old connection closed"))
    after_stop = d.wait_for("reply")  # registered for the next connection
    assert d.start() is True  # it cancelled the pending stop: the caller owns a stop again
    assert d.start() is False  # running, nothing pending
    assert threads_named(name_of(d)) == first_thread
    for n in range(1, 20):
        d.post(E("x", n))
    d.post(E("reply"))
    release.set()
    assert after_stop.result(WAIT) == E("reply")
    assert isinstance(old.exception(WAIT), ConnectionClosedError)
    assert [n for n, _ in delivered] == list(range(20))
    assert {thread for _, thread in delivered} == {name_of(d)}
    assert threads_named(name_of(d)) == first_thread
    assert d.is_running()


def test_start_after_the_thread_ended_makes_a_new_one(d: EventDispatcher) -> None:
    d.start()
    old_waiter = d.wait_for("x")
    d.stop()
    assert d.join(WAIT)
    assert not d.is_running() and threads_named(name_of(d)) == []
    assert isinstance(old_waiter.exception(WAIT), ConnectionClosedError)
    new_waiter = d.wait_for("x")
    assert d.start() is True
    threads: List[str] = []
    d.on("x", lambda e: threads.append(threading.current_thread().name))
    d.post(E("x"))
    assert new_waiter.result(WAIT) == E("x")
    assert threads == [name_of(d)] and len(threads_named(name_of(d))) == 1


def test_a_stop_fails_only_the_waiters_registered_before_it(d: EventDispatcher) -> None:
    entered, release, _ = _blocking_handler(d)
    d.start()
    d.post(E("x", 0))
    assert entered.wait(WAIT)
    before = d.wait_for("y")
    survives = d.wait_for("reconnecting")
    d.stop(ConnectionClosedError("first"))
    between = d.wait_for("y")
    d.stop(ConnectionClosedError("second"))
    after = d.wait_for("y")
    d.start()
    release.set()
    assert str(before.exception(WAIT)) == "first"
    assert str(between.exception(WAIT)) == "second"
    d.post(E("y"))
    d.post(E("reconnecting"))
    assert after.result(WAIT) == E("y")
    assert survives.result(WAIT) == E("reconnecting")


def test_events_posted_after_stop_are_delivered_before_the_thread_ends(
    d: EventDispatcher,
) -> None:
    entered, release, delivered = _blocking_handler(d)
    d.start()
    d.post(E("x", 0))
    assert entered.wait(WAIT)
    d.stop()
    d.post(E("x", 1))
    release.set()
    assert d.join(WAIT)
    assert delivered == [(0, name_of(d)), (1, name_of(d))]


def test_post_delivers_on_the_caller_only_when_no_thread_runs(d: EventDispatcher) -> None:
    threads: List[str] = []
    d.on("x", lambda e: threads.append(threading.current_thread().name))
    d.post(E("x"))
    assert threads == [threading.current_thread().name]
    d.start()
    done = d.wait_for("x")
    d.post(E("x"))
    done.result(WAIT)
    assert threads[-1] == name_of(d)
    d.stop()
    assert d.join(WAIT)
    d.post(E("x"))
    assert threads[-1] == threading.current_thread().name


def test_no_event_is_lost_while_posts_race_stops_and_starts(d: EventDispatcher) -> None:
    got: List[int] = []
    lock = threading.Lock()

    def record(event: Any) -> None:
        with lock:
            got.append(event.n)

    d.on("x", record)
    cycling_done = threading.Event()
    posted: List[int] = []

    def poster() -> None:
        n = 0
        while not cycling_done.is_set() and n < 200_000:
            d.post(E("x", n))
            n += 1
        posted.append(n)

    d.start()
    posting = threading.Thread(target=poster, name="test-poster", daemon=True)
    posting.start()
    try:
        for _ in range(300):
            d.stop()
            d.join(WAIT)
            assert d.start()
            assert len(threads_named(name_of(d))) <= 1
    finally:
        cycling_done.set()
        posting.join(WAIT)
    assert not posting.is_alive()
    marker = d.wait_for("done")
    d.post(E("done"))
    marker.result(WAIT)
    assert posted[0] > 300  # the posts really overlapped the cycles
    assert sorted(got) == list(range(posted[0]))


class _PausingQueue:
    """Wraps the dispatcher's queue; ``put`` of one chosen event waits until told to go on."""

    def __init__(self, inner: Any, pause_on: Any) -> None:
        self._inner = inner
        self._pause_on = pause_on
        self.paused = threading.Event()
        self.resume = threading.Event()

    def put(self, item: Any) -> None:
        if item[0] is self._pause_on:
            self.paused.set()
            assert self.resume.wait(WAIT)
        self._inner.put(item)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


def test_an_event_posted_as_the_thread_ends_is_still_delivered(d: EventDispatcher) -> None:
    late = E("x", 1)
    pausing = _PausingQueue(d._queue, late)
    d._queue = pausing  # type: ignore[assignment]
    threads: List[str] = []
    d.on("x", lambda e: threads.append(threading.current_thread().name))
    d.start()
    # the poster saw the thread running, then stalls before its event reaches the queue
    posting = threading.Thread(target=d.post, args=(late,), name="test-poster", daemon=True)
    posting.start()
    assert pausing.paused.wait(WAIT)
    d.stop()
    assert d.join(WAIT)
    assert not d.is_running()
    pausing.resume.set()
    posting.join(WAIT)
    assert not posting.is_alive()
    assert threads == ["test-poster"]  # nobody else could take it off the queue any more
    assert d.queue_depth == 0


# ---------------------------------------------------------------- hold / release


def test_hold_keeps_the_thread_across_a_stop_until_release(d: EventDispatcher) -> None:
    threads: List[str] = []
    d.on("x", lambda e: threads.append(threading.current_thread().name))
    d.start()
    waiter = d.wait_for("x")
    d.hold()
    d.stop()
    assert d.join(WAIT)  # the stop is done; the hold keeps the thread
    assert isinstance(waiter.exception(WAIT), ConnectionClosedError)
    assert d.is_running() and len(threads_named(name_of(d))) == 1
    done = d.wait_for("x")
    d.post(E("x"))
    done.result(WAIT)
    assert threads == [name_of(d)]
    d.release()
    assert d.join(WAIT)
    assert not d.is_running() and threads_named(name_of(d)) == []
    with pytest.raises(RuntimeError):
        d.release()


def test_hold_from_the_close_handler_is_in_time_for_the_stop_behind_it(
    d: EventDispatcher,
) -> None:
    d.on("close", lambda e: d.hold())
    d.start()
    d.post(E("close"))
    d.stop()
    assert d.join(WAIT)
    assert d.is_running()
    # a reconnect posts from its own thread: delivered by the same dispatcher thread
    threads: List[str] = []
    d.on("reconnecting", lambda e: threads.append(threading.current_thread().name))
    done = d.wait_for("reconnecting")
    call_with_timeout(lambda: d.post(E("reconnecting")))
    done.result(WAIT)
    assert threads == [name_of(d)]
    d.release()  # the stop is still pending: the thread ends now
    assert d.join(WAIT)
    assert threads_named(name_of(d)) == []


def test_release_with_a_cancelled_stop_keeps_the_thread(d: EventDispatcher) -> None:
    d.start()
    d.hold()
    d.stop()
    assert d.join(WAIT)
    d.start()  # a new connection while held
    d.release()
    done = d.wait_for("x")
    d.post(E("x"))
    done.result(WAIT)
    assert d.is_running()


# ---------------------------------------------------------------- stuck handlers


def test_join_timeout_names_the_stuck_handler(
    d: EventDispatcher, caplog: pytest.LogCaptureFixture
) -> None:
    entered, release, _ = _blocking_handler(d)
    d.start()
    assert d.current_handler() is None
    d.post(E("x", 0))
    assert entered.wait(WAIT)
    d.stop()
    with caplog.at_level(logging.WARNING, logger="realtime_sync"):
        assert d.join(0.2) is False
    current = d.current_handler()
    assert current is not None
    name, seconds = current
    assert "_blocking_handler.<locals>.slow" in name
    assert seconds >= 0.2
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "_blocking_handler.<locals>.slow" in warnings[0]
    assert "has been running for" in warnings[0]
    assert len(threads_named(name_of(d))) == 1
    release.set()
    assert d.join(WAIT)
    assert d.current_handler() is None


def test_current_handler_names_a_running_hook_after_its_nested_handlers(
    d: EventDispatcher,
) -> None:
    entered = threading.Event()
    release = threading.Event()

    def cache(event: Any, source: Optional[str]) -> None:
        if event.type == "x":
            d.emit(E("inner"))  # handled inline, by a handler that raises
            entered.set()
            release.wait(WAIT)

    d.add_hook("cache", cache)
    d.on("inner", lambda e: 1 / 0)
    d.start()
    d.post(E("x"))
    assert entered.wait(WAIT)
    current = d.current_handler()
    release.set()
    assert current is not None and current[0].startswith("hook 'cache'"), current
    done = d.wait_for("marker")
    d.post(E("marker"))
    done.result(WAIT)
    assert d.current_handler() is None  # idle
