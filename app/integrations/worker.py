"""The background worker: lead events → webhook deliveries → HTTP, and queued follow-up email.

It runs inside every app process (`worker_in_app`, the default) and/or as `expohall worker`.
Every row it sends is leased first (`app/integrations/claim.py`), so any number of processes
share the work without sending a row twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import time

import structlog
from fastapi import FastAPI
from sqlalchemy import Exists, delete, exists, or_, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings
from app.db import utcnow
from app.integrations import mailer, webhook_delivery
from app.integrations.models import EmailMessage, WebhookDelivery
from app.leads.models import LeadEvent

log = structlog.get_logger()
KEEP_EVENTS = dt.timedelta(days=7)
PRUNE_EVERY_SECONDS = 3600.0


async def run_once(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> int:
    """Do everything that is due now; returns how many rows were handled (0: idle)."""
    done, _ = await _round(sessionmaker, settings, now=now)
    return done


async def _round(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> tuple[int, bool]:
    """`run_once`, also saying whether a step filled its batch (more work surely waits)."""
    events, deliveries, messages = await due(sessionmaker, now=now)
    dispatched = sent = mailed = 0
    if events:
        dispatched = await webhook_delivery.dispatch_events(sessionmaker, settings, now=now)
    if deliveries or dispatched:
        sent = await webhook_delivery.send_due(sessionmaker, settings, now=now)
    if messages:
        mailed = await mailer.send_due(sessionmaker, settings, now=now)
    full = (
        dispatched >= webhook_delivery.DISPATCH_BATCH
        or sent >= webhook_delivery.SEND_BATCH
        or mailed >= mailer.BATCH
    )
    return dispatched + sent + mailed, full


async def due(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: dt.datetime | None = None
) -> tuple[bool, bool, bool]:
    """Whether lead events, webhook deliveries and emails wait: one read, on SQLite in a
    DEFERRED transaction, so an idle worker never takes the write lock from requests."""
    now = now or utcnow()

    def leasable(model: type[WebhookDelivery] | type[EmailMessage], status: str) -> Exists:
        return exists().where(
            model.status == status,
            model.next_attempt_at <= now,
            or_(model.locked_until.is_(None), model.locked_until < now),
        )

    async with sessionmaker() as db:
        conn = await db.connection(execution_options={"sqlite_begin": "DEFERRED"})
        row = (
            await conn.execute(
                select(
                    exists().where(LeadEvent.dispatched_at.is_(None)),
                    leasable(WebhookDelivery, "pending"),
                    leasable(EmailMessage, "queued"),
                )
            )
        ).one()
    return bool(row[0]), bool(row[1]), bool(row[2])


async def prune(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: dt.datetime | None = None
) -> int:
    """Forget lead events dispatched more than `KEEP_EVENTS` ago (their deliveries stay)."""
    cutoff = (now or utcnow()) - KEEP_EVENTS
    async with sessionmaker() as db, db.begin():
        result = await db.execute(
            delete(LeadEvent)
            .where(LeadEvent.dispatched_at < cutoff)
            .execution_options(synchronize_session=False)
        )
    return int(getattr(result, "rowcount", 0) or 0)


async def run_forever(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, stop: asyncio.Event
) -> None:
    """Loop until `stop` is set: work while there is work, otherwise poll every few seconds.

    After a round that handled some rows but filled no batch, the worker lets the next rows
    gather for `worker_linger_seconds` before it looks again: while attendees act, lead events
    arrive one per request, and a round per event would spend a transaction (on SQLite, the
    one write lock) on each. A round that filled a batch goes on at once."""
    pruned_at = 0.0
    while not stop.is_set():
        try:
            busy, full = await _round(sessionmaker, settings)
            if time.monotonic() - pruned_at > PRUNE_EVERY_SECONDS:
                pruned_at = time.monotonic()
                await prune(sessionmaker)
        except Exception:
            log.exception("worker.failed")
            busy, full = 0, False
        if full:
            continue
        pause = settings.worker_linger_seconds if busy else settings.worker_poll_seconds
        if pause:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), pause)


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
