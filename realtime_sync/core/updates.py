"""The session settings of a Realtime session: asked for, in flight, accepted.

Sans IO, part of :class:`~realtime_sync.core.realtime.RealtimeSessionCore`.
Each ``session.update`` sends the whole config, so an update sent while an
earlier one is in flight carries that one's change too. When the server refuses
the earlier one, :class:`SessionUpdates` takes its change out of the settings,
and an update built on it is sent again with its own change alone (once per
refusal before it), instead of failing for a change it did not make.
"""

from __future__ import annotations

import collections
from typing import Any, Deque, Dict, List, Optional, Tuple

import attrs

from realtime_sync.errors import RealtimeError
from realtime_sync.models import SessionConfig, ToolDefinition
from realtime_sync.session_config import (
    forget_tool,
    rebase_settings,
    settings_delta,
    with_tools,
)

__all__ = ["ConfigRequest", "SessionUpdates"]


@attrs.define(eq=False)
class ConfigRequest:
    """A ``session.update`` (or the handshake's), with the settings it would make current."""

    base: SessionConfig
    tools: Dict[str, ToolDefinition]
    connect: bool = False
    event_id: Optional[str] = None
    delta: Dict[str, Any] = attrs.field(factory=dict)
    """The app's own change (see :func:`~realtime_sync.session_config.settings_delta`)."""
    rebased: bool = False
    """Sent again on the settings the server has, after an earlier update was refused."""


class SessionUpdates:
    """What the client asks the session to be, the updates in flight, what the server accepted.

    Args:
        config: the session config asked for at first (its ``tools`` are the
            session's own; tools added with :meth:`add_tool` come on top).
    """

    def __init__(self, config: SessionConfig) -> None:
        self.base = config
        """The settings asked for now, without the added tools."""
        self.tools: Dict[str, ToolDefinition] = {}
        """The tools the client answers itself, by name."""
        # The settings the server last accepted: a refused update falls back to them.
        self._confirmed: Tuple[SessionConfig, Dict[str, ToolDefinition]] = (config, {})
        # Updates sent and not answered yet, in wire order (the server answers in order).
        self._pending: Deque[Tuple[str, ConfigRequest]] = collections.deque()
        # In-flight updates sent after an update the server refused (they carry its change).
        self._built_on_refused: set[str] = set()

    @property
    def config(self) -> SessionConfig:
        """The config to send: the settings and every added tool."""
        return with_tools(self.base, list(self.tools.values()))

    def change(
        self, base: SessionConfig, requested: Optional[SessionConfig] = None
    ) -> Dict[str, Any]:
        """Make ``base`` the settings; returns the change made (see ``settings_delta``)."""
        before, self.base = self.base, base
        return settings_delta(before, base, requested=requested)

    def add_tool(self, definition: ToolDefinition) -> None:
        """Add a tool the client answers itself (refused if one has the name)."""
        if definition.name in self.tools:
            raise RealtimeError(
                f"tool {definition.name!r} is already added: remove_tool() it first"
            )
        self.tools[definition.name] = definition

    def remove_tool(self, name: str) -> Dict[str, Any]:
        """Remove an added tool; a ``tool_choice`` forcing it goes back to ``auto``."""
        if name not in self.tools:
            raise KeyError(f"no tool named {name!r} was added")
        del self.tools[name]
        return self.change(forget_tool(self.base, name))

    def request(
        self, delta: Optional[Dict[str, Any]] = None, *, connect: bool = False
    ) -> ConfigRequest:
        """A request for the current settings (``delta``: the change it carries)."""
        return ConfigRequest(
            base=self.base, tools=dict(self.tools), connect=connect, delta=delta or {}
        )

    def refresh(self, request: ConfigRequest) -> None:
        """Give a request not sent yet (the handshake's) the current settings."""
        request.base, request.tools = self.base, dict(self.tools)

    def sent(self, request_id: str, request: ConfigRequest) -> SessionConfig:
        """``request`` goes on the wire now; returns the config it sends."""
        self._pending.append((request_id, request))
        return with_tools(request.base, list(request.tools.values()))

    def accepted(self) -> Optional[Tuple[str, ConfigRequest]]:
        """``session.updated`` answered the oldest update in flight; returns it."""
        if not self._pending:
            return None
        request_id, request = self._pending.popleft()
        self._built_on_refused.discard(request_id)
        self._confirmed = (request.base, dict(request.tools))
        return request_id, request

    def refused(self, request_id: str, request: ConfigRequest) -> bool:
        """The server refused ``request``; returns True when it should be sent again.

        True when it was built on an update refused before it (its own change
        goes again, see :meth:`rebase`); otherwise its change is taken out of the
        settings, and the updates still in flight are marked as built on it.
        """
        self._drop(request_id)
        if request_id in self._built_on_refused and not request.connect:
            self._built_on_refused.discard(request_id)
            return True
        self._built_on_refused.discard(request_id)
        self._built_on_refused.update(pending_id for pending_id, _ in self._pending)
        self._revert()
        return False

    def rebase(self, request: ConfigRequest) -> None:
        """Put ``request``'s own change on the settings the server will have before it."""
        request.rebased = True
        below = self._pending[-1][1].base if self._pending else self._confirmed[0]
        request.base = rebase_settings(below, [request.delta])

    def connection_closed(self) -> None:
        """Nothing in flight is answered any more."""
        self._pending.clear()
        self._built_on_refused.clear()

    def _drop(self, request_id: str) -> None:
        self._pending = collections.deque(
            entry for entry in self._pending if entry[0] != request_id
        )

    def _revert(self) -> None:
        """The settings the server accepted, with the in-flight updates' own changes on top."""
        base, tools = self._confirmed
        self.tools = dict(tools)
        deltas: List[Dict[str, Any]] = []
        for _, pending in self._pending:
            deltas.append(pending.delta)
            self.tools = dict(pending.tools)
        self.base = rebase_settings(base, deltas)
