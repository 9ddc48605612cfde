"""The simulated Responses backend of a session with ``delegation.type == "responses"``.

Its streaming events reach the client nested in ``response.event`` (with the
``delegation_id``); lifecycle snapshots (``response.created`` / ``completed`` /
``failed`` / ``incomplete``) have an EMPTY ``output``, no input, and cleared
instructions and tools, like the real service. A first response may call
functions; the application then sends one ``response.item.create`` with a
``function_call_output`` per call and exactly one ``response.create``, and the
backend answers with a message that the Live model speaks.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Dict, List, Optional

from realtime_sync.testing._ids import JSON, new_id

from ._script import DelegationRule
from ._wire import WireError

if TYPE_CHECKING:
    from ._session import LiveSession

__all__ = ["ResponsesBackend"]


@dataclass
class _Waiting:
    """A delegation whose function calls await their outputs."""

    delegation_id: str
    rule: DelegationRule
    call_ids: List[str]
    outputs: Dict[str, str] = field(default_factory=dict)


class ResponsesBackend:
    """Runs the scripted backend responses of one session (called under the session lock)."""

    def __init__(self, session: LiveSession) -> None:
        self._session = session
        self._waiting: Optional[_Waiting] = None
        self._seq = 0

    # -- entry points

    def delegate(self, delegation_id: str, rule: DelegationRule, offset_ms: int) -> None:
        """The model delegated a task matching ``rule``: announce it and stream the backend."""
        response_id = new_id("resp")
        self._session.emit(
            "session.delegation.created",
            delegation={
                "id": delegation_id,
                "target": "responses",
                "type": "delegation",
                "response_id": response_id,
            },
            offset_ms=offset_ms,
        )
        if rule.status != "completed":
            self._run(delegation_id, response_id, rule, text=rule.text, calls=False)
        elif rule.calls:
            self._run(delegation_id, response_id, rule, text=None, calls=True)
        else:
            self._run(delegation_id, response_id, rule, text=rule.text or "Done.", calls=False)

    def on_item_create(self, event: JSON) -> None:
        """``response.item.create``: record a function call output (other items are kept)."""
        self._require_responses()
        item: JSON = event["item"]
        if item.get("type") == "function_call_output":
            waiting = self._waiting
            call_id = item.get("call_id")
            if waiting is None or call_id not in waiting.call_ids:
                raise WireError(
                    f"No open function call with call_id '{call_id}'.",
                    code="invalid_value",
                    param="item.call_id",
                )
            output = item.get("output")
            waiting.outputs[str(call_id)] = output if isinstance(output, str) else str(output)

    def on_response_create(self, event: JSON) -> None:
        """``response.create``: continue the delegation once every call has its output."""
        self._require_responses()
        waiting = self._waiting
        if waiting is not None:
            missing = [c for c in waiting.call_ids if c not in waiting.outputs]
            if missing:
                raise WireError(
                    "Send a function_call_output for every open function call before "
                    f"response.create (missing: {', '.join(missing)}).",
                    code="function_call_outputs_required",
                )
            self._waiting = None
            outputs = [waiting.outputs[c] for c in waiting.call_ids]
            text = waiting.rule.answer(outputs)
            self._run(waiting.delegation_id, new_id("resp"), waiting.rule, text=text, calls=False)
            return
        self._run(None, new_id("resp"), None, text="OK.", calls=False)

    def _require_responses(self) -> None:
        if self._session.delegation_type != "responses":
            raise WireError(
                "response.item.create and response.create require Responses delegation.",
                code="responses_delegation_required",
            )

    # -- streaming

    def _send(self, delegation_id: Optional[str], nested: JSON) -> None:
        self._seq += 1
        nested["sequence_number"] = self._seq
        self._session.emit("response.event", event=nested, delegation_id=delegation_id)

    def _snapshot(self, response_id: str, status: str, **extra: Any) -> JSON:
        backend = (self._session.snapshot.get("delegation") or {}).get("responses") or {}
        snapshot: JSON = {
            "id": response_id,
            "object": "response",
            "created_at": int(time.time()),
            "model": str(backend.get("model", "gpt-5")),
            "status": status,
            "output": [],
            "instructions": None,
            "tools": [],
            "tool_choice": "auto",
            "parallel_tool_calls": bool(backend.get("parallel_tool_calls", True)),
            "error": None,
            "incomplete_details": None,
        }
        snapshot.update(extra)
        return snapshot

    def _run(
        self,
        delegation_id: Optional[str],
        response_id: str,
        rule: Optional[DelegationRule],
        *,
        text: Optional[str],
        calls: bool,
    ) -> None:
        send = self._send
        send(
            delegation_id,
            {"type": "response.created", "response": self._snapshot(response_id, "in_progress")},
        )
        send(
            delegation_id,
            {
                "type": "response.in_progress",
                "response": self._snapshot(response_id, "in_progress"),
            },
        )
        status = rule.status if rule is not None else "completed"
        if status == "failed":
            error = (rule.error if rule is not None else None) or {
                "code": "server_error",
                "message": "The backend response failed.",
            }
            send(
                delegation_id,
                {
                    "type": "response.failed",
                    "response": self._snapshot(response_id, "failed", error=error),
                },
            )
            return
        index = 0
        if calls and rule is not None:
            call_ids = []
            for call in rule.calls:
                call_id = new_id("call", 24)
                call_ids.append(call_id)
                self._function_call(delegation_id, index, call.name, call.arguments, call_id)
                index += 1
            self._waiting = _Waiting(delegation_id or "", rule, call_ids)
        elif text:
            words = text.split()
            if status == "incomplete":
                words = words[: max(0, len(words) // 2)]
            spoken = " ".join(words)
            self._message(delegation_id, index, words)
            if spoken:
                self._session.speak(spoken)
        if status == "incomplete":
            reason = rule.incomplete_reason if rule is not None else "max_output_tokens"
            send(
                delegation_id,
                {
                    "type": "response.incomplete",
                    "response": self._snapshot(
                        response_id, "incomplete", incomplete_details={"reason": reason}
                    ),
                },
            )
            return
        send(
            delegation_id,
            {"type": "response.completed", "response": self._snapshot(response_id, "completed")},
        )

    def _function_call(
        self, delegation_id: Optional[str], index: int, name: str, arguments: str, call_id: str
    ) -> None:
        item_id = new_id("fc")
        item: JSON = {
            "type": "function_call",
            "id": item_id,
            "call_id": call_id,
            "name": name,
            "arguments": "",
            "status": "in_progress",
        }
        self._send(
            delegation_id,
            {"type": "response.output_item.added", "output_index": index, "item": dict(item)},
        )
        self._send(
            delegation_id,
            {
                "type": "response.function_call_arguments.delta",
                "item_id": item_id,
                "output_index": index,
                "delta": arguments,
            },
        )
        self._send(
            delegation_id,
            {
                "type": "response.function_call_arguments.done",
                "item_id": item_id,
                "output_index": index,
                "name": name,
                "arguments": arguments,
            },
        )
        item.update(arguments=arguments, status="completed")
        self._send(
            delegation_id,
            {"type": "response.output_item.done", "output_index": index, "item": item},
        )

    def _message(self, delegation_id: Optional[str], index: int, words: List[str]) -> None:
        item_id = new_id("msg")
        text = " ".join(words)
        item: JSON = {
            "type": "message",
            "id": item_id,
            "role": "assistant",
            "status": "in_progress",
            "content": [],
        }
        part: JSON = {"type": "output_text", "text": "", "annotations": []}
        where = {"item_id": item_id, "output_index": index, "content_index": 0}
        self._send(
            delegation_id,
            {"type": "response.output_item.added", "output_index": index, "item": dict(item)},
        )
        self._send(
            delegation_id, {"type": "response.content_part.added", **where, "part": dict(part)}
        )
        for i, word in enumerate(words):
            self._send(
                delegation_id,
                {
                    "type": "response.output_text.delta",
                    **where,
                    "delta": word if i == 0 else " " + word,
                    "logprobs": [],
                },
            )
        self._send(
            delegation_id,
            {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        )
        part["text"] = text
        self._send(delegation_id, {"type": "response.content_part.done", **where, "part": part})
        item.update(status="completed", content=[part])
        self._send(
            delegation_id,
            {"type": "response.output_item.done", "output_index": index, "item": item},
        )
