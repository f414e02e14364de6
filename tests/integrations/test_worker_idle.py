"""The worker stays out of the way: an idle poll reads, events nobody listens to are cleared
in one statement, and old dispatched events are forgotten."""

from __future__ import annotations

import datetime as dt

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.config import Settings
from app.db import utcnow
from app.integrations.worker import due, prune, run_once
from app.leads.models import LeadEvent
from app.leads.service import record
from tests.factories import make_event, make_exhibitor, make_registration


async def _undispatched(db: AsyncSession) -> int:
    query = select(func.count()).where(LeadEvent.dispatched_at.is_(None))
    return int((await db.execute(query)).scalar_one())


async def _three_visits(db: AsyncSession) -> None:
    """Three attendees visit a booth: six lead events (an event and an exhibitor lead each)."""
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    for n in range(3):
        reg = await make_registration(db, event)
        await record(db, event=event, registration=reg, type="booth.visit",
                     exhibitor_id=acme.id, idempotency_key=f"v{n}")  # fmt: skip
    await db.commit()


async def test_events_nobody_listens_to_are_cleared_and_later_pruned(
    app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    sessionmaker = app.state.sessionmaker
    assert await due(sessionmaker) == (False, False, False)
    assert await run_once(sessionmaker, settings) == 0

    await _three_visits(db)
    assert await _undispatched(db) == 6  # a new event lead and exhibitor lead each
    assert await due(sessionmaker) == (True, False, False)

    assert await run_once(sessionmaker, settings) == 6
    assert await _undispatched(db) == 0
    assert await due(sessionmaker) == (False, False, False)

    # A week later the dispatched events go; younger ones stay.
    assert await prune(sessionmaker, now=utcnow() + dt.timedelta(days=6)) == 0
    assert await prune(sessionmaker, now=utcnow() + dt.timedelta(days=8)) == 6
    assert (await db.execute(select(func.count()).select_from(LeadEvent))).scalar_one() == 0


async def test_events_nobody_listens_to_are_cleared_oldest_first_a_bounded_number_at_once(
    app: FastAPI, db: AsyncSession, settings: Settings
) -> None:
    """On SQLite the clearing statement runs on the event loop: it marks at most
    `clear_limit` events (a rescore writes hundreds of thousands), the oldest first, and the
    worker's next round takes the rest. On PostgreSQL one statement marks them all."""
    from app.integrations.webhook_delivery import dispatch_events

    sessionmaker = app.state.sessionmaker
    await _three_visits(db)
    ids = list((await db.execute(select(LeadEvent.id).order_by(LeadEvent.id))).scalars())
    assert len(ids) == 6

    if db.get_bind().dialect.name == "postgresql":
        assert await dispatch_events(sessionmaker, settings, clear_limit=4) == 6
        assert await _undispatched(db) == 0
        return
    assert await dispatch_events(sessionmaker, settings, clear_limit=4) == 4
    left = select(LeadEvent.id).where(LeadEvent.dispatched_at.is_(None)).order_by(LeadEvent.id)
    assert list((await db.execute(left)).scalars()) == ids[4:]
    assert await dispatch_events(sessionmaker, settings, clear_limit=4) == 2
    assert await dispatch_events(sessionmaker, settings, clear_limit=4) == 0
    assert await _undispatched(db) == 0
