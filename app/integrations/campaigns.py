"""Follow-up email campaigns: who may send to which leads, the recipients, counts, suppression."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, and_, case, distinct, exists, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.deps import Membership
from app.auth.security import new_token
from app.booths.models import Exhibitor
from app.db import utcnow
from app.errors import Forbidden, Invalid, NotFound
from app.events.models import Event, Registration
from app.integrations import email_render
from app.integrations.email_render import Engaged, Recipient
from app.integrations.models import EmailCampaign, EmailMessage, EmailSuppression
from app.leads.export_api import FILTER_KEYS, parse_filters
from app.leads.export_rows import ExportFilter, filter_clauses
from app.leads.models import Activity, Lead

CHUNK = 500
SESSION_TYPES = ("session.join", "session.watch")
RESOURCE_TYPES = ("resource.download",)


class InvalidCampaign(Invalid):
    code = "email.invalid_campaign"


@dataclass(frozen=True, slots=True)
class Audience:
    """Who a campaign goes to: the event's leads (organizers) or one exhibitor's."""

    event: Event
    exhibitor: Exhibitor | None
    filter: ExportFilter
    filters: dict[str, str]  # as given, kept on the campaign


async def audience_for(
    db: AsyncSession, member: Membership, params: Mapping[str, str]
) -> tuple[Audience, dict[str, str]]:
    """The audience `member` may write to with these filters, and each bad filter's message.

    Organizers write to the event-level leads (one per attendee) or, choosing an exhibitor,
    to that exhibitor's leads; staff only to their exhibitor's leads. An exhibitor's leads are
    always narrowed to attendees who share their details with that exhibitor."""
    event = member.event
    f, slug, errors = parse_filters(params, event_id=event.id, tz=event.timezone)
    errors.pop("event_level", None)  # the audience decides it (below): the value is ignored
    exhibitor: Exhibitor | None = None
    if slug is not None:
        exhibitor = (
            await db.execute(
                select(Exhibitor).where(Exhibitor.event_id == event.id, Exhibitor.slug == slug)
            )
        ).scalar_one_or_none()
        if exhibitor is None:
            raise NotFound("There is no such exhibitor at this event.")
    elif not member.is_organizer and len(member.exhibitor_ids) == 1:
        exhibitor = await db.get(Exhibitor, next(iter(member.exhibitor_ids)))
    elif not member.is_organizer and member.is_staff:
        raise InvalidCampaign("Choose the exhibitor to write for.", field="exhibitor")
    if exhibitor is None:
        if not member.is_organizer:
            raise Forbidden("Only the event's organizers and exhibitor staff can email leads.")
        f = replace(f, exhibitor_ids=None, consenting_only=False, event_level=True)
    else:
        if not (member.is_organizer or member.staffs(exhibitor.id)):
            raise Forbidden("Only this exhibitor's staff and the event's organizers can do this.")
        f = replace(
            f, exhibitor_ids=frozenset({exhibitor.id}), consenting_only=True, event_level=None
        )
    filters = {k: params[k].strip() for k in FILTER_KEYS if params.get(k, "").strip()}
    if exhibitor is not None:
        filters["exhibitor"] = exhibitor.slug
    filters.pop("event_level", None)
    return Audience(event, exhibitor, f, filters), errors


def _where(f: ExportFilter) -> list[ColumnElement[bool]]:
    """The lead filter of exports, plus: an address to write to and the attendee's consent
    to marketing email."""
    return [
        *filter_clauses(f),
        Registration.erased_at.is_(None),
        Registration.email.is_not(None),
        # Follow-ups are marketing email: only to attendees who ticked "Send me marketing email".
        Registration.consent_marketing_at.is_not(None),
    ]


async def recipients(
    db: AsyncSession, f: ExportFilter, *, limit: int | None = None
) -> list[tuple[int, Registration]]:
    """(lead id, registration) of every lead `f` selects that has an address, in lead order."""
    query = (
        select(Lead.id, Registration)
        .join(Registration, Registration.id == Lead.registration_id)
        .where(and_(*_where(f)))
        .order_by(Lead.id)
        .limit(limit)
    )
    return [(int(lead_id), reg) for lead_id, reg in (await db.execute(query)).all()]


async def suppressed_among(db: AsyncSession, addresses: Iterable[str]) -> set[str]:
    """The lower-cased addresses of `addresses` that unsubscribed."""
    wanted = sorted({a.lower() for a in addresses})
    found: set[str] = set()
    for i in range(0, len(wanted), CHUNK):
        rows = await db.execute(
            select(EmailSuppression.address).where(
                EmailSuppression.address.in_(wanted[i : i + CHUNK])
            )
        )
        found.update(rows.scalars())
    return found


async def engaged(
    db: AsyncSession, registration: Registration, exhibitor_id: int | None
) -> tuple[Engaged, ...]:
    """Sessions attended and resources downloaded, first engagement first; for an exhibitor's
    campaign only what the attendee did with that exhibitor."""
    query = (
        select(Activity.type, Activity.label, func.min(Activity.at))
        .where(
            Activity.event_id == registration.event_id,
            Activity.registration_id == registration.id,
            Activity.type.in_(SESSION_TYPES + RESOURCE_TYPES),
            Activity.label != "",
        )
        .group_by(Activity.type, Activity.label)
        .order_by(func.min(Activity.at), Activity.label)
    )
    if exhibitor_id is not None:
        query = query.where(Activity.exhibitor_id == exhibitor_id)
    out: dict[tuple[str, str], Engaged] = {}
    for type_, label, _ in (await db.execute(query)).all():
        kind = "resource" if type_ in RESOURCE_TYPES else "session"
        out.setdefault((kind, label), Engaged(kind, label))
    return tuple(out.values())


async def recipient_of(
    db: AsyncSession, registration: Registration, event: Event, exhibitor: Exhibitor | None
) -> Recipient:
    return Recipient(
        first_name=registration.first_name or "",
        last_name=registration.last_name or "",
        company=registration.company or "",
        event_name=event.name,
        exhibitor_name=exhibitor.name if exhibitor is not None else event.name,
        engaged=await engaged(db, registration, exhibitor.id if exhibitor else None),
    )


@dataclass(frozen=True, slots=True)
class Preview:
    count: int
    suppressed: int
    to: str | None = None
    subject: str | None = None
    text: str | None = None


def check_template(subject: str, body: str) -> None:
    """Both templates must parse and render (for a sample lead): else a 422 naming the problem."""
    email_render.render_subject(subject, email_render.SAMPLE)
    email_render.render(body, email_render.SAMPLE, "body")


async def preview(db: AsyncSession, audience: Audience, subject: str, body: str) -> Preview:
    """How many leads the campaign reaches, and the first one's email as they would read it."""
    check_template(subject, body)
    # Counted in the database: the compose page may look at a hundred thousand leads.
    chosen = (
        select(Registration.id.label("rid"), func.lower(Registration.email).label("address"))
        .join(Lead, Lead.registration_id == Registration.id)
        .where(and_(*_where(audience.filter)))
        .subquery()
    )
    count = (await db.execute(select(func.count(distinct(chosen.c.rid))))).scalar_one()
    blocked = (
        await db.execute(
            select(func.count(distinct(chosen.c.rid))).join(
                EmailSuppression, EmailSuppression.address == chosen.c.address
            )
        )
    ).scalar_one()
    unsubscribed = exists().where(EmailSuppression.address == func.lower(Registration.email))
    first = (
        await db.execute(
            select(Registration)
            .join(Lead, Lead.registration_id == Registration.id)
            .where(and_(*_where(audience.filter)), ~unsubscribed)
            .order_by(Lead.id)
            .limit(1)
        )
    ).scalar_one_or_none()
    if first is None:
        return Preview(count=count, suppressed=count)
    recipient = await recipient_of(db, first, audience.event, audience.exhibitor)
    return Preview(
        count=count,
        suppressed=blocked,
        to=first.email,
        subject=email_render.render_subject(subject, recipient),
        text=email_render.render(body, recipient, "body"),
    )


async def create(
    db: AsyncSession, audience: Audience, *, subject: str, body: str, created_by_id: int | None
) -> EmailCampaign:
    """The campaign and one queued message per recipient, in the caller's transaction;
    unsubscribed addresses get a `suppressed` message, erased attendees none."""
    check_template(subject, body)
    found = await recipients(db, audience.filter)
    if found:  # one real lead too (before writing anything): `engaged` trips templates up most
        real = await recipient_of(db, found[0][1], audience.event, audience.exhibitor)
        email_render.render_subject(subject, real)
        email_render.render(body, real, "body")
    blocked = await suppressed_among(db, (r.email or "" for _, r in found))
    campaign = EmailCampaign(
        event_id=audience.event.id,
        exhibitor_id=audience.exhibitor.id if audience.exhibitor else None,
        subject=subject,
        body=body,
        filters=audience.filters,
        created_by_id=created_by_id,
    )
    db.add(campaign)
    await db.flush()
    now = utcnow()
    rows: list[dict[str, Any]] = []
    seen: set[int] = set()
    for lead_id, reg in found:
        if reg.id in seen:
            continue
        seen.add(reg.id)
        address = (reg.email or "").strip()
        rows.append(
            {
                "campaign_id": campaign.id,
                "lead_id": lead_id,
                "registration_id": reg.id,
                "to_address": address,
                "token": new_token(24),
                "status": "suppressed" if address.lower() in blocked else "queued",
                "attempts": 0,
                "next_attempt_at": now,
            }
        )
    for i in range(0, len(rows), CHUNK):
        await db.execute(insert(EmailMessage), rows[i : i + CHUNK])
    campaign.total = len(rows)
    campaign.suppressed = sum(1 for r in rows if r["status"] == "suppressed")
    await db.flush()
    return campaign


@dataclass(frozen=True, slots=True)
class Counts:
    total: int = 0
    queued: int = 0
    sent: int = 0
    failed: int = 0
    suppressed: int = 0
    opened: int = 0
    clicked: int = 0


async def counts(db: AsyncSession, campaign_id: int) -> Counts:
    return (await counts_of(db, [campaign_id]))[campaign_id]


async def counts_of(db: AsyncSession, campaign_ids: Sequence[int]) -> dict[int, Counts]:
    """Each campaign's message counts, in one grouped query (campaigns without any: zeros)."""
    m = EmailMessage

    def n(cond: ColumnElement[bool]) -> Any:
        return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)

    rows = await db.execute(
        select(
            m.campaign_id,
            func.count(),
            n(m.status == "queued"),
            n(m.status == "sent"),
            n(m.status == "failed"),
            n(m.status == "suppressed"),
            n(m.opened_at.is_not(None)),
            n(m.clicked_at.is_not(None)),
        )
        .where(m.campaign_id.in_(campaign_ids))
        .group_by(m.campaign_id)
    )
    found = {int(row[0]): Counts(*(int(v) for v in row[1:])) for row in rows}
    return {campaign_id: found.get(campaign_id, Counts()) for campaign_id in campaign_ids}


async def campaign_for(db: AsyncSession, member: Membership, campaign_id: int) -> EmailCampaign:
    """A campaign `member` may see: organizers every one of the event, staff their exhibitor's."""
    campaign = await db.get(EmailCampaign, campaign_id)
    if campaign is None or campaign.event_id != member.event.id:
        raise NotFound("There is no such campaign at this event.")
    if member.is_organizer:
        return campaign
    if campaign.exhibitor_id is None or not member.staffs(campaign.exhibitor_id):
        raise NotFound("There is no such campaign at this event.")
    return campaign


async def campaigns_of(db: AsyncSession, member: Membership) -> Sequence[EmailCampaign]:
    if not (member.is_organizer or member.is_staff):
        raise Forbidden("Only the event's organizers and exhibitor staff can email leads.")
    query = select(EmailCampaign).where(EmailCampaign.event_id == member.event.id)
    if not member.is_organizer:
        query = query.where(EmailCampaign.exhibitor_id.in_(member.exhibitor_ids))
    return (await db.execute(query.order_by(EmailCampaign.id.desc()).limit(200))).scalars().all()


async def message_by_token(db: AsyncSession, token: str) -> EmailMessage | None:
    if not 0 < len(token) <= 64:
        return None
    query = select(EmailMessage).where(EmailMessage.token == token)
    return (await db.execute(query)).scalar_one_or_none()


async def suppress(db: AsyncSession, address: str, *, at: dt.datetime, reason: str) -> None:
    """Add `address` to the global suppression list (once; a second unsubscribe is a no-op)."""
    values = {"address": address.strip().lower(), "reason": reason, "at": at}
    if db.get_bind().dialect.name == "postgresql":
        statement: Any = pg_insert(EmailSuppression).values(**values)
    else:
        statement = sqlite_insert(EmailSuppression).values(**values)
    await db.execute(statement.on_conflict_do_nothing(index_elements=["address"]))
    # Honoured everywhere: the registrations with that address no longer consent either (the
    # lead exports say so, and queued mail is held back when it is about to go out).
    await db.execute(
        update(Registration)
        .where(func.lower(Registration.email) == values["address"])
        .values(consent_marketing_at=None)
        .execution_options(synchronize_session=False)
    )
