"""Typed models of the Live API's Decisions data: questions, items, answers.

A session whose delegation (or a transcript trigger) goes to the Decisions API
asks :class:`DecisionQuestion` s over the conversation and the Decision items
the application adds with ``decision.item.create`` (:data:`DecisionItem`); each
evaluation comes back in a ``decision.event`` whose :class:`Decision` has one
:class:`DecisionAnswer` per question, in order.

Conventions are those of :mod:`realtime_sync.models` (wire names, ``None`` for
"not given", open enums, ``extra`` for unknown fields). Content parts, questions
and answers are one class each with a ``type`` (build them with the named
constructors), so a kind the server adds later still decodes.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, Union

import attrs

from realtime_sync.models import GenericItem, WireModel

from .enums import (
    AssistantPhase,
    DecisionAnswerType,
    DecisionContentType,
    DecisionQuestionType,
    ImageDetail,
    ItemStatus,
    LiveRole,
)

__all__ = [
    "Decision",
    "DecisionAnswer",
    "DecisionAnswerProbability",
    "DecisionChoiceOption",
    "DecisionContent",
    "DecisionContentPart",
    "DecisionCustomToolCall",
    "DecisionCustomToolCallOutput",
    "DecisionEventPayload",
    "DecisionFunctionCall",
    "DecisionFunctionCallOutput",
    "DecisionInputTokensDetails",
    "DecisionItem",
    "DecisionMessage",
    "DecisionOutputTokensDetails",
    "DecisionQuestion",
    "DecisionUsage",
    "GenericItem",
    "JsonData",
    "ScoreLevel",
]

JsonData = Union[List[Dict[str, Any]], Dict[str, Any]]
"""The ``data`` of an ``input_json`` part: a JSON object or a list of objects."""


# --------------------------------------------------------------------------- content


@attrs.frozen
class DecisionContentPart(WireModel):
    """One part of Decision content: text, an image, JSON data, or (assistant) output text.

    Which fields are set depends on ``type``; use the named constructors.
    """

    type: DecisionContentType
    text: Optional[str] = None
    image_url: Optional[str] = None
    detail: Optional[ImageDetail] = None
    data: Optional[JsonData] = None
    refusal: Optional[str] = None

    @classmethod
    def input_text(cls, text: str) -> DecisionContentPart:
        """Text."""
        return cls(type=DecisionContentType.INPUT_TEXT, text=text)

    @classmethod
    def input_image(
        cls, image_url: str, *, detail: Optional[ImageDetail] = None
    ) -> DecisionContentPart:
        """An image, as an ``https://`` or ``data:image/...;base64,`` URL."""
        return cls(type=DecisionContentType.INPUT_IMAGE, image_url=image_url, detail=detail)

    @classmethod
    def input_json(cls, data: JsonData) -> DecisionContentPart:
        """Structured data (user messages and question instructions only)."""
        return cls(type=DecisionContentType.INPUT_JSON, data=data)

    @classmethod
    def output_text(cls, text: str) -> DecisionContentPart:
        """Assistant text."""
        return cls(type=DecisionContentType.OUTPUT_TEXT, text=text)


DecisionContent = Union[str, List[DecisionContentPart]]
"""Message content, question instructions or a tool output: plain text or parts."""


# --------------------------------------------------------------------------- questions


@attrs.frozen
class DecisionChoiceOption(WireModel):
    """One option of a choice question. ``"yes"`` and ``True`` are different values."""

    value: Union[str, bool]
    description: Optional[str] = None


@attrs.frozen
class ScoreLevel(WireModel):
    """One level of a score question."""

    label: str
    description: Optional[str] = None


@attrs.frozen
class DecisionQuestion(WireModel):
    """A question the Decisions model answers: a choice, a predicate or a score.

    ``choices`` belong to choice questions, ``levels`` to score questions.
    ``name`` labels the answer (answers also come in question order).
    """

    type: DecisionQuestionType
    instructions: DecisionContent
    name: Optional[str] = None
    choices: Optional[List[DecisionChoiceOption]] = None
    levels: Optional[List[ScoreLevel]] = None

    @classmethod
    def choice(
        cls,
        instructions: DecisionContent,
        choices: List[DecisionChoiceOption],
        *,
        name: Optional[str] = None,
    ) -> DecisionQuestion:
        """Pick one of ``choices``."""
        return cls(
            type=DecisionQuestionType.CHOICE, instructions=instructions, choices=choices, name=name
        )

    @classmethod
    def predicate(
        cls, instructions: DecisionContent, *, name: Optional[str] = None
    ) -> DecisionQuestion:
        """A yes/no question, answered with a probability."""
        return cls(type=DecisionQuestionType.PREDICATE, instructions=instructions, name=name)

    @classmethod
    def score(
        cls, instructions: DecisionContent, levels: List[ScoreLevel], *, name: Optional[str] = None
    ) -> DecisionQuestion:
        """Rate on ``levels`` (in order)."""
        return cls(
            type=DecisionQuestionType.SCORE, instructions=instructions, levels=levels, name=name
        )


# --------------------------------------------------------------------------- items


@attrs.frozen
class DecisionMessage(WireModel):
    """A user, developer, system or assistant message for the Decisions model.

    ``id`` is set by the server in ``decision.item.created``. ``phase`` only
    applies to assistant messages.
    """

    role: LiveRole
    content: DecisionContent
    id: Optional[str] = None
    phase: Optional[AssistantPhase] = None
    type: Optional[Literal["message"]] = None

    @classmethod
    def user(cls, content: DecisionContent) -> DecisionMessage:
        """A user message (text, images, JSON data)."""
        return cls(role=LiveRole.USER, content=content)

    @classmethod
    def developer(cls, content: DecisionContent) -> DecisionMessage:
        """A developer message (text)."""
        return cls(role=LiveRole.DEVELOPER, content=content)

    @classmethod
    def system(cls, content: DecisionContent) -> DecisionMessage:
        """A system message (text)."""
        return cls(role=LiveRole.SYSTEM, content=content)

    @classmethod
    def assistant(
        cls, content: DecisionContent, *, phase: Optional[AssistantPhase] = None
    ) -> DecisionMessage:
        """An assistant message (output text or refusals)."""
        return cls(role=LiveRole.ASSISTANT, content=content, phase=phase)


@attrs.frozen
class DecisionFunctionCall(WireModel):
    """A function call in the Decision context; ``arguments`` is JSON text."""

    call_id: str
    name: str
    arguments: str
    id: Optional[str] = None
    namespace: Optional[str] = None
    status: Optional[ItemStatus] = None
    type: Literal["function_call"] = "function_call"


@attrs.frozen
class DecisionFunctionCallOutput(WireModel):
    """The result of a function call (text, or text and image parts)."""

    call_id: str
    output: DecisionContent
    id: Optional[str] = None
    status: Optional[ItemStatus] = None
    type: Literal["function_call_output"] = "function_call_output"


@attrs.frozen
class DecisionCustomToolCall(WireModel):
    """A custom tool call in the Decision context; ``input`` is the tool's free-form input."""

    call_id: str
    name: str
    input: str
    id: Optional[str] = None
    namespace: Optional[str] = None
    status: Optional[ItemStatus] = None
    type: Literal["custom_tool_call"] = "custom_tool_call"


@attrs.frozen
class DecisionCustomToolCallOutput(WireModel):
    """The result of a custom tool call."""

    call_id: str
    output: DecisionContent
    id: Optional[str] = None
    status: Optional[ItemStatus] = None
    type: Literal["custom_tool_call_output"] = "custom_tool_call_output"


DecisionItem = Union[
    DecisionMessage,
    DecisionFunctionCall,
    DecisionFunctionCallOutput,
    DecisionCustomToolCall,
    DecisionCustomToolCallOutput,
    GenericItem,
]
"""A Decision item; kinds not modelled here are a raw :class:`~realtime_sync.models.GenericItem`."""


# --------------------------------------------------------------------------- answers


@attrs.frozen
class DecisionAnswerProbability(WireModel):
    """The probability of one value of a choice (``value``) or score (``value``, ``label``)."""

    probability: float
    value: Union[str, bool, int]
    label: Optional[str] = None


@attrs.frozen
class DecisionAnswer(WireModel):
    """The answer to one question; ``type`` says which fields are set.

    * ``PREDICATE``: ``probability`` that it holds.
    * ``CHOICE``: the ``choice`` made, its ``confidence`` and every option's ``probabilities``.
    * ``SCORE``: the ``score``, its ``confidence`` and ``probabilities`` per level.
    * ``REFUSAL``: the model declined this question (the others may still be answered).
    """

    type: DecisionAnswerType
    name: Optional[str] = None
    probability: Optional[float] = None
    choice: Optional[Union[str, bool]] = None
    score: Optional[float] = None
    confidence: Optional[float] = None
    probabilities: Optional[List[DecisionAnswerProbability]] = None


@attrs.frozen
class DecisionInputTokensDetails(WireModel):
    """Input token breakdown of a decision."""

    cached_tokens: Optional[int] = None
    cache_write_tokens: Optional[int] = None


@attrs.frozen
class DecisionOutputTokensDetails(WireModel):
    """Output token breakdown of a decision."""

    reasoning_tokens: Optional[int] = None


@attrs.frozen
class DecisionUsage(WireModel):
    """Token usage of one decision."""

    input_tokens: Optional[int] = None
    output_tokens: Optional[int] = None
    total_tokens: Optional[int] = None
    input_tokens_details: Optional[DecisionInputTokensDetails] = None
    output_tokens_details: Optional[DecisionOutputTokensDetails] = None


@attrs.frozen
class Decision(WireModel):
    """A Decisions API result: the answers in question order, the model and the usage."""

    answers: List[DecisionAnswer]
    model: Optional[str] = None
    usage: Optional[DecisionUsage] = None


@attrs.frozen
class DecisionEventPayload(WireModel):
    """The nested event of ``decision.event``: ``decision.completed`` and its :class:`Decision`."""

    type: str
    decision: Optional[Decision] = None
