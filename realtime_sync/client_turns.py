"""The conversation side of a :class:`~realtime_sync.client.RealtimeClient`: app messages,
input audio, responses and the turns that answer them.

A mixin of ``RealtimeClient`` (like :mod:`~realtime_sync.client_settings`): every
request goes through the sans-IO core under the driver's lock, and every app
event waits, during a reconnect, for the new session (``ReconnectPolicy.send_timeout``).
"""

from __future__ import annotations

import threading
from typing import Any, Optional, Sequence, Union

import attrs

from . import events as ev
from .api import RealtimeAPI
from .conversation import RealtimeConversation
from .core.realtime import RealtimeSessionCore
from .core.responses import Turn
from .driver import CoreDriver, RequestFuture
from .errors import ConnectionClosedError, NotConnectedError, RealtimeError, RealtimeTimeoutError
from .items import FormattedItem
from .models import (
    NOT_GIVEN,
    ContentPart,
    ContentPartType,
    ItemMessage,
    ItemRole,
    ResponseCreateParams,
)
from .reconnect import ReconnectPolicy
from .utils import RealtimeUtils, base64_encode, generate_id

__all__ = ["ConversationTurns"]


class ConversationTurns:
    """Messages, input audio, responses and turns of a :class:`~realtime_sync.RealtimeClient`."""

    realtime: RealtimeAPI
    conversation: RealtimeConversation
    reconnect_policy: Optional[ReconnectPolicy]
    _driver: CoreDriver
    _core: RealtimeSessionCore
    _ready: threading.Event  # set while a session is open, configured and replayed
    _reconnecting: threading.Event  # set while a reconnect is under way

    def send_user_message_content(
        self, content: Sequence[ContentPart], *, create_response: bool = True
    ) -> str:
        """Add a user message (text and/or audio parts) and ask for a response.

        Raw audio bytes in parts are base64-encoded on the wire; the parts
        themselves are not changed. Returns the new item's id.
        """
        message = self._user_message(content)
        self._send(ev.ConversationItemCreateEvent(item=message))
        if create_response:
            self.create_response()
        return message.id or ""

    def _user_message(self, content: Sequence[ContentPart], *, keep: bool = True) -> ItemMessage:
        if not content:
            raise ValueError("a message needs at least one content part")
        item_id = generate_id("item_", 32) if keep else None
        parts = list(content)
        audio = b"".join(
            RealtimeUtils.base64_decode(p.audio) if isinstance(p.audio, str) else p.audio
            for p in parts
            if p.type == ContentPartType.INPUT_AUDIO and p.audio
        )
        if audio and item_id is not None:
            self.conversation.remember_sent_audio(item_id, audio)
        return ItemMessage(role=ItemRole.USER, content=parts, id=item_id)

    def send_text(self, text: str, *, create_response: bool = True) -> str:
        """Shortcut for a one-part text message; returns the item id."""
        return self.send_user_message_content(
            [ContentPart.input_text(text=text)], create_response=create_response
        )

    def append_input_audio(self, audio: Union[bytes, bytearray, memoryview]) -> None:
        """Stream user audio (PCM16, 24 kHz mono by default) into the input buffer."""
        if len(audio) == 0:
            return
        # Recorded first: the server's speech events for this audio may be handled
        # (on the dispatcher thread) before send() returns.
        self.conversation.append_input_audio(audio)
        try:
            self._send(ev.InputAudioBufferAppendEvent(audio=base64_encode(audio)))
        except (ConnectionClosedError, NotConnectedError):
            # Not sent, and a new session starts with an empty buffer: nothing is pending.
            self.conversation.mark_cleared()
            raise

    def commit_input_audio(self) -> None:
        """Commit the input buffer as a user message (manual turns)."""
        self._await_ready()
        self.conversation.mark_committed()
        self._send(ev.InputAudioBufferCommitEvent(), resend=False)

    def _commit_pending(self) -> None:
        """Before a response in manual-turn mode: commit the input audio still pending.

        Waits for the session first: audio appended to a session lost at a drop
        is reported by the reconnect (``lost_input_audio_ms``) and is not pending
        in the new one, so nothing commits it there.
        """
        if not (self._manual_turns() and self.conversation.uncommitted_input_bytes > 0):
            return
        self._await_ready()
        if self.conversation.uncommitted_input_bytes == 0:
            return  # lost at a drop: the new session's buffer is empty
        self.conversation.mark_committed()
        try:
            self._send(ev.InputAudioBufferCommitEvent(), resend=False)
        except NotConnectedError:
            if not self._reconnecting.is_set():
                raise
            # The socket closed under the commit: its audio went with the old session.

    def clear_input_audio(self) -> None:
        """Drop uncommitted input audio."""
        self.conversation.mark_cleared()
        self._send(ev.InputAudioBufferClearEvent(), resend=False)

    def create_response(
        self, response: Optional[ResponseCreateParams] = None, *, interrupt: bool = False
    ) -> RequestFuture:
        """Ask the model to respond; returns a future of the :class:`Turn` that answers it.

        In manual-turn mode pending input audio is committed first. While another
        response is active in the conversation the request waits for it to end
        (``interrupt=True`` cancels it first): ``response.create`` is never sent
        into an active response. ``future.cancel()`` abandons the request.
        """
        self._commit_pending()
        return self._request_turn(response, None, interrupt)

    def _request_turn(
        self,
        params: Optional[ResponseCreateParams],
        message: Optional[ItemMessage],
        interrupt: bool,
    ) -> RequestFuture:
        self._await_ready()
        future = self._driver.drive(
            lambda: self._core.request_response(params, message=message, interrupt=interrupt),
            "the response",
        )
        assert future is not None
        future.add_done_callback(self._abandon_if_cancelled)
        return future

    def _abandon_if_cancelled(self, future: Any) -> None:
        if future.cancelled():
            self._abandon(future)

    def _abandon(self, future: RequestFuture) -> None:
        request_id = self._driver.request_id_of(future)
        if request_id is None:
            return
        self._driver.forget(future)
        self._driver.drive(lambda: (None, self._core.abandon(request_id)))

    def cancel_response(
        self, item_id: Optional[str] = None, sample_count: int = 0
    ) -> Optional[FormattedItem]:
        """Stop the current response; with ``item_id``, also truncate its audio.

        ``sample_count`` is how many samples of the item the listener heard
        (``heard_seconds * output_sample_rate``); the item is truncated to that
        (clamped to the audio received) so the model forgets what was not
        heard. The item is checked (an assistant message) before anything is
        sent. ``response.cancel`` names the item's response and is only sent
        while that response is still being generated, so it can never cancel a
        later answer. With no audio received yet and ``sample_count == 0`` the
        response is cancelled and nothing is truncated. Returns the item.
        """
        self._require_ready()
        self._driver.drive(lambda: (None, self._core.cancel(item_id, sample_count)))
        return self.conversation.get_item(item_id) if item_id is not None else None

    def delete_item(self, item_id: str) -> None:
        """Delete an item from the server's conversation (the cache follows the server's reply)."""
        with self._driver.lock:
            self._core.forget_item(item_id)
        self._send(ev.ConversationItemDeleteEvent(item_id=item_id))

    def ask(
        self,
        text: Union[str, Sequence[ContentPart]],
        *,
        timeout: float = 60.0,
        response: Optional[ResponseCreateParams] = None,
        interrupt: bool = False,
        conversation: Optional[str] = None,
    ) -> Turn:
        """Send a user message and block until the assistant's answer to it is complete.

        The :class:`Turn` holds this request's own response and the follow-ups
        after automatically run tools, never another response (one started by
        voice activity, or one still streaming from an earlier, abandoned
        ``ask``). If a response is active, the request waits for it to end;
        ``interrupt=True`` cancels it first. ``response`` overrides settings for
        this answer (e.g. ``ResponseCreateParams(output_modalities=[Modality.TEXT])``);
        they carry over to the follow-up after tool calls.

        ``conversation="none"`` asks out of band: the model sees the conversation
        so far and this message, and neither joins the conversation; function
        calls in such a turn are never run automatically (see ``Turn.function_calls``).

        When the wait ends early (``timeout``, or ``KeyboardInterrupt`` such as a
        notebook's interrupt button) the response is cancelled and its audio
        truncated at what was received, so the next ``ask`` works at once.

        Raises:
            RealtimeTimeoutError: no complete answer within ``timeout`` seconds.
            RealtimeServerError: the server refused the message or the response.
            ConnectionClosedError: the connection closed first.
            RealtimeError: called from a handler (nothing is sent).
        """
        if self.realtime.dispatcher.is_dispatch_thread():
            raise RealtimeError(
                "ask() blocks until handlers have run: call it from another thread "
                "(in a handler use create_response() and add_done_callback())"
            )
        self._await_ready()
        parts = [ContentPart.input_text(text=text)] if isinstance(text, str) else list(text)
        out_of_band = conversation == "none" or (
            response is not None and response.conversation == "none"
        )
        if out_of_band:
            question = self._user_message(parts, keep=False)
            params = attrs.evolve(response or ResponseCreateParams(), conversation="none")
            if params.input is None:
                with self._driver.lock:
                    params = attrs.evolve(params, input=self._core.out_of_band_input(question))
            future = self._request_turn(params, None, interrupt)
        else:
            self._commit_pending()
            future = self._request_turn(response, self._user_message(parts), interrupt)
        return self._wait_turn(future, timeout)

    def respond(
        self,
        *,
        timeout: float = 60.0,
        response: Optional[ResponseCreateParams] = None,
        interrupt: bool = False,
    ) -> Turn:
        """Answer what the user said: commit streamed input audio, ask, wait for the whole turn.

        The call for audio apps in manual-turn mode: after ``append_input_audio()``
        chunks, ``respond()`` commits them (when any are pending), asks for a
        response and blocks until the assistant's turn is over, tool follow-ups
        included. Timeouts and ``KeyboardInterrupt`` abandon the response as in
        :meth:`ask`. Raises like :meth:`ask`.
        """
        if self.realtime.dispatcher.is_dispatch_thread():
            raise RealtimeError(
                "respond() blocks until handlers have run: call it from another thread "
                "(in a handler use create_response() and add_done_callback())"
            )
        self._commit_pending()
        return self._wait_turn(self._request_turn(response, None, interrupt), timeout)

    def _wait_turn(self, future: RequestFuture, timeout: float) -> Turn:
        try:
            turn: Turn = future.result(timeout)
        except RealtimeTimeoutError:
            self._abandon(future)
            raise RealtimeTimeoutError(
                f"the assistant did not finish its answer within {timeout:g} s "
                "(the response was cancelled)"
            ) from None
        except BaseException:
            self._abandon(future)
            raise
        return turn

    def _await_ready(self) -> None:
        """Return once the session is ready; during a reconnect or recycle, wait (bounded)."""
        if self._ready.is_set() and self.realtime.is_connected():
            return
        if self.realtime.dispatcher.is_dispatch_thread() or not self._reconnecting.is_set():
            if self.realtime.is_connected():
                return  # the handshake of connect() is under way: the core holds requests
            raise NotConnectedError()
        policy = self.reconnect_policy
        patience = policy.send_timeout if policy is not None else 0.0
        if patience <= 0 or not self._ready.wait(patience) or not self.realtime.is_connected():
            raise ConnectionClosedError(
                "not sent: the connection dropped and no new session was ready within "
                f"{patience:g} s (ReconnectPolicy.send_timeout)"
            )

    def _require_ready(self) -> None:
        if not self._ready.is_set():
            self._await_ready()

    def _send(self, event: ev.ClientEvent, *, resend: bool = True) -> str:
        """Send an app event, after the new session's config and replay when reconnecting.

        An event that the closing socket refused is sent to the new session, unless
        ``resend`` is false: events about the input buffer (commit, clear) meant the
        old session's buffer, which the new session does not have.
        """
        self._await_ready()
        try:
            return self.realtime.send(event)
        except NotConnectedError:
            if not resend or not self._reconnecting.is_set():
                raise
        self._await_ready()  # the connection closed between the check and the send
        return self.realtime.send(event)

    def _manual_turns(self) -> bool:
        with self._driver.lock:
            audio = self._core.config.audio
        detection = audio.input.turn_detection if audio and audio.input else NOT_GIVEN
        return detection is None
