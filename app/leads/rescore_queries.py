"""Queries of the rescore job: Core selects by registration range and executemany updates,
no ORM objects in the hot loop."""

from __future__ import annotations

from collections.abc import Sequence
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    Table,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.events.models import Registration
from app.leads.models import Activity, Lead, RulesVersion
from app.leads.repository import FACT_COLUMNS, SCORE_COLUMNS, AnyRow, EncodedJSON


async def registration_ids(db: AsyncSession, event_id: int) -> list[int]:
    return list(
        (
            await db.execute(
                select(Registration.id)
                .where(Registration.event_id == event_id)
                .order_by(Registration.id)
            )
        ).scalars()
    )


async def leads_with_profiles_between(
    db: AsyncSession | AsyncConnection, event_id: int, first: int, last: int
) -> Sequence[AnyRow]:
    """Leads of registrations first..last, ordered by registration: id, registration id,
    scope, stage, reset_at, mql_at, updated_at, the 7 fields of a Profile, then the fields
    a `lead.updated` event compares (grade, tier, cell, buying stage)."""
    r = Registration
    return (
        await db.execute(
            select(
                Lead.id,
                Lead.registration_id,
                Lead.scope,
                Lead.stage,
                Lead.reset_at,
                Lead.mql_at,
                Lead.updated_at,
                r.job_level,
                r.company_type,
                r.company_size,
                r.budget,
                r.timeframe,
                r.country,
                r.email,
                Lead.grade,
                Lead.tier,
                Lead.cell,
                Lead.buying_stage,
            )
            .join(r, r.id == Lead.registration_id)
            .where(Lead.event_id == event_id, Lead.registration_id.between(first, last))
            .order_by(Lead.registration_id, Lead.scope)
        )
    ).all()


async def activity_rows_between(
    db: AsyncSession | AsyncConnection, event_id: int, first: int, last: int
) -> Sequence[AnyRow]:
    """Activities of registrations first..last: the ActivityFact fields, then the
    registration id; ordered by registration (the event-registration index)."""
    a = Activity
    return (
        await db.execute(
            select(*FACT_COLUMNS, a.registration_id)
            .where(a.event_id == event_id, a.registration_id.between(first, last))
            .order_by(a.registration_id, a.id)
        )
    ).all()


# Skips a lead changed since it was read: the recorder already folded it under these rules.
_LEADS = cast(Table, Lead.__table__)
_LEAD_UPDATE = (
    update(_LEADS)
    .where(_LEADS.c.id == bindparam("b_id"), _LEADS.c.updated_at == bindparam("b_seen"))
    .values(
        {
            name: bindparam(f"b_{name}", type_=EncodedJSON())
            if name in ("state", "contributions")
            else bindparam(f"b_{name}")
            for name in SCORE_COLUMNS
        }
    )
)


async def update_leads(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Executemany; each row has b_id, b_seen (updated_at as read) and b_<column>, with
    state and contributions as encoded JSON text."""
    if rows:
        # In id order: the rows read by registration sit all over the table, and walking
        # it in order touches each page once (on SQLite 2.6x faster for 150k scattered
        # leads); on PostgreSQL the locks are taken in one order too.
        rows.sort(key=itemgetter("b_id"))
        await db.execute(_LEAD_UPDATE, rows)


async def count_leads(db: AsyncSession, event_id: int) -> int:
    return (
        await db.execute(select(func.count()).select_from(Lead).where(Lead.event_id == event_id))
    ).scalar_one()


async def set_rescore_progress(db: AsyncSession, version_id: int, **values: Any) -> None:
    await db.execute(update(RulesVersion).where(RulesVersion.id == version_id).values(**values))
