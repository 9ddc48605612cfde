"""settings_delta / rebase_settings: a settings change re-applied on other settings."""

from __future__ import annotations

from typing import Any, Dict

from hypothesis import given, settings
from hypothesis import strategies as st

from realtime_sync.models import NoiseReduction, SessionConfig, TurnDetection
from realtime_sync.session_config import (
    DEFAULT_SESSION,
    apply_settings,
    rebase_settings,
    settings_delta,
)

CHANGES: Dict[str, Any] = {
    "instructions": st.text(min_size=1, max_size=20),
    "voice": st.sampled_from(["marin", "cedar", "alloy"]),
    "turn_detection": st.sampled_from([None, TurnDetection()]),
    "noise_reduction": st.sampled_from([None, NoiseReduction(type="near_field")]),
    "speed": st.sampled_from([None, 0.8, 1.2]),
    "include": st.sampled_from([None, ["item.input_audio_transcription.logprobs"]]),
}
change = st.dictionaries(st.sampled_from(sorted(CHANGES)), st.none(), min_size=1).flatmap(
    lambda keys: st.fixed_dictionaries({key: CHANGES[key] for key in keys})
)


@settings(max_examples=60, deadline=None)
@given(first=change, second=change)
def test_a_change_reapplied_on_its_own_base_gives_the_same_settings(
    first: Dict[str, Any], second: Dict[str, Any]
) -> None:
    before = apply_settings(DEFAULT_SESSION, **first)
    after = apply_settings(before, **second)
    assert rebase_settings(before, [settings_delta(before, after)]) == after


@settings(max_examples=60, deadline=None)
@given(refused=change, own=change)
def test_dropping_a_refused_change_keeps_only_the_later_ones(
    refused: Dict[str, Any], own: Dict[str, Any]
) -> None:
    accepted = DEFAULT_SESSION
    with_refused = apply_settings(accepted, **refused)
    built_on_it = apply_settings(with_refused, **own)
    named = apply_settings(SessionConfig(type="realtime"), **own)
    delta = settings_delta(with_refused, built_on_it, requested=named)
    assert rebase_settings(accepted, [delta]) == apply_settings(accepted, **own)
