"""Per-booth consent: an exhibitor lead exists, and staff see it, only when the attendee shares
with that exhibitor (their answer at the booth, else the event-wide consent)."""

from __future__ import annotations

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import BoothConsent
from app.db import utcnow
from app.events.models import Event, Registration, RoleName
from app.leads.models import Lead
from app.leads.service import record
from tests.factories import (
    grant,
    make_account,
    make_api_token,
    make_event,
    make_exhibitor,
    make_registration,
)


async def _answer(db: AsyncSession, reg: Registration, exhibitor_id: int, shared: bool) -> None:
    db.add(
        BoothConsent(registration_id=reg.id, exhibitor_id=exhibitor_id, shared=shared, at=utcnow())
    )
    await db.flush()


async def _visit(
    db: AsyncSession, event: Event, reg: Registration, exhibitor_id: int, key: str
) -> None:
    await record(
        db,
        event=event,
        registration=reg,
        type="booth.visit",
        exhibitor_id=exhibitor_id,
        idempotency_key=key,
    )


async def _scopes(db: AsyncSession, reg: Registration) -> list[int | None]:
    return list(
        (
            await db.execute(
                select(Lead.exhibitor_id).where(Lead.registration_id == reg.id).order_by(Lead.scope)
            )
        ).scalars()
    )


async def _staff(db: AsyncSession, event: Event, exhibitor_id: int) -> dict[str, str]:
    account = await make_account(db)
    await grant(db, account, event, RoleName.staff, exhibitor_id)
    return {"Authorization": f"Bearer {await make_api_token(db, account)}"}


async def test_booth_yes_without_event_consent_creates_the_exhibitor_lead(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    acme, globex = await make_exhibitor(db, event), await make_exhibitor(db, event)
    reg = await make_registration(db, event, consent_share_at=None)
    await _answer(db, reg, acme.id, True)

    await _visit(db, event, reg, acme.id, "a")
    await _visit(db, event, reg, globex.id, "g")

    assert await _scopes(db, reg) == [None, acme.id]
    headers = await _staff(db, event, acme.id)
    await db.commit()
    listed = (await client.get(f"/api/events/{event.slug}/leads", headers=headers)).json()
    assert [(i["registration_id"], i["exhibitor_id"]) for i in listed["items"]] == [
        (reg.id, acme.id)
    ]


async def test_booth_no_with_event_consent_creates_none_and_hides_existing_leads(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    declined = await make_registration(db, event)  # event-wide consent given
    later = await make_registration(db, event)
    sharing = await make_registration(db, event)
    await _answer(db, declined, acme.id, False)
    await _visit(db, event, declined, acme.id, "d1")
    await _visit(db, event, later, acme.id, "l1")  # lead created before the booth's "no"
    await _visit(db, event, sharing, acme.id, "s1")
    await _answer(db, later, acme.id, False)
    await _visit(db, event, later, acme.id, "l2")

    assert await _scopes(db, declined) == [None]
    assert await _scopes(db, later) == [None, acme.id]
    hidden = (
        await db.execute(
            select(Lead.id).where(Lead.registration_id == later.id, Lead.exhibitor_id == acme.id)
        )
    ).scalar_one()
    headers = await _staff(db, event, acme.id)
    await db.commit()
    url = f"/api/events/{event.slug}/leads"
    listed = (await client.get(url, headers=headers)).json()
    assert [(i["registration_id"], i["exhibitor_id"]) for i in listed["items"]] == [
        (sharing.id, acme.id)
    ]
    assert listed["total"] == 1
    assert (await client.get(f"{url}/{hidden}", headers=headers)).status_code == 404


async def test_bulk_api_honours_the_booth_answer(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    yes = await make_registration(db, event, email="yes@example.com", consent_share_at=None)
    no = await make_registration(db, event, email="no@example.com")
    await _answer(db, yes, acme.id, True)
    await _answer(db, no, acme.id, False)
    account = await make_account(db)
    await grant(db, account, event, RoleName.organizer)
    headers = {"Authorization": f"Bearer {await make_api_token(db, account)}"}
    await db.commit()
    items = [
        {"email": email, "type": "booth.visit", "exhibitor_id": acme.id, "idempotency_key": email}
        for email in ("yes@example.com", "no@example.com")
    ]

    answer = await client.post(
        f"/api/events/{event.slug}/activities", json={"items": items}, headers=headers
    )

    assert answer.json()["created"] == 2
    assert await _scopes(db, yes) == [None, acme.id]
    assert await _scopes(db, no) == [None]
