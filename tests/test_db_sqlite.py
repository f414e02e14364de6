"""SQLite through app/db_sqlite.py: its cursor answers as the driver's own does, and its
transactions run inline or in the thread without ever blocking the event loop on a lock."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog.testing
from sqlalchemy import Column, Integer, MetaData, String, Table, insert, select, text, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from app import db_sqlite
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


# Where statements run: IMMEDIATE transactions on the event loop's thread, DEFERRED reads in
# aiosqlite's, and no wait for a lock ever blocks the event loop.


async def _thread_of_statements(engine: AsyncEngine, **options: object) -> int:
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).dbapi_connection
        raw.raw.create_function("thread_id", 0, threading.get_ident)  # type: ignore[union-attr]
        conn = await conn.execution_options(**options)
        return int((await conn.execute(text("SELECT thread_id()"))).scalar_one())


async def test_immediate_transactions_run_inline_and_deferred_reads_in_the_thread(
    engine: AsyncEngine,
) -> None:
    loop_thread = threading.get_ident()
    assert await _thread_of_statements(engine) == loop_thread
    assert await _thread_of_statements(engine, sqlite_begin="DEFERRED") != loop_thread
    inline_read = {"sqlite_begin": "DEFERRED", "sqlite_inline": True}
    assert await _thread_of_statements(engine, **inline_read) == loop_thread
    assert await _thread_of_statements(engine, sqlite_inline=False) != loop_thread


class Ticker:
    """Counts event loop turns while a writer waits: proof that the loop was not blocked."""

    def __init__(self) -> None:
        self.ticks = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0.005)
            self.ticks += 1

    def stop(self) -> None:
        self.task.cancel()


async def test_writers_of_one_process_queue_without_blocking_the_loop(
    engine: AsyncEngine,
) -> None:
    order: list[str] = []

    async def write(name: str, hold: float) -> None:
        async with engine.begin() as conn:
            order.append(f"{name} began")
            await conn.execute(insert(things).values(name=name))
            await asyncio.sleep(hold)  # the write lock is held across an await
            order.append(f"{name} commits")

    ticker = Ticker()
    first = asyncio.create_task(write("first", 0.3))
    await asyncio.sleep(0.05)
    await write("second", 0)
    await first
    ticker.stop()
    assert order == ["first began", "first commits", "second began", "second commits"]
    assert ticker.ticks >= 20  # the loop turned all the while the second writer waited
    async with engine.connect() as conn:
        names = (await conn.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert list(names) == ["first", "second"]


async def test_a_writer_waits_for_another_process_without_blocking_the_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    held = threading.Event()
    release = threading.Event()

    def other_process() -> None:  # another connection, as a CLI command or a second worker
        other = sqlite3.connect(tmp_path / "one-trip.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO things (name) VALUES ('other')")
        held.set()
        release.wait(5)
        other.execute("COMMIT")
        other.close()

    thread = threading.Thread(target=other_process)
    thread.start()
    assert await asyncio.to_thread(held.wait, 5)
    asyncio.get_running_loop().call_later(0.3, release.set)
    ticker = Ticker()
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="ours"))
    ticker.stop()
    thread.join()
    assert ticker.ticks >= 20
    async with engine.connect() as conn:
        names = (await conn.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert list(names) == ["other", "ours"]


async def test_a_write_lock_held_too_long_is_a_clear_error_not_a_hang(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_sqlite, "BUSY_SECONDS", 0.2)
    async with engine.begin() as outer:
        await outer.execute(insert(things).values(name="outer"))
        # A second write transaction in the same task can never get the lock.
        with pytest.raises(OperationalError, match="database is locked"):
            async with engine.begin() as inner:
                await inner.execute(insert(things).values(name="inner"))
    async with engine.begin() as conn:  # the lock was given back: writing goes on
        await conn.execute(insert(things).values(name="after"))
        names = (await conn.execute(select(things.c.name).order_by(things.c.id))).scalars()
        assert list(names) == ["outer", "after"]


async def test_the_writer_lock_is_given_back_after_a_failed_transaction(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="a"))
    for _ in range(3):
        with pytest.raises(IntegrityError):
            async with engine.begin() as conn:
                await conn.execute(insert(things).values(name="a"))
    async with engine.begin() as conn:
        await conn.execute(insert(things).values(name="b"))
    async with engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM things"))).scalar_one() == 2


async def test_a_slow_statement_on_the_event_loop_is_logged(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_sqlite, "SLOW_INLINE_SECONDS", 0.0)
    with structlog.testing.capture_logs() as logs:
        async with engine.begin() as conn:
            await conn.execute(insert(things).values(name="slow"))
        async with engine.connect() as conn:  # in the thread: the loop was not held up
            conn = await conn.execution_options(sqlite_begin="DEFERRED")
            await conn.execute(select(things.c.id))
    slow = [e for e in logs if e["event"] == "sqlite.slow_inline"]
    assert [e["sql"].split()[0] for e in slow] == ["INSERT", "COMMIT"]


async def test_a_cancelled_writer_gives_the_lock_back(engine: AsyncEngine) -> None:
    holding = asyncio.Event()

    async def writer() -> None:
        async with engine.begin() as conn:
            await conn.execute(insert(things).values(name="cancelled"))
            holding.set()
            await asyncio.sleep(30)

    task = asyncio.create_task(writer())
    await holding.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with asyncio.timeout(3), engine.begin() as conn:  # not 10 s, nor forever
        await conn.execute(insert(things).values(name="next"))
    async with engine.connect() as conn:
        names = (await conn.execute(select(things.c.name))).scalars()
        assert list(names) == ["next"]


async def test_statements_outside_a_transaction_run_in_the_thread(engine: AsyncEngine) -> None:
    # They may write, and a write there may wait for another writer: never on the loop.
    loop_thread = threading.get_ident()
    autocommit = {"sqlite_begin": "AUTOCOMMIT", "sqlite_inline": True}
    assert await _thread_of_statements(engine, **autocommit) != loop_thread


async def test_a_write_in_an_inline_read_fails_at_once_instead_of_blocking_the_loop(
    engine: AsyncEngine, tmp_path: Path
) -> None:
    other = sqlite3.connect(tmp_path / "one-trip.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        started = asyncio.get_running_loop().time()
        async with engine.connect() as conn:
            conn = await conn.execution_options(sqlite_begin="DEFERRED", sqlite_inline=True)
            await conn.execute(select(things.c.id))  # reading is fine
            with pytest.raises(OperationalError, match="database is locked"):
                await conn.execute(insert(things).values(name="no"))
        assert asyncio.get_running_loop().time() - started < 1  # not busy_timeout's 10 s
    finally:
        other.execute("ROLLBACK")
        other.close()
    async with engine.begin() as conn:  # the thread's transactions wait for a writer again
        await conn.execute(insert(things).values(name="yes"))


async def test_a_failed_begin_leaves_the_connection_out_of_inline_mode(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(db_sqlite, "BUSY_SECONDS", 0.1)
    async with engine.begin() as outer:
        await outer.execute(insert(things).values(name="outer"))
        async with engine.connect() as conn:
            raw = (await conn.get_raw_connection()).dbapi_connection
            with pytest.raises(OperationalError, match="database is locked"):
                await conn.begin()
            assert raw.inline is False  # type: ignore[union-attr]


async def test_a_connection_found_dead_at_begin_is_replaced(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        raw = (await conn.get_raw_connection()).dbapi_connection
        await raw._connection.close()  # type: ignore[union-attr]  # dies while in the pool
    with pytest.raises(OperationalError, match="no active connection") as failed:
        async with engine.begin() as conn:
            await conn.execute(insert(things).values(name="lost"))
    assert failed.value.connection_invalidated
    async with asyncio.timeout(3), engine.begin() as conn:  # a new connection, the lock free
        await conn.execute(insert(things).values(name="next"))
        assert (await conn.execute(select(things.c.name))).scalars().all() == ["next"]


async def test_a_failed_commit_rolls_back_and_lets_the_connection_begin_again(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            text("CREATE TABLE parts (id INTEGER PRIMARY KEY, thing_id INTEGER REFERENCES things)")
        )
    async with engine.connect() as conn:
        transaction = await conn.begin()
        await conn.execute(text("PRAGMA defer_foreign_keys=ON"))  # checked at COMMIT
        await conn.execute(text("INSERT INTO parts (thing_id) VALUES (999)"))
        with pytest.raises(IntegrityError, match="FOREIGN KEY"):
            await transaction.commit()
        await conn.rollback()  # as SQLAlchemy asks after a failed commit
        async with asyncio.timeout(3):  # its own writer lock was not kept
            async with conn.begin():
                await conn.execute(insert(things).values(name="after"))
                parts = (await conn.execute(text("SELECT count(*) FROM parts"))).scalar_one()
    assert parts == 0


async def test_the_apps_commits_never_checkpoint_a_thread_does(tmp_path: Path) -> None:
    """A checkpoint syncs the database file: on the event loop it would stall everything."""
    from app.db import checkpointer

    path = tmp_path / "wal.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}", checkpoints=True)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one() == 0
        for n in range(30):  # thousands of pages of log: past the 1,000 of an autocheckpoint
            async with engine.begin() as conn:
                await conn.execute(
                    insert(things), [{"name": f"{n}-{i}-{'x' * 16}"} for i in range(2000)]
                )
        found = checkpointer(engine)
        assert found is not None
        await found.once()  # what the app's task does every second
        assert found.last is not None
        busy, frames, copied = found.last
        assert frames > 1000  # no COMMIT had copied the log back
        assert (busy, copied) == (0, frames)  # the Checkpointer did, all of it
        async with engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM things"))).scalar_one() == 60000
    finally:
        await engine.dispose()
    for url, checkpoints in (
        (f"sqlite+aiosqlite:///{tmp_path / 'plain.db'}", False),  # other engines: CLI, tests
        (f"sqlite+aiosqlite:///file:{tmp_path / 'uri.db'}?uri=true", True),  # no thread for it
    ):
        other = make_engine(url, checkpoints=checkpoints)
        try:
            async with other.connect() as conn:  # SQLite's own checkpoints
                autocheckpoint = await conn.execute(text("PRAGMA wal_autocheckpoint"))
                assert autocheckpoint.scalar_one() == 1000
        finally:
            await other.dispose()


async def test_the_log_starts_over_while_writers_keep_committing(tmp_path: Path) -> None:
    """Writers commit while the thread copies, so a copy alone would never let SQLite start
    the log over: it would grow for as long as the load lasts."""
    from app.db import checkpointer

    path = tmp_path / "busy.db"
    engine = make_engine(f"sqlite+aiosqlite:///{path}", checkpoints=True)
    found = checkpointer(engine)
    assert found is not None
    found.every = 0.05
    try:
        async with engine.begin() as conn:
            await conn.run_sync(meta.create_all)
        task = asyncio.create_task(found.run())
        commits = 0
        deadline = asyncio.get_running_loop().time() + 1.5
        while asyncio.get_running_loop().time() < deadline or found.runs < 3:
            async with engine.begin() as conn:
                await conn.execute(insert(things).values(name=f"n{commits}"))
            commits += 1
            if commits % 20 == 0:
                await asyncio.sleep(0)  # other requests' turn, the checkpointer's among them
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert found.last is not None
        # Every commit adds at least one frame: had the log never started over, it would
        # hold at least one per commit.
        assert found.last[1] < commits / 2
    finally:
        await engine.dispose()
