"""Who may listen to which channel; the event membership behind every realtime decision."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership, membership_of
from app.auth.models import Account
from app.booths.models import Booth, Exhibitor
from app.events.models import Event, Registration
from app.realtime import channels
from app.realtime.protocol import Denied

__all__ = ["Denied", "booth", "check_listen", "membership", "place_event", "registration"]
from app.sessions.models import ProgramSession


async def membership(db: AsyncSession, account_id: int, event_id: int) -> Membership | None:
    """The account's roles in the event, or None when it has none there (admins always do)."""
    account = await db.get(Account, account_id)
    event = await db.get(Event, event_id)
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


async def place_event(db: AsyncSession, kind: str, ident: int) -> tuple[int, int | None]:
    """(event_id, exhibitor_id or None) of a booth, session, exhibitor (staff) or event channel."""
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


async def check_listen(db: AsyncSession, account_id: int, channel: str) -> Membership | None:
    """Raise Denied unless the account may receive `channel`'s pushes."""
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
    event_id, _exhibitor = await place_event(db, kind, ident)
    member = await membership(db, account_id, event_id)
    if member is None:
        raise Denied("Register for this event first.")
    if kind == "staff" and not (member.is_organizer or member.staffs(ident)):
        raise Denied("Only this exhibitor's staff can follow its live feed.")
    return member


async def registration(db: AsyncSession, event_id: int, account_id: int) -> Registration | None:
    return (
        await db.execute(
            select(Registration).where(
                Registration.event_id == event_id, Registration.account_id == account_id
            )
        )
    ).scalar_one_or_none()
