"""Queries of the rescore job: selects by registration range and executemany updates, run at
the driver's level (`app.db_driver`): no ORM objects and no per-value processing in the loop."""

from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    Table,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db_driver import DriverStatement
from app.events.models import Registration
from app.leads.models import EVENT_SCOPE, Activity, Lead, RulesVersion
from app.leads.repository import FACT_COLUMNS, SCORE_COLUMNS


async def lead_ranges(db: AsyncSession, event_id: int, size: int) -> list[tuple[int, int]]:
    """The event's leads in batches of `size` by id, as (first id, last id) ranges (a range
    may span other events' ids: every query also filters by event). The database numbers
    the rows and returns each batch's first and the very last: a few dozen rows, not one per
    lead, for the event loop to take."""
    numbered = (
        select(
            Lead.id,
            func.row_number().over(order_by=Lead.id).label("n"),
            func.count().over().label("total"),
        )
        .where(Lead.event_id == event_id)
        .subquery()
    )
    rows = (
        await db.execute(
            select(numbered.c.id, numbered.c.n, numbered.c.total)
            .where(or_((numbered.c.n - 1) % size == 0, numbered.c.n == numbered.c.total))
            .order_by(numbered.c.id)
        )
    ).all()
    if not rows:
        return []
    starts = [row.id for row in rows if (row.n - 1) % size == 0]
    ends = [following - 1 for following in starts[1:]] + [rows[-1].id]
    return list(zip(starts, ends, strict=True))


_LEADS = cast(Table, Lead.__table__)
_REGISTRATIONS = cast(Table, Registration.__table__)
_ACTIVITIES = cast(Table, Activity.__table__)
_RANGE = ("event_id", "first", "last")


_IN_RANGE = and_(
    # "+ 0": on SQLite without statistics the planner would read the event's every lead by
    # its index on event_id; this way it walks the id range (and gives id order for free).
    _LEADS.c.event_id + literal_column("0") == bindparam("event_id"),
    _LEADS.c.id.between(bindparam("first"), bindparam("last")),
)


_r, _l = _REGISTRATIONS.c, _LEADS.c
LEADS_WITH_PROFILES = DriverStatement(
    select(
        _l.id,
        _l.registration_id,
        _l.scope,
        _l.stage,
        _l.reset_at,
        _l.mql_at,
        _l.updated_at,
        _r.job_level,
        _r.company_type,
        _r.company_size,
        _r.budget,
        _r.timeframe,
        _r.country,
        _r.email,
        _l.grade,
        _l.tier,
        _l.cell,
        _l.buying_stage,
    )
    .join(_REGISTRATIONS, _r.id == _l.registration_id)
    .where(_IN_RANGE)
    .order_by(_l.id),
    _RANGE,
)
"""The event's leads of ids first..last, in id order, as driver values: id, registration id,
scope, stage, reset_at, mql_at, updated_at, the 7 fields of a Profile, then the fields a
`lead.updated` event compares (grade, tier, cell, buying stage)."""

_a = _ACTIVITIES.c
ACTIVITY_ROWS = DriverStatement(
    select(*(_a[c.key] for c in FACT_COLUMNS), _l.id, _l.scope)
    .select_from(_LEADS)
    .join(
        _ACTIVITIES,
        and_(
            _a.event_id == _l.event_id,
            _a.registration_id == _l.registration_id,
            # The event lead scores all its attendee's activities, an exhibitor's lead those
            # at that exhibitor.
            or_(_l.scope == literal_column(str(EVENT_SCOPE)), _a.exhibitor_id == _l.scope),
        ),
    )
    .where(_IN_RANGE)
    .order_by(_l.id, _a.id),
    _RANGE,
)
"""The activities each lead of ids first..last scores, as driver values: the ActivityFact
fields, then the lead's id and scope; in lead order (an activity comes once for the event
lead and once more for the exhibitor's)."""

# The rescore's values of SCORE_COLUMNS, then the lead id and its updated_at as read: a lead
# changed since it was read is skipped (the recorder already folded it under these rules).
UPDATE_PARAMS = (*SCORE_COLUMNS, "id", "seen")
LEAD_UPDATE = DriverStatement(
    update(_LEADS)
    .where(_l.id == bindparam("id"), _l.updated_at == bindparam("seen"))
    .values({name: bindparam(name) for name in SCORE_COLUMNS}),
    UPDATE_PARAMS,
)


async def update_leads(db: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    """One executemany of driver values in UPDATE_PARAMS order (JSON as encoded text)."""
    # In id order: the rows read by registration sit all over the table, and walking it in
    # order touches each page once (on SQLite 2.6x faster for 150k scattered leads); on
    # PostgreSQL the locks are taken in one order too.
    rows.sort(key=itemgetter(ID))
    await LEAD_UPDATE.many(db, rows)


ID = UPDATE_PARAMS.index("id")


async def not_written(db: AsyncSession, lead_ids: list[int], written_at: dt.datetime) -> set[int]:
    """Of `lead_ids`, those the rescore's update (stamped `written_at`) skipped because they
    changed since it read them."""
    return set(
        (
            await db.execute(
                select(Lead.id).where(Lead.id.in_(lead_ids), Lead.updated_at != written_at)
            )
        ).scalars()
    )


async def count_leads(db: AsyncSession, event_id: int) -> int:
    return (
        await db.execute(select(func.count()).select_from(Lead).where(Lead.event_id == event_id))
    ).scalar_one()


async def set_rescore_progress(db: AsyncSession, version_id: int, **values: Any) -> None:
    await db.execute(update(RulesVersion).where(RulesVersion.id == version_id).values(**values))
