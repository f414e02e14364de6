"""Commands that only read never queue behind a write in progress.

On SQLite every app transaction begins IMMEDIATE and so takes the database's one write lock;
a visitor's login check and presence commands read a DEFERRED snapshot instead, so a long
write (a dwell record, a rescore batch) never holds up people walking into a booth.
"""

from __future__ import annotations

import asyncio

from fastapi import FastAPI
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import Booth, Exhibitor
from tests.factories import make_event, make_exhibitor, make_registration, session_token
from tests.realtime.wsclient import client


async def test_a_visitor_connects_and_enters_a_booth_while_a_write_is_in_progress(
    app: FastAPI, ws_url: str, db: AsyncSession
) -> None:
    event = await make_event(db)
    exhibitor = await make_exhibitor(db, event)
    booth_id = (
        await db.execute(select(Booth.id).where(Booth.exhibitor_id == exhibitor.id))
    ).scalar_one()
    registration = await make_registration(db, event)
    account = await db.get(Account, registration.account_id)
    assert account is not None
    token = await session_token(db, account)
    place = f"booth:{booth_id}"
    async with app.state.sessionmaker() as writer:
        # An app transaction that has written and not committed: on SQLite it holds the lock
        # (a request transaction would wait up to the 10 s busy timeout for it).
        await writer.execute(
            update(Exhibitor).where(Exhibitor.id == exhibitor.id).values(name="Busy")
        )
        async with client(ws_url, token) as visitor:
            entered = await asyncio.wait_for(visitor.call("presence.enter", {"place": place}), 3)
            listed = await asyncio.wait_for(visitor.call("presence.list", {"place": place}), 3)
        await writer.rollback()
    assert entered == {"place": place, "count": 1}
    assert listed == {"place": place, "count": 1}


async def test_read_sessions_begin_deferred_and_the_others_immediate(app: FastAPI) -> None:
    rt = app.state.realtime
    async with rt.reader()() as reading:
        options = (await reading.connection()).sync_connection.get_execution_options()
    assert options.get("sqlite_begin") == "DEFERRED"
    async with rt.sessionmaker() as writing:
        options = (await writing.connection()).sync_connection.get_execution_options()
    assert options.get("sqlite_begin", "IMMEDIATE") == "IMMEDIATE"
