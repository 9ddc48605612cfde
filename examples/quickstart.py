"""Quickstart: configure a session, stream the assistant's answer, list the conversation.

This is the seed libraries' quickstart in Python:

1. ``update_session(...)`` before connecting (instructions, voice, turn detection...);
2. a ``conversation.updated`` handler prints the assistant's transcript as it streams;
3. ``connect()``, send a user message, wait for ``response.done``;
4. print every item of ``client.conversation``.

Run it::

    python examples/quickstart.py                  # offline, on the built-in simulator
    OPENAI_API_KEY=sk-... python examples/quickstart.py "Tell me a joke"
    python examples/quickstart.py --url ws://127.0.0.1:8765/v1/realtime
"""

from __future__ import annotations

import argparse
import sys
from concurrent import futures
from typing import Optional, Sequence

from _common import add_connection_args, open_client

from realtime_sync import (
    ContentPart,
    ConversationUpdatedEvent,
    InputAudioTranscriptionConfig,
    RealtimeError,
    RealtimeEventType,
    Voice,
)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("message", nargs="?", default="How are you?", help="what to say")
    add_connection_args(parser)
    args = parser.parse_args(argv)

    with open_client(args, event_delay=0.01) as (client, sim):
        if sim is not None:
            sim.add_reply("how are you", text="I'm great, thanks for asking! How are you?")

        # 1. Session settings may be changed before connecting; they are sent on connect.
        client.update_session(instructions="You are a great, upbeat friend.")
        client.update_session(voice=Voice.ALLOY)
        client.update_session(
            turn_detection=None,  # manual turns; TurnDetection() for server VAD
            input_audio_transcription=InputAudioTranscriptionConfig(model="whisper-1"),
        )

        # 2. Handlers run on the client's dispatcher thread, one event at a time.
        def on_update(event: ConversationUpdatedEvent) -> None:
            delta = event.delta
            if event.item.role == "assistant" and delta is not None:
                words = delta.transcript or delta.text
                if words:
                    print(words, end="", flush=True)

        client.on(RealtimeEventType.CONVERSATION_UPDATED, on_update)

        try:
            # 3. Connect, then talk.
            client.connect()
            print(f"You: {args.message}")
            print("Assistant: ", end="", flush=True)
            done = client.wait_for(RealtimeEventType.RESPONSE_DONE)  # register before sending
            client.send_user_message_content([ContentPart.input_text(text=args.message)])
            response = done.result(timeout=60).response
            print()
        except (RealtimeError, TimeoutError, futures.TimeoutError) as exc:
            print(f"\nerror: {exc or type(exc).__name__}", file=sys.stderr)
            return 1

        # 4. The conversation cache holds every item, with text, transcripts and audio.
        print(f"\nResponse {response.id}: {response.status}")
        print("Conversation:")
        for item in client.conversation.get_items():
            words = item.formatted.text or item.formatted.transcript
            audio_ms = client.conversation.audio_ms(item)
            role = item.role or "-"
            print(f"  {role:<9} {item.type:<8} {words!r} ({audio_ms:.0f} ms of audio)")
        return 0 if response.status == "completed" else 1


if __name__ == "__main__":
    raise SystemExit(main())
