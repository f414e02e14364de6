"""Lead pages: lists, the lead page and its forms, the scoring rules page, who sees what."""

from __future__ import annotations

import datetime as dt
import html as html_lib
import json
import re
from dataclasses import dataclass

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Exhibitor
from app.db import utcnow
from app.events.models import Event, Registration, RoleName
from app.leads.models import Lead
from app.leads.service import record
from app.leads.tasks import wait_for_jobs
from tests.factories import (
    csrf_for,
    grant,
    login_as,
    make_account,
    make_event,
    make_exhibitor,
    make_lead,
    make_registration,
    make_staff,
)


@dataclass
class World:
    event: Event
    acme: Exhibitor
    other: Exhibitor
    staff: Account
    other_staff: Account
    organizer: Account
    attendee: Account
    reg: Registration
    lead: Lead


async def _world(db: AsyncSession) -> World:
    """Ada requested more information at Acme's booth; she consents to share her details."""
    event = await make_event(db)
    acme = await make_exhibitor(db, event, name="Acme Robotics", slug="acme")
    other = await make_exhibitor(db, event, name="Globex", slug="globex")
    staff = await make_staff(db, event, acme)
    other_staff = await make_staff(db, event, other)
    organizer = await make_account(db)
    await grant(db, organizer, event, RoleName.organizer)
    attendee = await make_account(db)
    reg = await make_registration(db, event, attendee)
    result = await record(
        db,
        event=event,
        registration=reg,
        type="info.request",
        exhibitor_id=acme.id,
        idempotency_key="ada-info",
    )
    lead = next(lead for lead in result.leads if lead.exhibitor_id == acme.id)
    await db.commit()
    return World(event, acme, other, staff, other_staff, organizer, attendee, reg, lead)


def _text(page: str) -> str:
    """The page's visible text, whitespace collapsed (tags dropped)."""
    return html_lib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page)))


async def test_staff_sees_their_lead_with_score_and_reason(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    await login_as(db, client, w.staff)

    listing = await client.get(f"/e/{w.event.slug}/exhibitor/acme/leads")
    assert listing.status_code == 200
    assert "Ada Lovelace" in listing.text
    assert f'href="/e/{w.event.slug}/leads/{w.lead.id}"' in listing.text
    assert "Showing 1–1 of 1 lead" in _text(listing.text)

    page = await client.get(f"/e/{w.event.slug}/leads/{w.lead.id}")
    assert page.status_code == 200
    text = _text(page.text)
    # Director (25) + end user (25) + ideal size (20) + approved budget (15) + 3–6 months (7).
    assert "fit 92/100" in text
    assert "score 15/100" in text
    assert "+15 requested more information" in text
    assert "+25 job level: Director" in text
    assert "the default rules (version 0)" in text
    # A hand-raise with grade A makes an MQL at once; the matrix highlights the cell.
    assert w.lead.cell == "A4"
    assert re.search(
        r'aria-current="true"[^>]*>\s*<strong><span class="badge cell cell--a4', page.text
    )
    assert "Inquiry → MQL · Raised a hand (meeting or info request) Automatic" in text


async def test_staff_is_sent_from_event_leads_to_their_exhibitor(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    await login_as(db, client, w.staff)
    response = await client.get(f"/e/{w.event.slug}/leads")
    assert response.status_code == 303
    assert response.headers["location"] == f"/e/{w.event.slug}/exhibitor/acme/leads"


async def test_other_exhibitors_staff_cannot_see_the_lead_or_list(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    await login_as(db, client, w.other_staff)
    assert (await client.get(f"/e/{w.event.slug}/leads/{w.lead.id}")).status_code == 404
    assert (await client.get(f"/e/{w.event.slug}/exhibitor/acme/leads")).status_code == 403
    assert (await client.get(f"/e/{w.event.slug}/exhibitor/acme/report")).status_code == 403
    own = await client.get(f"/e/{w.event.slug}/exhibitor/globex/leads")
    assert own.status_code == 200
    assert "Ada Lovelace" not in own.text
    assert "No leads yet" in own.text


async def test_attendee_gets_403_everywhere(client: httpx.AsyncClient, db: AsyncSession) -> None:
    w = await _world(db)
    await login_as(db, client, w.attendee)
    for path in (
        f"/e/{w.event.slug}/leads",
        f"/e/{w.event.slug}/exhibitor/acme/leads",
        f"/e/{w.event.slug}/leads/{w.lead.id}",
        f"/e/{w.event.slug}/report",
        f"/e/{w.event.slug}/manage/scoring",
    ):
        response = await client.get(path)
        assert response.status_code == 403, path
        assert "Ada Lovelace" not in response.text


async def test_staff_stop_seeing_a_lead_whose_consent_was_withdrawn(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    w.reg.consent_share_at = None
    await db.commit()
    await login_as(db, client, w.staff)
    assert (await client.get(f"/e/{w.event.slug}/leads/{w.lead.id}")).status_code == 404
    listing = await client.get(f"/e/{w.event.slug}/exhibitor/acme/leads")
    assert "Ada Lovelace" not in listing.text


async def test_organizer_sees_event_level_leads(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    await login_as(db, client, w.organizer)
    response = await client.get(f"/e/{w.event.slug}/leads")
    assert response.status_code == 200
    assert "Event leads" in response.text
    event_lead = (await db.execute(select(Lead).where(Lead.exhibitor_id.is_(None)))).scalar_one()
    assert f"/e/{w.event.slug}/leads/{event_lead.id}" in response.text
    assert f'/e/{w.event.slug}/leads/{w.lead.id}"' not in response.text


async def test_filters_and_sorting_narrow_the_table(
    client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event, slug="acme")
    staff = await make_staff(db, event, acme)
    now = utcnow()
    for first, cell, score, stage, days in (
        ("Hot", "A1", 72.0, "mql", 1),
        ("Warm", "B3", 25.0, "inquiry", 3),
        ("Cold", "D4", 4.0, "inquiry", 20),
    ):
        reg = await make_registration(db, event, first_name=first, last_name="Lead")
        await make_lead(
            db,
            event,
            reg,
            acme,
            cell=cell,
            engagement=score,
            stage=stage,
            buying_stage="evaluation" if first == "Warm" else None,
            last_activity_at=now - dt.timedelta(days=days),
        )
    await db.commit()
    await login_as(db, client, staff)
    base = f"/e/{event.slug}/exhibitor/acme/leads"

    async def names(query: str) -> list[str]:
        response = await client.get(f"{base}?{query}")
        assert response.status_code == 200, response.text
        return re.findall(r">(Hot|Warm|Cold) Lead</a>", response.text)

    assert await names("") == ["Hot", "Warm", "Cold"]
    assert await names("cell=A1") == ["Hot"]
    assert await names("stage=inquiry") == ["Warm", "Cold"]
    assert await names("min_score=20&max_score=50") == ["Warm"]
    assert await names("buying_stage=evaluation") == ["Warm"]
    since = (now - dt.timedelta(days=7)).date().isoformat()
    assert await names(f"since={since}") == ["Hot", "Warm"]
    assert await names("sort=cell") == ["Hot", "Warm", "Cold"]
    assert await names("sort=last_activity&stage=inquiry") == ["Warm", "Cold"]
    bad = await client.get(f"{base}?min_score=lots")
    assert bad.status_code == 422
    assert "Enter a score from 0 to 100." in bad.text
    assert re.findall(r">(Hot|Warm|Cold) Lead</a>", bad.text) == ["Hot", "Warm", "Cold"]


async def test_list_paginates_fifty_a_page(client: httpx.AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event, slug="acme")
    staff = await make_staff(db, event, acme)
    for n in range(53):
        reg = await make_registration(db, event, first_name=f"P{n:02d}", last_name="Lead")
        await make_lead(db, event, reg, acme, engagement=float(n))
    await db.commit()
    await login_as(db, client, staff)
    first = await client.get(f"/e/{event.slug}/exhibitor/acme/leads")
    assert "Showing 1–50 of 53 leads" in _text(first.text)
    assert "Page 1 of 2" in first.text
    assert len(re.findall(r">P\d\d Lead</a>", first.text)) == 50
    second = await client.get(f"/e/{event.slug}/exhibitor/acme/leads?page=2")
    assert "Showing 51–53 of 53 leads" in _text(second.text)
    assert re.findall(r">(P\d\d) Lead</a>", second.text) == ["P02", "P01", "P00"]


async def test_illegal_move_shows_the_allowed_moves(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event, slug="acme")
    staff = await make_staff(db, event, acme)
    reg = await make_registration(db, event)
    lead = await make_lead(db, event, reg, acme, stage="inquiry")
    await db.commit()
    await login_as(db, client, staff)
    response = await client.post(
        f"/e/{event.slug}/leads/{lead.id}/move",
        data={"to": "sal", "csrf_token": csrf_for(app, client)},
    )
    assert response.status_code == 409
    assert "cannot move to sal. Allowed moves: mql." in response.text
    assert '<option value="mql"' in response.text
    assert '<option value="sal"' not in response.text


async def test_rejecting_needs_a_reason_then_is_logged(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event, slug="acme")
    staff = await make_staff(db, event, acme, display_name="Sam Seller")
    reg = await make_registration(db, event)
    lead = await make_lead(db, event, reg, acme, stage="mql", cell="B2", mql_at=utcnow())
    await db.commit()
    await login_as(db, client, staff)
    url = f"/e/{event.slug}/leads/{lead.id}/move"
    token = csrf_for(app, client)

    missing = await client.post(url, data={"to": "rejected", "csrf_token": token})
    assert missing.status_code == 422
    assert "Rejecting a lead needs a reason" in missing.text

    done = await client.post(
        url,
        data={"to": "rejected", "reason": "no_budget", "note": "Q3 freeze", "csrf_token": token},
    )
    assert done.status_code == 303
    page = await client.get(done.headers["location"])
    text = _text(page.text)
    assert "The lead's stage is updated." in text
    assert "MQL → Rejected · No budget" in text
    assert "Sam Seller" in text
    assert "Q3 freeze" in text
    assert "no further moves" in text


async def test_move_without_csrf_is_refused(client: httpx.AsyncClient, db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event, slug="acme")
    staff = await make_staff(db, event, acme)
    reg = await make_registration(db, event)
    lead = await make_lead(db, event, reg, acme, stage="mql")
    await db.commit()
    await login_as(db, client, staff)
    response = await client.post(f"/e/{event.slug}/leads/{lead.id}/move", data={"to": "sal"})
    assert response.status_code == 403
    await db.refresh(lead)
    assert lead.stage == "mql"


async def test_calls_and_notes_appear_on_the_lead(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    await login_as(db, client, w.staff)
    token = csrf_for(app, client)
    base = f"/e/{w.event.slug}/leads/{w.lead.id}"

    bad = await client.post(f"{base}/calls", data={"outcome": "maybe", "csrf_token": token})
    assert bad.status_code == 422
    assert "Choose what happened on the call." in bad.text

    call = await client.post(
        f"{base}/calls",
        data={"outcome": "voicemail", "note": "Call back Tuesday", "csrf_token": token},
    )
    assert call.status_code == 303
    empty = await client.post(f"{base}/notes", data={"body": "  ", "csrf_token": token})
    assert empty.status_code == 422
    assert "A note cannot be empty." in empty.text
    note = await client.post(
        f"{base}/notes", data={"body": "Wants a pilot in Q1", "csrf_token": token}
    )
    assert note.status_code == 303

    text = _text((await client.get(base)).text)
    assert "Call: Left a voicemail · Call back Tuesday" in text
    assert "Note · Wants a pilot in Q1" in text
    assert "was called by staff" in text  # the call is itself an activity on the timeline


async def test_rules_page_saves_a_new_version_and_rescores(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    await login_as(db, client, w.organizer)
    page = await client.get(f"/e/{w.event.slug}/manage/scoring")
    assert page.status_code == 200
    assert "The default rules (version 0) are in force" in page.text
    assert "requested more information" in page.text  # the readable table
    match = re.search(r'name="rules_json"[^>]*>(.*?)</textarea>', page.text, re.S)
    assert match is not None
    document = json.loads(html_lib.unescape(match.group(1)))
    document["rules"]["engagement"]["info_request"]["points"] = 20

    saved = await client.post(
        f"/e/{w.event.slug}/manage/scoring",
        data={"rules_json": json.dumps(document), "csrf_token": csrf_for(app, client)},
    )
    assert saved.status_code == 303
    await wait_for_jobs()
    after = await client.get(saved.headers["location"])
    text = _text(after.text)
    assert "Saved as version 1" in text
    assert "Version 1 is in force" in text
    assert "Done: 2 of 2 leads rescored." in text

    await login_as(db, client, w.staff)
    lead_page = _text((await client.get(f"/e/{w.event.slug}/leads/{w.lead.id}")).text)
    assert "+20 requested more information" in lead_page
    assert "rules version 1" in lead_page


async def test_rules_page_names_the_bad_field(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    w = await _world(db)
    await login_as(db, client, w.organizer)
    token = csrf_for(app, client)
    url = f"/e/{w.event.slug}/manage/scoring"
    document = {"rules": {"engagement": {"visit": {"type": "booth.visit", "points": 500}}}}
    response = await client.post(
        url, data={"rules_json": json.dumps(document), "csrf_token": token}
    )
    assert response.status_code == 422
    assert "rules.engagement.visit.points" in response.text
    assert "The rules were not saved." in response.text

    broken = await client.post(url, data={"rules_json": "{not json", "csrf_token": token})
    assert broken.status_code == 422
    assert "This is not valid JSON" in broken.text
    assert "{not json</textarea>" in broken.text  # what was typed is kept

    page = await client.get(url)
    assert "The default rules (version 0) are in force" in page.text
