"""Importing the schedule from CSV: all rows or none, with a per-row error report."""

from __future__ import annotations

import datetime as dt

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import RoleName
from app.sessions.models import ProgramSession, Speaker
from tests.factories import csrf_for, grant, login_as, make_account, make_event, make_exhibitor

URL = "/e/tokyo/manage/sessions/import"
GOOD = (
    "title,starts_at,ends_at,track,speakers,sponsor\n"
    "Keynote,2030-05-14 09:00,2030-05-14 10:00,Main,Grace Hopper;Alan Turing,northwind\n"
    "Workshop,2030-05-14 11:00,2030-05-14 12:30,Dev,Grace Hopper,\n"
)


async def _organizer(app: FastAPI, client: httpx.AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db, slug="tokyo", timezone="Asia/Tokyo")
    await make_exhibitor(db, event, slug="northwind")
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)


async def _upload(app: FastAPI, client: httpx.AsyncClient, text: str) -> httpx.Response:
    return await client.post(
        URL,
        data={"csrf_token": csrf_for(app, client)},
        files={"file": ("schedule.csv", text.encode(), "text/csv")},
    )


async def test_valid_schedule_imports_sessions_in_event_time_and_speakers(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(app, client, db)

    response = await _upload(app, client, GOOD)

    assert response.status_code == 200
    assert "Imported 2 sessions" in response.text
    rows = (await db.execute(select(ProgramSession).order_by(ProgramSession.id))).scalars()
    keynote, workshop = rows.all()
    assert keynote.starts_at == dt.datetime(2030, 5, 14, 0, 0, tzinfo=dt.UTC)  # 09:00 JST
    assert (keynote.track, keynote.sponsor_exhibitor_id is not None) == ("Main", True)
    assert workshop.sponsor_exhibitor_id is None
    names = (await db.execute(select(Speaker.name).order_by(Speaker.name))).scalars().all()
    assert names == ["Alan Turing", "Grace Hopper"]  # Grace once, shared by both sessions


async def test_any_bad_row_imports_nothing_and_reports_each_line(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(app, client, db)
    text = GOOD + (
        ",2030-05-14 13:00,2030-05-14 14:00,,,\n"
        "Late,2030-05-14 15:00,2030-05-14 14:00,,,\n"
        "Odd,tomorrow,2030-05-14 14:00,,,nobody\n"
    )

    response = await _upload(app, client, text)

    assert response.status_code == 422
    assert "Nothing was imported: 3 rows need fixing." in response.text
    assert "<td>4</td><td>title is required (at most 200 characters).</td>" in response.text
    assert "<td>5</td><td>ends_at must be after starts_at.</td>" in response.text
    assert "no exhibitor with the slug &#39;nobody&#39;" in response.text
    assert (await db.execute(select(func.count()).select_from(ProgramSession))).scalar_one() == 0


async def test_missing_columns_are_reported(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _organizer(app, client, db)

    response = await _upload(app, client, "title,track\nKeynote,Main\n")

    assert response.status_code == 422
    assert "Missing column(s): starts_at, ends_at." in response.text


async def test_attendees_cannot_import(client: httpx.AsyncClient, db: AsyncSession) -> None:
    await make_event(db, slug="tokyo")
    attendee = await make_account(db)
    await login_as(db, client, attendee)

    assert (await client.get(URL)).status_code == 403
