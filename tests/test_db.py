"""The database layer: one transaction per request, UTC timestamps, SQLite pragmas."""

from __future__ import annotations

import asyncio
import datetime as dt

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.db import DbSession, attach_loaded
from app.errors import Conflict
from app.events.models import Event
from tests.factories import make_event


def _add_routes(app: FastAPI) -> None:
    @app.post("/api/_test/ok")
    async def ok(db: DbSession) -> dict[str, str]:
        db.add(Account(email="kept@example.com"))
        return {"status": "ok"}

    @app.post("/api/_test/fail")
    async def fail(db: DbSession) -> dict[str, str]:
        db.add(Account(email="lost@example.com"))
        await db.flush()
        raise Conflict("refused on purpose")


async def _emails(db: AsyncSession) -> list[str | None]:
    return list((await db.execute(select(Account.email).order_by(Account.email))).scalars())


async def test_request_commits_when_handler_returns(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _add_routes(app)
    assert (await client.post("/api/_test/ok")).status_code == 200
    assert await _emails(db) == ["kept@example.com"]


async def test_request_rolls_back_when_handler_raises(
    app: FastAPI, client: httpx.AsyncClient, db: AsyncSession
) -> None:
    _add_routes(app)
    response = await client.post("/api/_test/fail")
    assert response.status_code == 409
    assert response.json()["error"] == {"code": "app.conflict", "message": "refused on purpose"}
    assert await _emails(db) == []


async def test_timestamps_come_back_timezone_aware_utc(db: AsyncSession) -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    event = await make_event(db, starts_at=dt.datetime(2026, 3, 1, 9, 0, tzinfo=berlin))
    event_id = event.id
    await db.commit()
    db.expire_all()
    row = (await db.execute(select(type(event)).where(type(event).id == event_id))).scalar_one()
    assert row.starts_at == dt.datetime(2026, 3, 1, 8, 0, tzinfo=dt.UTC)
    assert row.starts_at.tzinfo is not None


async def test_naive_timestamps_are_refused(db: AsyncSession) -> None:
    with pytest.raises(Exception, match="naive datetime"):
        await make_event(db, starts_at=dt.datetime(2026, 3, 1, 9, 0))


async def test_foreign_keys_are_enforced(db: AsyncSession) -> None:
    orphan = text(
        "INSERT INTO auth_sessions (token_hash, account_id, created_at, expires_at, user_agent) "
        "VALUES ('x', 999, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, '')"
    )
    with pytest.raises(IntegrityError):
        await db.execute(orphan)


@pytest.mark.only_backend("sqlite")
async def test_sqlite_runs_in_wal_mode(db: AsyncSession) -> None:
    assert (await db.execute(text("PRAGMA foreign_keys"))).scalar_one() == 1
    assert (await db.execute(text("PRAGMA journal_mode"))).scalar_one() == "wal"


@pytest.mark.only_backend("sqlite")
async def test_the_apps_sqlite_log_is_copied_back_by_a_thread_not_by_commits(
    app: FastAPI, db: AsyncSession
) -> None:
    """A checkpoint syncs the database file: the app's commits (on the event loop) never
    run one; its Checkpointer does, every second, from a thread."""
    assert (await db.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 0
    checkpoints = app.state.checkpointer
    for _ in range(100):  # up to 5 s: the first run is a second after startup
        if checkpoints.runs:
            break
        await asyncio.sleep(0.05)
    assert checkpoints.runs >= 1
    assert checkpoints.last[0] == 0  # not busy: the log was copied back


async def test_savepoint_work_is_undone_when_the_transaction_rolls_back(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        async with session.begin():
            async with session.begin_nested():
                session.add(Account(email="inner@example.com"))
            await session.rollback()
    async with app.state.sessionmaker() as session:
        assert await _emails(session) == []


async def test_failed_savepoint_rolls_back_only_itself(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session, session.begin():
        session.add(Account(email="outer@example.com"))
        await session.flush()

        async def add_duplicate() -> None:
            async with session.begin_nested():
                session.add(Account(email="outer@example.com"))
                await session.flush()

        with pytest.raises(IntegrityError):
            await add_duplicate()
    async with app.state.sessionmaker() as session:
        assert await _emails(session) == ["outer@example.com"]


async def test_request_commits_before_the_response_starts(app: FastAPI, db: AsyncSession) -> None:
    _add_routes(app)
    seen_at_response_start: list[list[str | None]] = []
    messages = [{"type": "http.request", "body": b"", "more_body": False}]

    async def receive() -> dict[str, object]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            async with app.state.sessionmaker() as other:
                seen_at_response_start.append(await _emails(other))

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/_test/ok",
        "raw_path": b"/api/_test/ok",
        "query_string": b"",
        "headers": [(b"host", b"testserver")],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    await app(scope, receive, send)  # type: ignore[arg-type]
    assert seen_at_response_start == [["kept@example.com"]]


async def test_an_attached_row_is_the_sessions_stored_row(db: AsyncSession) -> None:
    event = await make_event(db)
    await db.commit()
    values = {c.key: getattr(event, c.key) for c in Event.__table__.columns}
    db.expunge(event)
    attached = attach_loaded(db, Event, {**values, "name": "Renamed in memory only"})
    # Persistent, with nothing to flush: the session hands it out for the row's key...
    assert await db.get(Event, event.id) is attached
    assert not db.new
    assert not db.dirty
    await db.commit()
    # ...and a change made afterwards is flushed as an ordinary change.
    attached.slug = "renamed"
    await db.commit()
    stored = (await db.execute(select(Event.slug, Event.name).where(Event.id == event.id))).one()
    assert tuple(stored) == ("renamed", values["name"])


@pytest.mark.parametrize("name", ["sqlite", "postgresql"])
def test_timestamp_binds_remember_utc_instants_only(name: str) -> None:
    """The bind processor remembers what it gave for UTC datetimes (a batch writes its `now`
    in every row): the same value again, and never another instant's. The two readings of an
    hour set back compare equal in their zone, so they are converted each time."""
    from zoneinfo import ZoneInfo

    from sqlalchemy.engine import make_url

    from app.db import BIND_MEMORY, UTCDateTime

    driver = "sqlite+aiosqlite" if name == "sqlite" else "postgresql+asyncpg"
    dialect = make_url(f"{driver}://").get_dialect()()
    bind = UTCDateTime().dialect_impl(dialect).bind_processor(dialect)
    assert bind is not None
    now = dt.datetime(2026, 12, 7, 1, 2, 3, 456789, tzinfo=dt.UTC)
    first = bind(now)
    assert bind(now.replace()) == first  # an equal value: remembered or not, the same
    for i in range(BIND_MEMORY + 5):  # past the memory's size: it starts over
        assert bind(now + dt.timedelta(seconds=i + 1)) != first
    assert bind(now) == first
    paris = ZoneInfo("Europe/Paris")
    early = dt.datetime(2026, 10, 25, 2, 30, tzinfo=paris)  # 00:30 UTC
    late = early.replace(fold=1)  # 01:30 UTC, equal to `early` in Python
    assert early == late
    assert bind(early) != bind(late)
    assert bind(late) == bind(dt.datetime(2026, 10, 25, 1, 30, tzinfo=dt.UTC))
    with pytest.raises(ValueError, match="naive datetime"):
        bind(dt.datetime(2026, 12, 7))
