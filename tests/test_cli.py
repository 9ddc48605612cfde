"""The ``realtime-sync`` command, run as a user runs it: a subprocess, offline."""

from __future__ import annotations

import json
import os
import queue
import re
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import wave
from pathlib import Path
from typing import IO, Any, Dict, List, Optional

import pytest
import websocket

from realtime_sync import RealtimeClient, RealtimeConnectionError
from realtime_sync.utils import generate_tone, resample_pcm16, write_wav

ROOT = Path(__file__).resolve().parents[1]


def run(
    args: List[str], *, cwd: Path, stdin: str = "", env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    environ.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "realtime_sync", *args],
        check=False,
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_demo_runs_offline_and_writes_a_wav(tmp_path: Path) -> None:
    result = run(["demo"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "built-in RealtimeSimulator" in out
    assert "you> Hello! Who are you?" in out and "assistant> Hi!" in out
    assert '[tool] get_weather({"city": "Paris"})' in out
    assert "It is 18 degrees and sunny in Paris." in out
    assert re.search(r"cancelled, item truncated at 1000 ms \(cached audio now 1.000 s\)", out)
    wav_path = tmp_path / "realtime-sync-demo-answer.wav"
    assert str(wav_path) in out
    with wave.open(str(wav_path)) as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.getnframes() > 24000
    assert result.stderr == ""


def test_chat_streams_answers_and_saves_audio(tmp_path: Path) -> None:
    result = run(
        ["--log-events", "events.jsonl", "chat", "--save-audio", "audio"],
        cwd=tmp_path,
        stdin="Hello there\nSecond line\n/quit\n",
    )
    assert result.returncode == 0, result.stderr
    assert 'assistant> You said: "Hello there".' in result.stdout
    assert 'assistant> You said: "Second line".' in result.stdout
    assert sorted(p.name for p in (tmp_path / "audio").iterdir()) == [
        "answer-001.wav",
        "answer-002.wav",
    ]
    lines = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert {line["source"] for line in lines} == {"client", "server"}
    deltas = [e["event"] for e in lines if e["event"]["type"] == "response.output_audio.delta"]
    assert deltas and all(d["delta"].endswith("chars of base64 audio>") for d in deltas)


def test_transcribe_uses_a_transcription_session(tmp_path: Path) -> None:
    pcm48 = resample_pcm16(generate_tone(duration_ms=1500, amplitude=0.3), 24000, 48000)
    write_wav(tmp_path / "in.wav", pcm48, sample_rate=48000)
    log = tmp_path / "events.jsonl"
    result = run(
        ["transcribe", "in.wav", "--language", "en", "--log-events", str(log)], cwd=tmp_path
    )
    assert result.returncode == 0, result.stderr
    assert "you (transcript)> (simulated transcript of 1.5 s of audio)" in result.stdout
    assert "assistant>" not in result.stdout  # a transcription session answers nothing
    sent = [json.loads(line)["event"] for line in log.read_text().splitlines()]
    updates = [e for e in sent if e["type"] == "session.update"]
    assert updates and all(u["session"]["type"] == "transcription" for u in updates)
    assert updates[0]["session"]["audio"]["input"]["transcription"]["language"] == "en"
    assert not [e for e in sent if e["type"] == "response.create"]


def test_transcribe_live_needs_a_microphone_or_says_what_to_install(tmp_path: Path) -> None:
    result = run(["transcribe", "--live", "--url", "ws://127.0.0.1:9/v1/realtime"], cwd=tmp_path)
    assert result.returncode in (3, 4), result.stderr
    assert result.stderr.startswith("realtime-sync: error:") and "Traceback" not in result.stderr


def test_simulator_command_serves_until_interrupted(tmp_path: Path) -> None:
    port = free_port()
    environ = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_sync", "simulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        text=True,
        env=environ,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert f"ws://127.0.0.1:{port}/v1/realtime" in first
        with RealtimeClient(url=f"ws://127.0.0.1:{port}/v1/realtime") as client:
            assert "You said" in client.ask("ping", timeout=10).text
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(10)
    assert proc.returncode == 130


def test_errors_are_one_line_with_meaningful_exit_codes(tmp_path: Path) -> None:
    unreachable = run(["demo", "--url", f"ws://127.0.0.1:{free_port()}/v1/realtime"], cwd=tmp_path)
    assert unreachable.returncode == 4
    assert unreachable.stderr.startswith("realtime-sync: error: could not connect")
    assert "Traceback" not in unreachable.stderr
    missing = run(["transcribe", "nope.wav"], cwd=tmp_path)
    assert missing.returncode == 3 and "cannot read nope.wav" in missing.stderr
    usage = run(["bogus"], cwd=tmp_path)
    assert usage.returncode == 2
    version = run(["--version"], cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("realtime-sync ")


def test_refused_handshake_and_key_never_printed(tmp_path: Path) -> None:
    from realtime_sync.testing import RealtimeSimulator

    canary = "sk-canary-cli-0123456789abcdef"
    with RealtimeSimulator(api_key="sk-the-right-key-000000") as sim:
        result = run(
            ["--log-level", "debug", "--log-events", "ev.jsonl", "chat", "--url", sim.url],
            cwd=tmp_path,
            env={"OPENAI_API_KEY": canary},
        )
    assert result.returncode == 4
    assert "HTTP 401" in result.stderr and "API key" in result.stderr
    assert canary not in result.stderr + result.stdout
    assert canary not in (tmp_path / "ev.jsonl").read_text()


# --------------------------------------------------------------------------- errors before work
#
# Every option is checked before anything connects or opens a device: a bad one gives one line
# on stderr, the exit code of its kind, and nothing on stdout (the "using the built-in
# RealtimeSimulator" line comes only once the checks passed).


def one_line_error(result: subprocess.CompletedProcess[str], code: int) -> str:
    """The single error line of a command that failed before doing any work."""
    assert result.returncode == code, (result.returncode, result.stdout, result.stderr)
    assert result.stdout == "", "nothing may run before the options are checked"
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("realtime-sync: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def write_tone(path: Path, ms: int) -> Path:
    write_wav(path, generate_tone(duration_ms=ms, amplitude=0.3) if ms else b"")
    return path


USAGE_ERRORS = [
    (["demo", "--timeout", "0"], "argument --timeout: must be a positive number of seconds, not 0"),
    (["chat", "--timeout", "-1"], "argument --timeout: must be a positive number of seconds"),
    (["transcribe", "x.wav", "--timeout", "soon"], "expected a number of seconds, not 'soon'"),
    (["demo", "--timeout", "inf"], "must be a positive number of seconds, not inf"),
    (
        ["chat", "--url", "http://127.0.0.1:8765/v1/realtime"],
        "is an HTTP URL; a Realtime endpoint is a WebSocket URL: ws://127.0.0.1:8765/v1/realtime",
    ),
    (["demo", "--url", "https://api.openai.com/v1/realtime"], "wss://api.openai.com/v1/realtime"),
    (["chat", "--url", "127.0.0.1:8765"], "is not a WebSocket URL: it must start with ws://"),
    (["chat", "--url", "ws://"], "'ws://' has no host"),
    (["chat", "--url", "ws://localhost:70000/v1/realtime"], "has a bad port"),
    (["simulator", "--port", "70000"], "argument --port: port 70000 is out of range"),
    (["simulator", "--port", "-1"], "port -1 is out of range"),
    (["simulator", "--event-delay", "-0.5"], "argument --event-delay: must be a number >= 0"),
    (["talk", "--speed", "-2"], "argument --speed: must be a number >= 0, not -2"),
    (["live", "--speed", "-1"], "live: argument --speed: must be a number >= 0, not -1"),
    (["live", "--timeout", "0"], "live: argument --timeout: must be a positive number of seconds"),
    (["live", "--url", "http://127.0.0.1:1/v1/live/sessions"], "is an HTTP URL"),
    (["live", "--modle", "x"], "unrecognized option '--modle' (did you mean --model?)"),
    (["--bogus"], "unrecognized option '--bogus'"),
    (["demo", "--bogus"], "demo: unrecognized option '--bogus'"),
    (["demo", "--tiemout", "5"], "'--tiemout' (did you mean --timeout?)"),
    (["--log-levl", "debug", "demo"], "'--log-levl' (did you mean --log-level?)"),
    ([], "no COMMAND given: one of demo, chat, simulator, transcribe, talk, live"),
    (["bogus"], "invalid choice: 'bogus'"),
    (["transcribe"], "give a WAV file, or --live for the microphone (not both)"),
]


@pytest.mark.parametrize(
    ("args", "message"), USAGE_ERRORS, ids=[" ".join(a) for a, _ in USAGE_ERRORS]
)
def test_bad_option_values_are_one_line_usage_errors(
    args: List[str], message: str, tmp_path: Path
) -> None:
    assert message in one_line_error(run(args, cwd=tmp_path), 2)


CONFIG_ERRORS = [
    (["demo", "--out", "a-file"], "--out a-file: is a file, not a directory"),
    (["demo", "--out", "a-file/sub"], "--out a-file/sub: cannot write"),
    (["chat", "--save-audio", "a-file"], "--save-audio a-file: is a file, not a directory"),
    (["--log-events", "missing/ev.jsonl", "demo"], "the directory missing does not exist"),
    (["demo", "--log-events", "."], "--log-events .: is a directory, not a file"),
    (
        ["talk", "--input-wav", "ok.wav", "--output-wav", "missing/out.wav"],
        "--output-wav missing/out.wav: the directory missing does not exist",
    ),
    (["talk", "--input-wav", "ok.wav", "--output-wav", "."], "--output-wav .: is a directory"),
    (["transcribe", "empty.wav"], "empty.wav holds no audio; the API needs at least 100 ms"),
    (["transcribe", "short.wav"], "short.wav holds only 50 ms of audio"),
    (["talk", "--input-wav", "short.wav"], "short.wav holds only 50 ms of audio"),
    (["transcribe", "a-file"], "cannot read a-file"),
    (["talk", "--input-wav", "nope.wav"], "cannot read nope.wav"),
    (["simulator", "--script", "nope.json"], "cannot read nope.json"),
    (["simulator", "--script", "a-file"], "a-file: not valid JSON"),
    (["simulator", "--script", "bad.json"], 'bad.json: reply 1: unknown key "txt"'),
]


@pytest.mark.parametrize(
    ("args", "message"), CONFIG_ERRORS, ids=[" ".join(a) for a, _ in CONFIG_ERRORS]
)
def test_bad_files_are_one_line_config_errors(
    args: List[str], message: str, tmp_path: Path
) -> None:
    (tmp_path / "a-file").write_text("not a directory, not a WAV, not JSON")
    write_tone(tmp_path / "ok.wav", 500)
    write_tone(tmp_path / "short.wav", 50)
    write_tone(tmp_path / "empty.wav", 0)
    (tmp_path / "bad.json").write_text('[{"when": "hi", "txt": "typo"}]')
    assert message in one_line_error(run(args, cwd=tmp_path), 3)
    assert not (tmp_path / "missing").exists()


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root may write anywhere")
def test_an_unwritable_output_directory_is_a_config_error(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        line = one_line_error(run(["demo", "--out", "locked"], cwd=tmp_path), 3)
    finally:
        locked.chmod(0o700)
    assert "--out locked: cannot write" in line


def test_the_cli_pages_error_examples_are_what_the_command_prints(tmp_path: Path) -> None:
    page = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    block = page.split("Every option is checked before", 1)[1].split("```text\n", 1)[1]
    block = block.split("```", 1)[0]
    write_tone(tmp_path / "click.wav", 40)
    examples = re.findall(r"^\$ realtime-sync (.*)\n(realtime-sync: error: .*)$", block, re.M)
    assert len(examples) >= 4
    for command, printed in examples:
        result = run(command.split(), cwd=tmp_path)
        assert result.stderr.strip() == printed, command


def test_global_flags_also_work_after_the_command(tmp_path: Path) -> None:
    result = run(
        ["chat", "--log-level", "debug", "--log-events", "events.jsonl"],
        cwd=tmp_path,
        stdin="Hello\n/quit\n",
    )
    assert result.returncode == 0, result.stderr
    assert " DEBUG realtime_sync" in result.stderr  # --log-level after the command took effect
    logged = (tmp_path / "events.jsonl").read_text().splitlines()
    assert any(json.loads(line)["event"]["type"] == "response.done" for line in logged)
    # ... and before it, as always; the later one wins
    result = run(["--log-level", "debug", "chat", "--log-level", "error"], cwd=tmp_path, stdin="")
    assert result.returncode == 0 and " DEBUG " not in result.stderr


# --------------------------------------------------------------------------- interactive runs


class Lines:
    """The lines a subprocess prints, read on a thread; waits are bounded, never sleeps."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[Optional[str]] = queue.Queue()
        self.seen: List[str] = []
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"{text!r} not printed in {timeout} s: {self.seen}") from None
            if line is None:
                raise AssertionError(f"the process ended before printing {text!r}: {self.seen}")
            self.seen.append(line)
            if text in line:
                return line


def popen(args: List[str], cwd: Path, **kwargs: Any) -> subprocess.Popen[str]:
    kwargs.setdefault("stdin", subprocess.DEVNULL)
    environ = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    environ["PYTHONPATH"] = str(ROOT) + os.pathsep + environ.get("PYTHONPATH", "")
    return subprocess.Popen(
        [sys.executable, "-m", "realtime_sync", *args],
        cwd=cwd,
        env=environ,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def stop(proc: subprocess.Popen[str], timeout: float = 15) -> str:
    """Ctrl-C the process; return its stderr once it exited (stdout is left to a Lines)."""
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout)
        raise
    assert proc.stderr is not None
    return proc.stderr.read()


def test_talk_exits_130_on_ctrl_c_like_chat(tmp_path: Path) -> None:
    write_tone(tmp_path / "long.wav", 20000)
    proc = popen(["talk", "--input-wav", "long.wav", "--output-wav", "out.wav"], cwd=tmp_path)
    try:
        assert proc.stdout is not None
        lines = Lines(proc.stdout)
        lines.wait_for("Streaming long.wav (21.5 s) as the microphone. Ctrl-C to stop.")
    finally:
        err = stop(proc)
    assert proc.returncode == 130, err
    assert err.strip() == "interrupted" and "Traceback" not in err
    lines.wait_for("the speaker's audio (")  # what was heard so far is still written
    assert (tmp_path / "out.wav").exists()


def test_chat_exits_130_on_ctrl_c_while_it_waits_for_a_line(tmp_path: Path) -> None:
    proc = popen(["chat"], cwd=tmp_path, stdin=subprocess.PIPE)
    try:
        assert proc.stdout is not None
        Lines(proc.stdout).wait_for("Type a message and press Enter")
    finally:
        err = stop(proc)
        assert proc.stdin is not None
        proc.stdin.close()
    assert proc.returncode == 130, err
    assert err.strip() == "interrupted" and "Traceback" not in err


def test_talk_says_the_simulators_transcript_is_simulated(tmp_path: Path) -> None:
    from realtime_sync.testing import speech_audio

    write_wav(tmp_path / "said.wav", speech_audio(800))
    result = run(
        ["talk", "--input-wav", "said.wav", "--output-wav", "heard.wav", "--speed", "0"],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "you (transcript)> (simulated transcript)" in result.stdout  # like transcribe's
    assert 'assistant> You said: "(simulated transcript)". I am the realtime_sync simulator.' in (
        result.stdout
    )
    assert "Hello there" not in result.stdout  # no invented words


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_chat_has_line_editing_and_history_on_a_terminal(tmp_path: Path) -> None:
    pytest.importorskip("readline")
    import pty

    controller, terminal = pty.openpty()
    environ = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    environ.update(PYTHONPATH=str(ROOT), TERM="xterm", INPUTRC=os.devnull)
    proc = subprocess.Popen(
        [sys.executable, "-m", "realtime_sync", "chat"],
        cwd=tmp_path,
        env=environ,
        stdin=terminal,
        stdout=terminal,
        stderr=terminal,
        close_fds=True,
    )
    os.close(terminal)
    seen = b""

    def wait_for(text: bytes, timeout: float = 30) -> None:
        nonlocal seen
        deadline = time.monotonic() + timeout
        while text not in seen:
            left = deadline - time.monotonic()
            ready, _, _ = select.select([controller], [], [], max(0.0, left))
            if not ready:
                raise AssertionError(f"{text!r} not shown within {timeout} s: {seen[-500:]!r}")
            try:
                seen += os.read(controller, 4096)
            except OSError:  # the process closed the terminal
                raise AssertionError(f"chat ended before {text!r}: {seen[-500:]!r}") from None

    try:
        wait_for(b"you> ")
        # Typed "ello", Ctrl-A (start of line), "H": readline edits the line into "Hello".
        os.write(controller, b"ello\x01H\r")
        wait_for(b'assistant> You said: "Hello".')
        seen = seen[seen.index(b'You said: "Hello"') :]
        wait_for(b"you> ")
        # Up arrow recalls the previous line from the history.
        os.write(controller, b"\x1b[A\r")
        wait_for(b'assistant> You said: "Hello".')
        os.write(controller, b"/quit\r")
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        os.close(controller)


# --------------------------------------------------------------------------- the simulator command


def option_flags(help_text: str) -> List[str]:
    return sorted(set(re.findall(r"(?<![\w-])--[a-z][a-z-]+", help_text)) - {"--help"})


def test_simulator_command_has_every_option_of_python_m_realtime_sync_testing(
    tmp_path: Path,
) -> None:
    cli = run(["simulator", "--help"], cwd=tmp_path)
    environ = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    environ["PYTHONPATH"] = str(ROOT)
    module = subprocess.run(
        [sys.executable, "-m", "realtime_sync.testing", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        env=environ,
        check=True,
    )
    wanted = option_flags(module.stdout)
    assert wanted == ["--api-key", "--event-delay", "--host", "--model", "--port", "--script"]
    assert [f for f in wanted if f not in option_flags(cli.stdout)] == []


def test_simulator_command_serves_scripted_replies_and_tool_calls(tmp_path: Path) -> None:
    script = [
        {
            "when": "weather",
            "function_call": {"name": "get_weather", "arguments": {"city": "Paris"}},
            "then_text": "The tool said: {output}",
        },
        {"when": "", "text": "I only know about the weather."},
    ]
    (tmp_path / "replies.json").write_text(json.dumps(script))
    args = ["simulator", "--port", "0", "--script", "replies.json", "--api-key", "sk-sim-key"]
    proc = popen([*args, "--model", "gpt-sim-test", "--event-delay", "0.001"], cwd=tmp_path)
    try:
        assert proc.stdout is not None
        lines = Lines(proc.stdout)
        url = re.search(r"ws://\S+", lines.wait_for("RealtimeSimulator listening on")).group(0)
        lines.wait_for("2 scripted replies from replies.json")

        def get_weather(city: str) -> Dict[str, Any]:
            """The current weather in a city."""
            return {"city": city, "sky": "clear"}

        # --model is the session's model when the URL names none (RealtimeClient always does)
        raw = websocket.create_connection(url, header=["Authorization: Bearer sk-sim-key"])
        try:
            created = json.loads(raw.recv())
        finally:
            raw.close()
        assert created["session"]["model"] == "gpt-sim-test"
        with RealtimeClient(url=url, api_key="sk-sim-key") as client:
            client.add_tool(get_weather)
            turn = client.ask("What's the weather like?", timeout=10)
            assert turn.text == 'The tool said: {"city": "Paris", "sky": "clear"}'
            assert client.ask("Anything else?", timeout=10).text == (
                "I only know about the weather."
            )
        with pytest.raises(RealtimeConnectionError):  # --api-key is required
            RealtimeClient(url=url, api_key="sk-wrong").connect(timeout=10)
    finally:
        err = stop(proc)
    assert proc.returncode == 130, err


def test_live_runs_offline_on_wav_files_and_labels_the_simulated_transcript(
    tmp_path: Path,
) -> None:
    # The Live simulator checks clients with openai.types.live (openai >= 3.57, Python >= 3.10).
    pytest.importorskip("openai.types.live")
    tone = generate_tone(duration_ms=400, amplitude=0.3)
    write_wav(tmp_path / "said.wav", tone + bytes(len(tone) * 2))  # tone, then silence
    result = run(
        [
            "live",
            "--input-wav",
            "said.wav",
            "--output-wav",
            "heard.wav",
            "--speed",
            "0",
            "--timeout",
            "20",
        ],
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "using the built-in LiveSimulator" in result.stdout
    assert "you (simulated transcript)> (simulated transcript)" in result.stdout
    assert "assistant (simulated)> I am the realtime_sync Live simulator" in result.stdout
    assert "session closed: close_requested; usage:" in result.stdout
    heard = tmp_path / "heard.wav"
    with wave.open(str(heard), "rb") as wav:
        assert wav.getnframes() > 0


def test_live_bad_input_wav_is_a_one_line_config_error(tmp_path: Path) -> None:
    result = run(["live", "--input-wav", "nope.wav"], cwd=tmp_path)
    assert "cannot read nope.wav" in one_line_error(result, 3)
