"""The background worker: lead events → webhook deliveries → HTTP, and queued follow-up email.

It runs inside every app process (`worker_in_app`, the default) and/or as `expohall worker`.
Every row it sends is leased first (`app/integrations/claim.py`), so any number of processes
share the work without sending a row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt

import structlog
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.integrations import mailer, webhook_delivery

log = structlog.get_logger()


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> int:
    """Do everything that is due now; returns how many rows were handled (0: idle)."""
    done = await webhook_delivery.dispatch_events(sessionmaker, settings, now=now)
    done += await webhook_delivery.send_due(sessionmaker, settings, now=now)
    done += await mailer.send_due(sessionmaker, settings, now=now)
    return done


async def run_forever(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event
) -> None:
    """Loop until `stop` is set: work while there is work, otherwise poll every few seconds."""
    while not stop.is_set():
        try:
            busy = await run_once(sessionmaker, settings)
        except Exception:
            log.exception("worker.failed")
            busy = 0
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), settings.worker_poll_seconds)


async def start_in_app(app: FastAPI, settings: Settings) -> None:
    if not settings.worker_in_app:
        return
    stop = asyncio.Event()
    app.state.worker_stop = stop
    app.state.worker_task = asyncio.create_task(
        run_forever(app.state.sessionmaker, settings, stop), name="expohall-worker"
    )


async def stop_in_app(app: FastAPI) -> None:
    stop: asyncio.Event | None = getattr(app.state, "worker_stop", None)
    task: asyncio.Task[None] | None = getattr(app.state, "worker_task", None)
    if stop is None or task is None:
        return
    stop.set()
    try:
        await asyncio.wait_for(task, 15)
    except TimeoutError:
        log.warning("worker.stop_timeout")


async def run_standalone(settings: Settings) -> None:
    """`expohall worker`: the loop in a process of its own, until SIGINT or SIGTERM."""
    import signal

    from app.db import make_engine, make_sessionmaker

    engine = make_engine(settings.database_url)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    log.info("worker.started", poll_seconds=settings.worker_poll_seconds)
    try:
        await run_forever(make_sessionmaker(engine), settings, stop)
    finally:
        await engine.dispose()
        log.info("worker.stopped")
