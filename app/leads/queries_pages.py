"""Queries the lead pages and the sales report need beyond app/leads/repository.py."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Exhibitor
from app.leads.models import Call, Lead, LeadNote, LeadTransition, RulesVersion


async def exhibitor_by_slug(db: AsyncSession, event_id: int, slug: str) -> Exhibitor | None:
    return (
        await db.execute(
            select(Exhibitor).where(Exhibitor.event_id == event_id, Exhibitor.slug == slug)
        )
    ).scalar_one_or_none()


async def exhibitors_by_id(db: AsyncSession, ids: Iterable[int]) -> list[Exhibitor]:
    wanted = list(ids)
    if not wanted:
        return []
    return list(
        (
            await db.execute(
                select(Exhibitor).where(Exhibitor.id.in_(wanted)).order_by(Exhibitor.name)
            )
        ).scalars()
    )


async def account_names(db: AsyncSession, ids: Iterable[int | None]) -> dict[int, str]:
    """Display names (or emails) of the accounts that moved, called or noted a lead."""
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    rows = await db.execute(
        select(Account.id, Account.display_name, Account.email).where(Account.id.in_(wanted))
    )
    return {r.id: r.display_name or r.email or f"account {r.id}" for r in rows}


async def rules_history(db: AsyncSession, event_id: int, limit: int = 50) -> Sequence[RulesVersion]:
    return (
        (
            await db.execute(
                select(RulesVersion)
                .where(RulesVersion.event_id == event_id)
                .order_by(RulesVersion.version.desc())
                .limit(limit)
            )
        )
        .scalars()
        .all()
    )


# -- the sales report -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReportLead:
    id: int
    stage: str
    cell: str
    engagement: float
    mql_at: dt.datetime | None


@dataclass(frozen=True, slots=True)
class ReportMove:
    lead_id: int
    from_stage: str
    to_stage: str
    reason: str | None
    actor_id: int | None
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class ReportData:
    leads: list[ReportLead]
    moves: list[ReportMove]
    touches: dict[int, list[dt.datetime]]  # lead id -> when staff called or noted it


async def report_data(
    db: AsyncSession, event_id: int, *, exhibitor_id: int | None, event_level: bool
) -> ReportData:
    """The leads of one exhibitor (or every exhibitor's, or the event-level ones) with their
    transitions and the times staff touched them (calls, notes)."""
    scope = select(Lead.id).where(Lead.event_id == event_id)
    if exhibitor_id is not None:
        scope = scope.where(Lead.exhibitor_id == exhibitor_id)
    elif event_level:
        scope = scope.where(Lead.exhibitor_id.is_(None))
    else:
        scope = scope.where(Lead.exhibitor_id.is_not(None))
    ids = scope.scalar_subquery()
    lead_rows = await db.execute(
        select(Lead.id, Lead.stage, Lead.cell, Lead.engagement, Lead.mql_at).where(Lead.id.in_(ids))
    )
    leads = [ReportLead(r.id, r.stage, r.cell, r.engagement, r.mql_at) for r in lead_rows]
    t = LeadTransition
    move_rows = await db.execute(
        select(t.lead_id, t.from_stage, t.to_stage, t.reason, t.actor_id, t.at)
        .where(t.lead_id.in_(ids))
        .order_by(t.at, t.id)
    )
    moves = [
        ReportMove(r.lead_id, r.from_stage, r.to_stage, r.reason, r.actor_id, r.at)
        for r in move_rows
    ]
    touches: dict[int, list[dt.datetime]] = {}
    for table in (Call, LeadNote):
        rows = await db.execute(select(table.lead_id, table.at).where(table.lead_id.in_(ids)))
        for lead_id, at in rows:
            touches.setdefault(lead_id, []).append(at)
    return ReportData(leads, moves, touches)
