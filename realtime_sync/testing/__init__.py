"""Testing helpers for realtime_sync: a local simulator of the OpenAI Realtime GA API.

:class:`RealtimeSimulator` is a real WebSocket server that speaks the GA protocol
with scripted replies (:meth:`RealtimeSimulator.add_reply`), so tests run without
network access or an API key. It needs the ``websockets`` package (the
``realtime_sync[testing]`` extra). :func:`speech_audio` makes audio that its
server VAD hears as one user turn. ``python -m realtime_sync.testing`` serves one
from the command line (:func:`main`).
"""

from ._audio import speech_audio
from .simulator import FunctionCall, RealtimeSimulator, ReplyRule, ThenText, main

__all__ = ["FunctionCall", "RealtimeSimulator", "ReplyRule", "ThenText", "main", "speech_audio"]
