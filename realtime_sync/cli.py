"""The ``realtime-sync`` command: demo, chat, simulator, transcribe, talk and live.

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
import difflib
import json
import logging
import math
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any, Callable, Dict, Iterator, List, NoReturn, Optional, Sequence, Tuple
from urllib.parse import urlsplit

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
from .transcriber import DEFAULT_TRANSCRIPTION_MODEL, RealtimeTranscriber
from .utils import (
    load_wav_as_pcm16_24k,
    ms_to_pcm16_bytes,
    pcm16_duration_ms,
    read_wav,
    write_wav,
)

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


# --------------------------------------------------------------------------- checking options
#
# Every option is checked before any network or audio work: values by argparse types (a
# bad one is a usage error, exit code 2), files by _check_files (exit code 3).

MIN_AUDIO_MS = 100
"""The shortest input audio the API commits as a turn."""


def _seconds(text: str) -> float:
    """An argparse type: a positive, finite number of seconds."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, not {text!r}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, not {text}")
    return value


def _non_negative(text: str) -> float:
    """An argparse type: a finite number >= 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, not {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"must be a number >= 0, not {text}")
    return value


def _port(text: str) -> int:
    """An argparse type: a TCP port to listen on, 0 for any free one."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number, not {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"port {value} is out of range (0-65535, 0: any)")
    return value


def _ws_url(text: str) -> str:
    """An argparse type: a ``ws://`` or ``wss://`` URL with a host (and a valid port)."""
    parts = urlsplit(text.strip())
    scheme = parts.scheme.lower()
    if scheme in ("http", "https"):
        fixed = ("wss" if scheme == "https" else "ws") + text.strip()[len(scheme) :]
        raise argparse.ArgumentTypeError(
            f"{text!r} is an HTTP URL; a Realtime endpoint is a WebSocket URL: {fixed}"
        )
    if scheme not in ("ws", "wss"):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a WebSocket URL: it must start with ws:// or wss://"
        )
    try:
        port = parts.port
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} has a bad port (a number from 1 to 65535)"
        ) from None
    if not parts.hostname:
        raise argparse.ArgumentTypeError(f"{text!r} has no host")
    if port == 0:
        raise argparse.ArgumentTypeError(f"{text!r} has port 0 (a number from 1 to 65535)")
    return text.strip()


def _check_writable_file(path: str, option: str) -> None:
    """Raise a config error unless ``path`` can be written (without creating it)."""
    target = Path(path)
    if target.is_dir():
        raise _CliError(f"{option} {path}: is a directory, not a file", EXIT_CONFIG)
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise _CliError(f"{option} {path}: the directory {parent} does not exist", EXIT_CONFIG)
    try:
        if target.exists():
            with open(target, "ab"):  # appends nothing: only checks it may be written
                pass
        else:
            with tempfile.TemporaryFile(dir=parent):
                pass
    except OSError as exc:
        raise _CliError(
            f"{option} {path}: cannot write: {exc.strerror or exc}", EXIT_CONFIG
        ) from None


def _check_writable_dir(path: str, option: str) -> None:
    """Create the directory ``path`` if needed; raise a config error unless it is writable."""
    target = Path(path)
    try:
        target.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=target):
            pass
    except FileExistsError:
        raise _CliError(f"{option} {path}: is a file, not a directory", EXIT_CONFIG) from None
    except OSError as exc:
        raise _CliError(
            f"{option} {path}: cannot write: {exc.strerror or exc}", EXIT_CONFIG
        ) from None


def _check_input_wav(path: str) -> float:
    """The duration in seconds of a readable WAV with enough audio for one turn."""
    try:
        wav = read_wav(path)
    except (OSError, ValueError) as exc:
        raise _CliError(f"cannot read {path}: {exc}", EXIT_CONFIG) from None
    ms = 1000 * wav.duration_s
    if ms < MIN_AUDIO_MS:
        held = "no audio" if not wav.pcm else f"only {ms:.0f} ms of audio"
        raise _CliError(
            f"{path} holds {held}; the API needs at least {MIN_AUDIO_MS} ms for a turn",
            EXIT_CONFIG,
        )
    return float(wav.duration_s)


def _check_files(args: argparse.Namespace) -> None:
    """The file options: writable outputs, readable inputs (before any other work)."""
    if getattr(args, "log_events", None):
        _check_writable_file(args.log_events, "--log-events")
    if getattr(args, "out", None) is not None:
        _check_writable_dir(args.out, "--out")
    if getattr(args, "save_audio", None):
        _check_writable_dir(args.save_audio, "--save-audio")
    if getattr(args, "output_wav", None):
        _check_writable_file(args.output_wav, "--output-wav")
    if getattr(args, "file", None):
        _check_input_wav(args.file)
    if getattr(args, "input_wav", None):
        _check_input_wav(args.input_wav)
    if getattr(args, "script", None):
        try:
            with open(args.script, encoding="utf-8"):
                pass
        except OSError as exc:
            raise _CliError(
                f"cannot read {args.script}: {exc.strerror or exc}", EXIT_CONFIG
            ) from None


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.split(" ", 1)[1] + ": " if " " in self.prog else ""
        sys.stderr.write(f"realtime-sync: error: {command}{message} (see '{self.prog} --help')\n")
        raise SystemExit(EXIT_USAGE)


def _unrecognized(
    parser: argparse.ArgumentParser, args: argparse.Namespace, extras: List[str]
) -> str:
    """A message naming the first unknown argument, with a close known flag if any."""
    bad = extras[0]
    command = getattr(args, "command", None)
    parsers = [parser]
    if command is not None:
        parsers.append(_subparsers(parser)[command])
    known = [flag for p in parsers for action in p._actions for flag in action.option_strings]
    flag = bad.split("=", 1)[0]
    close = difflib.get_close_matches(flag, known, n=1, cutoff=0.75) if flag[:1] == "-" else []
    hint = f" (did you mean {close[0]}?)" if close else ""
    what = "option" if flag.startswith("-") else "argument"
    return f"unrecognized {what} {bad!r}{hint}"


def _subparsers(parser: argparse.ArgumentParser) -> Dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


# --------------------------------------------------------------------------- plumbing


def _say(text: str = "", *, end: str = "\n") -> None:
    try:
        sys.stdout.write(text + end)
        sys.stdout.flush()
    except BrokenPipeError:  # the reader went away (``| head``): finish quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


@contextlib.contextmanager
def _endpoint(
    args: argparse.Namespace, script: Optional[Callable[[Any], None]] = None
) -> Iterator[Tuple[Optional[str], Optional[str]]]:
    """``(url, key)`` for OpenAI, ``--url``, or (offline) a fresh built-in simulator."""
    key = os.environ.get("OPENAI_API_KEY")
    sim: Any = None
    url = args.url
    if not url and not key:
        RealtimeSimulator = _simulator_class(
            "no OPENAI_API_KEY is set and the offline simulator needs the 'testing' extra"
        )
        sim = RealtimeSimulator(event_delay=getattr(args, "event_delay", 0.0), keep_history=False)
        sim.start()
        if script is not None:
            script(sim)
        url = sim.url
        _say(f"No OPENAI_API_KEY set: using the built-in RealtimeSimulator at {url} (offline).")
    try:
        yield url, key
    finally:
        if sim is not None:
            sim.stop()


@contextlib.contextmanager
def _session(
    args: argparse.Namespace, script: Optional[Callable[[Any], None]] = None
) -> Iterator[RealtimeClient]:
    """A client for OpenAI, ``--url``, or (offline) a fresh built-in simulator."""
    with _endpoint(args, script) as (url, key):
        client = RealtimeClient(url=url, api_key=key)
        log_file: Optional[IO[str]] = None
        try:
            if args.log_events:
                log_file = open(args.log_events, "w", encoding="utf-8")  # noqa: SIM115 - closed below
                client.on(T.ALL, _event_logger(log_file, key))
            yield client
        finally:
            client.disconnect()
            if log_file is not None:
                log_file.close()


TESTING_EXTRA = 'pip install -e ".[testing]" in a clone of realtime_sync'


def _simulator_class(why: str, alternative: str = " (or set OPENAI_API_KEY)") -> Any:
    """``RealtimeSimulator``, or a config error saying how to install the ``testing`` extra."""
    try:
        from .testing import RealtimeSimulator  # noqa: PLC0415 - optional extra
    except ImportError:
        raise _CliError(f"{why}: {TESTING_EXTRA}{alternative}", EXIT_CONFIG) from None
    return RealtimeSimulator


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


def _line_reader() -> Callable[[str], str]:
    """``input``, with line editing and history (readline) when stdin is a terminal."""
    if sys.stdin.isatty():
        with contextlib.suppress(ImportError):  # not on Windows without pyreadline3
            import readline  # noqa: F401, PLC0415 - importing it gives input() editing
    return input


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
        read_line = _line_reader()
        count = 0
        while True:
            _say()
            try:
                line = read_line("you> ")
            except EOFError:  # Ctrl-D, or the end of piped input
                _say()
                break
            if line.strip() in ("/quit", "/exit"):
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
    """Serve RealtimeSimulator until Ctrl-C, with the replies of ``--script`` if given."""
    RealtimeSimulator = _simulator_class("the simulator needs the 'testing' extra", "")
    sim = RealtimeSimulator(
        host=args.host,
        port=args.port,
        api_key=args.api_key,
        event_delay=args.event_delay,
        model=args.model,
        keep_history=False,
    )
    rules: List[Any] = []
    if args.script:
        try:
            rules = sim.load_script(args.script)
        except (OSError, ValueError) as exc:
            raise _CliError(str(exc), EXIT_CONFIG) from None
    try:
        sim.start()
    except OSError as exc:
        raise _CliError(f"cannot listen on {args.host}:{args.port}: {exc}", EXIT_CONFIG) from None
    _say(f"RealtimeSimulator listening on {sim.url}  (Ctrl-C to stop)")
    if args.script:
        _say(f"{len(rules)} scripted replies from {args.script}")
    _say(f"connect with: RealtimeClient(url={sim.url!r})")
    _say(f"         or: realtime-sync chat --url {sim.url}")
    try:
        threading.Event().wait()
    finally:
        sim.stop()
    return EXIT_OK  # pragma: no cover - only Ctrl-C ends the wait


# --------------------------------------------------------------------------- transcribe


def cmd_transcribe(args: argparse.Namespace) -> int:
    """Transcribe a WAV file, or the microphone (``--live``), in a transcription session."""
    if bool(args.file) == bool(args.live):
        raise _CliError("give a WAV file, or --live for the microphone (not both)", EXIT_USAGE)
    pcm = b""
    if args.file:
        try:
            pcm = load_wav_as_pcm16_24k(args.file)
        except (OSError, ValueError) as exc:
            raise _CliError(f"cannot read {args.file}: {exc}", EXIT_CONFIG) from None
    total_s = pcm16_duration_ms(pcm) / 1000

    def script(sim: Any) -> None:
        # The simulator does not recognise speech: say so instead of inventing words.
        sim.transcript_for_audio = (
            SIMULATED_SPEECH if args.live else f"(simulated transcript of {total_s:.1f} s of audio)"
        )

    with _endpoint(args, script) as (url, key):
        transcriber = RealtimeTranscriber(
            url=url,
            api_key=key,
            model=args.transcription_model,
            language=args.language,
            prompt=args.prompt,
        )
        if args.log_events:
            log_file = open(args.log_events, "w", encoding="utf-8")  # noqa: SIM115 - closed below
            transcriber.on(T.ALL, _event_logger(log_file, key))
        try:
            transcriber.connect(timeout=args.timeout)
            if args.live:
                return _transcribe_live(transcriber, args)
            _stream_file(transcriber, pcm, total_s)
            transcripts = transcriber.finish(args.timeout)
        finally:
            transcriber.disconnect()
            if args.log_events:
                log_file.close()
    for transcript in transcripts:
        _say(f"you (transcript)> {transcript.text.strip()}")
    if not transcripts:
        _say("you (transcript)> (nothing was recognised)")
    return EXIT_OK


def _stream_file(transcriber: RealtimeTranscriber, pcm: bytes, total_s: float) -> None:
    chunk = ms_to_pcm16_bytes(100)
    show = sys.stderr.isatty() or total_s > 10
    for offset in range(0, len(pcm), chunk):
        transcriber.append_input_audio(pcm[offset : offset + chunk])
        if show and (offset // chunk) % 10 == 0:
            done_s = min(total_s, pcm16_duration_ms(offset + chunk) / 1000)
            bar = "#" * int(20 * done_s / total_s)
            sys.stderr.write(f"\rstreaming {done_s:5.1f}/{total_s:.1f} s [{bar:<20}]")
            sys.stderr.flush()
    if show:
        sys.stderr.write(f"\rstreaming {total_s:5.1f}/{total_s:.1f} s [{'#' * 20}]\n")


def _transcribe_live(transcriber: RealtimeTranscriber, args: argparse.Namespace) -> int:
    """Microphone to transcripts until Ctrl-C: partial text as it comes, then each line."""
    from . import audio  # noqa: PLC0415 - the audio devices load only for this command

    try:
        source: Any = audio.SounddeviceInput(args.device)
        mic = audio.Microphone(source)
    except audio.AudioDeviceError as exc:
        raise _CliError(str(exc), EXIT_CONFIG) from None
    transcriber.on("transcript.delta", lambda e: _say(f"\r... {e.transcript.text.strip()}", end=""))
    _say("Listening: speak, and press Ctrl-C to stop.")
    mic.start(transcriber.append_input_audio)
    try:
        for transcript in transcriber.transcripts():
            _say(f"\ryou (transcript)> {transcript.text.strip()}")
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    finally:
        mic.close()
    return EXIT_OK


# --------------------------------------------------------------------------- talk


SIMULATED_SPEECH = "(simulated transcript)"
"""What the built-in simulator "hears" in ``talk``: it does not recognise speech."""


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
        _say(f"\nyou (transcript)> {event.transcript.strip()}", end="")

    def on_interrupt(cut: Any) -> None:
        heard = f"after {cut.played_ms / 1000:.1f} s" if cut.item_id else "before it spoke"
        _say(f" [interrupted {heard}]", end="")

    def script(sim: Any) -> None:
        # The simulator does not recognise speech: say so instead of inventing words.
        sim.transcript_for_audio = SIMULATED_SPEECH

    interrupted = False
    with _session(args, script) as client:
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
                    _say(
                        f"Streaming {args.input_wav} ({source.duration_s:.1f} s) as the "
                        "microphone. Ctrl-C to stop."
                    )
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
            interrupted = True
        _say()
    if args.output_wav:
        seconds = speaker.frames_written / speaker.sample_rate
        _say(f"the speaker's audio ({seconds:.1f} s) was written to {args.output_wav}")
    if interrupted:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    return EXIT_OK


# --------------------------------------------------------------------------- live


@contextlib.contextmanager
def _live_endpoint(args: argparse.Namespace) -> Iterator[Tuple[Optional[str], Optional[str]]]:
    """``(url, key)`` for GPT-Live: OpenAI, ``--url``, or (offline) a built-in LiveSimulator."""
    key = os.environ.get("OPENAI_API_KEY")
    sim: Any = None
    url = args.url
    if not url and not key:
        try:
            from .testing.live import LiveSimulator  # noqa: PLC0415 - optional extra
        except ImportError:
            raise _CliError(
                "no OPENAI_API_KEY is set and the offline Live simulator needs the 'testing' "
                f"extra: {TESTING_EXTRA} (or set OPENAI_API_KEY)",
                EXIT_CONFIG,
            ) from None
        # The simulator does not recognise speech: say so instead of inventing words.
        sim = LiveSimulator(transcript_for_audio=SIMULATED_SPEECH)
        sim.add_reply("", "I am the realtime_sync Live simulator, standing in for gpt-live-1.")
        try:
            sim.start()
        except RuntimeError as exc:
            raise _CliError(str(exc), EXIT_CONFIG) from None
        url = sim.url
        _say(f"No OPENAI_API_KEY set: using the built-in LiveSimulator at {url} (offline).")
    try:
        yield url, key
    finally:
        if sim is not None:
            sim.stop()


def cmd_live(args: argparse.Namespace) -> int:
    """A GPT-Live voice session: microphone and speaker (or WAV files), transcript as turns."""
    import base64  # noqa: PLC0415

    from . import audio  # noqa: PLC0415 - the audio devices load only for this command
    from .live import LiveClient  # noqa: PLC0415

    try:
        source: Any = (
            audio.WavFileInput(args.input_wav, speed=args.speed)
            if args.input_wav
            else audio.SounddeviceInput()
        )
        speaker: Any = (
            audio.WavFileOutput(args.output_wav, speed=args.speed)
            if args.output_wav
            else audio.SounddeviceOutput()
        )
    except audio.AudioDeviceError as exc:
        raise _CliError(str(exc), EXIT_CONFIG) from None
    except (OSError, ValueError) as exc:
        raise _CliError(f"cannot read {args.input_wav}: {exc}", EXIT_CONFIG) from None

    interrupted = False
    result: Any = None
    with _live_endpoint(args) as (url, key):
        simulated = url is not None and not args.url and not key
        client = LiveClient(
            model=args.model,
            instructions=args.instructions,
            voice=args.voice,
            url=url,
            api_key=key,
        )
        player = audio.AudioPlayer(speaker)
        mic = audio.Microphone(source)
        client.on(
            "session.output_audio.delta",
            lambda e: player.play(base64.b64decode(e.delta), item_id="live"),
        )
        try:
            client.connect(timeout=args.timeout)
            player.start()
            mic.start(client.append_audio)
            if args.input_wav:
                _say(
                    f"Streaming {args.input_wav} ({source.duration_s:.1f} s) as the microphone."
                    " Ctrl-C to stop."
                )
            else:
                _say("Listening: speak when you like. Ctrl-C to stop.")
            done = threading.Event()
            budget = (source.duration_s / args.speed if args.speed else 0) if args.input_wav else 0
            deadline = time.monotonic() + budget + args.timeout

            def turns() -> None:
                for segment in client.transcript_segments():
                    you = segment.speaker == "user"
                    label = "you" if you else "assistant"
                    if you:
                        label += " (simulated transcript)" if simulated else " (transcript)"
                    elif simulated:
                        label += " (simulated)"
                    text = segment.text.strip()
                    _say(f"{label}> {text}")
                    if args.input_wav and not you:
                        done.set()
                done.set()

            reader = threading.Thread(target=turns, name="live-cli-turns", daemon=True)
            reader.start()
            if args.input_wav:
                while not done.wait(0.1):
                    if not client.is_connected():
                        raise ConnectionClosedError("the connection closed during the session")
                    if time.monotonic() > deadline:
                        raise RealtimeTimeoutError(
                            f"the model did not answer within {args.timeout:g} s"
                        )
                player.wait_idle(1.0)  # the rest of the answer (output audio never stops)
            else:
                while client.is_connected() and not done.is_set():
                    time.sleep(0.2)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            mic.close()
            result = client.close()
            player.close()
    reason = result.reason.value if result.reason is not None else "unconfirmed (no session.closed)"
    usage = f"{result.usage.seconds:.1f} s of audio" if result.usage is not None else "unknown"
    _say(f"session closed: {reason}; usage: {usage}")
    if args.output_wav:
        seconds = speaker.frames_written / speaker.sample_rate
        _say(f"the speaker's audio ({seconds:.1f} s) was written to {args.output_wav}")
    if interrupted:
        sys.stderr.write("interrupted\n")
        return EXIT_INTERRUPTED
    return EXIT_OK


# --------------------------------------------------------------------------- main


LOG_LEVELS = ["debug", "info", "warning", "error"]


def _global_args(p: argparse.ArgumentParser, default: Any) -> None:
    """``--log-level`` and ``--log-events``, accepted before and after the COMMAND."""
    p.add_argument(
        "--log-level",
        default=default if default is argparse.SUPPRESS else "warning",
        choices=LOG_LEVELS,
        help="log level of the 'realtime_sync' logger, on stderr (default: warning)",
    )
    p.add_argument(
        "--log-events",
        metavar="FILE",
        default=default,
        help="write every client and server event to FILE as JSON lines (audio shortened)",
    )


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="realtime-sync",
        description="A synchronous Python SDK for the OpenAI Realtime API: demo, chat, "
        "simulator, transcribe, talk and live (GPT-Live). Without OPENAI_API_KEY (or --url) "
        "everything runs offline against the built-in simulators.",
    )
    parser.add_argument("--version", action="version", version=f"realtime-sync {__version__}")
    _global_args(parser, None)
    # The same flags after the COMMAND; SUPPRESS keeps a subcommand from resetting them.
    common = _Parser(add_help=False)
    _global_args(common, argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, help_text: str) -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = sub.add_parser(
            name, help=help_text, description=help_text, parents=[common]
        )
        return p

    def connection_args(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--url",
            type=_ws_url,
            help="a Realtime endpoint, ws:// or wss:// (relay, simulator); default: OpenAI",
        )
        p.add_argument("--model", default="gpt-realtime", help="model (default: gpt-realtime)")
        p.add_argument(
            "--timeout",
            type=_seconds,
            default=60.0,
            metavar="SECONDS",
            help="seconds to wait per turn (default: 60)",
        )

    demo = command("demo", "a scripted conversation, offline by default")
    demo.add_argument("--out", default=".", help="directory for the answer WAV (default: .)")
    connection_args(demo)
    demo.set_defaults(func=cmd_demo)

    chat = command("chat", "an interactive text chat on stdin, with line editing and history")
    connection_args(chat)
    chat.add_argument("--instructions", help="system instructions for the session")
    chat.add_argument("--voice", help="output voice (e.g. marin, cedar, alloy)")
    chat.add_argument("--save-audio", metavar="DIR", help="answer with audio and save WAVs here")
    chat.set_defaults(func=cmd_chat)

    simulator = command("simulator", "serve the offline Realtime simulator")
    simulator.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    simulator.add_argument(
        "--port", type=_port, default=8765, help="TCP port, 0 for any free one (default: 8765)"
    )
    simulator.add_argument(
        "--model", default="gpt-realtime", help="the session model (default: gpt-realtime)"
    )
    simulator.add_argument(
        "--api-key", metavar="KEY", help="require 'Authorization: Bearer KEY' on handshakes"
    )
    simulator.add_argument(
        "--event-delay",
        type=_non_negative,
        default=0.0,
        metavar="SECONDS",
        help="seconds between streamed events (default: 0)",
    )
    simulator.add_argument(
        "--script",
        metavar="FILE",
        help="scripted replies and tool calls, a JSON file (see docs/testing.md)",
    )
    simulator.set_defaults(func=cmd_simulator)

    transcribe = command(
        "transcribe", "transcribe a WAV file, or the microphone with --live (transcription session)"
    )
    transcribe.add_argument(
        "file", nargs="?", help="a PCM16 WAV file (any rate; resampled to 24 kHz)"
    )
    transcribe.add_argument(
        "--live", action="store_true", help="transcribe the microphone (the 'audio' extra)"
    )
    transcribe.add_argument(
        "--transcription-model",
        default=DEFAULT_TRANSCRIPTION_MODEL,
        help=f"default: {DEFAULT_TRANSCRIPTION_MODEL}",
    )
    transcribe.add_argument("--language", help="the spoken language, ISO-639-1 (e.g. en)")
    transcribe.add_argument("--prompt", help="words or context that help recognition")
    transcribe.add_argument("--device", help="the microphone, by number or name (--live)")
    connection_args(transcribe)
    transcribe.set_defaults(func=cmd_transcribe)

    talk = command("talk", "a voice conversation: microphone and speaker")
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
        type=_non_negative,
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

    live = command("live", "a GPT-Live voice session: microphone and speaker")
    live.add_argument("--voice", help="output voice (e.g. marin, cedar)")
    live.add_argument("--instructions", help="system instructions for the session")
    live.add_argument("--input-wav", metavar="FILE", help="a WAV file instead of the microphone")
    live.add_argument("--output-wav", metavar="FILE", help="write the speaker's audio to FILE")
    live.add_argument(
        "--speed",
        type=_non_negative,
        default=1.0,
        help="pace of the WAV files: times real time, 0 as fast as possible",
    )
    live.add_argument(
        "--url",
        type=_ws_url,
        help="a GPT-Live endpoint, ws:// or wss:// (.../v1/live/sessions); default: OpenAI",
    )
    live.add_argument("--model", default="gpt-live-1", help="model (default: gpt-live-1)")
    live.add_argument(
        "--timeout",
        type=_seconds,
        default=60.0,
        metavar="SECONDS",
        help="seconds to wait for the session to start and to answer (default: 60)",
    )
    live.set_defaults(func=cmd_live)
    return parser


def _parse(argv: Optional[Sequence[str]]) -> argparse.Namespace:
    """Parse and check the arguments; a bad one exits with code 2, naming it, in one line."""
    parser = _parser()
    words = list(sys.argv[1:] if argv is None else argv)
    commands = _subparsers(parser)
    for word in words:  # an unknown flag before the COMMAND: name it, not the word after it
        if word in commands:
            break
        if word.startswith("-") and word.split("=", 1)[0] not in parser._option_string_actions:
            parser.error(_unrecognized(parser, argparse.Namespace(command=None), [word]))
    args, extras = parser.parse_known_args(words)
    if extras:
        target = _subparsers(parser).get(args.command, parser) if args.command else parser
        target.error(_unrecognized(parser, args, extras))
    if args.command is None:
        parser.error(f"no COMMAND given: one of {', '.join(_subparsers(parser))}")
    return args


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the ``realtime-sync`` command; returns its exit code."""
    args = _parse(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    started = time.monotonic()
    try:
        _check_files(args)
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
