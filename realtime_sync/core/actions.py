"""What a session core asks its driver to do: the actions, shared by every protocol.

A core never performs I/O. Each call into it returns a list of these, and the
driver (the client, with its reader, dispatcher, tool workers and futures)
carries them out in order: :class:`Send` on the wire, :class:`Emit` to the
handlers, :class:`RunTool` on a worker, :class:`Resolve` / :class:`Fail` on the
future of the request they name, :class:`Recycle` by renewing the connection.
"""

from __future__ import annotations

from typing import Any, List, Optional, Union

import attrs

__all__ = ["Action", "Emit", "Fail", "Recycle", "Resolve", "RunTool", "Send"]


@attrs.frozen
class Send:
    """Send this client event (it already carries its ``event_id``)."""

    event: Any


@attrs.frozen
class Emit:
    """Deliver this utility event to the handlers, before the wire event's own handlers."""

    event: Any


@attrs.frozen
class RunTool:
    """Run the app's tool ``name`` with ``arguments`` (JSON text) for ``call_id``.

    ``deadline`` is the clock value (as passed to the core) by which the core
    wants an answer; the driver answers with a timeout output past it. It
    counts from the call's arrival, not from when a worker is free.
    """

    call_id: str
    name: str
    arguments: str
    deadline: Optional[float] = None
    timeout: Optional[float] = None
    """The seconds between the call's arrival and ``deadline``."""


@attrs.frozen
class Resolve:
    """The request ``request_id`` is answered with ``value``."""

    request_id: str
    value: Any


@attrs.frozen
class Fail:
    """The request ``request_id`` failed with ``error`` (raise it in the caller)."""

    request_id: str
    error: BaseException


@attrs.frozen
class Recycle:
    """Renew the connection now, between responses (the session reached its planned age)."""

    reason: str


Action = Union[Send, Emit, RunTool, Resolve, Fail, Recycle]
"""Anything a core may ask for."""

Actions = List[Action]
