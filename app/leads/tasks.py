"""The `leads.rescore` job: an asyncio task that rescores an event, committing per batch.

Progress lives on the RulesVersion row (rescore_total, rescore_done, rescore_finished_at,
rescore_error) so the page and `GET /scoring` can show it. The task runs in the process
that started it; if that process stops, the row keeps `rescore_finished_at` empty and the
next save (or `run_rescore`) starts over: rescoring is idempotent.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from app.db import utcnow
from app.events.models import Event
from app.leads import rescore_queries
from app.leads.models import RulesVersion
from app.leads.rescore import READER_OPTIONS, RescoreProgress, rescore_event

log = structlog.get_logger()
_running: set[asyncio.Task[None]] = set()


def start_rescore(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    version_id: int,
    batch_size: int | None = None,
) -> asyncio.Task[None]:
    """Start the job in the background; call it after the version's transaction commits."""
    task = asyncio.create_task(
        run_rescore(sessionmaker, version_id=version_id, batch_size=batch_size)
    )
    _running.add(task)
    task.add_done_callback(_running.discard)
    return task


async def wait_for_jobs() -> None:
    """Let running jobs finish (tests, shutdown)."""
    while _running:
        await asyncio.gather(*list(_running), return_exceptions=True)
        _running.difference_update({t for t in _running if t.done()})


async def _wait_visible(
    sessionmaker: async_sessionmaker[AsyncSession], version_id: int
) -> RulesVersion | None:
    # The request that saved the version may still be committing.
    for _ in range(200):
        async with sessionmaker() as db:
            row = await db.get(RulesVersion, version_id)
        if row is not None:
            return row
        await asyncio.sleep(0.05)
    return None


async def run_rescore(
    sessionmaker: async_sessionmaker[AsyncSession],
    *,
    version_id: int,
    batch_size: int | None = None,
) -> None:
    row = await _wait_visible(sessionmaker, version_id)
    if row is None:
        log.warning("leads.rescore.missing_version", version_id=version_id)
        return
    async with sessionmaker() as db:
        event = await db.get(Event, row.event_id)
        assert event is not None  # noqa: S101
        total = await rescore_queries.count_leads(db, event.id)
        await rescore_queries.set_rescore_progress(
            db,
            version_id,
            rescore_total=total,
            rescore_done=0,
            rescore_started_at=utcnow(),
            rescore_finished_at=None,
            rescore_error=None,
        )
        await db.commit()

        async def _after(progress: RescoreProgress) -> None:
            await rescore_queries.set_rescore_progress(db, version_id, rescore_done=progress.done)
            await db.commit()

        try:
            # The log is read on a connection of its own (on SQLite a DEFERRED snapshot, read
            # on the loop's thread: READER_OPTIONS) so the session's write lock is held only
            # while a batch is written.
            async with AsyncExitStack() as stack:
                reader = None
                if isinstance(db.bind, AsyncEngine):
                    reader = await (
                        await stack.enter_async_context(db.bind.connect())
                    ).execution_options(**READER_OPTIONS)
                progress = await rescore_event(
                    db, event=event, batch_size=batch_size, after_batch=_after, reader=reader
                )
        except Exception as exc:
            await db.rollback()
            log.exception("leads.rescore.failed", version_id=version_id)
            await rescore_queries.set_rescore_progress(db, version_id, rescore_error=str(exc)[:500])
            await db.commit()
            return
        await rescore_queries.set_rescore_progress(
            db, version_id, rescore_done=progress.done, rescore_finished_at=utcnow()
        )
        await db.commit()
        log.info(
            "leads.rescore.finished",
            version_id=version_id,
            leads=progress.done,
            activities=progress.activities,
            promoted=progress.promoted,
            helper_processes=progress.processes,
        )
