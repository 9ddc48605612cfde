"""Sans-IO session cores: each protocol's session logic as a state machine.

A core takes events and requests and returns :mod:`~realtime_sync.core.actions`;
it has no sockets, no threads and no clock of its own (the time is passed in),
so its tests feed it events and assert actions. The driver
(:mod:`realtime_sync.driver`) carries the actions out.

* :mod:`~realtime_sync.core.actions` and :mod:`~realtime_sync.core.ledger`: what
  every protocol's core shares (actions, request correlation by ``event_id``);
* :mod:`~realtime_sync.core.realtime`: the Realtime API session;
* :mod:`~realtime_sync.core.conversation`, :mod:`~realtime_sync.core.responses`,
  :mod:`~realtime_sync.core.replay`: its conversation cache, responses and
  turns, and reconnect replay planning.
"""

from .actions import Action, Emit, Fail, Recycle, Resolve, RunTool, Send
from .ledger import RequestLedger
from .realtime import HandshakeResult, Phase, RealtimeSessionCore
from .responses import Turn

__all__ = [
    "Action",
    "Emit",
    "Fail",
    "HandshakeResult",
    "Phase",
    "RealtimeSessionCore",
    "Recycle",
    "RequestLedger",
    "Resolve",
    "RunTool",
    "Send",
    "Turn",
]
