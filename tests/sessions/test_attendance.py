"""Attendance: heartbeats become session.join / session.watch activities and lead points."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event, EventStatus, Registration
from app.leads.models import Activity, Lead
from app.sessions import attendance
from app.sessions.errors import NotWatchable
from app.sessions.models import ProgramSession, SessionAttendance
from app.sessions.watch import Kind
from tests.factories import make_event, make_exhibitor, make_registration, make_session

START = dt.datetime(2030, 5, 14, 9, 0, tzinfo=dt.UTC)


async def _setup(
    db: AsyncSession, *, consent: bool = True, recording_url: str = ""
) -> tuple[Event, ProgramSession, Registration, int]:
    event = await make_event(db, starts_at=START - dt.timedelta(hours=1))
    sponsor = await make_exhibitor(db, event, name="Northwind")
    session = await make_session(
        db,
        event,
        title="Pricing deep-dive",
        starts_at=START,
        ends_at=START + dt.timedelta(minutes=10),
        sponsor_exhibitor_id=sponsor.id,
        recording_url=recording_url,
    )
    reg = await make_registration(
        db, event, consent_share_at=dt.datetime(2030, 5, 1, tzinfo=dt.UTC) if consent else None
    )
    await db.commit()
    return event, session, reg, sponsor.id


async def _beat(
    db: AsyncSession,
    event: Event,
    session: ProgramSession,
    reg: Registration,
    tab: str,
    seconds: int,
    kind: Kind = "beat",
    position: float | None = None,
) -> attendance.Heartbeat:
    return await attendance.heartbeat(
        db,
        event=event,
        session=session,
        registration=reg,
        tab_id=tab,
        kind=kind,
        position_s=position,
        now=session.starts_at + dt.timedelta(seconds=seconds),
    )


async def _leads(db: AsyncSession, reg: Registration) -> dict[int | None, Lead]:
    rows = (await db.execute(select(Lead).where(Lead.registration_id == reg.id))).scalars()
    return {lead.exhibitor_id: lead for lead in rows}


def _reasons(lead: Lead) -> list[str]:
    return [c["label"] for c in lead.contributions if c["dimension"] == "engagement"]


async def _activities(db: AsyncSession, reg: Registration) -> list[tuple[str, float | None]]:
    rows = await db.execute(
        select(Activity.type, Activity.value)
        .where(Activity.registration_id == reg.id)
        .order_by(Activity.id)
    )
    return [(t, v) for t, v in rows.all()]


async def test_live_watching_half_the_session_earns_the_sponsor_ten_points(
    db: AsyncSession,
) -> None:
    event, session, reg, sponsor_id = await _setup(db)

    await _beat(db, event, session, reg, "a", 0, "start")
    await _beat(db, event, session, reg, "b", 5, "start")  # a second tab: no extra seconds
    for at in range(15, 301, 15):
        await _beat(db, event, session, reg, "a", at)
        await _beat(db, event, session, reg, "b", at + 5)
    await db.commit()

    leads = await _leads(db, reg)
    assert leads[sponsor_id].engagement == pytest.approx(10, abs=1e-3)
    assert _reasons(leads[sponsor_id]) == [
        "+5 attended 'Pricing deep-dive' live",
        "+5 watched most of 'Pricing deep-dive' live",
    ]
    assert leads[None].engagement == pytest.approx(10, abs=1e-3)
    row = (await db.execute(select(SessionAttendance))).scalar_one()
    assert (row.live, row.seconds, row.intervals) == (True, 305, [[0, 305]])


async def test_watch_activities_carry_running_totals_once_each(db: AsyncSession) -> None:
    event, session, reg, _ = await _setup(db)

    await _beat(db, event, session, reg, "a", 0, "start")
    for at in (15, 30, 45, 60, 60, 75):  # the beat at 60 s is retried
        await _beat(db, event, session, reg, "a", at)
    await _beat(db, event, session, reg, "a", 80, "stop")
    await db.commit()

    assert await _activities(db, reg) == [
        ("session.join", None),
        ("session.watch", 60.0),
        ("session.watch", 80.0),
    ]


async def test_without_consent_only_the_event_lead_scores(db: AsyncSession) -> None:
    event, session, reg, sponsor_id = await _setup(db, consent=False)

    await _beat(db, event, session, reg, "a", 0, "start")
    await _beat(db, event, session, reg, "a", 15)
    await db.commit()

    leads = await _leads(db, reg)
    assert sponsor_id not in leads
    assert leads[None].engagement == pytest.approx(5, abs=1e-3)


async def test_before_the_start_nothing_is_watchable(db: AsyncSession) -> None:
    event, session, reg, _ = await _setup(db)

    with pytest.raises(NotWatchable):
        await _beat(db, event, session, reg, "a", -60, "start")


async def test_after_the_event_ends_watching_counts_on_demand(db: AsyncSession) -> None:
    event, session, reg, sponsor_id = await _setup(
        db, recording_url="https://cdn.example.com/talk.mp4"
    )
    event.status = EventStatus.ended
    await db.commit()

    # The session's own window, but the event has ended: the recording plays.
    first = await _beat(db, event, session, reg, "a", 10, "start", position=0)
    await _beat(db, event, session, reg, "a", 25, position=15)
    last = await _beat(db, event, session, reg, "a", 40, "stop", position=30)
    await db.commit()

    assert (first.live, last.live, last.seconds) == (False, False, 30)
    leads = await _leads(db, reg)
    assert _reasons(leads[sponsor_id]) == ["+3 watched 'Pricing deep-dive' on demand"]
    assert await _activities(db, reg) == [("session.join", None), ("session.watch", 30.0)]


async def test_ended_session_without_recording_is_not_watchable(db: AsyncSession) -> None:
    event, session, reg, _ = await _setup(db)

    with pytest.raises(NotWatchable):
        await _beat(db, event, session, reg, "a", 700, "start")
