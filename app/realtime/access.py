"""Who may listen to which channel; the event membership behind every realtime decision.

Three answers are remembered for `CACHE_SECONDS` so that repeated commands (heartbeats,
re-subscribes, re-entries) and every visit need no database work for them: which event (and
exhibitor) a place belongs to and the event's row, per process (`Remembered`), and an
account's roles in an event, per connection (taken with the account the connection logged in
with). A role granted or revoked, or an account erased,
therefore reaches an open connection within that time; consents are never cached (visitor
cards read the registration each time).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership, membership_of
from app.auth.models import Account
from app.booths.models import Booth, Exhibitor
from app.events.models import Event, Registration
from app.realtime import channels
from app.realtime.protocol import Denied
from app.sessions.models import ProgramSession

if TYPE_CHECKING:
    from app.realtime.connection import Connection

__all__ = [
    "CACHE_SECONDS",
    "Denied",
    "Places",
    "Remembered",
    "booth",
    "cached_event",
    "check_listen",
    "member_of",
    "membership",
    "place_event",
    "registration",
]

CACHE_SECONDS: Final = 60.0
_PLACES_MAX: Final = 10_000
_clock = time.monotonic  # what remembered answers are timed by (tests move it)

# (kind, id) -> (valid until, event_id, exhibitor_id or None); Denied answers are not kept.
Places = dict[tuple[str, int], tuple[float, int, int | None]]


@dataclass(slots=True)
class Remembered:
    """What a process remembers for CACHE_SECONDS (one per `Realtime`, so per database)."""

    places: Places = field(default_factory=dict)
    # event_id -> (valid until, the event as read then). Read-only: it is never added to
    # another session (the lead engine reads its id and creation time).
    events: dict[int, tuple[float, Event]] = field(default_factory=dict)


async def cached_event(
    db: AsyncSession, event_id: int, cache: Remembered | None = None
) -> Event | None:
    """The event's row, from `cache` while it is fresh; a missing event is not kept."""
    if cache is None:
        return await db.get(Event, event_id)
    now = _clock()
    hit = cache.events.get(event_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    found = await db.get(Event, event_id)
    if found is not None:
        # Out of the session at once: a rollback there (a failed flush) would expire it,
        # and an expired detached row cannot be read, by this command or the next ones.
        db.expunge(found)
        if len(cache.events) >= _PLACES_MAX:
            cache.events.clear()
        cache.events[event_id] = (now + CACHE_SECONDS, found)
    return found


async def membership(
    db: AsyncSession,
    account_id: int,
    event_id: int,
    *,
    account: Account | None = None,
    cache: Remembered | None = None,
) -> Membership | None:
    """The account's roles in the event, or None when it has none there (admins always do).

    `account`, when given, is that account as just read (it is not read again).
    """
    if account is None:
        account = await db.get(Account, account_id)
    event = await cached_event(db, event_id, cache)
    if account is None or event is None or account.erased_at is not None:
        return None
    found = await membership_of(db, account, event)
    if not found.roles and not found.account.is_admin:
        return None
    return found


async def booth(db: AsyncSession, booth_id: int) -> Booth:
    found = await db.get(Booth, booth_id)
    if found is None:
        raise Denied("There is no such booth.")
    return found


async def member_of(
    db: AsyncSession, conn: Connection, event_id: int, cache: Remembered | None = None
) -> Membership | None:
    """`membership` of the connection's account, remembered on the connection for a while."""
    now = _clock()
    hit = conn.memberships.get(event_id)
    if hit is not None and hit[0] > now:
        return hit[1]
    # The account read at login stands in for a fresh read while it is recent.
    account = conn.account if now < conn.account_until else None
    found = await membership(db, conn.account_id, event_id, account=account, cache=cache)
    conn.memberships[event_id] = (now + CACHE_SECONDS, found)
    return found


async def place_event(
    db: AsyncSession, kind: str, ident: int, remembered: Remembered | None = None
) -> tuple[int, int | None]:
    """(event_id, exhibitor_id or None) of a booth, session, exhibitor (staff) or event channel.

    With `remembered` (the process's, `Realtime.remembered`) the answer is kept for
    CACHE_SECONDS.
    """
    if remembered is None:
        return await _place_event(db, kind, ident)
    cache = remembered.places
    key = (kind, ident)
    now = _clock()
    hit = cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1], hit[2]
    event_id, exhibitor_id = await _place_event(db, kind, ident)
    if len(cache) >= _PLACES_MAX:
        cache.clear()
    cache[key] = (now + CACHE_SECONDS, event_id, exhibitor_id)
    return event_id, exhibitor_id


async def _place_event(db: AsyncSession, kind: str, ident: int) -> tuple[int, int | None]:
    if kind == "booth":
        found = await booth(db, ident)
        return found.event_id, found.exhibitor_id
    if kind == "session":
        program = await db.get(ProgramSession, ident)
        if program is None:
            raise Denied("There is no such session.")
        return program.event_id, None
    if kind == "staff":
        exhibitor = await db.get(Exhibitor, ident)
        if exhibitor is None:
            raise Denied()
        return exhibitor.event_id, exhibitor.id
    if kind == "event":
        return ident, None
    raise Denied()


async def check_listen(
    db: AsyncSession, conn: Connection, channel: str, cache: Remembered | None = None
) -> Membership | None:
    """Raise Denied unless the connection's account may receive `channel`'s pushes."""
    account_id = conn.account_id
    try:
        kind, ident = channels.parse(channel)
    except ValueError:
        raise Denied("That is not a channel name.") from None
    if kind == "user":
        if ident != account_id:
            raise Denied()
        return None
    if kind == "room":
        raise Denied("Join chat rooms with chat.join.")
    event_id, _exhibitor = await place_event(db, kind, ident, cache)
    member = await member_of(db, conn, event_id, cache)
    if member is None:
        raise Denied("Register for this event first.")
    if kind == "staff" and not (member.is_organizer or member.staffs(ident)):
        raise Denied("Only this exhibitor's staff can follow its live feed.")
    return member


_REGISTRATION = select(Registration).where(
    Registration.event_id == bindparam("event_id"),
    Registration.account_id == bindparam("account_id"),
)


async def registration(db: AsyncSession, event_id: int, account_id: int) -> Registration | None:
    found = await db.execute(_REGISTRATION, {"event_id": event_id, "account_id": account_id})
    return found.scalar_one_or_none()
