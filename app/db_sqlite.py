"""SQLite through aiosqlite: short transactions run on the event loop, long reads in a thread.

A trip to aiosqlite's thread (queue the work, wake the thread, wake the event loop with the
answer) costs 250-400 µs of CPU on a small virtual machine, while the primary-key read or
one-row insert it carries costs about 10 µs in SQLite. SQLAlchemy's adapter makes four trips
per statement (cursor, execute, fetch, close) plus one each for BEGIN and COMMIT.

So a transaction here runs in one of two ways, chosen when it begins:

* **inline** (the default for `IMMEDIATE` transactions, and for any transaction begun with
  `execution_options(sqlite_inline=True)`): every statement, the BEGIN and the COMMIT run
  directly on the event loop's thread. Nothing waits on a lock there: `BEGIN IMMEDIATE` first
  takes the engine's writer lock (an `asyncio.Lock`, so the process's writers queue without
  blocking the loop), then tries SQLite's write lock without a busy timeout and, while
  another process holds it, retries after a growing sleep, for up to `BUSY_SECONDS`. In WAL
  mode reads never wait for a lock, and a COMMIT already holds the write lock.
* **in the thread** (`DEFERRED` transactions, the long reads of exports and rescoring, unless
  they ask for `sqlite_inline=True`; statements outside any transaction): one trip per
  statement, the cursor doing execute, fetch and close together in aiosqlite's thread, so a
  long query never stalls the event loop.

Server-side cursors (`stream()`) keep SQLAlchemy's own adapter (trips to the thread).

In WAL mode a COMMIT that finds the log past a thousand pages copies it back into the
database file and syncs it: a checkpoint, which on the event loop's thread would stall every
request and socket for as long as the disk takes. The app's engine turns that off
(`wal_autocheckpoint=0`) and a `Checkpointer` does it every second from a thread instead.
"""

from __future__ import annotations

import asyncio
import collections
import sqlite3
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Final

import aiosqlite
import structlog
from sqlalchemy.connectors.asyncio import AsyncAdapt_dbapi_connection
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)
from sqlalchemy.util import EMPTY_DICT
from sqlalchemy.util.concurrency import await_

Outcome = tuple[Any, Sequence[Any], int, int | None]

log = structlog.get_logger()

SLOW_INLINE_SECONDS: Final = 0.05
"""An inline statement this slow held up the event loop: it is logged (`sqlite.slow_inline`)
so that the work can move to a DEFERRED transaction (aiosqlite's thread)."""

BUSY_SECONDS: Final = 10.0
"""How long a writer waits for SQLite's write lock before "database is locked"."""
_BUSY_MS: Final = int(BUSY_SECONDS * 1000)

DEFAULT_BEGIN: Final = ("IMMEDIATE", True)
"""A transaction's mode and placement (inline) when no execution option says otherwise."""


def _run(conn: sqlite3.Connection, operation: str, parameters: Any, many: bool) -> Outcome:
    """The statement, its rows and what the cursor says about it (in aiosqlite's thread, or
    inline on the event loop's)."""
    cursor = conn.cursor()
    try:
        if many:
            cursor.executemany(operation, parameters)
        elif parameters is None:
            cursor.execute(operation)
        else:
            cursor.execute(operation, parameters)
        description = cursor.description
        rows = cursor.fetchall() if description is not None else ()
        return description, rows, cursor.rowcount, cursor.lastrowid
    finally:
        cursor.close()


def _check_duration(started: float, operation: str) -> None:
    seconds = time.perf_counter() - started
    if seconds >= SLOW_INLINE_SECONDS:
        log.warning("sqlite.slow_inline", ms=round(seconds * 1000, 1), sql=operation[:300])


async def _nothing() -> None:
    return None


class OneHopCursor(AsyncAdapt_aiosqlite_cursor):
    __slots__ = ("_description", "_lastrowid", "_rowcount")

    def __init__(self, adapt_connection: AsyncAdapt_dbapi_connection) -> None:
        # No aiosqlite cursor: nothing to open (a trip) or to close (another).
        self._adapt_connection = adapt_connection
        self._connection = adapt_connection._connection
        self._cursor = None  # type: ignore[assignment]
        self._rows = collections.deque()
        self._soft_closed_memoized = EMPTY_DICT
        self._description: Any = None
        self._rowcount = -1
        self._lastrowid: int | None = None

    @property
    def description(self) -> Any:
        return self._description

    @property
    def rowcount(self) -> int:
        return self._rowcount

    @property
    def lastrowid(self) -> int:
        return self._lastrowid  # type: ignore[return-value]

    @property
    def arraysize(self) -> int:
        return 1

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        pass

    async def _async_soft_close(self) -> None:
        return None

    def close(self) -> None:
        self._rows.clear()

    async def _execute_async(self, operation: Any, parameters: Any) -> Any:
        return await self._trip(operation, parameters, many=False)

    async def _executemany_async(self, operation: Any, seq_of_parameters: Any) -> Any:
        return await self._trip(operation, seq_of_parameters, many=True)

    def execute(self, operation: Any, parameters: Any = None) -> Any:
        conn: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        if not conn.inline:
            return super().execute(operation, parameters)
        started = time.perf_counter()
        try:
            self._keep(_run(conn.raw, operation, parameters, False))
        except Exception as error:
            conn._handle_exception(error)
        _check_duration(started, operation)
        await_(_nothing())  # AsyncConnection.execute requires one await (AwaitRequired)

    def executemany(self, operation: Any, seq_of_parameters: Any) -> Any:
        conn: OneHopConnection = self._adapt_connection  # type: ignore[assignment]
        if not conn.inline:
            return super().executemany(operation, seq_of_parameters)
        started = time.perf_counter()
        try:
            self._keep(_run(conn.raw, operation, seq_of_parameters, True))
        except Exception as error:
            conn._handle_exception(error)
        _check_duration(started, operation)
        await_(_nothing())

    def _keep(self, outcome: Outcome) -> None:
        self._description, rows, self._rowcount, self._lastrowid = outcome
        if rows:
            self._rows = collections.deque(rows)

    async def _trip(self, operation: Any, parameters: Any, *, many: bool) -> None:
        connection: aiosqlite.Connection = self._connection  # type: ignore[assignment]
        async with self._adapt_connection._execute_mutex:
            outcome: Outcome = await connection._execute(  # type: ignore[no-untyped-call]
                _run, connection._conn, operation, parameters, many
            )
        self._keep(outcome)

    def setinputsizes(self, *inputsizes: Any) -> None:
        return None


class OneHopConnection(AsyncAdapt_aiosqlite_connection):
    """aiosqlite's connection, whose transactions run inline or in its thread (see above)."""

    __slots__ = ("_busy_ms", "_writer", "inline", "next_begin")
    _cursor_cls = OneHopCursor
    dbapi: OneHopDBAPI
    next_begin: tuple[str, bool]
    """The mode and placement of the transaction about to begin (set by app/db.py)."""

    def __init__(self, dbapi: OneHopDBAPI, connection: Any) -> None:
        super().__init__(dbapi, connection)
        self.inline = False  # until a transaction begins inline
        self._writer: asyncio.Lock | None = None  # the engine's writer lock, while held
        self._busy_ms = _BUSY_MS  # as app/db.py's connect hook sets it
        self.next_begin = DEFAULT_BEGIN

    @property
    def raw(self) -> sqlite3.Connection:
        """The sqlite3 connection (opened with check_same_thread=False)."""
        conn: sqlite3.Connection = self._connection._conn
        return conn

    def begin(self, mode: str, *, inline: bool) -> None:
        """Begin a transaction: `IMMEDIATE`, `DEFERRED` or `AUTOCOMMIT` (none).

        Called from the dialect's `do_begin` (app/db.py), so that a failure here is handled
        as any failed statement is: wrapped, and a dead connection invalidated.
        """
        # Statements outside a transaction may write: they run in the thread, where waiting
        # for another writer blocks nothing.
        self.inline = inline and mode != "AUTOCOMMIT"
        try:
            if self._writer is not None:  # the writer lock is ours: waiting for it is a hang
                raise sqlite3.OperationalError("cannot start a transaction within a transaction")
            # Inline, nothing may sleep on a lock: the loop's thread would sleep with it. An
            # inline DEFERRED transaction is for reads (which never wait in WAL mode); a write
            # in it fails at once with "database is locked" while another process writes.
            self._busy(0 if self.inline else _BUSY_MS)
            if mode == "IMMEDIATE":
                await_(self._begin_immediate())
            elif mode == "DEFERRED":
                self.cursor().execute("BEGIN DEFERRED")
        except BaseException as error:
            self.inline = False
            if isinstance(error, (sqlite3.Error, ValueError)):
                self._handle_exception(error)  # "no active connection" becomes a sqlite3 error
            raise

    def _busy(self, ms: int) -> None:
        """Set SQLite's busy timeout (an instant pragma, run on the calling thread)."""
        if self._busy_ms != ms:
            self.raw.execute(f"PRAGMA busy_timeout={ms}")
            self._busy_ms = ms

    async def _begin_immediate(self) -> None:
        lock = self.dbapi.writer_lock()
        deadline = time.monotonic() + BUSY_SECONDS
        try:
            async with asyncio.timeout(BUSY_SECONDS):
                await lock.acquire()
        except TimeoutError:
            raise sqlite3.OperationalError("database is locked") from None
        self._writer = lock
        try:
            if not self.inline:
                await self._connection._execute(_run, self.raw, "BEGIN IMMEDIATE", None, False)
                return
            raw = self.raw
            delay = 0.001
            while True:  # busy_timeout is 0: try, and let the loop turn between tries
                try:
                    raw.execute("BEGIN IMMEDIATE")
                    return
                except sqlite3.OperationalError as error:
                    busy = error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY
                    if not busy or time.monotonic() + delay > deadline:
                        raise
                await asyncio.sleep(delay)  # another process writes: let it finish
                delay = min(delay * 2, 0.05)
        except BaseException:
            self._release()
            raise

    def _release(self) -> None:
        """Give the writer lock back once the transaction is over."""
        lock = self._writer
        sqlite: sqlite3.Connection | None = self._connection._connection
        if lock is not None and not (sqlite is not None and sqlite.in_transaction):
            self._writer = None
            lock.release()

    def commit(self) -> None:
        try:
            if self.inline and self._connection._connection:
                started = time.perf_counter()
                try:
                    self.raw.commit()  # may run a WAL checkpoint: timed like a statement
                except Exception as error:
                    self._abandon()
                    self._handle_exception(error)
                _check_duration(started, "COMMIT")
            else:
                try:
                    super().commit()
                except Exception:
                    self._abandon()
                    raise
        finally:
            self._release()

    def _abandon(self) -> None:
        """After a failed COMMIT that left the transaction open (a deferred constraint, a
        busy database): roll it back, so that the write lock is not kept by a transaction
        nobody will finish."""
        sqlite: sqlite3.Connection | None = self._connection._connection
        if sqlite is not None and sqlite.in_transaction:
            try:
                if self.inline:
                    sqlite.rollback()
                else:
                    await_(self._connection.rollback())
            except Exception as error:  # the COMMIT's error is the one to report
                log.warning("sqlite.rollback_failed", error=str(error))

    def rollback(self) -> None:
        try:
            if self.inline and self._connection._connection:
                try:
                    self.raw.rollback()
                except Exception as error:
                    self._handle_exception(error)
            else:
                super().rollback()
        finally:
            self._release()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()

    def terminate(self) -> None:
        # An invalidated connection (a cancelled task, a broken one) or one collected as
        # garbage: its transaction is gone, and so must its hold on the writer lock be.
        try:
            super().terminate()
        finally:
            self._give_back()

    def _give_back(self) -> None:
        lock, self._writer = self._writer, None
        if lock is not None:
            lock.release()


class OneHopDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The aiosqlite DBAPI adapter whose connections make `OneHopCursor`s.

    One per engine; it keeps the engine's writer lock (one per event loop).
    """

    def __init__(self, aiosqlite: Any, sqlite: Any) -> None:
        super().__init__(aiosqlite, sqlite)
        self._writers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def writer_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._writers.get(loop)
        if lock is None:
            lock = self._writers[loop] = asyncio.Lock()
        return lock

    def connect(self, *arg: Any, **kw: Any) -> OneHopConnection:
        creator_fn = kw.pop("async_creator_fn", None)
        if creator_fn:
            connection = creator_fn(*arg, **kw)
        else:
            # Used by aiosqlite's thread and, for inline transactions, by the event loop's
            # thread: never both at once (a connection serves one transaction at a time).
            kw["check_same_thread"] = False
            connection = self.aiosqlite.connect(*arg, **kw)
            connection._thread.daemon = True  # as SQLAlchemy's adapter does
        return OneHopConnection(self, await_(connection))


CHECKPOINT_SECONDS: Final = 1.0
"""How often the app's `Checkpointer` copies the write-ahead log into the database file."""

RESTART_FRAMES: Final = 1000
"""A log longer than this is started over: the second copy holds the writers back."""

WAL_LIMIT_BYTES: Final = 32 * 1024 * 1024
"""`journal_size_limit`: a log started over is cut back to this size."""


class Checkpointer:
    """Runs `PRAGMA wal_checkpoint(PASSIVE)` every `every` seconds, in a thread, on a
    connection of its own: it copies what it can without waiting for readers or writers, so
    no COMMIT on the event loop has to do it.

    SQLite starts the log over only when a write begins after everything in it was copied,
    and writers keep committing while the thread copies. So when the log has grown past
    `RESTART_FRAMES`, a second pass copies the frames the first one missed while holding the
    engine's writer lock (an asyncio lock: writers of this process wait for a few
    milliseconds, the event loop does not); the next write starts the log over, cut back to
    `WAL_LIMIT_BYTES`.

    Each pass opens, checkpoints and closes its connection in the thread (about 0.1 ms): a
    cancelled task never closes a connection under a checkpoint still running.
    """

    def __init__(
        self,
        path: str,
        every: float = CHECKPOINT_SECONDS,
        writers: Callable[[], asyncio.Lock] | None = None,
    ) -> None:
        self.path = path
        self.every = every
        self.writers = writers
        self.runs = 0
        self.last: tuple[int, int, int] | None = None  # (busy, frames in the log, copied)

    def _checkpoint(self) -> tuple[int, int, int]:
        # mode=rw: never create the file (the app refuses to start on a missing database).
        uri = f"{Path(self.path).absolute().as_uri()}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=0)
        try:
            busy, frames, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            return busy, frames, copied
        finally:
            conn.close()

    async def once(self) -> None:
        """One checkpoint (a failure is logged and tried again next time)."""
        try:
            self.last = await asyncio.to_thread(self._checkpoint)
            if self.writers is not None and self.last[1] > RESTART_FRAMES:
                async with self.writers():
                    self.last = await asyncio.to_thread(self._checkpoint)
            self.runs += 1
        except sqlite3.Error as error:
            log.warning("sqlite.checkpoint_failed", error=str(error))

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.every)
            await self.once()


def dbapi() -> OneHopDBAPI:
    """For `create_async_engine(url, module=dbapi())`."""
    return OneHopDBAPI(aiosqlite, sqlite3)
