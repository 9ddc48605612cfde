"""Endpoints over real loopback sockets: URLs, credentials, token providers, proxies and TLS.

The servers here are a few lines of socket code on 127.0.0.1: a WebSocket peer
that records each handshake request, and an HTTP ``CONNECT`` proxy that
records what it was asked to reach and then tunnels to it.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import shutil
import socket
import ssl
import subprocess
import threading
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest

from realtime_sync import RealtimeAPI, RealtimeConnectionError, RealtimeError, RealtimeEventType
from realtime_sync.endpoints import (
    LIVE_PATH,
    AzureEndpoint,
    OpenAIEndpoint,
    Proxy,
    resolve_proxy,
)
from realtime_sync.testing import RealtimeSimulator

from .conftest import wait_no_sdk_threads

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
    "REQUEST_METHOD",
)


def clean_proxy_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Remove every proxy variable, whatever the machine has."""
    for name in _PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def _no_proxy_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    clean_proxy_environment(monkeypatch)


def _read_head(conn: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(4096)
        if not chunk:
            raise ConnectionError("the peer left before the end of the request head")
        data += chunk
    return data


def header_of(request: bytes, name: str) -> Optional[str]:
    """The value of header ``name`` (any case) in a raw request head."""
    for line in request.split(b"\r\n")[1:]:
        key, _, value = line.partition(b":")
        if key.strip().lower() == name.lower().encode():
            return value.strip().decode()
    return None


def request_line(request: bytes) -> str:
    return request.split(b"\r\n", 1)[0].decode()


class _Server:
    """A loopback TCP server handling each connection on a thread with ``serve(conn)``."""

    def __init__(self, serve: Callable[[socket.socket], None], name: str) -> None:
        self._serve = serve
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self.port: int = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._threads: List[threading.Thread] = []
        self._accepter = threading.Thread(target=self._accept, name=name, daemon=True)
        self._accepter.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(10)
            thread = threading.Thread(target=self._handle, args=(conn,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _handle(self, conn: socket.socket) -> None:
        try:
            self._serve(conn)
        except OSError:
            pass
        finally:
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._accepter.join(5)
        self._listener.close()
        for thread in self._threads:
            thread.join(5)


class RecordingPeer(_Server):
    """A WebSocket peer that records each handshake request, accepts it, and waits for the end."""

    def __init__(self) -> None:
        self.requests: List[bytes] = []
        super().__init__(self._serve_one, "test-ws-peer")

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/realtime"

    def _serve_one(self, conn: socket.socket) -> None:
        request = _read_head(conn)
        self.requests.append(request)
        key = (header_of(request, "Sec-WebSocket-Key") or "").encode()
        accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        conn.recv(4096)  # the client's close frame, or the end of the connection


class ConnectProxy(_Server):
    """An HTTP proxy on loopback: records every request head; tunnels ``CONNECT``.

    ``refuse`` makes it answer ``CONNECT`` with that status instead. A request
    in absolute form (plain HTTP through a proxy) is answered ``answer`` itself.
    """

    def __init__(self, refuse: Optional[int] = None, answer: bytes = b"") -> None:
        self.requests: List[bytes] = []
        self.refuse = refuse
        self.answer = answer
        super().__init__(self._serve_one, "test-proxy")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def targets(self) -> List[str]:
        return [request_line(r).split()[1] for r in self.requests]

    def _serve_one(self, conn: socket.socket) -> None:
        head = _read_head(conn)
        request, _, rest = head.partition(b"\r\n\r\n")
        self.requests.append(request + b"\r\n\r\n")
        method, target, _ = request_line(head).split(" ", 2)
        if method != "CONNECT":
            length = int(header_of(head, "Content-Length") or 0)
            while len(rest) < length:
                rest += conn.recv(4096)
            self.requests[-1] += rest
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
                + str(len(self.answer)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + self.answer
            )
            return
        if self.refuse is not None:
            conn.sendall(b"HTTP/1.1 %d Refused\r\nContent-Length: 0\r\n\r\n" % self.refuse)
            return
        host, _, port = target.rpartition(":")
        upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
        conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        if rest:
            upstream.sendall(rest)
        _pipe(conn, upstream)


def _pipe(a: socket.socket, b: socket.socket) -> None:
    def copy(src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

    other = threading.Thread(target=copy, args=(b, a), daemon=True)
    other.start()
    copy(a, b)
    other.join(10)
    b.close()


@pytest.fixture
def peer() -> Iterator[RecordingPeer]:
    server = RecordingPeer()
    yield server
    server.close()


@pytest.fixture
def proxy() -> Iterator[ConnectProxy]:
    server = ConnectProxy()
    yield server
    server.close()


def connect_once(api: RealtimeAPI, **kwargs: Any) -> None:
    api.connect(timeout=5, **kwargs)
    assert api.is_connected()
    api.disconnect()


# --------------------------------------------------------------------------- URLs


def test_openai_urls_model_call_id_and_paths() -> None:
    endpoint = OpenAIEndpoint(api_key="sk-endpoint-test-0001")
    assert endpoint.websocket_url == "wss://api.openai.com/v1/realtime"
    assert endpoint.rest_base == "https://api.openai.com/v1"
    request = endpoint.websocket_request(model="gpt-realtime")
    assert request.url == "wss://api.openai.com/v1/realtime?model=gpt-realtime"
    assert dict(request.headers) == {"Authorization": "Bearer sk-endpoint-test-0001"}
    assert endpoint.websocket_request().url == "wss://api.openai.com/v1/realtime"
    attach = endpoint.websocket_request(call_id="rtc_u1_9c2a")
    assert attach.url == "wss://api.openai.com/v1/realtime?call_id=rtc_u1_9c2a"
    assert endpoint.websocket_request(path=LIVE_PATH).url == "wss://api.openai.com/v1/live/sessions"
    rest = endpoint.rest_request("/realtime/calls/rtc_1/accept")
    assert rest.url == "https://api.openai.com/v1/realtime/calls/rtc_1/accept"
    # The key is in the headers to send, never in a repr.
    everything = repr(endpoint) + repr(request) + repr(rest)
    assert "sk-endpoint-test-0001" not in everything
    with pytest.raises(RealtimeError):
        endpoint.websocket_request(call_id="")


def test_base_url_url_and_query_combine() -> None:
    relay = OpenAIEndpoint(url="ws://relay.test:8080/v1/realtime?tenant=a", api_key="")
    assert relay.rest_base == "http://relay.test:8080/v1"
    assert (
        relay.websocket_request(model="m").url
        == "ws://relay.test:8080/v1/realtime?tenant=a&model=m"
    )
    assert relay.websocket_request().headers == ()  # api_key="" sends none
    custom = OpenAIEndpoint(base_url="https://gateway.test/openai/v1/", api_key="k", model=None)
    assert custom.websocket_url == "wss://gateway.test/openai/v1/realtime"
    assert custom.default_model is None
    scoped = OpenAIEndpoint(api_key="k", organization="org-1", project="proj_2", headers={"X": "y"})
    assert dict(scoped.websocket_request().headers) == {
        "Authorization": "Bearer k",
        "OpenAI-Organization": "org-1",
        "OpenAI-Project": "proj_2",
        "X": "y",
    }
    with pytest.raises(RealtimeError, match="url= must start with"):
        OpenAIEndpoint(url="https://api.openai.com/v1/realtime")


def test_openai_key_defaults_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "  sk-from-env-000001\n")
    endpoint = OpenAIEndpoint()
    assert endpoint.api_key == "sk-from-env-000001"
    monkeypatch.delenv("OPENAI_API_KEY")
    with pytest.raises(RealtimeError, match="OPENAI_API_KEY"):
        OpenAIEndpoint().websocket_request()


def test_azure_urls_from_resource_base_url_and_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    azure = AzureEndpoint(resource="contoso-eu", deployment="rt-prod", api_key="azure-key-01")
    request = azure.websocket_request(model=azure.default_model)
    assert request.url == "wss://contoso-eu.openai.azure.com/openai/v1/realtime?model=rt-prod"
    assert request.headers == (("api-key", "azure-key-01"),)
    assert (
        azure.rest_request("/realtime/calls/c1/hangup").url
        == "https://contoso-eu.openai.azure.com/openai/v1/realtime/calls/c1/hangup"
    )
    root = AzureEndpoint(base_url="https://contoso-eu.openai.azure.com/", api_key="k")
    assert root.websocket_url == "wss://contoso-eu.openai.azure.com/openai/v1/realtime"
    monkeypatch.setenv("AZURE_OPENAI_ENDPOINT", "https://from-env.openai.azure.com")
    monkeypatch.setenv("AZURE_OPENAI_API_KEY", "azure-env-key")
    from_env = AzureEndpoint(deployment="d")
    assert from_env.rest_base == "https://from-env.openai.azure.com/openai/v1"
    assert from_env.websocket_request(model="d").headers == (("api-key", "azure-env-key"),)
    assert "azure-key-01" not in repr(azure) and "azure-env-key" not in repr(from_env)


def test_azure_configuration_errors_say_what_to_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AZURE_OPENAI_ENDPOINT", raising=False)
    monkeypatch.delenv("AZURE_OPENAI_API_KEY", raising=False)
    with pytest.raises(RealtimeError, match="resource="):
        AzureEndpoint(api_key="k")
    with pytest.raises(RealtimeError, match="not both"):
        AzureEndpoint(resource="r", base_url="https://r.openai.azure.com", api_key="k")
    with pytest.raises(RealtimeError, match="not both"):
        AzureEndpoint(resource="r", api_key="k", token_provider=lambda: "t")
    with pytest.raises(RealtimeError, match="resource name"):
        AzureEndpoint(resource="https://r.openai.azure.com", api_key="k")
    with pytest.raises(RealtimeError, match="token_provider must be a callable"):
        AzureEndpoint(resource="r", token_provider="a-token")  # type: ignore[arg-type]
    keyless = AzureEndpoint(resource="r", deployment="d")
    with pytest.raises(RealtimeError, match="AZURE_OPENAI_API_KEY"):
        keyless.websocket_request(model="d")
    no_deployment = AzureEndpoint(resource="r", api_key="k")
    with pytest.raises(RealtimeError, match="deployment"):
        no_deployment.websocket_request()
    # Attaching to a SIP call needs no deployment.
    assert no_deployment.websocket_request(call_id="rtc_9").url.endswith("realtime?call_id=rtc_9")


# --------------------------------------------------------------------------- over the wire


def test_model_is_sent_only_when_there_is_one(peer: RecordingPeer) -> None:
    connect_once(RealtimeAPI(endpoint=OpenAIEndpoint(url=peer.url, api_key="", model=None)))
    connect_once(RealtimeAPI(url=peer.url))  # OpenAI's default model
    explicit = RealtimeAPI(url=peer.url)
    connect_once(explicit, model="gpt-realtime-mini")
    assert explicit.model == "gpt-realtime-mini" and explicit.call_id is None
    connect_once(RealtimeAPI(url=peer.url), model="")  # none, whatever the endpoint's default
    attach = RealtimeAPI(url=peer.url)
    connect_once(attach, call_id="rtc_u2_abc")
    assert attach.model is None and attach.call_id == "rtc_u2_abc"
    lines = [request_line(r) for r in peer.requests]
    assert lines == [
        "GET /v1/realtime HTTP/1.1",
        "GET /v1/realtime?model=gpt-realtime HTTP/1.1",
        "GET /v1/realtime?model=gpt-realtime-mini HTTP/1.1",
        "GET /v1/realtime HTTP/1.1",
        "GET /v1/realtime?call_id=rtc_u2_abc HTTP/1.1",
    ]
    assert wait_no_sdk_threads() == []


def test_azure_handshake_sends_the_deployment_and_the_api_key_header(peer: RecordingPeer) -> None:
    endpoint = AzureEndpoint(
        base_url=f"http://127.0.0.1:{peer.port}", deployment="rt-dep", api_key="azure-key-0001"
    )
    api = RealtimeAPI(endpoint=endpoint)
    assert "azure-key-0001" not in repr(api)
    connect_once(api)
    (request,) = peer.requests
    assert request_line(request) == "GET /openai/v1/realtime?model=rt-dep HTTP/1.1"
    assert header_of(request, "api-key") == "azure-key-0001"
    assert header_of(request, "Authorization") is None
    assert api.model == "rt-dep"


def test_a_token_provider_is_called_on_every_connect(peer: RecordingPeer) -> None:
    tokens = iter(["eyJ-token-one", "eyJ-token-two"])
    calls: List[str] = []

    def provider() -> str:
        token = next(tokens)
        calls.append(token)
        return token

    endpoint = AzureEndpoint(
        base_url=f"http://127.0.0.1:{peer.port}/openai/v1", deployment="d", token_provider=provider
    )
    api = RealtimeAPI(endpoint=endpoint)
    assert calls == []  # not at construction
    connect_once(api)
    connect_once(api)
    assert calls == ["eyJ-token-one", "eyJ-token-two"]
    assert [header_of(r, "Authorization") for r in peer.requests] == [
        "Bearer eyJ-token-one",
        "Bearer eyJ-token-two",
    ]
    assert all(header_of(r, "api-key") is None for r in peer.requests)
    assert "token provider" in repr(api) and "eyJ" not in repr(api)


@pytest.mark.parametrize(
    ("returned", "message"),
    [
        ("eyJ-tok\r\nX-Injected: 1", "control character"),
        ("eyJ-tok\u2019", "non-ASCII"),
        ("", "instead of a non-empty string"),
        (None, "instead of a non-empty string"),
        (12345, "instead of a non-empty string"),
    ],
)
def test_what_a_token_provider_returns_is_checked_before_connecting(
    peer: RecordingPeer, returned: Any, message: str
) -> None:
    endpoint = AzureEndpoint(
        base_url=f"http://127.0.0.1:{peer.port}", deployment="d", token_provider=lambda: returned
    )
    with pytest.raises(RealtimeError, match=message) as info:
        RealtimeAPI(endpoint=endpoint).connect(timeout=5)
    assert not isinstance(info.value, RealtimeConnectionError)
    assert "eyJ-tok" not in str(info.value)
    assert peer.requests == []


def test_a_failing_token_provider_is_a_realtime_error(peer: RecordingPeer) -> None:
    def provider() -> str:
        raise ValueError("credential chain failed for sk-leaky-secret-1234")

    endpoint = OpenAIEndpoint(url=peer.url, api_key=provider)
    with pytest.raises(RealtimeError, match="ValueError") as info:
        RealtimeAPI(endpoint=endpoint).connect(timeout=5)
    assert "sk-leaky-secret-1234" not in str(info.value)
    assert isinstance(info.value.__cause__, ValueError)
    assert peer.requests == []


def test_an_openai_key_may_be_a_callable_called_per_connect() -> None:
    keys = ["sk-rotated-key-0001", "sk-rotated-key-0001"]
    with RealtimeSimulator(api_key="sk-rotated-key-0001") as sim:
        api = RealtimeAPI(url=sim.url, api_key=keys.pop)
        for _ in range(2):
            created = api.wait_for(RealtimeEventType.SESSION_CREATED)
            api.connect(timeout=5)
            created.result(timeout=5)
            api.disconnect()
        assert keys == []
        assert "key provider" in repr(api)
    assert wait_no_sdk_threads() == []


def test_endpoint_and_url_or_key_together_are_refused() -> None:
    endpoint = OpenAIEndpoint(api_key="k")
    with pytest.raises(ValueError, match="not both"):
        RealtimeAPI(endpoint=endpoint, url="ws://127.0.0.1:1/v1/realtime")
    with pytest.raises(ValueError, match="not both"):
        RealtimeAPI(endpoint=endpoint, api_key="k")
    with pytest.raises(TypeError, match="Endpoint"):
        RealtimeAPI(endpoint="wss://api.openai.com/v1/realtime")  # type: ignore[arg-type]


# --------------------------------------------------------------------------- proxies


def test_resolve_proxy_reads_the_environment_like_requests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://upper.proxy:3128")
    monkeypatch.setenv("https_proxy", "http://lower.proxy:3128")
    monkeypatch.setenv("HTTP_PROXY", "plain.proxy:8080")
    assert resolve_proxy("wss://api.openai.com/v1/realtime") == Proxy("lower.proxy", 3128)
    assert resolve_proxy("ws://relay.test/v1/realtime") == Proxy("plain.proxy", 8080)
    assert resolve_proxy("https://api.openai.com/v1") == Proxy("lower.proxy", 3128)
    monkeypatch.delenv("HTTP_PROXY")
    monkeypatch.setenv("ALL_PROXY", "socks5h://socks.proxy")
    assert resolve_proxy("ws://relay.test/") == Proxy("socks.proxy", 1080, scheme="socks5h")
    monkeypatch.setenv(
        "NO_PROXY", "localhost, .internal.test,example.org,10.0.0.0/8,relay.test:9000,[::1]"
    )
    direct = [
        "wss://localhost/v1",
        "wss://a.internal.test/v1",
        "wss://internal.test/v1",
        "wss://deep.sub.example.org/v1",
        "wss://10.20.30.40/v1",
        "ws://relay.test:9000/v1",
        "ws://[::1]:80/v1",
    ]
    assert [resolve_proxy(url) for url in direct] == [None] * len(direct)
    proxied = ["wss://notexample.org/v1", "wss://11.0.0.1/v1", "ws://relay.test:9001/v1"]
    assert all(resolve_proxy(url) is not None for url in proxied)
    monkeypatch.setenv("NO_PROXY", "*")
    assert resolve_proxy("wss://api.openai.com/v1") is None
    # Explicit settings win over the environment.
    assert resolve_proxy("wss://api.openai.com", "http://mine:1") == Proxy("mine", 1)
    assert resolve_proxy("wss://api.openai.com", False) is None


def test_proxy_urls_are_parsed_and_their_credentials_hidden() -> None:
    proxy = Proxy.from_url("http://alice:p%40ss%3Aword@proxy.corp:3128")
    assert (proxy.host, proxy.port, proxy.username, proxy.password) == (
        "proxy.corp",
        3128,
        "alice",
        "p@ss:word",
    )
    assert "p@ss" not in repr(proxy) and "alice" not in repr(proxy)
    assert proxy.address == "http://proxy.corp:3128"
    endpoint = OpenAIEndpoint(api_key="k", proxy=proxy)
    assert "p@ss" not in repr(endpoint)
    with pytest.raises(RealtimeError, match="https:// proxy"):
        Proxy.from_url("https://proxy.corp:443")
    with pytest.raises(RealtimeError, match="unsupported proxy scheme"):
        Proxy.from_url("ftp://proxy.corp:21")
    with pytest.raises(RealtimeError, match="no host"):
        Proxy.from_url("http://:3128")


def test_the_environment_proxy_tunnels_the_websocket(
    monkeypatch: pytest.MonkeyPatch, proxy: ConnectProxy
) -> None:
    with RealtimeSimulator() as sim:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)  # ws:// goes through http_proxy
        api = RealtimeAPI(url=sim.url)
        created = api.wait_for(RealtimeEventType.SESSION_CREATED)
        api.connect(timeout=5)
        created.result(timeout=5)  # a whole session, through the tunnel
        api.disconnect()
        port = sim.url.split(":")[2].split("/")[0]
    assert proxy.targets == [f"127.0.0.1:{port}"]
    assert request_line(proxy.requests[0]).startswith("CONNECT ")
    assert header_of(proxy.requests[0], "Proxy-Authorization") is None
    assert wait_no_sdk_threads() == []


def test_no_proxy_and_proxy_false_connect_directly(
    monkeypatch: pytest.MonkeyPatch, proxy: ConnectProxy
) -> None:
    with RealtimeSimulator() as sim:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.setenv("NO_PROXY", "example.test,127.0.0.1")
        connect_once(RealtimeAPI(url=sim.url))
        monkeypatch.delenv("NO_PROXY")
        connect_once(RealtimeAPI(endpoint=OpenAIEndpoint(url=sim.url, proxy=False)))
        assert sim.connection_count == 2
    assert proxy.requests == []


def test_an_explicit_proxy_with_credentials_wins_over_no_proxy(
    monkeypatch: pytest.MonkeyPatch, proxy: ConnectProxy
) -> None:
    monkeypatch.setenv("NO_PROXY", "*")  # an explicit proxy is used all the same
    with RealtimeSimulator() as sim:
        endpoint = OpenAIEndpoint(
            url=sim.url, api_key="", proxy=f"http://alice:s3cr%40t@127.0.0.1:{proxy.port}"
        )
        api = RealtimeAPI(endpoint=endpoint)
        connect_once(api)
        assert "s3cr" not in repr(api) + repr(endpoint)
    (request,) = proxy.requests
    expected = base64.b64encode(b"alice:s3cr@t").decode()
    assert header_of(request, "Proxy-Authorization") == f"Basic {expected}"


def test_a_proxy_refusing_the_tunnel_is_a_connection_error(caplog: Any) -> None:
    refusing = ConnectProxy(refuse=407)
    try:
        endpoint = OpenAIEndpoint(
            url="ws://127.0.0.1:9/v1/realtime",
            api_key="sk-proxy-test-000001",
            proxy=f"http://bob:hunter2-pw@127.0.0.1:{refusing.port}",
        )
        with caplog.at_level(logging.DEBUG), pytest.raises(RealtimeConnectionError) as info:
            RealtimeAPI(endpoint=endpoint).connect(timeout=5)
    finally:
        refusing.close()
    message = str(info.value)
    assert "proxy" in message and "407" in message
    assert "hunter2-pw" not in message + caplog.text
    assert "sk-proxy-test-000001" not in message + caplog.text
    assert refusing.targets == ["127.0.0.1:9"]
    assert wait_no_sdk_threads() == []


# --------------------------------------------------------------------------- TLS


def make_localhost_tls(tmp_path: Path) -> Tuple[ssl.SSLContext, Path]:
    """A server context for ``localhost`` and its self-signed certificate (no system trust)."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    command = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key)]
    command += ["-out", str(cert), "-days", "1", "-subj", "/CN=localhost"]
    command += ["-addext", "subjectAltName=DNS:localhost"]
    subprocess.run(command, check=True, capture_output=True, timeout=60)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


@pytest.fixture
def localhost_tls(tmp_path: Path) -> Tuple[ssl.SSLContext, Path]:
    return make_localhost_tls(tmp_path)


@pytest.fixture
def tls_peer(localhost_tls: Tuple[ssl.SSLContext, Path]) -> Iterator[Tuple[str, Path]]:
    """A ``wss://localhost`` WebSocket server; yields its URL and the certificate to trust."""
    from websockets.sync.server import serve

    def handler(connection: Any) -> None:
        for _ in connection:  # until the client closes
            pass

    server_context, cert = localhost_tls
    with serve(handler, "127.0.0.1", 0, ssl=server_context) as server:
        port = server.socket.getsockname()[1]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"wss://localhost:{port}/v1/realtime", cert
        finally:
            server.shutdown()
            thread.join(5)


def test_an_ssl_context_or_sslopt_trusts_a_private_ca(tls_peer: Tuple[str, Path]) -> None:
    url, cert = tls_peer
    with pytest.raises(RealtimeConnectionError, match=r"(?i)certificate"):
        RealtimeAPI(url=url, api_key="sk-tls-test-000001").connect(timeout=5)
    trusting = ssl.create_default_context(cafile=str(cert))
    connect_once(RealtimeAPI(endpoint=OpenAIEndpoint(url=url, api_key="", ssl_context=trusting)))
    with_sslopt = OpenAIEndpoint(url=url, api_key="", sslopt={"ca_certs": str(cert)})
    connect_once(RealtimeAPI(endpoint=with_sslopt))
    assert wait_no_sdk_threads() == []


def test_wss_goes_through_https_proxy_with_tls_inside_the_tunnel(
    monkeypatch: pytest.MonkeyPatch, tls_peer: Tuple[str, Path], proxy: ConnectProxy
) -> None:
    url, cert = tls_peer
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # not the one for wss://
    trusting = ssl.create_default_context(cafile=str(cert))
    connect_once(RealtimeAPI(endpoint=OpenAIEndpoint(url=url, api_key="", ssl_context=trusting)))
    port = url.split(":")[2].split("/")[0]
    assert proxy.targets == [f"localhost:{port}"]


def test_certificate_checks_cannot_be_turned_off() -> None:
    lax = ssl.create_default_context()
    lax.check_hostname = False
    lax.verify_mode = ssl.CERT_NONE
    hostless = ssl.create_default_context()
    hostless.check_hostname = False
    refused: List[Dict[str, Any]] = [
        {"ssl_context": lax},
        {"ssl_context": hostless},
        {"sslopt": {"cert_reqs": ssl.CERT_NONE}},
        {"sslopt": {"check_hostname": False}},
        {"sslopt": {"context": lax}},
    ]
    for options in refused:
        with pytest.raises(RealtimeError, match="cannot be turned off"):
            OpenAIEndpoint(api_key="k", **options)
        with pytest.raises(RealtimeError, match="cannot be turned off"):
            AzureEndpoint(resource="r", api_key="k", **options)
    with pytest.raises(TypeError, match="SSLContext"):
        OpenAIEndpoint(api_key="k", ssl_context="/etc/ssl/ca.pem")  # type: ignore[arg-type]


def test_websocket_options_tell_websocket_client_the_exact_choice(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://env.proxy:3128")
    options: Dict[str, Any] = OpenAIEndpoint(api_key="k").websocket_options(
        "wss://api.openai.com/v1/realtime"
    )
    assert (options["http_proxy_host"], options["http_proxy_port"]) == ("env.proxy", 3128)
    assert options["http_no_proxy"] != []  # so websocket-client does not read NO_PROXY again
    direct = OpenAIEndpoint(api_key="k", proxy=False).websocket_options("wss://api.openai.com/")
    assert direct["http_no_proxy"] == ["*"]  # so websocket-client does not read HTTPS_PROXY
