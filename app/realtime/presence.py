"""Presence: who is in which booth or session now, and the dwell time their visits add up to.

Counts go to everyone on the place's channel; identities only to the booth's staff (and
organizers), and only of attendees who consented to share their details with exhibitors.
A visit ends when the visitor's last tab leaves or stops heartbeating; its seconds are
recorded once as `booth.dwell`, keyed by the visit's start so no worker can record it twice.
"""

from __future__ import annotations

import asyncio

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Booth
from app.events.models import Registration
from app.realtime import access, channels, leads_bridge
from app.realtime.connection import Connection
from app.realtime.leads_bridge import LeadFields, Publish
from app.realtime.presence_store import Change, Visit
from app.realtime.protocol import push
from app.realtime.runtime import Realtime

log = structlog.get_logger()

PLACE_KINDS = frozenset({"booth", "session"})


def dwell_key(booth_id: int, registration_id: int, visit: Visit) -> str:
    return f"booth.dwell:{booth_id}:{registration_id}:{round(visit.started * 1000)}"


async def visitor_card(
    db: AsyncSession, *, event_id: int, exhibitor_id: int, account_id: int
) -> dict[str, object] | None:
    """The identity staff may see: only of a registration that shares its details with this
    exhibitor (the answer at its booth, else the event-wide consent) and is not erased."""
    reg = await access.registration(db, event_id, account_id)
    return await _card(db, reg, exhibitor_id=exhibitor_id, account_id=account_id)


async def _card(
    db: AsyncSession,
    reg: Registration | None,
    *,
    exhibitor_id: int,
    account_id: int,
    lead: LeadFields | None = None,
) -> dict[str, object] | None:
    """The card, or None when the visitor does not share their details with this exhibitor.

    `lead`, when given, is the visitor's lead at this exhibitor as a departure's dwell record
    has just written it, which it does only for a visitor who shares them.
    """
    if reg is None:
        return None
    if lead is None:
        shares, lead = await leads_bridge.shared_lead(
            db, exhibitor_id=exhibitor_id, registration=reg
        )
        if not shares:
            return None
    card = await leads_bridge.lead_card(
        db, exhibitor_id=exhibitor_id, registration_id=reg.id, lead=lead
    )
    return {
        "account_id": account_id,
        "registration_id": reg.id,
        "name": reg.full_name,
        "company": reg.company,
        "job_title": reg.job_title,
        "country": reg.country,
        "lead": card,
    }


async def record_dwell(db: AsyncSession, visit: Visit, out: list[Publish]) -> int | None:
    """Record a finished booth visit as `booth.dwell` seconds; returns the seconds recorded.

    Pushes the lead engine asks for (`staff.mql`) are appended to `out`.
    """
    kind, ident = channels.parse(visit.place)
    if kind != "booth" or visit.seconds < 1:
        return None
    booth = await db.get(Booth, ident)
    if booth is None:
        return None
    reg = await access.registration(db, booth.event_id, visit.visitor)
    recorded = await _record_dwell(db, visit, booth.event_id, booth.exhibitor_id, reg)
    if recorded is None:
        return None
    out += recorded.publishes
    return visit.seconds


async def _record_dwell(
    db: AsyncSession,
    visit: Visit,
    event_id: int,
    exhibitor_id: int,
    reg: Registration | None,
    cache: access.Remembered | None = None,
) -> leads_bridge.Recorded | None:
    if reg is None or visit.seconds < 1:
        return None  # staff and organizers walking through are not leads
    _kind, booth_id = channels.parse(visit.place)
    event = await access.cached_event(db, event_id, cache)
    if event is None:
        return None
    return await leads_bridge.record_activity(
        db,
        event=event,
        registration=reg,
        type="booth.dwell",
        value=visit.seconds,
        exhibitor_id=exhibitor_id,
        booth_id=booth_id,
        idempotency_key=dwell_key(booth_id, reg.id, visit),
    )


async def publish_count(rt: Realtime, change: Change) -> None:
    """Push the place's new count at once: it comes from the presence store, not the database,
    so the people in the booth see an arrival without waiting for the dwell record or the
    staff card (`consequences`)."""
    if change.entered or change.visit is not None:
        body = {"place": change.place, "count": change.count}
        await rt.hub.publish(change.place, push("presence.count", body))


async def consequences(
    db: AsyncSession, change: Change, cache: access.Remembered | None = None
) -> list[Publish]:
    """Dwell and staff-feed work for one presence change; returns what to publish after commit.

    Only arrivals and departures of a visitor (not of their other tabs, not heartbeats) count;
    a departure is the only time dwell is recorded.
    """
    if not (change.entered or change.visit is not None):
        return []
    out: list[Publish] = []
    kind, ident = channels.parse(change.place)
    if kind != "booth":
        return out
    try:
        event_id, exhibitor_id = await access.place_event(db, kind, ident, cache)
    except access.Denied:
        return out
    if exhibitor_id is None:
        return out
    # One registration read serves the dwell record and the card.
    reg = await access.registration(db, event_id, change.visitor)
    body: dict[str, object] = {"booth_id": ident, "count": change.count}
    mqls: list[Publish] = []
    lead: LeadFields | None = None  # as the dwell record left it: the card need not read it
    if change.visit is not None:
        recorded = await _record_dwell(db, change.visit, event_id, exhibitor_id, reg, cache)
        body["seconds"] = None if recorded is None else change.visit.seconds
        if recorded is not None:
            mqls, lead = recorded.publishes, recorded.result.lead_at(exhibitor_id)
    body["visitor"] = await _card(
        db, reg, exhibitor_id=exhibitor_id, account_id=change.visitor, lead=lead
    )
    event = "staff.visitor_entered" if change.entered else "staff.visitor_left"
    out.append((channels.staff(exhibitor_id), push(event, body)))
    return out + mqls


async def enter(
    rt: Realtime, db: AsyncSession, conn: Connection, place: str
) -> tuple[int, list[Publish]]:
    """Enter (or heartbeat) `place` with this tab; returns the count and what to publish."""
    kind, ident = _place(place)
    event_id, _exhibitor_id = await access.place_event(db, kind, ident, rt.remembered)
    if await access.member_of(db, conn, event_id, rt.remembered) is None:
        raise access.Denied("Register for this event first.")
    change = await rt.presence.enter(place, conn.id, conn.account_id, rt.clock())
    conn.places.add(place)
    await publish_count(rt, change)
    return change.count, await consequences(db, change, rt.remembered)


async def leave(
    rt: Realtime, db: AsyncSession, conn: Connection, place: str
) -> tuple[int, list[Publish]]:
    conn.places.discard(place)
    change = await rt.presence.leave(place, conn.id, rt.clock())
    if change is None:
        return await rt.presence.count(place), []
    await publish_count(rt, change)
    return change.count, await consequences(db, change, rt.remembered)


async def snapshot(
    rt: Realtime, db: AsyncSession, conn: Connection, place: str
) -> dict[str, object]:
    """Count for any member; identities of consenting visitors for the booth's staff."""
    kind, ident = _place(place)
    event_id, exhibitor_id = await access.place_event(db, kind, ident, rt.remembered)
    member = await access.member_of(db, conn, event_id, rt.remembered)
    if member is None:
        raise access.Denied("Register for this event first.")
    result: dict[str, object] = {"place": place, "count": await rt.presence.count(place)}
    if exhibitor_id is not None and (member.is_organizer or member.staffs(exhibitor_id)):
        cards = []
        for visitor in await rt.presence.visitors(place):
            card = await visitor_card(
                db, event_id=event_id, exhibitor_id=exhibitor_id, account_id=visitor
            )
            if card is not None:
                cards.append(card)
        result["visitors"] = cards
    return result


async def apply(rt: Realtime, changes: list[Change]) -> None:
    """Record and publish changes that happened outside a command (disconnects, timeouts)."""
    changes = [c for c in changes if c.entered or c.visit is not None]
    if not changes:
        return  # another tab of the same visitor: nothing to record or push
    for change in changes:
        await publish_count(rt, change)
    publishes: list[Publish] = []
    async with rt.sessionmaker() as db:
        for change in changes:
            publishes += await consequences(db, change, rt.remembered)
        if db.in_transaction() or db.new or db.dirty or db.deleted:
            await db.commit()
    for channel, data in publishes:
        await rt.hub.publish(channel, data)


async def leave_all(rt: Realtime, conn: Connection) -> None:
    """The tab closed: leave every place it was in."""
    changes = []
    for place in tuple(conn.places):
        change = await rt.presence.leave(place, conn.id, rt.clock())
        if change is not None:
            changes.append(change)
    conn.places.clear()
    await apply(rt, changes)


async def sweep(rt: Realtime) -> int:
    """Drop tabs that stopped heartbeating (a crashed worker's too); returns how many."""
    changes = await rt.presence.expire(rt.clock() - rt.limits.presence_timeout)
    await apply(rt, changes)
    return len(changes)


async def sweeper(rt: Realtime) -> None:
    while True:
        await asyncio.sleep(rt.limits.presence_sweep)
        try:
            await sweep(rt)
        except Exception:
            log.exception("presence.sweep_failed")


def _place(place: str) -> tuple[str, int]:
    try:
        kind, ident = channels.parse(place)
    except ValueError:
        raise access.Denied("That is not a place.") from None
    if kind not in PLACE_KINDS:
        raise access.Denied("Presence is kept for booths and sessions.")
    return kind, ident
