"""The HTTP side of the simulator: handshake checks and the refusals the real API sends."""

from __future__ import annotations

import email.utils
import hmac
import http
import json
import logging
from typing import TYPE_CHECKING, Any, Optional
from urllib.parse import urlsplit

from websockets.datastructures import Headers
from websockets.http11 import Request, Response

from ._ids import JSON, new_id

__all__ = [
    "BETA_CLOSE_REASON",
    "NoDebugLogger",
    "beta_error_event",
    "check_handshake",
    "error_body",
    "http_response",
    "rejection_body",
    "wants_beta",
]

if TYPE_CHECKING:
    _LoggerAdapter = logging.LoggerAdapter[logging.Logger]
else:
    _LoggerAdapter = logging.LoggerAdapter

_BETA_MESSAGE = (
    "The Realtime Beta API is no longer supported. Please use /v1/realtime for the GA API."
)
BETA_CLOSE_REASON = "invalid_request_error.beta_api_shape_disabled"
"""Close reason sent with code 4000 after the beta-header error."""


class NoDebugLogger(_LoggerAdapter):
    """Logger for websockets that never enables DEBUG.

    At DEBUG level websockets logs every handshake header, ``Authorization``
    included; the simulator must never log the API key, whatever the user's
    logging configuration.
    """

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)

    def debug(self, msg: object, *args: object, **kwargs: Any) -> None:
        return None


def http_response(status: int, body: str) -> Response:
    """An HTTP response with a JSON ``body`` that refuses the upgrade."""
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    data = body.encode("utf-8")
    headers = Headers(
        [
            ("Date", email.utils.formatdate(usegmt=True)),
            ("Connection", "close"),
            ("Content-Length", str(len(data))),
            ("Content-Type", "application/json; charset=utf-8"),
        ]
    )
    return Response(status, phrase, headers, data)


def error_body(message: str, *, type_: str, code: Optional[str]) -> str:
    return json.dumps({"error": {"message": message, "type": type_, "param": None, "code": code}})


def rejection_body(status: int) -> str:
    """The JSON error body the real API sends with HTTP ``status``."""
    if status == 401:
        return error_body(
            "Incorrect API key provided. You can find your API key at "
            "https://platform.openai.com/account/api-keys.",
            type_="invalid_request_error",
            code="invalid_api_key",
        )
    if status == 429:
        return error_body(
            "Rate limit reached for requests. Please try again later.",
            type_="requests",
            code="rate_limit_exceeded",
        )
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Error"
    return error_body(
        f"{status} {phrase}",
        type_="server_error" if status >= 500 else "invalid_request_error",
        code=None,
    )


def check_handshake(request: Request, api_key: Optional[str]) -> Optional[Response]:
    """The refusal of a handshake with a wrong path or credentials, or None to accept it."""
    path = urlsplit(request.path).path
    if path.rstrip("/") != "/v1/realtime":
        return http_response(
            404,
            error_body(f"Invalid URL (GET {path})", type_="invalid_request_error", code=None),
        )
    if api_key is None:
        return None
    values = request.headers.get_all("Authorization")
    auth = values[0] if values else ""
    scheme, _, token = auth.partition(" ")
    if not auth:
        return http_response(
            401,
            error_body(
                "You didn't provide an API key. You need to provide your API key in an "
                "Authorization header using Bearer auth (i.e. Authorization: Bearer "
                "YOUR_KEY).",
                type_="invalid_request_error",
                code=None,
            ),
        )
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        token.strip().encode("utf-8"), api_key.encode("utf-8")
    ):
        return http_response(401, rejection_body(401))
    return None


def wants_beta(request: Optional[Request]) -> bool:
    """Whether the handshake asked for the retired beta protocol (``OpenAI-Beta: realtime=v1``)."""
    values = request.headers.get_all("OpenAI-Beta") if request is not None else []
    return any("realtime=v1" in value.replace(" ", "").lower() for value in values)


def beta_error_event() -> JSON:
    """The ``error`` event the real server sends before closing a beta connection."""
    return {
        "type": "error",
        "event_id": new_id("event"),
        "error": {
            "type": "invalid_request_error",
            "code": "beta_api_shape_disabled",
            "message": _BETA_MESSAGE,
            "param": None,
            "event_id": None,
        },
    }
