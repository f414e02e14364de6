"""Database plumbing: declarative base, UTC timestamps, engine and per-request sessions."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, Final, TypeVar

from fastapi import Depends, Path, Request
from sqlalchemy import DateTime, MetaData, event
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, make_transient_to_detached
from sqlalchemy.orm.attributes import manager_of_class
from sqlalchemy.pool import ConnectionPoolEntry, PoolProxiedConnection
from sqlalchemy.types import TypeDecorator

from app.db_sqlite import (
    DEFAULT_BEGIN,
    WAL_LIMIT_BYTES,
    Checkpointer,
    OneHopConnection,
    OneHopDBAPI,
    dbapi,
)

T = TypeVar("T")

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC timestamps")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        convert = super().bind_processor(dialect)
        return None if convert is None else _remembering(convert)


BIND_MEMORY: Final = 1024
"""Timestamps whose driver value a bind processor remembers (then it starts over)."""


def _remembering(convert: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """`convert` (UTC, then the driver's form: on SQLite SQLAlchemy formats the text), which
    remembers what it gave for the last BIND_MEMORY aware datetimes. A batch writes the same
    instant many times (its `now` in every row's created_at and updated_at, and in every
    outbox event), and on SQLite each conversion cost some 2 µs: a tenth of a batch's time.
    Only datetimes in UTC itself are remembered: two of them are equal only at the same
    instant (in a zone with daylight saving, the two readings of an hour set back compare
    equal), and naive values still fail in `process_bind_param`."""
    known: dict[dt.datetime, Any] = {}

    def process(value: Any) -> Any:
        if type(value) is not dt.datetime or value.tzinfo is not dt.UTC:
            return convert(value)
        found = known.get(value, _MISSING)
        if found is _MISSING:
            if len(known) >= BIND_MEMORY:
                known.clear()
            found = known[value] = convert(value)
        return found

    return process


_MISSING: Final = object()


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {dt.datetime: UTCDateTime()}


def _sqlite_connect(dbapi_connection: Any, _record: ConnectionPoolEntry) -> None:
    sqlite_pragmas(dbapi_connection)


def sqlite_pragmas(dbapi_connection: Any, *, checkpoints: bool = True) -> None:
    """Set up a SQLite connection as the app's engine does (also used by the bench to time the
    bare driver alike). `checkpoints=False`: no COMMIT copies the write-ahead log back itself
    (`_no_autocheckpoint`, for a file a `Checkpointer` looks after)."""
    # Take transaction control from the driver (its legacy mode commits SAVEPOINT work
    # early and never wraps DDL); _sqlite_begin then emits BEGIN itself.
    dbapi_connection.isolation_level = None
    if not checkpoints:
        _no_autocheckpoint(dbapi_connection, None)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    # When the write-ahead log starts over, its file is cut back to this size (without it the
    # file keeps the largest size it ever reached).
    cursor.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
    cursor.close()


def _sqlite_begin(conn: Connection) -> None:
    # IMMEDIATE takes the write lock up front: a transaction that reads and then writes
    # waits for another writer instead of failing with "database is locked".
    # execution_options(sqlite_begin=...) picks another mode: "DEFERRED" for long read-only
    # work (exports), "AUTOCOMMIT" for statement-level commits (like READ COMMITTED).
    # sqlite_inline=True/False says where the statements run (app/db_sqlite.py): by default
    # IMMEDIATE transactions run on the event loop's thread, the others in aiosqlite's.
    options = conn.get_execution_options()
    mode = options.get("sqlite_begin", "IMMEDIATE")
    inline = bool(options.get("sqlite_inline", mode == "IMMEDIATE"))
    dbapi_connection = conn.connection.dbapi_connection
    if isinstance(dbapi_connection, OneHopConnection):
        dbapi_connection.next_begin = (mode, inline)  # _sqlite_do_begin begins it
    elif mode != "AUTOCOMMIT":  # another driver (tests use plain pysqlite engines)
        conn.exec_driver_sql("BEGIN DEFERRED" if mode == "DEFERRED" else "BEGIN IMMEDIATE")


def _sqlite_do_begin(dbapi_connection: PoolProxiedConnection) -> None:
    # The dialect's do_begin (a no-op for SQLite drivers), called right after the "begin"
    # event: an error raised here is handled as a failed statement's is (wrapped in
    # sqlalchemy.exc.OperationalError, and a dead connection invalidated), which an error
    # raised by the event is not.
    connection = dbapi_connection.dbapi_connection
    if isinstance(connection, OneHopConnection):
        mode, inline = connection.next_begin
        connection.next_begin = DEFAULT_BEGIN
        connection.begin(mode, inline=inline)


def _no_autocheckpoint(dbapi_connection: Any, _record: ConnectionPoolEntry | None) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")  # a Checkpointer does it (app/db_sqlite.py)
    cursor.close()


def make_engine(url: str, *, echo: bool = False, checkpoints: bool = False) -> AsyncEngine:
    """The engine for `url`. `checkpoints=True` (the app's engine): on a SQLite file, no
    COMMIT copies the write-ahead log back itself; run `checkpointer(engine)` beside it."""
    if url.startswith("sqlite"):
        engine = create_async_engine(url, echo=echo, module=dbapi())
        event.listen(engine.sync_engine, "connect", _sqlite_connect)
        if checkpoints and _checkpointed_file(engine) is not None:
            event.listen(engine.sync_engine, "connect", _no_autocheckpoint)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        engine.sync_engine.dialect.do_begin = _sqlite_do_begin  # type: ignore[method-assign]
        return engine
    return create_async_engine(url, echo=echo, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _checkpointed_file(engine: AsyncEngine) -> str | None:
    """The SQLite file whose log a `Checkpointer` copies back (None: another database, in
    memory, or a `file:` URI, which keeps SQLite's own checkpoints)."""
    path = engine.url.database
    if (
        engine.dialect.name != "sqlite"
        or not path
        or path == ":memory:"
        or path.startswith("file:")
        or engine.url.query.get("uri")
    ):
        return None
    return path


def checkpointer(engine: AsyncEngine) -> Checkpointer | None:
    """The `Checkpointer` of the app's SQLite file engine, or None (see `_checkpointed_file`)."""
    path = _checkpointed_file(engine)
    if path is None:
        return None
    dbapi = engine.sync_engine.dialect.dbapi
    writers = dbapi.writer_lock if isinstance(dbapi, OneHopDBAPI) else None
    return Checkpointer(path, writers=writers)


def attach_loaded(db: AsyncSession, model: type[T], values: dict[str, Any]) -> T:
    """An instance of `model` holding `values` (every column, the primary key included),
    joined to the session as the row already stored: persistent, nothing to flush.

    For rows the caller has just written with a Core statement. The values go straight into
    the instance's `__dict__`, as SQLAlchemy's loader fills an object from a row, with no
    attribute events: a third of the cost of `model(**values)` and `make_transient_to_detached`
    (about 60 µs against 180 µs for a lead's 23 columns here)."""
    instance: T = manager_of_class(model).new_instance()
    instance.__dict__.update(values)
    make_transient_to_detached(instance)
    db.add(instance)
    return instance


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=True)


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the handler returns, rolled back on error."""
    sessionmaker: async_sessionmaker[AsyncSession] = request.app.state.sessionmaker
    async with sessionmaker() as session, session.begin():
        yield session


# scope="function": commit before the response is sent, so a browser following the redirect
# after a form post always sees what the post wrote (the default would commit after).
DbSession = Annotated[AsyncSession, Depends(get_session, scope="function")]
RowId = Annotated[int, Path(ge=1, le=2**31 - 1, description="A row id")]
"""A row id in a URL: beyond the id columns' range it is a clear 422, never a driver error."""
