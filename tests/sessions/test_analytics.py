"""Per-session analytics: viewers, average watch time, bands and drop-off by minute."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import RoleName
from app.sessions.analytics import summarize
from app.sessions.models import AgendaEntry, SessionAttendance
from tests.factories import (
    grant,
    login_as,
    make_account,
    make_event,
    make_registration,
    make_session,
)


def _row(live: bool, intervals: list[list[int]]) -> SessionAttendance:
    seconds = sum(b - a for a, b in intervals)
    return SessionAttendance(live=live, intervals=intervals, seconds=seconds)


def test_summary_counts_viewers_average_bands_and_minutes() -> None:
    rows = [
        _row(True, [[0, 300]]),  # 5 of 10 minutes: 50%
        _row(True, [[0, 60], [540, 600]]),  # 2 minutes: 20%
        _row(True, []),  # joined, never watched
        _row(False, [[0, 30]]),
    ]

    live = summarize(rows, True, 600)

    assert live.viewers == 2
    assert live.average_seconds == 210
    assert live.bands == [("0–25%", 1), ("25–50%", 0), ("50–75%", 1), ("75–100%", 0)]
    assert live.per_minute == [2, 1, 1, 1, 1, 0, 0, 0, 0, 1]
    assert summarize(rows, False, 600).viewers == 1


async def test_analytics_page_is_for_organizers_only(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    start = dt.datetime(2030, 5, 14, 9, tzinfo=dt.UTC)
    session = await make_session(
        db, event, starts_at=start, ends_at=start + dt.timedelta(minutes=10)
    )
    reg = await make_registration(db, event)
    db.add(AgendaEntry(registration_id=reg.id, session_id=session.id))
    db.add(
        SessionAttendance(
            session_id=session.id,
            registration_id=reg.id,
            live=True,
            seconds=300,
            intervals=[[0, 300]],
            tabs={},
        )
    )
    attendee = await make_account(db)
    await make_registration(db, event, attendee)
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    url = f"/e/cloudcon/sessions/{session.id}/analytics"

    await login_as(db, client, attendee)
    denied = await client.get(url)
    await login_as(db, client, organizer)
    page = await client.get(url)

    assert denied.status_code == 403
    assert page.status_code == 200
    assert '<dd data-stat="registrants">1</dd>' in page.text
    assert '<dd data-stat="viewers">1</dd>' in page.text
    assert '<dd data-stat="average">5 min 0 s</dd>' in page.text
