"""realtime_sync: a synchronous, thread-based Python SDK for the OpenAI Realtime API.

Three layers, as in the reference clients:

* :class:`RealtimeClient` - the high-level API: session settings, tools,
  a conversation cache and utility events. Start here.
* :class:`RealtimeAPI` - the thin transport (``client.realtime``).
* :class:`RealtimeConversation` - the client-side cache (``client.conversation``).

Nothing here needs an event loop: a reader thread receives, a dispatcher thread
runs handlers, and blocking calls take a ``timeout``.
"""

from ._version import __version__
from .api import RealtimeAPI
from .calls import CallError, accept_call, hangup_call, refer_call, reject_call
from .client import DEFAULT_SESSION, RealtimeClient, ToolHandler
from .conversation import RealtimeConversation
from .core.responses import Turn
from .cost import Cost, Prices, cost_of
from .dispatcher import EventDispatcher, EventFuture
from .driver import RequestFuture
from .endpoints import AzureEndpoint, OpenAIEndpoint, Proxy
from .errors import (
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
from .items import FormattedContent, FormattedItem, FormattedTool
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
from .secrets import ClientSecret, create_client_secret
from .tools import ToolSchemaError, tool_from_function
from .transcriber import (
    RealtimeTranscriber,
    Transcript,
    TranscriptDeltaEvent,
    TranscriptDoneEvent,
    TranscriptStatus,
)
from .utils import RealtimeUtils
from .webhooks import IncomingCall, WebhookVerificationError, unwrap_webhook

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
