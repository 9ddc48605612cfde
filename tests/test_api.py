"""RealtimeAPI and EventDispatcher over real sockets against RealtimeSimulator."""

from __future__ import annotations

import json
import logging
import socket
import threading
from typing import Any, List

import pytest

from realtime_sync import (
    ConnectionClosedError,
    NotConnectedError,
    RealtimeAPI,
    RealtimeConnectionError,
    RealtimeError,
    RealtimeEventType,
)
from realtime_sync import events as ev
from realtime_sync.testing import RealtimeSimulator

from .conftest import wait_no_sdk_threads
from .wsutil import accept_handshake

T = RealtimeEventType


def connected(sim: RealtimeSimulator, **kwargs: Any) -> RealtimeAPI:
    api = RealtimeAPI(url=sim.url, **kwargs)
    created = api.wait_for(T.SESSION_CREATED)
    api.connect()
    created.result(timeout=5)
    return api


def test_connect_receives_session_created_then_disconnects_cleanly(sim: RealtimeSimulator) -> None:
    api = RealtimeAPI(url=sim.url)
    created = api.wait_for(T.SESSION_CREATED)
    closes: List[ev.CloseEvent] = []
    api.on(T.CLOSE, closes.append)
    api.connect(model="gpt-realtime-mini")
    assert api.is_connected()
    event = created.result(timeout=5)
    assert isinstance(event, ev.SessionCreatedEvent)
    assert event.session.type == "realtime"
    assert event.session.model == "gpt-realtime-mini"
    with pytest.raises(RealtimeError, match="already connected"):
        api.connect()
    api.disconnect()
    assert not api.is_connected()
    assert len(closes) == 1 and closes[0].error is False
    api.disconnect()  # idempotent
    assert wait_no_sdk_threads() == []


def test_default_url_without_key_fails_before_any_network(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)

    def no_network(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("network used")

    monkeypatch.setattr(socket, "create_connection", no_network)
    api = RealtimeAPI()
    with pytest.raises(RealtimeError, match="OPENAI_API_KEY"):
        api.connect()


def test_refused_handshake_401_carries_status_and_body(sim: RealtimeSimulator) -> None:
    sim.reject_handshake(status=401)
    api = RealtimeAPI(url=sim.url, api_key="sk-test-canary-1234567890")
    with pytest.raises(RealtimeConnectionError) as info:
        api.connect(timeout=5)
    assert info.value.status == 401
    assert "API key" in str(info.value)
    assert "sk-test-canary-1234567890" not in str(info.value)
    assert "sk-test-canary-1234567890" not in repr(api)
    assert not api.is_connected()


def test_api_key_is_sent_as_bearer() -> None:
    with RealtimeSimulator(api_key="sk-right-key-000000") as sim:
        bad = RealtimeAPI(url=sim.url, api_key="sk-wrong-key-000000")
        with pytest.raises(RealtimeConnectionError) as info:
            bad.connect(timeout=5)
        assert info.value.status == 401
        assert "sk-wrong-key-000000" not in str(info.value)
        good = connected(sim, api_key="sk-right-key-000000")
        good.disconnect()


def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = RealtimeAPI(url=f"ws://127.0.0.1:{port}/v1/realtime")
    with pytest.raises(RealtimeConnectionError, match="could not connect"):
        api.connect(timeout=2)


def test_send_fills_event_id_and_dispatches_client_events_in_order(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    seen: List[Any] = []
    api.on(T.CLIENT_ALL, seen.append)
    updated = api.wait_for(T.SESSION_UPDATED)
    sent_id = api.send(ev.SessionUpdateEvent(session=ev.SessionConfig(instructions="Be brief.")))
    assert sent_id.startswith("evt_")
    assert updated.result(timeout=5).session.instructions == "Be brief."
    raw_id = api.send({"type": "input_audio_buffer.clear"})
    sim.wait_for_received("input_audio_buffer.clear", timeout=5)
    api.disconnect()
    assert [e.type for e in seen] == ["session.update", "input_audio_buffer.clear"]
    assert seen[0].event_id == sent_id
    assert isinstance(seen[1], ev.RawClientEvent) and seen[1].event_id == raw_id
    received = [
        e for e in sim.received if e["type"] in ("session.update", "input_audio_buffer.clear")
    ]
    assert [e["event_id"] for e in received] == [sent_id, raw_id]


def test_server_events_arrive_in_wire_order_on_the_dispatcher_thread(
    sim: RealtimeSimulator,
) -> None:
    api = connected(sim)
    order: List[str] = []
    threads = set()

    def record(event: Any) -> None:
        order.append(event.type)
        threads.add(threading.current_thread().name)

    api.on(T.SERVER_ALL, record)
    done = api.wait_for(T.RESPONSE_DONE)
    api.send({"type": "response.create", "response": {"output_modalities": ["text"]}})
    done.result(timeout=10)
    api.disconnect()
    assert threads == {"realtime-dispatcher"}
    order = [kind for kind in order if kind != "rate_limits.updated"]  # sent after response.done
    assert order[0] == "response.created" and order[-1] == "response.done"
    assert order.index("response.output_item.added") < order.index("response.output_text.delta")
    assert order.index("response.output_text.done") < order.index("response.output_item.done")


def test_all_wildcard_wraps_events_with_source_and_time(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    wrapped: List[ev.RealtimeEvent] = []
    api.on(T.ALL, wrapped.append)
    cleared = api.wait_for(T.INPUT_AUDIO_BUFFER_CLEARED)
    api.send({"type": "input_audio_buffer.clear"})
    cleared.result(timeout=5)
    api.disconnect()
    sources = [(w.source, w.event.type) for w in wrapped]
    assert ("client", "input_audio_buffer.clear") in sources
    assert ("server", "input_audio_buffer.cleared") in sources
    assert all(w.time > 0 for w in wrapped)


def test_concurrent_senders_do_not_interleave_or_lose_events(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    threads_n, per_thread = 8, 500
    barrier = threading.Barrier(threads_n)
    errors: List[BaseException] = []

    def sender(n: int) -> None:
        try:
            barrier.wait(5)
            for i in range(per_thread):
                api.send(ev.InputAudioBufferAppendEvent(audio="AAAA", event_id=f"evt_t{n}_{i:04d}"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    workers = [threading.Thread(target=sender, args=(n,)) for n in range(threads_n)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    assert errors == []
    sim.wait_for_received("input_audio_buffer.append", count=threads_n * per_thread, timeout=30)
    api.disconnect()
    ids = [e["event_id"] for e in sim.received if e["type"] == "input_audio_buffer.append"]
    assert len(ids) == threads_n * per_thread == len(set(ids))
    for n in range(threads_n):  # each thread's events stay in its own order
        mine = [i for i in ids if i.startswith(f"evt_t{n}_")]
        assert mine == sorted(mine)


def test_handler_exceptions_are_isolated_and_reported(sim: RealtimeSimulator, caplog: Any) -> None:
    api = connected(sim)
    later: List[str] = []
    errors: List[Any] = []
    api.on(T.INPUT_AUDIO_BUFFER_CLEARED, lambda e: 1 / 0)
    api.on(T.INPUT_AUDIO_BUFFER_CLEARED, lambda e: later.append(e.type))
    api.on(T.ERROR, errors.append)
    with caplog.at_level(logging.ERROR, logger="realtime_sync"):
        for _ in range(2):
            f = api.wait_for(T.INPUT_AUDIO_BUFFER_CLEARED)
            api.send({"type": "input_audio_buffer.clear"})
            f.result(timeout=5)
    api.disconnect()
    assert later == ["input_audio_buffer.cleared"] * 2
    handler_errors = [e for e in errors if isinstance(e, ev.SdkErrorEvent)]
    assert len(handler_errors) == 2
    assert handler_errors[0].error.type == "handler_error"
    assert isinstance(handler_errors[0].exception, ZeroDivisionError)
    assert "ZeroDivisionError" in caplog.text


def test_malformed_binary_and_unknown_frames_are_survived(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    errors: List[Any] = []
    unknown: List[Any] = []
    api.on(T.ERROR, errors.append)
    api.on("future.event", unknown.append)
    sim.send_raw("{not json")
    sim.send_raw(b"\x00\x01binary")
    sim.send_raw(json.dumps({"type": "response.output_audio.delta", "event_id": "x"}))
    sim.send_event({"type": "future.event", "event_id": "e1", "novel": True})
    alive = api.wait_for(T.INPUT_AUDIO_BUFFER_CLEARED)
    api.send({"type": "input_audio_buffer.clear"})
    alive.result(timeout=5)  # the reader read on
    assert api.is_connected()
    api.disconnect()
    kinds = [e.error.type for e in errors if isinstance(e, ev.SdkErrorEvent)]
    assert kinds == ["protocol_error"] * 3
    assert "response.output_audio.delta" in errors[2].error.message
    assert len(unknown) == 1 and isinstance(unknown[0], ev.UnknownServerEvent)
    assert unknown[0].data["novel"] is True


def test_wait_for_predicate_timeout_and_cancel(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    never = api.wait_for(T.RESPONSE_DONE)
    with pytest.raises(TimeoutError):
        never.result(timeout=0.2)
    assert never.cancel()
    second = api.wait_for(
        T.CONVERSATION_ITEM_DONE, predicate=lambda e: getattr(e.item, "id", None) == "item_b"
    )
    for item_id in ("item_a", "item_b"):
        api.send(
            {
                "type": "conversation.item.create",
                "item": {
                    "id": item_id,
                    "type": "message",
                    "role": "user",
                    "content": [{"type": "input_text", "text": item_id}],
                },
            }
        )
    assert second.result(timeout=5).item.id == "item_b"
    api.disconnect()


def test_server_close_fails_waiters_and_dispatches_close(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    closes: List[ev.CloseEvent] = []
    api.on(T.CLOSE, closes.append)
    pending = api.wait_for(T.RESPONSE_DONE)
    closed = api.wait_for(T.CLOSE)
    sim.close_connections(code=1011, reason="server error")
    close = closed.result(timeout=5)
    assert close.code == 1011 and close.error is True and "server error" in close.reason
    with pytest.raises(ConnectionClosedError) as info:
        pending.result(timeout=5)
    assert info.value.code == 1011
    assert not api.is_connected()
    with pytest.raises(NotConnectedError):
        api.send({"type": "input_audio_buffer.clear"})
    api.disconnect()
    assert len(closes) == 1
    # a waiter registered while disconnected is served by the next connection
    again = api.wait_for(T.SESSION_CREATED)
    api.connect()
    assert again.result(timeout=5).session.type == "realtime"
    api.disconnect()
    assert wait_no_sdk_threads() == []


def test_dropped_tcp_connection_is_an_error_close(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    closed = api.wait_for(T.CLOSE)
    sim.drop_after(0)
    sim.send_event({"type": "future.event", "event_id": "e"})
    close = closed.result(timeout=5)
    assert close.error is True and close.code == 1006
    api.disconnect()
    assert wait_no_sdk_threads() == []


def test_result_inside_a_handler_raises_instead_of_deadlocking(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    outcome: List[BaseException] = []
    finished = threading.Event()

    def handler(event: Any) -> None:
        future = api.wait_for(T.RESPONSE_DONE)
        try:
            future.result(timeout=30)
        except RealtimeError as exc:
            outcome.append(exc)
        finally:
            future.cancel()
            finished.set()

    api.on_next(T.INPUT_AUDIO_BUFFER_CLEARED, handler)
    api.send({"type": "input_audio_buffer.clear"})
    assert finished.wait(5)
    assert "deadlock" in str(outcome[0])
    api.disconnect()


def test_disconnect_from_a_handler_does_not_deadlock(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    closed = api.wait_for(T.CLOSE)
    api.on(T.INPUT_AUDIO_BUFFER_CLEARED, lambda e: api.disconnect())
    api.send({"type": "input_audio_buffer.clear"})
    assert closed.result(timeout=5).error is False
    assert wait_no_sdk_threads() == []
    assert not api.is_connected()


def test_on_next_off_and_clear_handlers(sim: RealtimeSimulator) -> None:
    api = connected(sim)
    once: List[Any] = []
    always: List[Any] = []
    api.on_next(T.INPUT_AUDIO_BUFFER_CLEARED, once.append)
    handler = api.on(T.INPUT_AUDIO_BUFFER_CLEARED, always.append)
    for _ in range(2):
        f = api.wait_for(T.INPUT_AUDIO_BUFFER_CLEARED)
        api.send({"type": "input_audio_buffer.clear"})
        f.result(timeout=5)
    api.off(T.INPUT_AUDIO_BUFFER_CLEARED, handler)
    with pytest.raises(ValueError, match="not registered"):
        api.off(T.INPUT_AUDIO_BUFFER_CLEARED, handler)
    f = api.wait_for(T.INPUT_AUDIO_BUFFER_CLEARED)
    api.send({"type": "input_audio_buffer.clear"})
    f.result(timeout=5)
    api.disconnect()
    assert len(once) == 1 and len(always) == 2
    api.on(T.CLOSE, always.append)
    api.clear_handlers()
    assert api.dispatcher.queue_depth == 0


def test_debug_logging_shortens_audio_and_hides_the_key(caplog: Any) -> None:
    key = "sk-canary-debug-9876543210"
    with (
        RealtimeSimulator(api_key=key) as sim,
        caplog.at_level(logging.DEBUG, logger="realtime_sync"),
    ):
        api = connected(sim, api_key=key, debug=True)
        done = api.wait_for(T.RESPONSE_DONE)
        api.send({"type": "input_audio_buffer.append", "audio": "A" * 4000})
        api.send({"type": "response.create"})
        done.result(timeout=10)
        api.disconnect()
    assert "chars of base64 audio" in caplog.text
    assert "A" * 200 not in caplog.text
    assert key not in caplog.text
    assert "response.output_audio.delta" in caplog.text


def _silent_websocket_server() -> tuple[socket.socket, threading.Thread]:
    """A peer that completes the handshake, then never answers anything (not even pings)."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    conns: List[socket.socket] = []

    def serve() -> None:
        conn, _ = listener.accept()
        conns.append(conn)
        accept_handshake(conn)
        while conn.recv(4096):  # swallow pings; answer nothing
            pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    return listener, thread


def test_keepalive_pings_notice_a_dead_peer() -> None:
    listener, _ = _silent_websocket_server()
    try:
        port = listener.getsockname()[1]
        api = RealtimeAPI(
            url=f"ws://127.0.0.1:{port}/v1/realtime", ping_interval=0.2, ping_timeout=0.3
        )
        closed = api.wait_for(T.CLOSE)
        api.connect(timeout=5)
        close = closed.result(timeout=5)
        assert close.error is True and "ping" in close.reason
        assert not api.is_connected()
        api.disconnect()
    finally:
        listener.close()
    assert wait_no_sdk_threads() == []


def test_an_idle_connection_uses_almost_no_cpu(sim: RealtimeSimulator) -> None:
    import time

    api = connected(sim)
    idle = threading.Event()
    start_cpu = time.process_time()
    idle.wait(1.0)  # nothing happens for a second: the reader blocks in recv, the dispatcher in get
    used = time.process_time() - start_cpu
    api.disconnect()
    assert used < 0.2, f"{used:.3f} s of CPU in 1 s of idling: something is polling"


def test_write_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError, match="write_timeout"):
        RealtimeAPI(url="ws://127.0.0.1:9/v1/realtime", write_timeout=0)


def test_a_url_with_a_line_break_is_refused_before_connecting() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        api = RealtimeAPI(url=f"ws://127.0.0.1:{port}/v1/realtime\r\nX-Injected: 1")
        with pytest.raises(RealtimeError, match="percent-encode") as info:
            api.connect(timeout=2)
        assert not isinstance(info.value, RealtimeConnectionError)
        with pytest.raises(BlockingIOError):  # no connection was even attempted
            listener.accept()


def test_an_aborted_connection_says_why_when_used(sim: RealtimeSimulator) -> None:
    api = connected(sim, write_timeout=0.5)
    closed = api.wait_for(T.CLOSE)
    ws = api._ws  # fault injection: the socket fails under the next write
    assert ws is not None and ws.sock is not None

    class FailingSocket(socket.socket):
        __slots__ = ()

        def send(self, data: Any, flags: int = 0) -> int:
            raise ConnectionResetError("reset by the test")

    ws.sock.__class__ = FailingSocket
    with pytest.raises(ConnectionClosedError, match="reset by the test"):
        api.send({"type": "input_audio_buffer.clear"})
    with pytest.raises(NotConnectedError, match="cut off mid-send"):
        api.send({"type": "input_audio_buffer.clear"})
    assert closed.result(timeout=5).error is True
    api.disconnect()
    again = api.wait_for(T.SESSION_CREATED)
    api.connect(timeout=5)  # the same object connects again
    again.result(timeout=5)
    api.disconnect()
    assert wait_no_sdk_threads() == []


def test_the_protocol_path_is_a_seam_for_other_protocols() -> None:
    from realtime_sync.endpoints import LIVE_PATH, OpenAIEndpoint

    class LiveAPI(RealtimeAPI):
        api_path = LIVE_PATH

    requests: List[bytes] = []
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            head = b""
            while b"\r\n\r\n" not in head:
                head += conn.recv(4096)
            requests.append(head)
            conn.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{listener.getsockname()[1]}/v1"
        api = LiveAPI(endpoint=OpenAIEndpoint(base_url=base, api_key="", model=None))
        with pytest.raises(RealtimeConnectionError) as info:
            api.connect(timeout=5)
        thread.join(5)
    finally:
        listener.close()
    assert info.value.status == 404
    assert requests[0].startswith(b"GET /v1/live/sessions HTTP/1.1\r\n")


def test_url_and_repr_come_from_the_endpoint(sim: RealtimeSimulator) -> None:
    from realtime_sync.endpoints import OpenAIEndpoint

    api = RealtimeAPI(url=sim.url, api_key="sk-api-test-00000001")
    assert isinstance(api.endpoint, OpenAIEndpoint)
    assert api.url == sim.url == api.endpoint.websocket_url
    assert repr(api) == f"RealtimeAPI(url={sim.url!r}, state=new, api_key=set)"
    assert RealtimeAPI().url == "wss://api.openai.com/v1/realtime"
