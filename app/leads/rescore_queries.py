"""Queries of the rescore job: selects by ranges of lead ids and executemany updates, run at
the driver's level (`app.db_driver`): no ORM objects and no per-value processing in the loop."""

from __future__ import annotations

import datetime as dt
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    func,
    literal_column,
    or_,
    select,
    true,
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
    _LEADS.c.event_id == bindparam("event_id"),
    _LEADS.c.id.between(bindparam("first"), bindparam("last")),
)  # on the leads' (event_id, id) index


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


def _activities_of(
    leads: ColumnElement[bool], activities: ColumnElement[bool]
) -> dict[str, DriverStatement]:
    """The statement by dialect name ("" for any other than PostgreSQL)."""
    plain = (
        select(*(_a[c.key] for c in FACT_COLUMNS), _l.id, _l.scope)
        .select_from(_LEADS)
        .join(_ACTIVITIES, and_(_a.registration_id == _l.registration_id, activities))
        .where(_IN_RANGE, leads)
        .order_by(_l.id, _a.id)
    )
    # PostgreSQL would join by hashing the event's whole activity table for every batch (a
    # seq scan of a million rows, twice a batch, on the million-activity bench): each lead's
    # activities are looked up on the index instead, in a LATERAL subquery that OFFSET 0
    # keeps from being flattened back into the join. SQLite's planner loops so by itself.
    each = (
        select(*(_a[c.key] for c in FACT_COLUMNS))
        .where(_a.registration_id == _l.registration_id, activities)
        .offset(literal_column("0"))
        .lateral("a")
    )
    lateral = (
        select(*each.c, _l.id, _l.scope)
        .select_from(_LEADS)
        .join(each, true())
        .where(_IN_RANGE, leads)
        .order_by(_l.id, each.c.id)
    )
    return {"": DriverStatement(plain, _RANGE), "postgresql": DriverStatement(lateral, _RANGE)}


EVENT_LEAD_ACTIVITIES = _activities_of(
    _l.scope == literal_column(str(EVENT_SCOPE)), _a.event_id == _l.event_id
)
"""The activities of the event leads of ids first..last: all their attendee's (on the
event-registration index), as driver values: the ActivityFact fields, then the lead's id and
scope; in lead order. By dialect name (`for_dialect`)."""
EXHIBITOR_LEAD_ACTIVITIES = _activities_of(
    _l.scope != literal_column(str(EVENT_SCOPE)), _a.exhibitor_id == _l.scope
)
"""The same for the exhibitor leads of ids first..last: their attendee's activities at that
exhibitor (on the exhibitor-registration index, so an attendee with many exhibitor leads
does not have every activity read once per lead)."""


def for_dialect(statements: dict[str, DriverStatement], name: str) -> DriverStatement:
    return statements.get(name, statements[""])


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
    # In id order, as the table holds them: each page is touched once (on SQLite 2.6x faster
    # than in any order for 150k scattered leads); on PostgreSQL the locks are taken in one
    # order too. The rescore's rows come sorted already (an already sorted list sorts in
    # one pass).
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
