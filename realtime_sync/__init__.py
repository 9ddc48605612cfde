"""realtime_sync: a synchronous, thread-based Python SDK for the OpenAI Realtime API.

Three layers, as in the reference clients:

* :class:`RealtimeClient` - the high-level API: session settings, tools,
  a conversation cache and utility events. Start here.
* :class:`RealtimeAPI` - the thin transport (``client.realtime``).
* :class:`RealtimeConversation` - the client-side cache (``client.conversation``).

Nothing here needs an event loop: a reader thread receives, a dispatcher thread
runs handlers, and blocking calls take a ``timeout``.

Importing the package is cheap: each public name is imported from its module
on first use (PEP 562), so ``import realtime_sync`` does not load the
networking, HTTP, event and model modules until they are needed.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any, Dict, List

from ._version import __version__
from .errors import (  # light, and what every caller catches
    ConnectionClosedError,
    NotConnectedError,
    ProtocolError,
    RealtimeConnectionError,
    RealtimeConnectTimeoutError,
    RealtimeError,
    RealtimeRedirectError,
    RealtimeServerError,
    RealtimeTimeoutError,
)

if TYPE_CHECKING:  # what mypy and IDEs see; at run time __getattr__ imports these
    from .api import RealtimeAPI
    from .calls import (
        CallError,
        accept_call,
        hangup_call,
        refer_call,
        reject_call,
    )
    from .client import (
        DEFAULT_SESSION,
        RealtimeClient,
        ToolHandler,
    )
    from .conversation import RealtimeConversation
    from .core.responses import Turn
    from .cost import (
        Cost,
        Prices,
        cost_of,
    )
    from .dispatcher import (
        EventDispatcher,
        EventFuture,
    )
    from .driver import RequestFuture
    from .endpoints import (
        AzureEndpoint,
        OpenAIEndpoint,
        Proxy,
    )
    from .events import (
        ClientEvent,
        CloseEvent,
        ConversationInterruptedEvent,
        ConversationItemAppendedEvent,
        ConversationItemCompletedEvent,
        ConversationUpdatedEvent,
        ItemDelta,
        OutOfBandFunctionCallsEvent,
        RawClientEvent,
        RealtimeEvent,
        RealtimeEventType,
        ReconnectedEvent,
        ReconnectingEvent,
        SdkErrorEvent,
        ServerEvent,
        UnknownServerEvent,
    )
    from .items import (
        FormattedContent,
        FormattedItem,
        FormattedTool,
    )
    from .models import (
        NOT_GIVEN,
        AudioConfig,
        AudioFormat,
        AudioInputConfig,
        AudioOutputConfig,
        ContentPart,
        ContentPartType,
        CustomVoice,
        Eagerness,
        GenericItem,
        InputAudioTranscriptionConfig,
        ItemFunctionCall,
        ItemFunctionCallOutput,
        ItemMessage,
        ItemRole,
        ItemStatus,
        Modality,
        NoiseReduction,
        RealtimeErrorDetails,
        Response,
        ResponseCreateParams,
        ResponseStatus,
        SessionConfig,
        ToolChoice,
        ToolChoiceFunction,
        ToolDefinition,
        TurnDetection,
        TurnDetectionType,
        Usage,
        Voice,
    )
    from .reconnect import ReconnectPolicy
    from .secrets import (
        ClientSecret,
        create_client_secret,
    )
    from .tools import (
        ToolSchemaError,
        tool_from_function,
    )
    from .transcriber import (
        RealtimeTranscriber,
        Transcript,
        TranscriptDeltaEvent,
        TranscriptDoneEvent,
        TranscriptStatus,
    )
    from .utils import RealtimeUtils
    from .webhooks import (
        IncomingCall,
        WebhookVerificationError,
        unwrap_webhook,
    )

# Public name -> the module that defines it (relative to this package).
_LAZY: Dict[str, str] = {
    "RealtimeAPI": ".api",
    "CallError": ".calls",
    "accept_call": ".calls",
    "hangup_call": ".calls",
    "refer_call": ".calls",
    "reject_call": ".calls",
    "DEFAULT_SESSION": ".client",
    "RealtimeClient": ".client",
    "ToolHandler": ".client",
    "RealtimeConversation": ".conversation",
    "Turn": ".core.responses",
    "Cost": ".cost",
    "Prices": ".cost",
    "cost_of": ".cost",
    "EventDispatcher": ".dispatcher",
    "EventFuture": ".dispatcher",
    "RequestFuture": ".driver",
    "AzureEndpoint": ".endpoints",
    "OpenAIEndpoint": ".endpoints",
    "Proxy": ".endpoints",
    "ClientEvent": ".events",
    "CloseEvent": ".events",
    "ConversationInterruptedEvent": ".events",
    "ConversationItemAppendedEvent": ".events",
    "ConversationItemCompletedEvent": ".events",
    "ConversationUpdatedEvent": ".events",
    "ItemDelta": ".events",
    "OutOfBandFunctionCallsEvent": ".events",
    "RawClientEvent": ".events",
    "RealtimeEvent": ".events",
    "RealtimeEventType": ".events",
    "ReconnectedEvent": ".events",
    "ReconnectingEvent": ".events",
    "SdkErrorEvent": ".events",
    "ServerEvent": ".events",
    "UnknownServerEvent": ".events",
    "FormattedContent": ".items",
    "FormattedItem": ".items",
    "FormattedTool": ".items",
    "NOT_GIVEN": ".models",
    "AudioConfig": ".models",
    "AudioFormat": ".models",
    "AudioInputConfig": ".models",
    "AudioOutputConfig": ".models",
    "ContentPart": ".models",
    "ContentPartType": ".models",
    "CustomVoice": ".models",
    "Eagerness": ".models",
    "GenericItem": ".models",
    "InputAudioTranscriptionConfig": ".models",
    "ItemFunctionCall": ".models",
    "ItemFunctionCallOutput": ".models",
    "ItemMessage": ".models",
    "ItemRole": ".models",
    "ItemStatus": ".models",
    "Modality": ".models",
    "NoiseReduction": ".models",
    "RealtimeErrorDetails": ".models",
    "Response": ".models",
    "ResponseCreateParams": ".models",
    "ResponseStatus": ".models",
    "SessionConfig": ".models",
    "ToolChoice": ".models",
    "ToolChoiceFunction": ".models",
    "ToolDefinition": ".models",
    "TurnDetection": ".models",
    "TurnDetectionType": ".models",
    "Usage": ".models",
    "Voice": ".models",
    "ReconnectPolicy": ".reconnect",
    "ClientSecret": ".secrets",
    "create_client_secret": ".secrets",
    "ToolSchemaError": ".tools",
    "tool_from_function": ".tools",
    "RealtimeTranscriber": ".transcriber",
    "Transcript": ".transcriber",
    "TranscriptDeltaEvent": ".transcriber",
    "TranscriptDoneEvent": ".transcriber",
    "TranscriptStatus": ".transcriber",
    "RealtimeUtils": ".utils",
    "IncomingCall": ".webhooks",
    "WebhookVerificationError": ".webhooks",
    "unwrap_webhook": ".webhooks",
}


def __getattr__(name: str) -> Any:
    """Import a public name (or a submodule) on first use, then keep it here."""
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module, __name__), name)
    elif not name.startswith("__"):
        try:  # ``realtime_sync.protocol`` and friends, as when they were imported eagerly
            value = importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> List[str]:
    """The public names (imported or not yet) beside what the package already holds."""
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "DEFAULT_SESSION",
    "NOT_GIVEN",
    "AudioConfig",
    "AudioFormat",
    "AudioInputConfig",
    "AudioOutputConfig",
    "AzureEndpoint",
    "CallError",
    "ClientEvent",
    "ClientSecret",
    "CloseEvent",
    "ConnectionClosedError",
    "ContentPart",
    "ContentPartType",
    "ConversationInterruptedEvent",
    "ConversationItemAppendedEvent",
    "ConversationItemCompletedEvent",
    "ConversationUpdatedEvent",
    "Cost",
    "CustomVoice",
    "Eagerness",
    "EventDispatcher",
    "EventFuture",
    "FormattedContent",
    "FormattedItem",
    "FormattedTool",
    "GenericItem",
    "IncomingCall",
    "InputAudioTranscriptionConfig",
    "ItemDelta",
    "ItemFunctionCall",
    "ItemFunctionCallOutput",
    "ItemMessage",
    "ItemRole",
    "ItemStatus",
    "Modality",
    "NoiseReduction",
    "NotConnectedError",
    "OpenAIEndpoint",
    "OutOfBandFunctionCallsEvent",
    "Prices",
    "ProtocolError",
    "Proxy",
    "RawClientEvent",
    "RealtimeAPI",
    "RealtimeClient",
    "RealtimeConnectTimeoutError",
    "RealtimeConnectionError",
    "RealtimeConversation",
    "RealtimeError",
    "RealtimeErrorDetails",
    "RealtimeEvent",
    "RealtimeEventType",
    "RealtimeRedirectError",
    "RealtimeServerError",
    "RealtimeTimeoutError",
    "RealtimeTranscriber",
    "RealtimeUtils",
    "ReconnectPolicy",
    "ReconnectedEvent",
    "ReconnectingEvent",
    "RequestFuture",
    "Response",
    "ResponseCreateParams",
    "ResponseStatus",
    "SdkErrorEvent",
    "ServerEvent",
    "SessionConfig",
    "ToolChoice",
    "ToolChoiceFunction",
    "ToolDefinition",
    "ToolHandler",
    "ToolSchemaError",
    "Transcript",
    "TranscriptDeltaEvent",
    "TranscriptDoneEvent",
    "TranscriptStatus",
    "Turn",
    "TurnDetection",
    "TurnDetectionType",
    "UnknownServerEvent",
    "Usage",
    "Voice",
    "WebhookVerificationError",
    "__version__",
    "accept_call",
    "cost_of",
    "create_client_secret",
    "hangup_call",
    "refer_call",
    "reject_call",
    "tool_from_function",
    "unwrap_webhook",
]
