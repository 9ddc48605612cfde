"""Remote MCP tools: the config on the wire, typed items in the cache, the approval policy."""

from __future__ import annotations

import json
import threading
from typing import Any, Dict, List

import pytest

from realtime_sync import RealtimeClient, RealtimeEventType
from realtime_sync.mcp import (
    McpApproval,
    McpApprovalRequest,
    McpCall,
    McpListTools,
    McpTool,
    approval_response,
    mcp_item,
)
from realtime_sync.testing import RealtimeSimulator

openai_realtime = pytest.importorskip("openai.types.realtime")
pydantic = pytest.importorskip("pydantic")
T = RealtimeEventType


def test_the_mcp_tool_config_is_written_as_the_server_expects(sim: RealtimeSimulator) -> None:
    tool = McpTool(
        server_label="docs",
        server_url="https://mcp.example.com/sse",
        authorization="tok_secret",
        headers={"X-Team": "a"},
        allowed_tools=["search"],
        require_approval={"never": {"tool_names": ["search"]}},
    )
    assert "tok_secret" not in repr(tool)
    with RealtimeClient(url=sim.url) as client:
        client.update_session(tools=[tool])
        sent = [e for e in sim.received if e["type"] == "session.update"][-1]
        openai_realtime.SessionUpdateEvent.model_validate(sent)
        assert sent["session"]["tools"] == [
            {
                "type": "mcp",
                "server_label": "docs",
                "server_url": "https://mcp.example.com/sse",
                "authorization": "tok_secret",
                "headers": {"X-Team": "a"},
                "allowed_tools": ["search"],
                "require_approval": {"never": {"tool_names": ["search"]}},
            }
        ]
    with pytest.raises(ValueError, match="exactly one"):
        McpTool(server_label="x")


def _item_events(item: Dict[str, Any], response_id: str) -> List[Dict[str, Any]]:
    return [
        {
            "type": "response.output_item.added",
            "event_id": "e",
            "response_id": response_id,
            "output_index": 0,
            "item": {**item, "status": "in_progress"},
        },
        {
            "type": "conversation.item.added",
            "event_id": "e",
            "item": {**item, "status": "in_progress"},
        },
        {"type": "conversation.item.done", "event_id": "e", "item": item},
        {
            "type": "response.output_item.done",
            "event_id": "e",
            "response_id": response_id,
            "output_index": 0,
            "item": item,
        },
    ]


def _response(response_id: str, status: str, output: List[Dict[str, Any]]) -> Dict[str, Any]:
    return {"id": response_id, "object": "realtime.response", "status": status, "output": output}


def test_listing_calls_and_an_approval_round(sim: RealtimeSimulator) -> None:
    asked: List[McpApprovalRequest] = []
    with RealtimeClient(url=sim.url) as client:

        def policy(request: McpApprovalRequest) -> McpApproval:
            asked.append(request)
            return McpApproval(approve=request.params.get("q") == "ok", reason="checked")

        client.on_mcp_approval(policy)
        follow_up = threading.Event()
        client.on(T.CLIENT_ALL, lambda e: e.type == "response.create" and follow_up.set())
        listing = {
            "type": "mcp_list_tools",
            "id": "mcpl_1",
            "server_label": "docs",
            "tools": [{"name": "search", "input_schema": {"type": "object"}}],
        }
        call = {
            "type": "mcp_call",
            "id": "mcp_1",
            "server_label": "docs",
            "name": "search",
            "arguments": "",
            "output": None,
        }
        approval = {
            "type": "mcp_approval_request",
            "id": "mcpr_1",
            "server_label": "docs",
            "name": "delete",
            "arguments": json.dumps({"q": "ok"}),
        }
        done = client.wait_for(T.RESPONSE_DONE)
        events: List[Dict[str, Any]] = [
            {
                "type": "response.created",
                "event_id": "e",
                "response": _response("resp_m", "in_progress", []),
            }
        ]
        events += _item_events(listing, "resp_m")
        events += _item_events(call, "resp_m")[:2]
        events += [
            {
                "type": "response.mcp_call_arguments.delta",
                "event_id": "e",
                "response_id": "resp_m",
                "item_id": "mcp_1",
                "output_index": 0,
                "delta": '{"q": ',
            },
            {
                "type": "response.mcp_call_arguments.delta",
                "event_id": "e",
                "response_id": "resp_m",
                "item_id": "mcp_1",
                "output_index": 0,
                "delta": '"cats"}',
            },
        ]
        finished_call = {**call, "arguments": '{"q": "cats"}', "output": "3 results"}
        events += _item_events(finished_call, "resp_m")[2:]
        events += _item_events(approval, "resp_m")
        events.append(
            {
                "type": "response.done",
                "event_id": "e",
                "response": _response("resp_m", "completed", [listing, finished_call, approval]),
            }
        )
        server_event = pydantic.TypeAdapter(openai_realtime.RealtimeServerEvent)
        for event in events:
            server_event.validate_python(event)  # what the live server would send
            sim.send_event(event)
        done.result(timeout=10)
        answer = sim.wait_for_received("conversation.item.create", timeout=10)
        openai_realtime.ConversationItemCreateEvent.model_validate(answer)
        assert answer["item"].pop("id").startswith("mcpa_")
        assert answer["item"] == {
            "type": "mcp_approval_response",
            "approval_request_id": "mcpr_1",
            "approve": True,
            "reason": "checked",
        }
        assert follow_up.wait(10)  # one response to carry on, after the answer
        sim.wait_for_received("response.create", timeout=10)
        kinds = [e["type"] for e in sim.received]
        assert kinds.count("response.create") == 1
        assert kinds.index("conversation.item.create") < kinds.index("response.create")
        assert [a.name for a in asked] == ["delete"]
        typed = [mcp_item(i) for i in client.conversation.get_items()]
        listed = next(t for t in typed if isinstance(t, McpListTools))
        called = next(t for t in typed if isinstance(t, McpCall))
        assert [t.name for t in listed.tools] == ["search"]
        assert called.params == {"q": "cats"} and called.output == "3 results"
        cached_call = client.conversation.get_item("mcp_1")
        assert cached_call is not None and cached_call.formatted.tool is not None
        assert cached_call.formatted.tool.arguments == '{"q": "cats"}'


def test_without_a_policy_approval_requests_are_left_to_the_app(sim: RealtimeSimulator) -> None:
    with RealtimeClient(url=sim.url) as client:
        approval = {
            "type": "mcp_approval_request",
            "id": "mcpr_2",
            "server_label": "docs",
            "name": "delete",
            "arguments": "{}",
        }
        done = client.wait_for(T.RESPONSE_DONE)
        sim.send_event(
            {
                "type": "response.created",
                "event_id": "e",
                "response": _response("resp_n", "in_progress", []),
            }
        )
        for event in _item_events(approval, "resp_n"):
            sim.send_event(event)
        sim.send_event(
            {
                "type": "response.done",
                "event_id": "e",
                "response": _response("resp_n", "completed", [approval]),
            }
        )
        done.result(timeout=10)
        client.ask("anything else?", timeout=10)  # a round trip: nothing was answered for us
        assert not [
            e
            for e in sim.received
            if e["type"] == "conversation.item.create"
            and e["item"]["type"] == "mcp_approval_response"
        ]
        request = mcp_item(client.conversation.get_item("mcpr_2"))
        assert isinstance(request, McpApprovalRequest)
        reply = approval_response(request.id, False, item_id="mcpa_mine")  # the app's own answer
        assert reply.data == {
            "id": "mcpa_mine",
            "type": "mcp_approval_response",
            "approval_request_id": "mcpr_2",
            "approve": False,
        }
