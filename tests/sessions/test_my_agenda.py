"""The personal agenda: add/remove, the .ics download and the calendar subscription feed."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from fastapi import FastAPI
from icalendar import Calendar
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.events.models import Event
from app.sessions.models import ProgramSession
from tests.factories import (
    csrf_for,
    login_as,
    make_account,
    make_event,
    make_registration,
    make_session,
    make_speaker,
)

START = dt.datetime(2030, 5, 14, 9, 0, tzinfo=dt.UTC)


async def _setup(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> tuple[Event, ProgramSession, ProgramSession]:
    event = await make_event(db, slug="cloudcon", name="CloudCon", starts_at=START)
    keynote = await make_session(
        db, event, title="Keynote", starts_at=START, ends_at=START + dt.timedelta(hours=1)
    )
    other = await make_session(db, event, title="Workshop", starts_at=START + dt.timedelta(hours=2))
    account = await make_account(db)
    await make_registration(db, event, account)
    await login_as(db, client, account)
    return event, keynote, other


async def _change(
    app: FastAPI, client: httpx.AsyncClient, session: ProgramSession, action: str
) -> httpx.Response:
    return await client.post(
        f"/e/cloudcon/sessions/{session.id}/my-agenda",
        data={"action": action, "back": "agenda", "csrf_token": csrf_for(app, client)},
    )


def _events(body: bytes) -> list[tuple[str, dt.datetime, dt.datetime]]:
    calendar = Calendar.from_ical(body)
    return [
        (str(c["summary"]), c.decoded("dtstart"), c.decoded("dtend"))
        for c in calendar.walk("VEVENT")
    ]


async def test_added_sessions_download_as_a_valid_ics(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, keynote, _ = await _setup(app, client, db)

    added = await _change(app, client, keynote, "add")
    again = await _change(app, client, keynote, "add")  # twice is still once
    response = await client.get("/e/cloudcon/my-agenda.ics")

    assert added.status_code == again.status_code == 303
    assert added.headers["location"] == f"/e/cloudcon/agenda#session-{keynote.id}"
    assert response.headers["content-type"] == "text/calendar; charset=utf-8"
    assert "attachment" in response.headers["content-disposition"]
    assert _events(response.content) == [("Keynote", START, START + dt.timedelta(hours=1))]
    calendar = Calendar.from_ical(response.content)
    assert str(calendar["version"]) == "2.0"
    (entry,) = calendar.walk("VEVENT")
    assert str(entry["uid"]).startswith(f"session-{keynote.id}@")


async def test_removed_session_leaves_the_agenda(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, keynote, other = await _setup(app, client, db)
    await _change(app, client, keynote, "add")
    await _change(app, client, other, "add")

    await _change(app, client, keynote, "remove")

    summaries = [e[0] for e in _events((await client.get("/e/cloudcon/my-agenda.ics")).content)]
    assert summaries == ["Workshop"]


async def test_subscription_url_serves_the_agenda_without_login(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, keynote, _ = await _setup(app, client, db)
    await _change(app, client, keynote, "add")
    page = (await client.get("/e/cloudcon/agenda")).text
    match = re.search(r'value="http://[^"]+(/e/cloudcon/agenda/feed/[A-Za-z0-9_-]+\.ics)"', page)
    assert match is not None

    anonymous = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    async with anonymous:
        feed = await anonymous.get(match.group(1))
        wrong = await anonymous.get("/e/cloudcon/agenda/feed/not-the-token.ics")

    assert feed.status_code == 200
    assert feed.headers["content-type"] == "text/calendar; charset=utf-8"
    assert [e[0] for e in _events(feed.content)] == ["Keynote"]
    assert wrong.status_code == 404


async def test_agenda_shows_in_my_agenda_and_filters_by_it(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _, keynote, _ = await _setup(app, client, db)
    await _change(app, client, keynote, "add")

    page = (await client.get("/e/cloudcon/agenda")).text
    mine = (await client.get("/e/cloudcon/agenda?mine=true")).text

    assert page.count("In my agenda</span>") == 1
    assert "Remove from my agenda" in page
    assert "Add to my agenda" in page
    assert "Keynote" in mine
    assert "Workshop" not in mine


async def test_agenda_filters_by_track_and_speaker(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    grace = await make_speaker(db, event, name="Grace Hopper")
    await make_session(db, event, [grace], title="Compilers", track="Dev")
    await make_session(db, event, title="Pipelines", track="Ops")
    await db.commit()

    dev = (await client.get("/e/cloudcon/agenda?track=Dev")).text
    by_grace = (await client.get(f"/e/cloudcon/agenda?speaker={grace.id}")).text
    none = (await client.get("/e/cloudcon/agenda?track=Nothing")).text

    assert "Compilers" in dev
    assert "Pipelines" not in dev
    assert "Compilers" in by_grace
    assert "Pipelines" not in by_grace
    assert "No session matches these filters" in none


async def test_agenda_marks_sessions_starting_in_the_next_half_hour(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    now = utcnow()
    await make_session(db, event, title="Soon", starts_at=now + dt.timedelta(minutes=20))
    await make_session(db, event, title="Later", starts_at=now + dt.timedelta(minutes=50))
    await db.commit()

    html = (await client.get("/e/cloudcon/agenda")).text

    items = re.findall(r'<li class="agenda-item[^"]*">.*?</li>', html, re.S)
    soon = [item for item in items if "Starting soon" in item]
    assert len(soon) == 1
    assert "Soon" in soon[0]
