"""Webhooks: verify that OpenAI sent a webhook, and parse ``realtime.call.incoming``.

OpenAI signs webhooks with the Standard Webhooks scheme: three headers,
``webhook-id``, ``webhook-timestamp`` (Unix seconds) and ``webhook-signature``
(one or more space-separated ``v1,<base64>`` entries, each an HMAC-SHA256 of
``"<id>.<timestamp>.<body>"`` keyed with the endpoint's secret, the base64
after ``whsec_``). :func:`unwrap_webhook` checks them, refuses a timestamp
more than five minutes off (a replayed request), and returns the event typed:
an :class:`IncomingCall` for a phone call, a :class:`WebhookEvent` for anything
else. Verify the *raw* body bytes exactly as received, before any JSON parsing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import secrets
import time
from email.message import Message
from typing import Any, Dict, List, Mapping, Optional, Tuple, Union

import attrs

from .errors import ProtocolError, RealtimeError

__all__ = [
    "DEFAULT_TOLERANCE_S",
    "INCOMING_CALL",
    "IncomingCall",
    "SipHeader",
    "WebhookEvent",
    "WebhookVerificationError",
    "sign_webhook",
    "unwrap_webhook",
    "verify_webhook",
]

DEFAULT_TOLERANCE_S = 300
"""How far (seconds) a webhook's timestamp may be from now, either way."""

INCOMING_CALL = "realtime.call.incoming"
"""The ``type`` of the webhook sent for an incoming SIP call."""

HeadersLike = Union[Mapping[str, str], Message]
"""Request headers: a mapping (any case) or ``http.server``'s ``self.headers``."""


class WebhookVerificationError(RealtimeError):
    """A webhook's signature, timestamp or headers did not check out: answer it with HTTP 400.

    The message says which check failed; it never contains the secret.
    """


@attrs.frozen
class SipHeader:
    """One header of the SIP ``INVITE``, as the caller's side sent it (untrusted)."""

    name: str
    value: str


@attrs.frozen
class IncomingCall:
    """A ``realtime.call.incoming`` webhook: a phone call waiting to be accepted or rejected.

    Attributes:
        id: the webhook event's id (``evt_...``): the same for a redelivery.
        call_id: pass it to :func:`~realtime_sync.calls.accept_call` /
            :func:`~realtime_sync.calls.reject_call`, then to ``connect(call_id=...)``.
        sip_headers: the ``INVITE``'s headers in order, repeats kept (SIP
            authorization headers left out). Caller-controlled: treat as untrusted.
        created_at: Unix seconds.
        sip_media_security: ``"srtp"``, ``"rtp"`` (unencrypted), another value
            the server added since, or ``None`` when unknown.
        data: the event's ``data`` object as sent.
    """

    id: str
    call_id: str
    sip_headers: Tuple[SipHeader, ...]
    created_at: int
    sip_media_security: Optional[str] = None
    data: Mapping[str, Any] = attrs.field(factory=dict, repr=False, eq=False)
    type: str = INCOMING_CALL

    def sip_header(self, name: str) -> Optional[str]:
        """The first value of the SIP header ``name`` (any case), or ``None``."""
        values = self.sip_header_values(name)
        return values[0] if values else None

    def sip_header_values(self, name: str) -> List[str]:
        """Every value of the SIP header ``name`` (any case), in order."""
        wanted = name.lower()
        return [h.value for h in self.sip_headers if h.name.lower() == wanted]

    @property
    def caller(self) -> Optional[str]:
        """The ``From`` header (``"<sip:+14155550123@...>;tag=..."``), or ``None``."""
        return self.sip_header("From")

    @property
    def callee(self) -> Optional[str]:
        """The ``To`` header: the number or address that was called, or ``None``."""
        return self.sip_header("To")


@attrs.frozen
class WebhookEvent:
    """A verified webhook of another type (``response.completed``, ``batch.failed``...)."""

    id: str
    type: str
    created_at: int
    data: Mapping[str, Any] = attrs.field(factory=dict, repr=False)


def _header_values(headers: HeadersLike) -> Dict[str, List[str]]:
    found: Dict[str, List[str]] = {}
    for name, value in headers.items():
        found.setdefault(str(name).lower(), []).append(str(value))
    return found


def _key(secret: Optional[str]) -> bytes:
    if secret is None:
        secret = os.environ.get("OPENAI_WEBHOOK_SECRET")
    if not secret:
        raise WebhookVerificationError(
            "no webhook secret: pass secret='whsec_...' (shown once when the webhook endpoint "
            "was created in the OpenAI dashboard) or set OPENAI_WEBHOOK_SECRET"
        )
    secret = secret.strip()
    if not secret.startswith("whsec_"):
        return secret.encode("utf-8")
    try:
        return base64.b64decode(secret[len("whsec_") :], validate=True)
    except (binascii.Error, ValueError):
        raise WebhookVerificationError(
            "the webhook secret is not valid: after 'whsec_' it must be base64; copy it again "
            "from the dashboard"
        ) from None


def _signature(key: bytes, webhook_id: str, timestamp: str, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    return base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode("ascii")


def _body_bytes(body: Union[bytes, bytearray, memoryview, str]) -> bytes:
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def verify_webhook(
    body: Union[bytes, str],
    headers: HeadersLike,
    *,
    secret: Optional[str] = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: Optional[float] = None,
) -> None:
    """Check that OpenAI sent this webhook, recently; raise otherwise.

    Args:
        body: the raw request body, exactly as received (bytes; a str is UTF-8 encoded).
        headers: the request headers (a mapping in any case, or ``http.server``'s).
        secret: the endpoint's signing secret, ``whsec_...``; default
            ``$OPENAI_WEBHOOK_SECRET``. Any of several space-separated ``v1``
            signatures may match (during a secret rotation there are two).
        tolerance_s: how far the timestamp may be from ``now``, either way.
        now: the current Unix time (default: the clock).

    Raises:
        WebhookVerificationError: a header is missing or malformed, the
            timestamp is outside the tolerance, or no signature matches.
    """
    key = _key(secret)
    values = _header_values(headers)
    missing = [
        h for h in ("webhook-id", "webhook-timestamp", "webhook-signature") if h not in values
    ]
    if missing:
        raise WebhookVerificationError(
            f"not a signed webhook: the {', '.join(missing)} header(s) are missing"
        )
    webhook_id = values["webhook-id"][0].strip()
    timestamp = values["webhook-timestamp"][0].strip()
    if not webhook_id:
        raise WebhookVerificationError("the webhook-id header is empty")
    if not timestamp.isdigit():
        raise WebhookVerificationError(
            "the webhook-timestamp header is not a Unix time in whole seconds"
        )
    current = time.time() if now is None else now
    age = current - int(timestamp)
    if age > tolerance_s:
        raise WebhookVerificationError(
            f"the webhook is {age:.0f} s old, more than the {tolerance_s:g} s allowed: a replay, "
            "or this machine's clock is off"
        )
    if -age > tolerance_s:
        raise WebhookVerificationError(
            f"the webhook's timestamp is {-age:.0f} s in the future, more than the "
            f"{tolerance_s:g} s allowed: check this machine's clock"
        )
    offered = [
        entry[3:]
        for line in values["webhook-signature"]
        for entry in line.split()
        if entry.startswith("v1,")
    ]
    if not offered:
        raise WebhookVerificationError(
            "the webhook-signature header has no v1 signature (v1,<base64>)"
        )
    expected = _signature(key, webhook_id, timestamp, _body_bytes(body)).encode("ascii")
    if not any(hmac.compare_digest(expected, sig.encode("utf-8")) for sig in offered):
        raise WebhookVerificationError(
            "no webhook signature matches: check that the secret is this endpoint's and that "
            "the body is passed exactly as received (raw bytes, before any JSON parsing)"
        )


def _require(data: Mapping[str, Any], name: str, kind: type, event_type: Optional[str]) -> Any:
    value = data.get(name)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ProtocolError(
            f"the webhook's {name!r} is missing or not a {kind.__name__}",
            event_type=event_type,
            field=name,
        )
    return value


def _parse(body: bytes) -> Union[IncomingCall, WebhookEvent]:
    try:
        event = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError("the webhook body is not JSON") from None
    if not isinstance(event, dict):
        raise ProtocolError("the webhook body is not a JSON object")
    kind = _require(event, "type", str, None)
    event_id = _require(event, "id", str, kind)
    created_at = _require(event, "created_at", int, kind)
    raw_data = event.get("data")
    data: Dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
    if kind != INCOMING_CALL:
        return WebhookEvent(id=event_id, type=kind, created_at=created_at, data=data)
    if not isinstance(raw_data, dict):
        raise ProtocolError("the webhook has no 'data' object", event_type=kind, field="data")
    call_id = _require(data, "call_id", str, kind)
    raw_headers = data.get("sip_headers") or []
    if not isinstance(raw_headers, list):
        raise ProtocolError("'sip_headers' is not a list", event_type=kind, field="sip_headers")
    headers = []
    for entry in raw_headers:
        if not isinstance(entry, dict):
            raise ProtocolError(
                "an entry of 'sip_headers' is not an object", event_type=kind, field="sip_headers"
            )
        name, value = entry.get("name"), entry.get("value")
        if not isinstance(name, str) or not isinstance(value, str):
            raise ProtocolError(
                "an entry of 'sip_headers' lacks a string name or value",
                event_type=kind,
                field="sip_headers",
            )
        headers.append(SipHeader(name=name, value=value))
    security = data.get("sip_media_security")
    return IncomingCall(
        id=event_id,
        call_id=call_id,
        sip_headers=tuple(headers),
        created_at=created_at,
        sip_media_security=security if isinstance(security, str) else None,
        data=data,
    )


def unwrap_webhook(
    body: Union[bytes, str],
    headers: HeadersLike,
    *,
    secret: Optional[str] = None,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: Optional[float] = None,
) -> Union[IncomingCall, WebhookEvent]:
    """Verify a webhook (see :func:`verify_webhook`) and return it typed.

    Returns:
        an :class:`IncomingCall` for ``realtime.call.incoming``, a
        :class:`WebhookEvent` for any other type.

    Raises:
        WebhookVerificationError: the signature does not check out (answer 400).
        ProtocolError: it does, but the body is not the event it says it is.
    """
    raw = _body_bytes(body)
    verify_webhook(raw, headers, secret=secret, tolerance_s=tolerance_s, now=now)
    return _parse(raw)


def sign_webhook(
    body: Union[bytes, str],
    *,
    secret: str,
    webhook_id: Optional[str] = None,
    timestamp: Optional[int] = None,
) -> Dict[str, str]:
    """The headers OpenAI would send with ``body``, signed with ``secret``: for tests.

    Use it to post a realistic webhook to your own server (the tests of the
    SIP example do). ``webhook_id`` defaults to a random ``wh_...`` id and
    ``timestamp`` to now.
    """
    raw = _body_bytes(body)
    webhook_id = webhook_id or f"wh_{secrets.token_hex(12)}"
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": stamp,
        "webhook-signature": "v1," + _signature(_key(secret), webhook_id, stamp, raw),
    }
