"""Lead lists and the lead page: filtered, sorted, paginated; a lead's timeline and history."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.booth_repository import shares_clause
from app.events.models import Registration
from app.leads.models import Activity, Call, Lead, LeadNote, LeadTransition

AnyRow = Row[*tuple[Any, ...]]


@dataclass(frozen=True, slots=True)
class LeadFilter:
    exhibitor_ids: frozenset[int] | None = None  # None: every lead of the event
    event_level: bool | None = None
    consenting_only: bool = False
    cell: str | None = None
    stage: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    buying_stage: str | None = None
    exhibitor_id: int | None = None
    last_activity_after: dt.datetime | None = None


SORTS: dict[str, ColumnElement[Any]] = {
    "engagement": Lead.engagement.desc(),
    "fit": Lead.fit.desc(),
    "last_activity": Lead.last_activity_at.desc(),
    "cell": Lead.cell.asc(),
    "created": Lead.created_at.desc(),
}


async def list_leads(
    db: AsyncSession, event_id: int, f: LeadFilter, *, sort: str, limit: int, offset: int
) -> tuple[list[tuple[Lead, Registration]], int]:
    query = (
        select(Lead, Registration)
        .join(Registration, Registration.id == Lead.registration_id)
        .where(Lead.event_id == event_id)
    )
    if f.exhibitor_ids is not None:
        query = query.where(Lead.exhibitor_id.in_(f.exhibitor_ids))
    if f.event_level is True:
        query = query.where(Lead.exhibitor_id.is_(None))
    elif f.event_level is False:
        query = query.where(Lead.exhibitor_id.is_not(None))
    if f.consenting_only:
        # The attendee shares with the lead's exhibitor: that booth's answer, else the
        # event-wide consent.
        query = query.where(shares_clause(Lead.exhibitor_id))
    for column, value in (
        (Lead.cell, f.cell),
        (Lead.stage, f.stage),
        (Lead.buying_stage, f.buying_stage),
        (Lead.exhibitor_id, f.exhibitor_id),
    ):
        if value is not None:
            query = query.where(column == value)
    if f.min_score is not None:
        query = query.where(Lead.engagement >= f.min_score)
    if f.max_score is not None:
        query = query.where(Lead.engagement <= f.max_score)
    if f.last_activity_after is not None:
        query = query.where(Lead.last_activity_at >= f.last_activity_after)
    total = (await db.execute(select(func.count()).select_from(query.subquery()))).scalar_one()
    rows = (
        await db.execute(query.order_by(SORTS[sort], Lead.id.desc()).limit(limit).offset(offset))
    ).all()
    return [(r[0], r[1]) for r in rows], total


async def lead_with_registration(
    db: AsyncSession, event_id: int, lead_id: int
) -> tuple[Lead, Registration] | None:
    row = (
        await db.execute(
            select(Lead, Registration)
            .join(Registration, Registration.id == Lead.registration_id)
            .where(Lead.event_id == event_id, Lead.id == lead_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def lead_timeline(db: AsyncSession, lead: Lead, limit: int = 200) -> Sequence[Activity]:
    query = select(Activity).where(
        Activity.event_id == lead.event_id, Activity.registration_id == lead.registration_id
    )
    if lead.exhibitor_id is not None:
        query = query.where(Activity.exhibitor_id == lead.exhibitor_id)
    return (
        (await db.execute(query.order_by(Activity.at.desc(), Activity.id.desc()).limit(limit)))
        .scalars()
        .all()
    )


async def lead_history(
    db: AsyncSession, lead_id: int
) -> tuple[Sequence[LeadTransition], Sequence[LeadNote], Sequence[Call]]:
    transitions = (
        await db.execute(
            select(LeadTransition)
            .where(LeadTransition.lead_id == lead_id)
            .order_by(LeadTransition.at, LeadTransition.id)
        )
    ).scalars()
    notes = (
        await db.execute(
            select(LeadNote).where(LeadNote.lead_id == lead_id).order_by(LeadNote.at, LeadNote.id)
        )
    ).scalars()
    calls = (
        await db.execute(select(Call).where(Call.lead_id == lead_id).order_by(Call.at, Call.id))
    ).scalars()
    return transitions.all(), notes.all(), calls.all()
