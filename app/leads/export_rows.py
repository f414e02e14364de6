"""The rows of a lead export: keyset-paginated queries, streamed in chunks of 1,000 leads."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncGenerator, AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import orjson
from sqlalchemy import (
    ColumnElement,
    Select,
    String,
    Text,
    and_,
    bindparam,
    cast,
    func,
    literal,
    select,
)
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
FIRST_CHUNK = 100


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


def filter_clauses(f: ExportFilter, *, by_id: bool = False) -> list[ColumnElement[bool]]:
    """The WHERE clauses of the leads `f` selects (exports, follow-up email)."""
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


def iso_text(column: ColumnElement[Any], dialect: str) -> ColumnElement[str]:
    """A UTC timestamp as the database's text 2026-06-01T12:00:00Z, like `exporters.iso`
    (seconds truncated): formatting 500,000 timestamps in Python costs more than the query."""
    if dialect == "sqlite":  # stored as naive UTC text, "2026-06-01 12:00:00.000000": cut
        # and joined, at a third of strftime's cost (NULL stays NULL)
        return func.substr(column, 1, 10).concat("T").concat(func.substr(column, 12, 8)).concat("Z")
    return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS"Z"', type_=String)


def _lead_query(
    f: ExportFilter, *, by_id: bool = False, dates: str | None = None
) -> Select[*tuple[Any, ...]]:
    """`dates`: None for datetimes, or a dialect name for timestamps as text (`iso_text`)."""
    r = Registration

    def when(column: Any) -> ColumnElement[Any]:
        return column if dates is None else iso_text(column, dates)

    # The first 27 columns are FIELDS[:27]; then contributions (JSON text), the last two
    # FIELDS and the keys of the activity counts.
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
            when(r.consent_share_at),
            when(r.consent_marketing_at),
            Lead.fit,
            Lead.grade,
            Lead.engagement,
            Lead.tier,
            Lead.cell,
            Lead.buying_stage,
            Lead.stage,
            when(Lead.mql_at),
            when(_LAST_TRANSITION),
            Account.email,
            # Parsed by orjson below, several times faster than the JSON type's json.loads.
            cast(Lead.contributions, Text),
            when(Lead.last_activity_at),
            Lead.rules_version,
            Lead.registration_id,
            Lead.exhibitor_id,
        )
        .join(r, r.id == Lead.registration_id)
        .outerjoin(Exhibitor, Exhibitor.id == Lead.exhibitor_id)
        .outerjoin(Account, Account.id == Lead.owner_id)
        .where(and_(*filter_clauses(f, by_id=by_id)))
    )


def _is(*types: str) -> ColumnElement[int]:
    return func.count().filter(Activity.type.in_(types))


def _seconds(type_: str) -> ColumnElement[float]:
    return func.coalesce(func.sum(Activity.value).filter(Activity.type == type_), 0.0)


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


def _counts_query() -> Select[*tuple[Any, ...]]:
    a = Activity
    return (
        select(
            a.registration_id,
            a.exhibitor_id,
            # FILTER, not a CASE in each SUM: a third less work for the database.
            _is("booth.visit"),
            _seconds("booth.dwell"),
            _is("resource.download"),
            func.count(func.distinct(a.session_id)).filter(a.type == "session.join"),
            _seconds("session.watch"),
            _is("question.ask"),
            _is("poll.answer"),
            _is("chat.message"),
            _is("meeting.request", "info.request"),
        )
        .where(
            a.event_id == bindparam("event_id"),
            a.registration_id.in_(bindparam("registration_ids", expanding=True)),
        )
        .group_by(a.registration_id, a.exhibitor_id)
    )


Counts = tuple[int | float, ...]
ZERO: Counts = (0, 0.0, 0, 0, 0.0, 0, 0, 0, 0)
CountsOf = dict[tuple[int, int | None], Counts]
"""A chunk's activity counts as the rows hold them (COUNT_COLUMNS, minutes rounded), by
(registration, exhibitor): an exhibitor lead's activities at that exhibitor, and under
(registration, None) an event lead's everywhere."""


def _minutes(sums: Counts) -> Counts:
    return (sums[0], round(sums[1] / 60, 1), sums[2], sums[3], round(sums[4] / 60, 1), *sums[5:])


async def _counts(
    conn: AsyncConnection, query: Select[Any], event_id: int, ids: set[int]
) -> CountsOf:
    params = {"event_id": event_id, "registration_ids": list(ids)}
    counts: CountsOf = {}
    by_registration: dict[int, list[Counts]] = {}
    # No count is ever NULL: COUNT is 0 for no row, the SUMs are coalesced.
    for row in (await conn.execute(query, params)).all():
        sums: Counts = row[2:]
        if row[1] is not None:
            counts[row[0], row[1]] = _minutes(sums)
        if (groups := by_registration.get(row[0])) is None:
            by_registration[row[0]] = [sums]
        else:
            groups.append(sums)
    for registration_id, groups in by_registration.items():
        total = groups[0] if len(groups) == 1 else tuple(map(sum, zip(*groups, strict=True)))
        counts[registration_id, None] = _minutes(total)
    return counts


def reasons_text(contributions: Iterable[Mapping[str, Any]], top: int = 3) -> str:
    """The strongest reasons in plain words: "requested info (+15); downloaded 'Pricing' (+5)".
    Points go last so a spreadsheet never sees a cell starting with "+" or "-"."""
    # A reversed sort is still stable: equally strong reasons keep their order.
    ranked = sorted(
        [c for c in contributions if float(c.get("points", 0)) != 0], key=_strength, reverse=True
    )
    return "; ".join([f"{c.get('label', '')} ({float(c['points']):+g})" for c in ranked[:top]])


def _strength(contribution: Mapping[str, Any]) -> float:
    return abs(float(contribution.get("points", 0)))


class _Reasons:
    """`reasons_text` of a lead's contributions as stored (JSON text), remembered for the
    export (up to `size` of them): leads that did the same things under the same rules have
    the very same contributions, and their text is then a dictionary look-up."""

    def __init__(self, size: int = 4096) -> None:
        self.known: dict[str, str] = {}
        self.size = size

    def __call__(self, raw: str | None) -> str:
        if not raw:
            return ""
        text = self.known.get(raw)
        if text is None:
            text = reasons_text(orjson.loads(raw))
            if len(self.known) < self.size:
                self.known[raw] = text
        return text


async def count_rows(
    conn: AsyncConnection | AsyncSession, f: ExportFilter, *also: ColumnElement[bool]
) -> int:
    """The rows of `f`, of those that meet `also` too (a preset's `where`)."""
    query = select(func.count()).select_from(_lead_query(f).where(*also).subquery())
    return int((await conn.execute(query)).scalar_one())


async def read_only(engine: AsyncEngine) -> AsyncConnection:
    """A connection for long reads: DEFERRED on SQLite (writers go on), a snapshot on PostgreSQL."""
    conn = await engine.connect()
    if engine.dialect.name == "sqlite":
        return await conn.execution_options(sqlite_begin="DEFERRED")
    return await conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)


def _rows(leads: Sequence[Sequence[Any]], counts: CountsOf, reasons: _Reasons) -> list[Row]:
    known = reasons.known
    zero = _minutes(ZERO)
    # One expression per row, no call but round(): this runs for each of 100,000 leads.
    return [
        (
            *r[:17],
            round(r[17], 1),
            r[18],
            round(r[19], 1),
            *r[20:27],
            known.get(r[27]) or reasons(r[27]),
            *counts.get((r[30], r[31]), zero),
            r[28],
            r[29],
        )
        for r in leads
    ]


Chunk = tuple[Sequence[Sequence[Any]], CountsOf]


async def stream_batches(
    engine: AsyncEngine, f: ExportFilter, *, chunk: int = CHUNK, text_dates: bool = False
) -> AsyncGenerator[list[Row]]:
    """Every lead of `f` in id order, `chunk` leads (FIELDS) at a time; timestamps as
    datetimes, or with `text_dates` as `iso_text`. The next chunk's two queries run while
    the caller handles this one (the database works in its own thread or server)."""
    dates = engine.dialect.name if text_dates else None
    after = _lead_query(f, by_id=True, dates=dates).where(Lead.id > bindparam("last"))
    # A small first chunk: the first rows leave sooner.
    first = min(chunk, FIRST_CHUNK)
    queries = {n: after.order_by(Lead.id).limit(n) for n in {first, chunk}}
    counts_query = _counts_query()
    reasons = _Reasons()
    conn = await read_only(engine)

    async def fetch(last: int, size: int) -> Chunk:
        leads = (await conn.execute(queries[size], {"last": last})).all()
        if not leads:
            return leads, {}
        return leads, await _counts(conn, counts_query, f.event_id, {r[30] for r in leads})

    pending: asyncio.Future[Chunk] | None = None
    try:
        async with conn.begin():
            pending = asyncio.ensure_future(fetch(0, first))
            size = first
            while True:
                leads, counts = await pending
                pending = None
                if len(leads) == size:
                    size = chunk
                    pending = asyncio.ensure_future(fetch(leads[-1][0], size))
                if leads:
                    yield _rows(leads, counts, reasons)
                if pending is None:
                    return
    finally:
        try:
            if pending is not None:  # the caller stopped early: let the next chunk's queries
                # end (cancelling them midway could leave the driver's cursor in any state)
                await asyncio.wait([pending])
        finally:
            if pending is not None and pending.done() and not pending.cancelled():
                pending.exception()  # retrieved: a failure of a chunk nobody wants is no news
            await conn.close()


async def stream_rows(
    engine: AsyncEngine, f: ExportFilter, *, chunk: int = CHUNK, text_dates: bool = False
) -> AsyncIterator[Row]:
    """`stream_batches` one row at a time."""
    async for batch in stream_batches(engine, f, chunk=chunk, text_dates=text_dates):
        for row in batch:
            yield row


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
