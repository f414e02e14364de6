"""Rescore every lead of an event under its current rules, in one pass over the log.

Leads are taken in batches by id, the order they lie in the table; per batch three selects
fetch the leads with their profiles and the activities each lead scores (an event lead's on
the event-registration index, an exhibitor lead's on the exhibitor-registration index), the
scores are computed in memory and the
leads written back with executemanys whose JSON is encoded with orjson. Batches by id
rewrite each page of the lead table once: taken by registration (until 2026-12-06), a
thousand leads lay on about as many pages, and on SQLite the writes, which only one
transaction at a time can make, took two thirds of a helper's time (200,000 activities:
9.2 s, now 6.5 s). No ORM objects in the loop, and no per-value processing: the statements
run at the driver's level (`app.db_driver`), timestamps converted only where scoring reads
them; fit is computed once per distinct profile.

On a large event helper processes do it all: each reads a batch, scores it and writes it in
a transaction of its own, while this process, often an app worker serving requests, only
hands out ranges and counts progress (its event loop is held up a few ms at most).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from multiprocessing.util import Finalize
from operator import itemgetter
from typing import Any, NamedTuple

import structlog
from sqlalchemy import event as sa_event
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db import make_engine, make_sessionmaker, utcnow
from app.events.models import Event
from app.gc_tuning import tune_gc
from app.leads import outbox, repository, rescore_queries
from app.leads.rescore_scorer import Rows, Scored, Scorer
from app.leads.rules import ExhibitorOverride
from app.leads.versions import CurrentRules, current_rules, effective_override
from app.logging import configure_logging

log = structlog.get_logger()


@dataclass(slots=True)
class RescoreProgress:
    version: int
    total: int  # leads of the event
    done: int = 0
    activities: int = 0
    promoted: int = 0  # leads that became MQLs under the new rules
    processes: int = 0  # helper processes that scored (0: scored in this one)


AfterBatch = Callable[[RescoreProgress], Awaitable[None]]
Reader = AsyncSession | AsyncConnection


async def _overrides(
    db: AsyncSession, event: Event, rules: CurrentRules
) -> dict[int, ExhibitorOverride]:
    return {
        row.id: effective_override(
            rules,
            row.id,
            territory=row.territory,
            ideal_sizes=row.ideal_sizes,
            competitor_domains=row.competitor_domains,
        )
        for row in await repository.booths_of_event(db, event.id)
    }


READER_OPTIONS: dict[str, Any] = {"sqlite_begin": "DEFERRED", "sqlite_inline": True}
"""Execution options of the connection that reads the log (`reader`). On SQLite a DEFERRED
snapshot, read on the event loop's thread: one batch's two selects take about 25 ms there.
In aiosqlite's thread each row's step gives up the GIL and must take it back, and while the
worker's loop is busy serving that wait lasts up to the switch interval (5 ms) per row: with
the loop half busy a rescore of 200,000 activities took 13.2 s instead of 11.6 s, and with it
fully busy it had not finished after 10 minutes (34 s inline)."""

PROCESS_THRESHOLD = 20_000
"""From this many leads (and with a second CPU) helper processes read, score and write the
batches: the work is pure Python and SQL, and done here it would hold up the worker's event
loop (by 100 to 150 ms at a time with the log read here and only the scoring in helpers,
measured on 200,000 activities)."""
HELPER_BATCH = 6000
"""Leads per helper batch. Each helper holds the one it works on (the next waits as a range);
12,000 was no faster on 200,000 activities (6.4-6.5 s on SQLite) and took 18% more memory."""
IN_PROCESS_BATCH = 500
"""Leads per batch when this process scores (small events): a batch is scored on the event
loop's thread, at about 35 µs a lead."""
WRITE_CHUNK = 1000
"""Leads per write: one executemany, the MQL transitions and outbox events of those leads and,
in a helper, one commit: the database's write lock, which attendees' recorded actions wait
for on SQLite, is held no longer. With leads taken by registration, a commit per batch was
faster (200,000 activities: 8.5 s against 9.7-11.2 s), but writes made meanwhile by the app
waited twice as long on average; with leads taken by id, 3,000 a write was no faster."""
HELPER_LOCK_WAIT_MS = 5_000
"""How long a helper's statement waits for a lock on PostgreSQL (`lock_timeout`) before its
write is tried again; on SQLite a write waits for the database's lock as the app's do
(`app.db_sqlite.BUSY_SECONDS`). It covers the helper's reads too, which are not tried again:
a read that waits over 5 s (behind a schema change, say) fails the rescore."""
WRITE_ATTEMPTS = 4
"""Tries of a helper's write that meets a lock it cannot get (a deadlock, a lock wait timed
out, SQLite busy), 0.2 s apart and then twice as long each time: an attendee's action that
holds a lead, or a burst of them on SQLite, fails one try, not the whole rescore. The app
process logs the tries again (`leads.rescore.writes_retried`): helpers log only errors."""
HELPER_FITS = 30_000
"""Fits a helper remembers (FitCache): about 700 bytes each."""
HELPER_NICENESS = 10
"""Helpers run at a lower priority: where the app's workers share the CPUs with a rescore,
the OS serves their requests first and the rescore takes what is left."""
HELPERS = 2
"""Helper processes by default (fewer on a machine with fewer CPUs). Two beat one by about
10% on this project's 2-core machine (when helpers only scored), on SQLite and PostgreSQL (200k
activities, 105k leads: 8.1-9.7 s against 10.1-11.0 s); more would take cores from serving."""


async def rescore_event(
    db: AsyncSession,
    *,
    event: Event,
    batch_size: int | None = None,
    after_batch: AfterBatch | None = None,
    now: dt.datetime | None = None,
    reader: AsyncConnection | None = None,
    processes: int | None = None,
) -> RescoreProgress:
    """Recompute every lead of `event` from its activities; `after_batch` may commit.

    `reader`, a connection of its own (on SQLite a DEFERRED one), reads the log so the
    session's write transaction is only open for the writes; without it the session reads.
    `processes`: helper processes that read, score and write batches each in a transaction of
    its own (0: all here; None: up to HELPERS from PROCESS_THRESHOLD leads on a machine with
    two CPUs or more, on a database other processes can open). With helpers this session
    is committed once the rules are read: their transactions must see what it wrote and
    must not wait for its write lock.
    """
    rules = await current_rules(db, event)
    overrides = await _overrides(db, event, rules)
    progress = RescoreProgress(rules.version, await rescore_queries.count_leads(db, event.id))
    bind = db.get_bind()
    dialect, url, now, event_id = bind.dialect, bind.engine.url, now or utcnow(), event.id
    if processes is None:
        # The CPUs this process may run on (a container's share), where the OS says.
        cpus = (
            len(os.sched_getaffinity(0))
            if hasattr(os, "sched_getaffinity")
            else (os.cpu_count() or 1)
        )
        large = progress.total >= PROCESS_THRESHOLD and _shared(url)
        processes = min(HELPERS, cpus) if large and cpus > 1 else 0
    progress.processes = processes
    batch_size = min(batch_size or HELPER_BATCH, HELPER_BATCH if processes else IN_PROCESS_BATCH)
    ranges = await rescore_queries.lead_ranges(db, event.id, batch_size)
    if not processes:
        scorer = Scorer(rules, overrides, now, f"{dialect.name}+{dialect.driver}")
        for span in ranges:
            # On SQLite the reads, the writes and the commits run on the event loop's
            # thread, some tens of ms each: the loop serves what waits between them.
            await asyncio.sleep(0)
            leads, acts = await _read(reader if reader is not None else db, event_id, span)
            await asyncio.sleep(0)
            done = Done(0, 0, 0)
            for part in _parts(scorer.batch(leads, acts)):
                done = done.plus(await _write(db, now, part))
                await asyncio.sleep(0)
            await _account(progress, done, after_batch)
        return progress
    await db.commit()
    pool = ProcessPoolExecutor(
        processes,
        mp_context=get_context("spawn"),
        initializer=_start_helper,
        initargs=(url.render_as_string(hide_password=False), rules, overrides, now),
    )
    loop = asyncio.get_running_loop()
    running: deque[asyncio.Future[Done]] = deque()
    try:
        for span in ranges:
            # Two batches per helper: each finds the next one waiting when it is done.
            running.append(loop.run_in_executor(pool, _batch_in_helper, event_id, span))
            if len(running) >= 2 * processes:
                await _account(progress, await running.popleft(), after_batch)
        while running:
            await _account(progress, await running.popleft(), after_batch)
    finally:
        # Batches not started are dropped (a batch failed); those running end, and the
        # helpers exit, before the caller goes on.
        await asyncio.to_thread(pool.shutdown, wait=True, cancel_futures=True)
        if running:
            await asyncio.gather(*running, return_exceptions=True)
    return progress


def _shared(url: URL) -> bool:
    """Whether other processes can open this database (not a SQLite database in memory)."""
    if url.get_backend_name() != "sqlite":
        return True
    path = url.database or ""
    in_memory = ":memory:" in path or "mode=memory" in path or url.query.get("mode") == "memory"
    return bool(path) and not in_memory


class Done(NamedTuple):
    leads: int
    promoted: int  # leads that became MQLs
    activities: int
    retries: int = 0  # writes tried again after a lock conflict

    def plus(self, other: Done) -> Done:
        return Done(*(a + b for a, b in zip(self, other, strict=True)))


async def _account(progress: RescoreProgress, done: Done, after_batch: AfterBatch | None) -> None:
    if done.retries:
        log.warning("leads.rescore.writes_retried", retries=done.retries, at_lead=progress.done)
    progress.done += done.leads
    progress.promoted += done.promoted
    progress.activities += done.activities
    if after_batch is not None:
        await after_batch(progress)
        await asyncio.sleep(0)


async def _read(source: Reader, event_id: int, span: tuple[int, int]) -> tuple[Rows, Rows]:
    """The leads of ids span[0]..span[1] (with profiles) and the activities they score."""
    leads = await rescore_queries.LEADS_WITH_PROFILES.all(source, event_id, *span)
    if not leads:
        return leads, []
    await asyncio.sleep(0)
    bind = source.get_bind() if isinstance(source, AsyncSession) else source
    dialect = bind.dialect.name
    of_event_leads = rescore_queries.for_dialect(rescore_queries.EVENT_LEAD_ACTIVITIES, dialect)
    acts = list(await of_event_leads.all(source, event_id, *span))
    await asyncio.sleep(0)
    of_exhibitor_leads = rescore_queries.for_dialect(
        rescore_queries.EXHIBITOR_LEAD_ACTIVITIES, dialect
    )
    acts += await of_exhibitor_leads.all(source, event_id, *span)
    return leads, acts


def _parts(scored: Scored) -> Iterator[Scored]:
    """A scored batch in parts of WRITE_CHUNK leads (in id order), each with its leads'
    transitions and events; the first counts the batch's activities."""
    updates = sorted(scored.updates, key=itemgetter(rescore_queries.ID))
    for start in range(0, len(updates), WRITE_CHUNK):
        part = updates[start : start + WRITE_CHUNK]
        ids = {row[rescore_queries.ID] for row in part}
        yield Scored(
            part,
            [t for t in scored.transitions if t["lead_id"] in ids],
            [e for e in scored.events if e["lead_id"] in ids],
            scored.activities if start == 0 else 0,
        )


async def _write(db: AsyncSession, now: dt.datetime, scored: Scored) -> Done:
    """Write a part of a scored batch (not committed)."""
    await rescore_queries.update_leads(db, scored.updates)
    transitions, events = scored.transitions, scored.events
    if transitions or events:
        # A lead the update skipped (changed since it was read: its recorder has scored it
        # and told of any promotion) gets neither our transition nor our events.
        ids = [row[rescore_queries.ID] for row in scored.updates]
        skipped = await rescore_queries.not_written(db, ids, now)
        if skipped:
            transitions = [t for t in transitions if t["lead_id"] not in skipped]
            events = [e for e in events if e["lead_id"] not in skipped]
    await repository.insert_transitions(db, transitions)
    await outbox.emit(db, events)  # `lead.updated` where the cell or buying stage moved
    return Done(len(scored.updates), len(transitions), scored.activities)


class _Helper:
    """A helper process's own event loop, engine and scorer, for the whole rescore."""

    def __init__(
        self,
        url: str,
        rules: CurrentRules,
        overrides: dict[int, ExhibitorOverride],
        now: dt.datetime,
    ) -> None:
        self.loop = asyncio.new_event_loop()
        # On SQLite the statements run on this loop's thread, which serves nothing else (in
        # aiosqlite's thread a 200,000-activity rescore took 11.0-11.6 s instead of 9.2 s),
        # and a COMMIT that finds the log past 1,000 pages copies it back (SQLite's own
        # checkpoint): left to the app's Checkpointer, which the helpers' writes outpace,
        # the log of a million-activity rescore grew to 1.7 GB.
        self.engine = make_engine(url)
        if self.engine.dialect.name == "postgresql":
            sa_event.listen(self.engine.sync_engine, "connect", _lock_timeout)
        self.sessions = make_sessionmaker(self.engine)
        dialect = self.engine.dialect
        driver = f"{dialect.name}+{dialect.driver}"
        self.scorer = Scorer(rules, overrides, now, driver, fits=HELPER_FITS)
        self.now = now
        # Run by multiprocessing when the helper exits normally: the connections close
        # cleanly.
        Finalize(self, self.close, exitpriority=10)

    def batch(self, event_id: int, span: tuple[int, int]) -> Done:
        return self.loop.run_until_complete(self._batch(event_id, span))

    async def _batch(self, event_id: int, span: tuple[int, int]) -> Done:
        async with self.engine.connect() as conn:  # a snapshot, closed before the writes
            snapshot = await conn.execution_options(**READER_OPTIONS)
            leads, acts = await _read(snapshot, event_id, span)
        done = Done(0, 0, 0)
        for part in _parts(self.scorer.batch(leads, acts)):
            done = done.plus(await self._write(part))
        return done

    async def _write(self, part: Scored) -> Done:
        """Write a part in a transaction of its own, tried again on a lock conflict (its rows
        carry the leads' updated_at as read: a try after someone else's write skips those
        leads as the first would have)."""
        for attempt in range(1, WRITE_ATTEMPTS + 1):
            try:
                async with self.sessions() as db:
                    written = await _write(db, self.now, part)
                    await db.commit()
                return written._replace(retries=attempt - 1)
            except DBAPIError as error:
                if attempt == WRITE_ATTEMPTS or not _lock_conflict(error):
                    raise
                await asyncio.sleep(0.2 * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        if not self.loop.is_closed():
            self.loop.run_until_complete(self.engine.dispose())
            self.loop.close()


def _lock_timeout(dbapi_connection: Any, _record: Any) -> None:
    # Outside a transaction, so that the pool's rollback on check-in does not undo it.
    autocommit = dbapi_connection.autocommit
    dbapi_connection.autocommit = True
    cursor = dbapi_connection.cursor()
    cursor.execute(f"SET lock_timeout = {HELPER_LOCK_WAIT_MS}")
    cursor.close()
    dbapi_connection.autocommit = autocommit


_LOCK_STATES = {"40P01", "40001", "55P03"}  # deadlock, serialization failure, lock timeout


def _lock_conflict(error: DBAPIError) -> bool:
    """Whether a write failed on a lock another transaction held (worth another try)."""
    if getattr(error.orig, "sqlstate", None) in _LOCK_STATES:
        return True
    if not isinstance(error.orig, sqlite3.OperationalError):
        return False
    code = getattr(error.orig, "sqlite_errorcode", None)
    if code is None:  # raised by app.db_sqlite itself when the writer lock timed out
        return str(error.orig) == "database is locked"
    return bool(code & 0xFF == sqlite3.SQLITE_BUSY)


_helper: _Helper | None = None


def _start_helper(
    url: str, rules: CurrentRules, overrides: dict[int, ExhibitorOverride], now: dt.datetime
) -> None:
    global _helper  # one per helper process, for the whole rescore
    _helper = _Helper(url, rules, overrides, now)
    # Errors reach the app process as the batch's exception; the statements' "slow inline"
    # warnings would be noise here, where no request waits for the loop.
    configure_logging(level="ERROR")
    # Each batch allocates some 100,000 objects that live until it is scored: with Python's
    # default thresholds they are promoted, and full collections walk them again and again.
    tune_gc()
    if hasattr(os, "nice"):  # POSIX
        os.nice(HELPER_NICENESS)


def _batch_in_helper(event_id: int, span: tuple[int, int]) -> Done:
    assert _helper is not None  # noqa: S101  # set by the pool's initializer
    return _helper.batch(event_id, span)
