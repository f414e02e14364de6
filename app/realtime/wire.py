"""How `/ws` is served: uvicorn's sans-I/O websockets protocol plus a direct frame writer.

Every frame sent through ASGI crosses Starlette's `WebSocket`, each middleware's `send`
wrapper, uvicorn's `send` (an await on `writable`) and the websockets framer: about 20 µs of
CPU per frame, paid once per recipient of a push. `FanoutProtocol` is that same uvicorn
protocol (`--ws websockets-sansio`) that also hands the application, as the ASGI scope
extension `expohall.wire`, a `Wire`: the connection's transport, to which a connection
writes pushes already framed once per message (`Outgoing.frame`), synchronously, with no
task switch. Everything else (handshake, pings, close, reading) stays uvicorn's.

Serve with it: `uvicorn app.asgi:app --ws app.realtime.wire:FanoutProtocol`. Under any
other server the extension is absent and connections fall back to the ASGI path.
"""

from __future__ import annotations

import asyncio
from typing import Final, Protocol

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

WIRE: Final = "expohall.wire"


class Sansio(Protocol):
    """What a `Wire` uses of uvicorn's protocol object."""

    transport: asyncio.Transport
    writable: asyncio.Event
    close_sent: bool
    disconnected: bool


class Wire:
    """Direct writes of whole server frames, between the protocol's own (also whole) frames."""

    __slots__ = ("_protocol",)

    def __init__(self, protocol: Sansio) -> None:
        self._protocol = protocol

    @property
    def open(self) -> bool:
        """False once a close frame was sent or the peer is gone: nothing may follow."""
        protocol = self._protocol
        return not (protocol.close_sent or protocol.disconnected or protocol.transport.is_closing())

    def ready(self) -> bool:
        """Open, and the transport's buffer is under its high-water mark."""
        protocol = self._protocol
        return (
            protocol.writable.is_set()
            and not (protocol.close_sent or protocol.disconnected)
            and not protocol.transport.is_closing()
        )

    def write(self, frames: bytes) -> None:
        self._protocol.transport.write(frames)

    async def drained(self) -> None:
        """Wait until the transport's buffer falls under its low-water mark (or it is lost)."""
        await self._protocol.writable.wait()


class FanoutProtocol(WebSocketsSansIOProtocol):
    """uvicorn's `websockets-sansio` protocol that also offers a `Wire` to the application."""

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        # The ASGI task is only scheduled, not started: the scope can still be extended.
        scope = getattr(self, "scope", None)
        if scope is not None:
            scope["extensions"][WIRE] = {"wire": Wire(self)}


def wire_of(scope: dict[str, object] | object) -> Wire | None:
    """The `Wire` in an ASGI websocket scope, when the server offers one."""
    if not isinstance(scope, dict):
        return None
    extensions = scope.get("extensions")
    if not isinstance(extensions, dict):
        return None
    found = extensions.get(WIRE)
    wire = found.get("wire") if isinstance(found, dict) else None
    return wire if isinstance(wire, Wire) else None
