"""FrameReader: the reader thread's buffered frame parser over websocket-client's socket.

Also pins what it relies on in websocket-client (see realtime_sync/_fastsocket.py).
"""

from __future__ import annotations

import os
import socket
import struct
import threading
import time
from typing import Iterator, List, Tuple

import pytest
import websocket
from hypothesis import example, given, settings
from hypothesis import strategies as st

from realtime_sync._fastsocket import FrameReader

from .wsutil import accept_handshake

TEXT, BINARY, CONT, CLOSE, PING, PONG = 0x1, 0x2, 0x0, 0x8, 0x9, 0xA


def frame(
    payload: bytes,
    opcode: int = TEXT,
    fin: bool = True,
    *,
    rsv: int = 0,
    mask: bytes = b"",
    length_bits: int = 0,
) -> bytes:
    """A frame as a server would send it (``length_bits`` forces a wider length field)."""
    first = (0x80 if fin else 0) | rsv << 4 | opcode
    n = len(payload)
    bit = 0x80 if mask else 0
    if n < 126 and length_bits < 16:
        head = struct.pack("!BB", first, bit | n)
    elif n < 1 << 16 and length_bits < 64:
        head = struct.pack("!BBH", first, bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, bit | 127, n)
    if mask:
        payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return head + mask + payload


def read_client_frames(sock: socket.socket, count: int) -> List[Tuple[int, bytes]]:
    """Masked frames the client side wrote (pongs, close replies), unmasked."""
    out: List[Tuple[int, bytes]] = []
    data = b""
    sock.settimeout(5)
    while len(out) < count:
        data += sock.recv(65536)
        while len(data) >= 6:
            n = data[1] & 0x7F
            head = 2
            if n == 126:
                (n,) = struct.unpack_from("!H", data, 2)
                head = 4
            if len(data) < head + 4 + n:
                break
            key = data[head : head + 4]
            body = bytes(b ^ key[i % 4] for i, b in enumerate(data[head + 4 : head + 4 + n]))
            out.append((data[0] & 0x0F, body))
            data = data[head + 4 + n :]
    return out


@pytest.fixture
def pair() -> Iterator[Tuple[websocket.WebSocket, socket.socket]]:
    """A websocket-client WebSocket on one end of a socketpair; the test is the server."""
    client, server = socket.socketpair()
    ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
    ws.sock = client
    ws.connected = True
    yield ws, server
    for s in (client, server):
        s.close()


def test_whole_frames_of_every_length_encoding(
    pair: Tuple[websocket.WebSocket, socket.socket],
) -> None:
    ws, server = pair
    payloads = [b"", b"x" * 125, b"y" * 126, b"z" * 65535, b"w" * 65536, os.urandom(300_000)]
    sender = threading.Thread(target=server.sendall, args=(b"".join(map(frame, payloads)),))
    sender.start()
    reader = FrameReader(ws, buffer_size=4096)
    got = [reader.recv_data() for _ in payloads]
    sender.join()
    assert got == [(TEXT, p) for p in payloads]
    assert all(type(data) is bytes for _, data in got)


def test_a_64_bit_length_on_a_small_frame_and_the_buffer_shrinks_back(
    pair: Tuple[websocket.WebSocket, socket.socket],
) -> None:
    ws, server = pair
    big = os.urandom(1 << 20)
    server.sendall(frame(b"small", length_bits=64))
    reader = FrameReader(ws, buffer_size=1024)
    assert reader.recv_data() == (TEXT, b"small")
    sender = threading.Thread(target=server.sendall, args=(frame(big) + frame(b"after"),))
    sender.start()
    assert reader.recv_data() == (TEXT, big)
    assert reader.recv_data() == (TEXT, b"after")
    sender.join()
    more = frame(b"more" * 100)
    server.sendall(frame(b"again") + more[:3])
    assert reader.recv_data() == (TEXT, b"again")
    server.sendall(more[3:])
    assert reader.recv_data() == (TEXT, b"more" * 100)
    assert len(reader._buf) == 1024  # a one-off big frame does not keep a big buffer


def test_frames_split_at_every_byte(pair: Tuple[websocket.WebSocket, socket.socket]) -> None:
    ws, server = pair
    frames = [frame(b"a" * 200), frame(b"b" * 70_000), frame(b"ping", PING), frame(b"c")]
    data = b"".join(frames)

    def trickle() -> None:
        # The first 300 bytes one at a time (the kernel may merge some writes; the
        # 3-byte buffer below splits everything anyway), then in odd-sized pieces.
        for i in range(300):
            server.sendall(data[i : i + 1])
        for i in range(300, len(data), 997):
            server.sendall(data[i : i + 997])

    sender = threading.Thread(target=trickle)
    sender.start()
    reader = FrameReader(ws, buffer_size=3)
    got = [reader.recv_data() for _ in frames]
    sender.join()
    assert got == [(TEXT, b"a" * 200), (TEXT, b"b" * 70_000), (PING, b"ping"), (TEXT, b"c")]


def test_fragmented_message_with_a_ping_between_fragments(
    pair: Tuple[websocket.WebSocket, socket.socket],
) -> None:
    ws, server = pair
    server.sendall(
        frame(b"he", TEXT, fin=False)
        + frame(b"hello?", PING)
        + frame(b"ll", CONT, fin=False)
        + frame(b"o", CONT, fin=True)
        + frame(b"\x00\x01", BINARY, fin=False)
        + frame(b"\x02", CONT)
    )
    reader = FrameReader(ws)
    assert reader.recv_data() == (PING, b"hello?")
    assert reader.recv_data() == (TEXT, b"hello")
    assert reader.recv_data() == (BINARY, b"\x00\x01\x02")
    assert read_client_frames(server, 1) == [(PONG, b"hello?")]


def test_ping_is_answered_and_pong_returned(
    pair: Tuple[websocket.WebSocket, socket.socket],
) -> None:
    ws, server = pair
    server.sendall(frame(b"p1", PING) + frame(b"", PING) + frame(b"p2", PONG))
    reader = FrameReader(ws)
    assert reader.recv_data() == (PING, b"p1")
    assert reader.recv_data() == (PING, b"")
    assert reader.recv_data() == (PONG, b"p2")
    assert read_client_frames(server, 2) == [(PONG, b"p1"), (PONG, b"")]


def test_close_is_answered_and_returned(pair: Tuple[websocket.WebSocket, socket.socket]) -> None:
    ws, server = pair
    server.sendall(frame(struct.pack("!H", 1011) + b"server error", CLOSE))
    reader = FrameReader(ws)
    assert reader.recv_data() == (CLOSE, struct.pack("!H", 1011) + b"server error")
    assert read_client_frames(server, 1) == [(CLOSE, struct.pack("!H", 1000))]


def test_close_reply_failing_still_returns_the_close(
    pair: Tuple[websocket.WebSocket, socket.socket],
) -> None:
    ws, server = pair
    server.sendall(frame(struct.pack("!H", 1000), CLOSE))
    server.shutdown(socket.SHUT_RD)
    ws.sock.shutdown(socket.SHUT_WR)  # the reply cannot be written
    assert FrameReader(ws).recv_data() == (CLOSE, struct.pack("!H", 1000))


def test_masked_server_frame_is_unmasked(pair: Tuple[websocket.WebSocket, socket.socket]) -> None:
    ws, server = pair
    server.sendall(frame(b"masked text", mask=b"\x01\x02\x03\x04") + frame(b"plain"))
    reader = FrameReader(ws)
    assert reader.recv_data() == (TEXT, b"masked text")
    assert reader.recv_data() == (TEXT, b"plain")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (frame(b"x", rsv=4), "rsv"),
        (frame(b"x", opcode=0x3), "Invalid opcode"),
        (frame(b"x", CONT), "Illegal frame"),
        (frame(b"a", TEXT, fin=False) + frame(b"b", TEXT), "Illegal frame"),
        (frame(b"p", PING, fin=False), "Invalid ping"),
        (frame(b"\x03", CLOSE), "Invalid close frame"),
        (frame(struct.pack("!H", 999), CLOSE), "Invalid close opcode"),
    ],
)
def test_invalid_frames_raise_like_websocket_client(
    pair: Tuple[websocket.WebSocket, socket.socket], data: bytes, message: str
) -> None:
    ws, server = pair
    server.sendall(data)
    with pytest.raises(websocket.WebSocketProtocolException, match=message):
        FrameReader(ws).recv_data()


def test_timeout_mid_frame_resumes_without_losing_bytes(
    pair: Tuple[websocket.WebSocket, socket.socket],
) -> None:
    ws, server = pair
    ws.sock.settimeout(0.05)
    data = frame(b"first") + frame(b"second" * 100)
    reader = FrameReader(ws)
    server.sendall(data[:1])  # half a header
    with pytest.raises(websocket.WebSocketTimeoutException):
        reader.recv_data()
    server.sendall(data[1:12])  # the rest of the first frame and part of the second
    assert reader.recv_data() == (TEXT, b"first")
    with pytest.raises(websocket.WebSocketTimeoutException):
        reader.recv_data()
    server.sendall(data[12:])
    assert reader.recv_data() == (TEXT, b"second" * 100)
    with pytest.raises(websocket.WebSocketTimeoutException):
        reader.recv_data()


def test_eof_raises_connection_closed(pair: Tuple[websocket.WebSocket, socket.socket]) -> None:
    ws, server = pair
    server.sendall(frame(b"last") + frame(b"cut short")[:5])
    server.shutdown(socket.SHUT_WR)
    reader = FrameReader(ws)
    assert reader.recv_data() == (TEXT, b"last")
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        reader.recv_data()


def test_shutdown_from_another_thread_unblocks_a_blocked_read(
    pair: Tuple[websocket.WebSocket, socket.socket],
) -> None:
    ws, _server = pair
    reader = FrameReader(ws)
    raised: List[BaseException] = []

    def read() -> None:
        try:
            reader.recv_data()
        except BaseException as exc:
            raised.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    time.sleep(0.1)
    assert thread.is_alive()
    ws.sock.shutdown(socket.SHUT_RDWR)  # what RealtimeAPI.disconnect's _abort does
    thread.join(2)
    assert not thread.is_alive()
    assert isinstance(raised[0], (websocket.WebSocketConnectionClosedException, OSError))


def test_an_already_closed_connection_fails_at_the_first_read() -> None:
    ws = websocket.WebSocket()
    reader = FrameReader(ws)  # ws.sock is None: constructing never raises
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        reader.recv_data()


# --------------------------------------------------------------------------- equivalence

_frames = st.one_of(
    st.tuples(st.just("text"), st.binary(max_size=300), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("binary"), st.binary(max_size=300), st.integers(1, 3), st.booleans()),
    st.tuples(st.just("ping"), st.binary(max_size=125), st.just(1), st.booleans()),
    st.tuples(st.just("pong"), st.binary(max_size=125), st.just(1), st.booleans()),
)


@settings(max_examples=100, deadline=None)
@given(messages=st.lists(_frames, min_size=1, max_size=12), buffer_size=st.integers(2, 64))
@example(
    messages=[("text", bytes(range(256)) * 3, 1, True), ("ping", b"p" * 125, 1, True)],
    buffer_size=5,
)
@example(
    messages=[("binary", b"\x01" * 70_000, 2, True), ("text", b"x" * 200, 3, False)], buffer_size=64
)
def test_same_results_as_websocket_client(
    messages: List[Tuple[str, bytes, int, bool]], buffer_size: int
) -> None:
    """FrameReader returns what ws.recv_data(control_frame=True) returns, frame for frame.

    Some frames are masked and some use a wider length field than they need.
    """
    wire = b""
    for kind, payload, parts, odd in messages:
        options = {"mask": b"\x0f\xf0\xaa\x55"} if odd else {}
        if kind in ("ping", "pong"):
            wire += frame(payload, PING if kind == "ping" else PONG, **options)
            continue
        cut = [len(payload) * i // parts for i in range(parts + 1)]
        for i in range(parts):
            opcode = (TEXT if kind == "text" else BINARY) if i == 0 else CONT
            wire += frame(
                payload[cut[i] : cut[i + 1]],
                opcode,
                fin=i == parts - 1,
                length_bits=64 if odd and i == 0 else 0,
                **options,
            )
    results = []
    for use_reader in (False, True):
        client, server = socket.socketpair()
        try:
            ws = websocket.WebSocket(skip_utf8_validation=True, enable_multithread=True)
            ws.sock = client
            ws.connected = True
            sender = threading.Thread(target=server.sendall, args=(wire,))
            sender.start()  # a thread: the wire may exceed the socket buffer
            recv = (
                FrameReader(ws, buffer_size).recv_data
                if use_reader
                else (lambda ws=ws: ws.recv_data(control_frame=True))
            )
            results.append([recv() for _ in messages])
            sender.join()
            pongs = sum(kind == "ping" for kind, _, _, _ in messages)
            results.append(read_client_frames(server, pongs) if pongs else [])
        finally:
            client.close()
            server.close()
    assert results[0] == results[2]  # the messages
    assert results[1] == results[3]  # the pongs sent back


# --------------------------------------------------------------------------- pins


def test_pin_handshake_leaves_following_frames_in_the_socket() -> None:
    """websocket-client must not read past the handshake response (FrameReader reads the rest).

    The server writes the 101 response and two frames in one segment.
    """
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            accept_handshake(conn, frame(b'{"type":"session.created"}') + frame(b"second"))
            conn.recv(1024)  # wait for the client to go

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{port}/", skip_utf8_validation=True, suppress_origin=True, timeout=5
    )
    try:
        assert isinstance(ws.sock, socket.socket) and hasattr(ws.sock, "recv_into")
        assert ws.frame_buffer.recv_buffer == []
        reader = FrameReader(ws)
        assert reader.recv_data() == (TEXT, b'{"type":"session.created"}')
        assert reader.recv_data() == (TEXT, b"second")
    finally:
        ws.close(timeout=0)
        listener.close()
        thread.join(5)


def test_pin_websocket_client_api() -> None:
    """What FrameReader calls in websocket-client, with the behaviour it expects."""
    abnf = websocket.ABNF
    assert (abnf.OPCODE_CONT, abnf.OPCODE_TEXT, abnf.OPCODE_BINARY) == (0x0, 0x1, 0x2)
    assert (abnf.OPCODE_CLOSE, abnf.OPCODE_PING, abnf.OPCODE_PONG) == (0x8, 0x9, 0xA)
    assert abnf.mask(b"\x01\x02\x03\x04", b"\x01\x02\x03\x04\x05") == b"\x00\x00\x00\x00\x04"
    abnf(1, 0, 0, 0, abnf.OPCODE_TEXT, 0, b"ok").validate(skip_utf8_validation=True)
    with pytest.raises(websocket.WebSocketProtocolException):
        abnf(1, 1, 0, 0, abnf.OPCODE_TEXT, 0, b"").validate(skip_utf8_validation=True)
    ws = websocket.WebSocket()
    for name in ("pong", "send_close", "sock", "frame_buffer"):
        assert hasattr(ws, name)
    assert isinstance(ws.frame_buffer.recv_buffer, list)
    for exc in (
        "WebSocketTimeoutException",
        "WebSocketConnectionClosedException",
        "WebSocketProtocolException",
        "WebSocketException",
    ):
        assert issubclass(getattr(websocket, exc), Exception)
