"""SIP phone calls: accept, reject, transfer and hang up, over the REST API.

When a phone call reaches your OpenAI SIP trunk, OpenAI sends your server a
``realtime.call.incoming`` webhook (verify and parse it with
:func:`realtime_sync.webhooks.unwrap_webhook`). Within seconds your server
either accepts the call with the session it should run (:func:`accept_call`)
or rejects it (:func:`reject_call`). Once accepted, attach a client to the
call's session over the WebSocket (``RealtimeClient(...).connect(call_id=...)``,
or ``RealtimeAPI.connect(call_id=...)``) to follow the conversation, run tools
and steer it; :func:`refer_call` transfers the caller elsewhere and
:func:`hangup_call` ends the call.

Every function posts to ``/realtime/calls/{call_id}/<action>`` under the
endpoint's API base with the standard library (no HTTP package needed). They
never follow a redirect, and the key never appears in an error.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Mapping, Optional, Union
from urllib.parse import quote

from . import protocol
from .endpoints import Credential, Endpoint, OpenAIEndpoint, _post_json
from .errors import RealtimeError
from .models import SessionConfig

__all__ = [
    "CallError",
    "accept_call",
    "hangup_call",
    "refer_call",
    "reject_call",
]

_DOING = {
    "accept": "accepting",
    "reject": "rejecting",
    "refer": "transferring (refer)",
    "hangup": "hanging up",
}
_REFER_URI = re.compile(r"(?:tel|sip|sips):\S+", re.I)


class CallError(RealtimeError):
    """A call-control request failed.

    Attributes:
        status: the HTTP status (``None`` when the server could not be reached).
        body: the response body (credentials redacted), when there was one.
        call_id: the call the request was about.
        action: ``"accept"``, ``"reject"``, ``"refer"`` or ``"hangup"``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: Optional[int] = None,
        body: Optional[str] = None,
        call_id: str = "",
        action: str = "",
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.call_id = call_id
        self.action = action


def _endpoint(endpoint: Optional[Endpoint], api_key: Optional[Credential]) -> Endpoint:
    if endpoint is not None and api_key is not None:
        raise RealtimeError(
            "pass endpoint= or api_key=, not both: the endpoint carries its own credentials"
        )
    return endpoint if endpoint is not None else OpenAIEndpoint(api_key=api_key)


def _post(
    action: str,
    call_id: str,
    body: Optional[Mapping[str, Any]],
    *,
    endpoint: Optional[Endpoint],
    api_key: Optional[Credential],
    timeout: float,
) -> None:
    if not isinstance(call_id, str) or not call_id.strip():
        raise RealtimeError(
            f"{action}: call_id must be the non-empty id from the realtime.call.incoming webhook"
        )
    target = _endpoint(endpoint, api_key)

    def error(message: str, *, status: Optional[int], body: Optional[str]) -> CallError:
        return CallError(message, status=status, body=body, call_id=call_id, action=action)

    _post_json(
        target,
        f"/realtime/calls/{quote(call_id, safe='')}/{action}",
        body,
        what=f"{_DOING[action]} call {call_id!r}",
        timeout=timeout,
        error=error,
    )


def accept_call(
    call_id: str,
    session: Union[SessionConfig, Mapping[str, Any], None] = None,
    *,
    endpoint: Optional[Endpoint] = None,
    api_key: Optional[Credential] = None,
    timeout: float = 10.0,
) -> None:
    """Accept an incoming SIP call and configure the session that answers it.

    Args:
        call_id: ``IncomingCall.call_id`` from the webhook.
        session: the session (model, instructions, voice, tools...), as a
            :class:`~realtime_sync.models.SessionConfig` or a dict in the
            wire's shape; ``"type": "realtime"`` is added when missing. ``None``
            accepts with the server's defaults.
        endpoint: where to send it (default: OpenAI with ``$OPENAI_API_KEY``).
        api_key: instead of ``endpoint``: OpenAI with this key.
        timeout: seconds for the HTTP request.

    Raises:
        CallError: the server refused (``status``, ``body``) or could not be reached.
        RealtimeRedirectError: the server answered with a redirect (never followed).
        RealtimeError: no API key, or a bad ``call_id``.
    """
    body: Dict[str, Any]
    if session is None:
        body = {"type": "realtime"}
    elif isinstance(session, SessionConfig):
        body = protocol.to_wire(session)
    elif isinstance(session, Mapping):
        body = dict(session)
        body.setdefault("type", "realtime")
    else:
        raise TypeError(f"session must be a SessionConfig or a dict, not {type(session).__name__}")
    if body.get("type") != "realtime":
        raise RealtimeError(
            f"a phone call needs a realtime session, not type={body.get('type')!r}: "
            "use SessionConfig(type='realtime') (the default)"
        )
    _post("accept", call_id, body, endpoint=endpoint, api_key=api_key, timeout=timeout)


def reject_call(
    call_id: str,
    *,
    status_code: Optional[int] = None,
    endpoint: Optional[Endpoint] = None,
    api_key: Optional[Credential] = None,
    timeout: float = 10.0,
) -> None:
    """Decline an incoming SIP call.

    Args:
        call_id: ``IncomingCall.call_id`` from the webhook.
        status_code: the SIP response code the caller gets (the server's
            default is 603 Decline; 486 Busy Here is another common choice).
        endpoint: where to send it (default: OpenAI with ``$OPENAI_API_KEY``).
        api_key: instead of ``endpoint``: OpenAI with this key.
        timeout: seconds for the HTTP request.

    Raises:
        CallError: the server refused (``status``, ``body``) or could not be reached.
        RealtimeError: a ``status_code`` outside 400-699, or a bad ``call_id``.
    """
    body: Dict[str, Any] = {}
    if status_code is not None:
        if isinstance(status_code, bool) or not isinstance(status_code, int):
            raise TypeError("status_code must be an int SIP response code, such as 486 or 603")
        if not 400 <= status_code <= 699:
            raise RealtimeError(
                f"status_code={status_code} is not a SIP rejection: use a final failure code "
                "between 400 and 699 (486 Busy Here, 603 Decline...)"
            )
        body["status_code"] = status_code
    _post("reject", call_id, body, endpoint=endpoint, api_key=api_key, timeout=timeout)


def refer_call(
    call_id: str,
    target_uri: str,
    *,
    endpoint: Optional[Endpoint] = None,
    api_key: Optional[Credential] = None,
    timeout: float = 10.0,
) -> None:
    """Transfer an active SIP call elsewhere (a SIP ``REFER``).

    Args:
        call_id: the call.
        target_uri: where to, as it should appear in the ``Refer-To`` header:
            ``"tel:+14155550123"`` or ``"sip:agent@example.com"``.
        endpoint: where to send it (default: OpenAI with ``$OPENAI_API_KEY``).
        api_key: instead of ``endpoint``: OpenAI with this key.
        timeout: seconds for the HTTP request.

    Raises:
        CallError: the server refused (``status``, ``body``) or could not be reached.
        RealtimeError: a ``target_uri`` that is not a ``tel:``, ``sip:`` or ``sips:`` URI.
    """
    if not isinstance(target_uri, str) or not _REFER_URI.fullmatch(target_uri.strip()):
        raise RealtimeError(
            "target_uri must be a tel:, sip: or sips: URI without spaces, such as "
            "'tel:+14155550123' or 'sip:agent@example.com'"
        )
    _post(
        "refer",
        call_id,
        {"target_uri": target_uri.strip()},
        endpoint=endpoint,
        api_key=api_key,
        timeout=timeout,
    )


def hangup_call(
    call_id: str,
    *,
    endpoint: Optional[Endpoint] = None,
    api_key: Optional[Credential] = None,
    timeout: float = 10.0,
) -> None:
    """End an active call (SIP or WebRTC).

    Args:
        call_id: the call.
        endpoint: where to send it (default: OpenAI with ``$OPENAI_API_KEY``).
        api_key: instead of ``endpoint``: OpenAI with this key.
        timeout: seconds for the HTTP request.

    Raises:
        CallError: the server refused (``status``, ``body``) or could not be reached.
    """
    _post("hangup", call_id, None, endpoint=endpoint, api_key=api_key, timeout=timeout)
