"""JSON reply scripts for the simulator, ``python -m realtime_sync.testing``, the testing extra."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

import pytest

from realtime_sync import RealtimeClient, TurnDetection
from realtime_sync.testing import RealtimeSimulator, ScriptError, speech_audio

ROOT = Path(__file__).resolve().parents[1]

WEATHER_SCRIPT: List[Dict[str, Any]] = [
    {
        "when": "weather",
        "function_call": {"name": "get_weather", "arguments": {"city": "Paris"}},
        "then_text": "The tool said: {output}",
    },
    {"when": "story", "text": "one two three four", "status": "incomplete", "stop_after_words": 2},
    {"when": "", "text": "I only know about the weather."},
]


def get_weather(city: str) -> Dict[str, str]:
    """The current weather in a city."""
    return {"city": city, "sky": "clear"}


def test_a_script_file_scripts_replies_tool_calls_and_endings(tmp_path: Path) -> None:
    path = tmp_path / "replies.json"
    path.write_text(json.dumps(WEATHER_SCRIPT), encoding="utf-8")
    with RealtimeSimulator() as sim:
        rules = sim.load_script(path)
        assert [r.when for r in rules] == ["weather", "story", ""]
        with RealtimeClient(url=sim.url) as client:
            client.add_tool(get_weather)
            weather = client.ask("What's the weather?", timeout=10)
            assert weather.text == 'The tool said: {"city": "Paris", "sky": "clear"}'
            story = client.ask("A story, please", timeout=10)
            assert (story.status, story.text.strip()) == ("incomplete", "one two")
            assert client.ask("Hi", timeout=10).text == "I only know about the weather."


def test_parallel_calls_and_the_object_form_with_transcript_for_audio() -> None:
    script = {
        "transcript_for_audio": "Weather in Paris and Oslo?",
        "replies": [
            {
                "when": "weather",
                "function_call": [
                    {"name": "get_weather", "arguments": {"city": "Paris"}, "call_id": "call_a"},
                    {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                ],
                "then_text": "Both: {output}",
            }
        ],
    }
    with RealtimeSimulator() as sim:
        sim.load_script(script)
        assert sim.transcript_for_audio == "Weather in Paris and Oslo?"
        client = RealtimeClient(url=sim.url)
        client.add_tool(get_weather)
        client.update_session(turn_detection=TurnDetection())
        with client:
            # Both registered before the audio: the follow-up answer comes right after the call.
            answered = client.wait_for(
                "response.done",
                predicate=lambda e: any(o.type == "message" for o in e.response.output or []),
            )
            client.append_input_audio(speech_audio(600))  # "heard" as transcript_for_audio
            answer = answered.result(timeout=10)
        (message,) = answer.response.output
        said = client.conversation.get_item(message.id).formatted.transcript
        assert said.startswith("Both: ")  # the outputs, in the order the tools finished
        assert sorted(said[len("Both: ") :].split("; ")) == [
            '{"city": "Oslo", "sky": "clear"}',
            '{"city": "Paris", "sky": "clear"}',
        ]
        calls = [
            e["item"]
            for e in sim.received
            if e["type"] == "conversation.item.create"
            and e["item"]["type"] == "function_call_output"
        ]
        assert "call_a" in {c["call_id"] for c in calls} and len(calls) == 2


BAD_SCRIPTS = [
    ({"replies": 3}, 'expected a list of replies (or {"replies": [...]}), not the number 3'),
    ({"rules": []}, 'unknown key "rules" (did you mean "replies"?'),
    ([{"text": "no when"}], 'reply 1: "when" is required ("" matches every message)'),
    (
        [{"when": "a"}, {"when": "b", "txt": "x"}],
        'reply 2: unknown key "txt" (did you mean "text"?',
    ),
    ([{"when": 3}], 'reply 1: "when" must be a string, not the number 3'),
    ([{"when": "a", "function_call": {"arguments": {}}}], '"name" (the tool\'s name, a string)'),
    ([{"when": "a", "function_call": {"name": "f", "arguments": [1]}}], '"arguments" must be'),
    ([{"when": "a", "function_call": ["f"]}], "reply 1: function_call 1: expected"),
    ([{"when": "a", "status": "done"}], "status must be one of"),
    ([{"when": "a", "error": {}}], "error needs status='failed'"),
    ([{"when": "a", "status": "failed", "stop_after_words": True}], "must be an integer"),
    ([{"when": "a", "event_delay": -1}], "event_delay must not be negative"),
    (42, "expected a list of replies"),
]


@pytest.mark.parametrize(("script", "message"), BAD_SCRIPTS, ids=[m for _, m in BAD_SCRIPTS])
def test_a_bad_script_names_the_reply_and_the_key(script: Any, message: str) -> None:
    with pytest.raises(ScriptError) as caught:
        RealtimeSimulator().load_script(script)
    assert message in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_a_bad_script_adds_nothing() -> None:
    script = [{"when": "fine", "text": "This one is fine."}, {"when": "bad", "txt": "typo"}]
    with RealtimeSimulator() as sim:
        with pytest.raises(ScriptError, match='reply 2: unknown key "txt"'):
            sim.load_script(script)
        with RealtimeClient(url=sim.url) as client:
            assert client.ask("fine?", timeout=10).text.startswith('You said: "fine?"')


def test_file_errors_name_the_file_line_and_column(tmp_path: Path) -> None:
    sim = RealtimeSimulator()
    broken = tmp_path / "broken.json"
    broken.write_text('[\n  {"when": "x",\n]\n', encoding="utf-8")
    with pytest.raises(ScriptError, match=r"broken.json: not valid JSON: .* \(line 3, column 1\)"):
        sim.load_script(broken)
    with pytest.raises(ScriptError, match=r"cannot read .*missing.json: No such file"):
        sim.load_script(str(tmp_path / "missing.json"))


# --------------------------------------------------------------------------- the command line


def module(*args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "OPENAI_API_KEY"}
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run(
        [sys.executable, "-m", "realtime_sync.testing", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
        **kwargs,
    )


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--port", "70000"], 2, "argument --port: port 70000 is out of range (0-65535, 0: any)"),
        (["--event-delay", "-1"], 2, "argument --event-delay: must be a number of seconds >= 0"),
        (["--bogus"], 2, "unrecognized arguments: --bogus"),
        (["--script", "bad.json"], 1, 'bad.json: reply 1: unknown key "txt"'),
        (["--script", "missing.json"], 1, "cannot read missing.json"),
    ],
)
def test_python_m_testing_reports_bad_options_in_one_line(
    args: List[str], code: int, message: str, tmp_path: Path
) -> None:
    (tmp_path / "bad.json").write_text('[{"when": "x", "txt": "y"}]')
    result = module(*args, cwd=tmp_path)
    assert result.returncode == code
    assert result.stdout == ""  # no URL: nothing was served
    (line,) = result.stderr.splitlines()
    assert line.startswith("python -m realtime_sync.testing: error: ") and message in line


# --------------------------------------------------------------------------- the testing extra


def test_without_the_testing_extra_the_import_error_says_what_to_install() -> None:
    code = (
        "import sys; sys.modules['websockets'] = None\n"  # as if it were not installed
        "import realtime_sync\n"
        "try:\n"
        "    import realtime_sync.testing\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run(
        [sys.executable, "-c", code],
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert "'testing' extra" in result.stdout
    assert 'pip install -e ".[testing]"' in result.stdout
