"""Ephemeral client secrets: short-lived keys to hand to a browser or a device.

A server that holds the real API key calls :func:`create_client_secret`
(``POST /v1/realtime/client_secrets``) and gives the returned ``value`` to the
untrusted client, which connects with it as its ``api_key``. The secret expires
(``expires_after_s``, at most two hours) and can carry the session config it is
valid for.
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING, Any, Mapping, Optional
from urllib.parse import urljoin, urlsplit

import attrs

from . import protocol
from .errors import RealtimeConnectionError, RealtimeError, RealtimeRedirectError
from .models import SessionConfig
from .redact import redact_secrets

if TYPE_CHECKING:
    from .endpoints import Endpoint

__all__ = [
    "DEFAULT_API_BASE",
    "ClientSecret",
    "check_api_key",
    "check_headers",
    "create_client_secret",
    "public_url",
    "redirect_refused",
]

DEFAULT_API_BASE = "https://api.openai.com/v1"
"""Where the REST endpoint lives."""

# RFC 9110 token: the only characters an HTTP header name may have.
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# C0 controls and DEL: CR and LF would end the header line, NUL truncates it in C servers.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_api_key(key: Optional[str], *, what: str = "the API key") -> Optional[str]:
    """``key`` without surrounding whitespace, checked to be safe inside an HTTP header.

    Raises :class:`RealtimeError` (naming ``what`` as the problem, never
    showing the value) when it holds a control character or a non-ASCII one:
    both corrupt the request, and CR/LF would let it add header lines of its
    own. ``what`` names the credential (``"the Entra ID token returned by the
    provider"``...).
    """
    if key is None:
        return None
    key = key.strip()
    if _CONTROL.search(key):
        raise RealtimeError(
            f"{what} contains a control character (such as CR, LF or NUL), which would "
            "corrupt the HTTP request: check where it is read from (a stray newline in a "
            "file or an environment variable is the usual cause)"
        )
    if not key.isascii():
        raise RealtimeError(
            f"{what} contains a non-ASCII character (a typographic quote or dash from a "
            "copy and paste?): keys and tokens are plain ASCII; copy it again"
        )
    return key


def check_headers(headers: Mapping[str, Any], api_key: Optional[str] = None) -> None:
    """Refuse extra HTTP headers that could corrupt the request or inject lines of their own.

    Names must be HTTP tokens; values must not contain control characters (a
    tab is allowed, as HTTP allows it). Errors name the header, never its value.
    """
    for name, value in headers.items():
        if not isinstance(name, str) or not _TOKEN.fullmatch(name):
            shown = redact_secrets(repr(name), api_key)[:60]
            raise RealtimeError(
                f"the header name {shown} is not a valid HTTP header name: use letters, digits "
                "and -, without spaces, colons or line breaks"
            )
        if _CONTROL.search(str(value).replace("\t", " ")):
            raise RealtimeError(
                f"the value of the header {name!r} contains a control character (such as CR, LF "
                "or NUL), which would corrupt the request or add header lines of its own: "
                "remove it"
            )


def public_url(url: str) -> str:
    """``url`` without its query string, fragment and user info (where secrets could hide)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:  # an unparseable host or port
        return "<an invalid URL>"
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{port}" if port is not None else host
    return f"{parts.scheme}://{netloc}{parts.path}"


def redirect_refused(
    what: str, url: str, status: int, location: Optional[str], api_key: Optional[str] = None
) -> RealtimeRedirectError:
    """The error for a redirect (HTTP ``status`` to ``location``) answering ``what`` to ``url``.

    The target is named without its query string, and with ``api_key`` redacted.
    """
    if not location:
        return RealtimeRedirectError(
            f"{what} to {public_url(url)} was answered with a redirect (HTTP {status}) that names "
            "no target: check the URL",
            status=status,
            location=None,
        )
    target = redact_secrets(public_url(urljoin(url, location)), api_key)
    secure = ("wss", "https")
    scheme = urlsplit(target).scheme
    downgrade = ""
    if urlsplit(url).scheme in secure and scheme not in secure:
        downgrade = f", and it would even drop TLS (to plain {scheme}://, readable on the network)"
    return RealtimeRedirectError(
        f"{what} to {public_url(url)} was redirected (HTTP {status}) to {target}; redirects are "
        f"never followed, so the API key is not sent to another host{downgrade}. If {target} is "
        "an endpoint you trust, pass it as url= (base_url= for REST) instead",
        status=status,
        location=target,
    )


def _mask(value: str) -> str:
    return f"{value[:3]}...<{len(value)} chars>" if value else ""


@attrs.frozen
class ClientSecret:
    """A short-lived key. ``value`` is the secret; its repr never shows it."""

    value: str = attrs.field(repr=_mask)
    expires_at: int
    session: Optional[SessionConfig] = None


def create_client_secret(
    *,
    api_key: Optional[str] = None,
    session: Optional[SessionConfig] = None,
    expires_after_s: int = 600,
    base_url: Optional[str] = None,
    timeout: float = 10.0,
    endpoint: Optional[Endpoint] = None,
) -> ClientSecret:
    """Create an ephemeral client secret for the Realtime API.

    Args:
        api_key: the real key; defaults to ``$OPENAI_API_KEY``.
        session: the session the secret is for (default: a plain realtime session).
        expires_after_s: lifetime in seconds (10 to 7200).
        base_url: the REST API base (default ``https://api.openai.com/v1``; a
            local stub in tests).
        timeout: seconds for the HTTP request.
        endpoint: instead of ``api_key``/``base_url``: the
            :class:`~realtime_sync.endpoints.Endpoint` to ask (Azure OpenAI, a
            proxy, TLS settings).

    Raises:
        RealtimeError: no API key, a key with control characters, or a bad lifetime.
        RealtimeRedirectError: the server answered with a redirect; it is not
            followed (the key would go to the redirect's host).
        RealtimeConnectionError: the request failed (``status``/``body`` set for HTTP errors).
    """
    # endpoints imports this module (its header checks): imported here, when called.
    from .endpoints import OpenAIEndpoint, _connection_error, _post_json  # noqa: PLC0415

    if endpoint is not None and (api_key is not None or base_url is not None):
        raise RealtimeError(
            "pass endpoint= or api_key=/base_url= to create_client_secret, not both: the "
            "endpoint carries its own key and base URL"
        )
    if not 10 <= expires_after_s <= 7200:
        raise RealtimeError("expires_after_s must be between 10 and 7200 seconds")
    if endpoint is None:
        key = check_api_key(api_key if api_key is not None else os.environ.get("OPENAI_API_KEY"))
        if not key:
            raise RealtimeError(
                "no API key: set OPENAI_API_KEY or pass api_key= to create a secret"
            )
        endpoint = OpenAIEndpoint(api_key=key, base_url=base_url or DEFAULT_API_BASE)
    body = {
        "expires_after": {"anchor": "created_at", "seconds": expires_after_s},
        "session": protocol.to_wire(session or SessionConfig()),
    }
    data = _post_json(
        endpoint,
        "/realtime/client_secrets",
        body,
        what="creating a client secret",
        timeout=timeout,
        error=_connection_error,
    )
    if not isinstance(data, dict) or not isinstance(data.get("value"), str):
        raise RealtimeConnectionError("unexpected client secret response: no 'value'")
    raw_session = data.get("session")
    return ClientSecret(
        value=data["value"],
        expires_at=int(data.get("expires_at") or 0),
        session=protocol.from_wire(SessionConfig, raw_session) if raw_session else None,
    )
