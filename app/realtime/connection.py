"""One websocket connection: a bounded send queue with one writer, subscriptions, a rate bucket.

With a `Wire` (see app/realtime/wire.py) a frame is written to the transport at once while
nothing is queued and the transport's buffer is under its high-water mark; otherwise it is
queued, and the writer writes everything queued in one call once the buffer drains.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections import deque
from typing import TYPE_CHECKING, Protocol

import structlog

from app.realtime.hub import Hub
from app.realtime.protocol import CLOSE_TRY_AGAIN, Outgoing, text_frame
from app.realtime.wire import Wire

if TYPE_CHECKING:
    from app.auth.deps import Membership
    from app.auth.models import Account

log = structlog.get_logger()


class Socket(Protocol):
    async def send_text(self, data: str) -> None: ...


class Connection:
    """A tab's connection. `send` never blocks: a consumer that falls behind is closed (1013)."""

    def __init__(
        self,
        socket: Socket,
        *,
        account_id: int,
        hub: Hub,
        display_name: str | None = None,
        queue_size: int = 256,
        rate: float = 20.0,
        burst: int = 40,
        wire: Wire | None = None,
    ) -> None:
        self.id = secrets.token_hex(8)
        self.socket = socket
        self.wire = wire
        self.account_id = account_id
        self.display_name = display_name
        self.hub = hub
        self.queue_size = queue_size
        self.channels: set[str] = set()
        self.places: set[str] = set()
        # What the connection proved (see app/realtime/access.py): the account read at login,
        # trusted until `account_until` (monotonic), and its roles per event, each until a time.
        self.account: Account | None = None
        self.account_until = 0.0
        self.memberships: dict[int, tuple[float, Membership | None]] = {}
        self.close_code: int | None = None
        self.close_reason = ""
        self.closed = asyncio.Event()
        self._queue: deque[str] = deque()
        self._wakeup = asyncio.Event()
        self._rate = rate
        self._burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def send(self, payload: str) -> None:
        """Send or queue `payload` (a serialised frame, possibly shared with other connections)."""
        if self.closed.is_set():
            return
        queue = self._queue
        wire = self.wire
        if wire is not None and not queue and wire.ready():
            wire.write(_frame(payload))
            return
        if len(queue) >= self.queue_size:
            log.warning("ws.slow_consumer", connection=self.id, account_id=self.account_id)
            self.close(CLOSE_TRY_AGAIN, "too slow")
            return
        queue.append(payload)
        self._wakeup.set()

    def on_message(self, _channel: str, payload: str) -> None:
        """The hub listener of every channel this connection subscribes to (`send`, inlined)."""
        wire = self.wire
        if wire is not None and not self._queue and wire.ready() and type(payload) is Outgoing:
            if not self.closed.is_set():
                wire.write(payload.frame)
            return
        self.send(payload)

    async def subscribe(self, channel: str) -> None:
        if channel not in self.channels:
            self.channels.add(channel)
            await self.hub.subscribe(channel, self.on_message)

    async def unsubscribe(self, channel: str) -> None:
        if channel in self.channels:
            self.channels.discard(channel)
            await self.hub.unsubscribe(channel, self.on_message)

    async def unsubscribe_all(self) -> None:
        for channel in tuple(self.channels):
            await self.unsubscribe(channel)

    def take_token(self) -> bool:
        """The token bucket: `rate` frames a second, bursts up to `burst`."""
        now = time.monotonic()
        self._tokens = min(self._burst, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def close(self, code: int | None, reason: str = "") -> None:
        if self.closed.is_set():
            return
        self.close_code = code
        self.close_reason = reason
        self.closed.set()
        self._wakeup.set()

    @property
    def queued(self) -> int:
        return len(self._queue)

    async def writer(self) -> None:
        """Write what is queued, in order; the only task that waits to send on this socket."""
        queue = self._queue
        wire = self.wire
        try:
            while not self.closed.is_set():
                await self._wakeup.wait()
                self._wakeup.clear()
                while queue and not self.closed.is_set():
                    if wire is None:
                        await self.socket.send_text(queue.popleft())
                        continue
                    await wire.drained()
                    if not wire.open:
                        self.close(None)
                        return
                    frames = b"".join([_frame(p) for p in queue])
                    queue.clear()
                    wire.write(frames)
        except Exception as exc:
            log.info("ws.write_failed", connection=self.id, error=type(exc).__name__)
            self.close(None)


def _frame(payload: str) -> bytes:
    """A push's shared frame, or a frame built for this one answer."""
    return payload.frame if type(payload) is Outgoing else text_frame(payload.encode())
