"""The streaming of one response, on a thread of its own.

A :class:`ResponseRun` sends ``response.created``, then each output (a message,
then function calls) as the GA server does, paced by ``event_delay``, then
``response.done`` and ``rate_limits.updated``. It ends early when it is cancelled
(``response.cancel`` or server VAD), when the response's ``max_output_tokens``
is reached, or when the reply was scripted to end ``incomplete`` or ``failed``;
the items it opened are then closed with status ``incomplete``.

Locking: every event that announces a change of the conversation is sent with
the session lock held (``RunOwner.lock``), the run's own ``_end_lock`` guards
only ``_end`` and is never held while taking another lock.
"""

from __future__ import annotations

import base64
import copy
import logging
import math
import threading
from typing import Any, Iterator, List, Optional, Protocol, Set, Tuple

from ._audio import AudioFormat, tone_chunk_count, tone_chunks
from ._conversation import Conversation
from ._host import PlannedCall, ReplyPlan, ScriptedEnd, SessionHost
from ._ids import JSON, new_id, obfuscation
from ._items import public_item
from ._text import split_fixed, split_words, text_tokens

__all__ = ["ResponseRun", "RunOwner"]

logger = logging.getLogger("realtime_sync.testing")

_MS_PER_CHAR = 60.0
_MIN_AUDIO_MS = 300.0
_AUDIO_MS_PER_TOKEN = 50.0
_ARGUMENT_PIECE = 8


class _Stop(Exception):
    """Unwinds a run that ends early (cancelled, incomplete or failed)."""


class _Closed(Exception):
    """Unwinds a run whose connection is gone."""


class RunOwner(Protocol):
    """What a response run needs from its session."""

    @property
    def lock(self) -> Any:
        """The session lock (re-entrant), held while conversation changes are announced."""
        ...

    @property
    def conversation(self) -> Conversation:
        """The default conversation (guarded by :attr:`lock`)."""
        ...

    def emit(self, type_: str, **fields: Any) -> bool:
        """Send a server event; False when the connection is gone."""
        ...

    def run_finished(self, run: ResponseRun) -> None:
        """Forget ``run``: it is no longer active (called with :attr:`lock` held)."""
        ...

    def rate_limits(self, tokens: int) -> List[JSON]:
        """Count one more request of ``tokens`` tokens; the ``rate_limits`` to report."""
        ...


def _words_before_end(end: ScriptedEnd, words: int) -> int:
    if end.after_words is not None:
        return max(end.after_words, 0)
    if end.status == "failed" or words == 0:
        return 0
    return max((words + 1) // 2, 1)


class ResponseRun:
    """Streams one response on its own thread."""

    def __init__(
        self,
        owner: RunOwner,
        host: SessionHost,
        *,
        response: JSON,
        plan: ReplyPlan,
        in_conversation: bool,
        audio: bool,
        out_format: AudioFormat,
        speed: float,
        input_tokens: Tuple[int, int],
    ) -> None:
        self.response_id: str = response["id"]
        """The ``resp_...`` id."""
        self.in_conversation = in_conversation
        """Whether the output goes to the default conversation (``conversation`` "auto")."""
        self._owner = owner
        self._host = host
        self._response = response
        self._plan = plan
        self._audio = audio
        self._format = out_format
        self._speed = speed
        self._input_tokens = input_tokens
        limit = response.get("max_output_tokens")
        self._budget: Optional[int] = limit if isinstance(limit, int) else None
        self._cancel = threading.Event()
        # Guards _end: the status_details of an early end (the first one set wins).
        self._end_lock = threading.Lock()
        self._end: Optional[JSON] = None
        # Items truncated while this run streams them; guarded by the owner's lock.
        self._frozen: Set[str] = set()
        self._outputs: List[JSON] = []
        self._out_text_tokens = 0
        self._out_audio_ms = 0.0
        self._thread = threading.Thread(
            target=self._main, name="realtime-simulator-response", daemon=True
        )

    def start(self) -> None:
        """Start streaming."""
        self._thread.start()

    def cancel(self, reason: str) -> None:
        """Ask the run to stop at the next event; the first reason given wins."""
        self._set_end({"type": "cancelled", "reason": reason})
        self._cancel.set()

    def join(self, timeout: float) -> None:
        """Wait for the streaming thread (no-op when called from that thread)."""
        if threading.current_thread() is not self._thread and self._thread.is_alive():
            self._thread.join(timeout)

    def item_truncated(self, item_id: str) -> None:
        """The client truncated ``item_id``: stop updating its stored transcript.

        Called with the owner's lock held. The deltas keep streaming (the
        response goes on), but the conversation keeps the truncated state.
        """
        self._frozen.add(item_id)

    # -- helpers

    def _set_end(self, details: JSON) -> None:
        with self._end_lock:
            if self._end is None:
                self._end = details

    def _stop(self, details: JSON) -> None:
        self._set_end(details)
        raise _Stop

    def _send(self, type_: str, **fields: Any) -> None:
        if not self._owner.emit(type_, **fields):
            raise _Closed

    def _step(self) -> None:
        """Pause between two streamed events; raise _Stop when cancelled."""
        planned = self._plan.event_delay
        delay = self._host.event_delay if planned is None else planned
        if delay > 0:
            self._cancel.wait(delay)
        if self._cancel.is_set():
            raise _Stop

    def _check_budget(self, text_tokens_now: int, audio_ms: float) -> None:
        """End the response ``incomplete`` if the next delta would pass max_output_tokens."""
        if self._budget is None:
            return
        total = self._out_text_tokens + text_tokens_now
        total += math.ceil(audio_ms / _AUDIO_MS_PER_TOKEN)
        if total > self._budget:
            self._stop({"type": "incomplete", "reason": "max_output_tokens"})

    def _ids(self, output_index: int, item_id: str) -> JSON:
        return {"response_id": self.response_id, "item_id": item_id, "output_index": output_index}

    def _open_item(self, output_index: int, item: JSON) -> None:
        self._step()
        with self._owner.lock:
            self._send(
                "response.output_item.added",
                response_id=self.response_id,
                output_index=output_index,
                item=public_item(item),
            )
            if self.in_conversation:
                previous = self._owner.conversation.append(item)
                self._send(
                    "conversation.item.added", previous_item_id=previous, item=public_item(item)
                )

    def _close_item(self, output_index: int, item: JSON, status: str) -> None:
        with self._owner.lock:
            item["status"] = status
            self._outputs.append(public_item(item))
            self._send(
                "response.output_item.done",
                response_id=self.response_id,
                output_index=output_index,
                item=public_item(item),
            )
            if self.in_conversation:
                previous = self._owner.conversation.previous_id(item["id"])
                self._send(
                    "conversation.item.done", previous_item_id=previous, item=public_item(item)
                )

    # -- streaming

    def _main(self) -> None:
        try:
            self._stream()
        except _Closed:
            pass
        except Exception:
            logger.exception("realtime simulator failed while streaming %s", self.response_id)
        finally:
            with self._owner.lock:
                self._owner.run_finished(self)

    def _stream(self) -> None:
        self._send("response.created", response=copy.deepcopy(self._response))
        plan = self._plan
        end = plan.end
        outputs: List[Tuple[str, Any]] = []
        if plan.text is not None:
            outputs.append(("message", plan.text))
        if end is None:  # a scripted early end stops before the calls
            outputs.extend(("call", call) for call in plan.calls)
        try:
            words = len(split_words(plan.text or ""))
            if end is not None and end.status == "failed" and not _words_before_end(end, words):
                outputs = []  # failed before producing anything
            for output_index, (kind, spec) in enumerate(outputs):
                if kind == "message":
                    self._stream_message(output_index, spec)
                else:
                    self._stream_call(output_index, spec)
            if end is not None:
                self._stop(self._scripted_details(end))
        except _Stop:
            pass
        self._finish()

    @staticmethod
    def _scripted_details(end: ScriptedEnd) -> JSON:
        if end.status == "failed":
            return {"type": "failed", "error": copy.deepcopy(end.error)}
        return {"type": end.status, "reason": end.reason}

    def _finish(self) -> None:
        owner = self._owner
        text_in, audio_in = self._input_tokens
        audio_out = math.ceil(self._out_audio_ms / _AUDIO_MS_PER_TOKEN)
        output_tokens = self._out_text_tokens + audio_out
        with owner.lock:
            # Decide the status and leave the active set atomically with response.done, so a
            # client reacting to response.done can create the next response at once, and a
            # response.cancel racing with the end either cancels this run or gets an error.
            with self._end_lock:
                details = copy.deepcopy(self._end)
            owner.run_finished(self)
            final = copy.deepcopy(self._response)
            final.update(
                status="completed" if details is None else details["type"],
                status_details=details,
                output=self._outputs,
                usage={
                    "total_tokens": text_in + audio_in + output_tokens,
                    "input_tokens": text_in + audio_in,
                    "output_tokens": output_tokens,
                    "input_token_details": {
                        "text_tokens": text_in,
                        "audio_tokens": audio_in,
                        "image_tokens": 0,
                        "cached_tokens": 0,
                        "cached_tokens_details": {
                            "text_tokens": 0,
                            "audio_tokens": 0,
                            "image_tokens": 0,
                        },
                    },
                    "output_token_details": {
                        "text_tokens": self._out_text_tokens,
                        "audio_tokens": audio_out,
                    },
                },
            )
            self._send("response.done", response=final)
            if self._host.send_rate_limits:
                tokens = text_in + audio_in + output_tokens
                self._send("rate_limits.updated", rate_limits=owner.rate_limits(tokens))

    def _stream_message(self, output_index: int, text: str) -> None:
        owner = self._owner
        item: JSON = {
            "id": new_id("item"),
            "type": "message",
            "object": "realtime.item",
            "status": "in_progress",
            "role": "assistant",
            "content": [],
        }
        self._open_item(output_index, item)
        ids = self._ids(output_index, item["id"])
        status = "completed"
        part_open = False
        sent_text = ""
        audio_store = bytearray()
        end = self._plan.end
        word_limit = None if end is None else _words_before_end(end, len(split_words(text)))
        words_sent = 0
        try:
            self._step()
            with owner.lock:
                if self._audio:
                    item["content"].append({"type": "output_audio", "transcript": ""})
                    if self.in_conversation:
                        owner.conversation.attach_audio(item["id"], 0, audio_store)
                    part: JSON = {"type": "audio", "transcript": ""}
                else:
                    item["content"].append({"type": "output_text", "text": ""})
                    part = {"type": "text", "text": ""}
                self._send("response.content_part.added", content_index=0, part=part, **ids)
            part_open = True
            for kind, payload in self._schedule(text):
                if kind == "text" and word_limit is not None and words_sent >= word_limit:
                    assert end is not None
                    self._stop(self._scripted_details(end))
                self._step()
                with owner.lock:
                    if kind == "audio":
                        more_ms = self._format.duration_ms(len(payload))
                        self._check_budget(text_tokens(sent_text), self._out_audio_ms + more_ms)
                        audio_store.extend(payload)
                        self._out_audio_ms += more_ms
                        self._send(
                            "response.output_audio.delta",
                            content_index=0,
                            delta=base64.b64encode(payload).decode("ascii"),
                            **ids,
                        )
                    else:
                        self._check_budget(text_tokens(sent_text + payload), self._out_audio_ms)
                        sent_text += payload
                        words_sent += 1
                        if item["id"] not in self._frozen:
                            key = "transcript" if self._audio else "text"
                            item["content"][0][key] = sent_text
                        delta_type = (
                            "response.output_audio_transcript.delta"
                            if self._audio
                            else "response.output_text.delta"
                        )
                        self._send(
                            delta_type,
                            content_index=0,
                            delta=payload,
                            obfuscation=obfuscation(payload),
                            **ids,
                        )
            if end is not None:  # every word was allowed: the end comes right after them
                self._stop(self._scripted_details(end))
        except _Stop:
            status = "incomplete"
        self._out_text_tokens += text_tokens(sent_text)
        if part_open:
            if self._audio:
                self._send("response.output_audio.done", content_index=0, **ids)
                self._send(
                    "response.output_audio_transcript.done",
                    content_index=0,
                    transcript=sent_text,
                    **ids,
                )
                done_part: JSON = {"type": "audio", "transcript": sent_text}
            else:
                self._send("response.output_text.done", content_index=0, text=sent_text, **ids)
                done_part = {"type": "text", "text": sent_text}
            self._send("response.content_part.done", content_index=0, part=done_part, **ids)
        self._close_item(output_index, item, status)
        if status != "completed":
            raise _Stop

    def _schedule(self, text: str) -> Iterator[Tuple[str, Any]]:
        """The deltas of a message: transcript/text pieces interleaved with audio chunks.

        Generated lazily, so a long answer starts at once and its audio is never
        held in memory at once.
        """
        words = split_words(text)
        if not self._audio:
            yield from (("text", w) for w in words)
            return
        chunk = max(self._format.bytes_for_ms(self._host.audio_chunk_ms), 1)
        audio = self._plan.audio
        chunks: Iterator[bytes]
        if audio is not None:
            count = -(-len(audio) // chunk)
            chunks = (audio[i : i + chunk] for i in range(0, len(audio), chunk))
        else:
            duration = max(_MIN_AUDIO_MS, _MS_PER_CHAR * len(text)) / self._speed
            count = tone_chunk_count(duration, self._format, chunk)
            chunks = tone_chunks(duration, self._format, chunk)
        if count == 0:
            yield from (("text", w) for w in words)
            return
        sent_words = 0
        for k, blob in enumerate(chunks):
            target = -(-(k + 1) * len(words) // count)
            yield from (("text", w) for w in words[sent_words:target])
            sent_words = max(sent_words, target)
            yield ("audio", blob)

    def _stream_call(self, output_index: int, call: PlannedCall) -> None:
        item: JSON = {
            "id": new_id("item"),
            "type": "function_call",
            "object": "realtime.item",
            "status": "in_progress",
            "name": call.name,
            "call_id": call.call_id,
            "arguments": "",
        }
        self._open_item(output_index, item)
        ids = self._ids(output_index, item["id"])
        status = "completed"
        try:
            for piece in split_fixed(call.arguments, _ARGUMENT_PIECE):
                self._step()
                with self._owner.lock:
                    self._check_budget(text_tokens(item["arguments"] + piece), self._out_audio_ms)
                    item["arguments"] += piece
                    self._send(
                        "response.function_call_arguments.delta",
                        call_id=call.call_id,
                        delta=piece,
                        **ids,
                    )
            self._step()
            self._send(
                "response.function_call_arguments.done",
                call_id=call.call_id,
                name=call.name,
                arguments=call.arguments,
                **ids,
            )
        except _Stop:
            status = "incomplete"
        self._out_text_tokens += text_tokens(item["arguments"])
        self._close_item(output_index, item, status)
        if status != "completed":
            raise _Stop
