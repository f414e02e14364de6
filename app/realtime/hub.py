"""The hub: channel fan-out in one process (`memory://`) or across workers (`redis://`)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable
from typing import Any, cast
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import redis.asyncio as aioredis
import structlog
from redis.asyncio.client import PubSub
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError

from app.realtime.protocol import Outgoing

log = structlog.get_logger()

Listener = Callable[[str, str], None]
"""Called with (channel, payload) for every message on a subscribed channel; must not block.

The payload (an `Outgoing`) is one object shared by every listener of the message: decoded
once, and framed for websockets once, on first use."""

DEFAULT_PREFIX = "expohall:"
MAX_OUTBOX = 10_000  # publishes waiting for Redis; beyond, they are dropped (and logged)


class Backend:
    """Carries published payloads to every process subscribed to the channel."""

    def __init__(self) -> None:
        self.deliver: Callable[[str, bytes], None] = lambda _c, _d: None
        self.reconnected: Callable[[], None] = lambda: None

    async def connect(self) -> None:
        return None

    async def disconnect(self) -> None:
        return None

    async def subscribe(self, channel: str) -> None:
        return None

    async def unsubscribe(self, channel: str) -> None:
        return None

    async def publish(self, channel: str, data: bytes) -> None:
        self.deliver(channel, data)


class MemoryBackend(Backend):
    """One process: a publish is delivered straight to the local listeners."""


class RedisBackend(Backend):
    """Redis pub/sub: one connection per process carries every channel; reconnects with backoff."""

    def __init__(self, url: str) -> None:
        super().__init__()
        parts = urlsplit(url)
        query = dict(parse_qsl(parts.query))
        self.prefix = query.pop("prefix", DEFAULT_PREFIX)
        self.url = urlunsplit(parts._replace(query=urlencode(query)))
        self.channels: set[str] = set()
        self._control = f"{self.prefix}__hub__"
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()
        self._closing = False
        self._pubsub: PubSub | None = None
        # Publishes queued while a pipeline is in flight go together in the next one.
        self._outbox: list[tuple[str, bytes]] = []
        self._batch_done: asyncio.Future[None] | None = None
        self._flusher: asyncio.Task[None] | None = None
        self._publisher = aioredis.Redis.from_url(
            self.url,
            socket_connect_timeout=2,
            socket_timeout=2,
            retry=Retry(ExponentialBackoff(cap=0.5, base=0.05), 2),
        )
        # No silent retries on the listener: every reconnect must reach `reconnected`, since
        # messages published meanwhile are lost to this process and its clients must resync.
        self._listener_client = aioredis.Redis.from_url(
            self.url, socket_connect_timeout=2, retry=Retry(NoBackoff(), 0)
        )

    @property
    def client(self) -> aioredis.Redis:
        """The command client (presence keeps its state with it)."""
        return self._publisher

    async def connect(self) -> None:
        self._task = asyncio.create_task(self._run(), name="hub.redis")
        try:
            await asyncio.wait_for(self._ready.wait(), timeout=5)
        except TimeoutError:
            log.warning("hub.redis_unavailable", url=self._safe_url())

    async def disconnect(self) -> None:
        self._closing = True
        if self._flusher is not None:
            try:
                await asyncio.wait_for(asyncio.shield(self._flusher), timeout=5)
            except (TimeoutError, asyncio.CancelledError):
                self._flusher.cancel()
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        await self._close_pubsub()
        await self._publisher.aclose()
        await self._listener_client.aclose()

    async def subscribe(self, channel: str) -> None:
        self.channels.add(channel)
        await self._send("subscribe", channel)

    async def unsubscribe(self, channel: str) -> None:
        self.channels.discard(channel)
        await self._send("unsubscribe", channel)

    async def publish(self, channel: str, data: bytes) -> None:
        """Publish in call order; returns once Redis took it (or it failed, which is logged).

        One pipeline at a time: what is queued while one is in flight goes in the next, so a
        burst costs a few round trips and one connection rather than one each.
        """
        if len(self._outbox) >= MAX_OUTBOX:
            log.warning("hub.publish_dropped", channel=channel, queued=len(self._outbox))
            return
        self._outbox.append((self.prefix + channel, data))
        if self._batch_done is None:
            self._batch_done = asyncio.get_running_loop().create_future()
        done = self._batch_done
        if self._flusher is None:
            self._flusher = asyncio.create_task(self._flush(), name="hub.redis.publish")
        await asyncio.shield(done)

    async def _flush(self) -> None:
        try:
            while self._outbox:
                batch, self._outbox = self._outbox, []
                done, self._batch_done = self._batch_done, None
                try:
                    async with self._publisher.pipeline(transaction=False) as pipe:
                        for channel, data in batch:
                            pipe.publish(channel, data)
                        await pipe.execute()
                except (RedisError, OSError) as exc:
                    # The messages are already stored; clients catch up on `realtime.resync`.
                    log.warning("hub.publish_failed", messages=len(batch), error=str(exc))
                finally:
                    if done is not None and not done.done():
                        done.set_result(None)
        finally:
            self._flusher = None
            if self._batch_done is not None:  # cancelled: release whoever still waits
                self._batch_done.set_result(None)
                self._batch_done = None

    async def _send(self, command: str, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is None:
            return  # applied by the reader when it (re)connects
        try:
            async with self._lock:
                if command == "subscribe":
                    await pubsub.subscribe(self.prefix + channel)
                else:
                    await pubsub.unsubscribe(self.prefix + channel)
        except (RedisError, OSError) as exc:
            log.warning("hub.subscribe_failed", channel=channel, error=str(exc))

    async def _close_pubsub(self) -> None:
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            try:
                await cast("Any", pubsub).aclose()  # typed from redis 8.2 on, untyped before
            except Exception:  # noqa: S110 - the connection is already broken
                pass

    def _safe_url(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.hostname}:{parts.port}{parts.path}"

    async def _run(self) -> None:
        delay = 0.1
        first = True
        while not self._closing:
            try:
                pubsub = self._listener_client.pubsub(ignore_subscribe_messages=True)
                async with self._lock:
                    await pubsub.subscribe(self._control, *(self.prefix + c for c in self.channels))
                self._pubsub = pubsub
                self._ready.set()
                if not first:
                    log.info("hub.reconnected", channels=len(self.channels))
                    self.reconnected()
                first = False
                delay = 0.1
                await self._read(pubsub)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("hub.connection_lost", error=str(exc), retry_in=round(delay, 2))
            await self._close_pubsub()
            first = False
            await asyncio.sleep(delay * (0.5 + random.random()))  # noqa: S311 - jitter
            delay = min(delay * 2, 5.0)

    async def _read(self, pubsub: PubSub) -> None:
        cut = len(self.prefix)
        while True:
            message = await pubsub.get_message(timeout=1.0)
            if message is None or message.get("type") != "message":
                continue
            channel = message["channel"]
            name = channel.decode() if isinstance(channel, bytes) else str(channel)
            if name == self._control:
                continue
            self.deliver(name[cut:], message["data"])


class Hub:
    """Local listeners per channel in front of a backend; each payload is decoded once."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._listeners: dict[str, set[Listener]] = {}
        self._reconnect_hooks: list[Callable[[], None]] = []
        backend.deliver = self._deliver
        backend.reconnected = self._reconnected

    @property
    def is_redis(self) -> bool:
        return isinstance(self.backend, RedisBackend)

    async def start(self) -> None:
        await self.backend.connect()

    async def stop(self) -> None:
        await self.backend.disconnect()
        self._listeners.clear()

    async def publish(self, channel: str, data: bytes) -> None:
        await self.backend.publish(channel, data)

    async def subscribe(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.setdefault(channel, set())
        first = not listeners
        listeners.add(listener)
        if first:
            await self.backend.subscribe(channel)

    async def unsubscribe(self, channel: str, listener: Listener) -> None:
        listeners = self._listeners.get(channel)
        if not listeners or listener not in listeners:
            return
        listeners.discard(listener)
        if not listeners:
            del self._listeners[channel]
            await self.backend.unsubscribe(channel)

    def on_reconnect(self, hook: Callable[[], None]) -> None:
        """Run `hook` after the backend reconnects (messages may have been missed meanwhile)."""
        self._reconnect_hooks.append(hook)

    def listener_count(self, channel: str) -> int:
        return len(self._listeners.get(channel, ()))

    def _deliver(self, channel: str, data: bytes) -> None:
        listeners = self._listeners.get(channel)
        if not listeners:
            return
        payload = Outgoing.of(data)
        for listener in tuple(listeners):
            try:
                listener(channel, payload)
            except Exception:
                log.exception("hub.listener_failed", channel=channel)

    def _reconnected(self) -> None:
        for hook in tuple(self._reconnect_hooks):
            hook()


def hub_from_url(url: str | None) -> Hub:
    """`memory://` (or None) for one process, `redis://host:port/db?prefix=name:` for several."""
    if url is None or url.startswith("memory://"):
        return Hub(MemoryBackend())
    if url.startswith(("redis://", "rediss://", "unix://")):
        return Hub(RedisBackend(url))
    raise ValueError(f"unsupported hub URL scheme: {url.split(':', 1)[0]}")
