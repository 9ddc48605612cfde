"""A small Tkinter chat window: the client's threads talk to the GUI through a queue.

Tk may only be used from the thread that created it, while the client calls its
handlers on its own dispatcher thread. So handlers never touch a widget: they
put what changed on a ``queue.Queue``, and the Tk thread drains that queue
every 50 ms with ``root.after(...)``. Sending is fine from the Tk thread:
``client.send_text()`` only queues a message and never blocks. ``connect()``
does block, so it runs on a worker thread while the window already shows
"Connecting..."; a status line shows the connection's state from then on.

The layout resizes: the status line and the input row are packed before the
conversation, so a smaller window shrinks the conversation and keeps the input
row visible.

The session asks for text answers (``output_modalities=["text"]``); with audio
answers the window would show their transcripts instead.

Run it (needs a display and tkinter: ``apt-get install python3-tk``)::

    python examples/tk_chat.py
    python examples/tk_chat.py --auto "Hello!"   # type it, wait for the answer, close
"""

from __future__ import annotations

import argparse
import queue
import sys
import threading
from typing import Callable, Optional, Sequence, Tuple

from _common import add_connection_args, open_client

from realtime_sync import (
    CloseEvent,
    ConversationUpdatedEvent,
    RealtimeClient,
    RealtimeError,
    RealtimeEventType,
)
from realtime_sync.events import ResponseDoneEvent

try:
    import tkinter as tk
except ImportError:  # some Python builds ship without Tk
    tk = None  # type: ignore[assignment]

POLL_MS = 50
# ("delta", text) | ("done", status) | ("connected", where) | ("failed", error) | ("closed", reason)
Message = Tuple[str, str]


class ChatWindow:
    """The window. Every method runs on the Tk thread."""

    def __init__(self, root: tk.Tk, client: RealtimeClient, updates: queue.Queue[Message]) -> None:
        self.root = root
        self.client = client
        self.updates = updates
        self.connected = False
        self.waiting = False
        self.answers: list[str] = []
        # Called with the answer's text when a response is done (used by --auto).
        self.on_answer: Optional[Callable[[str], None]] = None
        # Called once the connection is up, or failed with the error (used by --auto).
        self.on_connected: Optional[Callable[[Optional[str]], None]] = None

        root.title("realtime_sync chat")
        root.minsize(280, 140)
        # Pack order decides what shrinks: the status line (top) and the input row (bottom)
        # are packed first, the conversation last with expand=True, so it takes what is
        # left and a small window still shows the input row.
        self.status = tk.Label(root, text="Connecting...", anchor="w", fg="#555555")
        self.status.pack(side="top", fill="x", padx=6, pady=(6, 0))
        row = tk.Frame(root)
        row.pack(side="bottom", fill="x", padx=6, pady=(0, 6))
        self.entry = tk.Entry(row)
        self.entry.pack(side="left", fill="x", expand=True)
        self.entry.bind("<Return>", lambda _event: self.send())
        self.button = tk.Button(row, text="Send", command=self.send)
        self.button.pack(side="right")
        self.log = tk.Text(root, width=60, height=20, wrap="word", state="disabled")
        self.log.pack(side="top", fill="both", expand=True, padx=6, pady=6)
        self.entry.focus_set()
        self.show_state("Connecting...", usable=False)
        root.after(POLL_MS, self.poll)

    def show_state(self, text: str, *, usable: bool) -> None:
        """The status line, and whether the input row can be used."""
        self.status.configure(text=text)
        self.connected = usable
        state = "normal" if usable and not self.waiting else "disabled"
        self.button.configure(state=state)

    def write(self, text: str) -> None:
        self.log.configure(state="normal")
        self.log.insert("end", text)
        self.log.see("end")
        self.log.configure(state="disabled")

    def send(self) -> None:
        text = self.entry.get().strip()
        if not text or self.waiting or not self.connected:
            return
        self.entry.delete(0, "end")
        self.write(f"You: {text}\nAssistant: ")
        self.answers.append("")
        self.waiting = True
        self.button.configure(state="disabled")
        try:
            self.client.send_text(text)
        except RealtimeError as exc:
            self.write(f"[error: {exc}]\n")

    def poll(self) -> None:
        """Apply what the client's threads queued, then check again in POLL_MS."""
        while True:
            try:
                kind, value = self.updates.get_nowait()
            except queue.Empty:
                break
            if kind == "delta":
                self.write(value)
                if self.answers:
                    self.answers[-1] += value
            elif kind == "done":
                self.write("\n\n" if value == "completed" else f" [{value}]\n\n")
                self.waiting = False
                self.show_state(self.status.cget("text"), usable=self.connected)
                if self.on_answer is not None:
                    self.on_answer(self.answers[-1] if self.answers else "")
            elif kind == "connected":
                self.show_state(f"Connected: {value}", usable=True)
                if self.on_connected is not None:
                    self.on_connected(None)
            elif kind == "failed":
                self.show_state(f"Could not connect: {value}", usable=False)
                if self.on_connected is not None:
                    self.on_connected(value)
            elif kind == "closed":
                self.show_state(f"Disconnected: {value}", usable=False)
        self.root.after(POLL_MS, self.poll)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--auto", metavar="MESSAGE", help="send MESSAGE, wait for the answer, print it and exit"
    )
    parser.add_argument(
        "--auto-timeout", type=float, default=30.0, help="seconds --auto waits (default 30)"
    )
    add_connection_args(parser)
    args = parser.parse_args(argv)

    if tk is None:
        print("error: tkinter is not installed (apt-get install python3-tk)", file=sys.stderr)
        return 2
    try:
        root = tk.Tk()
    except tk.TclError as exc:
        print(f"error: cannot open a window: {exc}", file=sys.stderr)
        return 2

    updates: queue.Queue[Message] = queue.Queue()

    # These run on the client's dispatcher thread: they only put on the queue.
    def on_update(event: ConversationUpdatedEvent) -> None:
        delta = event.delta
        if event.item.role == "assistant" and delta is not None:
            words = delta.text or delta.transcript
            if words:
                updates.put(("delta", words))

    def on_done(event: ResponseDoneEvent) -> None:
        updates.put(("done", str(event.response.status)))

    def on_close(event: CloseEvent) -> None:
        updates.put(("closed", event.reason or f"code {event.code}"))

    exit_code = 0
    with open_client(args, event_delay=0.02) as (client, sim):
        if sim is not None:
            sim.add_reply("hello", text="Hi! I am a simulated assistant, streaming into Tk.")
        where = "the built-in simulator" if sim is not None else (args.url or "OpenAI")
        client.update_session(
            instructions="You are a friendly, concise assistant.", output_modalities=["text"]
        )
        client.on(RealtimeEventType.CONVERSATION_UPDATED, on_update)
        client.on(RealtimeEventType.RESPONSE_DONE, on_done)
        client.on(RealtimeEventType.CLOSE, on_close)
        window = ChatWindow(root, client, updates)
        root.protocol("WM_DELETE_WINDOW", root.destroy)

        def connect() -> None:  # a worker thread: connect() blocks until the session is ready
            try:
                session = client.connect()
            except RealtimeError as exc:
                updates.put(("failed", str(exc)))
            else:
                updates.put(("connected", f"{session.model or 'the model'} at {where}"))

        connector = threading.Thread(target=connect, name="tk-chat-connect", daemon=True)
        connector.start()

        if args.auto:

            def type_message(error: Optional[str]) -> None:
                nonlocal exit_code
                if error is not None:
                    print(f"error: {error}", file=sys.stderr)
                    exit_code = 1
                    root.destroy()
                    return
                window.entry.insert(0, args.auto)
                window.send()

            def give_up() -> None:
                nonlocal exit_code
                print(f"error: no answer within {args.auto_timeout:g} s", file=sys.stderr)
                exit_code = 1
                root.destroy()

            def finish(answer: str) -> None:
                nonlocal exit_code
                root.after_cancel(timer)
                print(f"The status line shows: {window.status.cget('text')}")
                print("The window shows:")
                print(window.log.get("1.0", "end").rstrip())
                if not answer.strip():
                    print("error: the answer was empty", file=sys.stderr)
                    exit_code = 1
                root.after(300, root.destroy)  # let the answer show for a moment

            window.on_answer = finish
            window.on_connected = type_message
            timer = root.after(int(args.auto_timeout * 1000), give_up)

        root.mainloop()
        connector.join(timeout=15)
    return exit_code


if __name__ == "__main__":
    raise SystemExit(main())
