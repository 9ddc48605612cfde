"""A local WebSocket server that speaks OpenAI's GPT-Live protocol (``/v1/live/sessions``).

:class:`LiveSimulator` is the Live counterpart of
:class:`~realtime_sync.testing.RealtimeSimulator`: a real ``websockets.sync``
server on 127.0.0.1 that answers Live client events like the real service and
streams scripted speech. It only exchanges JSON with its clients.

Typical use::

    with LiveSimulator() as sim:
        sim.transcript_for_audio = "What is the weather?"
        sim.add_reply("weather", "It is sunny.")
        ws = websockets.sync.client.connect(sim.url)
        ws.send(json.dumps({"type": "session.start", "session": {"model": "gpt-live-1"}}))
        ...
"""

from __future__ import annotations

from ._simulator import LiveSimulator

__all__ = ["LiveSimulator"]
