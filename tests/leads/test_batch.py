"""The bulk path (`record_many`) gives the leads that recording the same items one by one
gives: scores, cells, buying stages, MQLs and reasons."""

from __future__ import annotations

import datetime as dt
import random
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import BoothConsent
from app.db import utcnow
from app.events.models import Event, Registration, RoleName
from app.leads.models import Lead, LeadTransition
from app.leads.service import record
from tests.factories import (
    grant,
    make_account,
    make_api_token,
    make_event,
    make_exhibitor,
    make_registration,
    make_resource,
)

TYPES = [
    ("booth.visit", None),
    ("booth.dwell", 300.0),
    ("resource.download", None),
    ("chat.message", None),
    ("info.request", None),
    ("meeting.request", None),
    ("email.click", None),
    ("unsubscribe", None),
]


async def _world(db: AsyncSession, tag: str) -> tuple[Event, list[Registration], list[Any]]:
    event = await make_event(db, slug=f"batch-{tag}")
    exhibitors = [await make_exhibitor(db, event) for _ in range(2)]
    resources = [await make_resource(db, x) for x in exhibitors]
    regs = [
        await make_registration(
            db,
            event,
            email=f"p{n}-{tag}@example.com",
            consent_share_at=None if n % 3 == 2 else utcnow(),
            job_level=("director", "student", "c_level")[n % 3],
        )
        for n in range(5)
    ]
    db.add(BoothConsent(registration_id=regs[2].id, exhibitor_id=exhibitors[0].id, shared=True))
    db.add(BoothConsent(registration_id=regs[0].id, exhibitor_id=exhibitors[1].id, shared=False))
    await db.flush()
    return event, regs, list(zip(exhibitors, resources, strict=True))


def _items(seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    base = dt.datetime(2026, 5, 20, 9, tzinfo=dt.UTC)
    out = []
    for n in range(60):
        type_, value = rng.choice(TYPES)
        out.append(
            {
                "who": rng.randrange(5),
                "type": type_,
                "value": value,
                "exhibitor": None if type_ in ("email.click", "unsubscribe") else rng.randrange(2),
                "at": base + dt.timedelta(hours=rng.randrange(200)),
                "key": f"k{rng.randrange(50)}",  # some keys repeat: duplicates
                "n": n,
            }
        )
    return out


async def _summary(db: AsyncSession, event_id: int, reg_ids: list[int]) -> list[Any]:
    index = {r: n for n, r in enumerate(reg_ids)}
    leads = (await db.execute(select(Lead).where(Lead.event_id == event_id))).scalars().all()
    moved = {
        t.lead_id
        for t in (await db.execute(select(LeadTransition))).scalars()
        if t.to_stage == "mql"
    }
    return sorted(
        (
            index[lead.registration_id],
            lead.exhibitor_id is not None,
            lead.grade,
            lead.cell,
            lead.stage,
            lead.buying_stage or "",
            round(lead.engagement, 3),
            lead.mql_at is not None,
            lead.id in moved,
            [(c["rule"], round(c["points"], 3)) for c in lead.contributions],
        )
        for lead in leads
    )


async def test_bulk_api_equals_recording_one_by_one(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    for seed in (1, 2, 3):
        one, one_regs, one_x = await _world(db, f"one{seed}")
        many, many_regs, many_x = await _world(db, f"many{seed}")
        account = await make_account(db)
        await grant(db, account, many, RoleName.organizer)
        headers = {"Authorization": f"Bearer {await make_api_token(db, account)}"}
        items = _items(seed)
        emails = [r.email for r in many_regs]
        one_ids, many_ids = [r.id for r in one_regs], [r.id for r in many_regs]
        one_id, many_id, slug = one.id, many.id, many.slug
        for item in items:
            x = one_x[item["exhibitor"]] if item["exhibitor"] is not None else None
            await record(
                db,
                event=one,
                registration=one_regs[item["who"]],
                type=item["type"],
                value=item["value"],
                at=item["at"],
                exhibitor_id=x[0].id if x and item["type"] != "resource.download" else None,
                resource_id=x[1].id if x and item["type"] == "resource.download" else None,
                idempotency_key=item["key"],
            )
        await db.commit()
        body = []
        for item in items:
            x = many_x[item["exhibitor"]] if item["exhibitor"] is not None else None
            entry: dict[str, Any] = {
                "email": emails[item["who"]],
                "type": item["type"],
                "at": item["at"].isoformat(),
                "idempotency_key": item["key"],
            }
            if item["value"] is not None:
                entry["value"] = item["value"]
            if x and item["type"] == "resource.download":
                entry["resource_id"] = x[1].id
            elif x:
                entry["exhibitor_id"] = x[0].id
            body.append(entry)
        answer = (
            await client.post(
                f"/api/events/{slug}/activities", json={"items": body}, headers=headers
            )
        ).json()
        assert answer["errors"] == 0
        assert answer["created"] == len({i["key"] for i in items})

        db.expire_all()
        assert await _summary(db, many_id, many_ids) == await _summary(db, one_id, one_ids)


async def test_a_batch_of_many_new_leads_gives_each_lead_its_own_id(
    db: AsyncSession, client: httpx.AsyncClient
) -> None:
    # 300 new attendees at one exhibitor: 600 new leads, written in parts of 256, 256, 64,
    # 16 and 8. Every third asks for information (an MQL at once): its transitions must name
    # its own leads, and no others.
    event = await make_event(db, slug="many-new")
    acme = await make_exhibitor(db, event)
    regs = [
        await make_registration(db, event, email=f"n{n}@example.com", consent_share_at=utcnow())
        for n in range(300)
    ]
    account = await make_account(db)
    await grant(db, account, event, RoleName.organizer)
    headers = {"Authorization": f"Bearer {await make_api_token(db, account)}"}
    reg_ids, event_id, acme_id = [r.id for r in regs], event.id, acme.id
    await db.commit()
    body = [
        {
            "email": f"n{n}@example.com",
            "type": "info.request" if n % 3 == 0 else "booth.visit",
            "exhibitor_id": acme_id,
            "idempotency_key": f"new-{n}",
        }
        for n in range(300)
    ]
    answer = await client.post(
        "/api/events/many-new/activities", json={"items": body}, headers=headers
    )
    assert answer.json()["created"] == 300
    leads = (await db.execute(select(Lead).where(Lead.event_id == event_id))).scalars().all()
    assert sorted((lead.registration_id, lead.scope) for lead in leads) == sorted(
        (r, scope) for r in reg_ids for scope in (0, acme_id)
    )
    mql = {lead.id for lead in leads if lead.stage == "mql"}
    moved = set((await db.execute(select(LeadTransition.lead_id))).scalars())
    assert len(mql) == 200  # both leads of each of the 100 who asked
    assert moved == mql
