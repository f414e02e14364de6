"""Attendance: heartbeats from the session page become watched seconds and lead activities.

`session.join` is recorded once per attendee, session and mode (live, on demand).
`session.watch` carries the attendee's running total of distinct seconds for that mode: the
lead engine judges each watch activity on its own (percent = value / session length, the
earliest one reaching 50% earns the points), so totals, not deltas, are what it expects. A
total is recorded at each new whole minute, on crossing half the session, and on leaving;
the idempotency key holds the total, so a retried heartbeat (which adds no seconds) never
records twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.events.models import Event, EventStatus, Registration
from app.leads import service as leads
from app.sessions import repository
from app.sessions.errors import NotWatchable
from app.sessions.models import ProgramSession
from app.sessions.watch import Beat, Kind, apply_live, apply_on_demand

ON_DEMAND_LIMIT = 24 * 3600  # a recording longer than a day is not a talk


def mode_of(event: Event, session: ProgramSession, now: dt.datetime) -> bool | None:
    """True while live, False when it plays on demand, None when nothing plays."""
    if event.status == EventStatus.draft:
        return None
    if event.status != EventStatus.ended and session.starts_at <= now < session.ends_at:
        return True
    if (event.status == EventStatus.ended or session.ends_at <= now) and session.recording_url:
        return False
    return None


def length_of(session: ProgramSession) -> int:
    return max(0, int((session.ends_at - session.starts_at).total_seconds()))


@dataclass(frozen=True, slots=True)
class Heartbeat:
    live: bool
    seconds: int  # distinct seconds watched so far in this mode
    added: int  # of which this heartbeat added


async def heartbeat(
    db: AsyncSession,
    *,
    event: Event,
    session: ProgramSession,
    registration: Registration,
    tab_id: str,
    kind: Kind = "beat",
    position_s: float | None = None,
    now: dt.datetime | None = None,
) -> Heartbeat:
    """Count one heartbeat of one tab; flushes, never commits."""
    now = now or utcnow()
    live = mode_of(event, session, now)
    if live is None:
        raise NotWatchable()
    row = await repository.attendance_for_update(db, session.id, registration.id, live)
    fresh = not row.tabs and row.seconds == 0
    beat = Beat(
        tab_id=tab_id,
        kind=kind,
        now_s=int((now - session.starts_at).total_seconds() // 1),
        position_s=None if live or position_s is None else int(position_s),
    )
    stored = [(int(a), int(b)) for a, b in row.intervals]
    if live:
        out = apply_live(stored, row.tabs, beat, length_of(session))
    else:
        out = apply_on_demand(stored, row.tabs, beat, ON_DEMAND_LIMIT)
    before = row.seconds
    row.intervals = [[a, b] for a, b in out.intervals]
    row.tabs = out.tabs
    row.seconds = out.seconds
    row.last_seen_at = now
    await db.flush()
    mode = "live" if live else "demand"
    key = f"{session.id}:{registration.id}:{mode}"
    if fresh or kind == "start":
        await _record(db, event, session, registration, now, live, "session.join", key, None)
    if out.added > 0 and _milestone(before, out.seconds, length_of(session), kind):
        await _record(
            db, event, session, registration, now, live, "session.watch", key, out.seconds
        )
    return Heartbeat(live=live, seconds=out.seconds, added=out.added)


def _milestone(before: int, after: int, length: int, kind: Kind) -> bool:
    half = length / 2
    return kind == "stop" or after // 60 > before // 60 or (before < half <= after)


async def _record(
    db: AsyncSession,
    event: Event,
    session: ProgramSession,
    registration: Registration,
    now: dt.datetime,
    live: bool,
    type: str,
    key: str,
    seconds: int | None,
) -> None:
    """One activity; a sponsored session's goes to its sponsor's lead too (when shared)."""
    await leads.record(
        db,
        event=event,
        registration=registration,
        type=type,
        idempotency_key=f"{type}:{key}" + ("" if seconds is None else f":{seconds}"),
        at=now,
        value=None if seconds is None else float(seconds),
        session_id=session.id,
        exhibitor_id=session.sponsor_exhibitor_id,
        meta={"live": live},
    )
