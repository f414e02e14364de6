"""The rows of a lead export: one keyset-paginated query, streamed in chunks of 1,000 leads."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, literal, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from app.auth.deps import Membership
from app.auth.models import Account
from app.booths.booth_repository import shares_clause
from app.booths.models import Exhibitor
from app.events.models import Registration
from app.leads.errors import LeadForbidden
from app.leads.models import Activity, Lead, LeadTransition

Cell = str | int | float | dt.datetime | None
Row = tuple[Cell, ...]
CHUNK = 1000


@dataclass(frozen=True, slots=True)
class ExportFilter:
    """Which leads an export holds; `exhibitor_ids` None means every lead of the event."""

    event_id: int
    exhibitor_ids: frozenset[int] | None = None
    consenting_only: bool = False  # staff: only attendees who share with that exhibitor
    event_level: bool | None = None
    stage: str | None = None
    cell: str | None = None
    grade: str | None = None
    tier: int | None = None
    buying_stage: str | None = None
    min_score: float | None = None
    max_score: float | None = None
    active_from: dt.datetime | None = None
    active_to: dt.datetime | None = None


def _where(f: ExportFilter, *, by_id: bool = False) -> list[ColumnElement[bool]]:
    # by_id: "event_id + 0" keeps the planner off the event indexes, so that each chunk walks
    # the primary key from the last id seen instead of sorting all the event's leads again.
    event = (Lead.event_id + 0) if by_id else Lead.event_id
    clauses: list[ColumnElement[bool]] = [event == f.event_id]
    if f.exhibitor_ids is not None:
        clauses.append(Lead.exhibitor_id.in_(f.exhibitor_ids))
    if f.consenting_only:
        clauses.append(Lead.exhibitor_id.is_not(None))
        clauses.append(shares_clause(Lead.exhibitor_id))
    if f.event_level is True:
        clauses.append(Lead.exhibitor_id.is_(None))
    elif f.event_level is False:
        clauses.append(Lead.exhibitor_id.is_not(None))
    for column, value in (
        (Lead.stage, f.stage),
        (Lead.cell, f.cell),
        (Lead.grade, f.grade),
        (Lead.tier, f.tier),
        (Lead.buying_stage, f.buying_stage),
    ):
        if value is not None:
            clauses.append(column == value)
    if f.min_score is not None:
        clauses.append(Lead.engagement >= f.min_score)
    if f.max_score is not None:
        clauses.append(Lead.engagement <= f.max_score)
    if f.active_from is not None:
        clauses.append(Lead.last_activity_at >= f.active_from)
    if f.active_to is not None:
        clauses.append(Lead.last_activity_at < f.active_to)
    return clauses


_LAST_TRANSITION = (
    select(func.max(LeadTransition.at))
    .where(LeadTransition.lead_id == Lead.id)
    .correlate(Lead)
    .scalar_subquery()
)


FIELDS: tuple[str, ...] = (
    "lead_id",
    "exhibitor",
    "first_name",
    "last_name",
    "email",
    "company",
    "job_title",
    "phone",
    "job_level",
    "company_type",
    "company_size",
    "industry",
    "country",
    "budget",
    "timeframe",
    "consent_share_at",
    "consent_marketing_at",
    "fit",
    "grade",
    "engagement",
    "tier",
    "cell",
    "buying_stage",
    "stage",
    "mql_at",
    "last_transition_at",
    "owner",
    "top_reasons",
    "visits",
    "dwell_minutes",
    "downloads",
    "sessions",
    "watch_minutes",
    "questions",
    "polls",
    "chats",
    "hand_raises",
    "last_activity_at",
    "rules_version",
)
"""Every row of `stream_rows`, in this order."""


def _lead_query(f: ExportFilter, *, by_id: bool = False) -> Select[*tuple[Any, ...]]:
    r = Registration
    # The first 27 columns are FIELDS[:27]; then contributions, the last two FIELDS and the
    # keys of the activity counts.
    return (
        select(
            Lead.id,
            func.coalesce(Exhibitor.name, literal("")),
            r.first_name,
            r.last_name,
            r.email,
            r.company,
            r.job_title,
            r.phone,
            r.job_level,
            r.company_type,
            r.company_size,
            r.industry,
            r.country,
            r.budget,
            r.timeframe,
            r.consent_share_at,
            r.consent_marketing_at,
            Lead.fit,
            Lead.grade,
            Lead.engagement,
            Lead.tier,
            Lead.cell,
            Lead.buying_stage,
            Lead.stage,
            Lead.mql_at,
            _LAST_TRANSITION,
            Account.email,
            Lead.contributions,
            Lead.last_activity_at,
            Lead.rules_version,
            Lead.registration_id,
            Lead.exhibitor_id,
        )
        .join(r, r.id == Lead.registration_id)
        .outerjoin(Exhibitor, Exhibitor.id == Lead.exhibitor_id)
        .outerjoin(Account, Account.id == Lead.owner_id)
        .where(and_(*_where(f, by_id=by_id)))
    )


def _is(type_: str) -> ColumnElement[int]:
    return case((Activity.type == type_, 1), else_=0)


def _seconds(type_: str) -> ColumnElement[float]:
    return case((Activity.type == type_, func.coalesce(Activity.value, 0.0)), else_=0.0)


COUNT_COLUMNS = (
    "visits",
    "dwell_minutes",
    "downloads",
    "sessions",
    "watch_minutes",
    "questions",
    "polls",
    "chats",
    "hand_raises",
)


def _counts_query(event_id: int, registration_ids: Iterable[int]) -> Select[*tuple[Any, ...]]:
    a = Activity
    return (
        select(
            a.registration_id,
            a.exhibitor_id,
            func.sum(_is("booth.visit")),
            func.sum(_seconds("booth.dwell")),
            func.sum(_is("resource.download")),
            func.count(func.distinct(case((a.type == "session.join", a.session_id)))),
            func.sum(_seconds("session.watch")),
            func.sum(_is("question.ask")),
            func.sum(_is("poll.answer")),
            func.sum(_is("chat.message")),
            func.sum(_is("meeting.request") + _is("info.request")),
        )
        .where(a.event_id == event_id, a.registration_id.in_(list(registration_ids)))
        .group_by(a.registration_id, a.exhibitor_id)
    )


Counts = tuple[int | float, ...]
ZERO: Counts = (0, 0.0, 0, 0, 0.0, 0, 0, 0, 0)


async def _counts(
    conn: AsyncConnection, event_id: int, registration_ids: set[int]
) -> dict[tuple[int, int | None], Counts]:
    """Per (registration, exhibitor) and per (registration, None) for the whole event."""
    rows = (await conn.execute(_counts_query(event_id, registration_ids))).all()
    out: dict[tuple[int, int | None], Counts] = {}
    event: dict[int, list[float]] = {}
    for reg, exhibitor, *values in rows:
        if exhibitor is not None:
            out[reg, exhibitor] = _units(values)
        into = event.setdefault(reg, [0.0] * len(COUNT_COLUMNS))
        for i, value in enumerate(values):
            into[i] += value or 0
    for reg, sums in event.items():
        out[reg, None] = _units(sums)
    return out


def _units(values: Sequence[float | None]) -> Counts:
    """Counts as integers, seconds as minutes to one decimal (COUNT_COLUMNS order)."""
    v = [x or 0 for x in values]
    return (
        int(v[0]), round(v[1] / 60, 1), int(v[2]), int(v[3]), round(v[4] / 60, 1),
        int(v[5]), int(v[6]), int(v[7]), int(v[8]),
    )  # fmt: skip


def reasons_text(contributions: Iterable[Mapping[str, Any]], top: int = 3) -> str:
    """The strongest reasons in plain words: "requested info (+15); downloaded 'Pricing' (+5)".
    Points go last so a spreadsheet never sees a cell starting with "+" or "-"."""
    ranked = sorted(
        (c for c in contributions if float(c.get("points", 0)) != 0),
        key=lambda c: -abs(float(c.get("points", 0))),
    )
    return "; ".join(f"{c.get('label', '')} ({float(c['points']):+g})" for c in ranked[:top])


async def count_rows(conn: AsyncConnection | AsyncSession, f: ExportFilter) -> int:
    query = select(func.count()).select_from(_lead_query(f).subquery())
    return int((await conn.execute(query)).scalar_one())


async def read_only(engine: AsyncEngine) -> AsyncConnection:
    """A connection for long reads: DEFERRED on SQLite (writers go on), a snapshot on PostgreSQL."""
    conn = await engine.connect()
    if engine.dialect.name == "sqlite":
        return await conn.execution_options(sqlite_begin="DEFERRED")
    return await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


async def stream_rows(
    engine: AsyncEngine, f: ExportFilter, *, chunk: int = CHUNK
) -> AsyncIterator[Row]:
    """Every lead of `f` in id order, `chunk` leads and one activity GROUP BY at a time."""
    conn = await read_only(engine)
    try:
        async with conn.begin():
            last = 0
            while True:
                query = (
                    _lead_query(f, by_id=True).where(Lead.id > last).order_by(Lead.id).limit(chunk)
                )
                leads = (await conn.execute(query)).all()
                if not leads:
                    return
                counts = await _counts(conn, f.event_id, {r[-2] for r in leads})
                for r in leads:
                    yield (
                        *r[:17],
                        round(r[17], 1),
                        r[18],
                        round(r[19], 1),
                        *r[20:27],
                        reasons_text(r[27] or ()),
                        *(counts.get((r[-2], r[-1])) or ZERO),
                        r[28],
                        r[29],
                    )
                last = leads[-1][0]
                if len(leads) < chunk:
                    return
    finally:
        await conn.close()


async def exhibitor_by_slug(
    conn: AsyncConnection | AsyncSession, event_id: int, slug: str
) -> int | None:
    query = select(Exhibitor.id).where(Exhibitor.event_id == event_id, Exhibitor.slug == slug)
    found = (await conn.execute(query)).scalar_one_or_none()
    return None if found is None else int(found)


def scoped(member: Membership, f: ExportFilter, exhibitor_id: int | None) -> ExportFilter:
    """What `member` may export: organizers every lead; staff only their exhibitor's leads of
    attendees who share their details with that exhibitor."""
    if member.is_organizer:
        ids = None if exhibitor_id is None else frozenset({exhibitor_id})
        return replace(f, exhibitor_ids=ids)
    if not member.is_staff or (exhibitor_id is not None and not member.staffs(exhibitor_id)):
        raise LeadForbidden(
            "Only the exhibitor's staff and the event's organizers can export its leads."
        )
    ids = member.exhibitor_ids if exhibitor_id is None else frozenset({exhibitor_id})
    return replace(f, exhibitor_ids=ids, consenting_only=True, event_level=None)
