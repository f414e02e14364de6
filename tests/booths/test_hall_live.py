"""The hall's live visitor counts (from presence) and its recommendations for the attendee."""

from __future__ import annotations

import re
import time

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Booth, Exhibitor
from app.events.models import Event
from app.realtime import channels
from app.realtime.feed import realtime_of
from tests.factories import login_as, make_account, make_event, make_exhibitor, make_registration


def _counts(html: str) -> dict[str, str]:
    """Booth name -> the count shown on its card (the tier listing's card)."""
    return dict(
        re.findall(
            r'<h3 class="booth-card__name"><a [^>]*>([^<]+)</a>.*?data-hall-count="\d+">(\d+)<',
            html,
            re.S,
        )
    )


def _recommended(html: str) -> list[str]:
    if 'id="for-you"' not in html:
        return []
    section = html.split('id="for-you"', 1)[1].split("</section>", 1)[0]
    return re.findall(r'<h3 class="booth-card__name"><a [^>]*>([^<]+)</a>', section)


async def _hall(db: AsyncSession) -> tuple[Event, dict[str, Exhibitor]]:
    event = await make_event(db, slug="expo")
    made = {
        "Robo Arms": {"tier": "bronze", "tags": ["Robotics", "AI"]},
        "Cloud Nine": {"tier": "gold", "tags": ["Cloud", "Software"]},
        "Deep Data": {"tier": "silver", "tags": ["AI", "Data", "Robotics"]},
        "Paper Co": {"tier": "platinum", "tags": ["Print"]},
        "Quiet AI": {"tier": "platinum", "tags": ["ai"]},
    }
    exhibitors = {
        name: await make_exhibitor(db, event, name=name, booth=booth)
        for name, booth in made.items()
    }
    return event, exhibitors


async def _booth_id(db: AsyncSession, exhibitor: Exhibitor) -> int:
    return (
        await db.execute(select(Booth.id).where(Booth.exhibitor_id == exhibitor.id))
    ).scalar_one()


async def test_hall_shows_each_booths_live_visitor_count(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _event, exhibitors = await _hall(db)
    robo_id = await _booth_id(db, exhibitors["Robo Arms"])
    cloud_id = await _booth_id(db, exhibitors["Cloud Nine"])
    await db.commit()
    presence = realtime_of(app).presence
    now = time.time()
    await presence.enter(channels.booth(robo_id), "tab-1", 101, now)
    await presence.enter(channels.booth(robo_id), "tab-2", 102, now)
    await presence.enter(channels.booth(robo_id), "tab-3", 102, now)  # same visitor, two tabs
    await presence.enter(channels.booth(cloud_id), "tab-4", 103, now)

    html = (await client.get("/e/expo/hall")).text

    assert _counts(html) == {
        "Paper Co": "0",
        "Quiet AI": "0",
        "Cloud Nine": "1",
        "Deep Data": "0",
        "Robo Arms": "2",
    }
    assert "hall-live.js" not in html  # anonymous visitors cannot follow booth channels


async def test_hall_mounts_live_counts_for_members(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _ = await _hall(db)
    account = await make_account(db)
    await make_registration(db, event, account)
    await login_as(db, client, account)

    html = (await client.get("/e/expo/hall")).text

    assert '<script type="module" src="/static/js/hall-live.js"></script>' in html
    assert "data-hall-live" in html


async def test_hall_recommends_booths_by_overlap_with_interests_and_industry(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _ = await _hall(db)
    account = await make_account(db)
    await make_registration(db, event, account, interests=["AI", "Robotics"], industry="software")
    await login_as(db, client, account)

    html = (await client.get("/e/expo/hall")).text

    # Two shared topics first (tier breaks the tie), then one each: platinum before gold.
    assert _recommended(html) == ["Deep Data", "Robo Arms", "Quiet AI", "Cloud Nine"]


async def test_hall_recommends_nothing_without_matching_interests(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _ = await _hall(db)
    account = await make_account(db)
    await make_registration(db, event, account, interests=["Gardening"], industry="education")
    await login_as(db, client, account)

    assert _recommended((await client.get("/e/expo/hall")).text) == []


async def test_hall_search_hides_recommendations(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event, _ = await _hall(db)
    account = await make_account(db)
    await make_registration(db, event, account, interests=["AI"], industry="software")
    await login_as(db, client, account)

    assert _recommended((await client.get("/e/expo/hall")).text) != []
    assert _recommended((await client.get("/e/expo/hall?q=paper")).text) == []


async def test_hall_recommends_nothing_to_anonymous_visitors(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _hall(db)
    await db.commit()

    assert _recommended((await client.get("/e/expo/hall")).text) == []
