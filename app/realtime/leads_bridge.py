"""The one place realtime talks to the lead engine (app/leads/service.py, when it exists)."""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from typing import cast

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.events.models import Event, Registration

log = structlog.get_logger()


def _service_function(name: str) -> Callable[..., Awaitable[object]] | None:
    try:
        module = importlib.import_module("app.leads.service")
    except ImportError:
        return None
    found = getattr(module, name, None)
    return cast("Callable[..., Awaitable[object]] | None", found)


async def record_activity(
    db: AsyncSession,
    *,
    event: Event,
    registration: Registration,
    type: str,
    value: float | None,
    exhibitor_id: int | None,
    booth_id: int | None,
    idempotency_key: str,
) -> bool:
    """Append one activity through the lead engine; False (logged) while it is not there yet."""
    record = _service_function("record")
    if record is None:
        log.warning("leads.unavailable", type=type, idempotency_key=idempotency_key)
        return False
    await record(
        db,
        event=event,
        registration=registration,
        type=type,
        value=value,
        exhibitor_id=exhibitor_id,
        booth_id=booth_id,
        idempotency_key=idempotency_key,
    )
    return True


async def lead_card(
    db: AsyncSession, *, exhibitor_id: int, registration_id: int
) -> dict[str, object] | None:
    """What the lead engine knows of this visitor for this exhibitor (grade, tier, stage...)."""
    card = _service_function("lead_card")
    if card is None:
        return None
    try:
        found = await card(db, exhibitor_id=exhibitor_id, registration_id=registration_id)
    except TypeError:
        return None
    return cast("dict[str, object] | None", found)
