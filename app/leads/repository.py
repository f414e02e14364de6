"""Every query of the lead engine."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

import orjson
from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    Text,
    and_,
    bindparam,
    func,
    insert,
    null,
    select,
    type_coerce,
)
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from app.booths.models import Booth, BoothConsent, Exhibitor
from app.db import attach_loaded, utcnow
from app.events.models import Registration
from app.leads import outbox
from app.leads.facts import ActivityFact
from app.leads.models import EVENT_SCOPE, Activity, Lead, LeadTransition, RulesVersion

AnyRow = Row[*tuple[Any, ...]]
# ActivityFact's fields, in order.
FACT_COLUMNS = (
    Activity.id,
    Activity.type,
    Activity.at,
    Activity.value,
    Activity.exhibitor_id,
    Activity.booth_id,
    Activity.session_id,
    Activity.resource_id,
    Activity.stage,
    Activity.live,
    Activity.percent,
    Activity.label,
)


async def activity_by_key(db: AsyncSession, event_id: int, key: str) -> Activity | None:
    return (
        await db.execute(
            select(Activity).where(Activity.event_id == event_id, Activity.idempotency_key == key)
        )
    ).scalar_one_or_none()


_ACTIVITIES = cast(Table, Activity.__table__)
# Every column but the id, so one prebuilt statement per dialect serves every call.
_ACTIVITY_COLUMNS = tuple(c.key for c in _ACTIVITIES.columns if c.key != "id")
_ACTIVITY_COLUMN_SET = frozenset(_ACTIVITY_COLUMNS)
_ACTIVITY_DEFAULTS: dict[str, Any] = {
    **dict.fromkeys(_ACTIVITY_COLUMNS),
    "label": "",
    "live": False,
}
_statements: dict[tuple[str, str], Any] = {}


async def _connection(db: AsyncSession) -> AsyncConnection:
    """The session's connection for Core statements, after flushing pending ORM changes
    (as the session's autoflush would) so the statement sees them."""
    if db.new or db.dirty or db.deleted:
        await db.flush()
    return await db.connection()


def _dialect_insert(db: AsyncSession) -> Any:
    return pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert


def _activity_insert(db: AsyncSession) -> Any:
    """INSERT … ON CONFLICT DO NOTHING RETURNING id of one activity, built once per dialect:
    the hot path neither builds a statement nor generates its cache key per call."""
    key = ("activity_insert", db.get_bind().dialect.name)
    statement = _statements.get(key)
    if statement is None:
        statement = _statements[key] = (
            _dialect_insert(db)(_ACTIVITIES)
            .values({name: bindparam(f"b_{name}") for name in _ACTIVITY_COLUMNS})
            .on_conflict_do_nothing(index_elements=["event_id", "idempotency_key"])
            .returning(_ACTIVITIES.c.id)
        )
    return statement


async def insert_activity(db: AsyncSession, values: dict[str, Any]) -> Activity | None:
    """INSERT … ON CONFLICT DO NOTHING (one statement; a duplicate key never aborts the
    caller's transaction, on SQLite or PostgreSQL) of an activity's columns (all but the id;
    a column left out takes its default). Returns the new row, joined to the session as
    stored; None for a duplicate key."""
    unknown = values.keys() - _ACTIVITY_COLUMN_SET
    if unknown:
        raise TypeError(f"not columns of activities: {', '.join(sorted(unknown))}")
    row = {**_ACTIVITY_DEFAULTS, **{k: v for k, v in values.items() if v is not None}}
    if row["meta"] is None:
        row["meta"] = {}
    if row["created_at"] is None:
        row["created_at"] = utcnow()
    for name in ("at", "created_at"):
        if row[name].tzinfo is None:
            raise ValueError("naive datetime given; use timezone-aware UTC timestamps")
        row[name] = row[name].astimezone(dt.UTC)  # as the database gives it back
    for name in ("value", "percent"):
        if row[name] is not None:
            row[name] = float(row[name])  # as the database gives it back
    params = {f"b_{name}": row[name] for name in _ACTIVITY_COLUMNS}
    connection = await _connection(db)
    new_id = (await connection.execute(_activity_insert(db), params)).scalar_one_or_none()
    if new_id is None:
        return None
    row["id"] = new_id
    return attach_loaded(db, Activity, row)


async def insert_once(db: AsyncSession, row: Activity | Lead) -> bool:
    """Insert in a savepoint; False (and the caller's transaction intact) on a unique clash."""
    try:
        async with db.begin_nested():
            db.add(row)
            await db.flush()
    except IntegrityError:
        return False
    return True


async def leads_for_update(
    db: AsyncSession, event_id: int, registration_id: int, scopes: Sequence[int]
) -> dict[int, Lead]:
    rows = await db.execute(
        select(Lead)
        .where(
            Lead.event_id == event_id,
            Lead.registration_id == registration_id,
            Lead.scope.in_(scopes),
        )
        .with_for_update()
    )
    return {lead.scope: lead for lead in rows.scalars()}


@dataclass(frozen=True, slots=True)
class RecordLeads:
    """What `record` reads in one statement: the leads, the rules version, the booth answer."""

    leads: dict[int, Lead]
    version: int | None  # the event's latest rules version; None without any
    booth_shared: bool | None  # the attendee's answer at that exhibitor's booth, if any


def _leads_for_record_statements(by_booth: bool) -> tuple[Any, Any, Any]:
    """For `leads_for_record`, built once (bound parameters only): the leads (locked) with
    the rules version and booth answer riding along; the lead-less select of the latter two;
    and, for SQLite, one statement giving both whether or not the attendee has leads (an
    outer join from the one-row select; nothing to lock there: the IMMEDIATE transaction
    already holds the database's write lock)."""
    version = (
        select(func.max(RulesVersion.version))
        .where(RulesVersion.event_id == bindparam("event_id"))
        .scalar_subquery()
    )
    shared: ColumnElement[Any] = (
        select(BoothConsent.shared)
        .where(
            BoothConsent.registration_id == bindparam("registration_id"),
            BoothConsent.exhibitor_id == bindparam("exhibitor_id"),
        )
        .scalar_subquery()
        if by_booth
        else null()
    )
    c = _LEADS.c
    matches = and_(
        c.event_id == bindparam("event_id"),
        c.registration_id == bindparam("registration_id"),
        c.scope.in_([EVENT_SCOPE, bindparam("exhibitor_id")])
        if by_booth
        else c.scope == EVENT_SCOPE,
    )
    columns = [_LEAD_READ.get(column.key, column) for column in c]
    leads = select(*columns, version, shared).where(matches).with_for_update(of=_LEADS)
    head = select(version.label("version"), shared.label("shared")).subquery()
    joined = select(*columns, head.c.version, head.c.shared).select_from(
        head.outerjoin(_LEADS, matches)
    )
    return leads, select(version, shared), joined


async def leads_for_record(
    db: AsyncSession, event_id: int, registration_id: int, exhibitor_id: int | None
) -> RecordLeads:
    """The attendee's event lead and, given an exhibitor, their lead there (locked), with the
    rules version and the booth's consent answer: one statement on SQLite; on PostgreSQL a
    second, lead-less select when the attendee has no lead. The leads join the session as
    loaded (one already in the session is handed out as it is, as an ORM select would)."""
    leads, first, joined = _LEADS_FOR_RECORD[exhibitor_id is not None]
    params: dict[str, Any] = {"event_id": event_id, "registration_id": registration_id}
    if exhibitor_id is not None:
        params["exhibitor_id"] = exhibitor_id
    connection = await _connection(db)
    sqlite = connection.dialect.name == "sqlite"
    rows = (await connection.execute(joined if sqlite else leads, params)).all()
    if not rows:
        found = (await connection.execute(first, params)).one()
        return RecordLeads({}, found[0], _bool(found[1]))
    by_scope: dict[int, Lead] = {}
    for row in rows:
        if row[0] is None:
            continue  # SQLite's outer join: no lead
        values = dict(zip(_LEAD_KEYS, row, strict=False))
        values["state"] = decode_json(values["state"])
        values["contributions"] = decode_json(values["contributions"])
        loaded = db.identity_map.get(identity_key(Lead, values["id"]))
        if isinstance(loaded, Lead):
            # Loaded earlier in the caller's transaction (and flushed above): it takes the
            # row as just read and locked, as an ORM select with populate_existing would.
            for key, value in values.items():
                set_committed_value(loaded, key, value)
            lead = loaded
        else:
            lead = attach_loaded(db, Lead, values)
        by_scope[lead.scope] = lead
    last = rows[0]
    return RecordLeads(by_scope, last[-2], _bool(last[-1]))


def _bool(value: Any) -> bool | None:
    return None if value is None else bool(value)


_FACTS_OF_ATTENDEE = select(*FACT_COLUMNS).where(
    Activity.event_id == bindparam("event_id"),
    Activity.registration_id == bindparam("registration_id"),
)


async def activity_facts(
    db: AsyncSession, event_id: int, registration_id: int, exhibitor_id: int | None
) -> list[ActivityFact]:
    """Every activity that counts for a lead (all of the attendee's, or one exhibitor's)."""
    connection = await _connection(db)
    rows = await connection.execute(
        _FACTS_OF_ATTENDEE, {"event_id": event_id, "registration_id": registration_id}
    )
    if exhibitor_id is None:
        return [ActivityFact(*row) for row in rows]
    return [ActivityFact(*row) for row in rows if row[4] == exhibitor_id]


# -- the batch path: a few statements per batch of activities ------------------------------

_PROFILE_COLUMNS = (
    Registration.id,
    Registration.email,
    Registration.job_level,
    Registration.company_type,
    Registration.company_size,
    Registration.budget,
    Registration.timeframe,
    Registration.country,
    Registration.consent_share_at,
    Registration.erased_at,
)


async def registrations_by_emails(
    db: AsyncSession, event_id: int, emails: Sequence[str]
) -> tuple[dict[str, AnyRow], dict[str, AnyRow]]:
    """`registration_by_email` for many: the exact matches by email, and (only for the
    emails without one) the case-insensitive matches by lowercased email."""
    wanted = {e.strip() for e in emails}
    exact = {
        r.email: r
        for r in await db.execute(
            select(*_PROFILE_COLUMNS).where(
                Registration.event_id == event_id, Registration.email.in_(wanted)
            )
        )
    }
    missing = {e.lower() for e in wanted if e not in exact}
    lowered: dict[str, AnyRow] = {}
    if missing:
        for r in await db.execute(
            select(*_PROFILE_COLUMNS).where(
                Registration.event_id == event_id, func.lower(Registration.email).in_(missing)
            )
        ):
            lowered.setdefault(r.email.lower(), r)
    return exact, lowered


async def insert_activities(db: AsyncSession, rows: list[dict[str, Any]]) -> dict[str, int]:
    """INSERT … ON CONFLICT DO NOTHING of many activities → id by idempotency key of those
    inserted (keys already logged are left out)."""
    if not rows:
        return {}
    insert_ = pg_insert if db.get_bind().dialect.name == "postgresql" else sqlite_insert
    table = cast(Table, Activity.__table__)
    statement = (
        insert_(table)
        .on_conflict_do_nothing(index_elements=["event_id", "idempotency_key"])
        .returning(table.c.id, table.c.idempotency_key)
    )
    return {r.idempotency_key: r.id for r in await db.execute(statement, rows)}


async def activity_ids_by_keys(db: AsyncSession, event_id: int, keys: set[str]) -> dict[str, int]:
    return {
        r.idempotency_key: r.id
        for r in await db.execute(
            select(Activity.id, Activity.idempotency_key).where(
                Activity.event_id == event_id, Activity.idempotency_key.in_(keys)
            )
        )
    }


async def booth_answers(
    db: AsyncSession, registration_ids: list[int], exhibitor_ids: list[int]
) -> dict[tuple[int, int], bool]:
    """The attendees' per-booth consent answers among those exhibitors."""
    return {
        (r.registration_id, r.exhibitor_id): bool(r.shared)
        for r in await db.execute(
            select(
                BoothConsent.registration_id, BoothConsent.exhibitor_id, BoothConsent.shared
            ).where(
                BoothConsent.registration_id.in_(registration_ids),
                BoothConsent.exhibitor_id.in_(exhibitor_ids),
            )
        )
    }


async def leads_for_batch(
    db: AsyncSession, event_id: int, registration_ids: list[int], scopes: list[int]
) -> dict[tuple[int, int], AnyRow]:
    """The leads of those attendees in those scopes, locked, by (registration, scope)."""
    c = _LEADS.c
    rows = await db.execute(
        select(
            c.id,
            c.registration_id,
            c.scope,
            c.stage,
            c.mql_at,
            c.rules_version,
            # Decoded by the caller with orjson, and only where needed.
            type_coerce(c.state, Text).label("state"),
            c.grade,
            c.tier,
            c.cell,
            c.buying_stage,
        )
        .where(
            c.event_id == event_id,
            c.registration_id.in_(registration_ids),
            c.scope.in_(scopes),
        )
        .with_for_update()
    )
    return {(r.registration_id, r.scope): r for r in rows}


async def activity_facts_of(
    db: AsyncSession, event_id: int, registration_ids: list[int]
) -> dict[int, list[ActivityFact]]:
    """Every logged activity of those attendees, as facts by registration."""
    facts: dict[int, list[ActivityFact]] = {}
    for row in await db.execute(
        select(*FACT_COLUMNS, Activity.registration_id).where(
            Activity.event_id == event_id, Activity.registration_id.in_(registration_ids)
        )
    ):
        facts.setdefault(row[12], []).append(ActivityFact(*row[:12]))  # type: ignore[arg-type]
    return facts


def decode_json(value: Any) -> Any:
    """A JSON value selected as text (`leads_for_batch`'s state): decoded with orjson.
    (asyncpg hands JSON over already decoded.)"""
    return orjson.loads(value) if isinstance(value, str | bytes) else value


async def lead_for_update(
    db: AsyncSession, event_id: int, registration_id: int, scope: int
) -> Lead | None:
    return (
        await db.execute(
            select(Lead)
            .where(
                Lead.event_id == event_id,
                Lead.registration_id == registration_id,
                Lead.scope == scope,
            )
            .with_for_update()
        )
    ).scalar_one_or_none()


async def latest_rules(db: AsyncSession, event_id: int) -> RulesVersion | None:
    return (
        await db.execute(
            select(RulesVersion)
            .where(RulesVersion.event_id == event_id)
            .order_by(RulesVersion.version.desc())
            .limit(1)
        )
    ).scalar_one_or_none()


async def booth_of(db: AsyncSession, exhibitor_id: int) -> Booth | None:
    return (
        await db.execute(select(Booth).where(Booth.exhibitor_id == exhibitor_id))
    ).scalar_one_or_none()


async def booths_of_event(db: AsyncSession, event_id: int) -> Sequence[AnyRow]:
    return (
        await db.execute(
            select(
                Exhibitor.id,
                Exhibitor.competitor_domains,
                Booth.territory,
                Booth.ideal_sizes,
            )
            .outerjoin(Booth, Booth.exhibitor_id == Exhibitor.id)
            .where(Exhibitor.event_id == event_id)
        )
    ).all()


async def registration_by_email(db: AsyncSession, event_id: int, email: str) -> Registration | None:
    email = email.strip()
    exact = (
        await db.execute(
            select(Registration).where(
                Registration.event_id == event_id, Registration.email == email
            )
        )
    ).scalar_one_or_none()
    if exact is not None:
        return exact
    # Outside tools may change the case; this slower path is taken only then.
    return (
        (
            await db.execute(
                select(Registration)
                .where(
                    Registration.event_id == event_id,
                    func.lower(Registration.email) == email.lower(),
                )
                .limit(1)
            )
        )
        .scalars()
        .first()
    )


_LEADS = cast(Table, Lead.__table__)
_LEAD_KEYS = tuple(column.key for column in _LEADS.c)
# JSON read as text, decoded with orjson (asyncpg hands JSON over decoded already).
_LEAD_READ = {
    name: type_coerce(_LEADS.c[name], Text).label(name) for name in ("state", "contributions")
}
_LEADS_FOR_RECORD = {by_booth: _leads_for_record_statements(by_booth) for by_booth in (False, True)}
# The columns scoring writes (the record path, the bulk path and the rescore).
SCORE_COLUMNS = (
    "fit",
    "grade",
    "engagement",
    "tier",
    "cell",
    "buying_stage",
    "stage",
    "mql_at",
    "last_activity_at",
    "rules_version",
    "state",
    "contributions",
    "updated_at",
)


async def insert_transitions(db: AsyncSession, rows: list[dict[str, Any]]) -> None:
    """Store lifecycle transitions and their outbox events (`lead.stage_changed`, …)."""
    if rows:
        stored = [{k: v for k, v in row.items() if k != "first_mql"} for row in rows]
        await db.execute(insert(cast(Table, LeadTransition.__table__)), stored)
        await outbox.emit(db, (e for row in rows for e in outbox.for_transition(row)))


async def lead_activities(db: AsyncSession, lead: Lead) -> Sequence[Activity]:
    """Every activity that counts for `lead` (all of the attendee's, or one exhibitor's)."""
    query = select(Activity).where(
        Activity.event_id == lead.event_id, Activity.registration_id == lead.registration_id
    )
    if lead.exhibitor_id is not None:
        query = query.where(Activity.exhibitor_id == lead.exhibitor_id)
    return (await db.execute(query)).scalars().all()
