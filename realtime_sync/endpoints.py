"""Endpoints: where the Realtime API is reached, with which credentials, through which network.

An endpoint turns "connect" into a concrete request: the WebSocket URL (with
``model=`` when a model is given, ``call_id=`` to attach to a SIP call) and the
handshake headers carrying the credential. The transport
(:class:`~realtime_sync.api.RealtimeAPI`) asks for a fresh request on every
connect and every reconnect, so a credential given as a callable (a key vault
lookup, a Microsoft Entra ID token provider) is called again each time and a
long session survives the expiry of a short-lived token.

* :class:`OpenAIEndpoint`: ``wss://api.openai.com/v1/realtime`` with
  ``Authorization: Bearer <key>`` (or a relay / the simulator with ``url=``);
* :class:`AzureEndpoint`: Azure OpenAI's GA (v1) API,
  ``wss://<resource>.openai.azure.com/openai/v1/realtime?model=<deployment>``,
  with an ``api-key`` header or an Entra ID bearer token.

The same endpoint serves the REST calls (:mod:`realtime_sync.calls`,
:func:`~realtime_sync.secrets.create_client_secret`) and carries the network
options both use: an HTTP proxy (by default from ``HTTPS_PROXY`` /
``HTTP_PROXY`` / ``ALL_PROXY`` and ``NO_PROXY``, the way ``requests`` reads
them) and the TLS settings (an :class:`ssl.SSLContext`, or websocket-client's
``sslopt``).

The path is a parameter (:data:`REALTIME_PATH`, :data:`LIVE_PATH`), so a
transport for another protocol on the same host can use the same endpoints.
"""

from __future__ import annotations

import abc
import ipaddress
import json
import os
import re
import ssl
import urllib.error
import urllib.request
from typing import (
    Any,
    Callable,
    Dict,
    List,
    Mapping,
    Optional,
    Sequence,
    Tuple,
    TypeVar,
    Union,
)
from urllib.parse import quote, unquote, urlencode, urlsplit, urlunsplit

import attrs

from .errors import RealtimeConnectionError, RealtimeError
from .redact import redact_secrets
from .secrets import check_api_key, check_headers, public_url, redirect_refused

__all__ = [
    "LIVE_PATH",
    "OPENAI_BASE_URL",
    "REALTIME_PATH",
    "AzureEndpoint",
    "Credential",
    "Endpoint",
    "EndpointRequest",
    "OpenAIEndpoint",
    "Proxy",
    "ProxySetting",
    "resolve_proxy",
]


OPENAI_BASE_URL = "https://api.openai.com/v1"
"""OpenAI's API base: REST under it, the WebSocket at ``wss://`` + the same host and path."""

REALTIME_PATH = "/realtime"
"""The Realtime API's WebSocket path under the API base."""

LIVE_PATH = "/live/sessions"
"""The GPT-Live WebSocket path under the API base (for a transport of that protocol)."""

Credential = Union[str, Callable[[], str]]
"""An API key or token, or a callable returning one (called again on every connect)."""

_DEFAULT_MODEL = "gpt-realtime"

# "Never bypass": a no_proxy entry that matches no host name (it has spaces and
# brackets), so websocket-client does not consult $NO_PROXY again for a proxy
# this module already chose.
_NO_BYPASS = ["<proxy every host>"]
# With http_no_proxy=["*"] websocket-client connects directly whatever the
# environment says; the placeholder proxy is never contacted.
_DIRECT = {"http_proxy_host": "direct.invalid", "http_proxy_port": 9, "http_no_proxy": ["*"]}
_PROXY_SCHEMES = ("http", "socks4", "socks4a", "socks5", "socks5h")
_AZURE_RESOURCE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?")


# --------------------------------------------------------------------------- proxies


@attrs.frozen
class Proxy:
    """A proxy to reach the API through: an HTTP ``CONNECT`` proxy, or SOCKS (WebSocket only).

    Build one with :meth:`from_url` (``"http://user:password@proxy.corp:3128"``).
    The credentials never appear in its repr.

    Attributes:
        host: the proxy's host name or address.
        port: its port.
        username: for Basic proxy authentication (``None``: none).
        password: likewise.
        scheme: ``"http"`` (a ``CONNECT`` tunnel; TLS to the server runs inside
            it), or ``"socks5"``, ``"socks5h"``, ``"socks4"``, ``"socks4a"``
            (WebSocket only, and websocket-client needs ``python-socks`` for them).
    """

    host: str
    port: int
    username: Optional[str] = attrs.field(default=None, repr=False)
    password: Optional[str] = attrs.field(default=None, repr=False)
    scheme: str = "http"

    def __attrs_post_init__(self) -> None:
        if self.scheme not in _PROXY_SCHEMES:
            raise RealtimeError(
                f"unsupported proxy scheme {self.scheme!r}: use one of {', '.join(_PROXY_SCHEMES)}"
            )
        if not self.host or not 0 < self.port < 65536:
            raise RealtimeError("a proxy needs a host and a port between 1 and 65535")

    @classmethod
    def from_url(cls, url: str) -> Proxy:
        """The proxy ``url`` names: ``[scheme://][user[:password]@]host[:port]``.

        A URL without a scheme is taken as ``http://`` (as ``requests`` does);
        the port defaults to 80 for ``http`` and 1080 for SOCKS.

        Raises:
            RealtimeError: an ``https://`` proxy (TLS to the proxy itself is not
                supported: use ``http://``, the connection to the server is still
                TLS inside the tunnel), an unknown scheme, or no host.
        """
        text = url.strip()
        if "://" not in text:
            text = "http://" + text
        try:
            parts = urlsplit(text)
            port = parts.port
        except ValueError:
            raise RealtimeError(
                f"the proxy URL {public_url(text)!r} is not valid: write it as "
                "http://host:port (or http://user:password@host:port)"
            ) from None
        scheme = parts.scheme.lower()
        if scheme == "https":
            raise RealtimeError(
                "an https:// proxy (TLS to the proxy itself) is not supported: use its "
                "http:// address; the connection to the server stays TLS inside the tunnel"
            )
        if not parts.hostname:
            raise RealtimeError(f"the proxy URL {public_url(text)!r} names no host")
        return cls(
            host=parts.hostname,
            port=port or (80 if scheme == "http" else 1080),
            username=unquote(parts.username) if parts.username is not None else None,
            password=unquote(parts.password) if parts.password is not None else None,
            scheme=scheme,
        )

    @property
    def address(self) -> str:
        """``scheme://host:port``, without the credentials: for messages and logs."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.scheme}://{host}:{self.port}"

    def _url_with_credentials(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        auth = ""
        if self.username is not None:
            auth = quote(self.username, safe="")
            if self.password is not None:
                auth += ":" + quote(self.password, safe="")
            auth += "@"
        return f"{self.scheme}://{auth}{host}:{self.port}"


ProxySetting = Union[Proxy, str, bool, None]
"""How to choose a proxy: ``None`` (or ``True``) from the environment, like ``requests``;
``False`` never a proxy (the environment ignored); a URL or a :class:`Proxy`: that one."""


def resolve_proxy(url: str, proxy: ProxySetting = None) -> Optional[Proxy]:
    """The proxy a connection to ``url`` goes through, or ``None`` for a direct connection.

    With ``proxy=None`` (the default everywhere) the environment decides, as in
    ``requests``: ``https_proxy`` / ``HTTPS_PROXY`` for ``wss://`` and
    ``https://``, ``http_proxy`` / ``HTTP_PROXY`` for ``ws://`` and ``http://``,
    else ``all_proxy`` / ``ALL_PROXY``; the lowercase name wins. ``no_proxy`` /
    ``NO_PROXY`` lists hosts to reach directly: ``*`` for all, a domain (with or
    without a leading dot) for it and its subdomains, ``host:port``, or an
    address range such as ``10.0.0.0/8``.
    """
    if proxy is False:
        return None
    if isinstance(proxy, Proxy):
        return proxy
    if isinstance(proxy, str):
        return Proxy.from_url(proxy)
    parts = urlsplit(url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    environment = urllib.request.getproxies_environment()
    if _bypassed(parts.hostname or "", parts.port, environment.get("no", "")):
        return None
    value = environment.get(scheme) or environment.get("all")
    return Proxy.from_url(value) if value else None


def _bypassed(host: str, port: Optional[int], no_proxy: str) -> bool:
    """Whether ``no_proxy`` (the comma-separated list of the environment) covers ``host``."""
    host = host.lower().rstrip(".")
    address: Union[ipaddress.IPv4Address, ipaddress.IPv6Address, None]
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.replace(" ", ",").split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        if address is not None and "/" in entry:
            try:
                if address in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                pass
            continue
        name, _, entry_port = entry.rpartition(":") if _has_port(entry) else (entry, "", "")
        if entry_port and (port is None or entry_port != str(port)):
            continue
        name = name.strip("[]").lstrip(".").rstrip(".")
        if name and (host == name or host.endswith("." + name)):
            return True
    return False


def _has_port(entry: str) -> bool:
    if entry.startswith("["):  # [::1]:8080
        return "]:" in entry
    return entry.count(":") == 1


# --------------------------------------------------------------------------- requests


def _mask_headers(headers: Tuple[Tuple[str, str], ...]) -> str:
    shown = ", ".join(f"{name}: <{len(value)} chars>" for name, value in headers)
    return f"({shown})"


@attrs.frozen
class EndpointRequest:
    """One request an endpoint prepared: where to connect, and the headers to send.

    Its repr shows the URL without its query and the header names only.

    Attributes:
        url: the full URL (WebSocket or REST).
        headers: the headers to send, credential included, in order.
        secrets: the credentials in the headers (empty when none is sent), for
            redaction from any error text.
    """

    url: str = attrs.field(repr=public_url)
    headers: Tuple[Tuple[str, str], ...] = attrs.field(repr=_mask_headers)
    secrets: Tuple[str, ...] = attrs.field(default=(), repr=False)

    def redact(self, text: str) -> str:
        """``text`` with this request's credentials (and anything shaped like a key) hidden."""
        for secret in self.secrets:
            text = redact_secrets(text, secret)
        return redact_secrets(text)

    def with_headers(self, extra: Mapping[str, str]) -> EndpointRequest:
        """This request with ``extra`` headers added; one named like an existing header
        (ignoring case) replaces it."""
        if not extra:
            return self
        names = {name.lower() for name in extra}
        kept = tuple((n, v) for n, v in self.headers if n.lower() not in names)
        return attrs.evolve(self, headers=kept + tuple((n, str(v)) for n, v in extra.items()))


# --------------------------------------------------------------------------- endpoints


class Endpoint(abc.ABC):
    """Where and how to reach a Realtime-style API: URLs, credentials, proxy and TLS.

    Subclasses build the requests; this base turns the network options into
    websocket-client's and urllib's. Implement :meth:`websocket_request`,
    :meth:`rest_request`, :attr:`websocket_url` and :attr:`default_model` to
    reach another host.
    """

    proxy: ProxySetting
    ssl_context: Optional[ssl.SSLContext]
    sslopt: Optional[Mapping[str, Any]]

    @property
    @abc.abstractmethod
    def websocket_url(self) -> str:
        """The Realtime WebSocket URL before any query is added (shown in reprs and logs)."""

    @property
    @abc.abstractmethod
    def default_model(self) -> Optional[str]:
        """The model (Azure: deployment) a connect asks for when it names none."""

    @property
    @abc.abstractmethod
    def credential_kind(self) -> str:
        """What authenticates the requests, for reprs: ``"api key"``, ``"token provider"``..."""

    @abc.abstractmethod
    def websocket_request(
        self,
        *,
        path: str = REALTIME_PATH,
        model: Optional[str] = None,
        call_id: Optional[str] = None,
        query: Optional[Mapping[str, str]] = None,
    ) -> EndpointRequest:
        """The request that opens a WebSocket: credentials fetched now (a callable is called).

        Args:
            path: the protocol's path under the API base (:data:`REALTIME_PATH`).
            model: sent as ``model=`` when given.
            call_id: sent as ``call_id=`` when given: attach to a SIP call.
            query: further query parameters.

        Raises:
            RealtimeError: no credential where one is needed, or a credential
                (or what a callable returned) that would corrupt the request.
        """

    @abc.abstractmethod
    def rest_request(self, path: str) -> EndpointRequest:
        """The URL and headers of a REST call to ``path`` under the API base
        (``"/realtime/calls/x/accept"``); credentials are fetched now."""

    # ------------------------------------------------------------------ network options

    def websocket_options(self, url: str) -> Dict[str, Any]:
        """The proxy and TLS keyword arguments for ``websocket.create_connection(url, ...)``.

        The proxy is chosen here (see :func:`resolve_proxy`), and websocket-client
        is told exactly that choice, so its own reading of the environment never
        applies.
        """
        options: Dict[str, Any] = {}
        proxy = resolve_proxy(url, self.proxy)
        if proxy is None:
            options.update(_DIRECT)
        else:
            options.update(
                http_proxy_host=proxy.host,
                http_proxy_port=proxy.port,
                proxy_type=proxy.scheme,
                http_no_proxy=list(_NO_BYPASS),
            )
            if proxy.username is not None:
                options["http_proxy_auth"] = (proxy.username, proxy.password or "")
        sslopt = dict(self.sslopt or {})
        if self.ssl_context is not None:
            sslopt["context"] = self.ssl_context
        if sslopt:
            options["sslopt"] = sslopt
        return options

    def proxy_secrets(self, url: str) -> Tuple[str, ...]:
        """The proxy password used for ``url``, if any (for redaction)."""
        proxy = resolve_proxy(url, self.proxy)
        return (proxy.password,) if proxy is not None and proxy.password else ()

    def url_opener(self, url: str) -> urllib.request.OpenerDirector:
        """A urllib opener for ``url`` with this endpoint's proxy and TLS, refusing redirects."""
        handlers: List[Any] = [_RefuseRedirects()]
        proxy = resolve_proxy(url, self.proxy)
        if proxy is not None and proxy.scheme != "http":
            raise RealtimeError(
                f"the {proxy.scheme} proxy {proxy.address} works for the WebSocket only: REST "
                "calls (call control, client secrets) need an http:// proxy"
            )
        scheme = urlsplit(url).scheme
        chosen = {scheme: proxy._url_with_credentials()} if proxy is not None else {}
        handlers.append(urllib.request.ProxyHandler(chosen))  # {} = direct, env ignored
        if self.ssl_context is not None:
            handlers.append(urllib.request.HTTPSHandler(context=self.ssl_context))
        return urllib.request.build_opener(*handlers)


def _proxy_setting(value: ProxySetting) -> ProxySetting:
    """A proxy URL parsed now: checked at once, and its password never in a repr."""
    if isinstance(value, str):
        return Proxy.from_url(value)
    if value is True:
        return None
    if value is not None and value is not False and not isinstance(value, Proxy):
        raise TypeError(
            "proxy= takes a URL, a Proxy, None (from the environment) or False (never a "
            f"proxy), not {type(value).__name__}"
        )
    return value


def _check_tls(ssl_context: Optional[ssl.SSLContext], sslopt: Optional[Mapping[str, Any]]) -> None:
    """Refuse TLS settings that turn certificate verification off: there is no switch for it."""
    hint = (
        ": certificate checks cannot be turned off. To reach a server whose certificate "
        "is signed by your own CA, trust that CA instead: "
        "ssl_context=ssl.create_default_context(cafile='my-ca.pem')"
    )
    if ssl_context is not None and not isinstance(ssl_context, ssl.SSLContext):
        raise TypeError(f"ssl_context must be an ssl.SSLContext, not {type(ssl_context).__name__}")
    if ssl_context is not None and (
        ssl_context.verify_mode == ssl.CERT_NONE or not ssl_context.check_hostname
    ):
        raise RealtimeError("this ssl_context does not verify certificates or host names" + hint)
    options = dict(sslopt or {})
    if (
        options.get("cert_reqs", ssl.CERT_REQUIRED) != ssl.CERT_REQUIRED
        or options.get("check_hostname", True) is False
    ):
        raise RealtimeError("sslopt turns certificate or host name verification off" + hint)
    context = options.get("context")
    if context is not None:
        _check_tls(context, None)


def _credential_repr(value: Any) -> str:
    if value is None or value == "":
        return "None"
    return "<callable>" if callable(value) else "'<set>'"


def _strip(value: Optional[Credential]) -> Optional[Credential]:
    return value.strip() if isinstance(value, str) else value


def _fetch(credential: Optional[Credential], what: str) -> Optional[str]:
    """The credential's value now: a callable is called; checked to be header-safe."""
    if credential is None or isinstance(credential, str):
        return check_api_key(credential, what=what)
    try:
        value = credential()
    except RealtimeError:
        raise
    except Exception as exc:
        raise RealtimeError(
            f"{what} provider raised {type(exc).__name__}: {redact_secrets(str(exc))[:300]} "
            "- fix the provider (its credentials, its network) and connect again"
        ) from exc
    if not isinstance(value, str) or not value.strip():
        raise RealtimeError(
            f"{what} provider returned {type(value).__name__ if value is not None else 'None'}"
            f"{' (empty)' if isinstance(value, str) else ''} instead of a non-empty string: "
            "make the callable return the key or token itself"
        )
    return check_api_key(value, what=f"{what} returned by the provider")


def _join(base: str, path: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=parts.path.rstrip("/") + path))


def _with_query(url: str, params: Mapping[str, Optional[str]]) -> str:
    given = {k: v for k, v in params.items() if v is not None}
    if not given:
        return url
    sep = "&" if urlsplit(url).query else "?"
    return f"{url}{sep}{urlencode(given)}"


def _to_ws(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"https": "wss", "http": "ws"}.get(parts.scheme, parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme))


def _to_http(url: str) -> str:
    parts = urlsplit(url)
    scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
    return urlunsplit(parts._replace(scheme=scheme))


def _check_scheme(url: str, allowed: Sequence[str], what: str) -> str:
    scheme = urlsplit(url).scheme
    if scheme not in allowed:
        raise RealtimeError(
            f"{what} must start with {' or '.join(s + '://' for s in allowed)}, not "
            f"{public_url(url)!r}"
        )
    return url


def _query_params(
    model: Optional[str], call_id: Optional[str], query: Optional[Mapping[str, str]]
) -> Dict[str, Optional[str]]:
    if call_id is not None and (not isinstance(call_id, str) or not call_id):
        raise RealtimeError("call_id must be a non-empty string (from realtime.call.incoming)")
    return {"model": model or None, "call_id": call_id, **dict(query or {})}


@attrs.frozen(kw_only=True)
class OpenAIEndpoint(Endpoint):
    """OpenAI's Realtime API, or a relay or simulator speaking its protocol.

    Args:
        api_key: the key, or a callable returning it (called on every connect
            and REST call). ``None`` reads ``$OPENAI_API_KEY`` now; ``""`` sends
            no key (a relay or simulator that needs none).
        base_url: the API base; REST calls go under it and the WebSocket to its
            ``wss://`` form + ``/realtime``. Defaults to
            ``https://api.openai.com/v1``, or, with ``url=``, to ``url`` without
            its ``/realtime``.
        url: the complete Realtime WebSocket URL, when it is not
            ``<base_url>/realtime`` (a relay, ``RealtimeSimulator.url``).
        model: the model a connect asks for when it names none (``None``: send
            no ``model=``, as for an ephemeral key whose session names it).
            Never sent when attaching to a SIP call (``call_id``).
        organization: sent as ``OpenAI-Organization``.
        project: sent as ``OpenAI-Project``.
        headers: more headers for every request.
        proxy: see :data:`ProxySetting` (default: from the environment).
        ssl_context: the TLS settings (trusted CAs, client certificate) for the
            WebSocket and the REST calls. It must verify certificates and host
            names (a context that does not is refused).
        sslopt: websocket-client's ``sslopt`` for the WebSocket only
            (``ssl_context`` is the one both use); options that turn
            verification off are refused.
    """

    api_key: Optional[Credential] = attrs.field(
        default=None, converter=_strip, repr=_credential_repr
    )
    base_url: Optional[str] = None
    url: Optional[str] = None
    model: Optional[str] = _DEFAULT_MODEL
    organization: Optional[str] = None
    project: Optional[str] = None
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    proxy: ProxySetting = attrs.field(default=None, converter=_proxy_setting)
    ssl_context: Optional[ssl.SSLContext] = attrs.field(default=None, eq=False)
    sslopt: Optional[Mapping[str, Any]] = attrs.field(default=None, repr=False)

    def __attrs_post_init__(self) -> None:
        _check_tls(self.ssl_context, self.sslopt)
        if self.api_key is None:
            object.__setattr__(self, "api_key", _strip(os.environ.get("OPENAI_API_KEY")))
        if self.url is not None:
            _check_scheme(self.url, ("wss", "ws"), "url=")
        if self.base_url is not None:
            _check_scheme(self.base_url, ("https", "http", "wss", "ws"), "base_url=")

    @property
    def rest_base(self) -> str:
        """The REST API base this endpoint's calls go under."""
        if self.base_url is not None:
            return _to_http(self.base_url).rstrip("/")
        if self.url is not None:
            parts = urlsplit(_to_http(self.url))
            path = parts.path.rstrip("/")
            if path.endswith(REALTIME_PATH):
                path = path[: -len(REALTIME_PATH)]
            return urlunsplit(parts._replace(path=path, query="", fragment=""))
        return OPENAI_BASE_URL

    @property
    def websocket_url(self) -> str:
        """The Realtime WebSocket URL (``url=``, or derived from ``base_url``)."""
        if self.url is not None:
            return self.url
        return _join(_to_ws(self.rest_base), REALTIME_PATH)

    @property
    def default_model(self) -> Optional[str]:
        """``model`` (``"gpt-realtime"`` unless given)."""
        return self.model

    @property
    def credential_kind(self) -> str:
        """``"api key"``, ``"key provider"`` or ``"none"``."""
        if callable(self.api_key):
            return "key provider"
        return "api key" if self.api_key else "none"

    def _auth(self, target: str) -> Tuple[List[Tuple[str, str]], Tuple[str, ...]]:
        key = _fetch(self.api_key, "the API key")
        if not key and urlsplit(target).hostname == "api.openai.com":
            raise RealtimeError(
                "no API key: set the OPENAI_API_KEY environment variable or pass api_key=...; "
                "to work offline, pass url= of a relay or of RealtimeSimulator"
            )
        headers: List[Tuple[str, str]] = []
        if key:
            headers.append(("Authorization", f"Bearer {key}"))
        if self.organization:
            headers.append(("OpenAI-Organization", self.organization))
        if self.project:
            headers.append(("OpenAI-Project", self.project))
        return headers, (key,) if key else ()

    def _finish(
        self, url: str, auth: List[Tuple[str, str]], secrets: Tuple[str, ...]
    ) -> EndpointRequest:
        request = EndpointRequest(url=url, headers=tuple(auth), secrets=secrets)
        request = request.with_headers(self.headers)
        check_headers(dict(request.headers), secrets[0] if secrets else None)
        return request

    def websocket_request(
        self,
        *,
        path: str = REALTIME_PATH,
        model: Optional[str] = None,
        call_id: Optional[str] = None,
        query: Optional[Mapping[str, str]] = None,
    ) -> EndpointRequest:
        """See :meth:`Endpoint.websocket_request`; ``url=`` is used for :data:`REALTIME_PATH`."""
        base = self.websocket_url if path == REALTIME_PATH else _join(_to_ws(self.rest_base), path)
        url = _with_query(base, _query_params(model, call_id, query))
        auth, secrets = self._auth(url)
        return self._finish(url, auth, secrets)

    def rest_request(self, path: str) -> EndpointRequest:
        """See :meth:`Endpoint.rest_request`."""
        url = _join(self.rest_base, path)
        auth, secrets = self._auth(url)
        return self._finish(url, auth, secrets)


def _azure_base(resource: Optional[str], base_url: Optional[str]) -> str:
    if resource is not None and base_url is not None:
        raise RealtimeError("pass resource= or base_url= to AzureEndpoint, not both")
    if resource is None and base_url is None:
        base_url = os.environ.get("AZURE_OPENAI_ENDPOINT") or None
        if base_url is None:
            raise RealtimeError(
                "AzureEndpoint needs the resource: pass resource='my-resource' (for "
                "https://my-resource.openai.azure.com), base_url=..., or set AZURE_OPENAI_ENDPOINT"
            )
    if resource is not None:
        if not _AZURE_RESOURCE.fullmatch(resource):
            raise RealtimeError(
                f"{resource!r} is not an Azure resource name (letters, digits and hyphens): pass "
                "the name only, or the whole address as base_url="
            )
        return f"https://{resource}.openai.azure.com/openai/v1"
    assert base_url is not None
    _check_scheme(base_url, ("https", "http", "wss", "ws"), "base_url=")
    parts = urlsplit(_to_http(base_url.strip()))
    path = parts.path.rstrip("/")
    if path in ("", "/openai"):  # the resource root, as the Azure portal shows it
        path = "/openai/v1"
    return urlunsplit(parts._replace(path=path, query="", fragment=""))


@attrs.frozen(kw_only=True)
class AzureEndpoint(Endpoint):
    """Azure OpenAI's GA (v1) Realtime API.

    The WebSocket is ``wss://<resource>.openai.azure.com/openai/v1/realtime?model=<deployment>``;
    the credential is an API key (``api-key`` header) or a Microsoft Entra ID
    token (``Authorization: Bearer``) from ``token_provider``, which is called on
    every connect and REST call, so a reconnect after the token expired gets a
    fresh one. With ``azure-identity``::

        from azure.identity import DefaultAzureCredential, get_bearer_token_provider
        token_provider = get_bearer_token_provider(
            DefaultAzureCredential(), "https://cognitiveservices.azure.com/.default"
        )

    Args:
        resource: the resource name (``my-resource`` of ``my-resource.openai.azure.com``).
        base_url: instead of ``resource``: the resource's address (its root, or
            the API base ending in ``/openai/v1``). Without either,
            ``$AZURE_OPENAI_ENDPOINT``.
        deployment: the deployment to connect to (sent as ``model=``); a
            connect's own ``model=`` wins.
        api_key: the key, or a callable returning it. Without it and without
            ``token_provider``, ``$AZURE_OPENAI_API_KEY``.
        token_provider: a callable returning an Entra ID access token.
        headers: more headers for every request.
        proxy: see :data:`ProxySetting` (default: from the environment).
        ssl_context: TLS settings for the WebSocket and the REST calls (verifying).
        sslopt: websocket-client's ``sslopt`` (WebSocket only; verifying).
    """

    resource: Optional[str] = None
    base_url: Optional[str] = None
    deployment: Optional[str] = None
    api_key: Optional[Credential] = attrs.field(
        default=None, converter=_strip, repr=_credential_repr
    )
    token_provider: Optional[Callable[[], str]] = attrs.field(default=None, repr=_credential_repr)
    headers: Mapping[str, str] = attrs.field(factory=dict, repr=False)
    proxy: ProxySetting = attrs.field(default=None, converter=_proxy_setting)
    ssl_context: Optional[ssl.SSLContext] = attrs.field(default=None, eq=False)
    sslopt: Optional[Mapping[str, Any]] = attrs.field(default=None, repr=False)
    _base: str = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        _check_tls(self.ssl_context, self.sslopt)
        object.__setattr__(self, "_base", _azure_base(self.resource, self.base_url))
        if self.api_key is not None and self.token_provider is not None:
            raise RealtimeError(
                "pass api_key= or token_provider= to AzureEndpoint, not both: a request carries "
                "one credential"
            )
        if self.token_provider is not None and not callable(self.token_provider):
            raise RealtimeError(
                "token_provider must be a callable returning a token (for example "
                "azure.identity.get_bearer_token_provider(...)); pass a fixed key as api_key="
            )
        if self.api_key is None and self.token_provider is None:
            object.__setattr__(self, "api_key", _strip(os.environ.get("AZURE_OPENAI_API_KEY")))

    @property
    def rest_base(self) -> str:
        """The REST API base (``https://<resource>.openai.azure.com/openai/v1``)."""
        return self._base

    @property
    def websocket_url(self) -> str:
        """``wss://<resource>.openai.azure.com/openai/v1/realtime``."""
        return _join(_to_ws(self._base), REALTIME_PATH)

    @property
    def default_model(self) -> Optional[str]:
        """The deployment."""
        return self.deployment

    @property
    def credential_kind(self) -> str:
        """``"api key"``, ``"key provider"``, ``"token provider"`` or ``"none"``."""
        if self.token_provider is not None:
            return "token provider"
        if callable(self.api_key):
            return "key provider"
        return "api key" if self.api_key else "none"

    def _request(self, url: str) -> EndpointRequest:
        if self.token_provider is not None:
            token = _fetch(self.token_provider, "the Entra ID token")
            assert token is not None
            auth, secret = ("Authorization", f"Bearer {token}"), token
        else:
            key = _fetch(self.api_key, "the Azure API key")
            if not key:
                raise RealtimeError(
                    "no Azure credential: pass api_key= (or set AZURE_OPENAI_API_KEY), or "
                    "token_provider= for Microsoft Entra ID"
                )
            auth, secret = ("api-key", key), key
        request = EndpointRequest(url=url, headers=(auth,), secrets=(secret,))
        request = request.with_headers(self.headers)
        check_headers(dict(request.headers), secret)
        return request

    def websocket_request(
        self,
        *,
        path: str = REALTIME_PATH,
        model: Optional[str] = None,
        call_id: Optional[str] = None,
        query: Optional[Mapping[str, str]] = None,
    ) -> EndpointRequest:
        """See :meth:`Endpoint.websocket_request`.

        Raises:
            RealtimeError: also when neither ``model`` nor a ``deployment`` (nor a
                ``call_id``) says what to connect to.
        """
        if not model and call_id is None and path == REALTIME_PATH:
            raise RealtimeError(
                "Azure OpenAI needs the deployment name: pass AzureEndpoint(deployment=...) or "
                "connect(model='<deployment>')"
            )
        base = _join(_to_ws(self._base), path)
        return self._request(_with_query(base, _query_params(model, call_id, query)))

    def rest_request(self, path: str) -> EndpointRequest:
        """See :meth:`Endpoint.rest_request`."""
        return self._request(_join(self._base, path))


# --------------------------------------------------------------------------- REST


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    """Turns every redirect into an ``HTTPError`` (whose 3xx status the caller reports)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


E = TypeVar("E", bound=RealtimeError)

_REST_HINTS = {
    400: "the request was refused as invalid; the response says which field",
    401: "check the API key (or token)",
    403: "this key may not use this API or model",
    404: "not found: check the base URL, and the id (a call ends or expires quickly)",
    409: "the call is not in a state that allows this (already accepted, or ended)",
    429: "you are rate limited or out of quota",
}


def _post_json(
    endpoint: Endpoint,
    path: str,
    body: Optional[Mapping[str, Any]],
    *,
    what: str,
    timeout: float,
    error: Callable[..., E],
) -> Any:
    """POST ``body`` as JSON to ``path`` under the endpoint's API base; the parsed answer.

    An empty answer is ``None``. Redirects are never followed. ``error(message,
    status=..., body=...)`` builds the exception for an HTTP error or a network
    failure; every credential is redacted from its message and body.
    """
    request = endpoint.rest_request(path)
    request = attrs.evolve(request, secrets=request.secrets + endpoint.proxy_secrets(request.url))
    data = json.dumps(body).encode("utf-8") if body is not None else b""
    headers = dict(request.headers)
    headers.setdefault("Content-Type", "application/json")
    headers.setdefault("Accept", "application/json")
    http_request = urllib.request.Request(request.url, data=data, headers=headers, method="POST")
    opener = endpoint.url_opener(request.url)
    try:
        with opener.open(http_request, timeout=timeout) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        if 300 <= exc.code < 400:
            exc.close()
            key = request.secrets[0] if request.secrets else None
            raise redirect_refused(
                what, request.url, exc.code, exc.headers.get("Location"), key
            ) from None
        text = request.redact(exc.read().decode("utf-8", "replace"))
        hint = _REST_HINTS.get(exc.code, "the server failed; try again" if exc.code >= 500 else "")
        raise error(
            f"{what} failed with HTTP {exc.code}"
            + (f" ({hint})" if hint else "")
            + (f": {text[:300]}" if text else ""),
            status=exc.code,
            body=text,
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        detail = request.redact(str(getattr(exc, "reason", exc)))
        raise error(
            f"{what} failed: could not reach {public_url(request.url)} ({detail}) - check the "
            "URL, the network and the proxy",
            status=None,
            body=None,
        ) from None
    if not raw.strip():
        return None
    try:
        return json.loads(raw.decode("utf-8"))
    except ValueError:
        raise error(
            f"{what}: the answer of {public_url(request.url)} is not JSON",
            status=None,
            body=request.redact(raw.decode("utf-8", "replace"))[:1000],
        ) from None


def _connection_error(
    message: str, *, status: Optional[int], body: Optional[str]
) -> RealtimeConnectionError:
    return RealtimeConnectionError(message, status=status, body=body)
