"""SIP phone calls: a webhook server that answers calls to your OpenAI SIP trunk.

For every ``realtime.call.incoming`` webhook OpenAI sends, this server:

1. verifies the webhook's signature (``OPENAI_WEBHOOK_SECRET``) and parses it
   (``unwrap_webhook``); anything unsigned is answered 400;
2. accepts the call with the session that should answer it (``accept_call``);
3. attaches a ``RealtimeClient`` to the call on a thread of its own
   (``connect(call_id=...)``), which greets the caller, runs a tool, and can
   transfer the call (``refer_call``) or hang up (``hangup_call``).

The audio itself flows over SIP between the caller and OpenAI; the client
only follows and steers the conversation.

Run it::

    python examples/sip_server.py             # offline: one simulated call, local stubs
    OPENAI_API_KEY=sk-... OPENAI_WEBHOOK_SECRET=whsec_... python examples/sip_server.py --port 8000

For real calls, make port 8000 reachable from the internet over HTTPS (a
reverse proxy or a tunnel), and register its URL as a webhook of your OpenAI
project for the ``realtime.call.incoming`` event; its signing secret is the
``OPENAI_WEBHOOK_SECRET``.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import json
import os
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, List, Optional, Sequence, Set, Tuple

from _common import add_connection_args, open_client

from realtime_sync import (
    RealtimeError,
    RealtimeEventType,
    ResponseCreateParams,
    SessionConfig,
    Voice,
    protocol,
)
from realtime_sync.calls import CallError, accept_call, hangup_call, refer_call
from realtime_sync.endpoints import Endpoint, OpenAIEndpoint
from realtime_sync.errors import ConnectionClosedError, ProtocolError
from realtime_sync.models import AudioConfig, AudioOutputConfig
from realtime_sync.webhooks import (
    IncomingCall,
    WebhookVerificationError,
    sign_webhook,
    unwrap_webhook,
)

SESSION = SessionConfig(
    model="gpt-realtime",
    instructions=(
        "You answer the phone for Example Dental. Be warm and brief. Help callers book a "
        "visit with the book_visit tool; offer to transfer them to the front desk when you "
        "cannot help."
    ),
    audio=AudioConfig(output=AudioOutputConfig(voice=Voice.MARIN)),
)
GREETING = "Hello, thank you for calling Example Dental. How can I help you today?"
FRONT_DESK = "sip:front-desk@example.com"  # where transfer_to_front_desk sends the caller
MAX_CALL_S = 3600.0
MAX_BODY = 1_000_000


class CallServer(ThreadingHTTPServer):
    """The webhook endpoint: verifies each POST and hands incoming calls to ``on_call``."""

    daemon_threads = True

    def __init__(
        self,
        address: Tuple[str, int],
        *,
        secret: str,
        on_call: Callable[[IncomingCall], None],
    ) -> None:
        super().__init__(address, WebhookHandler)
        self.secret = secret
        self.on_call = on_call
        self.calls: List[threading.Thread] = []
        self._seen: Set[str] = set()
        self._lock = threading.Lock()

    def incoming(self, call: IncomingCall) -> None:
        """Answer ``call`` on a thread of its own, once (a redelivered webhook has the same id)."""
        with self._lock:
            if call.id in self._seen:
                return
            self._seen.add(call.id)
        thread = threading.Thread(
            target=self.on_call, args=(call,), name=f"sip-call-{call.call_id}", daemon=True
        )
        self.calls.append(thread)
        thread.start()


class WebhookHandler(BaseHTTPRequestHandler):
    """``POST /``: a webhook. Answers at once; the call is handled on its own thread."""

    server: CallServer

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 < length <= MAX_BODY:
            self._answer(413 if length else 400, "a webhook body of up to 1 MB is expected")
            return
        body = self.rfile.read(length)  # the raw bytes: the signature covers them exactly
        try:
            event = unwrap_webhook(body, self.headers, secret=self.server.secret)
        except (WebhookVerificationError, ProtocolError) as exc:
            print(f"refused a webhook: {exc}")
            self._answer(400, str(exc))
            return
        if isinstance(event, IncomingCall):
            print(f"incoming call {event.call_id} from {event.caller} to {event.callee}")
            self.server.incoming(event)  # only starts its thread: the answer stays quick
        self._answer(200, "")

    def _answer(self, status: int, message: str) -> None:
        data = message.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return  # quiet: the interesting lines are printed above


def answer_call(call: IncomingCall, args: argparse.Namespace, control: Endpoint) -> None:
    """Accept ``call`` and follow it with a client until it ends."""
    tag = f"[{call.call_id}]"
    try:
        accept_call(call.call_id, SESSION, endpoint=control)
    except RealtimeError as exc:
        print(f"{tag} could not accept the call: {exc}")
        return
    print(f"{tag} accepted")
    with open_client(args) as (client, sim):
        if sim is not None:
            sim.add_reply("", text=GREETING)
            # Offline, the simulator stands in for the accepted call and its session.
            sim.add_call(call.call_id, session=protocol.to_wire(SESSION))

        @client.tool
        def book_visit(day: str, reason: str) -> str:
            """Book a dental visit on the given day for the given reason."""
            print(f"{tag} booking a visit on {day}: {reason}")
            return json.dumps({"booked": True, "day": day})

        @client.tool
        def transfer_to_front_desk() -> str:
            """Transfer the caller to a person at the front desk."""
            refer_call(call.call_id, FRONT_DESK, endpoint=control)
            return "transferring"

        try:
            client.connect(call_id=call.call_id)  # attach to the call's session
            greeting = ResponseCreateParams(instructions="Greet the caller.")
            turn = client.create_response(greeting).result(timeout=60)
            print(f"{tag} assistant: {turn.text}")
            if sim is not None:  # offline: the simulated caller hangs up after the greeting
                hangup_call(call.call_id, endpoint=control)
                print(f"{tag} hung up")
                return
            ended = client.wait_for(RealtimeEventType.CLOSE)
            with contextlib.suppress(ConnectionClosedError):
                ended.result(timeout=MAX_CALL_S)  # OpenAI closes the WebSocket when the call ends
            print(f"{tag} ended")
        except (RealtimeError, TimeoutError) as exc:
            print(f"{tag} failed: {exc}")
            with contextlib.suppress(CallError):  # it may be over already
                hangup_call(call.call_id, endpoint=control)


# --------------------------------------------------------------------------- offline demo


class _CallControlStub(ThreadingHTTPServer):
    """A stand-in for OpenAI's call-control REST API: records each action, answers 200."""

    daemon_threads = True

    def __init__(self) -> None:
        self.actions: List[str] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.actions.append(self.path.rsplit("/", 1)[-1])
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        super().__init__(("127.0.0.1", 0), Handler)


def _simulate_incoming_call(url: str, secret: str) -> int:
    """POST a signed ``realtime.call.incoming`` to ``url``, as OpenAI would; the HTTP status."""
    body = json.dumps(
        {
            "object": "event",
            "id": f"evt_demo_{int(time.time())}",
            "type": "realtime.call.incoming",
            "created_at": int(time.time()),
            "data": {
                "call_id": "rtc_demo_0001",
                "sip_headers": [
                    {"name": "From", "value": "<sip:+14155550100@sip.example.com>;tag=demo"},
                    {"name": "To", "value": "<sip:+18005551212@sip.example.com>"},
                ],
            },
        }
    ).encode()
    headers = {"Content-Type": "application/json", **sign_webhook(body, secret=secret)}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return int(response.status)


def _serve_in_background(server: ThreadingHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, name="http", daemon=True)
    thread.start()
    return thread


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on")
    parser.add_argument(
        "--webhook-secret",
        default=os.environ.get("OPENAI_WEBHOOK_SECRET"),
        help="the webhook's signing secret, whsec_... (default: $OPENAI_WEBHOOK_SECRET)",
    )
    add_connection_args(parser)
    args = parser.parse_args(argv)
    offline = args.simulator or not (args.url or os.environ.get("OPENAI_API_KEY"))

    if not offline:
        if not args.webhook_secret:
            parser.error("set OPENAI_WEBHOOK_SECRET (or pass --webhook-secret whsec_...)")
        control = OpenAIEndpoint()  # call control with $OPENAI_API_KEY
        server = CallServer(
            (args.host, args.port),
            secret=args.webhook_secret,
            on_call=lambda call: answer_call(call, args, control),
        )
        print(f"Listening for webhooks on http://{args.host}:{server.server_address[1]}/")
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            print("stopping")
        finally:
            server.server_close()
        return 0

    # Offline: local stand-ins for OpenAI's call-control API, and one simulated call.
    print("Offline demo: a simulated incoming call (set OPENAI_API_KEY for real calls)")
    stub = _CallControlStub()
    _serve_in_background(stub)
    control = OpenAIEndpoint(api_key="", base_url=f"http://127.0.0.1:{stub.server_address[1]}/v1")
    secret = "whsec_" + base64.b64encode(b"offline demo secret").decode()
    server = CallServer(
        ("127.0.0.1", 0), secret=secret, on_call=lambda call: answer_call(call, args, control)
    )
    _serve_in_background(server)
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        status = _simulate_incoming_call(url, secret)
        print(f"webhook answered {status}")
        for thread in server.calls:
            thread.join(60)
        print(f"call control received: {', '.join(stub.actions)}")
        return 0 if stub.actions == ["accept", "hangup"] else 1
    finally:
        server.shutdown()
        server.server_close()
        stub.shutdown()
        stub.server_close()


if __name__ == "__main__":
    raise SystemExit(main())
