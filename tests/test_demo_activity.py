"""The demo's behaviour: MQLs, F grades, worked leads, a story on the platinum lead list."""

from __future__ import annotations

from collections import Counter

from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor
from app.config import Settings
from app.db import utcnow
from app.demo import DEMO_SLUG, load_demo
from app.demo.activity import add_behaviour
from app.events.models import Event
from app.leads.models import Activity, Lead, LeadTransition
from tests.factories import make_event, make_exhibitor, make_registration, make_resource


async def test_demo_behaviour_tells_a_story(
    app: FastAPI, settings: Settings, db: AsyncSession
) -> None:
    await load_demo(settings, reset=False, if_empty=False)
    event = (await db.execute(select(Event).where(Event.slug == DEMO_SLUG))).scalar_one()
    assert event.status == "live"
    assert (await db.scalar(select(func.count()).select_from(Activity)) or 0) > 1000

    forgeline = (
        await db.execute(select(Exhibitor).where(Exhibitor.slug == "forgeline"))
    ).scalar_one()
    leads = (
        (await db.execute(select(Lead).where(Lead.exhibitor_id == forgeline.id))).scalars().all()
    )
    cells = Counter(lead.cell for lead in leads)
    stages = Counter(lead.stage for lead in leads)
    assert len(leads) >= 40
    assert cells["F"] >= 3  # students and competitors
    assert len([c for c in cells if c != "F"]) >= 6  # spread over the matrix
    assert sum(cells[c] for c in ("A1", "A2", "B1", "B2")) >= 3
    assert sum(1 for lead in leads if lead.mql_at is not None) >= 5
    assert stages["sal"] + stages["sql"] >= 2
    assert stages["rejected"] >= 1
    assert any(lead.buying_stage == "decision" for lead in leads)
    rejected = (
        await db.scalars(select(LeadTransition.reason).where(LeadTransition.to_stage == "rejected"))
    ).all()
    assert rejected
    assert all(reason for reason in rejected)
    assert all(lead.grade == "F" for lead in leads if lead.cell == "F")
    assert all(lead.stage == "inquiry" for lead in leads if lead.grade == "F")


async def test_behaviour_follows_personas_and_is_repeatable(db: AsyncSession) -> None:
    event = await make_event(db)
    acme = await make_exhibitor(db, event, slug="acme", booth={"tier": "platinum"})
    await make_resource(db, acme, title="Pricing sheet", stage="decision")
    await make_resource(db, acme, title="Whitepaper", stage="research")
    buyer = await make_registration(
        db, event, job_level="vp", budget="approved", timeframe="lt_3m", interests=[]
    )
    student = await make_registration(
        db, event, job_level="student", company_type="other", budget="none", timeframe="none"
    )
    competitor = await make_registration(db, event, company_type="competitor")
    now = utcnow()
    recorded = await add_behaviour(db, event=event, now=now)
    assert recorded > 3

    async def lead_of(reg_id: int) -> Lead:
        return (
            await db.execute(
                select(Lead).where(Lead.registration_id == reg_id, Lead.exhibitor_id == acme.id)
            )
        ).scalar_one()

    buyer_lead = await lead_of(buyer.id)
    assert buyer_lead.grade == "A"
    assert buyer_lead.engagement > 0
    assert buyer_lead.mql_at is not None  # the cell or a hand-raise made it an MQL
    assert (await lead_of(student.id)).grade == "F"
    assert (await lead_of(competitor.id)).grade == "F"
    times = (await db.scalars(select(Activity.at))).all()
    assert max(times) <= now
