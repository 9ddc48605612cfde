"""The Realtime session core: a sans-IO state machine of one Realtime API session.

In the spirit of h11 and wsproto: no sockets, no threads, no clock of its own.
The driver (:class:`~realtime_sync.client.RealtimeClient`) feeds it every
server event with :meth:`RealtimeSessionCore.receive` and every request of the
app with the request methods; each call returns the
:mod:`~realtime_sync.core.actions` to carry out, in order.

What it decides:

* the handshake: ``session.created`` -> the ``session.update`` of the config
  -> ``session.updated`` (-> the replay of the old conversation after a
  reconnect) -> ready;
* requests and their replies: every client event it sends carries an
  ``event_id``; an ``error`` naming one fails that request, never another;
* responses: every ``response.create`` carries a tag in its ``metadata``, so a
  response is tied to the request that asked for it; a response the server
  started itself (voice activity) belongs to no request. A request never gets
  another's response. No ``response.create`` goes out while a response is
  active in the conversation: it waits (or, on request, cancels the active one);
* tools: which calls run automatically, their deadlines counted from arrival,
  the one follow-up ``response.create`` once every output of a response is in;
* cancel and truncate, and what an abandoned request leaves behind;
* session recycling between responses, and the replay plan;
* the conversation cache (:class:`~realtime_sync.core.conversation.ConversationCache`).
"""

from __future__ import annotations

import collections
import enum
import json
import logging
from typing import Any, Callable, Deque, Dict, List, Optional, Tuple, Type, Union

import attrs

from realtime_sync import events as ev
from realtime_sync.errors import ConnectionClosedError, RealtimeError
from realtime_sync.mcp import McpApproval, approval_response
from realtime_sync.models import (
    GenericItem,
    Item,
    ItemFunctionCall,
    ItemFunctionCallOutput,
    ItemMessage,
    ItemStatus,
    RateLimit,
    RealtimeErrorDetails,
    ResponseCreateParams,
    ResponseStatus,
    SessionConfig,
    ToolDefinition,
    Usage,
)
from realtime_sync.utils import generate_id

from .actions import Action, Emit, Fail, Recycle, Resolve, RunTool, Send
from .cancel import cancel_actions, truncate_received
from .conversation import ConversationCache
from .errors import server_error
from .ledger import RequestLedger
from .replay import ReplayPlan, ReplayRun, plan_replay
from .responses import (
    REQUEST_TAG,
    ResponseRecord,
    ResponseRequest,
    build_turn,
    out_of_band_input,
)
from .updates import ConfigRequest, SessionUpdates

__all__ = ["MCP_APPROVAL", "HandshakeResult", "Phase", "RealtimeSessionCore"]

logger = logging.getLogger("realtime_sync")


class Phase(enum.Enum):
    """Where the session is in its life."""

    CLOSED = "closed"
    AWAITING_SESSION = "awaiting_session"
    """Connected; waiting for ``session.created``."""
    CONFIGURING = "configuring"
    """The config was sent; waiting for ``session.updated``."""
    REPLAYING = "replaying"
    """Re-creating the old conversation in a new session."""
    READY = "ready"


@attrs.frozen
class HandshakeResult:
    """What the connect request resolves with."""

    session: SessionConfig
    replayed: List[str] = attrs.field(factory=list)
    """Ids of the items re-created in the new session (after a reconnect)."""
    lost: List[str] = attrs.field(factory=list)
    """Ids of the items that could not be carried over."""
    replayed_as: Dict[str, str] = attrs.field(factory=dict)
    """How each replayed item was carried over (see :class:`.replay.ReplayPlan`)."""


_Request = Union[ConfigRequest, ResponseRequest]

MCP_APPROVAL = "mcp_approval"
"""The name RunTool actions carry for an MCP approval request (arguments: the request's JSON)."""


class RealtimeSessionCore:
    """One Realtime session's logic: events and requests in, actions out.

    Not thread-safe: the driver calls it under one lock.

    Args:
        conversation: the cache the core keeps current.
        config: the session config to ask for (its ``tools`` are the session's
            own tools; tools added with :meth:`add_tool` come on top).
        tool_timeout: seconds a tool may take, counted from the call's arrival.
        recycle_after: seconds after which the session is renewed between responses.
    """

    def __init__(
        self,
        *,
        conversation: ConversationCache,
        config: SessionConfig,
        tool_timeout: Optional[float] = 60.0,
        recycle_after: Optional[float] = None,
    ) -> None:
        self.conversation = conversation
        self.tool_timeout = tool_timeout
        self.recycle_after = recycle_after
        self.phase = Phase.CLOSED
        self._configure = True
        self._settings = SessionUpdates(config)
        self.session: Optional[SessionConfig] = None
        """The session as the server last reported it."""
        self.usage = Usage()
        """Token usage summed over this connection's responses."""
        self.rate_limits: List[RateLimit] = []
        self._ledger: RequestLedger[_Request] = RequestLedger("req")
        self._connect_request: Optional[str] = None
        self._opened_at = 0.0
        self._replay_plan: Optional[ReplayPlan] = None
        self._replay = ReplayRun()
        self._server_items: set[str] = set()  # items the server's conversation has now
        # Items the app asked the server to delete: a late echo of their creation
        # (sent before the server got the delete) must not bring them back.
        self._deleting: set[str] = set()
        self._queue: Deque[str] = collections.deque()  # response requests waiting to be sent
        self._in_flight: Optional[str] = None  # the in-conversation response.create on the wire
        self._active: Optional[str] = None  # the in-conversation response being generated
        self._records: Dict[str, ResponseRecord] = {}
        self._calls: Dict[str, str] = {}  # call_id -> response id
        self._approvals: set[str] = set()  # call ids that are MCP approval requests
        self.answers_mcp_approvals = False
        """True when the app answers MCP approval requests automatically (a policy is set)."""
        self._echoes_tags = False  # the server has echoed a request tag in this session
        self.lost_response: Optional[str] = None
        """The response that was being generated when the last connection closed."""
        self.lost_items: List[str] = []
        """Items of that response that will never finish."""
        self._reactions: Dict[Type[Any], Callable[[Any, float, List[Action]], None]] = {
            ev.SessionCreatedEvent: self._session_created,
            ev.SessionUpdatedEvent: self._session_updated,
            ev.ErrorEvent: self._error,
            ev.ResponseCreatedEvent: self._response_created,
            ev.ResponseOutputItemAddedEvent: self._output_item_added,
            ev.ConversationItemDoneEvent: self._item_done,
            ev.ConversationItemAddedEvent: self._item_added,
            ev.ConversationItemCreatedEvent: self._item_known,
            ev.ConversationItemDeletedEvent: self._item_deleted,
            ev.ResponseDoneEvent: self._response_done,
            ev.RateLimitsUpdatedEvent: self._rate_limits,
        }

    # ------------------------------------------------------------------ state

    @property
    def config(self) -> SessionConfig:
        """The config this client asks for: the session's settings and every added tool."""
        return self._settings.config

    @property
    def base_config(self) -> SessionConfig:
        """The config without the tools added with :meth:`add_tool`."""
        return self._settings.base

    @property
    def tools(self) -> Dict[str, ToolDefinition]:
        """The tools the client answers itself, by name."""
        return dict(self._settings.tools)

    @property
    def active_response(self) -> Optional[str]:
        """The id of the in-conversation response being generated, if any."""
        return self._active

    @property
    def is_ready(self) -> bool:
        """True once the session is configured (and replayed): app events may flow."""
        return self.phase is Phase.READY

    def is_busy(self) -> bool:
        """True while a response is active, asked for, queued, or waiting for tool outputs."""
        return (
            self._active is not None
            or self._in_flight is not None
            or bool(self._queue)
            or any(r.waiting_for_tools() for r in self._records.values())
        )

    # ------------------------------------------------------------------ connection

    def open(self, now: float, *, replay: bool = False, configure: bool = True) -> str:
        """A connection is being opened; returns the id of the connect request.

        It resolves with a :class:`HandshakeResult` once the session is
        configured (and, with ``replay``, the old conversation re-created).
        Without ``configure`` (attaching to a SIP call, whose session was set when
        it was accepted) it resolves at ``session.created`` and sends nothing.
        """
        self._configure = configure
        self.phase = Phase.AWAITING_SESSION
        self._opened_at = now
        self.session = None
        self.usage = self.usage if replay else Usage()
        self._echoes_tags = False
        self._replay_plan = plan_replay(self.conversation.get_items()) if replay else None
        self._connect_request = self._ledger.open(self._settings.request(connect=True))
        return self._connect_request

    def closed(self, now: float, reason: str = "the connection closed") -> List[Action]:
        """The connection closed: every open request fails; what was under way is lost."""
        actions: List[Action] = []
        self.phase = Phase.CLOSED
        self.lost_response = self._active
        self.lost_items = self.conversation.abandon_response(self._active)
        error = ConnectionClosedError(reason)
        for request_id in self._ledger:
            self._ledger.close(request_id)
            actions.append(Fail(request_id, error))
        self._settings.connection_closed()
        self._queue.clear()
        self._in_flight = self._active = self._connect_request = None
        self._records.clear()
        self._calls.clear()
        self._replay.clear()
        self._server_items.clear()
        self._deleting.clear()
        self.conversation.expect_replay([])
        return actions

    # ------------------------------------------------------------------ session config

    def update_session(
        self, base: SessionConfig, *, requested: Optional[SessionConfig] = None
    ) -> Tuple[Optional[str], List[Action]]:
        """Make ``base`` the session's settings; returns the request (``None`` if not sent).

        ``requested``: the settings the app named, applied to an empty config (so a
        value equal to the current one still counts as asked for). Before the
        session exists, nothing is sent: the handshake sends it.
        """
        return self._send_config(self._settings.change(base, requested))

    def add_tool(self, definition: ToolDefinition) -> Tuple[Optional[str], List[Action]]:
        """Answer calls of ``definition.name`` automatically; updates the session."""
        self._settings.add_tool(definition)
        return self._send_config()

    def remove_tool(self, name: str) -> Tuple[Optional[str], List[Action]]:
        """Stop answering ``name``; a ``tool_choice`` forcing it goes back to ``auto``."""
        return self._send_config(self._settings.remove_tool(name))

    def _send_config(
        self, delta: Optional[Dict[str, Any]] = None
    ) -> Tuple[Optional[str], List[Action]]:
        if self.phase in (Phase.CLOSED, Phase.AWAITING_SESSION):
            return None, []
        request = self._settings.request(delta)
        request_id = self._ledger.open(request)
        return request_id, [self._config_event(request_id, request)]

    def _config_event(self, request_id: str, request: ConfigRequest) -> Send:
        event_id = generate_id("evt_")
        request.event_id = event_id
        self._ledger.bind(request_id, event_id)
        config = self._settings.sent(request_id, request)
        audio = config.audio
        self.conversation.input_format = audio.input.format if audio and audio.input else None
        self.conversation.output_format = audio.output.format if audio and audio.output else None
        return Send(ev.SessionUpdateEvent(session=config, event_id=event_id))

    # ------------------------------------------------------------------ responses

    def request_response(
        self,
        params: Optional[ResponseCreateParams] = None,
        *,
        message: Optional[ItemMessage] = None,
        interrupt: bool = False,
    ) -> Tuple[str, List[Action]]:
        """Ask for a response (after adding ``message`` to the conversation, if given).

        Returns the request id: it resolves with the :class:`Turn` once the
        response, and every follow-up after automatically run tools, is done.
        In the conversation, the ``response.create`` waits until no other
        response is active; with ``interrupt`` the active one is cancelled
        first. Out-of-band requests (``params.conversation == "none"``) go at once.
        """
        out_of_band = params is not None and params.conversation == "none"
        request = ResponseRequest(params=params, out_of_band=out_of_band, interrupt=interrupt)
        request_id = self._ledger.open(request)
        actions: List[Action] = []
        if message is not None:
            event_id = generate_id("evt_")
            self._ledger.bind(request_id, event_id)
            actions.append(Send(ev.ConversationItemCreateEvent(item=message, event_id=event_id)))
        if interrupt and not out_of_band and self._active is not None:
            actions.append(Send(ev.ResponseCancelEvent(response_id=self._active)))
        if out_of_band:
            self._queue.appendleft(request_id)
        else:
            self._queue.append(request_id)
        self._pump(actions)
        return request_id, actions

    def abandon(self, request_id: str) -> List[Action]:
        """The caller gave up on a request (timeout, interrupt): stop what it still costs.

        A queued response is never sent; a response being generated is cancelled
        by id and its audio truncated at what was received; a request waiting
        for tools gets no follow-up.
        """
        request = self._ledger.get(request_id)
        actions: List[Action] = []
        if not isinstance(request, ResponseRequest):
            if request is not None:
                self._ledger.close(request_id)
            return actions
        request.abandoned = True
        if request_id in self._queue:
            self._queue.remove(request_id)
            self._ledger.close(request_id)
            return actions
        record = request.records[-1] if request.records else None
        if record is not None and not record.done:
            actions.append(Send(ev.ResponseCancelEvent(response_id=record.id)))
            if not record.out_of_band:
                actions.extend(truncate_received(self.conversation, record.item_ids))
        elif record is not None:
            self._ledger.close(request_id)
        # "sent": closed once its response arrives and is cancelled.
        return actions

    def cancel(self, item_id: Optional[str] = None, sample_count: int = 0) -> List[Action]:
        """Stop the response; with ``item_id``, truncate that item at ``sample_count``.

        See :func:`~realtime_sync.core.cancel.cancel_actions`. Raises
        :class:`RealtimeError` (nothing sent) for an item that cannot be cut.
        """
        if item_id is not None and self.conversation.get_item(item_id) is not None:
            if item_id not in self._server_items:
                raise RealtimeError(
                    f"cannot truncate item {item_id!r}: this session's conversation does not "
                    "have it (it was lost at a reconnect, or deleted)"
                )
            if self._replay.sources.get(item_id) in ("text", "transcript"):
                raise RealtimeError(
                    f"cannot truncate item {item_id!r}: after the reconnect the session has it "
                    "as text only (ReconnectedEvent.replayed_as)"
                )
        return cancel_actions(self.conversation, self._active, item_id, sample_count)

    def out_of_band_input(self, message: ItemMessage) -> List[Item]:
        """The ``input`` of an out-of-band question: the conversation so far, then ``message``.

        The model sees the context; neither the question nor its answer joins it.
        """
        return out_of_band_input(self.conversation, message, known=self._server_items)

    def _pump(self, actions: List[Action]) -> None:
        """Send the queued ``response.create`` events that may go now."""
        if self.phase is not Phase.READY:
            return
        while self._queue:
            request_id = self._queue[0]
            request = self._ledger.get(request_id)
            if not isinstance(request, ResponseRequest):
                self._queue.popleft()
                continue
            if not request.out_of_band and (self._active is not None or self._in_flight):
                return
            self._queue.popleft()
            actions.append(self._response_create(request_id, request))

    def _response_create(self, request_id: str, request: ResponseRequest) -> Send:
        params = request.params
        if request.records and params is not None and params.input is not None:
            params = attrs.evolve(params, input=None)  # a follow-up continues the conversation
        metadata = dict(params.metadata or {}) if params is not None else {}
        if len(metadata) < 16:
            metadata[REQUEST_TAG] = request_id
        else:
            logger.debug("16 metadata keys given: %s goes untagged", request_id)
        params = attrs.evolve(params or ResponseCreateParams(), metadata=metadata)
        event_id = generate_id("evt_")
        self._ledger.bind(request_id, event_id)
        request.state = "sent"
        request.event_id = event_id
        if not request.out_of_band:
            self._in_flight = request_id
        return Send(ev.ResponseCreateEvent(response=params, event_id=event_id))

    # ------------------------------------------------------------------ tools

    def tool_answered(self, call_id: str, output: str) -> List[Action]:
        """The app's tool (or its deadline) answered ``call_id``; the first answer wins."""
        record = self._records.get(self._calls.get(call_id, ""))
        if record is None or record.tool_calls.get(call_id) is not False:
            return []
        record.tool_calls[call_id] = True
        actions: List[Action] = []
        if self.phase is not Phase.CLOSED:
            item: Item = ItemFunctionCallOutput(call_id=call_id, output=output)
            if call_id in self._approvals:
                self._approvals.discard(call_id)
                item = _approval_item(call_id, output)
            actions.append(
                Send(ev.ConversationItemCreateEvent(item=item, event_id=generate_id("evt_")))
            )
        self._settle(record, actions)
        return actions

    def _maybe_run_tool(
        self, item: Any, response_id: Optional[str], now: float, actions: List[Action]
    ) -> None:
        """Run an automatic tool's call, or the approval policy on an MCP approval request."""
        if isinstance(item, GenericItem) and item.type == "mcp_approval_request":
            if not self.answers_mcp_approvals or not item.id:
                return  # no policy: the app answers it (see realtime_sync.mcp)
            key, name, arguments = item.id, MCP_APPROVAL, json.dumps(item.data)
        elif isinstance(item, ItemFunctionCall) and item.call_id:
            if item.status not in (None, ItemStatus.COMPLETED):
                return  # cut short
            if item.name not in self._settings.tools:
                return  # a manual tool: the app answers it
            key, name, arguments = item.call_id, item.name, item.arguments or "{}"
        else:
            return
        record = self._records.get(response_id or "")
        if record is None:
            record = self._record(response_id or key, None, False, None)
        if record.out_of_band or key in record.tool_calls:
            return
        record.tool_calls[key] = False
        self._calls[key] = record.id
        if name == MCP_APPROVAL:
            self._approvals.add(key)
        deadline = None if self.tool_timeout is None else now + self.tool_timeout
        actions.append(RunTool(key, name, arguments, deadline, self.tool_timeout))

    def _settle(self, record: ResponseRecord, actions: List[Action]) -> None:
        """A response is done, or one of its tools answered: follow up, or end the turn."""
        if not record.done:
            return
        request = self._ledger.get(record.request_id)
        if record.tool_calls:
            if not all(record.tool_calls.values()) or record.follow_up_sent:
                return
            record.follow_up_sent = True
            if isinstance(request, ResponseRequest) and request.abandoned:
                self._ledger.close(record.request_id or "")
                return
            if not isinstance(request, ResponseRequest):
                request = ResponseRequest(params=None)
                record.request_id = self._ledger.open(request)
            request.state = "queued"
            self._queue.appendleft(record.request_id or "")
            self._pump(actions)
            return
        if isinstance(request, ResponseRequest) and record.request_id is not None:
            self._ledger.close(record.request_id)
            request.state = "done"
            if not request.abandoned:
                actions.append(Resolve(record.request_id, build_turn(request, self.conversation)))

    # ------------------------------------------------------------------ server events

    def receive(self, event: Any, now: float) -> List[Action]:
        """Apply one server event (or the transport's close); returns the actions it calls for."""
        actions: List[Action] = []
        record = self._records.get(getattr(event, "response_id", None) or "")
        if record is not None and record.cache is not None:
            self._feed_out_of_band(record, event)
        else:
            actions.extend(Emit(u) for u in self.conversation.process(event))
        react = self._reactions.get(type(event))
        if react is not None:
            react(event, now, actions)
        return actions

    def _feed_out_of_band(self, record: ResponseRecord, event: Any) -> None:
        cache = record.cache
        assert cache is not None
        if isinstance(event, ev.ResponseOutputItemAddedEvent):
            cache.process(ev.ConversationItemAddedEvent(item=event.item))
        elif isinstance(event, ev.ResponseOutputItemDoneEvent):
            cache.process(ev.ConversationItemDoneEvent(item=event.item))
        else:
            cache.process(event)

    def _session_created(
        self, event: ev.SessionCreatedEvent, now: float, out: List[Action]
    ) -> None:
        self.session = event.session
        request = self._ledger.get(self._connect_request)
        if self.phase is Phase.AWAITING_SESSION and not self._configure:
            self._ready([], [], out)
            return
        if self.phase is Phase.AWAITING_SESSION and isinstance(request, ConfigRequest):
            self.phase = Phase.CONFIGURING
            self._settings.refresh(request)
            out.append(self._config_event(self._connect_request or "", request))

    def _session_updated(
        self, event: ev.SessionUpdatedEvent, now: float, out: List[Action]
    ) -> None:
        self.session = event.session
        answered = self._settings.accepted()
        if answered is None:
            return
        request_id, request = answered
        if not request.connect:
            self._ledger.close(request_id)
            out.append(Resolve(request_id, event.session))
            return
        plan, self._replay_plan = self._replay_plan, None
        creates = self._replay.start(plan)
        if not creates:
            self._ready([], self._replay.lost, out)
            return
        self.phase = Phase.REPLAYING  # the connect request stays open until the replay is in
        self.conversation.expect_replay([item.id for _, item in creates if item.id])
        for event_id, item in creates:
            out.append(Send(ev.ConversationItemCreateEvent(item=item, event_id=event_id)))

    def _replay_settled(self, item_id: str, rejected: bool, out: List[Action]) -> None:
        if self._replay.settle(item_id, rejected=rejected) and self.phase is Phase.REPLAYING:
            self.conversation.expect_replay([])
            self._ready(self._replay.replayed, self._replay.lost, out)

    def _ready(self, replayed: List[str], lost: List[str], out: List[Action]) -> None:
        self.phase = Phase.READY
        request_id, self._connect_request = self._connect_request, None
        if request_id is not None:
            self._ledger.close(request_id)
            session = self.session or self.config
            sources = {i: self._replay.sources[i] for i in replayed if i in self._replay.sources}
            out.append(Resolve(request_id, HandshakeResult(session, replayed, lost, sources)))
        self._pump(out)

    def _error(self, event: ev.ErrorEvent, now: float, out: List[Action]) -> None:
        details = event.error
        replayed_item = self._replay.item_of(details.event_id)
        if replayed_item is not None:
            self._replay_settled(replayed_item, True, out)
            return
        request_id = self._ledger.owner_of(details.event_id)
        if request_id is None:
            return
        request = self._ledger.get(request_id)
        if isinstance(request, ConfigRequest) and self._settings.refused(request_id, request):
            self._settings.rebase(request)  # refused for an earlier update's change
            out.append(self._config_event(request_id, request))
            return
        request = self._ledger.close(request_id)
        error = server_error(details)
        if isinstance(request, ConfigRequest):
            if request_id == self._connect_request:
                self._connect_request = None
        elif isinstance(request, ResponseRequest):
            if request_id in self._queue:
                self._queue.remove(request_id)
            if self._in_flight == request_id:
                self._in_flight = None
            if request.abandoned:
                return
        out.append(Fail(request_id, error))
        self._pump(out)

    def _record(
        self,
        response_id: str,
        request_id: Optional[str],
        out_of_band: bool,
        response: Any,
    ) -> ResponseRecord:
        record = ResponseRecord(
            id=response_id,
            request_id=request_id,
            out_of_band=out_of_band,
            response=response,
            cache=ConversationCache(audio_retention_s=None) if out_of_band else None,
        )
        if record.cache is not None:
            record.cache.output_format = self.conversation.output_format
        self._records[response_id] = record
        return record

    def _owner(self, metadata: Optional[Dict[str, str]]) -> Optional[str]:
        tag = (metadata or {}).get(REQUEST_TAG)
        if tag is not None:
            self._echoes_tags = True
            return tag if tag in self._ledger else None
        if self._echoes_tags:
            return None  # this server echoes tags: an untagged response is its own
        # A server that does not echo metadata: the oldest response.create on the wire.
        for request_id in self._ledger:
            request = self._ledger.get(request_id)
            if isinstance(request, ResponseRequest) and request.state == "sent":
                return request_id
        return None

    def _response_created(
        self, event: ev.ResponseCreatedEvent, now: float, out: List[Action]
    ) -> None:
        response = event.response
        response_id = response.id or generate_id("resp_")
        request_id = self._owner(response.metadata)
        request = self._ledger.get(request_id)
        owned = isinstance(request, ResponseRequest)
        out_of_band = owned and request.out_of_band  # type: ignore[union-attr]
        record = self._record(response_id, request_id if owned else None, out_of_band, response)
        if isinstance(request, ResponseRequest):
            request.records.append(record)
            request.state = "created"
            if request.abandoned:
                out.append(Send(ev.ResponseCancelEvent(response_id=response_id)))
        if self._in_flight is not None and self._in_flight == request_id:
            self._in_flight = None
        if not out_of_band:
            self._active = response_id

    def _output_item_added(
        self, event: ev.ResponseOutputItemAddedEvent, now: float, out: List[Action]
    ) -> None:
        record = self._records.get(event.response_id)
        if record is not None and event.item.id and event.item.id not in record.item_ids:
            record.item_ids.append(event.item.id)

    def _item_known(self, event: Any, now: float, out: List[Action]) -> None:
        if event.item.id and event.item.id not in self._deleting:
            self._server_items.add(event.item.id)

    def _item_deleted(
        self, event: ev.ConversationItemDeletedEvent, now: float, out: List[Action]
    ) -> None:
        self._server_items.discard(event.item_id)
        self._deleting.discard(event.item_id)

    def forget_item(self, item_id: str) -> None:
        """The app is deleting ``item_id``: from now on nothing refers to it."""
        self._server_items.discard(item_id)
        self._deleting.add(item_id)

    def _item_added(
        self, event: ev.ConversationItemAddedEvent, now: float, out: List[Action]
    ) -> None:
        self._item_known(event, now, out)
        if self.phase is Phase.REPLAYING and self._replay.waits_for(event.item.id):
            self._replay_settled(event.item.id or "", False, out)

    def _item_done(
        self, event: ev.ConversationItemDoneEvent, now: float, out: List[Action]
    ) -> None:
        self._item_known(event, now, out)
        if self.phase is Phase.REPLAYING and self._replay.waits_for(event.item.id):
            self._replay_settled(event.item.id or "", False, out)
            return
        cached = self.conversation.get_item(event.item.id or "")
        response_id = cached.response_id if cached is not None else None
        self._maybe_run_tool(event.item, response_id or self._active, now, out)

    def _response_done(self, event: ev.ResponseDoneEvent, now: float, out: List[Action]) -> None:
        response = event.response
        response_id = response.id or ""
        record = self._records.get(response_id)
        if record is None:  # its response.created was missed
            record = self._record(response_id, self._owner(response.metadata), False, response)
            request = self._ledger.get(record.request_id)
            if isinstance(request, ResponseRequest):
                request.records.append(record)
                record.out_of_band = request.out_of_band
        record.response = response
        for item in response.output or []:  # in case an output_item.added was missed
            if item.id and item.id not in record.item_ids:
                record.item_ids.append(item.id)
        if not record.out_of_band:
            # Calls whose conversation.item.done was missed still run (once).
            for item in response.output or []:
                if isinstance(item, (ItemFunctionCall, GenericItem)):
                    self._maybe_run_tool(item, response_id, now, out)
        if self._active == response_id:
            self._active = None
        if self._in_flight is not None and self._in_flight == record.request_id:
            self._in_flight = None
        if response.usage is not None:
            self.usage = self.usage + response.usage
        if response.status == ResponseStatus.FAILED:
            error = response.status_details.error if response.status_details else None
            out.append(
                Emit(
                    ev.SdkErrorEvent(
                        error=RealtimeErrorDetails(
                            type="response_failed",
                            code=(error.code if error else None) or "response_failed",
                            message=(error.message if error else "")
                            or f"response {response_id} failed",
                        )
                    )
                )
            )
        if record.out_of_band:
            calls = [
                i
                for i in (record.cache.get_items() if record.cache else [])
                if isinstance(i.item, ItemFunctionCall)
            ]
            if calls:
                out.append(Emit(ev.OutOfBandFunctionCallsEvent(response=response, calls=calls)))
        record.done = True
        self._settle(record, out)
        if record.done and not record.waiting_for_tools() and record.request_id not in self._ledger:
            self._records.pop(response_id, None)
        self._pump(out)
        self._maybe_recycle(now, out)

    def _rate_limits(self, event: ev.RateLimitsUpdatedEvent, now: float, out: List[Action]) -> None:
        self.rate_limits = list(event.rate_limits)

    def _maybe_recycle(self, now: float, out: List[Action]) -> None:
        if self.recycle_after is None or self.phase is not Phase.READY or self.is_busy():
            return
        if now - self._opened_at >= self.recycle_after:
            out.append(Recycle("session recycled before the server's time limit"))


def _approval_item(request_id: str, output: str) -> Item:
    """The ``mcp_approval_response`` for an approval policy's JSON answer (a failure denies)."""
    try:
        answer = json.loads(output)
    except ValueError:
        answer = {}
    approve = isinstance(answer, dict) and answer.get("approve") is True
    reason = answer.get("reason") if isinstance(answer, dict) else None
    if not approve and reason is None and isinstance(answer, dict) and "error" in answer:
        reason = f"not approved: {answer['error']}"
    return approval_response(request_id, McpApproval(approve=approve, reason=reason))
