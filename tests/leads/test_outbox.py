"""The lead events outbox: every change a CRM cares about is written with the change itself."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.booths.models import Exhibitor
from app.events.models import Event, Registration, RoleName
from app.leads.batch import record_many
from app.leads.lifecycle import transition
from app.leads.models import Lead, LeadEvent
from app.leads.schemas import ActivityCreate
from app.leads.service import record
from tests.factories import make_account, make_event, make_exhibitor, make_registration


async def _events(db: AsyncSession) -> list[tuple[int, str, dict[str, Any]]]:
    rows = await db.execute(select(LeadEvent).order_by(LeadEvent.id))
    return [(e.lead_id, e.type, e.change) for e in rows.scalars()]


async def _setup(db: AsyncSession) -> tuple[Event, Exhibitor, Registration]:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    return event, acme, await make_registration(db, event)


async def test_a_new_lead_and_an_mql_announce_themselves(db: AsyncSession) -> None:
    event, acme, reg = await _setup(db)
    first = await record(
        db, event=event, registration=reg, type="booth.visit", exhibitor_id=acme.id,
        idempotency_key="visit",
    )  # fmt: skip
    event_lead, acme_lead = sorted(first.leads, key=lambda lead: lead.scope)
    created = await _events(db)
    assert [(lead_id, type_) for lead_id, type_, _ in created] == [
        (event_lead.id, "lead.updated"),
        (acme_lead.id, "lead.updated"),
    ]
    assert all(change["created"] and change["before"] is None for _, _, change in created)
    assert created[1][2]["after"]["cell"] == acme_lead.cell

    # A hand-raise makes both leads MQLs: the stage change and the MQL, once each.
    await record(
        db, event=event, registration=reg, type="info.request", exhibitor_id=acme.id,
        idempotency_key="info",
    )  # fmt: skip
    later = (await _events(db))[len(created) :]
    for lead in (event_lead, acme_lead):
        mine = [(type_, change) for lead_id, type_, change in later if lead_id == lead.id]
        types = [type_ for type_, _ in mine]
        assert types.count("lead.stage_changed") == 1
        assert types.count("lead.mql_reached") == 1
        stage = next(change for type_, change in mine if type_ == "lead.stage_changed")
        assert (stage["from"], stage["to"]) == ("inquiry", "mql")
        assert stage["reason"].startswith("auto_")


async def test_nothing_is_announced_when_nothing_a_crm_sees_changed(db: AsyncSession) -> None:
    event, acme, reg = await _setup(db)
    for key in ("a", "b"):
        await record(
            db, event=event, registration=reg, type="booth.visit", exhibitor_id=acme.id,
            idempotency_key=key,
        )  # fmt: skip
    before = await _events(db)
    # Replaying a key records nothing and announces nothing.
    await record(
        db, event=event, registration=reg, type="booth.visit", exhibitor_id=acme.id,
        idempotency_key="a",
    )  # fmt: skip
    assert await _events(db) == before


async def test_a_staff_move_is_a_stage_change_not_a_new_mql(db: AsyncSession) -> None:
    event, acme, reg = await _setup(db)
    result = await record(
        db, event=event, registration=reg, type="info.request", exhibitor_id=acme.id,
        idempotency_key="info",
    )  # fmt: skip
    await record(
        db, event=event, registration=reg, type="meeting.request", exhibitor_id=acme.id,
        idempotency_key="meet",
    )  # fmt: skip
    lead = next(lead for lead in result.leads if lead.exhibitor_id == acme.id)
    assert lead.tier < 4  # engaged enough that recycling moves the cell
    staff = Membership(
        await make_account(db), event, frozenset({RoleName.staff}), frozenset({acme.id})
    )
    seen = len(await _events(db))
    await transition(db, lead=lead, to="sal", actor=staff)
    moved = (await _events(db))[seen:]
    assert [(lead_id, type_) for lead_id, type_, _ in moved] == [(lead.id, "lead.stage_changed")]
    assert moved[0][2] == {"from": "mql", "to": "sal", "reason": None, "actor_id": staff.account.id}

    # Recycling resets engagement: the cell a CRM shows changes too.
    seen += 1
    await transition(db, lead=lead, to="recycled", actor=staff)
    types = [type_ for _, type_, _ in (await _events(db))[seen:]]
    assert types == ["lead.stage_changed", "lead.updated"]

    # Raising a hand again makes it an MQL again: a stage change, but no second first MQL.
    seen = len(await _events(db))
    await record(
        db, event=event, registration=reg, type="info.request", exhibitor_id=acme.id,
        idempotency_key="info-again",
    )  # fmt: skip
    mine = [(t, c) for lead_id, t, c in (await _events(db))[seen:] if lead_id == lead.id]
    assert ("lead.stage_changed", {"from": "inquiry", "to": "mql", "reason": "auto_hand_raise",
            "actor_id": None}) in mine  # fmt: skip
    assert "lead.mql_reached" not in [t for t, _ in mine]


async def test_the_bulk_path_announces_like_the_single_path(db: AsyncSession) -> None:
    event, acme, reg = await _setup(db)
    items = [
        ActivityCreate(email=reg.email, type="booth.visit", exhibitor_id=acme.id,
                       idempotency_key="v"),
        ActivityCreate(email=reg.email, type="info.request", exhibitor_id=acme.id,
                       idempotency_key="i"),
    ]  # fmt: skip
    await record_many(db, event=event, items=items)
    leads = (await db.execute(select(Lead))).scalars().all()
    events = await _events(db)
    for lead in leads:
        types = sorted(type_ for lead_id, type_, _ in events if lead_id == lead.id)
        assert types == ["lead.mql_reached", "lead.stage_changed", "lead.updated"]
