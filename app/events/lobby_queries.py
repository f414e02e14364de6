"""Queries behind the home page and the event lobby."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Booth, Exhibitor, Tier
from app.events.models import Event, EventStatus, Role, RoleName
from app.sessions.models import ProgramSession

FEATURED_TIERS = (Tier.platinum, Tier.gold)


async def list_visible_events(db: AsyncSession, account: Account | None) -> Sequence[Event]:
    """Every published event, plus the drafts this account organizes (all drafts for admins)."""
    query = select(Event)
    if account is None:
        query = query.where(Event.status != EventStatus.draft)
    elif not account.is_admin:
        organizes = select(Role.event_id).where(
            Role.account_id == account.id, Role.role == RoleName.organizer
        )
        query = query.where(or_(Event.status != EventStatus.draft, Event.id.in_(organizes)))
    return (await db.execute(query.order_by(Event.starts_at, Event.id))).scalars().all()


async def sessions_on_now(
    db: AsyncSession, event: Event, now: dt.datetime
) -> Sequence[ProgramSession]:
    """Program sessions whose time window contains `now`."""
    query = (
        select(ProgramSession)
        .where(
            ProgramSession.event_id == event.id,
            ProgramSession.starts_at <= now,
            ProgramSession.ends_at > now,
        )
        .order_by(ProgramSession.starts_at, ProgramSession.id)
    )
    return (await db.execute(query)).scalars().all()


async def sessions_up_next(
    db: AsyncSession, event: Event, now: dt.datetime, limit: int = 3
) -> Sequence[ProgramSession]:
    """The next `limit` program sessions that have not started yet."""
    query = (
        select(ProgramSession)
        .where(ProgramSession.event_id == event.id, ProgramSession.starts_at > now)
        .order_by(ProgramSession.starts_at, ProgramSession.id)
        .limit(limit)
    )
    return (await db.execute(query)).scalars().all()


async def featured_booths(db: AsyncSession, event: Event) -> Sequence[tuple[Exhibitor, Booth]]:
    """Platinum booths first, then gold, each tier by exhibitor name."""
    query = (
        select(Exhibitor, Booth)
        .join(Booth, Booth.exhibitor_id == Exhibitor.id)
        .where(Exhibitor.event_id == event.id, Booth.tier.in_(FEATURED_TIERS))
        .order_by(Exhibitor.name, Exhibitor.id)
    )
    rows = [(row.Exhibitor, row.Booth) for row in (await db.execute(query)).all()]
    return sorted(rows, key=lambda row: FEATURED_TIERS.index(Tier(row[1].tier)))
