"""The exhibit hall."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import EventStatus
from tests.factories import make_event, make_exhibitor


def _booth_names(html: str) -> list[str]:
    return re.findall(r'<h3 class="booth-card__name"><a [^>]*>([^<]+)</a>', html)


def _tier_headings(html: str) -> list[str]:
    return re.findall(r'<h2 class="section-title" id="tier-(\w+)"', html)


async def _hall(db: AsyncSession) -> None:
    event = await make_event(db, slug="cloudcon")
    await make_exhibitor(db, event, name="Bronze Bits", booth={"tier": "bronze", "tags": ["AI"]})
    await make_exhibitor(
        db,
        event,
        name="Gold Grid",
        booth={"tier": "gold", "tagline": "Edge networking", "tags": ["Networking"]},
    )
    await make_exhibitor(
        db,
        event,
        name="Platinum Pipes",
        booth={"tier": "platinum", "tagline": "Data pipelines for AI", "tags": ["Data", "AI"]},
    )
    await make_exhibitor(db, event, name="Silver Stack", booth={"tier": "silver"})
    await make_exhibitor(db, event, name="Another Gold", booth={"tier": "gold"})
    await db.commit()


async def test_hall_groups_booths_by_tier_in_order(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _hall(db)

    response = await client.get("/e/cloudcon/hall")

    assert response.status_code == 200
    assert _tier_headings(response.text) == ["platinum", "gold", "silver", "bronze"]
    assert _booth_names(response.text) == [
        "Platinum Pipes",
        "Another Gold",
        "Gold Grid",
        "Silver Stack",
        "Bronze Bits",
    ]
    assert 'href="/e/cloudcon/booths/' in response.text
    assert 'aria-current="page">Exhibit hall<' in response.text


async def test_hall_search_matches_name_tagline_and_tags(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _hall(db)

    by_tagline = (await client.get("/e/cloudcon/hall", params={"q": "edge"})).text
    by_tag = (await client.get("/e/cloudcon/hall", params={"q": "ai"})).text
    by_name = (await client.get("/e/cloudcon/hall", params={"q": "SILVER"})).text

    assert _booth_names(by_tagline) == ["Gold Grid"]
    assert _booth_names(by_tag) == ["Platinum Pipes", "Bronze Bits"]
    assert _booth_names(by_name) == ["Silver Stack"]
    assert 'value="edge"' in by_tagline  # the search box keeps what was typed


async def test_hall_tag_filter_narrows_the_list(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _hall(db)

    html = (await client.get("/e/cloudcon/hall", params={"tag": "AI"})).text

    assert _booth_names(html) == ["Platinum Pipes", "Bronze Bits"]
    assert _tier_headings(html) == ["platinum", "bronze"]
    assert '<option value="AI" selected>' in html


async def test_hall_search_without_match_shows_empty_state(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await _hall(db)

    html = (await client.get("/e/cloudcon/hall", params={"q": "blockchain"})).text

    assert _booth_names(html) == []
    assert "No booths match" in html


async def test_empty_hall_says_it_is_being_set_up(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="cloudcon")
    await db.commit()

    html = (await client.get("/e/cloudcon/hall")).text

    assert "The hall is still being set up" in html


async def test_hall_escapes_html_in_tagline(client: httpx.AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db, slug="cloudcon")
    await make_exhibitor(
        db, event, name="Evil <b>Corp</b>", booth={"tagline": "<script>alert(1)</script>"}
    )
    await db.commit()

    html = (await client.get("/e/cloudcon/hall")).text

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "Evil &lt;b&gt;Corp&lt;/b&gt;" in html


async def test_hall_of_draft_event_is_404_for_visitors(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    await make_event(db, slug="soon", status=EventStatus.draft)
    await db.commit()

    assert (await client.get("/e/soon/hall")).status_code == 404


async def test_hall_colours_initials_avatar_by_accent_without_inline_style(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db, slug="cloudcon")
    await make_exhibitor(db, event, name="Red Rocket", booth={"accent_color": "#e03131"})
    await make_exhibitor(db, event, name="blue", booth={"accent_color": "#3b5bdb"})
    await make_exhibitor(db, event, name="Broken", booth={"accent_color": "#zz!!zz"})
    await db.commit()

    html = (await client.get("/e/cloudcon/hall")).text

    assert '<span class="avatar avatar--h0" aria-hidden="true">RR</span>' in html
    assert '<span class="avatar avatar--h8" aria-hidden="true">B</span>' in html
    assert html.count("avatar--h8") == 2  # an invalid colour falls back to the default blue
    assert "style=" not in html  # the CSP allows no inline styles
