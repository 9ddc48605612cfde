"""The request ledger: which client request each ``event_id`` belongs to.

Both protocols correlate the same way: every client event carries an
``event_id``; a server ``error`` names it (``error.event_id`` in the Realtime
API, ``client_event_id`` in GPT-Live), and some acknowledgements do too. One
request may own several events (a message and the ``response.create`` after
it), and an event belongs to at most one request.
"""

from __future__ import annotations

import itertools
from typing import Dict, Generic, Iterator, List, Optional, TypeVar

__all__ = ["RequestLedger"]

R = TypeVar("R")


class RequestLedger(Generic[R]):
    """Open requests by id, and the event ids each one sent.

    ``R`` is whatever the core keeps about a request. Not thread-safe: a core
    is driven from one thread at a time.
    """

    def __init__(self, prefix: str = "req") -> None:
        self._prefix = prefix
        self._counter = itertools.count(1)
        self._requests: Dict[str, R] = {}
        self._owner: Dict[str, str] = {}  # event_id -> request_id
        self._events: Dict[str, List[str]] = {}  # request_id -> its event ids

    def open(self, request: R) -> str:
        """Record a new request; returns its id (unique in this ledger)."""
        request_id = f"{self._prefix}_{next(self._counter)}"
        self._requests[request_id] = request
        self._events[request_id] = []
        return request_id

    def bind(self, request_id: str, event_id: str) -> None:
        """Tie a client event to a request, so an error naming it reaches that request."""
        if request_id in self._requests:
            self._owner[event_id] = request_id
            self._events[request_id].append(event_id)

    def get(self, request_id: Optional[str]) -> Optional[R]:
        """The open request ``request_id``, or ``None``."""
        return None if request_id is None else self._requests.get(request_id)

    def owner_of(self, event_id: Optional[str]) -> Optional[str]:
        """The id of the open request that sent ``event_id``, or ``None``."""
        return None if event_id is None else self._owner.get(event_id)

    def close(self, request_id: str) -> Optional[R]:
        """Forget a request and its events; returns what was kept, or ``None``."""
        for event_id in self._events.pop(request_id, ()):
            self._owner.pop(event_id, None)
        return self._requests.pop(request_id, None)

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._requests

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._requests))

    def __len__(self) -> int:
        return len(self._requests)
