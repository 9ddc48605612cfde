"""The examples and the notebook run offline, on the built-in simulator, and do what they say.

Every example runs as a subprocess (``python examples/x.py``) from a temporary
directory, without ``OPENAI_API_KEY``, so nothing touches the network.
"""

from __future__ import annotations

import ast
import io
import json
import os
import re
import select
import shutil
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest

from realtime_sync.testing import RealtimeSimulator

REPO = Path(__file__).resolve().parents[1]
EXAMPLES = REPO / "examples"
NOTEBOOK = EXAMPLES / "notebooks" / "quickstart.ipynb"
SIMULATOR_LINE = "the built-in RealtimeSimulator at ws://127.0.0.1:"
TESTED_EXAMPLES = {
    "quickstart.py",
    "tools_weather.py",
    "stream_wav.py",
    "interrupt.py",
    "tk_chat.py",
    "sip_server.py",  # its runs are tested in tests/test_calls.py
}


def example_env(**overrides: str) -> Dict[str, str]:
    """This environment, without OPENAI_API_KEY, with the repository importable."""
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    env["PYTHONIOENCODING"] = "utf-8"
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep examples/ free of __pycache__
    env.update(overrides)
    return env


def run_example(
    name: str, *args: str, cwd: Path, env: Optional[Dict[str, str]] = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        check=False,
        cwd=cwd,
        env=env if env is not None else example_env(),
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=60,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The example's stdout, once it is known to have exited 0."""
    assert result.returncode == 0, (
        f"exit code {result.returncode}\n--- stdout\n{result.stdout}\n--- stderr\n{result.stderr}"
    )
    return result.stdout


def number_after(label: str, text: str) -> int:
    match = re.search(re.escape(label) + r"\s*(\d+)", text)
    assert match, f"{label!r} not in:\n{text}"
    return int(match.group(1))


def client_events(sim: RealtimeSimulator, kind: str) -> List[Dict[str, Any]]:
    return [e for e in sim.received if e["type"] == kind]


# --------------------------------------------------------------------------- conventions


def test_every_example_has_a_test() -> None:
    found = {p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_")}
    assert found == TESTED_EXAMPLES


@pytest.mark.parametrize("name", sorted(TESTED_EXAMPLES))
def test_example_follows_the_conventions(name: str, tmp_path: Path) -> None:
    source = (EXAMPLES / name).read_text(encoding="utf-8")
    tree = ast.parse(source)
    doc = ast.get_docstring(tree)
    assert doc and "Run it" in doc, "a module docstring saying what it shows and how to run it"
    mains = [n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "main"]
    assert mains and mains[0].args.args[0].arg == "argv"
    assert 'if __name__ == "__main__":\n    raise SystemExit(main())' in source
    assert "open_client(args" in source
    helped = ok(run_example(name, "--help", cwd=tmp_path))
    assert "--url" in helped and "--simulator" in helped


# --------------------------------------------------------------------------- quickstart


def test_quickstart_streams_the_answer_and_lists_the_conversation(tmp_path: Path) -> None:
    out = ok(run_example("quickstart.py", cwd=tmp_path))
    assert SIMULATOR_LINE in out
    assert "You: How are you?\nAssistant: I'm great, thanks for asking! How are you?\n" in out
    assert ": completed" in out
    conversation = out.split("Conversation:\n", 1)[1].splitlines()
    assert conversation[0].split()[:3] == ["user", "message", "'How"]
    assert conversation[1].split()[:2] == ["assistant", "message"]
    assert number_after("(", conversation[1]) > 1000  # ms of assistant audio


def test_quickstart_uses_url_and_key_when_given(tmp_path: Path) -> None:
    with RealtimeSimulator(api_key="sk-example") as sim:
        result = run_example(
            "quickstart.py",
            "Tell me a joke",
            "--url",
            sim.url,
            cwd=tmp_path,
            env=example_env(OPENAI_API_KEY="sk-example"),
        )
        out = ok(result)
        assert SIMULATOR_LINE not in out
        assert f"Connecting to {sim.url}" in out
        assert 'You said: "Tell me a joke"' in out
        (update,) = client_events(sim, "session.update")
        assert update["session"]["instructions"] == "You are a great, upbeat friend."
        assert update["session"]["audio"]["output"]["voice"] == "alloy"
        assert update["session"]["audio"]["input"]["turn_detection"] is None
        created = client_events(sim, "conversation.item.create")
        assert created[0]["item"]["content"] == [{"type": "input_text", "text": "Tell me a joke"}]


def test_simulator_flag_wins_over_a_key(tmp_path: Path) -> None:
    env = example_env(OPENAI_API_KEY="sk-never-sent")
    out = ok(run_example("quickstart.py", "--simulator", cwd=tmp_path, env=env))
    assert SIMULATOR_LINE in out and "(--simulator)" in out
    assert "Assistant: I'm great" in out


# --------------------------------------------------------------------------- tools_weather


def test_tools_weather_calls_the_tool_and_answers(tmp_path: Path) -> None:
    out = ok(run_example("tools_weather.py", cwd=tmp_path))
    assert SIMULATOR_LINE in out
    assert "Weather from the offline stub" in out
    assert 'Model called: get_weather({"location": "Paris", "lat": 48.86, "lng": 2.35})' in out
    result = json.loads(out.split("Tool result:", 1)[1].splitlines()[0])
    assert result["source"] == "offline stub" and result["location"] == "Paris"
    assert "Assistant: The weather in Paris: partly cloudy, 18.5 °C, wind 12.0 km/h." in out


def test_tools_weather_offline_stub_gets_the_models_arguments(tmp_path: Path) -> None:
    with RealtimeSimulator() as sim:
        sim.add_reply(
            "oslo",
            function_call=("get_weather", {"location": "Oslo", "lat": 59.91, "lng": 10.75}),
            then_text=lambda outputs: "Got " + json.loads(outputs[0])["location"],
        )
        args = ("Weather in Oslo?", "--offline-stub", "--url", sim.url)
        out = ok(run_example("tools_weather.py", *args, cwd=tmp_path))
        outputs = [
            e["item"]
            for e in client_events(sim, "conversation.item.create")
            if e["item"]["type"] == "function_call_output"
        ]
        assert len(outputs) == 1
        assert json.loads(outputs[0]["output"])["location"] == "Oslo"
        assert json.loads(outputs[0]["output"])["source"] == "offline stub"
        assert "Assistant: Got Oslo" in out
        assert [e["session"]["tools"][0]["name"] for e in client_events(sim, "session.update")] == [
            "get_weather"
        ]


def test_fetch_weather_reads_open_meteo_replies(monkeypatch: pytest.MonkeyPatch) -> None:
    import urllib.request

    monkeypatch.syspath_prepend(str(EXAMPLES))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)
    import tools_weather

    asked: List[str] = []
    reply = {"current": {"temperature_2m": 3.5, "wind_speed_10m": 20.1, "weather_code": 63}}

    def fake_urlopen(url: str, timeout: float) -> io.BytesIO:
        asked.append(url)
        return io.BytesIO(json.dumps(reply).encode())

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    weather = tools_weather.fetch_weather("Oslo", 59.91, 10.75)
    assert weather == {
        "location": "Oslo",
        "temperature_c": 3.5,
        "wind_kmh": 20.1,
        "conditions": "rain",
        "source": "open-meteo.com",
    }
    assert asked[0].startswith("https://api.open-meteo.com/v1/forecast?latitude=59.91")
    assert "longitude=10.75" in asked[0] and "weather_code" in asked[0]
    assert [tools_weather.describe(c) for c in (0, 2, 48, 75, 96)] == [
        "clear sky",
        "partly cloudy",
        "fog",
        "snow",
        "thunderstorm",
    ]


# --------------------------------------------------------------------------- stream_wav


def read_answer(path: Path) -> float:
    """Check ``path`` is a 24 kHz mono PCM16 WAV; return its duration in seconds."""
    with wave.open(str(path), "rb") as wav:
        assert (wav.getframerate(), wav.getnchannels(), wav.getsampwidth()) == (24000, 1, 2)
        assert wav.getcomptype() == "NONE"
        return wav.getnframes() / 24000


def test_stream_wav_streams_a_test_tone_and_saves_the_answer(tmp_path: Path) -> None:
    out = ok(run_example("stream_wav.py", "--out", "answers", cwd=tmp_path))
    assert SIMULATOR_LINE in out
    assert "16000 Hz, 1 channel(s), 1.50 s -> 24000 Hz mono, 1500 ms" in out
    assert "] 1.5 s 100%" in out
    answer = tmp_path / "answers" / "answer.wav"
    assert f"to {answer}" in out
    # the simulator speaks 60 ms per character of its 80-character reply
    assert 4.7 <= read_answer(answer) <= 4.9
    # Offline, nothing claims to have heard the tone: the simulator does not listen.
    said = out.split("Assistant said: ", 1)[1].splitlines()[0]
    assert (
        said == "'(Simulated answer: 1.5 s of audio arrived; the simulator does not listen to it.)'"
    )
    assert "hear" not in said.lower() and "beep" not in out.lower()


def test_stream_wav_resamples_a_stereo_file(tmp_path: Path) -> None:
    source = tmp_path / "question.wav"
    with wave.open(str(source), "wb") as wav:  # 1 s of 8 kHz stereo noise-ish samples
        wav.setnchannels(2)
        wav.setsampwidth(2)
        wav.setframerate(8000)
        wav.writeframes(bytes((i * 37) % 251 for i in range(8000 * 4)))
    out = ok(run_example("stream_wav.py", str(source), cwd=tmp_path))
    assert "question.wav: 8000 Hz, 2 channel(s), 1.00 s -> 24000 Hz mono, 1000 ms" in out
    assert "] 1.0 s 100%" in out
    assert read_answer(tmp_path / "answer.wav") > 1.0


def test_stream_wav_fails_cleanly_on_a_bad_file(tmp_path: Path) -> None:
    bad = tmp_path / "not_audio.wav"
    bad.write_text("hello")
    result = run_example("stream_wav.py", str(bad), cwd=tmp_path)
    assert result.returncode == 1
    assert "cannot read" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "answer.wav").exists()


# --------------------------------------------------------------------------- interrupt


# The simulator streams audio in 100 ms chunks: with 650 ms heard, more was received
# (700 ms or more), so the truncation point must come from sample_count, not from the clamp.
@pytest.mark.parametrize("heard_ms", [1000, 650])
def test_interrupt_truncates_to_what_was_heard(tmp_path: Path, heard_ms: int) -> None:
    args = () if heard_ms == 1000 else ("--heard-ms", str(heard_ms))
    out = ok(run_example("interrupt.py", *args, cwd=tmp_path))
    assert SIMULATOR_LINE in out
    assert number_after("Received", out) >= heard_ms
    assert number_after("Received", out) > 650
    assert f"sample_count={heard_ms * 24})" in out
    assert abs(number_after("Item audio left:", out) - heard_ms) <= 10
    assert "Item transcript left: ''" in out
    assert "Response status: cancelled" in out


# --------------------------------------------------------------------------- tk_chat


def tkinter_available() -> bool:
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return False
    return True


@pytest.fixture
def xvfb_display() -> Iterator[str]:
    """A private X display from Xvfb (which picks a free display number itself)."""
    if not (shutil.which("Xvfb") and tkinter_available()):
        pytest.skip("tk_chat needs Xvfb and tkinter: apt-get install xvfb python3-tk")
    read_fd, write_fd = os.pipe()
    server = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", "800x600x24", "-nolisten", "tcp"],
        pass_fds=(write_fd,),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    os.close(write_fd)
    try:
        number = b""
        while not number.endswith(b"\n"):
            ready, _, _ = select.select([read_fd], [], [], 10)
            chunk = os.read(read_fd, 16) if ready else b""
            if not chunk:
                pytest.fail(f"Xvfb did not start (exit code {server.poll()})")
            number += chunk
        yield f":{number.decode().strip()}"
    finally:
        os.close(read_fd)
        server.terminate()
        try:
            server.wait(5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def test_tk_chat_auto_streams_the_answer_into_the_window(tmp_path: Path, xvfb_display: str) -> None:
    env = example_env(DISPLAY=xvfb_display)
    out = ok(run_example("tk_chat.py", "--auto", "Hello from the test", cwd=tmp_path, env=env))
    assert SIMULATOR_LINE in out
    assert "The status line shows: Connected: gpt-realtime at the built-in simulator\n" in out
    window = out.split("The window shows:\n", 1)[1]
    assert window.splitlines()[:2] == [
        "You: Hello from the test",
        "Assistant: Hi! I am a simulated assistant, streaming into Tk.",
    ]


TK_LAYOUT_CHECK = """
import queue, sys
sys.path.insert(0, sys.argv[1])
import tkinter as tk
import tk_chat

class Client:  # the window only calls send_text(), never while disconnected
    sent = []
    def send_text(self, text):
        self.sent.append(text)

root = tk.Tk()
updates = queue.Queue()
window = tk_chat.ChatWindow(root, Client(), updates)
root.update()
print("status", window.status.cget("text"), window.button.cget("state"))
updates.put(("connected", "gpt-realtime at a test server"))
window.poll()
print("status", window.status.cget("text"), window.button.cget("state"))
for size in ("640x480", "300x160"):
    root.geometry(size)
    root.update()
    entry, log = window.entry, window.log
    bottom = entry.winfo_rooty() - root.winfo_rooty() + entry.winfo_height()
    print("size", size, root.winfo_height(), bottom, log.winfo_height(), entry.winfo_ismapped())
updates.put(("closed", "code 1006"))
window.poll()
print("status", window.status.cget("text"), window.button.cget("state"))
root.destroy()
"""


def test_tk_chat_keeps_the_input_row_when_the_window_shrinks_and_shows_the_state(
    tmp_path: Path, xvfb_display: str
) -> None:
    env = example_env(DISPLAY=xvfb_display)
    result = subprocess.run(
        [sys.executable, "-c", TK_LAYOUT_CHECK, str(EXAMPLES)],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    out = ok(result).splitlines()
    assert out[0] == "status Connecting... disabled"
    assert out[1] == "status Connected: gpt-realtime at a test server normal"
    sizes = [line.split() for line in out if line.startswith("size ")]
    assert len(sizes) == 2
    for _, size, height, entry_bottom, _log, mapped in sizes:
        assert mapped == "1" and int(entry_bottom) <= int(height), size  # the input row shows
    (_, _, _, _, big_log, _), (_, _, _, _, small_log, _) = sizes
    assert int(small_log) < int(big_log)  # the conversation is what shrank
    assert out[-1] == "status Disconnected: code 1006 disabled"


@pytest.mark.skipif(sys.platform != "linux", reason="X11 only: elsewhere Tk needs no DISPLAY")
def test_tk_chat_without_a_display_exits_with_an_error(tmp_path: Path) -> None:
    if not tkinter_available():
        pytest.skip("tkinter is not installed")
    env = example_env()
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    result = run_example("tk_chat.py", "--auto", "hi", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert "cannot open a window" in result.stderr


# --------------------------------------------------------------------------- notebook


def test_notebook_is_committed_without_outputs() -> None:
    nbformat = pytest.importorskip("nbformat")
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    nbformat.validate(notebook)
    assert notebook.metadata.kernelspec.name == "python3"
    code = [c for c in notebook.cells if c.cell_type == "code"]
    assert code and all(c.outputs == [] and c.execution_count is None for c in code)
    assert any(c.cell_type == "markdown" for c in notebook.cells)


def test_notebook_runs_headless(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    pytest.importorskip("ipykernel")
    for name, value in example_env().items():  # the kernel inherits this environment
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    notebook = nbformat.read(str(NOTEBOOK), as_version=4)
    client = nbclient.NotebookClient(
        notebook, kernel_name="python3", timeout=60, resources={"metadata": {"path": str(tmp_path)}}
    )
    client.execute()

    outputs = [c.outputs for c in notebook.cells if c.cell_type == "code"]
    assert not [o for cell in outputs for o in cell if o.output_type == "error"]

    def text(cell: List[Any]) -> str:
        return "".join(o.get("text", "") for o in cell if o.output_type == "stream")

    setup, connect, ask, listen, tool, disconnect = outputs
    assert "No OPENAI_API_KEY: using " + SIMULATOR_LINE in text(setup)
    assert text(connect).startswith("Connected: realtime session")
    assert text(ask) == "Hello and welcome! Ask me anything.\n"
    assert number_after("", text(listen)) > 1000  # ms of audio
    (player,) = [o for o in listen if o.output_type == "execute_result"]
    html = player.data["text/html"]
    assert "<audio" in html and "data:audio/wav;base64," in html
    assert text(tool) == (
        'Tool call: multiply({"a": 1234, "b": 5678})\n1234 times 5678 is 7006652.\n'
    )
    assert text(disconnect) == "Disconnected\n"
