"""The tool executor: a few named daemon threads that run the app's tool handlers.

Unlike :class:`concurrent.futures.ThreadPoolExecutor`, whose workers the
interpreter joins at exit, these are daemon threads: a tool that never returns
cannot keep a script, a notebook kernel or a GUI from exiting. What is still
running or queued at :meth:`ToolExecutor.shutdown` is abandoned and logged.
"""

from __future__ import annotations

import logging
import queue
import threading
from typing import Callable, List, Optional

__all__ = ["ToolExecutor"]

logger = logging.getLogger("realtime_sync")

_STOP: Callable[[], None] = lambda: None  # noqa: E731 - the queue's end marker


class ToolExecutor:
    """Runs callables on up to ``workers`` daemon threads named ``{name}_N``.

    Threads start on demand (one per submission while fewer than ``workers``
    exist and none is idle) and end at :meth:`shutdown`.
    """

    def __init__(self, workers: int = 4, *, name: str = "realtime-tool") -> None:
        if workers < 1:
            raise ValueError("a tool executor needs at least one worker")
        self._max = workers
        self._name = name
        self._queue: queue.SimpleQueue[Callable[[], None]] = queue.SimpleQueue()
        # Guards _threads, _idle, _busy and _closed.
        self._lock = threading.Lock()
        self._threads: List[threading.Thread] = []
        self._idle = 0
        self._busy: List[str] = []
        self._closed = False

    def submit(self, job: Callable[[], None], *, label: str = "") -> None:
        """Queue ``job``; it runs on a worker as soon as one is free."""
        with self._lock:
            if self._closed:
                raise RuntimeError("the tool executor is shut down")
            if self._idle == 0 and len(self._threads) < self._max:
                thread = threading.Thread(
                    target=self._work,
                    name=f"{self._name}_{len(self._threads)}",
                    daemon=True,
                )
                self._threads.append(thread)
                thread.start()
            else:
                self._idle = max(0, self._idle - 1)
        self._queue.put(_Labelled(job, label))

    def shutdown(self, timeout: Optional[float] = 0.0) -> List[str]:
        """Stop taking jobs and let idle workers end; returns the labels still running.

        Workers busy in a handler are not waited for beyond ``timeout``: they
        are daemon threads and end with the handler (or with the interpreter).
        """
        with self._lock:
            if self._closed:
                return []
            self._closed = True
            threads = list(self._threads)
        for _ in threads:
            self._queue.put(_STOP)
        for thread in threads:
            thread.join(timeout if timeout else 0.0)
        with self._lock:
            busy = list(self._busy)
        if busy:
            logger.warning(
                "abandoning %d tool call(s) still running at shutdown: %s",
                len(busy),
                ", ".join(busy),
            )
        return busy

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            label = getattr(job, "label", "")
            with self._lock:
                self._busy.append(label)
            try:
                job()
            except Exception:
                logger.exception("tool job %s raised", label)
            finally:
                with self._lock:
                    self._busy.remove(label)
                    self._idle += 1


class _Labelled:
    __slots__ = ("job", "label")

    def __init__(self, job: Callable[[], None], label: str) -> None:
        self.job = job
        self.label = label

    def __call__(self) -> None:
        self.job()
