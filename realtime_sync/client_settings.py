"""The client's session settings and tools: ``update_session``, ``add_tool`` and friends.

A part of :class:`~realtime_sync.client.RealtimeClient` (a mixin it inherits),
kept apart because it is long: the settings' names (the seed libraries' and
the GA ones), the tools from functions, MCP approvals. Every change goes
through the session core, which sends it, matches the server's answer and
undoes a rejected change.
"""

from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence, TypeVar, Union, overload

from .core.realtime import MCP_APPROVAL, RealtimeSessionCore
from .driver import CoreDriver, ToolHandler, settle_update
from .errors import RealtimeError
from .mcp import McpApproval, McpApprovalPolicy, McpApprovalRequest, mcp_item
from .models import (
    NOT_GIVEN,
    AudioFormat,
    CustomVoice,
    GenericItem,
    InputAudioTranscriptionConfig,
    MaxOutputTokens,
    Modality,
    NoiseReduction,
    NotGiven,
    SessionConfig,
    Tool,
    ToolChoiceSetting,
    ToolDefinition,
    TurnDetection,
    Voice,
)
from .session_config import PromptReference, RetentionRatio, Tracing, apply_settings
from .tools import call_with_arguments, tool_from_function

__all__ = ["SessionSettings"]

F = TypeVar("F", bound=Callable[..., Any])


class SessionSettings:
    """Session settings and tools of a :class:`~realtime_sync.client.RealtimeClient`."""

    _driver: CoreDriver
    _core: RealtimeSessionCore
    _connect_args: Dict[str, Any]

    def update_session(
        self,
        *,
        instructions: Union[str, NotGiven] = NOT_GIVEN,
        voice: Union[Voice, CustomVoice, str, NotGiven] = NOT_GIVEN,
        turn_detection: Union[TurnDetection, NotGiven, None] = NOT_GIVEN,
        input_audio_transcription: Union[InputAudioTranscriptionConfig, NotGiven, None] = NOT_GIVEN,
        input_audio_noise_reduction: Union[NoiseReduction, NotGiven, None] = NOT_GIVEN,
        noise_reduction: Union[NoiseReduction, NotGiven, None] = NOT_GIVEN,
        input_audio_format: Union[AudioFormat, str, NotGiven] = NOT_GIVEN,
        output_audio_format: Union[AudioFormat, str, NotGiven] = NOT_GIVEN,
        speed: Union[float, NotGiven, None] = NOT_GIVEN,
        tools: Union[Sequence[Tool], NotGiven, None] = NOT_GIVEN,
        tool_choice: Union[ToolChoiceSetting, str, NotGiven, None] = NOT_GIVEN,
        max_response_output_tokens: Union[MaxOutputTokens, NotGiven, None] = NOT_GIVEN,
        max_output_tokens: Union[MaxOutputTokens, NotGiven, None] = NOT_GIVEN,
        modalities: Union[Sequence[Union[Modality, str]], NotGiven] = NOT_GIVEN,
        output_modalities: Union[Sequence[Union[Modality, str]], NotGiven] = NOT_GIVEN,
        parallel_tool_calls: Union[bool, NotGiven, None] = NOT_GIVEN,
        include: Union[Sequence[str], NotGiven, None] = NOT_GIVEN,
        prompt: Union[PromptReference, Dict[str, Any], NotGiven, None] = NOT_GIVEN,
        tracing: Union[Tracing, str, Dict[str, Any], NotGiven, None] = NOT_GIVEN,
        truncation: Union[RetentionRatio, str, Dict[str, Any], NotGiven, None] = NOT_GIVEN,
        session: Union[SessionConfig, NotGiven] = NOT_GIVEN,
        temperature: Any = NOT_GIVEN,
        wait: bool = True,
        timeout: float = 10.0,
    ) -> Optional[SessionConfig]:
        """Change session settings: sends ``session.update`` now, or at ``connect``.

        Takes the seed libraries' names (``voice``, ``turn_detection``,
        ``input_audio_transcription``, ``input_audio_format``,
        ``max_response_output_tokens``, ``modalities``...) and the GA names
        (``output_modalities``, ``max_output_tokens``, ``noise_reduction``,
        ``speed``...), and always sends a GA session. ``include`` (e.g.
        ``["item.input_audio_transcription.logprobs"]``), ``prompt`` (a
        :class:`~realtime_sync.session_config.PromptReference`), ``tracing``
        (``"auto"`` or :class:`~realtime_sync.session_config.Tracing`) and
        ``truncation`` (``"auto"``, ``"disabled"`` or
        :class:`~realtime_sync.session_config.RetentionRatio`) are first-class too;
        semantic VAD and ``idle_timeout_ms`` go in ``TurnDetection``. A setting not given keeps
        its value; ``None`` turns it off (``turn_detection=None``: manual turns).
        ``tools`` here and tools from :meth:`add_tool` are merged. ``session``
        replaces the whole base config (advanced). ``temperature`` is accepted
        only to raise a clear :class:`RealtimeError`: GA sessions have none.

        While connected it waits (``wait=True``, up to ``timeout`` seconds) for
        ``session.updated`` and returns the session as the server has it; a
        rejected change raises :class:`RealtimeServerError` and is not kept, so
        later updates are not rejected for it. From a handler, or with
        ``wait=False``, it returns ``None`` at once (a rejection then arrives as
        an ``error`` event, and the change is still undone). Not connected:
        returns ``None``; ``connect`` sends the settings.
        """
        if temperature is not NOT_GIVEN:
            raise RealtimeError(
                "temperature is not part of the GA Realtime API and the server rejects a session "
                "that has it: remove it (use instructions or reasoning effort instead)"
            )
        with self._driver.lock:
            cfg = self._core.base_config if isinstance(session, NotGiven) else session
            changes: Dict[str, Any] = {
                "instructions": instructions,
                "voice": voice,
                "turn_detection": turn_detection,
                "transcription": input_audio_transcription,
                "noise_reduction": _last_given(input_audio_noise_reduction, noise_reduction),
                "input_audio_format": input_audio_format,
                "output_audio_format": output_audio_format,
                "speed": speed,
                "tools": tools,
                "tool_choice": tool_choice,
                "max_output_tokens": _last_given(max_response_output_tokens, max_output_tokens),
                "output_modalities": _last_given(modalities, output_modalities),
                "parallel_tool_calls": parallel_tool_calls,
                "include": include,
                "prompt": prompt,
                "tracing": tracing,
                "truncation": truncation,
            }
            new = apply_settings(cfg, **changes)
            named = apply_settings(
                SessionConfig(type="realtime") if isinstance(session, NotGiven) else session,
                **changes,
            )
        future = self._driver.drive(
            lambda: self._core.update_session(new, requested=named), "session.update"
        )
        answer: Optional[SessionConfig] = settle_update(future, wait, timeout)
        return answer

    @property
    def session_config(self) -> SessionConfig:
        """The session config this client asks for (tools from :meth:`add_tool` included)."""
        with self._driver.lock:
            return self._core.config

    # ------------------------------------------------------------------ tools

    def add_tool(
        self,
        definition: Union[ToolDefinition, Callable[..., Any]],
        handler: Optional[ToolHandler] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
        wait: bool = False,
    ) -> ToolDefinition:
        """Register a tool the client runs itself when the model calls it.

        Either a plain function, whose JSON schema is built from its signature,
        type hints and docstring (see :func:`~realtime_sync.tools.tool_from_function`;
        ``name``/``description`` override), or a :class:`ToolDefinition` with a
        ``handler(params)`` that gets the parsed JSON arguments. Tools run on a
        worker thread; the JSON-serialisable result is sent back and, once every
        call of the response is answered, one response is requested. Raises
        :class:`RealtimeError` if the name is taken, :class:`~realtime_sync.tools.ToolSchemaError`
        if a parameter's type has no JSON schema. While connected the session is
        updated; with ``wait=True`` a rejection raises :class:`RealtimeServerError`.
        """
        if not isinstance(definition, ToolDefinition):
            if handler is not None:
                raise TypeError("pass a handler only with a ToolDefinition")
            fn = definition
            definition = tool_from_function(fn, name=name, description=description)

            def handler(params: Dict[str, Any]) -> Any:
                return call_with_arguments(fn, params)

        if not definition.name:
            raise ValueError("a tool needs a name")
        if handler is None or not callable(handler):
            raise TypeError(f"the handler of tool {definition.name!r} is not callable")
        with self._driver.lock:
            step = self._core.add_tool(definition)
            self._driver.tool_handlers[definition.name] = handler
        future = self._driver.drive(lambda: step, "session.update")
        settle_update(future, wait, self._connect_args["timeout"])
        return definition

    @overload
    def tool(self, fn: F) -> F: ...

    @overload
    def tool(
        self, *, name: Optional[str] = None, description: Optional[str] = None
    ) -> Callable[[F], F]: ...

    def tool(
        self,
        fn: Optional[F] = None,
        *,
        name: Optional[str] = None,
        description: Optional[str] = None,
    ) -> Union[F, Callable[[F], F]]:
        """Decorator: ``@client.tool`` (or ``@client.tool(name=...)``) adds a function as a tool.

        The function is returned unchanged; see :meth:`add_tool`.
        """

        def register(function: F) -> F:
            self.add_tool(function, name=name, description=description)
            return function

        return register(fn) if fn is not None else register

    def remove_tool(self, name: str, *, wait: bool = False) -> None:
        """Unregister a tool added with :meth:`add_tool`; raises ``KeyError`` if unknown.

        A ``tool_choice`` that forces the tool goes back to ``auto``.
        """
        with self._driver.lock:
            step = self._core.remove_tool(name)
            self._driver.tool_handlers.pop(name, None)
        future = self._driver.drive(lambda: step, "session.update")
        settle_update(future, wait, self._connect_args["timeout"])

    def on_mcp_approval(self, policy: Optional[McpApprovalPolicy]) -> None:
        """Answer MCP approval requests with ``policy`` (``None``: leave them to the app).

        ``policy(request)`` gets an :class:`~realtime_sync.mcp.McpApprovalRequest`
        on a tool worker and returns ``True``/``False`` or an
        :class:`~realtime_sync.mcp.McpApproval` (with a reason); a policy that
        raises, or misses ``tool_timeout``, denies. Once every request of a
        response is answered, one response is requested to carry on.
        """
        if policy is not None and not callable(policy):
            raise TypeError("the MCP approval policy must be callable")

        def decide(params: Dict[str, Any]) -> Dict[str, Any]:
            request = mcp_item(GenericItem(type="mcp_approval_request", data=params))
            assert isinstance(request, McpApprovalRequest) and policy is not None
            answer = policy(request)
            decision = answer if isinstance(answer, McpApproval) else McpApproval(bool(answer))
            return {"approve": decision.approve, "reason": decision.reason}

        with self._driver.lock:
            self._core.answers_mcp_approvals = policy is not None
            if policy is None:
                self._driver.tool_handlers.pop(MCP_APPROVAL, None)
            else:
                self._driver.tool_handlers[MCP_APPROVAL] = decide

    @property
    def tools(self) -> Dict[str, ToolDefinition]:
        """The tools added with :meth:`add_tool`, by name."""
        with self._driver.lock:
            return self._core.tools


def _last_given(*values: Any) -> Any:
    """The last of ``values`` that is not ``NOT_GIVEN`` (the GA name wins over the seed's)."""
    given = [v for v in values if not isinstance(v, NotGiven)]
    return given[-1] if given else NOT_GIVEN
