"""Remote MCP tools: the tool config, typed views of MCP items, and approval answers.

The Realtime API can call tools of a remote MCP server itself: declare the
server with :class:`McpTool` in ``update_session(tools=[...])``. The server
then adds ``mcp_list_tools`` and ``mcp_call`` items to the conversation (and,
when the server's tools require it, ``mcp_approval_request`` items that the
app must answer). The conversation cache keeps them as
:class:`~realtime_sync.models.GenericItem`; :func:`mcp_item` gives a typed
view (:class:`McpCall`, :class:`McpListTools`, :class:`McpApprovalRequest`),
and an MCP call's streamed arguments are assembled in ``formatted.tool``.

``client.on_mcp_approval(policy)`` answers approval requests automatically: the
policy (run on a tool worker) gets the :class:`McpApprovalRequest` and returns
``True``/``False`` or an :class:`McpApproval`; once every request of a response
is answered, one response is requested to carry on.
"""

from __future__ import annotations

import json
from typing import Any, Callable, Dict, List, Mapping, Optional, Sequence, Union

import attrs

from .models import GenericItem, GenericTool
from .utils import generate_id

__all__ = [
    "McpApproval",
    "McpApprovalPolicy",
    "McpApprovalRequest",
    "McpCall",
    "McpListTools",
    "McpTool",
    "McpToolInfo",
    "approval_response",
    "mcp_item",
]

ApprovalSetting = Union[str, Mapping[str, Any]]
"""``"always"``, ``"never"``, or a filter ``{"always": {...}, "never": {...}}``."""


@attrs.frozen
class McpTool:
    """A remote MCP server the model may call tools of (``{"type": "mcp", ...}`` in ``tools``).

    One of ``server_url``, ``connector_id`` (an OpenAI connector such as
    ``"connector_gmail"``) or ``tunnel_id`` names the server.
    ``allowed_tools`` limits the tools to those names (or a filter object);
    ``require_approval`` is ``"always"``, ``"never"`` or a filter object.
    ``authorization`` (an OAuth token) and ``headers`` go to the MCP server.
    """

    server_label: str
    server_url: Optional[str] = None
    connector_id: Optional[str] = None
    tunnel_id: Optional[str] = None
    server_description: Optional[str] = None
    authorization: Optional[str] = attrs.field(default=None, repr=False)
    headers: Optional[Mapping[str, str]] = attrs.field(default=None, repr=False)
    allowed_tools: Optional[Union[Sequence[str], Mapping[str, Any]]] = None
    require_approval: Optional[ApprovalSetting] = None

    def __attrs_post_init__(self) -> None:
        named = [n for n in (self.server_url, self.connector_id, self.tunnel_id) if n]
        if len(named) != 1:
            raise ValueError(
                f"MCP server {self.server_label!r}: give exactly one of server_url, "
                "connector_id or tunnel_id"
            )

    def to_wire(self) -> GenericTool:
        """The ``session.tools`` entry the server expects."""
        data: Dict[str, Any] = {"type": "mcp", "server_label": self.server_label}
        for key in ("server_url", "connector_id", "tunnel_id", "server_description"):
            value = getattr(self, key)
            if value is not None:
                data[key] = value
        if self.authorization is not None:
            data["authorization"] = self.authorization
        if self.headers is not None:
            data["headers"] = dict(self.headers)
        if self.allowed_tools is not None:
            allowed = self.allowed_tools
            data["allowed_tools"] = dict(allowed) if isinstance(allowed, Mapping) else list(allowed)
        if self.require_approval is not None:
            approval = self.require_approval
            data["require_approval"] = approval if isinstance(approval, str) else dict(approval)
        return GenericTool(type="mcp", data=data)


@attrs.frozen
class McpToolInfo:
    """One tool an MCP server offers (from ``mcp_list_tools``)."""

    name: str
    input_schema: Dict[str, Any] = attrs.field(factory=dict)
    description: Optional[str] = None
    annotations: Optional[Dict[str, Any]] = None


@attrs.frozen
class McpListTools:
    """An ``mcp_list_tools`` item: the tools a server offers."""

    id: str
    server_label: str
    tools: List[McpToolInfo]


@attrs.frozen
class McpCall:
    """An ``mcp_call`` item: a call the server made to an MCP tool, and its result."""

    id: str
    server_label: str
    name: str
    arguments: str
    output: Optional[str] = None
    error: Optional[Dict[str, Any]] = None
    approval_request_id: Optional[str] = None

    @property
    def params(self) -> Dict[str, Any]:
        """The arguments, parsed (``{}`` when they are not a JSON object)."""
        return _parse_arguments(self.arguments)


@attrs.frozen
class McpApprovalRequest:
    """An ``mcp_approval_request`` item: the model wants to run ``name`` with ``arguments``."""

    id: str
    server_label: str
    name: str
    arguments: str

    @property
    def params(self) -> Dict[str, Any]:
        """The arguments, parsed (``{}`` when they are not a JSON object)."""
        return _parse_arguments(self.arguments)


@attrs.frozen
class McpApproval:
    """An answer to an approval request, with an optional reason for the model."""

    approve: bool
    reason: Optional[str] = None


def _parse_arguments(arguments: str) -> Dict[str, Any]:
    try:
        value = json.loads(arguments or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


McpApprovalPolicy = Callable[[McpApprovalRequest], Union[bool, McpApproval]]
"""Decides an approval request: ``True``/``False`` or an :class:`McpApproval`."""

McpItem = Union[McpCall, McpListTools, McpApprovalRequest]


def mcp_item(item: Any) -> Optional[McpItem]:
    """The typed view of an MCP item (a ``GenericItem``, or a cached ``FormattedItem``).

    ``None`` for anything else. The arguments of a call still streaming come
    from the cache's ``formatted.tool`` when the item itself has none yet.
    """
    formatted = getattr(item, "formatted", None)
    wire = getattr(item, "item", item)
    if not isinstance(wire, GenericItem):
        return None
    data = wire.data
    kind = wire.type
    if kind == "mcp_list_tools":
        tools = [
            McpToolInfo(
                name=str(t.get("name", "")),
                input_schema=dict(t.get("input_schema") or {}),
                description=t.get("description"),
                annotations=t.get("annotations"),
            )
            for t in data.get("tools") or []
            if isinstance(t, dict)
        ]
        return McpListTools(
            id=str(data.get("id", "")), server_label=str(data.get("server_label", "")), tools=tools
        )
    streamed = formatted.tool.arguments if formatted is not None and formatted.tool else ""
    arguments = str(data.get("arguments") or streamed or "")
    if kind == "mcp_call":
        return McpCall(
            id=str(data.get("id", "")),
            server_label=str(data.get("server_label", "")),
            name=str(data.get("name", "")),
            arguments=arguments,
            output=data.get("output"),
            error=data.get("error"),
            approval_request_id=data.get("approval_request_id"),
        )
    if kind == "mcp_approval_request":
        return McpApprovalRequest(
            id=str(data.get("id", "")),
            server_label=str(data.get("server_label", "")),
            name=str(data.get("name", "")),
            arguments=arguments,
        )
    return None


def approval_response(
    request_id: str, answer: Union[bool, McpApproval], *, item_id: Optional[str] = None
) -> GenericItem:
    """The ``mcp_approval_response`` item that answers approval request ``request_id``.

    The item gets an id of its own (the API requires one) unless ``item_id`` is given.
    """
    decision = answer if isinstance(answer, McpApproval) else McpApproval(approve=bool(answer))
    data: Dict[str, Any] = {
        "type": "mcp_approval_response",
        "id": item_id or generate_id("mcpa_", 24),
        "approval_request_id": request_id,
        "approve": decision.approve,
    }
    if decision.reason is not None:
        data["reason"] = decision.reason
    return GenericItem(type="mcp_approval_response", data=data)
