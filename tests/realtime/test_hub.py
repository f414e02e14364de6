"""The hub: memory fan-out, Redis across two hub instances, and surviving a Redis restart."""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.realtime.hub import Hub, hub_from_url
from tests.realtime.redis_server import RedisServer

REDIS_URL = os.environ.get("EXPOHALL_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="EXPOHALL_TEST_REDIS_URL is not set")


class Inbox:
    def __init__(self) -> None:
        self.items: list[tuple[str, str]] = []
        self.arrived = asyncio.Event()

    def __call__(self, channel: str, payload: str) -> None:
        self.items.append((channel, payload))
        self.arrived.set()

    async def wait_for(self, count: int, within: float = 5) -> list[tuple[str, str]]:
        async with asyncio.timeout(within):
            while len(self.items) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.items


def _prefixed(url: str) -> str:
    return f"{url}?prefix=test:{secrets.token_hex(4)}:"


async def test_memory_hub_delivers_to_subscribers_only() -> None:
    hub = hub_from_url(None)
    await hub.start()
    inbox, other = Inbox(), Inbox()
    await hub.subscribe("booth:1", inbox)
    await hub.subscribe("booth:2", other)
    await hub.publish("booth:1", b'["x",null,{}]')
    await hub.unsubscribe("booth:1", inbox)
    await hub.publish("booth:1", b'["y",null,{}]')
    await hub.stop()
    assert inbox.items == [("booth:1", '["x",null,{}]')]
    assert other.items == []


def test_unknown_hub_scheme_is_refused() -> None:
    with pytest.raises(ValueError, match="unsupported"):
        hub_from_url("kafka://localhost")


@needs_redis
async def test_redis_hub_delivers_across_two_workers() -> None:
    assert REDIS_URL is not None
    url = _prefixed(REDIS_URL)
    one, two = hub_from_url(url), hub_from_url(url)
    await one.start()
    await two.start()
    try:
        inbox_one, inbox_two = Inbox(), Inbox()
        await one.subscribe("room:5", inbox_one)
        await two.subscribe("room:5", inbox_two)
        await asyncio.sleep(0.1)
        await one.publish("room:5", b"hello")
        await two.publish("room:5", b"world")
        assert sorted(p for _c, p in await inbox_one.wait_for(2)) == ["hello", "world"]
        assert sorted(p for _c, p in await inbox_two.wait_for(2)) == ["hello", "world"]
    finally:
        await one.stop()
        await two.stop()


@needs_redis
async def test_redis_hub_ignores_other_prefixes() -> None:
    assert REDIS_URL is not None
    mine, theirs = hub_from_url(_prefixed(REDIS_URL)), hub_from_url(_prefixed(REDIS_URL))
    await mine.start()
    await theirs.start()
    try:
        inbox = Inbox()
        await mine.subscribe("room:1", inbox)
        await asyncio.sleep(0.1)
        await theirs.publish("room:1", b"not for you")
        await mine.publish("room:1", b"for you")
        assert await inbox.wait_for(1) == [("room:1", "for you")]
        await asyncio.sleep(0.1)
        assert len(inbox.items) == 1
    finally:
        await mine.stop()
        await theirs.stop()


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def _started(url: str) -> Hub:
    hub = hub_from_url(url)
    await hub.start()
    return hub


async def test_redis_hub_reconnects_after_a_restart(redis_server: RedisServer) -> None:
    hub = await _started(redis_server.url)
    resynced = asyncio.Event()
    hub.on_reconnect(resynced.set)
    try:
        inbox = Inbox()
        await hub.subscribe("room:1", inbox)
        await hub.publish("room:1", b"before")
        await inbox.wait_for(1)
        redis_server.stop()
        await hub.publish("room:1", b"while down")  # logged, not raised: the message is stored
        redis_server.start()
        await asyncio.wait_for(resynced.wait(), 15)
        await hub.publish("room:1", b"after")
        assert [p for _c, p in await inbox.wait_for(2)] == ["before", "after"]
    finally:
        await hub.stop()
