"""SQLite's one-trip cursor (app/db_sqlite.py) answers as the driver's own cursor does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine

from app.db import make_engine
from app.db_sqlite import OneHopCursor

meta = MetaData()
things = Table(
    "things",
    meta,
    Column("id", Integer, primary_key=True),
    Column("name", String(20), unique=True, nullable=False),
)


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'one-trip.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(meta.create_all)
    yield engine
    await engine.dispose()


async def test_the_app_engine_uses_the_one_trip_cursor(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        raw = await conn.get_raw_connection()
        assert isinstance(raw.dbapi_connection.cursor(), OneHopCursor)  # type: ignore[union-attr]


async def test_ids_row_counts_rows_and_errors(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        first = await conn.execute(insert(things).values(name="a"))
        assert first.inserted_primary_key == (1,)
        await conn.execute(insert(things), [{"name": f"n{i}"} for i in range(2000)])
        changed = await conn.execute(
            update(things).where(things.c.id > 1000).values(name=things.c.name + "!")
        )
        assert changed.rowcount == 1001
        returned = await conn.execute(
            insert(things).values(name="r").returning(things.c.id, things.c.name)
        )
        assert returned.all() == [(2002, "r")]
        rows = (await conn.execute(select(things.c.id).order_by(things.c.id))).scalars().all()
        assert rows == list(range(1, 2003))
        assert (await conn.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
        assert (await conn.execute(select(things).where(things.c.id == -1))).first() is None
    with pytest.raises(IntegrityError):
        async with engine.begin() as conn:
            await conn.execute(insert(things).values(name="a"))
    async with engine.connect() as conn:  # the failed transaction was rolled back, nothing else
        count = (await conn.execute(text("SELECT count(*) FROM things"))).scalar_one()
    assert count == 2002
