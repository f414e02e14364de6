"""Lead events written in the transaction that changed the lead (a transactional outbox).

`lead.stage_changed` for every lifecycle transition (automatic MQL promotions included),
`lead.mql_reached` when a lead first becomes an MQL (a recycled lead promoted again is a
stage change only), `lead.updated` when a lead is created or
its cell (grade × tier) or buying stage changes. The worker (`app/integrations/worker.py`)
reads them after commit and fans them out to the webhook endpoints that subscribe.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

import orjson
from sqlalchemy import Table, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.db_driver import DriverStatement, Timestamps
from app.leads.models import LeadEvent

EVENT_TYPES: dict[str, str] = {
    "lead.mql_reached": "A lead became a marketing-qualified lead",
    "lead.stage_changed": "A lead moved in its lifecycle (accepted, rejected, won…)",
    "lead.updated": "A lead was created, or its grade, tier or buying stage changed",
}
WATCHED = ("grade", "tier", "cell", "buying_stage")


def for_transition(row: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The events of one lead_transitions row (as inserted)."""
    change = {
        "from": row["from_stage"],
        "to": row["to_stage"],
        "reason": row.get("reason"),
        "actor_id": row.get("actor_id"),
    }
    events = [{"lead_id": row["lead_id"], "type": "lead.stage_changed", "change": change}]
    if row["to_stage"] == "mql" and row["from_stage"] == "inquiry" and row.get("first_mql", True):
        events.append({"lead_id": row["lead_id"], "type": "lead.mql_reached", "change": change})
    for event in events:
        event["at"] = row["at"]
    return events


def for_update(
    lead_id: int, before: Mapping[str, Any] | None, after: Mapping[str, Any], at: dt.datetime
) -> dict[str, Any] | None:
    """A `lead.updated` event when the lead is new (`before` None) or a watched field changed."""
    if before is not None and all(before.get(k) == after.get(k) for k in WATCHED):
        return None
    return for_change(
        lead_id,
        None if before is None else tuple(before.get(k) for k in WATCHED),
        tuple(after.get(k) for k in WATCHED),
        at,
    )


def for_change(
    lead_id: int, before: Sequence[Any] | None, after: Sequence[Any], at: dt.datetime
) -> dict[str, Any]:
    """The `lead.updated` event of WATCHED values that differ (`before` None: a new lead)."""
    change = {
        "created": before is None,
        "before": None if before is None else dict(zip(WATCHED, before, strict=True)),
        "after": dict(zip(WATCHED, after, strict=True)),
    }
    return {"lead_id": lead_id, "type": "lead.updated", "change": change, "at": at}


_EVENTS = cast(Table, LeadEvent.__table__)
_INSERT = DriverStatement(
    # inline: no RETURNING of the new ids on PostgreSQL, which nobody reads.
    insert(_EVENTS)
    .values({name: bindparam(name) for name in ("lead_id", "type", "change", "at")})
    .inline(),
    ("lead_id", "type", "change", "at"),
)


async def emit(db: AsyncSession, events: Iterable[dict[str, Any] | None]) -> None:
    """Insert the events (None entries skipped) in the caller's transaction: one statement,
    at the driver's level (a rescore emits one per lead whose cell moved)."""
    to_driver = Timestamps.of(db.get_bind().dialect).to_driver
    rows = [
        (e["lead_id"], e["type"], orjson.dumps(e["change"]).decode(), to_driver(e["at"]))
        for e in events
        if e is not None
    ]
    await _INSERT.many(db, rows)
