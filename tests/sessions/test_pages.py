"""The agenda."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from tests.factories import make_event, make_exhibitor, make_session, make_speaker


def _days(html: str) -> list[str]:
    return re.findall(r'<h2 class="section-title agenda-day__title"[^>]*>([^<]+)</h2>', html)


def _day_section(html: str, title: str) -> str:
    start = html.index(f">{title}</h2>")
    end = html.find("</section>", start)
    return html[start:end]


async def test_agenda_groups_sessions_by_day_in_event_timezone(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(
        db, slug="tokyo", timezone="Asia/Tokyo", starts_at=dt.datetime(2030, 5, 14, tzinfo=dt.UTC)
    )
    await make_session(
        db, event, title="Morning talk", starts_at=dt.datetime(2030, 5, 14, 1, 0, tzinfo=dt.UTC)
    )
    await make_session(
        db, event, title="Late UTC talk", starts_at=dt.datetime(2030, 5, 14, 23, 30, tzinfo=dt.UTC)
    )
    await db.commit()

    html = (await client.get("/e/tokyo/agenda")).text

    assert _days(html) == ["Tuesday 14 May 2030", "Wednesday 15 May 2030"]
    assert "Morning talk" in _day_section(html, "Tuesday 14 May 2030")
    wednesday = _day_section(html, "Wednesday 15 May 2030")
    assert "Late UTC talk" in wednesday
    assert ">08:30</time>" in wednesday  # 23:30 UTC is 08:30 the next morning in Tokyo
    assert "Asia/Tokyo" in html


async def test_agenda_shows_track_speakers_and_sponsor(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    sponsor = await make_exhibitor(db, event, name="Northwind Analytics")
    grace = await make_speaker(db, event, name="Grace Hopper", company="Navy")
    alan = await make_speaker(db, event, name="Alan Turing", company="Bletchley")
    await make_session(
        db,
        event,
        [grace, alan],
        title="Debugging the cloud",
        track="Ops",
        sponsor_exhibitor_id=sponsor.id,
    )
    await db.commit()

    html = (await client.get("/e/cloudcon/agenda")).text

    assert "Debugging the cloud" in html
    assert "Ops</span>" in html
    assert html.index("Alan Turing") < html.index("Grace Hopper")
    assert "Sponsored by <strong>Northwind Analytics</strong>" in html


async def test_agenda_marks_only_the_running_session_live(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    now = utcnow()
    await make_session(db, event, title="Done already", starts_at=now - dt.timedelta(hours=2))
    await make_session(db, event, title="Happening", starts_at=now - dt.timedelta(minutes=5))
    await make_session(db, event, title="Later", starts_at=now + dt.timedelta(hours=2))
    await db.commit()

    html = (await client.get("/e/cloudcon/agenda")).text

    items = re.findall(
        r'<li class="agenda-item[^"]*">.*?</li>\s*(?=<li class="agenda-item|</ol>)', html, re.S
    )
    live = [item for item in items if "Live now" in item]
    assert len(live) == 1
    assert "Happening" in live[0]


async def test_empty_agenda_says_it_is_not_published(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="cloudcon")
    await db.commit()

    html = (await client.get("/e/cloudcon/agenda")).text

    assert "The agenda is not published yet" in html
