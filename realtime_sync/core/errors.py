"""How a server ``error`` that answers a request becomes the exception its caller sees."""

from __future__ import annotations

from realtime_sync.errors import RealtimeServerError
from realtime_sync.models import RealtimeErrorDetails

__all__ = ["server_error"]

_HINTS = {
    "conversation_already_has_active_response": (
        " (a response the client did not ask for is active, e.g. one started by voice "
        "activity: wait for it, or pass interrupt=True)"
    ),
}


def server_error(details: RealtimeErrorDetails) -> RealtimeServerError:
    """The exception for a server ``error`` that answers a request: code, param and a hint."""
    return RealtimeServerError(
        f"the server rejected the request: {details.message}{_HINTS.get(details.code or '', '')}",
        code=details.code,
        error_type=details.type,
        param=details.param,
        event_id=details.event_id,
    )
