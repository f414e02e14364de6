"""A lean websocket client for the ws benchmarks: raw asyncio streams, no per-frame tasks.

The `websockets` client (a reader task per socket) costs the bench process tens of µs per
received frame, so with a few thousand sockets on a 2-core machine the clients, not the server
under test, set the latency. This one is an `asyncio.Protocol` that parses frames inside
`data_received`, answers pings, and masks its own frames with a zero key (valid per RFC 6455;
the bench is not a browser).
"""

from __future__ import annotations

import asyncio
import base64
import secrets
import struct
from collections.abc import Callable

import orjson

OnFrame = Callable[[bytes], None]


class HandshakeFailed(Exception):
    pass


class Client(asyncio.Protocol):
    """One connection; `on_frame` is called with the payload of every text frame."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.on_frame: OnFrame = lambda _data: None
        self.inbox: asyncio.Queue[bytes] | None = asyncio.Queue()
        self.closed = asyncio.Event()
        self.close_code: int | None = None
        self._handshake: asyncio.Future[bytes] = asyncio.get_running_loop().create_future()
        self._buf = b""

    @classmethod
    async def open(cls, host: str, port: int, path: str, cookie: str | None = None) -> Client:
        loop = asyncio.get_running_loop()
        _transport, client = await loop.create_connection(cls, host, port)
        key = base64.b64encode(secrets.token_bytes(16)).decode()
        lines = [
            f"GET {path} HTTP/1.1",
            f"Host: {host}:{port}",
            "Upgrade: websocket",
            "Connection: Upgrade",
            f"Sec-WebSocket-Key: {key}",
            "Sec-WebSocket-Version: 13",
        ]
        if cookie:
            lines.append(f"Cookie: expohall_session={cookie}")
        client._write(("\r\n".join(lines) + "\r\n\r\n").encode())
        head = await asyncio.wait_for(client._handshake, 60)
        if not head.startswith(b"HTTP/1.1 101"):
            await client.close()
            raise HandshakeFailed(head.split(b"\r\n", 1)[0].decode())
        return client

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed.set()
        if not self._handshake.done():
            self._handshake.set_exception(ConnectionResetError("closed during handshake"))

    def _write(self, data: bytes) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)

    def send(self, value: object) -> None:
        data = orjson.dumps(value)
        size = len(data)
        if size < 126:
            head = bytes((0x81, 0x80 | size))
        elif size < 65536:
            head = struct.pack("!BBH", 0x81, 0xFE, size)
        else:
            head = struct.pack("!BBQ", 0x81, 0xFF, size)
        self._write(head + b"\0\0\0\0" + data)

    async def call(self, action: str, body: dict[str, object]) -> object:
        """Send `[action, 1, body]` and return the answer's data (pushes before it are dropped)."""
        assert self.inbox is not None
        self.send([action, 1, body])
        while True:
            frame = orjson.loads(await asyncio.wait_for(self.inbox.get(), 60))
            if frame[0] == "success":
                return frame[2]
            if frame[0] == "error":
                raise RuntimeError(f"{action}: {frame[2]}")

    def listen(self, on_frame: OnFrame) -> None:
        """From now on hand every text frame to `on_frame` instead of the inbox."""
        self.on_frame = on_frame
        self.inbox = None

    async def close(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"\x88\x82\0\0\0\0\x03\xe8")
            self.transport.close()

    def data_received(self, data: bytes) -> None:
        buf = self._buf + data if self._buf else data
        if not self._handshake.done():
            head, sep, rest = buf.partition(b"\r\n\r\n")
            if not sep:
                self._buf = buf
                return
            self._handshake.set_result(head)
            buf = rest
        pos, end = 0, len(buf)
        while end - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            size, at = b1 & 0x7F, pos + 2
            if size == 126:
                if end - at < 2:
                    break
                size, at = struct.unpack_from("!H", buf, at)[0], at + 2
            elif size == 127:
                if end - at < 8:
                    break
                size, at = struct.unpack_from("!Q", buf, at)[0], at + 8
            if end - at < size:
                break
            payload = buf[at : at + size]
            pos = at + size
            opcode = b0 & 0x0F
            if opcode == 1:
                if self.inbox is not None:
                    self.inbox.put_nowait(payload)
                else:
                    self.on_frame(payload)
            elif opcode == 9:
                self._write(bytes((0x8A, 0x80 | size)) + b"\0\0\0\0" + payload)
            elif opcode == 8:
                if size >= 2:
                    self.close_code = struct.unpack_from("!H", payload)[0]
                if self.transport is not None:
                    self.transport.close()
                return
        self._buf = buf[pos:]
