"""Webhook signatures and ``realtime.call.incoming``, checked against openai-python.

Every verdict of :func:`unwrap_webhook` is compared with
``openai.OpenAI().webhooks.unwrap`` on the same bytes and headers.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any, Callable, Dict, Iterator, List, Optional

import pytest

from realtime_sync.errors import ProtocolError
from realtime_sync.webhooks import (
    IncomingCall,
    SipHeader,
    WebhookEvent,
    WebhookVerificationError,
    sign_webhook,
    unwrap_webhook,
    verify_webhook,
)

openai = pytest.importorskip("openai", reason="openai-python is the reference for webhooks")

SECRET_BYTES = b"realtime-sync-webhook-test-secret"
SECRET = "whsec_" + base64.b64encode(SECRET_BYTES).decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"some other endpoint's secret").decode()


def incoming(created_at: Optional[int] = None, **data: Any) -> bytes:
    payload = {
        "object": "event",
        "id": "evt_68de7ab1c2f08190a0c3e1bb4df6a2a7",
        "type": "realtime.call.incoming",
        "created_at": created_at or int(time.time()),
        "data": {
            "call_id": "rtc_u1_9c2a7f1e0b",
            "sip_headers": [
                {"name": "From", "value": '"Ada" <sip:+14155550100@sip.example.com>;tag=a1'},
                {"name": "To", "value": "<sip:+18005551212@sip.example.com>"},
                {"name": "Call-ID", "value": "03782086-4ce9-44bf-8b0d-4e303d2cc590"},
                {"name": "X-Tenant", "value": "north"},
                {"name": "x-tenant", "value": "south"},
            ],
            "sip_media_security": "srtp",
            **data,
        },
    }
    return json.dumps(payload).encode()


def reference(body: bytes, headers: Dict[str, str], secret: str = SECRET) -> Any:
    """openai-python's verdict: the event, or the exception it raised."""
    client = openai.OpenAI(api_key="sk-unused", webhook_secret=secret)
    try:
        return client.webhooks.unwrap(body, headers)
    except Exception as exc:
        return exc


def hand_signed(body: bytes, webhook_id: str, timestamp: int, key: bytes = SECRET_BYTES) -> str:
    """A signature computed here from the scheme's definition, independently of the SDK."""
    message = webhook_id.encode() + b"." + str(timestamp).encode() + b"." + body
    return "v1," + base64.b64encode(hmac.new(key, message, hashlib.sha256).digest()).decode()


def test_a_signed_incoming_call_unwraps_like_openai_python() -> None:
    body = incoming()
    headers = sign_webhook(body, secret=SECRET)
    call = unwrap_webhook(body, headers, secret=SECRET)
    assert isinstance(call, IncomingCall)
    theirs = reference(body, headers)
    assert not isinstance(theirs, Exception), theirs
    assert theirs.type == call.type == "realtime.call.incoming"
    assert (call.id, call.created_at, call.call_id) == (
        theirs.id,
        theirs.created_at,
        theirs.data.call_id,
    )
    assert [(h.name, h.value) for h in call.sip_headers] == [
        (h.name, h.value) for h in theirs.data.sip_headers
    ]
    assert call.sip_media_security == theirs.data.sip_media_security == "srtp"
    assert call.caller == '"Ada" <sip:+14155550100@sip.example.com>;tag=a1'
    assert call.callee == "<sip:+18005551212@sip.example.com>"
    assert call.sip_header("call-id") == "03782086-4ce9-44bf-8b0d-4e303d2cc590"
    assert call.sip_header_values("X-TENANT") == ["north", "south"]
    assert call.sip_header("Missing") is None
    assert SipHeader("To", "<sip:+18005551212@sip.example.com>") in call.sip_headers


def test_a_signature_made_from_the_definition_is_accepted_by_both() -> None:
    body = incoming()
    stamp = int(time.time())
    headers = {
        "webhook-id": "wh_hand_1",
        "webhook-timestamp": str(stamp),
        "webhook-signature": hand_signed(body, "wh_hand_1", stamp),
    }
    assert sign_webhook(body, secret=SECRET, webhook_id="wh_hand_1", timestamp=stamp) == headers
    verify_webhook(body, headers, secret=SECRET)
    assert not isinstance(reference(body, headers), Exception)
    # Header names in any case, as proxies and frameworks deliver them.
    verify_webhook(body, {k.upper(): v for k, v in headers.items()}, secret=SECRET)


def test_one_matching_signature_among_several_is_enough() -> None:
    body = incoming()
    stamp = int(time.time())
    old = hand_signed(body, "wh_rot", stamp, key=b"the previous secret")
    good = hand_signed(body, "wh_rot", stamp)
    headers = {
        "webhook-id": "wh_rot",
        "webhook-timestamp": str(stamp),
        "webhook-signature": f"{old} {good}",
    }
    verify_webhook(body, headers, secret=SECRET)
    assert not isinstance(reference(body, headers), Exception)
    headers["webhook-signature"] = old
    with pytest.raises(WebhookVerificationError, match="no webhook signature matches"):
        verify_webhook(body, headers, secret=SECRET)
    assert isinstance(reference(body, headers), openai.InvalidWebhookSignatureError)


def _cases() -> Dict[str, Callable[[bytes, Dict[str, str]], tuple]]:
    def tampered(body: bytes, h: Dict[str, str]) -> tuple:
        return body.replace(b"rtc_u1", b"rtc_u2"), h, SECRET, "no webhook signature matches"

    def wrong_secret(body: bytes, h: Dict[str, str]) -> tuple:
        return body, h, OTHER_SECRET, "no webhook signature matches"

    def too_old(body: bytes, h: Dict[str, str]) -> tuple:
        stamp = int(time.time()) - 301
        return body, sign_webhook(body, secret=SECRET, timestamp=stamp), SECRET, "old"

    def too_new(body: bytes, h: Dict[str, str]) -> tuple:
        stamp = int(time.time()) + 301
        return body, sign_webhook(body, secret=SECRET, timestamp=stamp), SECRET, "future"

    def missing_id(body: bytes, h: Dict[str, str]) -> tuple:
        return body, {k: v for k, v in h.items() if k != "webhook-id"}, SECRET, "webhook-id"

    def bad_stamp(body: bytes, h: Dict[str, str]) -> tuple:
        return body, {**h, "webhook-timestamp": "soon"}, SECRET, "whole seconds"

    def re_stamped(body: bytes, h: Dict[str, str]) -> tuple:  # the timestamp is signed too
        return body, {**h, "webhook-timestamp": str(int(time.time()) - 5)}, SECRET, "matches"

    return {
        f.__name__: f
        for f in (tampered, wrong_secret, too_old, too_new, missing_id, bad_stamp, re_stamped)
    }


@pytest.mark.parametrize("case", sorted(_cases()))
def test_forgeries_and_replays_are_refused_by_both(case: str) -> None:
    good = incoming()
    body, headers, secret, message = _cases()[case](
        good, sign_webhook(good, secret=SECRET, timestamp=int(time.time()) - 10)
    )
    with pytest.raises(WebhookVerificationError, match=message) as info:
        unwrap_webhook(body, headers, secret=secret)
    assert SECRET not in str(info.value) and SECRET[6:] not in str(info.value)
    # openai-python refuses it too (a ValueError for a missing header)
    assert isinstance(
        reference(body, headers, secret), (openai.InvalidWebhookSignatureError, ValueError)
    )


def test_the_tolerance_is_300_seconds_either_way_and_adjustable() -> None:
    body = incoming()
    now = 1_760_000_000
    for offset in (-299, 0, 299):
        headers = sign_webhook(body, secret=SECRET, timestamp=now + offset)
        verify_webhook(body, headers, secret=SECRET, now=now)
    headers = sign_webhook(body, secret=SECRET, timestamp=now - 400)
    with pytest.raises(WebhookVerificationError, match="400 s old"):
        verify_webhook(body, headers, secret=SECRET, now=now)
    verify_webhook(body, headers, secret=SECRET, now=now, tolerance_s=600)


def test_only_v1_signatures_count() -> None:
    body = incoming()
    headers = sign_webhook(body, secret=SECRET)
    headers["webhook-signature"] = headers["webhook-signature"].replace("v1,", "v1a,")
    with pytest.raises(WebhookVerificationError, match="no v1 signature"):
        verify_webhook(body, headers, secret=SECRET)


def test_the_secret_comes_from_the_environment_and_is_checked(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    body = incoming()
    headers = sign_webhook(body, secret=SECRET)
    monkeypatch.setenv("OPENAI_WEBHOOK_SECRET", SECRET)
    assert isinstance(unwrap_webhook(body, headers), IncomingCall)
    monkeypatch.delenv("OPENAI_WEBHOOK_SECRET")
    with pytest.raises(WebhookVerificationError, match="OPENAI_WEBHOOK_SECRET"):
        verify_webhook(body, headers)
    with pytest.raises(WebhookVerificationError, match="base64"):
        verify_webhook(body, headers, secret="whsec_not*base64!")
    # A secret without the whsec_ prefix is used as raw bytes, as openai-python does.
    raw = sign_webhook(body, secret="plain-secret")
    verify_webhook(body, raw, secret="plain-secret")
    assert not isinstance(reference(body, raw, "plain-secret"), Exception)


def test_other_event_types_unwrap_to_a_generic_event() -> None:
    body = json.dumps(
        {
            "object": "event",
            "id": "evt_2",
            "type": "response.completed",
            "created_at": 1760000000,
            "data": {"id": "resp_1"},
        }
    ).encode()
    event = unwrap_webhook(body, sign_webhook(body, secret=SECRET), secret=SECRET)
    assert isinstance(event, WebhookEvent)
    assert (event.type, event.id, dict(event.data)) == (
        "response.completed",
        "evt_2",
        {"id": "resp_1"},
    )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", None),
        (b"[1, 2]", None),
        (
            json.dumps({"type": "realtime.call.incoming", "id": "e", "created_at": 1}).encode(),
            "data",
        ),
        (incoming(call_id=None), "call_id"),
        (incoming(sip_headers=[{"name": "From"}]), "sip_headers"),
        (incoming(sip_headers="From: x"), "sip_headers"),
    ],
)
def test_a_signed_but_malformed_event_is_a_protocol_error(
    body: bytes, field: Optional[str]
) -> None:
    with pytest.raises(ProtocolError) as info:
        unwrap_webhook(body, sign_webhook(body, secret=SECRET), secret=SECRET)
    assert info.value.field == field


# --------------------------------------------------------------------------- over HTTP


@pytest.fixture
def webhook_server() -> Iterator[tuple]:
    """A stdlib http.server that unwraps each POST with the raw body and ``self.headers``."""
    received: List[Any] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                received.append(unwrap_webhook(body, self.headers, secret=SECRET))
                status = 200
            except WebhookVerificationError as exc:
                received.append(exc)
                status = 400
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/webhook", received
    server.shutdown()
    server.server_close()
    thread.join(5)


def _post(url: str, body: bytes, headers: Dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_http_server_headers_verify_as_delivered(webhook_server: tuple) -> None:
    url, received = webhook_server
    body = incoming()
    headers = {"Content-Type": "application/json", **sign_webhook(body, secret=SECRET)}
    assert _post(url, body, headers) == 200
    assert _post(url, body.replace(b"north", b"NORTH"), headers) == 400
    call, refusal = received
    assert isinstance(call, IncomingCall) and call.call_id == "rtc_u1_9c2a7f1e0b"
    assert isinstance(refusal, WebhookVerificationError)
