"""SIP call control over REST, against local stub HTTP servers on 127.0.0.1.

Every request body is compared with what openai-python sends for the same
call (its client pointed at the same stub), and validated against its param
types.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from realtime_sync import RealtimeError, SessionConfig, Voice, create_client_secret
from realtime_sync.calls import CallError, accept_call, hangup_call, refer_call, reject_call
from realtime_sync.endpoints import AzureEndpoint, OpenAIEndpoint
from realtime_sync.errors import RealtimeRedirectError
from realtime_sync.models import AudioConfig, AudioOutputConfig, ToolDefinition

from .test_endpoints import (
    ConnectProxy,
    clean_proxy_environment,
    header_of,
    make_localhost_tls,
    request_line,
)

openai = pytest.importorskip("openai", reason="openai-python is the reference for the bodies")
pydantic = pytest.importorskip("pydantic")

KEY = "sk-calls-test-key-000001"


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_proxy_environment(monkeypatch)


class RestStub:
    """An HTTP server on 127.0.0.1 that records each request and answers ``status``/``answer``."""

    def __init__(self, tls: Optional[ssl.SSLContext] = None) -> None:
        self.requests: List[Dict[str, Any]] = []
        self.status = 200
        self.answer = b""
        self.headers: Dict[str, str] = {}
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                stub.requests.append(
                    {
                        "path": self.path,
                        "headers": {k.lower(): v for k, v in self.headers.items()},
                        "body": json.loads(raw) if raw else None,
                    }
                )
                self.send_response(stub.status)
                for name, value in stub.headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(stub.answer)))
                self.end_headers()
                self.wfile.write(stub.answer)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self._server = HTTPServer(("127.0.0.1", 0), Handler)
        if tls is not None:
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)


@pytest.fixture
def stub() -> Iterator[RestStub]:
    server = RestStub()
    yield server
    server.close()


def ours(stub: RestStub) -> OpenAIEndpoint:
    return OpenAIEndpoint(api_key=KEY, base_url=stub.base)


def theirs(stub: RestStub) -> Any:
    return openai.OpenAI(api_key=KEY, base_url=stub.base, max_retries=0, timeout=10)


def valid(params: Any, body: Dict[str, Any]) -> None:
    """``body`` fits openai-python's TypedDict ``params``: types, and no unknown keys."""
    pydantic.TypeAdapter(params).validate_python(body)
    allowed = set(params.__annotations__)
    assert set(body) <= allowed, f"keys openai-python does not know: {set(body) - allowed}"


SESSION = SessionConfig(
    model="gpt-realtime",
    instructions="You answer the phone for Example Dental. Be brief.",
    audio=AudioConfig(output=AudioOutputConfig(voice=Voice.MARIN)),
    tools=[
        ToolDefinition(
            name="book_appointment",
            description="Book a visit.",
            parameters={"type": "object", "properties": {"day": {"type": "string"}}},
        )
    ],
    tool_choice="auto",
    max_output_tokens="inf",
)


def test_accept_sends_what_openai_python_sends(stub: RestStub) -> None:
    from openai.types.realtime.call_accept_params import CallAcceptParams

    accept_call("rtc_u1_abc", SESSION, endpoint=ours(stub))
    from realtime_sync import protocol

    wire = protocol.to_wire(SESSION)
    theirs(stub).realtime.calls.accept("rtc_u1_abc", **wire)
    mine, reference = stub.requests
    assert mine["path"] == reference["path"] == "/v1/realtime/calls/rtc_u1_abc/accept"
    assert mine["body"] == reference["body"] == wire
    assert mine["body"]["type"] == "realtime"
    valid(CallAcceptParams, mine["body"])
    assert mine["headers"]["authorization"] == f"Bearer {KEY}"
    assert mine["headers"]["content-type"] == "application/json"


def test_accept_takes_a_dict_or_nothing(stub: RestStub) -> None:
    from openai.types.realtime.call_accept_params import CallAcceptParams

    accept_call("rtc_1", {"instructions": "Hi.", "model": "gpt-realtime"}, endpoint=ours(stub))
    accept_call("rtc_2", endpoint=ours(stub))
    first, second = (r["body"] for r in stub.requests)
    assert first == {"instructions": "Hi.", "model": "gpt-realtime", "type": "realtime"}
    assert second == {"type": "realtime"}
    for body in (first, second):
        valid(CallAcceptParams, body)
    with pytest.raises(RealtimeError, match="realtime session"):
        accept_call("rtc_3", SessionConfig(type="transcription"), endpoint=ours(stub))
    with pytest.raises(TypeError):
        accept_call("rtc_3", "gpt-realtime", endpoint=ours(stub))  # type: ignore[arg-type]
    assert len(stub.requests) == 2


def test_reject_refer_and_hangup_send_what_openai_python_sends(stub: RestStub) -> None:
    from openai.types.realtime.call_refer_params import CallReferParams
    from openai.types.realtime.call_reject_params import CallRejectParams

    client = theirs(stub)
    pairs = [
        (
            lambda: reject_call("rtc_a", endpoint=ours(stub)),
            lambda: client.realtime.calls.reject("rtc_a"),
        ),
        (
            lambda: reject_call("rtc_a", status_code=486, endpoint=ours(stub)),
            lambda: client.realtime.calls.reject("rtc_a", status_code=486),
        ),
        (
            lambda: refer_call("rtc_a", "tel:+14155550123", endpoint=ours(stub)),
            lambda: client.realtime.calls.refer("rtc_a", target_uri="tel:+14155550123"),
        ),
        (
            lambda: hangup_call("rtc_a", endpoint=ours(stub)),
            lambda: client.realtime.calls.hangup("rtc_a"),
        ),
    ]
    for mine, reference in pairs:
        mine()
        reference()
    recorded = stub.requests
    for index in range(0, len(recorded), 2):
        mine_request, reference_request = recorded[index], recorded[index + 1]
        assert mine_request["path"] == reference_request["path"]
        assert mine_request["body"] == reference_request["body"]  # {} or none, as they do
    paths = [r["path"] for r in recorded[::2]]
    assert paths == [
        "/v1/realtime/calls/rtc_a/reject",
        "/v1/realtime/calls/rtc_a/reject",
        "/v1/realtime/calls/rtc_a/refer",
        "/v1/realtime/calls/rtc_a/hangup",
    ]
    valid(CallRejectParams, recorded[2]["body"])
    assert recorded[2]["body"] == {"status_code": 486}
    valid(CallReferParams, recorded[4]["body"])
    assert recorded[4]["body"] == {"target_uri": "tel:+14155550123"}


def test_a_call_id_cannot_escape_its_path(stub: RestStub) -> None:
    hangup_call("../../files/x?y=1", endpoint=ours(stub))
    (request,) = stub.requests
    assert request["path"] == "/v1/realtime/calls/..%2F..%2Ffiles%2Fx%3Fy%3D1/hangup"


def test_arguments_are_checked_before_any_request(stub: RestStub) -> None:
    with pytest.raises(RealtimeError, match="call_id"):
        accept_call("", endpoint=ours(stub))
    with pytest.raises(RealtimeError, match="between 400 and 699"):
        reject_call("rtc_1", status_code=200, endpoint=ours(stub))
    with pytest.raises(TypeError):
        reject_call("rtc_1", status_code="486", endpoint=ours(stub))  # type: ignore[arg-type]
    for bad in ("+14155550123", "tel:+1 415", "http://example.com", ""):
        with pytest.raises(RealtimeError, match="tel:, sip: or sips:"):
            refer_call("rtc_1", bad, endpoint=ours(stub))
    with pytest.raises(RealtimeError, match="not both"):
        hangup_call("rtc_1", endpoint=ours(stub), api_key=KEY)
    assert stub.requests == []


def test_refusals_are_call_errors_with_status_and_a_redacted_body(stub: RestStub) -> None:
    stub.status = 404
    stub.answer = json.dumps(
        {"error": {"message": f"Call not found (key {KEY})", "type": "invalid_request_error"}}
    ).encode()
    with pytest.raises(CallError) as info:
        accept_call("rtc_gone", SESSION, endpoint=ours(stub))
    error = info.value
    assert (error.status, error.call_id, error.action) == (404, "rtc_gone", "accept")
    assert "Call not found" in str(error) and "HTTP 404" in str(error)
    assert "expire" in str(error)  # says what probably happened
    assert error.body is not None and "Call not found" in error.body
    assert KEY not in str(error) + (error.body or "") + repr(error)
    assert isinstance(error, RealtimeError)


def test_an_unreachable_server_is_a_call_error_without_status() -> None:
    stub = RestStub()
    base = stub.base
    stub.close()
    with pytest.raises(CallError, match="could not reach") as info:
        hangup_call("rtc_1", endpoint=OpenAIEndpoint(api_key=KEY, base_url=base), timeout=5)
    assert info.value.status is None and KEY not in str(info.value)


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_call_control_never_follows_a_redirect(status: int, stub: RestStub) -> None:
    elsewhere = RestStub()
    try:
        stub.status = status
        stub.headers = {"Location": f"{elsewhere.base}/realtime/calls/rtc_1/accept"}
        with pytest.raises(RealtimeRedirectError) as info:
            accept_call("rtc_1", endpoint=ours(stub))
    finally:
        elsewhere.close()
    assert elsewhere.requests == []
    assert info.value.status == status and KEY not in str(info.value)


def test_azure_call_control_uses_its_base_and_credentials(stub: RestStub) -> None:
    root = f"http://127.0.0.1:{stub.port}"
    accept_call("rtc_z", endpoint=AzureEndpoint(base_url=root, api_key="azure-key-02"))
    tokens = iter(["eyJ-a", "eyJ-b"])
    entra = AzureEndpoint(base_url=root, token_provider=lambda: next(tokens))
    hangup_call("rtc_z", endpoint=entra)
    refer_call("rtc_z", "sip:desk@example.com", endpoint=entra)
    first, second, third = stub.requests
    assert first["path"] == "/openai/v1/realtime/calls/rtc_z/accept"
    assert first["headers"]["api-key"] == "azure-key-02" and "authorization" not in first["headers"]
    assert second["headers"]["authorization"] == "Bearer eyJ-a"
    assert third["headers"]["authorization"] == "Bearer eyJ-b"


def test_rest_calls_go_through_the_environment_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    proxy = ConnectProxy(answer=b"")
    try:
        monkeypatch.setenv("HTTP_PROXY", f"http://carol:pa%24%24@127.0.0.1:{proxy.port}")
        endpoint = OpenAIEndpoint(api_key=KEY, base_url="http://127.0.0.1:9/v1")
        refer_call("rtc_p", "sip:desk@example.com", endpoint=endpoint)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        with pytest.raises(CallError, match="could not reach"):  # directly to port 9: nothing
            hangup_call("rtc_p", endpoint=endpoint, timeout=5)
    finally:
        proxy.close()
    (request,) = proxy.requests
    assert request_line(request) == "POST http://127.0.0.1:9/v1/realtime/calls/rtc_p/refer HTTP/1.1"
    assert header_of(request, "Proxy-Authorization") == "Basic Y2Fyb2w6cGEkJA=="  # carol:pa$$
    assert request.endswith(b'{"target_uri": "sip:desk@example.com"}')


def test_https_rest_with_an_ssl_context_through_a_connect_proxy(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    server_context, cert = make_localhost_tls(tmp_path)
    secure = RestStub(tls=server_context)
    proxy = ConnectProxy()
    try:
        base = f"https://localhost:{secure.port}/v1"
        with pytest.raises(CallError, match=r"(?i)certificate"):
            hangup_call("rtc_t", endpoint=OpenAIEndpoint(api_key=KEY, base_url=base))
        trusting = ssl.create_default_context(cafile=str(cert))
        monkeypatch.setenv("HTTPS_PROXY", proxy.url)
        endpoint = OpenAIEndpoint(api_key=KEY, base_url=base, ssl_context=trusting)
        hangup_call("rtc_t", endpoint=endpoint)
    finally:
        secure.close()
        proxy.close()
    assert proxy.targets == [f"localhost:{secure.port}"]
    assert [r["path"] for r in secure.requests] == ["/v1/realtime/calls/rtc_t/hangup"]


def test_a_socks_proxy_is_refused_for_rest_calls(stub: RestStub) -> None:
    endpoint = OpenAIEndpoint(api_key=KEY, base_url=stub.base, proxy="socks5://127.0.0.1:1080")
    with pytest.raises(RealtimeError, match="WebSocket only"):
        hangup_call("rtc_1", endpoint=endpoint)
    assert stub.requests == []


def test_client_secrets_can_use_an_endpoint(stub: RestStub) -> None:
    stub.answer = json.dumps({"value": "ek_123", "expires_at": 1}).encode()
    root = f"http://127.0.0.1:{stub.port}"
    secret = create_client_secret(endpoint=AzureEndpoint(base_url=root, api_key="azure-key-03"))
    assert secret.value == "ek_123"
    (request,) = stub.requests
    assert request["path"] == "/openai/v1/realtime/client_secrets"
    assert request["headers"]["api-key"] == "azure-key-03"
    from openai.types.realtime.client_secret_create_params import ClientSecretCreateParams

    valid(ClientSecretCreateParams, request["body"])
    with pytest.raises(RealtimeError, match="not both"):
        create_client_secret(endpoint=ours(stub), api_key=KEY)


# --------------------------------------------------------------------------- examples/sip_server.py

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


@pytest.fixture
def sip_example(monkeypatch: pytest.MonkeyPatch) -> Any:
    """examples/sip_server.py imported as a module (its ``_common`` beside it)."""
    import importlib
    import sys

    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    module = importlib.import_module("sip_server")
    yield module
    sys.modules.pop("sip_server", None)


def _post_webhook(url: str, body: bytes, headers: Dict[str, str]) -> int:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_example_server_refuses_unsigned_webhooks_and_answers_each_call_once(
    sip_example: Any,
) -> None:
    from realtime_sync.webhooks import sign_webhook

    secret = "whsec_" + "c2lwLWV4YW1wbGUtdGVzdA=="
    answered: List[str] = []
    done = threading.Event()

    def on_call(call: Any) -> None:
        answered.append(call.call_id)
        done.set()

    server = sip_example.CallServer(("127.0.0.1", 0), secret=secret, on_call=on_call)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        body = json.dumps(
            {
                "id": "evt_1",
                "type": "realtime.call.incoming",
                "created_at": 1,
                "data": {"call_id": "rtc_ex_1", "sip_headers": []},
            }
        ).encode()
        assert _post_webhook(url, body, {"Content-Type": "application/json"}) == 400
        forged = sign_webhook(body, secret="whsec_" + "b3RoZXI=")
        assert _post_webhook(url, body, forged) == 400
        signed = sign_webhook(body, secret=secret)
        assert _post_webhook(url, body, signed) == 200
        assert _post_webhook(url, body, sign_webhook(body, secret=secret)) == 200  # redelivered
        assert done.wait(5)
        for call_thread in server.calls:
            call_thread.join(5)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert answered == ["rtc_ex_1"]


def test_the_example_offline_demo_accepts_greets_and_hangs_up(
    sip_example: Any, capsys: Any
) -> None:
    """The whole example offline: webhook, accept, attach with connect(call_id=), hang up."""
    from .conftest import wait_no_sdk_threads

    assert sip_example.main(["--simulator"]) == 0
    out = capsys.readouterr().out
    assert "incoming call rtc_demo_0001 from <sip:+14155550100@sip.example.com>" in out
    assert "[rtc_demo_0001] accepted" in out
    assert f"[rtc_demo_0001] assistant: {sip_example.GREETING}" in out
    assert "call control received: accept, hangup" in out
    assert wait_no_sdk_threads() == []


def test_the_example_runs_as_a_script(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k not in ("OPENAI_API_KEY",)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(EXAMPLES.parent), env.get("PYTHONPATH")]))
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / "sip_server.py")],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "call control received: accept, hangup" in result.stdout


def test_attaching_to_a_call_keeps_its_session() -> None:
    """connect(call_id=) opens ?call_id= with no model and sends no session.update of its own."""
    import json as _json
    import threading

    from websockets.sync.server import serve

    from realtime_sync import RealtimeClient

    seen: Dict[str, Any] = {"paths": [], "received": []}
    session = {"type": "realtime", "id": "sess_call", "instructions": "Set when accepted."}

    def handle(connection: Any) -> None:
        seen["paths"].append(connection.request.path)
        connection.send(
            _json.dumps({"type": "session.created", "event_id": "e1", "session": session})
        )
        for message in connection:
            event = _json.loads(message)
            seen["received"].append(event)
            if event["type"] == "session.update":
                update = {
                    "type": "session.updated",
                    "event_id": "e2",
                    "session": {**session, **event["session"]},
                }
                connection.send(_json.dumps(update))

    server = serve(handle, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"ws://127.0.0.1:{server.socket.getsockname()[1]}/v1/realtime"
    try:
        client = RealtimeClient(url=url)
        got = client.connect(call_id="rtc_123", timeout=5)
        assert got.instructions == "Set when accepted."
        assert seen["paths"] == ["/v1/realtime?call_id=rtc_123"]
        assert seen["received"] == []  # the accepted session is not overwritten
        client.update_session(instructions="Now brief.", timeout=5)  # only what changes
        (update,) = [e for e in seen["received"] if e["type"] == "session.update"]
        assert update["session"]["instructions"] == "Now brief."
        assert "turn_detection" not in _json.dumps(update) and "voice" not in _json.dumps(update)
        client.disconnect()
    finally:
        server.shutdown()
        thread.join(5)


def test_the_simulator_serves_known_calls_only(sim: Any) -> None:
    from realtime_sync import RealtimeClient, RealtimeConnectionError

    sim.add_call("rtc_9", session={"type": "realtime", "instructions": "From the call."})
    client = RealtimeClient(url=sim.url)
    session = client.connect(call_id="rtc_9", timeout=5)
    assert session.instructions == "From the call."
    assert not [e for e in sim.received if e["type"] == "session.update"]
    assert client.ask("hello?", timeout=10).text
    client.disconnect()
    stranger = RealtimeClient(url=sim.url)
    with pytest.raises(RealtimeConnectionError) as info:
        stranger.connect(call_id="rtc_unknown", timeout=5)
    assert info.value.status == 404
