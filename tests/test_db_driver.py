"""Statements at the driver's level (`app.db_driver`) on the test database's dialect."""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import pytest
from sqlalchemy import Table, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import UTCDateTime
from app.db_driver import DriverStatement, Timestamps
from app.leads.models import LeadEvent
from tests.factories import make_event, make_lead, make_registration

_EVENTS = cast(Table, LeadEvent.__table__)
INSTANTS = [
    dt.datetime(2026, 12, 6, 14, 5, 9, 123456, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 6, 14, 5, 9, tzinfo=dt.UTC),  # no microseconds: shorter text
    dt.datetime(1999, 1, 2, 3, 4, 5, 6, tzinfo=dt.timezone(dt.timedelta(hours=5))),
]


async def _a_lead_id(db: AsyncSession) -> int:
    event = await make_event(db)
    return (await make_lead(db, event, await make_registration(db, event))).id


async def test_values_go_in_the_callers_order_whatever_the_sql_order(db: AsyncSession) -> None:
    lead_id = await _a_lead_id(db)
    # The caller's order differs from the column order SQLAlchemy renders.
    add = DriverStatement(
        insert(_EVENTS).values(
            {name: bindparam(name) for name in ("type", "at", "lead_id", "change")}
        ),
        ("at", "change", "type", "lead_id"),
    )
    times = Timestamps.of(db.get_bind().dialect)
    await add.many(
        db,
        [
            (times.to_driver(at), f'{{"n": {n}}}', f"test.{n}", lead_id)
            for n, at in enumerate(INSTANTS)
        ],
    )
    await add.many(db, [])  # nothing to write: no statement
    rows = (
        await db.execute(
            select(LeadEvent.type, LeadEvent.at, LeadEvent.change)
            .where(LeadEvent.type.like("test.%"))
            .order_by(LeadEvent.id)
        )
    ).all()
    assert [tuple(r) for r in rows] == [
        (f"test.{n}", at, {"n": n}) for n, at in enumerate(INSTANTS)
    ]
    read = DriverStatement(
        select(LeadEvent.at, LeadEvent.type)
        .where(LeadEvent.lead_id == bindparam("lead"), LeadEvent.type.like(bindparam("kind")))
        .order_by(LeadEvent.id),
        ("kind", "lead"),
    )
    got = await read.all(db, "test.%", lead_id)
    assert [(times.from_driver(at), kind) for at, kind in got] == [
        (at, f"test.{n}") for n, at in enumerate(INSTANTS)
    ]
    assert all(times.from_driver(at).tzinfo is dt.UTC for at, _ in got)  # type: ignore[union-attr]


async def test_a_statement_with_other_parameters_is_refused(db: AsyncSession) -> None:
    wrong = DriverStatement(
        select(LeadEvent.id).where(LeadEvent.lead_id == bindparam("lead")), ("lead_id",)
    )
    with pytest.raises(ValueError, match="lead_id"):
        await wrong.all(db, 1)


def test_the_sqlite_fast_parse_agrees_with_sqlalchemys() -> None:
    from sqlalchemy.dialects import sqlite

    dialect: Any = sqlite.dialect()
    times = Timestamps(dialect)
    slow = UTCDateTime().dialect_impl(dialect).result_processor(dialect, None)
    assert slow is not None
    for at in INSTANTS:
        text = times.to_driver(at)
        assert isinstance(text, str)
        assert times.from_driver(text) == slow(text) == at
    assert times.from_driver(None) is None
    # The text SQLAlchemy itself writes (equality in SQL compares it): always microseconds.
    assert times.to_driver(INSTANTS[1]) == "2026-12-06 14:05:09.000000"
