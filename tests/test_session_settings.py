"""First-class session settings: include, prompt, tracing, truncation, semantic VAD, idle time."""

from __future__ import annotations

from typing import Any, Dict, List

import pytest

from realtime_sync import (
    Eagerness,
    NoiseReduction,
    RealtimeClient,
    TurnDetection,
    TurnDetectionType,
)
from realtime_sync.session_config import PromptReference, RetentionRatio, Tracing
from realtime_sync.testing import RealtimeSimulator

openai_realtime = pytest.importorskip("openai.types.realtime")


def updates(sim: RealtimeSimulator) -> List[Dict[str, Any]]:
    return [e for e in sim.received if e["type"] == "session.update"]


def test_every_first_class_setting_reaches_the_wire_and_validates(sim: RealtimeSimulator) -> None:
    with RealtimeClient(url=sim.url) as client:
        session = client.update_session(
            include=["item.input_audio_transcription.logprobs"],
            prompt=PromptReference(id="pmpt_123", version="2", variables={"city": "Paris"}),
            tracing=Tracing(workflow_name="support", group_id="g1"),
            truncation=RetentionRatio(0.8, post_instructions_tokens=5000),
            turn_detection=TurnDetection(
                type=TurnDetectionType.SEMANTIC_VAD, eagerness=Eagerness.LOW
            ),
            noise_reduction=NoiseReduction(type="near_field"),
            speed=1.2,
        )
        assert session is not None
        sent = updates(sim)[-1]
        openai_realtime.SessionUpdateEvent.model_validate(sent)
        wire = sent["session"]
        assert wire["include"] == ["item.input_audio_transcription.logprobs"]
        assert wire["prompt"] == {"id": "pmpt_123", "version": "2", "variables": {"city": "Paris"}}
        assert wire["tracing"] == {"workflow_name": "support", "group_id": "g1"}
        assert wire["truncation"] == {
            "type": "retention_ratio",
            "retention_ratio": 0.8,
            "token_limits": {"post_instructions": 5000},
        }
        detection = wire["audio"]["input"]["turn_detection"]
        assert detection == {"type": "semantic_vad", "eagerness": "low"}
        assert wire["audio"]["output"]["speed"] == 1.2
        client.update_session(tracing="auto", truncation="disabled", prompt=None)
        wire = updates(sim)[-1]["session"]
        openai_realtime.SessionUpdateEvent.model_validate(updates(sim)[-1])
        assert wire["tracing"] == "auto" and wire["truncation"] == "disabled"
        assert wire.get("prompt", "absent") in (None, "absent")


def test_idle_timeout_is_part_of_server_vad(sim: RealtimeSimulator) -> None:
    with RealtimeClient(url=sim.url) as client:
        client.update_session(turn_detection=TurnDetection(idle_timeout_ms=6000))
        detection = updates(sim)[-1]["session"]["audio"]["input"]["turn_detection"]
        assert detection == {"type": "server_vad", "idle_timeout_ms": 6000}


def test_bad_settings_are_refused_before_sending() -> None:
    with pytest.raises(ValueError, match=r"between 0\.0 and 1\.0"):
        RetentionRatio(1.5)
    with pytest.raises(ValueError):
        TurnDetection(type=TurnDetectionType.SEMANTIC_VAD, silence_duration_ms=100)


def test_the_simulator_reports_an_idle_timeout_and_prompts(sim: RealtimeSimulator) -> None:
    from realtime_sync import RealtimeEventType, RealtimeUtils

    with RealtimeClient(url=sim.url) as client:
        client.update_session(turn_detection=TurnDetection(idle_timeout_ms=1000))
        client.ask("hello", timeout=10)
        triggered = client.wait_for(RealtimeEventType.INPUT_AUDIO_BUFFER_TIMEOUT_TRIGGERED)
        prompted = client.wait_for(RealtimeEventType.RESPONSE_DONE)
        for _ in range(15):  # 1.5 s of silence, nobody speaks
            client.append_input_audio(RealtimeUtils.generate_silence(100))
        event = triggered.result(timeout=10)
        assert event.audio_end_ms - event.audio_start_ms >= 1000 and event.item_id
        assert prompted.result(timeout=10).response.status == "completed"
        sent = next(e for e in sim.sent if e["type"] == "input_audio_buffer.timeout_triggered")
        openai_realtime.InputAudioBufferTimeoutTriggered.model_validate(sent)
