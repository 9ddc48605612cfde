"""Responses as the session core tracks them, and the :class:`Turn` a request gets back.

A :class:`ResponseRequest` is what the app asked for (``ask()``,
``create_response()``); the server answers it with one response, plus one
follow-up response per round of automatically answered tool calls. Each
response the server creates becomes a :class:`ResponseRecord`, tied to the
request that asked for it (through a tag in its ``metadata``) or to none (a
response the server started itself, after voice activity).

Out-of-band responses (``conversation="none"``) are not part of the
conversation, so their items are assembled here, by a cache of their own.
"""

from __future__ import annotations

from typing import AbstractSet, Dict, List, Optional

import attrs

from realtime_sync.items import FormattedItem
from realtime_sync.models import (
    GenericItem,
    Item,
    ItemFunctionCall,
    ItemMessage,
    ItemRole,
    ItemStatus,
    Response,
    ResponseCreateParams,
    ResponseStatus,
)

from .conversation import ConversationCache

__all__ = [
    "REQUEST_TAG",
    "ResponseRecord",
    "ResponseRequest",
    "Turn",
    "build_turn",
    "out_of_band_input",
]

REQUEST_TAG = "realtime_sync_request"
"""The ``metadata`` key that ties a response to the request that asked for it."""


@attrs.define(eq=False)
class ResponseRequest:
    """One request for a response, from the moment it is asked until its turn is over."""

    params: Optional[ResponseCreateParams]
    out_of_band: bool = False
    state: str = "queued"
    """``queued`` (waiting for the active response to end), ``sent``, ``created``, ``done``."""
    interrupt: bool = False
    abandoned: bool = False
    records: List[ResponseRecord] = attrs.field(factory=list)
    event_id: Optional[str] = None
    """The ``event_id`` of the ``response.create`` on the wire, once sent."""


@attrs.define(eq=False)
class ResponseRecord:
    """One response the server created."""

    id: str
    request_id: Optional[str]
    out_of_band: bool
    response: Response
    item_ids: List[str] = attrs.field(factory=list)
    tool_calls: Dict[str, bool] = attrs.field(factory=dict)
    """Automatically run calls of this response: ``call_id`` -> answered."""
    done: bool = False
    follow_up_sent: bool = False
    cache: Optional[ConversationCache] = None
    """The out-of-band response's own items (``None`` for in-conversation responses)."""

    def waiting_for_tools(self) -> bool:
        """True while some of its tool calls are unanswered, or their follow-up is pending."""
        if not self.tool_calls:
            return False
        return not all(self.tool_calls.values()) or not self.follow_up_sent


@attrs.frozen
class Turn:
    """What :meth:`~realtime_sync.client.RealtimeClient.ask` returns: one request's answer.

    ``items`` holds the assistant messages and function calls of every response
    in the turn (the follow-up after automatically run tools included), in
    order, and never an item of another request's response. ``responses`` are
    the final states of those responses. An out-of-band turn
    (``conversation="none"``) holds items that are not in the conversation.
    """

    items: List[FormattedItem]
    responses: List[Response]
    out_of_band: bool = False
    function_calls: List[FormattedItem] = attrs.field(factory=list)
    """Function calls in the turn that the client did not answer itself: calls of manual
    tools (no handler added) and every call of an out-of-band response. Answer them
    yourself (see the tools guide)."""

    @property
    def status(self) -> Optional[ResponseStatus]:
        """How the turn ended: the status of its last response (``completed``, ``cancelled``,
        ``incomplete`` or ``failed``); ``None`` for a turn without responses."""
        return self.responses[-1].status if self.responses else None

    @property
    def response_ids(self) -> List[str]:
        """The ids of the turn's responses, in order (a tool follow-up comes after its call)."""
        return [r.id for r in self.responses if r.id]

    @property
    def text(self) -> str:
        """The assistant's words: message text, or audio transcripts."""
        parts = []
        for item in self.items:
            if item.role == ItemRole.ASSISTANT:
                parts.append(item.formatted.text or item.formatted.transcript)
        return "\n".join(p for p in parts if p)

    @property
    def audio(self) -> bytes:
        """The assistant's audio of the turn, PCM16 concatenated."""
        return b"".join(item.formatted.audio for item in self.items)


def build_turn(request: ResponseRequest, conversation: ConversationCache) -> Turn:
    """The :class:`Turn` of a finished request: its responses' items, nobody else's."""
    items: List[FormattedItem] = []
    calls: List[FormattedItem] = []
    for record in request.records:
        cache = record.cache or conversation
        for item_id in record.item_ids:
            item = cache.get_item(item_id)
            if item is None:
                continue
            items.append(item)
            wire = item.item
            if isinstance(wire, ItemFunctionCall) and (
                record.out_of_band or (wire.call_id or "") not in record.tool_calls
            ):
                calls.append(item)
    return Turn(
        items=items,
        responses=[r.response for r in request.records],
        out_of_band=request.out_of_band,
        function_calls=calls,
    )


def out_of_band_input(
    conversation: ConversationCache,
    message: ItemMessage,
    *,
    known: Optional[AbstractSet[str]] = None,
) -> List[Item]:
    """An out-of-band question's ``input``: references to the conversation so far, then it.

    Only items the server's conversation has (``known``, when given) are referenced:
    not one lost at a reconnect or being deleted.
    """
    refs: List[Item] = [
        GenericItem(type="item_reference", data={"type": "item_reference", "id": item.id})
        for item in conversation.get_items()
        if item.status in (ItemStatus.COMPLETED, ItemStatus.INCOMPLETE)
        and (known is None or item.id in known)
    ]
    return [*refs, message]
