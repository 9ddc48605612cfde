"""Stream a WAV file to the model and save its spoken answer to ``answer.wav``.

Shows audio input with manual turns (the session default):

1. read a 16-bit PCM WAV with ``RealtimeUtils.read_wav`` (any rate, mono or stereo);
2. resample it to what the API takes: 24 kHz mono PCM16;
3. send it in 100 ms chunks with ``client.append_input_audio`` (like a microphone);
4. ``client.create_response()`` commits the audio as the user's turn and asks for an answer;
5. write the assistant's audio to ``answer.wav`` (24 kHz mono PCM16).

Without a FILE, a short test tone (16 kHz) is generated in a temporary directory.

Run it::

    python examples/stream_wav.py                       # simulator + generated tone
    OPENAI_API_KEY=sk-... python examples/stream_wav.py question.wav --out /tmp
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from concurrent import futures
from typing import Optional, Sequence

from _common import add_connection_args, open_client

from realtime_sync import ItemMessage, RealtimeError, RealtimeEventType, RealtimeUtils

API_RATE = 24000  # the API's PCM16: 24 kHz, mono, 16-bit little-endian
CHUNK_MS = 100


def make_test_wav(directory: str) -> str:
    """Write 1.5 s of a 440 Hz tone at 16 kHz (so it needs resampling); return its path."""
    path = os.path.join(directory, "test_tone_16k.wav")
    tone = RealtimeUtils.generate_tone(frequency=440.0, duration_ms=1500, sample_rate=16000)
    RealtimeUtils.write_wav(path, tone, sample_rate=16000)
    return path


def show_progress(sent_ms: float, total_ms: float) -> None:
    """A progress bar, redrawn in place on a terminal (only the last state otherwise)."""
    width = 30
    filled = round(width * sent_ms / total_ms)
    line = f"Streaming [{'#' * filled}{'.' * (width - filled)}] {sent_ms / 1000:.1f} s"
    line += f" {100 * sent_ms / total_ms:3.0f}%"
    finished = sent_ms >= total_ms
    if sys.stdout.isatty():
        print("\r" + line, end="\n" if finished else "", flush=True)
    elif finished:
        print(line)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", help="a 16-bit PCM WAV file (default: a test tone)")
    parser.add_argument("--out", default=".", help="directory for answer.wav (default: .)")
    parser.add_argument(
        "--realtime", action="store_true", help="pace the chunks in real time, like a microphone"
    )
    add_connection_args(parser)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as scratch:
        path = args.file or make_test_wav(scratch)
        try:
            wav = RealtimeUtils.read_wav(path)
        except (OSError, ValueError) as exc:
            print(f"error: cannot read {path}: {exc}", file=sys.stderr)
            return 1
        pcm = RealtimeUtils.resample_pcm16(
            wav.pcm, wav.sample_rate, API_RATE, channels=wav.channels
        )
        total_ms = RealtimeUtils.pcm16_duration_ms(pcm)
        print(
            f"Read {os.path.basename(path)}: {wav.sample_rate} Hz, {wav.channels} channel(s), "
            f"{wav.duration_s:.2f} s -> {API_RATE} Hz mono, {total_ms:.0f} ms"
        )
    if not pcm:
        print("error: the WAV file holds no audio", file=sys.stderr)
        return 1

    with open_client(args) as (client, sim):
        if sim is not None:
            # The simulator does not listen to audio: what it "hears" is transcript_for_audio,
            # so both that and its answer say they are simulated.
            seconds = f"{total_ms / 1000:.1f} s"
            sim.transcript_for_audio = f"(simulated transcript of {seconds} of audio)"
            sim.add_reply(
                "simulated transcript",
                text=f"(Simulated answer: {seconds} of audio arrived; the simulator does not "
                "listen to it.)",
            )

        try:
            client.connect()
            chunk = RealtimeUtils.ms_to_pcm16_bytes(CHUNK_MS)
            for start in range(0, len(pcm), chunk):
                client.append_input_audio(pcm[start : start + chunk])
                show_progress(
                    RealtimeUtils.pcm16_duration_ms(min(start + chunk, len(pcm))), total_ms
                )
                if args.realtime:
                    time.sleep(CHUNK_MS / 1000)

            done = client.wait_for(RealtimeEventType.RESPONSE_DONE)  # register before asking
            client.create_response()  # manual turns: commits the streamed audio first
            print("Waiting for the answer...")
            response = done.result(timeout=60).response
        except (RealtimeError, TimeoutError, futures.TimeoutError) as exc:
            print(f"\nerror: {exc or type(exc).__name__}", file=sys.stderr)
            return 1

        answers = [
            client.conversation.get_item(out.id)
            for out in response.output or []
            if isinstance(out, ItemMessage) and out.id
        ]
        audio = b"".join(item.formatted.audio for item in answers if item is not None)
        transcript = " ".join(item.formatted.transcript for item in answers if item is not None)
        print(f"Response status: {response.status}")
        print(f"Assistant said: {transcript!r}")
        if not audio:
            print("error: the answer has no audio", file=sys.stderr)
            return 1
        os.makedirs(args.out, exist_ok=True)
        out_path = os.path.abspath(os.path.join(args.out, "answer.wav"))
        RealtimeUtils.write_wav(out_path, audio, sample_rate=API_RATE)
        print(f"Saved {RealtimeUtils.pcm16_duration_ms(audio):.0f} ms of audio to {out_path}")
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
