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

from app.db import utcnow
from app.events.models import Event, Registration
from app.leads import lead_writes, outbox, repository
from app.leads.cache import BoothInfo, EventContext, event_context
from app.leads.errors import InvalidActivity
from app.leads.facts import ActivityFact, Profile, Score
from app.leads.models import EVENT_SCOPE, Activity, Lead
from app.leads.rules import ExhibitorOverride
from app.leads.state import TOP_REASONS, LeadState, is_full
from app.leads.versions import CurrentRules, current_rules, override_for
from app.leads.vocab import ACTIVITY_TYPES, CALL_OUTCOMES, PERCENT_TYPES, SECONDS_TYPES

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class RecordResult:
    activity: Activity
    created: bool  # False: the idempotency key was seen before; nothing was recorded
    leads: tuple[Lead, ...] = ()
    mql_reached: tuple[Lead, ...] = ()  # publish `lead.mql_reached` for these after commit

    def lead_at(self, exhibitor_id: int) -> Lead | None:
        """The attendee's lead at this exhibitor as the activity left it; None for a repeat,
        or when the attendee does not share their details with the exhibitor."""
        return next((lead for lead in self.leads if lead.exhibitor_id == exhibitor_id), None)


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
    booth: BoothInfo | None = None


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
) -> tuple[_Context, EventContext]:
    """Check that every id belongs to the event (and to each other); derive the rest."""
    known = await event_context(db, event.id, event.created_at)
    if not (
        (resource_id is None or resource_id in known.resources)
        and (booth_id is None or booth_id in known.booths)
        and (exhibitor_id is None or exhibitor_id in known.exhibitors)
        and (session_id is None or session_id in known.sessions)
    ):
        # Created since the cache was filled, or really not part of the event.
        known = await event_context(db, event.id, event.created_at, reload=True)
    return _derive(
        known,
        type=type,
        at=at,
        value=value,
        exhibitor_id=exhibitor_id,
        booth_id=booth_id,
        session_id=session_id,
        resource_id=resource_id,
        meta=meta,
    ), known


def _derive(
    known: EventContext,
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
    ctx = _Context(exhibitor_id, booth_id)
    booth: BoothInfo | None = None
    if resource_id is not None:
        resource = known.resources.get(resource_id)
        booth = known.booths.get(resource.booth_id) if resource else None
        if resource is None or booth is None:
            raise InvalidActivity(
                f"Resource {resource_id} is not part of this event.", field="resource_id"
            )
        if exhibitor_id not in (None, booth.exhibitor_id) or booth_id not in (None, booth.id):
            raise InvalidActivity(
                f"Resource {resource_id} does not belong to that exhibitor.", field="resource_id"
            )
        ctx.label, ctx.stage = resource.title, resource.stage
    elif booth_id is not None:
        booth = known.booths.get(booth_id)
        if booth is None:
            raise InvalidActivity(f"Booth {booth_id} is not part of this event.", field="booth_id")
        if exhibitor_id not in (None, booth.exhibitor_id):
            raise InvalidActivity(f"Booth {booth_id} is not that exhibitor's.", field="booth_id")
    elif exhibitor_id is not None:
        found = known.exhibitors.get(exhibitor_id)
        booth = found.booth if found else None
    if booth is not None:
        ctx.booth, ctx.booth_id, ctx.exhibitor_id = booth, booth.id, booth.exhibitor_id
    if ctx.exhibitor_id is not None:
        exhibitor = known.exhibitors.get(ctx.exhibitor_id)
        if exhibitor is None:
            raise InvalidActivity(
                f"Exhibitor {ctx.exhibitor_id} is not part of this event.", field="exhibitor_id"
            )
        ctx.label = ctx.label or exhibitor.name
    if session_id is not None:
        session = known.sessions.get(session_id)
        if session is None:
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


def _check_call(
    event: Event,
    registration: Registration,
    type: str,
    value: float | None,
    idempotency_key: str,
    at: dt.datetime | None,
) -> None:
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
    """Append one activity (once per idempotency key) and update the attendee's leads.

    Three statements in the usual case: the INSERT … ON CONFLICT of the activity, one
    SELECT of the attendee's leads (with the rules version and the booth consent riding
    along) and one executemany UPDATE of them (plus the outbox INSERT when a watched field
    changed). A new or stale lead adds at most two: one SELECT of the attendee's log shared
    by both leads, one INSERT of the new leads. The statements are built once (bound
    parameters only); the event's booths come from a per-process cache.
    """
    _check_call(event, registration, type, value, idempotency_key, at)
    now = utcnow()
    at = at or now
    meta = dict(meta or {})
    try:
        ctx, known = await _context(
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
    except InvalidActivity:
        # A retried request whose ids have gone since answers as the duplicate it is.
        existing = await repository.activity_by_key(db, event.id, idempotency_key)
        if existing is not None:
            return RecordResult(existing, created=False)
        raise
    row = await repository.insert_activity(
        db,
        {
            "event_id": event.id,
            "registration_id": registration.id,
            "type": type,
            "at": at,
            "value": value,
            "exhibitor_id": ctx.exhibitor_id,
            "booth_id": ctx.booth_id,
            "session_id": session_id,
            "resource_id": resource_id,
            "label": ctx.label[:200],
            "stage": ctx.stage,
            "live": ctx.live,
            "percent": ctx.percent,
            "meta": meta,
            "idempotency_key": idempotency_key,
            "created_at": now,
        },
    )
    if row is None:
        existing = await repository.activity_by_key(db, event.id, idempotency_key)
        assert existing is not None  # noqa: S101
        return RecordResult(existing, created=False)
    found = await repository.leads_for_record(db, event.id, registration.id, ctx.exhibitor_id)
    rules = await rules_at(db, event, found.version)
    fact = fact_of(row)
    profile = profile_of(registration)
    targets: list[tuple[int, int | None, ExhibitorOverride | None]] = [(EVENT_SCOPE, None, None)]
    if ctx.exhibitor_id is not None and _shares(registration, found.booth_shared):
        own = known.override(rules, ctx.exhibitor_id, ctx.booth)
        targets.append((ctx.exhibitor_id, ctx.exhibitor_id, own))
    folding = _Folding(db, event, registration, profile, fact, rules, now)
    if not found.leads:
        # Every activity is written with its attendee's event lead, in one transaction (by
        # `record` and by `batch.record_many`): an attendee without leads has no earlier
        # activity to read (their first action).
        folding.first_activity()
    by_scope: dict[int, Lead] = {}
    new_rows: list[dict[str, Any]] = []
    promoted_new: dict[int, str] = {}
    for scope, lead_exhibitor, override in targets:
        lead = found.leads.get(scope)
        if lead is not None:
            await folding.fold(lead, override)
            by_scope[scope] = lead
            continue
        # New (an exhibitor lead may follow earlier interactions made before consent):
        # build once from the log; afterwards only fold.
        state = LeadState.build(
            await folding.history(lead_exhibitor), rules.ruleset, override, since_us=None
        )
        state.add(fact, rules.ruleset, override)
        score = state.score(profile, rules.ruleset, override, now, top=TOP_REASONS)
        values, promoted = _score_values("inquiry", None, score, version=rules.version, at=now)
        values.update(
            event_id=event.id,
            registration_id=registration.id,
            exhibitor_id=lead_exhibitor,
            scope=scope,
            state=state.to_json(),
            owner_id=None,
            reset_at=None,
            created_at=now,
        )
        new_rows.append(values)
        if promoted is not None:
            promoted_new[scope] = promoted
    # The attendee's new leads in one statement.
    created = await lead_writes.insert_new_leads(db, new_rows)
    for values in new_rows:
        scope = values["scope"]
        lead = created.get(scope)
        if lead is not None:
            by_scope[scope] = lead
            if scope in promoted_new:
                folding.transitions.append(_mql_transition(lead.id, promoted_new[scope], now))
                folding.mqls.append(lead)
            continue
        # Another transaction created it first: fold into theirs, whose activities the log
        # read now holds (committed since this one looked).
        theirs = await repository.lead_for_update(db, event.id, registration.id, scope)
        assert theirs is not None  # noqa: S101
        folding.forget_history()
        await folding.fold(theirs, next(o for s, _, o in targets if s == scope))
        by_scope[scope] = theirs
    leads = [by_scope[scope] for scope, _, _ in targets]
    mqls = folding.mqls
    pending, transitions = folding.pending, folding.transitions
    before = {
        scope: {k: getattr(lead, k) for k in outbox.WATCHED} for scope, lead in found.leads.items()
    }
    # Both leads in one executemany; the loaded Lead objects take the values as committed.
    await lead_writes.update_loaded_leads(db, pending)
    await repository.insert_transitions(db, transitions)
    await outbox.emit(
        db,
        (
            outbox.for_update(
                lead.id, before.get(lead.scope), {k: getattr(lead, k) for k in outbox.WATCHED}, now
            )
            for lead in leads
        ),
    )
    for lead in mqls:
        log.info("lead.mql_reached", lead_id=lead.id, cell=lead.cell)
    return RecordResult(row, created=True, leads=tuple(leads), mql_reached=tuple(mqls))


def _shares(registration: Registration, booth_shared: bool | None) -> bool:
    """`shares_with` from the answer already read: the booth's answer wins, else the
    event-wide consent; never for an erased attendee."""
    if registration.erased_at is not None:
        return False
    if booth_shared is not None:
        return booth_shared
    return registration.consent_share_at is not None


_rules_seen: dict[tuple[int, dt.datetime, int], CurrentRules] = {}


async def rules_at(db: AsyncSession, event: Event, version: int | None) -> CurrentRules:
    """The event's rules given the latest version number already read (None: no version)."""
    key = (event.id, event.created_at, version or 0)
    rules = _rules_seen.get(key)
    if rules is None:
        rules = await current_rules(db, event)
        if rules.version == (version or 0):
            if len(_rules_seen) > 256:
                _rules_seen.clear()
            _rules_seen[key] = rules
    return rules


def _score_values(
    stage: str,
    mql_at: dt.datetime | None,
    score: Score,
    *,
    version: int,
    at: dt.datetime,
) -> tuple[dict[str, Any], str | None]:
    """`lifecycle.apply_score` on plain values: the lead's new columns, and the MQL reason
    when it just became one."""
    promoted = None
    if stage == "inquiry" and score.qualifies_mql:
        stage, mql_at, promoted = "mql", mql_at or at, f"auto_{score.mql_by}"
    return {
        "fit": score.fit,
        "grade": score.grade,
        "engagement": score.engagement,
        "tier": score.tier,
        "cell": score.cell,
        "buying_stage": score.buying_stage,
        "last_activity_at": score.last_activity_at,
        "rules_version": version,
        "contributions": [c.to_json() for c in score.contributions],
        "updated_at": at,
        "stage": stage,
        "mql_at": mql_at,
    }, promoted


class _Folding:
    """Folds one new activity into an attendee's existing leads; the attendee's log is
    read at most once (for the leads that must be rebuilt), the writes are collected."""

    def __init__(
        self,
        db: AsyncSession,
        event: Event,
        registration: Registration,
        profile: Profile,
        fact: ActivityFact,
        rules: CurrentRules,
        now: dt.datetime,
    ) -> None:
        self.db, self.event, self.registration, self.profile = db, event, registration, profile
        self.fact, self.rules, self.now = fact, rules, now
        self.pending: list[tuple[Lead, dict[str, Any]]] = []
        self.transitions: list[dict[str, Any]] = []
        self.mqls: list[Lead] = []
        self._log: list[ActivityFact] | None = None

    def first_activity(self) -> None:
        """The attendee has no earlier activity: `history` reads nothing."""
        self._log = []

    def forget_history(self) -> None:
        """Another transaction has written since: `history` reads the log again."""
        self._log = None

    async def history(self, exhibitor_id: int | None) -> list[ActivityFact]:
        """The attendee's earlier activities that count for a lead (all, or one exhibitor's)."""
        if self._log is None:
            rows = await repository.activity_facts(
                self.db, self.event.id, self.registration.id, None
            )
            self._log = [f for f in rows if f.id != self.fact.id]
        if exhibitor_id is None:
            return self._log
        return [f for f in self._log if f.exhibitor_id == exhibitor_id]

    async def fold(self, lead: Lead, override: ExhibitorOverride | None) -> None:
        """Fold the activity into an existing lead without rescanning (unless it was scored
        under other rules, or is a bare row: then build once from the log)."""
        rules, now = self.rules, self.now
        if lead.rules_version != rules.version or not is_full(lead.state):
            state = LeadState.build(
                await self.history(lead.exhibitor_id),
                rules.ruleset,
                override,
                since_us=LeadState.from_json(lead.state).since_us,
            )
        else:
            state = LeadState.from_json(lead.state)
        state.add(self.fact, rules.ruleset, override)
        score = state.score(self.profile, rules.ruleset, override, now, top=TOP_REASONS)
        values, promoted = _score_values(
            lead.stage, lead.mql_at, score, version=rules.version, at=now
        )
        values["state"] = state.to_json()
        self.pending.append((lead, values))
        if promoted is not None:
            first = lead.mql_at is None  # a recycled lead's second MQL is no new MQL
            self.transitions.append(_mql_transition(lead.id, promoted, now, first=first))
            self.mqls.append(lead)


def _mql_transition(
    lead_id: int, reason: str, at: dt.datetime, *, first: bool = True
) -> dict[str, Any]:
    """An automatic inquiry → mql transition; `first`: the lead never was an MQL before (only
    then is `lead.mql_reached` announced; the key is not stored)."""
    return {
        "lead_id": lead_id,
        "from_stage": "inquiry",
        "to_stage": "mql",
        "reason": reason,
        "note": "",
        "actor_id": None,
        "at": at,
        "first_mql": first,
    }


async def _rebuild(
    db: AsyncSession,
    event_id: int,
    registration_id: int,
    exhibitor_id: int | None,
    rules: CurrentRules,
    override: ExhibitorOverride | None,
    since_us: int | None,
    *,
    exclude: int | None = None,
) -> LeadState:
    rows = await repository.activity_facts(db, event_id, registration_id, exhibitor_id)
    return LeadState.build(
        (fact for fact in rows if fact.id != exclude),
        rules.ruleset,
        override,
        since_us=since_us,
    )


async def live_score(db: AsyncSession, *, lead: Lead, registration: Registration) -> Score:
    """The lead's score now (engagement decays between activities), from its stored state."""
    event = await db.get(Event, lead.event_id)
    assert event is not None  # noqa: S101
    rules = await current_rules(db, event)
    override = (
        await override_for(db, rules, lead.exhibitor_id) if lead.exhibitor_id is not None else None
    )
    if lead.rules_version == rules.version and is_full(lead.state):
        state = LeadState.from_json(lead.state)
    else:
        state = await _rebuild(
            db,
            lead.event_id,
            lead.registration_id,
            lead.exhibitor_id,
            rules,
            override,
            LeadState.from_json(lead.state).since_us,
        )
    return state.score(profile_of(registration), rules.ruleset, override, utcnow())
