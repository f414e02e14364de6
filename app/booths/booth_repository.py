"""Queries of booth pages, self-service, meetings, consents and booth analytics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, delete, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.models import Account
from app.booths.models import (
    Booth,
    BoothConsent,
    Exhibitor,
    InfoRequest,
    Resource,
)
from app.events.models import Invitation, Registration, Role, RoleName
from app.leads.models import Activity

AnyRow = Row[*tuple[Any, ...]]

# -- consent: the one place that says whether an exhibitor may know who an attendee is -------


async def booth_consent(
    db: AsyncSession, registration_id: int, exhibitor_id: int
) -> BoothConsent | None:
    return (
        await db.execute(
            select(BoothConsent).where(
                BoothConsent.registration_id == registration_id,
                BoothConsent.exhibitor_id == exhibitor_id,
            )
        )
    ).scalar_one_or_none()


async def shares_with(db: AsyncSession, registration: Registration, exhibitor_id: int) -> bool:
    """True when `exhibitor_id` may see who `registration` is.

    The attendee's answer at that booth wins; without one, the event-wide consent decides.
    The lead engine calls this before it creates or updates an exhibitor lead.
    """
    if registration.erased_at is not None:
        return False
    answer = await booth_consent(db, registration.id, exhibitor_id)
    if answer is not None:
        return answer.shared
    return registration.consent_share_at is not None


def shares_clause(exhibitor_id: Any) -> ColumnElement[bool]:
    """SQL twin of `shares_with`, correlated to `Registration`: for lead lists and exports.

    `exhibitor_id` is a column (e.g. `Lead.exhibitor_id`) or a plain integer.
    """
    answered = select(BoothConsent.id).where(
        BoothConsent.registration_id == Registration.id,
        BoothConsent.exhibitor_id == exhibitor_id,
    )
    said_yes = exists(answered.where(BoothConsent.shared.is_(True)))
    return and_(
        Registration.erased_at.is_(None),
        or_(said_yes, and_(Registration.consent_share_at.is_not(None), ~exists(answered))),
    )


async def save_consent(
    db: AsyncSession, *, registration_id: int, exhibitor_id: int, shared: bool, at: dt.datetime
) -> BoothConsent:
    """Insert or change the answer; a concurrent first answer is updated, not duplicated."""
    row = await booth_consent(db, registration_id, exhibitor_id)
    if row is None:
        row = BoothConsent(
            registration_id=registration_id, exhibitor_id=exhibitor_id, shared=shared, at=at
        )
        try:
            async with db.begin_nested():
                db.add(row)
                await db.flush()
            return row
        except IntegrityError:
            row = await booth_consent(db, registration_id, exhibitor_id)
            assert row is not None  # noqa: S101
    row.shared, row.at = shared, at
    await db.flush()
    return row


# -- exhibitors, booths, resources ------------------------------------------------------------


async def exhibitor_booth(
    db: AsyncSession, event_id: int, exhibitor_slug: str
) -> tuple[Exhibitor, Booth] | None:
    row = (
        await db.execute(
            select(Exhibitor, Booth)
            .join(Booth, Booth.exhibitor_id == Exhibitor.id)
            .where(Exhibitor.event_id == event_id, Exhibitor.slug == exhibitor_slug)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def exhibitor_booth_by_id(
    db: AsyncSession, event_id: int, exhibitor_id: int
) -> tuple[Exhibitor, Booth] | None:
    row = (
        await db.execute(
            select(Exhibitor, Booth)
            .join(Booth, Booth.exhibitor_id == Exhibitor.id)
            .where(Exhibitor.event_id == event_id, Exhibitor.id == exhibitor_id)
        )
    ).first()
    return (row[0], row[1]) if row else None


async def all_exhibitor_booths(db: AsyncSession, event_id: int) -> list[tuple[Exhibitor, Booth]]:
    rows = await db.execute(
        select(Exhibitor, Booth)
        .join(Booth, Booth.exhibitor_id == Exhibitor.id)
        .where(Exhibitor.event_id == event_id)
        .order_by(Exhibitor.name, Exhibitor.id)
    )
    return [(r[0], r[1]) for r in rows.all()]


async def slugs_taken(db: AsyncSession, event_id: int) -> set[str]:
    rows = await db.execute(select(Exhibitor.slug).where(Exhibitor.event_id == event_id))
    return set(rows.scalars())


async def resources_of(db: AsyncSession, booth_id: int) -> Sequence[Resource]:
    return (
        (
            await db.execute(
                select(Resource)
                .where(Resource.booth_id == booth_id)
                .order_by(Resource.created_at, Resource.id)
            )
        )
        .scalars()
        .all()
    )


async def resource_in_event(
    db: AsyncSession, event_id: int, resource_id: int
) -> tuple[Resource, Booth, Exhibitor] | None:
    row = (
        await db.execute(
            select(Resource, Booth, Exhibitor)
            .join(Booth, Booth.id == Resource.booth_id)
            .join(Exhibitor, Exhibitor.id == Booth.exhibitor_id)
            .where(Resource.id == resource_id, Booth.event_id == event_id)
        )
    ).first()
    return (row[0], row[1], row[2]) if row else None


# -- staff --------------------------------------------------------------------------------


async def staff_of(db: AsyncSession, event_id: int, exhibitor_id: int) -> Sequence[Account]:
    return (
        (
            await db.execute(
                select(Account)
                .join(Role, Role.account_id == Account.id)
                .where(
                    Role.event_id == event_id,
                    Role.role == RoleName.staff,
                    Role.exhibitor_id == exhibitor_id,
                    Account.erased_at.is_(None),
                )
                .order_by(Account.display_name, Account.id)
            )
        )
        .scalars()
        .all()
    )


async def staff_role(db: AsyncSession, event_id: int, account_id: int) -> Role | None:
    return (
        await db.execute(
            select(Role).where(
                Role.event_id == event_id,
                Role.account_id == account_id,
                Role.role == RoleName.staff,
            )
        )
    ).scalar_one_or_none()


async def remove_role(db: AsyncSession, role: Role) -> None:
    await db.delete(role)
    await db.flush()


async def add_staff_role(
    db: AsyncSession, *, event_id: int, account_id: int, exhibitor_id: int
) -> Role:
    role = Role(
        event_id=event_id, account_id=account_id, role=RoleName.staff, exhibitor_id=exhibitor_id
    )
    db.add(role)
    await db.flush()
    return role


async def account_by_email(db: AsyncSession, email: str) -> Account | None:
    return (
        await db.execute(
            select(Account).where(
                func.lower(Account.email) == email.strip().lower(), Account.erased_at.is_(None)
            )
        )
    ).scalar_one_or_none()


async def add_invitation(db: AsyncSession, invitation: Invitation) -> Invitation:
    db.add(invitation)
    await db.flush()
    return invitation


async def open_invitations(
    db: AsyncSession, event_id: int, exhibitor_id: int, now: dt.datetime
) -> Sequence[Invitation]:
    return (
        (
            await db.execute(
                select(Invitation)
                .where(
                    Invitation.event_id == event_id,
                    Invitation.exhibitor_id == exhibitor_id,
                    Invitation.accepted_at.is_(None),
                    Invitation.expires_at > now,
                )
                .order_by(Invitation.created_at.desc())
            )
        )
        .scalars()
        .all()
    )


# -- analytics: one GROUP BY per figure --------------------------------------------------------


async def activity_totals(db: AsyncSession, exhibitor_id: int) -> Sequence[AnyRow]:
    """Per activity type: count, distinct attendees and summed value."""
    return (
        await db.execute(
            select(
                Activity.type,
                func.count(Activity.id).label("n"),
                func.count(func.distinct(Activity.registration_id)).label("people"),
                func.coalesce(func.sum(Activity.value), 0).label("total"),
            )
            .where(Activity.exhibitor_id == exhibitor_id)
            .group_by(Activity.type)
        )
    ).all()


async def downloads_by_resource(db: AsyncSession, exhibitor_id: int) -> Sequence[AnyRow]:
    return (
        await db.execute(
            select(
                Activity.label,
                Activity.stage,
                func.count(Activity.id).label("n"),
                func.count(func.distinct(Activity.registration_id)).label("people"),
            )
            .where(Activity.exhibitor_id == exhibitor_id, Activity.type == "resource.download")
            .group_by(Activity.label, Activity.stage)
            .order_by(func.count(Activity.id).desc(), Activity.label)
        )
    ).all()


def _hour(dialect: str) -> ColumnElement[str]:
    if dialect == "postgresql":
        return func.to_char(
            func.date_trunc("hour", func.timezone("UTC", Activity.at)), "YYYY-MM-DD HH24:00"
        )
    return func.strftime("%Y-%m-%d %H:00", Activity.at)


async def activity_by_hour(db: AsyncSession, exhibitor_id: int) -> Sequence[AnyRow]:
    """(UTC hour as 'YYYY-MM-DD HH:00', type, count, distinct attendees)."""
    hour = _hour(db.get_bind().dialect.name).label("hour")
    return (
        await db.execute(
            select(
                hour,
                Activity.type,
                func.count(Activity.id).label("n"),
                func.count(func.distinct(Activity.registration_id)).label("people"),
            )
            .where(Activity.exhibitor_id == exhibitor_id)
            .group_by(hour, Activity.type)
            .order_by(hour)
        )
    ).all()


async def identified_visitors(
    db: AsyncSession, exhibitor_id: int, limit: int = 50
) -> Sequence[AnyRow]:
    """Attendees who share their identity with the exhibitor: activity count and last time."""
    return (
        await db.execute(
            select(
                Registration,
                func.count(Activity.id).label("n"),
                func.max(Activity.at).label("last_at"),
            )
            .join(Registration, Registration.id == Activity.registration_id)
            .where(Activity.exhibitor_id == exhibitor_id, shares_clause(exhibitor_id))
            .group_by(Registration.id)
            .order_by(func.max(Activity.at).desc())
            .limit(limit)
        )
    ).all()


async def visitor_counts(db: AsyncSession, exhibitor_id: int) -> dict[bool, int]:
    """How many distinct attendees interacted, split by whether they share their identity."""
    per_person = (
        select(Registration.id, shares_clause(exhibitor_id).label("shares"))
        .join(Activity, Activity.registration_id == Registration.id)
        .where(Activity.exhibitor_id == exhibitor_id)
        .group_by(Registration.id)
        .subquery()
    )
    rows = await db.execute(select(per_person.c.shares, func.count()).group_by(per_person.c.shares))
    return {bool(shares): n for shares, n in rows.all()}


async def delete_resource(db: AsyncSession, resource: Resource) -> None:
    await db.execute(delete(Resource).where(Resource.id == resource.id))


async def insert_once(db: AsyncSession, row: Any) -> bool:
    """Insert in a savepoint; False (the caller's transaction intact) on a unique clash."""
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        return False
    return True


async def info_request(
    db: AsyncSession, exhibitor_id: int, registration_id: int, day: str
) -> InfoRequest | None:
    return (
        await db.execute(
            select(InfoRequest).where(
                InfoRequest.exhibitor_id == exhibitor_id,
                InfoRequest.registration_id == registration_id,
                InfoRequest.day == day,
            )
        )
    ).scalar_one_or_none()


async def info_requests_for_staff(
    db: AsyncSession, exhibitor_id: int, limit: int = 100
) -> list[tuple[InfoRequest, Registration, bool]]:
    shares = shares_clause(exhibitor_id).label("shares")
    rows = await db.execute(
        select(InfoRequest, Registration, shares)
        .join(Registration, Registration.id == InfoRequest.registration_id)
        .where(InfoRequest.exhibitor_id == exhibitor_id)
        .order_by(InfoRequest.created_at.desc())
        .limit(limit)
    )
    return [(r[0], r[1], bool(r[2])) for r in rows.all()]
