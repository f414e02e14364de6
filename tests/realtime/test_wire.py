"""The direct frame writer: frames built once, written at once, batched while the peer is slow."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest

from app.realtime.connection import Connection
from app.realtime.hub import hub_from_url
from app.realtime.protocol import Outgoing, push, text_frame
from app.realtime.wire import Wire


class _Transport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closing = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closing


class _Protocol:
    """The attributes of uvicorn's sans-I/O protocol that a Wire reads."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport = _Transport()
        self.writable = asyncio.Event()
        self.writable.set()
        self.close_sent = False
        self.disconnected = False


class _NoSocket:
    async def send_text(self, data: str) -> None:
        raise AssertionError("a connection with a wire never sends through ASGI")


def _texts(data: bytes) -> list[str]:
    """Split unmasked server frames (RFC 6455 5.2) and decode their text."""
    texts, pos = [], 0
    while pos < len(data):
        assert data[pos] == 0x81  # FIN + text, no RSV bits
        size, pos = data[pos + 1], pos + 2
        if size == 126:
            size, pos = struct.unpack_from("!H", data, pos)[0], pos + 2
        elif size == 127:
            size, pos = struct.unpack_from("!Q", data, pos)[0], pos + 8
        texts.append(data[pos : pos + size].decode())
        pos += size
    return texts


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_text_frame_uses_the_shortest_length_encoding(size: int) -> None:
    data = ("é" * (size // 2) + "x" * (size % 2)).encode()
    frame = text_frame(data)
    assert _texts(frame) == [data.decode()]
    assert len(frame) - size == (2 if size < 126 else 4 if size < 65536 else 10)


async def test_push_is_framed_once_and_written_at_once_to_every_wire() -> None:
    hub = hub_from_url(None)
    protocols = [_Protocol(), _Protocol()]
    conns = [
        Connection(_NoSocket(), account_id=n, hub=hub, wire=Wire(p))
        for n, p in enumerate(protocols)
    ]
    for conn in conns:
        await conn.subscribe("event:1")
    await hub.publish("event:1", push("announce", {"n": 1}))
    first, second = (p.transport.writes for p in protocols)  # type: ignore[attr-defined]
    assert _texts(first[0]) == ['["announce",null,{"n":1}]']
    # The same bytes object: framed once for every recipient.
    assert first[0] is second[0]


async def test_wire_batches_what_queued_while_paused_and_closes_1013_when_full() -> None:
    hub = hub_from_url(None)
    slow, late = _Protocol(), _Protocol()
    slow_conn = Connection(_NoSocket(), account_id=1, hub=hub, queue_size=4, wire=Wire(slow))
    late_conn = Connection(_NoSocket(), account_id=2, hub=hub, queue_size=4, wire=Wire(late))
    writers = [asyncio.create_task(c.writer()) for c in (slow_conn, late_conn)]
    slow.writable.clear()  # the transport's buffer is over its high-water mark
    late.writable.clear()
    try:
        for conn in (slow_conn, late_conn):
            await conn.subscribe("event:1")
        for n in range(3):
            await hub.publish("event:1", push("announce", {"n": n}))
        late_conn.send(Outgoing.of(b'["x",null,{}]'))
        await asyncio.sleep(0)
        assert late.transport.writes == []  # type: ignore[attr-defined]
        late.writable.set()  # drained: everything queued goes out in one write, in order
        await asyncio.sleep(0.01)
        writes = late.transport.writes  # type: ignore[attr-defined]
        assert len(writes) == 1
        assert [json.loads(t)[0] for t in _texts(writes[0])] == ["announce"] * 3 + ["x"]
        for n in range(3, 5):
            await hub.publish("event:1", push("announce", {"n": n}))
        assert slow_conn.close_code == 1013
        assert not late_conn.closed.is_set()
    finally:
        for conn in (slow_conn, late_conn):
            conn.close(None)
            await conn.unsubscribe_all()
        for task in writers:
            task.cancel()
        await asyncio.gather(*writers, return_exceptions=True)
