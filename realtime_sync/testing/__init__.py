"""Testing helpers for realtime_sync: a local simulator of the OpenAI Realtime GA API.

:class:`RealtimeSimulator` is a real WebSocket server that speaks the GA protocol
with scripted replies (:meth:`RealtimeSimulator.add_reply`, or a JSON file with
:meth:`RealtimeSimulator.load_script`), so tests run without network access or an
API key. It needs the ``websockets`` package (the ``testing`` extra:
``pip install -e ".[testing]"`` in a clone). :func:`speech_audio` makes audio that
its server VAD hears as one user turn. ``python -m realtime_sync.testing`` serves
one from the command line (:func:`main`).
"""

try:
    import websockets  # noqa: F401 - only to say which extra is missing
except ImportError as exc:  # a base install, without the `testing` extra
    raise ImportError(
        "realtime_sync.testing (RealtimeSimulator) needs the 'testing' extra, which adds the "
        'websockets package: pip install -e ".[testing]" in a clone of realtime_sync',
        name=exc.name,
    ) from exc

from ._audio import speech_audio
from ._script import ScriptError
from .live import LiveSimulator
from .simulator import FunctionCall, RealtimeSimulator, ReplyRule, ThenText, main

__all__ = [
    "FunctionCall",
    "LiveSimulator",
    "RealtimeSimulator",
    "ReplyRule",
    "ScriptError",
    "ThenText",
    "main",
    "speech_audio",
]
