"""Secrets stay secret; TLS stays on; ephemeral client secrets."""

from __future__ import annotations

import json
import logging
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
import websocket

from realtime_sync import (
    ClientSecret,
    RealtimeAPI,
    RealtimeClient,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeEventType,
    SessionConfig,
    create_client_secret,
)
from realtime_sync.errors import RealtimeRedirectError
from realtime_sync.testing import RealtimeSimulator

CANARY = "sk-canary-0123456789-ABCDEFGHIJ"


def test_canary_key_never_leaks(caplog: Any) -> None:
    seen: List[str] = []
    with RealtimeSimulator(api_key=CANARY) as sim, caplog.at_level(logging.DEBUG):
        client = RealtimeClient(url=sim.url, api_key=CANARY, debug=True)
        client.on(RealtimeEventType.ALL, lambda e: seen.append(repr(e)))
        client.connect()
        client.ask("hello", timeout=10)
        seen.append(repr(client) + repr(client.realtime))
        client.disconnect()
        wrong = RealtimeClient(url=sim.url, api_key=CANARY + "-wrong")
        with pytest.raises(RealtimeConnectionError) as info:
            wrong.connect(timeout=5)
        seen.append(str(info.value) + repr(info.value) + str(info.value.body))
    assert seen and caplog.records
    everything = "\n".join(seen) + caplog.text
    assert CANARY not in everything
    assert CANARY[:12] not in everything


def test_key_echoed_in_an_error_body_is_redacted() -> None:
    body = '{"error": {"message": "Incorrect API key provided: sk-abc***xyz12. Find your key..."}}'
    with RealtimeSimulator() as sim:
        sim.reject_handshake(status=401, body=body)
        with pytest.raises(RealtimeConnectionError) as info:
            RealtimeAPI(url=sim.url, api_key="sk-abcdefxyz12").connect(timeout=5)
    assert "sk-abc***xyz12" not in str(info.value)
    assert "<redacted>" in str(info.value)


def test_plain_ws_with_a_key_to_a_remote_host_warns(
    monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:  # no traffic leaves this machine
        raise ConnectionRefusedError("refused by the test")

    monkeypatch.setattr(websocket, "create_connection", refuse)
    api = RealtimeAPI(url="ws://relay.example.com/v1/realtime", api_key=CANARY)
    with (
        caplog.at_level(logging.WARNING, logger="realtime_sync"),
        pytest.raises(RealtimeConnectionError),
    ):
        api.connect(timeout=1)
    assert "unencrypted ws://" in caplog.text
    assert CANARY not in caplog.text
    caplog.clear()
    keyless = RealtimeAPI(url="ws://relay.example.com/v1/realtime", api_key="")
    with (
        caplog.at_level(logging.WARNING, logger="realtime_sync"),
        pytest.raises(RealtimeConnectionError),
    ):
        keyless.connect(timeout=1)
    assert "unencrypted" not in caplog.text


def test_browser_runtime_refuses_a_key_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "emscripten")
    with RealtimeSimulator() as sim:
        with pytest.raises(RealtimeError, match="browser"):
            RealtimeAPI(url=sim.url, api_key=CANARY).connect(timeout=5)
        allowed = RealtimeAPI(
            url=sim.url, api_key=CANARY, dangerously_allow_api_key_in_browser=True
        )
        allowed.connect(timeout=5)
        allowed.disconnect()
        keyless = RealtimeAPI(url=sim.url, api_key="")
        keyless.connect(timeout=5)  # a relay needs no key: nothing to protect
        keyless.disconnect()


@pytest.fixture
def self_signed(tmp_path: Path) -> Iterator[ssl.SSLContext]:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    yield context


def test_tls_certificates_are_verified(self_signed: ssl.SSLContext) -> None:
    from websockets.sync.server import serve

    def handler(connection: Any) -> None:
        connection.close()

    with serve(handler, "127.0.0.1", 0, ssl=self_signed) as server:
        port = server.socket.getsockname()[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            api = RealtimeAPI(url=f"wss://localhost:{port}/v1/realtime", api_key=CANARY)
            with pytest.raises(RealtimeConnectionError) as info:
                api.connect(timeout=5)
            assert "certificate" in str(info.value).lower()
            assert CANARY not in str(info.value)
        finally:
            server.shutdown()
            thread.join(5)


# --------------------------------------------------------------------------- client secrets


class _Stub(BaseHTTPRequestHandler):
    requests: List[Dict[str, Any]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        _Stub.requests.append(
            {
                "path": self.path,
                "authorization": self.headers["Authorization"],
                "body": json.loads(self.rfile.read(length)),
            }
        )
        if _Stub.status != 200:
            payload = {"error": {"message": "Incorrect API key provided: sk-sec***tkey"}}
        else:
            payload = {
                "value": "ek_68af296e8e408191a1120ab6383263c2",
                "expires_at": 1756310470,
                "session": {
                    "type": "realtime",
                    "object": "realtime.session",
                    "id": "sess_1",
                    "model": "gpt-realtime",
                    "output_modalities": ["audio"],
                    "instructions": "Be brief.",
                    "tools": [],
                    "tool_choice": "auto",
                    "max_output_tokens": "inf",
                    "tracing": None,
                    "truncation": "auto",
                    "prompt": None,
                    "expires_at": 0,
                    "audio": {
                        "output": {"voice": "marin", "format": {"type": "audio/pcm", "rate": 24000}}
                    },
                },
            }
        data = json.dumps(payload).encode()
        self.send_response(_Stub.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def stub() -> Iterator[str]:
    _Stub.requests = []
    _Stub.status = 200
    server = HTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()
    thread.join(5)


def test_create_client_secret(stub: str) -> None:
    secret = create_client_secret(
        api_key="sk-secret-key",
        session=SessionConfig(instructions="Be brief."),
        expires_after_s=300,
        base_url=stub,
    )
    assert isinstance(secret, ClientSecret)
    assert secret.value.startswith("ek_") and secret.expires_at == 1756310470
    assert secret.session is not None and secret.session.instructions == "Be brief."
    assert secret.value not in repr(secret)
    (request,) = _Stub.requests
    assert request["path"] == "/v1/realtime/client_secrets"
    assert request["authorization"] == "Bearer sk-secret-key"
    assert request["body"]["expires_after"] == {"anchor": "created_at", "seconds": 300}
    assert request["body"]["session"]["type"] == "realtime"
    # the short-lived secret is what a device then connects with
    with RealtimeSimulator(api_key=secret.value) as sim:
        client = RealtimeClient(url=sim.url, api_key=secret.value)
        client.connect()
        client.disconnect()


def test_client_secret_errors(stub: str) -> None:
    _Stub.status = 401
    with pytest.raises(RealtimeConnectionError) as info:
        create_client_secret(api_key="sk-secret-wrongtkey", base_url=stub)
    assert info.value.status == 401
    assert "sk-sec***tkey" not in str(info.value)
    with pytest.raises(RealtimeError, match="between 10 and 7200"):
        create_client_secret(api_key="sk-x", expires_after_s=5, base_url=stub)


# --------------------------------------------------------------------------- redirects


class _RawHttp:
    """A TCP server on 127.0.0.1 answering every request with ``answer(request)``; records requests.

    ``tls`` wraps each accepted connection in that server context first.
    """

    def __init__(self, answer: Any, tls: Optional[ssl.SSLContext] = None) -> None:
        self._answer = answer
        self._tls = tls
        self.requests: List[bytes] = []  # appended by the server thread only
        self._listener = socket.socket()
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(8)
        self.port: int = self._listener.getsockname()[1]
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            raw, _ = self._listener.accept()
            if self._closing.is_set():
                raw.close()
                return
            try:
                conn = self._tls.wrap_socket(raw, server_side=True) if self._tls else raw
                with conn:
                    conn.settimeout(5)
                    request = b""
                    while b"\r\n\r\n" not in request:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        request += chunk
                    self.requests.append(request)
                    conn.sendall(self._answer(request))
            except OSError:
                pass  # a client that gave up (or refused our certificate)

    def close(self) -> None:
        self._closing.set()
        socket.create_connection(("127.0.0.1", self.port), timeout=5).close()  # wakes accept()
        self._thread.join(5)
        self._listener.close()


def _redirect(status: int, location: str) -> Any:
    return lambda request: (
        f"HTTP/1.1 {status} Moved\r\nLocation: {location}\r\nContent-Length: 0\r\n"
        "Connection: close\r\n\r\n"
    ).encode()


def _forbidden(request: bytes) -> bytes:
    return b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


@pytest.fixture
def elsewhere() -> Iterator[_RawHttp]:
    """The redirect target: records whatever reaches it (it must stay empty)."""
    server = _RawHttp(_forbidden)
    yield server
    server.close()


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_handshake_redirects_are_refused_and_named(status: int, elsewhere: _RawHttp) -> None:
    target = f"ws://127.0.0.1:{elsewhere.port}/elsewhere"
    origin = _RawHttp(_redirect(status, target + "?token=from-the-query"))
    try:
        api = RealtimeAPI(url=f"ws://127.0.0.1:{origin.port}/v1/realtime", api_key=CANARY)
        with pytest.raises(RealtimeRedirectError) as info:
            api.connect(timeout=5)
    finally:
        origin.close()
    assert isinstance(info.value, RealtimeConnectionError)
    assert info.value.status == status and info.value.location == target
    message = str(info.value)
    assert target in message and "from-the-query" not in message and CANARY not in message
    assert "url=" in message  # says what to do
    assert elsewhere.requests == []
    assert len(origin.requests) == 1 and b"Bearer " + CANARY.encode() in origin.requests[0]
    assert not api.is_connected()


def test_relative_redirect_is_named_as_an_absolute_url() -> None:
    origin = _RawHttp(_redirect(302, "/v2/realtime?secret=1"))
    try:
        api = RealtimeAPI(url=f"ws://127.0.0.1:{origin.port}/v1/realtime", api_key=CANARY)
        with pytest.raises(RealtimeRedirectError) as info:
            api.connect(timeout=5)
    finally:
        origin.close()
    assert info.value.location == f"ws://127.0.0.1:{origin.port}/v2/realtime"
    assert "secret" not in str(info.value)


@pytest.fixture
def localhost_cert(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ssl.SSLContext]:
    """A server context for ``localhost`` whose certificate the WebSocket client trusts."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)]
    command += ["-out", str(cert), "-days", "1", "-subj", "/CN=localhost"]
    command += ["-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(
        command,
        check=True,
        capture_output=True,
        timeout=60,
    )
    monkeypatch.setenv("WEBSOCKET_CLIENT_CA_BUNDLE", str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    yield context


def test_wss_redirect_to_plain_ws_is_refused_as_a_downgrade(
    localhost_cert: ssl.SSLContext, elsewhere: _RawHttp
) -> None:
    target = f"ws://127.0.0.1:{elsewhere.port}/v1/realtime"
    origin = _RawHttp(_redirect(307, target), tls=localhost_cert)
    try:
        api = RealtimeAPI(url=f"wss://localhost:{origin.port}/v1/realtime", api_key=CANARY)
        with pytest.raises(RealtimeRedirectError) as info:
            api.connect(timeout=5)
    finally:
        origin.close()
    assert len(origin.requests) == 1  # TLS worked: the redirect itself was read
    assert "plain ws://" in str(info.value) and target in str(info.value)
    assert elsewhere.requests == []


class _RestRedirect(BaseHTTPRequestHandler):
    status = 302
    location = ""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(_RestRedirect.status)
        self.send_header("Location", _RestRedirect.location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_client_secret_redirects_are_refused(status: int, elsewhere: _RawHttp) -> None:
    target = f"http://127.0.0.1:{elsewhere.port}/v1/realtime/client_secrets"
    _RestRedirect.status, _RestRedirect.location = status, target + "?k=query-secret"
    server = HTTPServer(("127.0.0.1", 0), _RestRedirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with pytest.raises(RealtimeRedirectError) as info:
            create_client_secret(
                api_key=CANARY, base_url=f"http://127.0.0.1:{server.server_address[1]}/v1"
            )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
    assert info.value.status == status and info.value.location == target
    assert target in str(info.value) and "query-secret" not in str(info.value)
    assert CANARY not in str(info.value)
    assert elsewhere.requests == []


# --------------------------------------------------------------------------- header injection


@pytest.mark.parametrize(
    "bad", ["sk-abc\r\nX-Injected: 1", "sk-abc\ndef", "sk-\x00abc", "sk-abc\x7f", "sk-a\x1bb"]
)
def test_control_characters_in_the_key_are_refused_before_connecting(
    bad: str, elsewhere: _RawHttp
) -> None:
    api = RealtimeAPI(url=f"ws://127.0.0.1:{elsewhere.port}/v1/realtime", api_key=bad)
    with pytest.raises(RealtimeError) as info:
        api.connect(timeout=5)
    assert not isinstance(info.value, RealtimeConnectionError)
    assert "API key" in str(info.value) and "control character" in str(info.value)
    assert bad not in str(info.value) and "abc" not in str(info.value)
    assert elsewhere.requests == []  # nothing went out


def test_a_non_ascii_key_is_refused_before_connecting(elsewhere: _RawHttp) -> None:
    api = RealtimeAPI(url=f"ws://127.0.0.1:{elsewhere.port}/v1/realtime", api_key="sk-abc\u2019")
    with pytest.raises(RealtimeError, match="non-ASCII") as info:
        api.connect(timeout=5)
    assert "abc" not in str(info.value)
    assert elsewhere.requests == []


def test_whitespace_around_the_key_is_stripped() -> None:
    with RealtimeSimulator(api_key="sk-right-key-000000") as sim:
        api = RealtimeAPI(url=sim.url, api_key="  sk-right-key-000000\r\n")
        created = api.wait_for(RealtimeEventType.SESSION_CREATED)
        api.connect(timeout=5)
        created.result(timeout=5)
        api.disconnect()


@pytest.mark.parametrize(
    ("headers", "named"),
    [
        ({"X-Ok": "fine", "Bad Name": "v"}, "Bad Name"),
        ({"X-Bad:": "v"}, "X-Bad:"),
        ({"": "v"}, "''"),
        ({"X-Split\r\nHost": "v"}, "X-Split"),
        ({"X-Relay-Token": "secret-value\r\nX-Injected: 1"}, "X-Relay-Token"),
        ({"X-Relay-Token": "secret-value\x00"}, "X-Relay-Token"),
    ],
)
def test_invalid_extra_headers_are_refused_before_connecting(
    headers: Dict[str, str], named: str, elsewhere: _RawHttp
) -> None:
    api = RealtimeAPI(url=f"ws://127.0.0.1:{elsewhere.port}/v1/realtime", headers=headers)
    with pytest.raises(RealtimeError) as info:
        api.connect(timeout=5)
    assert not isinstance(info.value, RealtimeConnectionError)
    assert "header" in str(info.value) and named in str(info.value)
    assert "secret-value" not in str(info.value)
    assert elsewhere.requests == []


def test_valid_extra_headers_reach_the_server(elsewhere: _RawHttp) -> None:
    api = RealtimeAPI(
        url=f"ws://127.0.0.1:{elsewhere.port}/v1/realtime",
        headers={"X-Relay-Token": "a b\tc", "OpenAI-Beta": "x"},
    )
    with pytest.raises(RealtimeConnectionError):  # the recorder answers 403
        api.connect(timeout=5)
    (request,) = elsewhere.requests
    assert b"\r\nX-Relay-Token: a b\tc\r\n" in request and b"\r\nOpenAI-Beta: x\r\n" in request


def test_client_secret_refuses_a_bad_key_and_strips_whitespace(stub: str) -> None:
    with pytest.raises(RealtimeError) as info:
        create_client_secret(api_key="sk-secret-key\r\nX-Injected: 1", base_url=stub)
    assert not isinstance(info.value, RealtimeConnectionError)
    assert "API key" in str(info.value) and "control character" in str(info.value)
    assert "secret-key" not in str(info.value)
    assert _Stub.requests == []
    create_client_secret(api_key="  sk-secret-key\n", base_url=stub)
    (request,) = _Stub.requests
    assert request["authorization"] == "Bearer sk-secret-key"


# --------------------------------------------------------------------------- endpoints


def _echoing(status: int, secret: str) -> Any:
    """A handshake refusal whose body echoes ``secret``, as some gateways do."""
    body = json.dumps({"error": {"message": f"token {secret} is expired"}}).encode()
    return lambda request: (
        (
            f"HTTP/1.1 {status} Unauthorized\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + body
    )


def test_a_provider_token_echoed_by_the_server_is_redacted(caplog: Any) -> None:
    from realtime_sync.endpoints import AzureEndpoint

    token = "eyJhbGciOiJSUzI1NiJ9.not-shaped-like-an-openai-key.c2lnbmF0dXJl"
    server = _RawHttp(_echoing(401, token))
    try:
        endpoint = AzureEndpoint(
            base_url=f"http://127.0.0.1:{server.port}", deployment="d", token_provider=lambda: token
        )
        api = RealtimeAPI(endpoint=endpoint, debug=True)
        with caplog.at_level(logging.DEBUG), pytest.raises(RealtimeConnectionError) as info:
            api.connect(timeout=5)
    finally:
        server.close()
    assert info.value.status == 401
    assert b"Authorization: Bearer " + token.encode() in server.requests[0]
    seen = str(info.value) + repr(info.value) + (info.value.body or "") + repr(api) + caplog.text
    assert token not in seen and "<redacted>" in str(info.value)


def test_an_azure_key_echoed_in_a_rest_error_is_redacted() -> None:
    from realtime_sync.calls import CallError, hangup_call
    from realtime_sync.endpoints import AzureEndpoint

    key = "0123456789abcdef0123456789abcdef"  # Azure keys are hex, not sk-...
    server = _RawHttp(_echoing(401, key))
    try:
        endpoint = AzureEndpoint(base_url=f"http://127.0.0.1:{server.port}", api_key=key)
        with pytest.raises(CallError) as info:
            hangup_call("rtc_1", endpoint=endpoint, timeout=5)
    finally:
        server.close()
    assert info.value.status == 401
    assert key not in str(info.value) + (info.value.body or "") + repr(endpoint)


def test_credentials_are_checked_before_any_rest_request(elsewhere: _RawHttp) -> None:
    from realtime_sync.calls import accept_call
    from realtime_sync.endpoints import OpenAIEndpoint

    base = f"http://127.0.0.1:{elsewhere.port}/v1"
    with pytest.raises(RealtimeError, match="control character") as info:
        accept_call("rtc_1", endpoint=OpenAIEndpoint(api_key=lambda: "sk-x\r\nX: 1", base_url=base))
    assert "sk-x" not in str(info.value)
    with pytest.raises(RealtimeError, match="header"):
        accept_call(
            "rtc_1",
            endpoint=OpenAIEndpoint(api_key="sk-x", base_url=base, headers={"X-A": "b\nc"}),
        )
    assert elsewhere.requests == []


def test_repr_of_endpoints_and_requests_shows_no_secret() -> None:
    from realtime_sync.endpoints import AzureEndpoint, OpenAIEndpoint, Proxy

    proxy = Proxy.from_url("http://user:proxy-pass-123@127.0.0.1:3128")
    openai_endpoint = OpenAIEndpoint(api_key=CANARY, proxy=proxy)
    azure = AzureEndpoint(resource="r", deployment="d", api_key="azure-secret-key-9")
    shown = repr(openai_endpoint) + repr(openai_endpoint.websocket_request(model="m"))
    shown += repr(azure) + repr(azure.websocket_request(model="d")) + repr(proxy)
    shown += repr(RealtimeAPI(endpoint=openai_endpoint))
    for secret in (CANARY, "azure-secret-key-9", "proxy-pass-123"):
        assert secret not in shown
