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

The session clock is the input audio (``session.input_audio.append``): context
appends are acknowledged (``*.appended`` with ``start_ms == end_ms``) when time
next advances; a loud stretch of input followed by :attr:`LiveSimulator.silence_ms`
of silence is an utterance ("heard" as :attr:`LiveSimulator.transcript_for_audio`),
which triggers a scripted delegation (:meth:`LiveSimulator.add_delegation`) or
reply (:meth:`LiveSimulator.add_reply`). Output audio is one continuous track,
one ``session.output_audio.delta`` per input chunk (a tone while the model
speaks), with timed ``session.output_transcript.delta`` fragments.

Sidebands attach with :meth:`LiveSimulator.attach_url` (no ``session.start``);
stored sessions (``store: true``) fork with :meth:`LiveSimulator.fork_url`.
Needs openai-python >= 3.57 (``openai.types.live``) for the event validation.
"""

from __future__ import annotations

from ._simulator import LiveSimulator

__all__ = ["LiveSimulator"]
