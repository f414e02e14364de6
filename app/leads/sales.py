"""What staff and organizers do with a lead: see it, log calls, write notes."""

from __future__ import annotations

import uuid
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.booths.booth_repository import shares_with
from app.events.models import Event, Registration
from app.leads import lead_queries
from app.leads.errors import InvalidActivity, LeadForbidden, LeadNotFound
from app.leads.lifecycle import can_work
from app.leads.models import Call, Lead, LeadNote
from app.leads.service import record
from app.leads.vocab import CALL_OUTCOMES


async def log_call(
    db: AsyncSession, *, lead: Lead, actor: Membership, outcome: str, note: str = ""
) -> Call:
    """Store a staff member's call; the call is itself a `call.logged` activity."""
    if not can_work(lead, actor):
        raise LeadForbidden()
    if outcome not in CALL_OUTCOMES:
        raise InvalidActivity(
            f"Unknown call outcome; use one of {', '.join(CALL_OUTCOMES)}.", field="outcome"
        )
    event = await db.get(Event, lead.event_id)
    registration = await db.get(Registration, lead.registration_id)
    assert event is not None  # noqa: S101
    assert registration is not None  # noqa: S101
    result = await record(
        db,
        event=event,
        registration=registration,
        type="call.logged",
        exhibitor_id=lead.exhibitor_id,
        meta={"outcome": outcome, "by": actor.account.id},
        idempotency_key=f"call:{uuid.uuid4().hex}",
    )
    call = Call(
        lead_id=lead.id,
        author_id=actor.account.id,
        outcome=outcome,
        note=note,
        activity_id=result.activity.id,
        at=result.activity.at,
    )
    db.add(call)
    await db.flush()
    return call


async def add_note(db: AsyncSession, *, lead: Lead, actor: Membership, body: str) -> LeadNote:
    if not can_work(lead, actor):
        raise LeadForbidden()
    if not body.strip():
        raise InvalidActivity("A note cannot be empty.", field="body")
    note = LeadNote(lead_id=lead.id, author_id=actor.account.id, body=body.strip())
    db.add(note)
    await db.flush()
    return note


async def lead_for(
    db: AsyncSession, *, member: Membership, lead_id: int
) -> tuple[Lead, Registration]:
    """A lead the member may see: organizers any; staff their exhibitor's consenting leads."""
    if not (member.is_organizer or member.is_staff):
        raise LeadForbidden()
    found = await lead_queries.lead_with_registration(db, member.event.id, lead_id)
    if found is None:
        raise LeadNotFound()
    lead, registration = found
    if not member.is_organizer and (
        lead.exhibitor_id is None
        or not member.staffs(lead.exhibitor_id)
        or not await shares_with(db, registration, lead.exhibitor_id)
    ):
        raise LeadNotFound()
    return lead, registration


async def leads_for(
    db: AsyncSession,
    *,
    member: Membership,
    filters: lead_queries.LeadFilter,
    sort: str = "engagement",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Lead, Registration]], int]:
    """The leads a member may list: organizers all; staff their exhibitors' consenting ones."""
    if member.is_organizer:
        return await lead_queries.list_leads(
            db, member.event.id, filters, sort=sort, limit=limit, offset=offset
        )
    if not member.is_staff:
        raise LeadForbidden()
    scoped = replace(
        filters, exhibitor_ids=member.exhibitor_ids, consenting_only=True, event_level=None
    )
    return await lead_queries.list_leads(
        db, member.event.id, scoped, sort=sort, limit=limit, offset=offset
    )
