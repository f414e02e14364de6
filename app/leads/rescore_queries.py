"""Queries of the rescore job: selects by registration range and executemany updates, run at
the driver's level (`app.db_driver`): no ORM objects and no per-value processing in the loop."""

from __future__ import annotations

import asyncio
import datetime as dt
from operator import itemgetter
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Table,
    and_,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from app.db_driver import DriverStatement
from app.events.models import Registration
from app.leads.models import Activity, Lead, RulesVersion
from app.leads.repository import FACT_COLUMNS, SCORE_COLUMNS


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


_LEADS = cast(Table, Lead.__table__)
_REGISTRATIONS = cast(Table, Registration.__table__)
_ACTIVITIES = cast(Table, Activity.__table__)
_RANGE = ("event_id", "first", "last")


def _between(table: Table) -> ColumnElement[bool]:
    return and_(
        table.c.event_id == bindparam("event_id"),
        table.c.registration_id.between(bindparam("first"), bindparam("last")),
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
    .where(_between(_LEADS))
    .order_by(_l.registration_id, _l.scope),
    _RANGE,
)
"""Leads of registrations first..last, ordered by registration, as driver values: id,
registration id, scope, stage, reset_at, mql_at, updated_at, the 7 fields of a Profile, then
the fields a `lead.updated` event compares (grade, tier, cell, buying stage)."""

ACTIVITY_ROWS = DriverStatement(
    select(*(_ACTIVITIES.c[c.key] for c in FACT_COLUMNS), _ACTIVITIES.c.registration_id)
    .where(_between(_ACTIVITIES))
    .order_by(_ACTIVITIES.c.registration_id, _ACTIVITIES.c.id),
    _RANGE,
)
"""Activities of registrations first..last as driver values: the ActivityFact fields, then
the registration id; ordered by registration (the event-registration index)."""

# The rescore's values of SCORE_COLUMNS, then the lead id and its updated_at as read: a lead
# changed since it was read is skipped (the recorder already folded it under these rules).
UPDATE_PARAMS = (*SCORE_COLUMNS, "id", "seen")
LEAD_UPDATE = DriverStatement(
    update(_LEADS)
    .where(_l.id == bindparam("id"), _l.updated_at == bindparam("seen"))
    .values({name: bindparam(name) for name in SCORE_COLUMNS}),
    UPDATE_PARAMS,
)


UPDATE_CHUNK = 1000
"""Leads per executemany. On SQLite the statements run on the event loop's thread, and a
thousand scattered leads take 15 to 40 ms: between chunks the loop serves what waits."""


async def update_leads(db: AsyncSession, rows: list[tuple[Any, ...]]) -> None:
    """Executemanys of driver values in UPDATE_PARAMS order (JSON as encoded text)."""
    # In id order: the rows read by registration sit all over the table, and walking it in
    # order touches each page once (on SQLite 2.6x faster for 150k scattered leads); on
    # PostgreSQL the locks are taken in one order too.
    rows.sort(key=itemgetter(_ID))
    for start in range(0, len(rows), UPDATE_CHUNK):
        if start:
            await asyncio.sleep(0)
        await LEAD_UPDATE.many(db, rows[start : start + UPDATE_CHUNK])


_ID = UPDATE_PARAMS.index("id")


async def not_written(
    db: AsyncSession, event_id: int, first: int, last: int, written_at: dt.datetime
) -> set[int]:
    """Leads of registrations first..last that the rescore's update (stamped `written_at`)
    skipped because they changed since it read them."""
    return set(
        (
            await db.execute(
                select(Lead.id).where(
                    Lead.event_id == event_id,
                    Lead.registration_id.between(first, last),
                    Lead.updated_at != written_at,
                )
            )
        ).scalars()
    )


async def count_leads(db: AsyncSession, event_id: int) -> int:
    return (
        await db.execute(select(func.count()).select_from(Lead).where(Lead.event_id == event_id))
    ).scalar_one()


async def set_rescore_progress(db: AsyncSession, version_id: int, **values: Any) -> None:
    await db.execute(update(RulesVersion).where(RulesVersion.id == version_id).values(**values))
