"""The lead lifecycle: every legal and illegal move, reasons, recycling, who may move back."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.db import utcnow
from app.events.models import Event, Registration, RoleName
from app.leads.errors import IllegalTransition, LeadForbidden, ReasonRequired
from app.leads.lifecycle import FORWARD, MAIN_LINE, allowed_moves, transition
from app.leads.models import Lead, LeadTransition
from app.leads.service import record
from tests.factories import make_account, make_event, make_exhibitor, make_registration

STAGES = list(FORWARD)
TARGETS = [*STAGES, "recycled"]


async def _setup(db: AsyncSession) -> tuple[Event, Lead, Membership, Membership]:
    event = await make_event(db)
    acme = await make_exhibitor(db, event)
    reg = await make_registration(db, event)
    result = await record(
        db,
        event=event,
        registration=reg,
        type="booth.visit",
        exhibitor_id=acme.id,
        idempotency_key="v",
        at=utcnow() - dt.timedelta(days=1),
    )
    lead = next(lead for lead in result.leads if lead.exhibitor_id == acme.id)
    staff = Membership(
        await make_account(db), event, frozenset({RoleName.staff}), frozenset({acme.id})
    )
    organizer = Membership(
        await make_account(db), event, frozenset({RoleName.organizer}), frozenset()
    )
    return event, lead, staff, organizer


def test_forward_moves_are_the_designed_ones() -> None:
    assert allowed_moves("inquiry", organizer=False) == ["mql"]
    assert allowed_moves("mql", organizer=False) == ["sal", "rejected", "recycled"]
    assert allowed_moves("sal", organizer=False) == ["sql", "rejected", "recycled"]
    assert allowed_moves("sql", organizer=False) == ["opportunity"]
    assert allowed_moves("opportunity", organizer=False) == ["won", "lost"]
    assert allowed_moves("won", organizer=False) == []
    assert allowed_moves("rejected", organizer=True) == ["inquiry", "mql", "sal"]
    assert allowed_moves("won", organizer=True) == list(MAIN_LINE)


@pytest.mark.parametrize("start", STAGES)
async def test_every_move_from_every_stage(db: AsyncSession, start: str) -> None:
    _event, lead, staff, _organizer = await _setup(db)
    for to in TARGETS:
        lead.stage = start
        reason = "no_need" if to == "rejected" else None
        if to in allowed_moves(start, organizer=False):
            row = await transition(db, lead=lead, to=to, actor=staff, reason=reason, note="ok")
            landed = "inquiry" if to == "recycled" else to
            assert (lead.stage, row.from_stage, row.to_stage) == (landed, start, landed)
            assert (row.actor_id, row.note) == (staff.account.id, "ok")
        else:
            with pytest.raises(IllegalTransition) as info:
                await transition(db, lead=lead, to=to, actor=staff, reason=reason)
            allowed = allowed_moves(start, organizer=False)
            assert info.value.status == 409
            assert info.value.extra["allowed"] == allowed
            assert f"Allowed moves: {', '.join(allowed) or 'none'}." in info.value.message
            assert lead.stage == start


async def test_rejecting_needs_a_known_reason(db: AsyncSession) -> None:
    _event, lead, staff, _organizer = await _setup(db)
    lead.stage = "mql"
    for reason in (None, "did not like them"):
        with pytest.raises(ReasonRequired) as info:
            await transition(db, lead=lead, to="rejected", actor=staff, reason=reason)
        assert info.value.status == 422
    await transition(db, lead=lead, to="rejected", actor=staff, reason="no_budget")
    rows = (
        (await db.execute(select(LeadTransition).where(LeadTransition.lead_id == lead.id)))
        .scalars()
        .all()
    )
    assert [(r.from_stage, r.to_stage, r.reason) for r in rows] == [
        ("mql", "rejected", "no_budget")
    ]


async def test_organizers_may_move_back_staff_may_not(db: AsyncSession) -> None:
    _event, lead, staff, organizer = await _setup(db)
    lead.stage = "lost"
    with pytest.raises(IllegalTransition, match="Allowed moves: none"):
        await transition(db, lead=lead, to="sql", actor=staff)
    row = await transition(db, lead=lead, to="sql", actor=organizer, note="reopened")
    assert (row.from_stage, row.to_stage, row.actor_id, lead.stage) == (
        "lost",
        "sql",
        organizer.account.id,
        "sql",
    )


async def test_staff_of_another_exhibitor_cannot_move_the_lead(db: AsyncSession) -> None:
    event, lead, _staff, _organizer = await _setup(db)
    other = await make_exhibitor(db, event)
    outsider = Membership(
        await make_account(db), event, frozenset({RoleName.staff}), frozenset({other.id})
    )
    with pytest.raises(LeadForbidden):
        await transition(db, lead=lead, to="mql", actor=outsider)


async def test_recycle_resets_engagement_but_keeps_activities(db: AsyncSession) -> None:
    event, lead, staff, _organizer = await _setup(db)
    lead.stage = "mql"
    lead.mql_at = first_mql = utcnow() - dt.timedelta(hours=1)
    assert lead.engagement > 0
    await transition(db, lead=lead, to="recycled", actor=staff, note="not now")
    assert (lead.stage, lead.engagement, lead.tier, lead.cell) == ("inquiry", 0, 4, "A4")
    reg = await db.get(Registration, lead.registration_id)
    assert reg is not None
    # An older activity arriving late no longer counts; a new one does.
    await record(
        db,
        event=event,
        registration=reg,
        type="info.request",
        exhibitor_id=lead.exhibitor_id,
        idempotency_key="old",
        at=utcnow() - dt.timedelta(days=2),
    )
    assert lead.engagement == 0
    await record(
        db,
        event=event,
        registration=reg,
        type="meeting.request",
        exhibitor_id=lead.exhibitor_id,
        idempotency_key="new",
    )
    assert lead.engagement == pytest.approx(15, abs=1e-3)
    assert (lead.stage, lead.mql_at) == ("mql", first_mql)
