"""The one place realtime talks to the lead engine: recording activities and lead cards."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import and_, bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import BoothConsent
from app.events.models import Event, Registration
from app.leads import service as leads_service
from app.leads.models import Activity, Lead
from app.leads.vocab import ACTIVITY_TYPES
from app.realtime import channels
from app.realtime.protocol import push

Publish = tuple[str, bytes]


class LeadFields(Protocol):
    """What a card shows of a lead: a `Lead`, or a row of `CARD_COLUMNS`."""

    @property
    def id(self) -> int: ...
    @property
    def grade(self) -> str: ...
    @property
    def tier(self) -> int: ...
    @property
    def cell(self) -> str: ...
    @property
    def fit(self) -> float: ...
    @property
    def engagement(self) -> float: ...
    @property
    def buying_stage(self) -> str | None: ...
    @property
    def stage(self) -> str: ...
    @property
    def mql_at(self) -> dt.datetime | None: ...


CARD_COLUMNS = (
    Lead.id,
    Lead.grade,
    Lead.tier,
    Lead.cell,
    Lead.fit,
    Lead.engagement,
    Lead.buying_stage,
    Lead.stage,
    Lead.mql_at,
)


# The attendee's answer at this exhibitor's booth ("share my details with them?", null when
# never asked) and their lead there (nulls when none): one row for any registration.
_BOOTH_ANSWER = (
    select(BoothConsent.shared)
    .where(
        BoothConsent.registration_id == bindparam("registration_id"),
        BoothConsent.exhibitor_id == bindparam("exhibitor_id"),
    )
    .scalar_subquery()
)
_CARD_LEAD = (
    select(_BOOTH_ANSWER.label("booth_shared"), *CARD_COLUMNS)
    .select_from(Registration)
    .outerjoin(
        Lead,
        and_(
            Lead.registration_id == Registration.id,
            Lead.exhibitor_id == bindparam("exhibitor_id"),
        ),
    )
    .where(Registration.id == bindparam("registration_id"))
)
_CARD_RECENT = (
    select(Activity.type, Activity.label, Activity.at)
    .where(
        Activity.registration_id == bindparam("registration_id"),
        Activity.exhibitor_id == bindparam("exhibitor_id"),
    )
    .order_by(Activity.at.desc(), Activity.id.desc())
    .limit(3)
)


def _what(activity_type: str) -> str:
    """The activity in words ("downloaded a resource"), without the unit of its value."""
    return ACTIVITY_TYPES.get(activity_type, activity_type).split(" (")[0]


class ActivityFields(Protocol):
    """What a card shows of an activity: an `Activity`, or a row of `_CARD_RECENT`."""

    @property
    def type(self) -> str: ...
    @property
    def label(self) -> str: ...
    @property
    def at(self) -> dt.datetime: ...


def activity_line(activity: ActivityFields) -> dict[str, object]:
    """An activity as a card lists it."""
    return {
        "type": activity.type,
        "what": _what(activity.type),
        "label": activity.label,
        "at": activity.at,
    }


def lead_summary(lead: LeadFields) -> dict[str, object]:
    """What a card shows of a lead (its latest activities apart)."""
    return {
        "lead_id": lead.id,
        "grade": lead.grade,
        "tier": lead.tier,
        "cell": lead.cell,
        "fit": round(lead.fit),
        "engagement": round(lead.engagement),
        "buying_stage": lead.buying_stage,
        "stage": lead.stage,
        "mql": lead.mql_at is not None,
    }


@dataclass(frozen=True, slots=True)
class Recorded:
    publishes: list[Publish]  # `staff.mql` pushes to send after commit
    result: leads_service.RecordResult


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
) -> Recorded:
    """Append one activity (once per key) and update the attendee's leads."""
    result = await leads_service.record(
        db,
        event=event,
        registration=registration,
        type=type,
        value=value,
        exhibitor_id=exhibitor_id,
        booth_id=booth_id,
        idempotency_key=idempotency_key,
    )
    out: list[Publish] = []
    for lead in result.mql_reached:
        if lead.exhibitor_id is None:
            continue
        body = {
            **lead_summary(lead),
            "registration_id": registration.id,
            "name": registration.full_name,
            "company": registration.company,
        }
        out.append((channels.staff(lead.exhibitor_id), push("staff.mql", body)))
    return Recorded(out, result)


async def shared_lead(
    db: AsyncSession, *, exhibitor_id: int, registration: Registration
) -> tuple[bool, LeadFields | None]:
    """Whether the attendee shares their details with this exhibitor (their answer at its
    booth wins, else the event-wide consent; never once erased, as `shares_with`), and
    their lead there. One statement: it runs on every booth arrival and departure, so it
    reads columns, not whole leads (a lead's scoring state and reasons are JSON)."""
    if registration.erased_at is not None:
        return False, None
    ids = {"registration_id": registration.id, "exhibitor_id": exhibitor_id}
    row = (await db.execute(_CARD_LEAD, ids)).one_or_none()
    if row is None:
        return False, None
    answer = row.booth_shared
    shares = bool(answer) if answer is not None else registration.consent_share_at is not None
    return shares, (row if row.id is not None else None)


async def lead_card(
    db: AsyncSession, *, exhibitor_id: int, registration_id: int, lead: LeadFields | None
) -> dict[str, object] | None:
    """Grade, tier, stage and the last activities at this exhibitor of `lead` (as read by
    `shared_lead`, or as a departure's dwell record has just written it)."""
    if lead is None:
        return None
    ids = {"registration_id": registration_id, "exhibitor_id": exhibitor_id}
    recent = await db.execute(_CARD_RECENT, ids)
    return {
        **lead_summary(lead),
        "last_activities": [activity_line(a) for a in recent],
    }
