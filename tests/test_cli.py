"""The ``realtime-sync`` command, run as a user runs it: a subprocess, offline."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import wave
from pathlib import Path
from typing import Dict, List, Optional

from realtime_sync import RealtimeClient
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


def test_transcribe_resamples_and_prints_transcript_and_answer(tmp_path: Path) -> None:
    pcm48 = resample_pcm16(generate_tone(duration_ms=1500, amplitude=0.3), 24000, 48000)
    write_wav(tmp_path / "in.wav", pcm48, sample_rate=48000)
    result = run(["transcribe", "in.wav"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "you (transcript)> (simulated transcript of 1.5 s of audio)" in result.stdout
    assert "assistant> You said:" in result.stdout


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
