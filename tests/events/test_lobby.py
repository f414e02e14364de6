"""The home page and the event lobby."""

from __future__ import annotations

import datetime as dt
import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.events.models import EventStatus, RoleName
from tests.factories import (
    grant,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_registration,
    make_session,
    make_speaker,
)


def _section(html: str, heading_id: str) -> str:
    """The HTML of the <section> labelled by the heading with this id."""
    match = re.search(rf'<section[^>]*aria-labelledby="{heading_id}".*?</section>', html, re.S)
    assert match, f"no section {heading_id}"
    return match.group(0)


async def test_home_lists_live_then_upcoming_then_on_demand(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    now = utcnow()
    await make_event(
        db, name="Past Expo", status=EventStatus.ended, starts_at=now - dt.timedelta(days=30)
    )
    await make_event(db, name="Future Expo", starts_at=now + dt.timedelta(days=10))
    await make_event(db, name="Live Expo")
    await make_event(db, name="Secret Draft", status=EventStatus.draft)
    await db.commit()

    response = await client.get("/")

    assert response.status_code == 200
    html = response.text
    assert html.index("Live Expo") < html.index("Future Expo") < html.index("Past Expo")
    assert "Secret Draft" not in html
    assert "The open virtual trade show" in html  # the pitch for anonymous visitors


async def test_home_shows_drafts_to_their_organizer_only(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    draft = await make_event(db, name="Secret Draft", status=EventStatus.draft)
    await make_event(db, name="Other Draft", status=EventStatus.draft)
    organizer = await make_account(db)
    await grant(db, organizer, draft, RoleName.organizer)
    await login_as(db, client, organizer)

    html = (await client.get("/")).text

    assert "Secret Draft" in html
    assert "Other Draft" not in html


async def test_home_without_events_explains_the_demo(client: httpx.AsyncClient) -> None:
    response = await client.get("/")

    assert response.status_code == 200
    assert "No events yet" in response.text
    assert "expohall demo" in response.text


async def test_lobby_shows_event_and_live_status(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="cloudcon", name="CloudCon 2026", tagline="Where infra meets ops")
    await db.commit()

    response = await client.get("/e/cloudcon")

    assert response.status_code == 200
    assert re.search(r"<h1[^>]*>CloudCon 2026</h1>", response.text)
    assert "Where infra meets ops" in response.text
    assert "Live now" in response.text


async def test_lobby_of_future_event_says_when_it_starts(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    start = dt.datetime(2031, 3, 4, 8, 0, tzinfo=dt.UTC)
    await make_event(db, slug="later", starts_at=start, timezone="Europe/Berlin")
    await db.commit()

    html = (await client.get("/e/later")).text

    assert "Starting on Tuesday 04 March 2031, 09:00 CET" in html


async def test_lobby_of_ended_event_is_on_demand(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="done", status=EventStatus.ended)
    await db.commit()

    html = (await client.get("/e/done")).text

    assert "Ended — available on demand" in html


async def test_lobby_on_now_lists_the_running_session_not_past_ones(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    now = utcnow()
    ada = await make_speaker(db, event, name="Ada Byron")
    running = await make_session(
        db, event, [ada], title="Kubernetes at scale", starts_at=now - dt.timedelta(minutes=10)
    )
    await make_session(
        db,
        event,
        title="Opening keynote",
        starts_at=now - dt.timedelta(hours=1),
        ends_at=now - dt.timedelta(minutes=20),
    )
    for i in range(4):
        await make_session(
            db, event, title=f"Later talk {i}", starts_at=now + dt.timedelta(hours=i + 1)
        )
    await db.commit()

    html = (await client.get("/e/cloudcon")).text

    on_now = _section(html, "on-now")
    assert "Kubernetes at scale" in on_now
    assert f'href="/e/cloudcon/sessions/{running.id}"' in on_now
    assert "Ada Byron" in on_now
    assert "Opening keynote" not in html
    up_next = _section(html, "up-next")
    assert [t for t in ("Later talk 0", "Later talk 1", "Later talk 2") if t in up_next] == [
        "Later talk 0",
        "Later talk 1",
        "Later talk 2",
    ]
    assert "Later talk 3" not in html


async def test_lobby_features_platinum_and_gold_booths(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    await make_exhibitor(db, event, name="Gold Co", booth={"tier": "gold"})
    await make_exhibitor(db, event, name="Platinum Co", booth={"tier": "platinum"})
    await make_exhibitor(db, event, name="Bronze Co", booth={"tier": "bronze"})
    await db.commit()

    featured = _section((await client.get("/e/cloudcon")).text, "featured")

    assert featured.index("Platinum Co") < featured.index("Gold Co")
    assert "Bronze Co" not in featured
    assert ">PC</span>" in featured  # the initials avatar when there is no logo


async def test_draft_lobby_is_404_for_an_attendee(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="soon", status=EventStatus.draft)
    attendee = await make_account(db)
    await make_registration(db, event, attendee)
    await login_as(db, client, attendee)

    response = await client.get("/e/soon")

    assert response.status_code == 404
    assert "Page not found" in response.text


async def test_draft_lobby_is_404_for_anonymous_visitors(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="soon", status=EventStatus.draft)
    await db.commit()

    assert (await client.get("/e/soon")).status_code == 404


async def test_draft_lobby_shows_for_its_organizer(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="soon", name="Stealth Summit", status=EventStatus.draft)
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    await login_as(db, client, organizer)

    response = await client.get("/e/soon")

    assert response.status_code == 200
    assert "Stealth Summit" in response.text
    assert "Draft" in response.text


async def test_lobby_invites_visitors_to_register(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="cloudcon")
    await db.commit()

    html = (await client.get("/e/cloudcon")).text

    assert 'href="/e/cloudcon/register">Register</a>' in html
    assert "Edit my profile" not in html


async def test_lobby_offers_registered_attendee_their_profile(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    account = await make_account(db)
    await make_registration(db, event, account)
    await login_as(db, client, account)

    html = (await client.get("/e/cloudcon")).text

    assert 'href="/e/cloudcon/profile">Edit my profile</a>' in html
    assert 'href="/e/cloudcon/register">Register</a>' not in html


async def test_lobby_of_unknown_event_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/e/nope")).status_code == 404


async def test_home_shows_every_draft_to_an_admin(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, name="Secret Draft", status=EventStatus.draft)
    admin = await make_account(db, is_admin=True)
    await login_as(db, client, admin)

    html = (await client.get("/")).text

    assert "Secret Draft" in html
    assert "Drafts" in html
