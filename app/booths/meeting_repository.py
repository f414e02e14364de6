"""Queries of meeting slots and bookings (booth pages, staff self-service)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.booth_repository import shares_clause
from app.booths.models import (
    ACTIVE_MEETING_STATUSES,
    Exhibitor,
    MeetingRequest,
    MeetingSlot,
)
from app.events.models import Registration

AnyRow = Row[*tuple[Any, ...]]


# -- meetings -----------------------------------------------------------------------------


async def slots_of(
    db: AsyncSession, exhibitor_id: int, *, after: dt.datetime | None = None
) -> list[tuple[MeetingSlot, MeetingRequest | None, str | None]]:
    """Slots (soonest first) with their active booking and the staff member's name."""
    query = (
        select(MeetingSlot, MeetingRequest, Account.display_name)
        .outerjoin(MeetingRequest, MeetingRequest.active_slot_id == MeetingSlot.id)
        .outerjoin(Account, Account.id == MeetingSlot.staff_account_id)
        .where(MeetingSlot.exhibitor_id == exhibitor_id)
        .order_by(MeetingSlot.starts_at, MeetingSlot.id)
    )
    if after is not None:
        query = query.where(MeetingSlot.starts_at > after)
    return [(r[0], r[1], r[2]) for r in (await db.execute(query)).all()]


async def slot_of_exhibitor(
    db: AsyncSession, exhibitor_id: int, slot_id: int
) -> MeetingSlot | None:
    return (
        await db.execute(
            select(MeetingSlot).where(
                MeetingSlot.id == slot_id, MeetingSlot.exhibitor_id == exhibitor_id
            )
        )
    ).scalar_one_or_none()


async def overlapping_slot(
    db: AsyncSession, staff_account_id: int, starts_at: dt.datetime, ends_at: dt.datetime
) -> MeetingSlot | None:
    return (
        (
            await db.execute(
                select(MeetingSlot).where(
                    MeetingSlot.staff_account_id == staff_account_id,
                    MeetingSlot.starts_at < ends_at,
                    MeetingSlot.ends_at > starts_at,
                )
            )
        )
        .scalars()
        .first()
    )


async def add_slot(db: AsyncSession, slot: MeetingSlot) -> MeetingSlot:
    db.add(slot)
    await db.flush()
    return slot


async def delete_slot(db: AsyncSession, slot: MeetingSlot) -> None:
    await db.delete(slot)
    await db.flush()


async def active_booking(db: AsyncSession, slot_id: int) -> MeetingRequest | None:
    return (
        await db.execute(select(MeetingRequest).where(MeetingRequest.active_slot_id == slot_id))
    ).scalar_one_or_none()


async def insert_booking(db: AsyncSession, booking: MeetingRequest) -> bool:
    """Insert in a savepoint; False when another booking holds the slot (unique clash)."""
    try:
        async with db.begin_nested():
            db.add(booking)
            await db.flush()
    except IntegrityError:
        return False
    return True


async def booking_with_slot(
    db: AsyncSession, event_id: int, booking_id: int
) -> tuple[MeetingRequest, MeetingSlot, Exhibitor] | None:
    row = (
        await db.execute(
            select(MeetingRequest, MeetingSlot, Exhibitor)
            .join(MeetingSlot, MeetingSlot.id == MeetingRequest.slot_id)
            .join(Exhibitor, Exhibitor.id == MeetingSlot.exhibitor_id)
            .where(MeetingRequest.id == booking_id, Exhibitor.event_id == event_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


async def bookings_of_registration(
    db: AsyncSession, registration_id: int, exhibitor_id: int
) -> list[tuple[MeetingRequest, MeetingSlot]]:
    rows = await db.execute(
        select(MeetingRequest, MeetingSlot)
        .join(MeetingSlot, MeetingSlot.id == MeetingRequest.slot_id)
        .where(
            MeetingRequest.registration_id == registration_id,
            MeetingSlot.exhibitor_id == exhibitor_id,
            MeetingRequest.status.in_(ACTIVE_MEETING_STATUSES),
        )
        .order_by(MeetingSlot.starts_at)
    )
    return [(r[0], r[1]) for r in rows.all()]


async def bookings_for_staff(
    db: AsyncSession, exhibitor_id: int
) -> list[tuple[MeetingRequest, MeetingSlot, Registration, bool]]:
    """Active bookings of an exhibitor's slots with whether the attendee shares identity."""
    shares = shares_clause(exhibitor_id).label("shares")
    rows = await db.execute(
        select(MeetingRequest, MeetingSlot, Registration, shares)
        .join(MeetingSlot, MeetingSlot.id == MeetingRequest.slot_id)
        .join(Registration, Registration.id == MeetingRequest.registration_id)
        .where(
            MeetingSlot.exhibitor_id == exhibitor_id,
            MeetingRequest.status.in_(ACTIVE_MEETING_STATUSES),
        )
        .order_by(MeetingSlot.starts_at)
    )
    return [(r[0], r[1], r[2], bool(r[3])) for r in rows.all()]
