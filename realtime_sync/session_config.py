"""The session configuration a client asks for: its defaults and how settings change it.

:func:`apply_settings` is the one place where the seed libraries' names
(``voice``, ``turn_detection``, ``input_audio_format``, ``modalities``...) and
the GA names map onto a GA :class:`~realtime_sync.models.SessionConfig`.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence, Union

import attrs

from .models import (
    NOT_GIVEN,
    AudioConfig,
    AudioFormat,
    AudioInputConfig,
    AudioOutputConfig,
    CustomVoice,
    InputAudioTranscriptionConfig,
    MaxOutputTokens,
    Modality,
    NoiseReduction,
    NotGiven,
    SessionConfig,
    Tool,
    ToolChoice,
    ToolChoiceFunction,
    ToolChoiceSetting,
    ToolDefinition,
    TurnDetection,
    Voice,
)

__all__ = [
    "DEFAULT_SESSION",
    "PromptReference",
    "RetentionRatio",
    "Tracing",
    "apply_settings",
    "forget_tool",
    "with_tools",
]

DEFAULT_SESSION = SessionConfig(
    type="realtime",
    output_modalities=[Modality.AUDIO],
    audio=AudioConfig(
        input=AudioInputConfig(
            format=AudioFormat.pcm16(),
            transcription=None,
            turn_detection=None,
        ),
        output=AudioOutputConfig(format=AudioFormat.pcm16(), voice=Voice.MARIN),
    ),
    tool_choice=ToolChoice.AUTO,
)
"""The session a new client asks for, sent right after ``session.created``.

Audio answers (with transcripts), PCM16 24 kHz both ways, voice ``marin``,
no input transcription, and **manual turns** (``turn_detection=None``) as in
the seed libraries: the app decides when the user is done and calls
:meth:`RealtimeClient.create_response`. Pass ``turn_detection=TurnDetection()``
for server VAD.
"""


@attrs.frozen
class PromptReference:
    """A stored prompt to use (``session.prompt``): its ``id``, ``version`` and ``variables``."""

    id: str
    version: Optional[str] = None
    variables: Optional[Dict[str, Any]] = None

    def to_wire(self) -> Dict[str, Any]:
        """The JSON object the server expects."""
        wire: Dict[str, Any] = {"id": self.id}
        if self.version is not None:
            wire["version"] = self.version
        if self.variables is not None:
            wire["variables"] = dict(self.variables)
        return wire


@attrs.frozen
class RetentionRatio:
    """Truncation that keeps ``ratio`` (0.0-1.0) of the conversation when it overflows.

    ``post_instructions_tokens`` caps the conversation after the instructions
    (default: the model's own limit).
    """

    ratio: float = attrs.field()
    post_instructions_tokens: Optional[int] = None

    @ratio.validator
    def _check(self, _: Any, value: float) -> None:
        if not 0.0 <= value <= 1.0:
            raise ValueError(f"retention ratio must be between 0.0 and 1.0, not {value}")

    def to_wire(self) -> Dict[str, Any]:
        """The JSON object the server expects."""
        wire: Dict[str, Any] = {"type": "retention_ratio", "retention_ratio": self.ratio}
        if self.post_instructions_tokens is not None:
            wire["token_limits"] = {"post_instructions": self.post_instructions_tokens}
        return wire


@attrs.frozen
class Tracing:
    """Tracing of the session in OpenAI's traces dashboard (``"auto"`` needs no fields)."""

    workflow_name: Optional[str] = None
    group_id: Optional[str] = None
    metadata: Optional[Dict[str, Any]] = None

    def to_wire(self) -> Dict[str, Any]:
        """The JSON object the server expects."""
        return {
            key: value
            for key, value in (
                ("workflow_name", self.workflow_name),
                ("group_id", self.group_id),
                ("metadata", self.metadata),
            )
            if value is not None
        }


def _wire(value: Any) -> Any:
    return value.to_wire() if hasattr(value, "to_wire") else value


def _given(value: Any) -> bool:
    return not isinstance(value, NotGiven)


def apply_settings(
    cfg: SessionConfig,
    *,
    instructions: Union[str, NotGiven] = NOT_GIVEN,
    voice: Union[Voice, CustomVoice, str, NotGiven] = NOT_GIVEN,
    turn_detection: Union[TurnDetection, NotGiven, None] = NOT_GIVEN,
    transcription: Union[InputAudioTranscriptionConfig, NotGiven, None] = NOT_GIVEN,
    noise_reduction: Union[NoiseReduction, NotGiven, None] = NOT_GIVEN,
    input_audio_format: Union[AudioFormat, str, NotGiven] = NOT_GIVEN,
    output_audio_format: Union[AudioFormat, str, NotGiven] = NOT_GIVEN,
    speed: Union[float, NotGiven, None] = NOT_GIVEN,
    tools: Union[Sequence[Tool], NotGiven, None] = NOT_GIVEN,
    tool_choice: Union[ToolChoiceSetting, str, NotGiven, None] = NOT_GIVEN,
    max_output_tokens: Union[MaxOutputTokens, NotGiven, None] = NOT_GIVEN,
    output_modalities: Union[Sequence[Union[Modality, str]], NotGiven] = NOT_GIVEN,
    parallel_tool_calls: Union[bool, NotGiven, None] = NOT_GIVEN,
    include: Union[Sequence[str], NotGiven, None] = NOT_GIVEN,
    prompt: Union[PromptReference, Dict[str, Any], NotGiven, None] = NOT_GIVEN,
    tracing: Union[Tracing, str, Dict[str, Any], NotGiven, None] = NOT_GIVEN,
    truncation: Union[RetentionRatio, str, Dict[str, Any], NotGiven, None] = NOT_GIVEN,
) -> SessionConfig:
    """``cfg`` with the given settings changed (``NOT_GIVEN`` keeps, ``None`` turns off)."""
    audio = cfg.audio or AudioConfig()
    inp = audio.input or AudioInputConfig()
    out = audio.output or AudioOutputConfig()
    if _given(turn_detection):
        inp = attrs.evolve(inp, turn_detection=turn_detection)
    if _given(transcription):
        inp = attrs.evolve(inp, transcription=transcription)
    if _given(noise_reduction):
        inp = attrs.evolve(inp, noise_reduction=noise_reduction)
    if _given(input_audio_format):
        inp = attrs.evolve(inp, format=AudioFormat.from_legacy(input_audio_format))  # type: ignore[arg-type]
    if _given(output_audio_format):
        out = attrs.evolve(out, format=AudioFormat.from_legacy(output_audio_format))  # type: ignore[arg-type]
    if _given(voice):
        out = attrs.evolve(out, voice=voice if isinstance(voice, CustomVoice) else Voice(voice))
    if _given(speed):
        out = attrs.evolve(out, speed=speed)  # type: ignore[arg-type]
    changes: Dict[str, Any] = {"audio": AudioConfig(input=inp, output=out)}
    if _given(instructions):
        changes["instructions"] = instructions
    if _given(tool_choice):
        changes["tool_choice"] = (
            ToolChoice(tool_choice) if isinstance(tool_choice, str) else tool_choice
        )
    if _given(max_output_tokens):
        changes["max_output_tokens"] = max_output_tokens
    if _given(output_modalities):
        changes["output_modalities"] = ga_modalities(output_modalities)  # type: ignore[arg-type]
    if _given(parallel_tool_calls):
        changes["parallel_tool_calls"] = parallel_tool_calls
    if _given(tools):
        # MCP servers (realtime_sync.mcp.McpTool) become their wire entries.
        changes["tools"] = [_wire(t) for t in tools or []]  # type: ignore[union-attr]
    if _given(include):
        changes["include"] = list(include) if include is not None else None  # type: ignore[arg-type]
    for name, value in (("prompt", prompt), ("tracing", tracing), ("truncation", truncation)):
        if _given(value):
            changes[name] = _wire(value)
    return attrs.evolve(cfg, **changes)


def ga_modalities(mods: Sequence[Union[Modality, str]]) -> List[Modality]:
    """GA takes ``["audio"]`` (with transcripts) or ``["text"]``; the seed's pair means audio."""
    values = [Modality(m) for m in mods]
    if Modality.AUDIO in values:
        return [Modality.AUDIO]
    return values


def with_tools(cfg: SessionConfig, added: Sequence[ToolDefinition]) -> SessionConfig:
    """The config sent to the server: ``cfg``'s own tools plus ``added`` (which win by name)."""
    names = {definition.name for definition in added}
    tools: List[Tool] = [
        t for t in cfg.tools or [] if not (isinstance(t, ToolDefinition) and t.name in names)
    ]
    tools.extend(added)
    return attrs.evolve(cfg, tools=tools)


def forget_tool(cfg: SessionConfig, name: str) -> SessionConfig:
    """``cfg`` without a ``tool_choice`` that forces the tool ``name`` (it becomes ``auto``)."""
    choice = cfg.tool_choice
    if isinstance(choice, ToolChoiceFunction) and choice.name == name:
        return attrs.evolve(cfg, tool_choice=ToolChoice.AUTO)
    if isinstance(choice, dict) and choice.get("name") == name:
        return attrs.evolve(cfg, tool_choice=ToolChoice.AUTO)
    return cfg


_REMOVED = object()  # in a settings delta: the field is no longer set


def settings_delta(
    before: SessionConfig, after: SessionConfig, *, requested: Optional[SessionConfig] = None
) -> Dict[str, Any]:
    """What one settings change did: the fields of ``after`` that differ from ``before``.

    Nested objects are compared field by field; lists are replaced whole.
    ``requested`` (the fields the app named, on an empty config) adds what the app
    asked for that ``before`` already had, so the change keeps it when it is
    re-applied on other settings (:func:`rebase_settings`).
    """
    from .protocol import converter  # noqa: PLC0415 - the one converter, loaded late

    delta = _delta(converter.unstructure(before), converter.unstructure(after))
    if requested is None:
        return delta
    empty = converter.unstructure(SessionConfig(type=requested.type))
    named = _pruned(_delta(empty, converter.unstructure(requested)))
    _merge(named, delta)
    return named


def rebase_settings(config: SessionConfig, deltas: Sequence[Dict[str, Any]]) -> SessionConfig:
    """``config`` with each change of ``deltas`` applied in order."""
    from .protocol import converter  # noqa: PLC0415

    if not deltas:
        return config
    merged = converter.unstructure(config)
    for delta in deltas:
        _merge(merged, delta)
    rebased: SessionConfig = converter.structure(merged, SessionConfig)
    return rebased


def _delta(before: Dict[str, Any], after: Dict[str, Any]) -> Dict[str, Any]:
    out: Dict[str, Any] = {}
    for key, value in after.items():
        old = before.get(key, _REMOVED)
        if old == value:
            continue
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = _delta(old, value)
        else:
            out[key] = value
    for key in before.keys() - after.keys():
        out[key] = _REMOVED
    return out


def _pruned(delta: Dict[str, Any]) -> Dict[str, Any]:
    """``delta`` without empty nested objects and removals (nothing was named there)."""
    out: Dict[str, Any] = {}
    for key, value in delta.items():
        if value is _REMOVED:
            continue
        if isinstance(value, dict):
            nested = _pruned(value)
            if nested:
                out[key] = nested
            continue
        out[key] = value
    return out


def _merge(target: Dict[str, Any], delta: Dict[str, Any]) -> None:
    for key, value in delta.items():
        if value is _REMOVED:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value
