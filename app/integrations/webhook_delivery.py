"""PLACEHOLDER (being written): lead events → webhook deliveries, and sending them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.config import Settings


async def dispatch_events(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: dt.datetime | None = None
) -> int:
    return 0


async def send_due(
    sessionmaker: async_sessionmaker[AsyncSession],
    settings: Settings,
    *,
    now: dt.datetime | None = None,
) -> int:
    return 0
