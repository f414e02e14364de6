"""The lead engine's entry point: record activities, keep leads scored, log calls and notes.

Booths, sessions and chat call `record(...)` inside their own transaction; it only flushes.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Booth, Exhibitor, Resource
from app.db import utcnow
from app.events.models import Event, Registration
from app.leads import repository
from app.leads.errors import InvalidActivity
from app.leads.facts import ActivityFact, Profile, Score
from app.leads.lifecycle import apply_score
from app.leads.models import EVENT_SCOPE, Activity, Lead, LeadTransition
from app.leads.rules import ExhibitorOverride
from app.leads.state import TOP_REASONS, LeadState
from app.leads.versions import CurrentRules, current_rules, effective_override, override_for
from app.leads.vocab import ACTIVITY_TYPES, CALL_OUTCOMES, PERCENT_TYPES, SECONDS_TYPES
from app.sessions.models import ProgramSession

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class RecordResult:
    activity: Activity
    created: bool  # False: the idempotency key was seen before; nothing was recorded
    leads: tuple[Lead, ...] = ()
    mql_reached: tuple[Lead, ...] = ()  # publish `lead.mql_reached` for these after commit


def profile_of(registration: Registration) -> Profile:
    return Profile(
        job_level=registration.job_level,
        company_type=registration.company_type,
        company_size=registration.company_size,
        budget=registration.budget,
        timeframe=registration.timeframe,
        country=registration.country,
        email=registration.email,
    )


def fact_of(row: Activity) -> ActivityFact:
    return ActivityFact(
        id=row.id,
        type=row.type,
        at=row.at,
        value=row.value,
        exhibitor_id=row.exhibitor_id,
        booth_id=row.booth_id,
        session_id=row.session_id,
        resource_id=row.resource_id,
        stage=row.stage,
        live=row.live,
        percent=row.percent,
        label=row.label,
    )


def _check_value(type: str, value: float | None) -> None:
    if type not in ACTIVITY_TYPES:
        raise InvalidActivity(f"Unknown activity type {type!r}.", field="type")
    if value is not None and not math.isfinite(value):
        raise InvalidActivity("The value must be a finite number.", field="value")
    if type in SECONDS_TYPES and (value is None or value < 0):
        raise InvalidActivity(f"{type} needs a value in seconds, 0 or more.", field="value")
    if type in PERCENT_TYPES and (value is None or not 0 <= value <= 100):
        raise InvalidActivity(f"{type} needs a percentage from 0 to 100.", field="value")


@dataclass(slots=True)
class _Context:
    exhibitor_id: int | None
    booth_id: int | None
    label: str = ""
    stage: str | None = None
    live: bool = False
    percent: float | None = None
    booth: Booth | None = None
    exhibitor: Exhibitor | None = None


async def _context(
    db: AsyncSession,
    event: Event,
    *,
    type: str,
    at: dt.datetime,
    value: float | None,
    exhibitor_id: int | None,
    booth_id: int | None,
    session_id: int | None,
    resource_id: int | None,
    meta: Mapping[str, Any],
) -> _Context:
    """Check that every id belongs to the event (and to each other); derive the rest."""
    ctx = _Context(exhibitor_id, booth_id)
    booth: Booth | None = None
    if resource_id is not None:
        resource = await db.get(Resource, resource_id)
        booth = await db.get(Booth, resource.booth_id) if resource else None
        if resource is None or booth is None or booth.event_id != event.id:
            raise InvalidActivity(
                f"Resource {resource_id} is not part of this event.", field="resource_id"
            )
        if exhibitor_id not in (None, booth.exhibitor_id) or booth_id not in (None, booth.id):
            raise InvalidActivity(
                f"Resource {resource_id} does not belong to that exhibitor.", field="resource_id"
            )
        ctx.label, ctx.stage = resource.title, resource.stage
    elif booth_id is not None:
        booth = await db.get(Booth, booth_id)
        if booth is None or booth.event_id != event.id:
            raise InvalidActivity(f"Booth {booth_id} is not part of this event.", field="booth_id")
        if exhibitor_id not in (None, booth.exhibitor_id):
            raise InvalidActivity(f"Booth {booth_id} is not that exhibitor's.", field="booth_id")
    elif exhibitor_id is not None:
        booth = await repository.booth_of(db, exhibitor_id)
    if booth is not None:
        ctx.booth, ctx.booth_id, ctx.exhibitor_id = booth, booth.id, booth.exhibitor_id
    if ctx.exhibitor_id is not None:
        exhibitor = await db.get(Exhibitor, ctx.exhibitor_id)
        if exhibitor is None or exhibitor.event_id != event.id:
            raise InvalidActivity(
                f"Exhibitor {ctx.exhibitor_id} is not part of this event.", field="exhibitor_id"
            )
        ctx.label, ctx.exhibitor = ctx.label or exhibitor.name, exhibitor
    if session_id is not None:
        session = await db.get(ProgramSession, session_id)
        if session is None or session.event_id != event.id:
            raise InvalidActivity(
                f"Session {session_id} is not part of this event.", field="session_id"
            )
        ctx.label = ctx.label if resource_id is not None else session.title
        given = meta.get("live")
        ctx.live = given if isinstance(given, bool) else session.starts_at <= at <= session.ends_at
        length = (session.ends_at - session.starts_at).total_seconds()
        if type == "session.watch" and value is not None and length > 0:
            ctx.percent = min(100.0, value / length * 100)
    if type in PERCENT_TYPES:
        ctx.percent = value
    if type == "call.logged" and meta.get("outcome") not in CALL_OUTCOMES:
        raise InvalidActivity(
            f"call.logged needs meta.outcome: one of {', '.join(CALL_OUTCOMES)}.",
            field="meta.outcome",
        )
    return ctx


async def record(
    db: AsyncSession,
    *,
    event: Event,
    registration: Registration,
    type: str,
    idempotency_key: str,
    at: dt.datetime | None = None,
    value: float | None = None,
    exhibitor_id: int | None = None,
    booth_id: int | None = None,
    session_id: int | None = None,
    resource_id: int | None = None,
    meta: Mapping[str, Any] | None = None,
) -> RecordResult:
    """Append one activity (once per idempotency key) and update the attendee's leads."""
    _check_value(type, value)
    if registration.event_id != event.id:
        raise InvalidActivity(
            "That attendee is registered for another event.", field="registration"
        )
    if not 0 < len(idempotency_key) <= 200:
        raise InvalidActivity(
            "The idempotency key must be 1 to 200 characters.", field="idempotency_key"
        )
    if at is not None and at.tzinfo is None:
        raise InvalidActivity("The time must include a timezone.", field="at")
    existing = await repository.activity_by_key(db, event.id, idempotency_key)
    if existing is not None:
        return RecordResult(existing, created=False)
    now = utcnow()
    at = at or now
    meta = dict(meta or {})
    ctx = await _context(
        db,
        event,
        type=type,
        at=at,
        value=value,
        exhibitor_id=exhibitor_id,
        booth_id=booth_id,
        session_id=session_id,
        resource_id=resource_id,
        meta=meta,
    )
    row = Activity(
        event_id=event.id,
        registration_id=registration.id,
        type=type,
        at=at,
        value=value,
        exhibitor_id=ctx.exhibitor_id,
        booth_id=ctx.booth_id,
        session_id=session_id,
        resource_id=resource_id,
        label=ctx.label[:200],
        stage=ctx.stage,
        live=ctx.live,
        percent=ctx.percent,
        meta=meta,
        idempotency_key=idempotency_key,
        created_at=now,
    )
    if not await repository.insert_activity(db, row):
        # Another request with the same key won the race.
        existing = await repository.activity_by_key(db, event.id, idempotency_key)
        assert existing is not None  # noqa: S101
        return RecordResult(existing, created=False)
    rules = await current_rules(db, event)
    fact = fact_of(row)
    profile = profile_of(registration)
    leads, mqls = [], []
    targets: list[tuple[int, int | None, ExhibitorOverride | None]] = [(EVENT_SCOPE, None, None)]
    if ctx.exhibitor_id is not None and registration.consent_share_at is not None:
        own = effective_override(
            rules,
            ctx.exhibitor_id,
            territory=ctx.booth.territory if ctx.booth else None,
            ideal_sizes=ctx.booth.ideal_sizes if ctx.booth else None,
            competitor_domains=ctx.exhibitor.competitor_domains if ctx.exhibitor else None,
        )
        targets.append((ctx.exhibitor_id, ctx.exhibitor_id, own))
    existing_leads = await repository.leads_for_update(
        db, event.id, registration.id, [t[0] for t in targets]
    )
    for scope, lead_exhibitor, override in targets:
        lead, became_mql = await _fold(
            db,
            event,
            registration,
            profile,
            scope,
            lead_exhibitor,
            fact,
            rules,
            override,
            now,
            existing_leads.get(scope),
        )
        leads.append(lead)
        if became_mql:
            mqls.append(lead)
            log.info("lead.mql_reached", lead_id=lead.id, cell=lead.cell)
    return RecordResult(row, created=True, leads=tuple(leads), mql_reached=tuple(mqls))


async def _fold(
    db: AsyncSession,
    event: Event,
    registration: Registration,
    profile: Profile,
    scope: int,
    exhibitor_id: int | None,
    fact: ActivityFact,
    rules: CurrentRules,
    override: ExhibitorOverride | None,
    now: dt.datetime,
    lead: Lead | None,
) -> tuple[Lead, bool]:
    """Fold one activity into a lead (created on first interaction) without rescanning."""
    if lead is None:
        fresh = Lead(
            event_id=event.id,
            registration_id=registration.id,
            exhibitor_id=exhibitor_id,
            scope=scope,
            state={},
            contributions=[],
            rules_version=rules.version,
            stage="inquiry",
            created_at=now,
        )
        if await repository.insert_once(db, fresh):
            lead = fresh
        else:
            lead = await repository.lead_for_update(db, event.id, registration.id, scope)
            assert lead is not None  # noqa: S101
    if lead.rules_version != rules.version or not lead.state:
        # New (an exhibitor lead may follow earlier interactions made before consent) or
        # scored under other rules: build once from the log; afterwards only fold.
        state = await _rebuild(db, lead, rules, override, exclude=fact.id)
    else:
        state = LeadState.from_json(lead.state)
    state.add(fact, rules.ruleset, override)
    lead.state = state.to_json()
    score = state.score(profile, rules.ruleset, override, now, top=TOP_REASONS)
    promoted = apply_score(lead, score, version=rules.version, at=now)
    if promoted is not None:
        db.add(LeadTransition(**promoted))
    await db.flush()
    return lead, promoted is not None


async def _rebuild(
    db: AsyncSession,
    lead: Lead,
    rules: CurrentRules,
    override: ExhibitorOverride | None,
    *,
    exclude: int | None = None,
) -> LeadState:
    rows = await repository.lead_activities(db, lead)
    return LeadState.build(
        (fact_of(row) for row in rows if row.id != exclude),
        rules.ruleset,
        override,
        since_us=LeadState.from_json(lead.state).since_us,
    )


async def live_score(db: AsyncSession, *, lead: Lead, registration: Registration) -> Score:
    """The lead's score now (engagement decays between activities), from its stored state."""
    event = await db.get(Event, lead.event_id)
    assert event is not None  # noqa: S101
    rules = await current_rules(db, event)
    override = (
        await override_for(db, rules, lead.exhibitor_id) if lead.exhibitor_id is not None else None
    )
    if lead.rules_version == rules.version:
        state = LeadState.from_json(lead.state)
    else:
        state = await _rebuild(db, lead, rules, override)
    return state.score(profile_of(registration), rules.ruleset, override, utcnow())
