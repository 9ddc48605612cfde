"""The client under faults: sends while reconnecting or recycling, busy tools, hangs, Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from typing import Any, Dict, List

import pytest

from realtime_sync import (
    RealtimeClient,
    RealtimeEventType,
    ReconnectPolicy,
    ToolDefinition,
)
from realtime_sync.testing import FunctionCall, RealtimeSimulator

from .conftest import wait_no_sdk_threads

T = RealtimeEventType


def kinds_after(sim: RealtimeSimulator, start: int) -> List[Dict[str, Any]]:
    return list(sim.received[start:])


def test_sends_during_a_reconnect_never_overtake_config_and_replay(sim: RealtimeSimulator) -> None:
    client = RealtimeClient(
        url=sim.url, reconnect=ReconnectPolicy(initial_delay=0.05, jitter=0.0, send_timeout=10)
    )
    client.update_session(instructions="Keep this.")
    client.connect()
    client.ask("remember the number 7", timeout=10)
    sim.event_delay = 0.02  # the new session answers the replay slowly
    reconnecting = threading.Event()
    client.on(T.RECONNECTING, lambda e: reconnecting.set())
    start = len(sim.received)
    sim.close_connections(code=1011, reason="maintenance")
    assert reconnecting.wait(5)
    while not client.realtime.is_connected():  # the new socket is open...
        time.sleep(0.001)
    item_id = client.send_text("sent the moment the socket opened", create_response=False)
    sim.wait_for_received("conversation.item.create", count=4, timeout=5)  # 1 + 2 replayed + 1
    after = kinds_after(sim, start)
    types = [e["type"] for e in after]
    mine = next(
        i
        for i, e in enumerate(after)
        if e["type"] == "conversation.item.create" and e["item"].get("id") == item_id
    )
    assert types[0] == "session.update" and after[0]["session"]["instructions"] == "Keep this."
    replays = [i for i, t in enumerate(types[:mine]) if t == "conversation.item.create"]
    assert len(replays) == 2 and mine > max(replays)  # ...but the app waited for the replay
    client.disconnect()
    assert wait_no_sdk_threads() == []


def test_a_planned_recycle_holds_sends_instead_of_dropping_them(sim: RealtimeSimulator) -> None:
    client = RealtimeClient(
        url=sim.url,
        reconnect=ReconnectPolicy(max_session_duration=0.0, initial_delay=0.05, send_timeout=10),
    )
    client.connect()
    recycled = client.wait_for(T.RECONNECTED)
    client.ask("first", timeout=10)
    # The recycle starts right after that response: these sends must wait, not fail.
    sent = [client.send_text(f"message {i}", create_response=False) for i in range(5)]
    assert recycled.result(timeout=10).recycled
    sim.wait_for_received("conversation.item.create", count=8, timeout=5)  # 1 + 2 replayed + 5
    created = {e["item"].get("id") for e in sim.received if e["type"] == "conversation.item.create"}
    assert set(sent) <= created
    client.disconnect()


def test_tool_timeout_counts_from_arrival_even_with_every_worker_busy(
    sim: RealtimeSimulator,
) -> None:
    release = threading.Event()
    client = RealtimeClient(url=sim.url, tool_workers=1, tool_timeout=0.5)
    client.add_tool(ToolDefinition(name="slow"), lambda params: release.wait(30))
    sim.add_reply(
        "two calls",
        function_call=[FunctionCall("slow", {"n": 1}), FunctionCall("slow", {"n": 2})],
        then_text="Both timed out.",
    )
    client.connect()
    try:
        started = time.monotonic()
        turn = client.ask("two calls please", timeout=10)
        elapsed = time.monotonic() - started
        outputs = [
            json.loads(e["item"]["output"])
            for e in sim.received
            if e["type"] == "conversation.item.create"
            and e["item"]["type"] == "function_call_output"
        ]
        assert len(outputs) == 2 and all("did not finish" in o["error"] for o in outputs)
        assert turn.text == "Both timed out." and elapsed < 5  # the queued call did not hang
    finally:
        release.set()
        client.disconnect()


def test_a_tool_that_never_returns_does_not_keep_the_interpreter_alive(tmp_path: Any) -> None:
    script = tmp_path / "hang.py"
    script.write_text(
        textwrap.dedent(
            """
            import threading
            from realtime_sync import RealtimeClient, RealtimeTimeoutError, ToolDefinition
            from realtime_sync.testing import RealtimeSimulator

            forever = threading.Event()
            with RealtimeSimulator() as sim:
                sim.add_reply("hang", function_call=("hang", {}))
                client = RealtimeClient(url=sim.url, tool_timeout=None)
                client.add_tool(ToolDefinition(name="hang"), lambda params: forever.wait())
                client.connect()
                try:
                    client.ask("hang", timeout=0.5)
                except RealtimeTimeoutError:
                    pass
                client.disconnect()
            print("left the script")
            """
        )
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, str(script)], check=False, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "left the script" in done.stdout
    assert "abandoning 1 tool call" in done.stderr
    assert time.monotonic() - started < 30


class _HandshakeServer:
    """A bare GA handshake on loopback: ``session.created``, then ``session.updated`` echoes.

    While ``silent`` is set it never answers ``session.update``, so ``connect()`` waits.
    """

    def __init__(self) -> None:
        from websockets.sync.server import serve

        self.silent = threading.Event()
        self._server = serve(self._handle, "127.0.0.1", 0)
        self.url = f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def _handle(self, connection: Any) -> None:
        session = {"type": "realtime", "id": "sess_1", "object": "realtime.session"}
        connection.send(
            json.dumps({"type": "session.created", "event_id": "e1", "session": session})
        )
        for message in connection:
            event = json.loads(message)
            if event["type"] == "session.update" and not self.silent.is_set():
                connection.send(
                    json.dumps({"type": "session.updated", "event_id": "e2", "session": session})
                )

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(5)


@pytest.mark.skipif(os.name != "posix", reason="needs POSIX signals")
def test_ctrl_c_during_connect_leaves_nothing_behind() -> None:
    server = _HandshakeServer()
    client = RealtimeClient(url=server.url)
    server.silent.set()
    timer = threading.Timer(0.3, os.kill, args=(os.getpid(), signal.SIGINT))
    timer.start()
    try:
        with pytest.raises(KeyboardInterrupt):
            client.connect(timeout=10)
        assert not client.is_connected()
        assert wait_no_sdk_threads() == []
        server.silent.clear()
        client.connect(timeout=10)  # the same client connects again
        assert client.is_connected() and client.session is not None
        client.disconnect()
    finally:
        timer.cancel()
        server.close()


def test_a_stuck_handler_never_gets_a_second_dispatcher(
    sim: RealtimeSimulator, caplog: Any
) -> None:
    client = RealtimeClient(url=sim.url)
    release = threading.Event()
    stuck = threading.Event()
    seen: List[int] = []

    def slow(event: Any) -> None:
        seen.append(threading.get_ident())
        if event.type == "conversation.item.added" and not stuck.is_set():
            stuck.set()
            release.wait(10)  # longer than disconnect()'s join timeout

    client.on(T.SERVER_ALL, slow)
    client.connect()
    client.send_text("hi", create_response=False)
    assert stuck.wait(5)
    client.disconnect(timeout=0.2)  # gives up waiting for the stuck handler...
    assert "slow" in caplog.text  # the stuck handler is named, not worked around
    timer = threading.Timer(0.5, release.set)
    timer.start()
    try:
        client.connect(timeout=10)  # ...and the reconnected session is served by the same thread
        client.ask("again", timeout=10)
        dispatchers = [t for t in threading.enumerate() if t.name.startswith("realtime-dispatcher")]
        assert len(dispatchers) == 1
        assert set(seen) == {dispatchers[0].ident}
    finally:
        timer.cancel()
        release.set()
        client.disconnect()
    assert wait_no_sdk_threads() == []
