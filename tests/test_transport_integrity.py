"""Frames go out whole or the connection is broken at once; fork and Ctrl-C leave nothing behind.

Every test runs over real sockets on 127.0.0.1. Faults are injected by putting a
subclass on the real socket of a real connection (``sock.__class__ = ...``),
by a peer that stops reading, or by a real SIGINT.
"""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import threading
import time
from typing import Any, Callable, Iterator, List, Optional, Type

import pytest
import websocket
from websockets.exceptions import ConnectionClosed
from websockets.sync.server import ServerConnection, serve

from realtime_sync import (
    ConnectionClosedError,
    NotConnectedError,
    RealtimeAPI,
    RealtimeClient,
    RealtimeError,
    RealtimeEventType,
    ReconnectPolicy,
)
from realtime_sync import events as ev
from realtime_sync.testing import RealtimeSimulator

from .conftest import wait_no_sdk_threads
from .wsutil import accept_handshake

T = RealtimeEventType
BIG_AUDIO = "A" * 300_000  # one frame far larger than a single socket send on a small buffer


class Peer:
    """A WebSocket server on 127.0.0.1 that records the messages and the end of each connection."""

    def __init__(self) -> None:
        # Guards messages, ends and close_frames; notified on every change.
        self._cond = threading.Condition()
        self.messages: List[str] = []
        self.ends = 0
        self.close_frames: List[Any] = []  # the close frame each ended connection received

    def _handle(self, connection: ServerConnection) -> None:
        try:
            while True:
                message = connection.recv()
                with self._cond:
                    self.messages.append(str(message))
                    self._cond.notify_all()
        except ConnectionClosed as exc:
            with self._cond:
                self.ends += 1
                self.close_frames.append(exc.rcvd)
                self._cond.notify_all()

    def wait(self, predicate: Callable[[], bool], timeout: float = 5.0) -> bool:
        """Wait until ``predicate()`` (called under the lock) holds; False on timeout."""
        with self._cond:
            return self._cond.wait_for(predicate, timeout)

    def event_ids(self) -> List[str]:
        with self._cond:
            return [json.loads(m)["event_id"] for m in self.messages]

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self._port}/v1/realtime"

    def __enter__(self) -> Peer:
        self._server = serve(self._handle, "127.0.0.1", 0, max_size=None, ping_interval=None)
        self._port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._thread.join(5)


@pytest.fixture
def peer() -> Iterator[Peer]:
    with Peer() as p:
        yield p


def cut_after_first_chunk(interrupt: Type[BaseException]) -> Type[socket.socket]:
    """A socket class whose ``send`` of a large buffer writes 4 KiB, then raises ``interrupt``.

    Installed on a live socket with ``sock.__class__ = ...`` (same layout, no new
    slots), so the real connection carries the half frame.
    """

    class CutSocket(socket.socket):
        __slots__ = ()
        step = 0  # 0: small writes pass, 1: the first 4 KiB of a large one went out, 2: cut

        def send(self, data: Any, flags: int = 0) -> int:
            if CutSocket.step == 0 and len(data) >= 100_000:
                CutSocket.step = 1
                return super().send(memoryview(data)[:4096], flags)
            if CutSocket.step == 1:
                CutSocket.step = 2
                raise interrupt()
            return super().send(data, flags)  # after the cut: whatever the client still writes

    return CutSocket


def live_socket(api: RealtimeAPI) -> socket.socket:
    ws = api._ws  # fault injection needs the connection's own socket
    assert ws is not None and ws.sock is not None
    sock: socket.socket = ws.sock
    return sock


# --------------------------------------------------------------------------- cut frames


def test_keyboard_interrupt_mid_frame_breaks_the_connection_at_once(peer: Peer) -> None:
    api = RealtimeAPI(url=peer.url)
    closes: List[ev.CloseEvent] = []
    api.on(T.CLOSE, closes.append)
    closed = api.wait_for(T.CLOSE)
    api.connect(timeout=5)
    try:
        api.send({"type": "input_audio_buffer.clear", "event_id": "evt_before"})
        assert peer.wait(lambda: len(peer.messages) == 1)
        pending = api.wait_for(T.RESPONSE_DONE)
        live_socket(api).__class__ = cut_after_first_chunk(KeyboardInterrupt)
        with pytest.raises(KeyboardInterrupt):
            api.send({"type": "input_audio_buffer.append", "audio": BIG_AUDIO})
        assert not api.is_connected()  # at once, not when the reader notices
        with pytest.raises(NotConnectedError):
            api.send({"type": "input_audio_buffer.clear", "event_id": "evt_after"})
        close = closed.result(timeout=5)
        assert close.error is True and close.code == 1006
        assert "cut" in close.reason and "KeyboardInterrupt" in close.reason
        with pytest.raises(ConnectionClosedError):
            pending.result(timeout=5)
        # The peer sees the connection end without a close frame, and nothing after the cut.
        assert peer.wait(lambda: peer.ends == 1)
        assert peer.close_frames == [None]
        assert peer.event_ids() == ["evt_before"]
    finally:
        api.disconnect()
    assert len(closes) == 1
    assert wait_no_sdk_threads() == []


def test_an_os_error_mid_frame_is_a_connection_closed_error(peer: Peer) -> None:
    api = RealtimeAPI(url=peer.url)
    closed = api.wait_for(T.CLOSE)
    api.connect(timeout=5)
    try:
        live_socket(api).__class__ = cut_after_first_chunk(BrokenPipeError)
        with pytest.raises(ConnectionClosedError) as info:
            api.send({"type": "input_audio_buffer.append", "audio": BIG_AUDIO})
        assert not isinstance(info.value, NotConnectedError)
        assert "input_audio_buffer.append" in str(info.value)
        assert not api.is_connected()
        assert closed.result(timeout=5).error is True
        assert peer.wait(lambda: peer.ends == 1)
        assert peer.messages == []
    finally:
        api.disconnect()


def test_a_stalled_uplink_times_the_send_out_and_breaks_the_connection() -> None:
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)  # inherited by the accepted one
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    release = threading.Event()
    ended = threading.Event()

    def serve_without_reading() -> None:
        conn, _ = listener.accept()
        with conn:
            accept_handshake(conn)
            release.wait(30)  # the stall: nothing is read until the test is done
            conn.settimeout(5)
            try:
                while conn.recv(65536):
                    pass
            except OSError:
                pass  # a reset is the expected end of an aborted connection
            ended.set()

    server = threading.Thread(target=serve_without_reading, daemon=True)
    server.start()
    port = listener.getsockname()[1]
    api = RealtimeAPI(url=f"ws://127.0.0.1:{port}/v1/realtime", write_timeout=0.3)
    closed = api.wait_for(T.CLOSE)
    api.connect(timeout=5)
    try:
        live_socket(api).setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
        started = time.monotonic()
        with pytest.raises(ConnectionClosedError) as info:
            for _ in range(100):  # bounded: a few frames fill both small buffers
                api.send({"type": "input_audio_buffer.append", "audio": BIG_AUDIO})
        assert time.monotonic() - started < 10
        assert not isinstance(info.value, NotConnectedError)
        assert "timed out" in str(info.value) or "timeout" in str(info.value)
        assert not api.is_connected()
        with pytest.raises(NotConnectedError):  # no later send "succeeds"
            api.send({"type": "input_audio_buffer.clear"})
        close = closed.result(timeout=5)
        assert close.error is True and "cut" in close.reason
    finally:
        release.set()
        api.disconnect()
        server.join(10)
        listener.close()
    assert ended.is_set()
    assert wait_no_sdk_threads() == []


def test_the_readers_pong_waits_for_a_frame_being_sent() -> None:
    """A pong must not land between the pieces of a frame another thread is writing."""
    marker = json.dumps({"type": "future.marker", "event_id": "e1"}).encode()
    frames = b"\x89\x04ping" + bytes([0x81, len(marker)]) + marker  # a ping, then a text frame
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    pong = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(10)
            accept_handshake(conn, then=frames)
            try:
                while True:
                    data = conn.recv(65536)
                    if not data:
                        return
                    if data[0] == 0x8A:  # the client's pong (it also sends the close frame later)
                        pong.set()
            except OSError:
                pass

    server = threading.Thread(target=serve, daemon=True)
    server.start()
    api = RealtimeAPI(url=f"ws://127.0.0.1:{listener.getsockname()[1]}/v1/realtime")
    seen = api.wait_for("future.marker")
    try:
        with api._send_lock:  # stands for a sender in the middle of a frame
            api.connect(timeout=5)
            # The reader is stuck on the pong, so the frame after the ping waits too.
            assert not pong.wait(0.3)
            assert not seen.done()
        assert pong.wait(5)
        assert seen.result(timeout=5).data["event_id"] == "e1"
    finally:
        api.disconnect()
        server.join(10)
        listener.close()


def test_a_client_with_reconnect_recovers_from_a_cut_frame() -> None:
    policy = ReconnectPolicy(initial_delay=0.05, max_delay=0.2, send_timeout=5.0)
    with RealtimeSimulator() as sim:
        client = RealtimeClient(url=sim.url, reconnect=policy)
        client.connect()
        try:
            reconnected = client.wait_for(T.RECONNECTED)
            live_socket(client.realtime).__class__ = cut_after_first_chunk(KeyboardInterrupt)
            with pytest.raises(KeyboardInterrupt):
                client.append_input_audio(b"\x00\x01" * 150_000)
            reconnected.result(timeout=10)
            client.append_input_audio(b"\x00\x01" * 100)
            sim.wait_for_received("input_audio_buffer.append", timeout=5)
            assert client.is_connected()
        finally:
            client.disconnect()
    assert wait_no_sdk_threads() == []


# --------------------------------------------------------------------------- fork


@pytest.mark.skipif(not hasattr(os, "fork"), reason="os.fork() exists on POSIX only")
def test_a_forked_child_cannot_touch_the_parents_connection(peer: Peer) -> None:
    api = RealtimeAPI(url=peer.url)
    api.connect(timeout=5)
    try:
        api.send({"type": "input_audio_buffer.clear", "event_id": "evt_before"})
        assert peer.wait(lambda: len(peer.messages) == 1)
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: report what it saw, then leave without any cleanup
            report = {}
            try:
                for name, call in (
                    ("disconnect", api.disconnect),
                    ("send", lambda: api.send({"type": "input_audio_buffer.clear"})),
                    ("connect", lambda: api.connect(timeout=2)),
                ):
                    try:
                        call()
                        report[name] = "ok"
                    except RealtimeError as exc:
                        report[name] = f"RealtimeError: {exc}"
                    except BaseException as exc:
                        report[name] = repr(exc)
                report["connected"] = str(api.is_connected())
                os.write(write_end, json.dumps(report).encode())
            finally:
                os._exit(0)
        os.close(write_end)
        try:
            ready, _, _ = select.select([read_end], [], [], 15)
            if not ready:
                os.kill(pid, signal.SIGKILL)
            chunks = []
            while ready:
                chunk = os.read(read_end, 65536)
                if not chunk:
                    break
                chunks.append(chunk)
        finally:
            os.close(read_end)
            os.waitpid(pid, 0)
        report = json.loads(b"".join(chunks) or b"{}")
        assert report.get("disconnect") == "ok"
        for name in ("send", "connect"):
            assert report.get(name, "").startswith("RealtimeError:"), report
            assert "inherited" in report[name] and "parent process" in report[name]
        assert report.get("connected") == "False"
        # The parent's session is untouched: no close frame reached the server.
        assert api.is_connected()
        api.send({"type": "input_audio_buffer.clear", "event_id": "evt_after"})
        assert peer.wait(lambda: len(peer.messages) == 2)
        assert peer.event_ids() == ["evt_before", "evt_after"]
        assert peer.ends == 0
    finally:
        api.disconnect()
    assert peer.wait(lambda: peer.ends == 1)
    assert peer.close_frames[0] is not None and peer.close_frames[0].code == 1000


# --------------------------------------------------------------------------- Ctrl-C in connect()


def _two_shot_server(first: Callable[[socket.socket], None]) -> tuple[socket.socket, List[Any]]:
    """Connection 1 goes to ``first``; connection 2 gets a real handshake and is read to EOF."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(2)
    state: List[Any] = [threading.Event(), threading.Event()]  # EOF seen on conn 1, on conn 2

    def run() -> None:
        for n in range(2):
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(10)
                try:
                    if n == 0:
                        first(conn)
                    else:
                        accept_handshake(conn)
                    while conn.recv(65536):
                        pass
                except OSError:
                    pass
                state[n].set()

    threading.Thread(target=run, daemon=True).start()
    return listener, state


@pytest.fixture
def sigint_raises() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("a SIGINT reaches only the main thread")
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


@pytest.mark.skipif(not hasattr(signal, "pthread_kill"), reason="needs signal.pthread_kill")
def test_ctrl_c_during_the_handshake_leaves_nothing_behind(sigint_raises: None) -> None:
    main = threading.main_thread().ident
    assert main is not None

    def stall_then_interrupt(conn: socket.socket) -> None:
        request = b""
        while b"\r\n\r\n" not in request:
            request += conn.recv(4096)
        signal.pthread_kill(main, signal.SIGINT)  # the client now waits for the answer

    listener, eof = _two_shot_server(stall_then_interrupt)
    try:
        api = RealtimeAPI(url=f"ws://127.0.0.1:{listener.getsockname()[1]}/v1/realtime")
        waiter = api.wait_for(T.SESSION_CREATED)
        with pytest.raises(KeyboardInterrupt):
            api.connect(timeout=10)
        assert not api.is_connected()
        assert eof[0].wait(5), "the interrupted handshake's socket was left open"
        with pytest.raises(ConnectionClosedError):
            waiter.result(timeout=5)
        assert wait_no_sdk_threads() == []
        api.connect(timeout=5)  # the same object connects again
        assert api.is_connected()
        api.disconnect()
        assert eof[1].wait(5)
    finally:
        listener.close()
    assert wait_no_sdk_threads() == []


def test_ctrl_c_right_after_the_handshake_closes_the_socket(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    marker = 7.25  # the reader's socket timeout, set once the handshake is done

    class InterruptedOnSetup(socket.socket):
        __slots__ = ()

        def settimeout(self, value: Optional[float]) -> None:
            if value == marker:
                raise KeyboardInterrupt
            super().settimeout(value)

    real_open = websocket._http._open_socket

    def open_socket(*args: Any, **kwargs: Any) -> socket.socket:
        sock: socket.socket = real_open(*args, **kwargs)
        sock.__class__ = InterruptedOnSetup
        monkeypatch.setattr(websocket._http, "_open_socket", real_open)  # the first one only
        return sock

    monkeypatch.setattr(websocket._http, "_open_socket", open_socket)
    listener, eof = _two_shot_server(accept_handshake)
    try:
        url = f"ws://127.0.0.1:{listener.getsockname()[1]}/v1/realtime"
        api = RealtimeAPI(url=url, ping_interval=marker, write_timeout=marker)
        waiter = api.wait_for(T.SESSION_CREATED)
        with pytest.raises(KeyboardInterrupt):
            api.connect(timeout=5)
        assert not api.is_connected()
        assert eof[0].wait(5), "the socket of the interrupted connect() was left open"
        with pytest.raises(ConnectionClosedError):
            waiter.result(timeout=5)
        assert wait_no_sdk_threads() == []
        api.connect(timeout=5)
        assert api.is_connected()
        api.disconnect()
        assert eof[1].wait(5)
    finally:
        listener.close()
    assert wait_no_sdk_threads() == []
