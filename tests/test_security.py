"""Secrets stay secret; TLS stays on; ephemeral client secrets."""

from __future__ import annotations

import json
import logging
import shutil
import ssl
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, Dict, Iterator, List

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
