"""Voice apps: speaker, microphone and a voice loop with correct interruption.

* :class:`AudioPlayer` plays the assistant's PCM16 deltas through a jitter
  buffer and knows exactly how many samples of each item were heard.
* :class:`Microphone` captures, resamples to 24 kHz and streams small chunks
  to ``client.append_input_audio``, open-mic or push-to-talk.
* :class:`VoiceLoop` wires both to a :class:`~realtime_sync.RealtimeClient`:
  server VAD, interruption with exact truncation, half-duplex.

Devices sit behind :class:`OutputDevice` / :class:`InputDevice`: fakes driven
by the caller (tests), WAV files, and the system's devices through
``sounddevice`` (the ``audio`` extra: ``pip install -e ".[audio]"``).
Importing this package does not import ``sounddevice`` nor NumPy; only
creating a :class:`SounddeviceOutput` / :class:`SounddeviceInput` (the default
devices of the player and the microphone) does.
"""

from .backends import (
    AudioBackendUnavailableError,
    AudioDeviceError,
    AudioSource,
    FakeInputDevice,
    FakeOutputDevice,
    InputDevice,
    OutputDevice,
    SounddeviceInput,
    SounddeviceOutput,
    WavFileInput,
    WavFileOutput,
    list_devices,
)
from .loop import DEFAULT_TURN_DETECTION, Interruption, VoiceLoop
from .microphone import Microphone
from .player import AudioPlayer

__all__ = [
    "DEFAULT_TURN_DETECTION",
    "AudioBackendUnavailableError",
    "AudioDeviceError",
    "AudioPlayer",
    "AudioSource",
    "FakeInputDevice",
    "FakeOutputDevice",
    "InputDevice",
    "Interruption",
    "Microphone",
    "OutputDevice",
    "SounddeviceInput",
    "SounddeviceOutput",
    "VoiceLoop",
    "WavFileInput",
    "WavFileOutput",
    "list_devices",
]
