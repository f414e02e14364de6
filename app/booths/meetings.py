"""Meetings at a booth: staff publish slots, attendees book one (one winner per slot), cancel."""

from __future__ import annotations

import datetime as dt

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths import booth_repository as repo
from app.booths import meeting_repository as meeting_repo
from app.booths.errors import BoothFieldsInvalid, SlotTaken
from app.booths.models import Exhibitor, MeetingRequest, MeetingSlot, MeetingStatus
from app.booths.service import MAX_MESSAGE
from app.db import utcnow
from app.errors import NotFound
from app.events.models import Event, Registration
from app.leads.service import RecordResult, record

log = structlog.get_logger()

SLOT_MINUTES = (15, 20, 30, 45, 60)


async def book(
    db: AsyncSession,
    *,
    event: Event,
    registration: Registration,
    exhibitor: Exhibitor,
    slot_id: int,
    message: str,
) -> tuple[MeetingRequest, RecordResult | None]:
    """Book a published slot; the unique active-slot column settles races (one wins).

    The lead engine's result comes back with the booking (None for a repeated click)."""
    message = message.strip()
    if len(message) > MAX_MESSAGE:
        raise BoothFieldsInvalid({"message": f"Keep the message under {MAX_MESSAGE} characters."})
    slot = await meeting_repo.slot_of_exhibitor(db, exhibitor.id, slot_id)
    if slot is None or slot.starts_at <= utcnow():
        raise BoothFieldsInvalid({"slot_id": "Choose one of the times offered."})
    booking = MeetingRequest(
        slot_id=slot.id,
        active_slot_id=slot.id,
        registration_id=registration.id,
        status=MeetingStatus.confirmed,
        message=message,
    )
    if not await repo.insert_once(db, booking):
        holder = await meeting_repo.active_booking(db, slot.id)
        if holder is not None and holder.registration_id == registration.id:
            return holder, None  # a double click: the first booking stands
        raise SlotTaken()
    result = await record(
        db,
        event=event,
        registration=registration,
        type="meeting.request",
        at=booking.created_at,
        exhibitor_id=exhibitor.id,
        meta={"slot_id": slot.id},
        idempotency_key=f"meeting.request:{booking.id}",
    )
    log.info("booth.meeting_booked", exhibitor_id=exhibitor.id, slot_id=slot.id)
    return booking, result


async def cancel(db: AsyncSession, *, booking: MeetingRequest) -> None:
    """Free the slot; the booking stays, cancelled, for the record."""
    booking.status = MeetingStatus.cancelled
    booking.active_slot_id = None
    await db.flush()


async def publish_slot(
    db: AsyncSession,
    *,
    event: Event,
    exhibitor: Exhibitor,
    staff: Account,
    starts_at: dt.datetime,
    minutes: int,
) -> MeetingSlot:
    if minutes not in SLOT_MINUTES:
        raise BoothFieldsInvalid({"minutes": "Choose one of the lengths offered."})
    if starts_at <= utcnow():
        raise BoothFieldsInvalid({"starts_at": "Choose a time in the future."})
    ends_at = starts_at + dt.timedelta(minutes=minutes)
    if await meeting_repo.overlapping_slot(db, staff.id, starts_at, ends_at) is not None:
        raise BoothFieldsInvalid({"starts_at": "You already offer a slot at that time."})
    return await meeting_repo.add_slot(
        db,
        MeetingSlot(
            exhibitor_id=exhibitor.id,
            staff_account_id=staff.id,
            starts_at=starts_at,
            ends_at=ends_at,
        ),
    )


async def remove_slot(db: AsyncSession, *, exhibitor: Exhibitor, slot_id: int) -> None:
    slot = await meeting_repo.slot_of_exhibitor(db, exhibitor.id, slot_id)
    if slot is None:
        raise NotFound("That slot does not exist.")
    if await meeting_repo.active_booking(db, slot.id) is not None:
        raise BoothFieldsInvalid({"slot": "Someone booked this slot; it cannot be removed."})
    await meeting_repo.delete_slot(db, slot)
