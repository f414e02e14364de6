"""Wiring for app/main.py: start and stop the realtime runtime, mount `/ws`."""

from __future__ import annotations

import asyncio
import contextlib

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import async_sessionmaker

from app.config import Settings
from app.realtime.hub import RedisBackend, hub_from_url
from app.realtime.presence import sweeper
from app.realtime.presence_store import MemoryPresence, PresenceStore, RedisPresence
from app.realtime.registry import load_commands
from app.realtime.runtime import Limits, Realtime


async def start_realtime(app: FastAPI, settings: Settings) -> Realtime:
    """Start the hub (memory:// or redis:// from settings.redis_url) and the presence sweeper."""
    load_commands()
    hub = hub_from_url(settings.redis_url)
    store: PresenceStore = MemoryPresence()
    if isinstance(hub.backend, RedisBackend):
        store = RedisPresence(hub.backend.client, hub.backend.prefix)
    realtime = Realtime(
        hub=hub,
        sessionmaker=app.state.sessionmaker,
        settings=settings,
        presence=store,
        limits=Limits.of(settings),
        read_sessionmaker=async_sessionmaker(
            app.state.engine.execution_options(sqlite_begin="DEFERRED", sqlite_inline=True),
            expire_on_commit=False,
        ),
    )
    hub.on_reconnect(realtime.resync)
    await hub.start()
    app.state.realtime = realtime
    app.state.realtime_sweeper = asyncio.create_task(sweeper(realtime), name="presence.sweeper")
    return realtime


async def stop_realtime(app: FastAPI) -> None:
    realtime: Realtime | None = getattr(app.state, "realtime", None)
    task: asyncio.Task[None] | None = getattr(app.state, "realtime_sweeper", None)
    if task is not None:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    if realtime is not None:
        for conn in tuple(realtime.connections):
            conn.close(1001, "server shutting down")
        await realtime.hub.stop()


def include_realtime(app: FastAPI) -> None:
    from app.realtime.console import router as console_router
    from app.realtime.endpoint import router

    app.include_router(router)
    app.include_router(console_router)
