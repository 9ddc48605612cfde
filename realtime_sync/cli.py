"""The ``realtime-sync`` command: demo, chat, simulator, transcribe and talk.

Every subcommand talks to OpenAI when ``OPENAI_API_KEY`` is set (or to
``--url``), and otherwise to the built-in :class:`RealtimeSimulator`, saying so
in one line. Errors are one line on stderr with a meaningful exit code:

=====  =============================================================
code   meaning
=====  =============================================================
0      success
1      an error during the session
2      usage error (bad arguments)
3      configuration: missing API key, missing optional extra, bad file
4      connection failed: refused handshake or unreachable server
5      timed out
130    interrupted (Ctrl-C)
=====  =============================================================
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, List, Optional, Sequence

from . import events as ev
from . import protocol
from ._version import __version__
from .client import RealtimeClient
from .errors import (
    ConnectionClosedError,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeServerError,
    RealtimeTimeoutError,
)
from .events import RealtimeEventType as T
from .items import FormattedItem
from .models import (
    InputAudioTranscriptionConfig,
    ItemRole,
    Modality,
    ResponseCreateParams,
    ToolDefinition,
    Voice,
)
from .redact import redact_secrets, shorten_for_log
from .utils import load_wav_as_pcm16_24k, ms_to_pcm16_bytes, pcm16_duration_ms, write_wav

__all__ = ["main"]

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_CONNECTION = 4
EXIT_TIMEOUT = 5
EXIT_INTERRUPTED = 130


class _CliError(Exception):
    """A failure to report in one line with an exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


# --------------------------------------------------------------------------- plumbing


def _say(text: str = "", *, end: str = "\n") -> None:
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (``| head``): finish quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@contextlib.contextmanager
def _session(
    args: argparse.Namespace, script: Optional[Callable[[Any], None]] = None
) -> Iterator[RealtimeClient]:
    """A client for OpenAI, ``--url``, or (offline) a fresh built-in simulator."""
    key = os.environ.get("OPENAI_API_KEY")
    sim: Any = None
    url = args.url
    if not url and not key:
        try:
            from .testing import RealtimeSimulator  # noqa: PLC0415 - optional extra
        except ImportError:
            raise _CliError(
                "no OPENAI_API_KEY is set and the offline simulator needs the 'testing' extra: "
                "pip install 'realtime_sync[testing]' (or set OPENAI_API_KEY)",
                EXIT_CONFIG,
            ) from None
        sim = RealtimeSimulator(event_delay=getattr(args, "event_delay", 0.0), keep_history=False)
        sim.start()
        if script is not None:
            script(sim)
        url = sim.url
        _say(f"No OPENAI_API_KEY set: using the built-in RealtimeSimulator at {url} (offline).")
    client = RealtimeClient(url=url, api_key=key)
    log_file: Optional[IO[str]] = None
    try:
        if args.log_events:
            log_file = open(args.log_events, "w", encoding="utf-8")  # noqa: SIM115 - closed below
            client.on(T.ALL, _event_logger(log_file, key))
        yield client
    finally:
        client.disconnect()
        if sim is not None:
            sim.stop()
        if log_file is not None:
            log_file.close()


def _event_logger(out: IO[str], key: Optional[str]) -> Callable[[ev.RealtimeEvent], None]:
    """A handler writing every wire event as one JSON line (audio shortened, key redacted)."""

    def write(wrapped: ev.RealtimeEvent) -> None:
        event = wrapped.event
        if isinstance(event, (ev.UnknownServerEvent, ev.RawClientEvent)):
            data: Any = event.data
        else:
            data = {"type": event.type.value, **protocol.to_wire(event)}
        line = json.dumps(
            {
                "time": round(wrapped.time, 6),
                "source": wrapped.source,
                "event": shorten_for_log(data),
            },
            ensure_ascii=False,
        )
        out.write(redact_secrets(line, key) + "\n")
        out.flush()

    return write


def _stream_printer(prefix: str = "\nassistant> ") -> Callable[[ev.ConversationUpdatedEvent], None]:
    """A handler that prints the assistant's words as they stream in."""
    started: Dict[str, bool] = {}

    def on_update(event: ev.ConversationUpdatedEvent) -> None:
        delta = event.delta
        if delta is None or event.item.role != ItemRole.ASSISTANT:
            return
        words = delta.text or delta.transcript
        if not words:
            return
        if event.item.id not in started:
            started[event.item.id] = True
            _say(prefix, end="")
        _say(words, end="")

    return on_update


def _audio_seconds(item: FormattedItem) -> float:
    return pcm16_duration_ms(len(item.formatted.audio_buffer)) / 1000


# --------------------------------------------------------------------------- demo

WEATHER_TOOL = ToolDefinition(
    name="get_weather",
    description="Current weather for a city.",
    parameters={
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
)

STORY = (
    "Once upon a time, in a harbour town where the fog rolled in every evening, there lived a "
    "lighthouse keeper who collected the songs that sailors whistled as they passed. "
) * 3


def _demo_script(sim: Any) -> None:
    sim.add_reply(
        "who are you",
        text="Hi! I am the realtime_sync simulator, standing in for the model. "
        "Ask me about the weather.",
    )

    def weather_answer(outputs: List[str]) -> str:
        data = json.loads(outputs[0])
        return f"It is {data['temperature_c']} degrees and {data['conditions']} in {data['city']}."

    sim.add_reply(
        "weather", function_call=("get_weather", {"city": "Paris"}), then_text=weather_answer
    )
    sim.add_reply("story", text=STORY)


def _fake_weather(params: Dict[str, Any]) -> Dict[str, Any]:
    return {"city": params.get("city", "?"), "temperature_c": 18, "conditions": "sunny"}


def cmd_demo(args: argparse.Namespace) -> int:
    """A scripted conversation: text, an auto-run tool, audio to a WAV, an interruption."""
    out_dir = Path(args.out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    args.event_delay = 0.002  # offline: stream at a visible pace
    with _session(args, _demo_script) as client:
        _say("\n== 1. Session setup")
        client.update_session(
            instructions="You are a friendly, concise assistant. Use tools when they help.",
            voice=Voice.MARIN,
        )

        def tool(params: Dict[str, Any]) -> Dict[str, Any]:
            result = _fake_weather(params)
            _say(f"\n   [tool] get_weather({json.dumps(params)}) -> {json.dumps(result)}", end="")
            return result

        client.add_tool(WEATHER_TOOL, tool)
        session = client.connect(model=args.model, timeout=args.timeout)
        audio_in = session.audio.input if session.audio else None
        _say(
            f"   model {session.model or args.model}, tools: get_weather (run automatically), "
            "turns: " + ("server VAD" if audio_in and audio_in.turn_detection else "manual")
        )
        client.on(T.CONVERSATION_UPDATED, _stream_printer())

        _say("\n== 2. A text turn")
        question = "Hello! Who are you?"
        _say(f"you> {question}", end="")
        client.ask(
            question,
            timeout=args.timeout,
            response=ResponseCreateParams(output_modalities=[Modality.TEXT]),
        )
        _say()

        _say("\n== 3. A tool call, run automatically, answered with streamed audio")
        question = "What's the weather in Paris?"
        _say(f"you> {question}", end="")
        turn = client.ask(question, timeout=args.timeout)
        _say()
        answer = [
            i for i in turn.items if i.role == ItemRole.ASSISTANT and i.formatted.audio_buffer
        ]
        wav = out_dir / "realtime-sync-demo-answer.wav"
        write_wav(wav, b"".join(i.formatted.audio for i in answer))
        seconds = sum(_audio_seconds(i) for i in answer)
        _say(f"   audio: {seconds:.1f} s of 24 kHz PCM16 saved to {wav}")

        _say("\n== 4. An interruption")
        question = "Tell me a long story."
        _say(f"you> {question}", end="")
        heard: Dict[str, FormattedItem] = {}
        one_second = threading.Event()

        def watch(event: ev.ConversationUpdatedEvent) -> None:
            if event.delta and event.delta.audio and _audio_seconds(event.item) >= 1.0:
                heard.setdefault("item", event.item)
                one_second.set()

        client.on(T.CONVERSATION_UPDATED, watch)
        done = client.wait_for(T.RESPONSE_DONE)
        client.send_text(question)
        if not one_second.wait(args.timeout):
            raise RealtimeTimeoutError("no audio arrived to interrupt")
        client.off(T.CONVERSATION_UPDATED, watch)
        item = client.cancel_response(heard["item"].id, sample_count=24000)  # heard 1 s
        response = done.result(args.timeout).response
        assert item is not None
        _say(
            f"\n   [interrupt] the listener heard 1.0 s: response {response.status}, "
            f"item truncated at {item.audio_end_ms} ms "
            f"(cached audio now {_audio_seconds(item):.3f} s)"
        )

        items = client.conversation.get_items()
        responses = client.conversation.get_responses()
        tokens = sum((r.usage.total_tokens or 0) for r in responses if r.usage)
        _say(
            f"\nDone: {len(items)} items, {len(responses)} responses, {tokens} tokens. "
            f"Answer audio: {wav}"
        )
    return EXIT_OK


# --------------------------------------------------------------------------- chat


def cmd_chat(args: argparse.Namespace) -> int:
    """An interactive text chat on stdin, streaming the answers."""
    save = Path(args.save_audio) if args.save_audio else None
    if save is not None:
        save.mkdir(parents=True, exist_ok=True)
    with _session(args) as client:
        if args.instructions:
            client.update_session(instructions=args.instructions)
        if args.voice:
            client.update_session(voice=args.voice)
        client.update_session(output_modalities=[Modality.AUDIO if save else Modality.TEXT])
        client.connect(model=args.model, timeout=args.timeout)
        client.on(T.CONVERSATION_UPDATED, _stream_printer("assistant> "))
        _say("Type a message and press Enter; /quit or Ctrl-D to leave.")
        count = 0
        while True:
            _say("\nyou> ", end="")
            line = sys.stdin.readline()
            if not line or line.strip() in ("/quit", "/exit"):
                _say()
                break
            if not line.strip():
                continue
            turn = client.ask(line.strip(), timeout=args.timeout)
            _say()
            if save is not None and turn.audio:
                count += 1
                path = save / f"answer-{count:03d}.wav"
                write_wav(path, turn.audio)
                _say(f"   audio saved to {path}")
    return EXIT_OK


# --------------------------------------------------------------------------- simulator


def cmd_simulator(args: argparse.Namespace) -> int:
    """Serve RealtimeSimulator until Ctrl-C."""
    try:
        from .testing import RealtimeSimulator  # noqa: PLC0415 - optional extra
    except ImportError:
        raise _CliError(
            "the simulator needs the 'testing' extra: pip install 'realtime_sync[testing]'",
            EXIT_CONFIG,
        ) from None
    sim = RealtimeSimulator(host=args.host, port=args.port, keep_history=False)
    try:
        sim.start()
    except OSError as exc:
        raise _CliError(f"cannot listen on {args.host}:{args.port}: {exc}", EXIT_CONFIG) from None
    _say(f"RealtimeSimulator listening on {sim.url}  (Ctrl-C to stop)")
    _say(f"connect with: RealtimeClient(url={sim.url!r})")
    try:
        threading.Event().wait()
    finally:
        sim.stop()
    return EXIT_OK  # pragma: no cover - only Ctrl-C ends the wait


# --------------------------------------------------------------------------- transcribe


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Send a WAV file as input audio; print the transcript and the answer."""
    try:
        pcm = load_wav_as_pcm16_24k(args.file)
    except (OSError, ValueError) as exc:
        raise _CliError(f"cannot read {args.file}: {exc}", EXIT_CONFIG) from None
    total_s = pcm16_duration_ms(pcm) / 1000

    def script(sim: Any) -> None:
        sim.transcript_for_audio = f"(simulated transcript of {total_s:.1f} s of audio)"

    with _session(args, script) as client:
        client.update_session(
            input_audio_transcription=InputAudioTranscriptionConfig(model=args.transcription_model),
            turn_detection=None,
        )
        client.connect(model=args.model, timeout=args.timeout)
        transcript: Dict[str, str] = {}
        got_transcript = threading.Event()

        def on_transcript(event: ev.ConversationItemInputAudioTranscriptionCompletedEvent) -> None:
            transcript["text"] = event.transcript
            got_transcript.set()

        client.on(T.CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_COMPLETED, on_transcript)
        chunk = ms_to_pcm16_bytes(100)
        show = sys.stderr.isatty() or total_s > 10
        for offset in range(0, len(pcm), chunk):
            client.append_input_audio(pcm[offset : offset + chunk])
            if show and (offset // chunk) % 10 == 0:
                done_s = min(total_s, pcm16_duration_ms(offset + chunk) / 1000)
                bar = "#" * int(20 * done_s / total_s)
                sys.stderr.write(f"\rstreaming {done_s:5.1f}/{total_s:.1f} s [{bar:<20}]")
                sys.stderr.flush()
        if show:
            sys.stderr.write(f"\rstreaming {total_s:5.1f}/{total_s:.1f} s [{'#' * 20}]\n")
        done = client.wait_for(T.RESPONSE_DONE)
        client.create_response(ResponseCreateParams(output_modalities=[Modality.TEXT]))
        response = done.result(args.timeout).response
        if got_transcript.wait(args.timeout):
            _say(f"you (transcript)> {transcript['text']}")
        else:
            _say("you (transcript)> (no transcript arrived)")
        words = []
        for item in response.output or []:
            cached = client.conversation.get_item(item.id or "") if hasattr(item, "id") else None
            if cached is not None:
                words.append(cached.formatted.text or cached.formatted.transcript)
        _say(f"assistant> {' '.join(w for w in words if w)}")
    return EXIT_OK


# --------------------------------------------------------------------------- talk


def cmd_talk(args: argparse.Namespace) -> int:
    """A voice conversation: microphone and speaker (or WAV files), with a live transcript."""
    from . import audio  # noqa: PLC0415 - the audio devices load only for this command

    if args.list_devices:
        try:
            _say(audio.list_devices())
        except audio.AudioDeviceError as exc:
            raise _CliError(str(exc), EXIT_CONFIG) from None
        return EXIT_OK
    specs: List[Any] = [
        int(s) if s.strip().isdigit() else s.strip() or None
        for s in (args.device or "").split(",", 1)
    ]
    in_spec, out_spec = specs[0], specs[-1]
    try:
        source: Any = (
            audio.WavFileInput(args.input_wav, speed=args.speed)
            if args.input_wav
            else audio.SounddeviceInput(in_spec)
        )
        speaker: Any = (
            audio.WavFileOutput(args.output_wav, speed=args.speed)
            if args.output_wav
            else audio.SounddeviceOutput(out_spec)
        )
    except audio.AudioDeviceError as exc:
        raise _CliError(str(exc), EXIT_CONFIG) from None
    except (OSError, ValueError) as exc:
        raise _CliError(f"cannot read {args.input_wav}: {exc}", EXIT_CONFIG) from None

    def on_heard(event: ev.ConversationItemInputAudioTranscriptionCompletedEvent) -> None:
        _say(f"\nyou> {event.transcript.strip()}", end="")

    def on_interrupt(cut: Any) -> None:
        heard = f"after {cut.played_ms / 1000:.1f} s" if cut.item_id else "before it spoke"
        _say(f" [interrupted {heard}]", end="")

    with _session(args) as client:
        client.update_session(
            input_audio_transcription=InputAudioTranscriptionConfig(model=args.transcription_model)
        )
        if args.instructions:
            client.update_session(instructions=args.instructions)
        if args.voice:
            client.update_session(voice=args.voice)
        client.connect(model=args.model, timeout=args.timeout)
        client.on(T.CONVERSATION_UPDATED, _stream_printer())
        client.on(T.CONVERSATION_ITEM_INPUT_AUDIO_TRANSCRIPTION_COMPLETED, on_heard)
        loop = audio.VoiceLoop(
            client,
            player=audio.AudioPlayer(speaker),
            mic=audio.Microphone(source),
            half_duplex=args.half_duplex,
            on_interrupt=on_interrupt,
        )
        try:
            with loop:
                if args.input_wav:
                    budget = (source.duration_s / args.speed if args.speed else 0) + args.timeout
                    if not source.wait_finished(budget) or not loop.mic.drain(args.timeout):
                        raise RealtimeTimeoutError(f"{args.input_wav} was not sent in time")
                    if not loop.wait_until_idle(args.timeout):
                        if not client.is_connected():
                            raise ConnectionClosedError("the connection closed during the talk")
                        raise RealtimeTimeoutError(
                            f"the conversation did not settle within {args.timeout:g} s"
                        )
                else:
                    _say("Listening: speak when you like. Ctrl-C to stop.")
                    while client.is_connected():
                        time.sleep(0.2)
        except KeyboardInterrupt:
            _say("\n(stopped)", end="")
        _say()
    if args.output_wav:
        seconds = speaker.frames_written / speaker.sample_rate
        _say(f"the speaker's audio ({seconds:.1f} s) was written to {args.output_wav}")
    return EXIT_OK


# --------------------------------------------------------------------------- main


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="realtime-sync",
        description="A synchronous Python SDK for the OpenAI Realtime API: demo, chat, "
        "simulator, transcribe and talk. Without OPENAI_API_KEY (or --url) everything runs "
        "offline against the built-in simulator.",
    )
    parser.add_argument("--version", action="version", version=f"realtime-sync {__version__}")
    parser.add_argument(
        "--log-level",
        default="warning",
        choices=["debug", "info", "warning", "error"],
        help="log level of the 'realtime_sync' logger, on stderr (default: warning)",
    )
    parser.add_argument(
        "--log-events",
        metavar="FILE",
        help="write every client and server event to FILE as JSON lines (audio shortened)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def connection_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--url", help="a Realtime endpoint (relay, simulator); default: OpenAI")
        p.add_argument("--model", default="gpt-realtime", help="model (default: gpt-realtime)")
        p.add_argument("--timeout", type=float, default=60.0, help="seconds to wait per turn")

    demo = sub.add_parser("demo", help="a scripted conversation, offline by default")
    demo.add_argument("--out", default=".", help="directory for the answer WAV (default: .)")
    connection_args(demo)
    demo.set_defaults(func=cmd_demo)

    chat = sub.add_parser("chat", help="an interactive text chat on stdin")
    connection_args(chat)
    chat.add_argument("--instructions", help="system instructions for the session")
    chat.add_argument("--voice", help="output voice (e.g. marin, cedar, alloy)")
    chat.add_argument("--save-audio", metavar="DIR", help="answer with audio and save WAVs here")
    chat.set_defaults(func=cmd_chat)

    simulator = sub.add_parser("simulator", help="serve the offline Realtime simulator")
    simulator.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    simulator.add_argument("--port", type=int, default=8765, help="port (default: 8765)")
    simulator.set_defaults(func=cmd_simulator)

    transcribe = sub.add_parser("transcribe", help="send a WAV file; print transcript and answer")
    transcribe.add_argument("file", help="a PCM16 WAV file (any rate; resampled to 24 kHz)")
    transcribe.add_argument("--transcription-model", default="whisper-1")
    connection_args(transcribe)
    transcribe.set_defaults(func=cmd_transcribe)

    talk = sub.add_parser("talk", help="a voice conversation: microphone and speaker")
    talk.add_argument(
        "--half-duplex",
        action="store_true",
        help="mute the mic while the assistant speaks (no echo cancellation)",
    )
    talk.add_argument("--voice", help="output voice (e.g. marin, cedar, alloy)")
    talk.add_argument("--instructions", help="system instructions for the session")
    talk.add_argument("--device", help="audio device index or name; IN,OUT for two devices")
    talk.add_argument("--list-devices", action="store_true", help="list audio devices and exit")
    talk.add_argument("--input-wav", metavar="FILE", help="a WAV file instead of the microphone")
    talk.add_argument("--output-wav", metavar="FILE", help="write the speaker's audio to FILE")
    talk.add_argument(
        "--speed",
        type=float,
        default=1.0,
        help="pace of the WAV files: times real time, 0 as fast as possible",
    )
    talk.add_argument(
        "--transcription-model",
        default="whisper-1",
        help="model of the live transcript of what you say (default: whisper-1)",
    )
    connection_args(talk)
    talk.set_defaults(func=cmd_talk)
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``realtime-sync`` command; returns its exit code."""
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    started = time.monotonic()
    try:
        code: int = args.func(args)
    except _CliError as exc:
        return _fail(str(exc), exc.code)
    except RealtimeConnectionError as exc:
        return _fail(str(exc), EXIT_CONNECTION)
    except RealtimeTimeoutError as exc:
        return _fail(str(exc), EXIT_TIMEOUT)
    except RealtimeServerError as exc:
        return _fail(f"the server said: {exc} (code {exc.code})", EXIT_ERROR)
    except ConnectionClosedError as exc:
        return _fail(str(exc), EXIT_CONNECTION)
    except RealtimeError as exc:
        configuration = "API key" in str(exc) or "OPENAI_API_KEY" in str(exc)
        return _fail(str(exc), EXIT_CONFIG if configuration else EXIT_ERROR)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted\n")
        return EXIT_INTERRUPTED
    logging.getLogger("realtime_sync").debug("finished in %.2f s", time.monotonic() - started)
    return code


def _fail(message: str, code: int) -> int:
    sys.stderr.write(f"realtime-sync: error: {redact_secrets(message)}\n")
    return code
