"""Interrupt the assistant: stop a long answer and keep only the audio the user heard.

When a user talks over the assistant, an app stops playback and tells the server
how much was actually heard, so the model forgets the rest:
``client.cancel_response(item_id, sample_count)`` cancels the response and
truncates the item's audio (and drops its transcript) at ``sample_count``.

Here the "listener" hears the first second (``--heard-ms``): once that much
audio has arrived, the example cancels, then prints what is left of the item
and the response's final status.

Run it::

    python examples/interrupt.py
    OPENAI_API_KEY=sk-... python examples/interrupt.py --heard-ms 1500
"""

from __future__ import annotations

import argparse
import sys
import threading
from concurrent import futures
from typing import Dict, Optional, Sequence

from _common import add_connection_args, open_client

from realtime_sync import ConversationUpdatedEvent, FormattedItem, RealtimeError, RealtimeEventType

OUTPUT_RATE = 24000  # samples per second of the session's output audio (PCM16 24 kHz)
STORY = (
    "Once upon a time, on a rocky island at the edge of the map, there lived a lighthouse "
    "keeper who counted the waves every night and gave each of them a name."
)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--heard-ms", type=int, default=1000, help="how much the listener heard (default 1000)"
    )
    parser.add_argument(
        "--prompt", default="Tell me a long story about a lighthouse keeper.", help="what to ask"
    )
    add_connection_args(parser)
    args = parser.parse_args(argv)

    # A small delay between streamed events, so the simulator's answer takes a moment.
    with open_client(args, event_delay=0.01) as (client, sim):
        if sim is not None:
            sim.add_reply("story", text=STORY)  # about 9 s of audio

        heard = threading.Event()
        playing: Dict[str, FormattedItem] = {}

        def on_update(event: ConversationUpdatedEvent) -> None:
            # Runs on the dispatcher thread: only note the item and signal the main thread.
            item = event.item
            if (
                item.role == "assistant"
                and event.delta is not None
                and event.delta.audio
                and client.conversation.audio_ms(item) >= args.heard_ms
            ):
                playing["item"] = item
                heard.set()

        client.on(RealtimeEventType.CONVERSATION_UPDATED, on_update)
        try:
            client.connect()
            done = client.wait_for(RealtimeEventType.RESPONSE_DONE)
            client.send_text(args.prompt)
            print(f"You: {args.prompt}")
            if not heard.wait(30):
                print(
                    f"error: the answer never reached {args.heard_ms} ms of audio", file=sys.stderr
                )
                return 1
            item = playing["item"]
            received_ms = client.conversation.audio_ms(item)
            print(
                f"Received {received_ms:.0f} ms of audio so far, "
                f"the listener heard {args.heard_ms} ms"
            )

            truncated = client.wait_for(RealtimeEventType.CONVERSATION_ITEM_TRUNCATED)
            heard_samples = args.heard_ms * OUTPUT_RATE // 1000
            client.cancel_response(item.id, sample_count=heard_samples)
            print(f"Interrupted: cancel_response({item.id!r}, sample_count={heard_samples})")

            response = done.result(timeout=30).response
            truncated.result(timeout=30)  # the server confirmed the truncation
        except (RealtimeError, TimeoutError, futures.TimeoutError) as exc:
            print(f"error: {exc or type(exc).__name__}", file=sys.stderr)
            return 1

        print(f"Item audio left: {client.conversation.audio_ms(item):.0f} ms")
        print(f"Item transcript left: {item.formatted.transcript!r}")
        print(f"Response status: {response.status}")
        if response.status != "cancelled":
            print("(the answer was complete before the cancel reached the server)")
        return 0 if response.status == "cancelled" else 1


if __name__ == "__main__":
    raise SystemExit(main())
