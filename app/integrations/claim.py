"""Leasing outbox rows so that several worker processes never send one row twice.

`claim` marks up to `limit` due rows with a fresh lock token and a lease; a worker that then
sends a row finishes it with `where lock_token == token`. On PostgreSQL the choice of rows
skips rows another transaction holds (`FOR UPDATE SKIP LOCKED`); on SQLite the engine's
`BEGIN IMMEDIATE` serialises the claim. A worker that dies leaves the lease to expire, and
another worker takes the row again afterwards (at-least-once, never twice concurrently).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.db import utcnow


async def claim(
    sessionmaker: async_sessionmaker[AsyncSession],
    model: Any,
    *,
    status: str,
    limit: int = 50,
    lease_seconds: float = 120.0,
    now: dt.datetime | None = None,
) -> tuple[str, list[int]]:
    """Lease the due rows of `model` (a WebhookDelivery or EmailMessage) in `status`; returns
    the lock token and the ids leased, oldest due first. Commits before returning."""
    now = now or utcnow()
    token = uuid.uuid4().hex
    due = (
        select(model.id)
        .where(
            model.status == status,
            model.next_attempt_at <= now,
            or_(model.locked_until.is_(None), model.locked_until < now),
        )
        .order_by(model.next_attempt_at, model.id)
        .limit(limit)
    )
    async with sessionmaker() as db, db.begin():
        if db.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        result = await db.execute(
            update(model)
            .where(model.id.in_(due.scalar_subquery()))
            .values(locked_until=now + dt.timedelta(seconds=lease_seconds), lock_token=token)
            .returning(model.id)
            .execution_options(synchronize_session=False)
        )
        ids = sorted(result.scalars().all())
    return token, ids
