"""Ephemeral client secrets: short-lived keys to hand to a browser or a device.

A server that holds the real API key calls :func:`create_client_secret`
(``POST /v1/realtime/client_secrets``) and gives the returned ``value`` to the
untrusted client, which connects with it as its ``api_key``. The secret expires
(``expires_after_s``, at most two hours) and can carry the session config it is
valid for.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any, Optional

import attrs

from . import protocol
from .errors import RealtimeConnectionError, RealtimeError
from .models import SessionConfig
from .redact import redact_secrets

__all__ = ["DEFAULT_API_BASE", "ClientSecret", "create_client_secret"]

DEFAULT_API_BASE = "https://api.openai.com/v1"
"""Where the REST endpoint lives."""


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
    base_url: str = DEFAULT_API_BASE,
    timeout: float = 10.0,
) -> ClientSecret:
    """Create an ephemeral client secret for the Realtime API.

    Args:
        api_key: the real key; defaults to ``$OPENAI_API_KEY``.
        session: the session the secret is for (default: a plain realtime session).
        expires_after_s: lifetime in seconds (10 to 7200).
        base_url: the REST API base (a local stub in tests).
        timeout: seconds for the HTTP request.

    Raises:
        RealtimeError: no API key, or a bad lifetime.
        RealtimeConnectionError: the request failed (``status``/``body`` set for HTTP errors).
    """
    key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
    if not key:
        raise RealtimeError("no API key: set OPENAI_API_KEY or pass api_key= to create a secret")
    if not 10 <= expires_after_s <= 7200:
        raise RealtimeError("expires_after_s must be between 10 and 7200 seconds")
    body = {
        "expires_after": {"anchor": "created_at", "seconds": expires_after_s},
        "session": protocol.to_wire(session or SessionConfig()),
    }
    request = urllib.request.Request(
        base_url.rstrip("/") + "/realtime/client_secrets",
        data=json.dumps(body).encode("utf-8"),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            data: Any = json.loads(response.read().decode("utf-8"))
    except urllib.error.HTTPError as exc:
        text = redact_secrets(exc.read().decode("utf-8", "replace"), key)
        raise RealtimeConnectionError(
            f"creating a client secret failed with HTTP {exc.code}: {text[:300]}",
            status=exc.code,
            body=text,
        ) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise RealtimeConnectionError(
            f"creating a client secret failed: {redact_secrets(str(exc), key)}"
        ) from None
    if not isinstance(data, dict) or not isinstance(data.get("value"), str):
        raise RealtimeConnectionError("unexpected client secret response: no 'value'")
    raw_session = data.get("session")
    return ClientSecret(
        value=data["value"],
        expires_at=int(data.get("expires_at") or 0),
        session=protocol.from_wire(SessionConfig, raw_session) if raw_session else None,
    )
