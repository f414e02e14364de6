"""Record a batch of activities at once (the bulk API): validate every item, insert them with
one statement, fold each lead's new activities in memory and write the leads back with one
executemany, instead of one `record` per item.

The outcome equals recording the items one by one, in order: an item fails alone, a key
seen earlier in the batch or before is a duplicate, and a lead becomes an MQL when it
qualifies after any of its items (scored after each item only when an item could lower it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import orjson
import structlog
from pydantic_core import PydanticCustomError
from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.errors import AppError
from app.events.models import Event
from app.leads import lead_writes, outbox, repository
from app.leads.cache import event_context
from app.leads.errors import InvalidActivity, NotAnEmail, UnknownAttendee
from app.leads.facts import ActivityFact, Profile
from app.leads.models import EVENT_SCOPE
from app.leads.rules import ExhibitorOverride, Ruleset
from app.leads.schemas import ActivityCreate, checked_email
from app.leads.scoring import fit_cache
from app.leads.service import _check_value, _derive, _mql_transition, _score_values
from app.leads.state import TOP_REASONS, LeadState, is_full
from app.leads.versions import CurrentRules, current_rules

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class ItemOutcome:
    status: Literal["created", "duplicate", "error"]
    id: int | None = None
    error: AppError | None = None


@dataclass(slots=True)
class _Valid:
    index: int
    registration: repository.AnyRow
    row: dict[str, Any]
    booth_id: int | None


async def record_many(
    db: AsyncSession, *, event: Event, items: Sequence[ActivityCreate | None]
) -> list[ItemOutcome]:
    """Record `items` (None: an item that failed validation, answered by the caller)."""
    outcomes: list[ItemOutcome | None] = [None] * len(items)
    attendees = await _registrations(
        db, event.id, [item.email for item in items if item is not None]
    )
    known = await event_context(db, event.id, event.created_at)
    if any(
        item is not None
        and not _ids_known(item, known.resources, known.booths, known.exhibitors, known.sessions)
        for item in items
    ):
        known = await event_context(db, event.id, event.created_at, reload=True)
    now = utcnow()
    valid: list[_Valid] = []
    invalid: dict[int, tuple[str, InvalidActivity]] = {}  # error unless the key is a duplicate
    for index, item in enumerate(items):
        if item is None:
            continue
        registration = attendees.get(item.email)
        try:
            if registration is None:
                raise _no_attendee(item.email)
            _check_value(item.type, item.value)
        except AppError as exc:
            outcomes[index] = ItemOutcome("error", error=exc)
            continue
        at = item.at or now
        meta = dict(item.meta or {})
        try:
            ctx = _derive(
                known,
                type=item.type,
                at=at,
                value=item.value,
                exhibitor_id=item.exhibitor_id,
                booth_id=item.booth_id,
                session_id=item.session_id,
                resource_id=item.resource_id,
                meta=meta,
            )
        except InvalidActivity as exc:
            invalid[index] = (item.idempotency_key, exc)
            continue
        row = {
            "event_id": event.id,
            "registration_id": registration.id,
            "type": item.type,
            "at": at,
            "value": item.value,
            "exhibitor_id": ctx.exhibitor_id,
            "booth_id": ctx.booth_id,
            "session_id": item.session_id,
            "resource_id": item.resource_id,
            "label": ctx.label[:200],
            "stage": ctx.stage,
            "live": ctx.live,
            "percent": ctx.percent,
            "meta": meta,
            "idempotency_key": item.idempotency_key,
            "created_at": now,
        }
        valid.append(_Valid(index, registration, row, ctx.booth.id if ctx.booth else None))
    # The first valid item of a key is inserted; the key's later items are duplicates.
    first_of: dict[str, _Valid] = {}
    for v in valid:
        first_of.setdefault(v.row["idempotency_key"], v)
    created = await repository.insert_activities(db, [v.row for v in first_of.values()])
    lookup = {v.row["idempotency_key"] for v in first_of.values()} - created.keys()
    lookup |= {key for key, _ in invalid.values()}
    existing = await repository.activity_ids_by_keys(db, event.id, lookup) if lookup else {}
    fresh: list[tuple[_Valid, int]] = []
    for v in valid:
        key = v.row["idempotency_key"]
        if first_of[key] is v and key in created:
            outcomes[v.index] = ItemOutcome("created", created[key])
            fresh.append((v, created[key]))
        else:
            outcomes[v.index] = ItemOutcome("duplicate", created.get(key) or existing[key])
    for index, (key, error) in invalid.items():
        creator = first_of.get(key)
        if creator is not None and key in created:
            dup = creator.index < index
            found = created[key] if dup else None
        else:
            found = existing.get(key)
        outcomes[index] = (
            ItemOutcome("duplicate", found)
            if found is not None
            else ItemOutcome("error", error=error)
        )
    if fresh:
        await _fold_leads(db, event, fresh, now)
    return [o if o is not None else ItemOutcome("error") for o in outcomes]


async def _registrations(
    db: AsyncSession, event_id: int, emails: list[str]
) -> dict[str, repository.AnyRow]:
    """The registration of each email that has one: as given, in any case, or (for the few
    emails without one) as `EmailStr` would normalize it."""
    exact, lowered = await repository.registrations_by_emails(db, event_id, emails)
    found: dict[str, repository.AnyRow] = {}
    retry: dict[str, str] = {}  # the email as given → normalized
    for email in set(emails):
        given = email.strip()
        registration = exact.get(given) or lowered.get(given.lower())
        if registration is not None:
            found[email] = registration
            continue
        try:
            normalized = checked_email(given)
        except PydanticCustomError:
            continue
        if normalized != given:
            retry[email] = normalized
    if retry:
        exact, lowered = await repository.registrations_by_emails(
            db, event_id, list(retry.values())
        )
        for email, normalized in retry.items():
            registration = exact.get(normalized) or lowered.get(normalized.lower())
            if registration is not None:
                found[email] = registration
    return found


def _no_attendee(email: str) -> AppError:
    """The error of an item whose email no attendee has: not an address, or nobody's."""
    try:
        checked_email(email.strip())
    except PydanticCustomError as exc:
        return NotAnEmail(exc.message(), field="email")
    return UnknownAttendee()


def _ids_known(item: ActivityCreate, *tables: dict[int, Any]) -> bool:
    resources, booths, exhibitors, sessions = tables
    return (
        (item.resource_id is None or item.resource_id in resources)
        and (item.booth_id is None or item.booth_id in booths)
        and (item.exhibitor_id is None or item.exhibitor_id in exhibitors)
        and (item.session_id is None or item.session_id in sessions)
    )


def _fact(row: dict[str, Any], activity_id: int) -> ActivityFact:
    return ActivityFact(
        activity_id,
        row["type"],
        row["at"],
        row["value"],
        row["exhibitor_id"],
        row["booth_id"],
        row["session_id"],
        row["resource_id"],
        row["stage"],
        row["live"],
        row["percent"],
        row["label"],
    )


def _profile(r: repository.AnyRow) -> Profile:
    return Profile(
        r.job_level, r.company_type, r.company_size, r.budget, r.timeframe, r.country, r.email
    )


def _may_lower(
    ruleset: Ruleset, override: ExhibitorOverride | None, facts: list[ActivityFact]
) -> bool:
    """Whether one of `facts` may lower a score (negative points): then MQL is checked per item."""
    if override is not None and any(p < 0 for p in override.resource_points.values()):
        return True
    return any(rule.points < 0 for f in facts for _, rule in ruleset.rules_for(f.type))


async def _fold_leads(
    db: AsyncSession, event: Event, fresh: list[tuple[_Valid, int]], now: dt.datetime
) -> None:
    rules = await current_rules(db, event)
    known = await event_context(db, event.id, event.created_at)
    registrations = {v.registration.id: v.registration for v, _ in fresh}
    exhibitors = {v.row["exhibitor_id"] for v, _ in fresh if v.row["exhibitor_id"] is not None}
    answers = (
        await repository.booth_answers(db, list(registrations), list(exhibitors))
        if exhibitors
        else {}
    )
    # (registration, scope) → override and the new facts, in item order.
    targets: dict[tuple[int, int], tuple[ExhibitorOverride | None, list[ActivityFact]]] = {}
    for v, activity_id in fresh:
        fact = _fact(v.row, activity_id)
        reg = v.registration
        targets.setdefault((reg.id, EVENT_SCOPE), (None, []))[1].append(fact)
        exhibitor_id = v.row["exhibitor_id"]
        if exhibitor_id is None or reg.erased_at is not None:
            continue
        answer = answers.get((reg.id, exhibitor_id))
        if answer if answer is not None else reg.consent_share_at is not None:
            key = (reg.id, exhibitor_id)
            if key not in targets:
                booth = known.booths.get(v.booth_id) if v.booth_id is not None else None
                targets[key] = (known.override(rules, exhibitor_id, booth), [])
            targets[key][1].append(fact)
    leads = await repository.leads_for_batch(
        db, event.id, list(registrations), sorted({s for _, s in targets})
    )
    states = {key: repository.decode_json(lead.state) for key, lead in leads.items()}
    stale = {
        reg_id
        for (reg_id, scope) in targets
        if (lead := leads.get((reg_id, scope))) is None
        or lead.rules_version != rules.version
        or not is_full(states[reg_id, scope])
    }
    logs = await repository.activity_facts_of(db, event.id, sorted(stale)) if stale else {}
    batch_ids = {activity_id for _, activity_id in fresh}
    updates: list[tuple[int, dict[str, Any]]] = []
    inserts: list[dict[str, Any]] = []
    transitions: list[tuple[tuple[int, int], str, bool]] = []
    for (reg_id, scope), (override, facts) in targets.items():
        lead = leads.get((reg_id, scope))
        stored = states.get((reg_id, scope))
        if lead is None or lead.rules_version != rules.version or not is_full(stored):
            since = LeadState.from_json(stored).since_us if lead is not None else None
            history = [
                f
                for f in logs.get(reg_id, ())
                if f.id not in batch_ids and (scope == EVENT_SCOPE or f.exhibitor_id == scope)
            ]
            state = LeadState.build(history, rules.ruleset, override, since_us=since)
        else:
            state = LeadState.from_json(stored)
        values, promoted = _apply(
            state,
            facts,
            _profile(registrations[reg_id]),
            rules,
            override,
            now,
            lead.stage if lead is not None else "inquiry",
            lead.mql_at if lead is not None else None,
        )
        values["state"] = orjson.dumps(state.to_json()).decode()
        values["contributions"] = orjson.dumps(values["contributions"]).decode()
        if promoted is not None:
            first = lead is None or lead.mql_at is None
            transitions.append(((reg_id, scope), promoted, first))
        if lead is not None:
            updates.append((lead.id, values))
        else:
            values.update(
                event_id=event.id,
                registration_id=reg_id,
                exhibitor_id=None if scope == EVENT_SCOPE else scope,
                scope=scope,
                owner_id=None,
                reset_at=None,
                created_at=now,
            )
            inserts.append(values)
    await lead_writes.set_leads(db, updates)
    before = {lead.id: {k: getattr(lead, k) for k in outbox.WATCHED} for lead in leads.values()}
    ids = {key: lead.id for key, lead in leads.items()}
    # By (attendee, scope): the unique index is filled in order, page by page.
    inserts.sort(key=lambda row: (row["registration_id"], row["scope"]))
    ids.update(await lead_writes.insert_leads(db, inserts))
    lost = [row for row in inserts if (row["registration_id"], row["scope"]) not in ids]
    if lost:
        # Another transaction created these leads meanwhile: fold into theirs one by one.
        ids.update(await _fold_lost(db, event, lost, rules, targets, registrations, now))
    rows = []
    for key, reason, first in transitions:
        if key in ids:
            rows.append(_mql_transition(ids[key], reason, now, first=first))
            log.info("lead.mql_reached", lead_id=ids[key])
    await repository.insert_transitions(db, rows)
    events = [
        outbox.for_update(lead_id, before[lead_id], {k: values[k] for k in outbox.WATCHED}, now)
        for lead_id, values in updates
    ]
    events += [
        outbox.for_update(ids[key], None, row, now)
        for row in inserts
        if (key := (row["registration_id"], row["scope"])) in ids
    ]
    await outbox.emit(db, events)


def _apply(
    state: LeadState,
    facts: list[ActivityFact],
    profile: Profile,
    rules: CurrentRules,
    override: ExhibitorOverride | None,
    now: dt.datetime,
    stage: str,
    mql_at: dt.datetime | None,
) -> tuple[dict[str, Any], str | None]:
    ruleset = rules.ruleset
    fit_ = fit_cache(ruleset).get(profile, override)
    promoted: str | None = None
    if stage == "inquiry" and facts and _may_lower(ruleset, override, facts):
        # Score after each item, as one-by-one recording would: an MQL is never undone.
        rest = facts[-1:]
        for i, fact in enumerate(facts[:-1]):
            state.add(fact, ruleset, override)
            if state.score(profile, ruleset, override, now, fit_=fit_).qualifies_mql:
                score = state.score(profile, ruleset, override, now, fit_=fit_)
                promoted, stage, mql_at = f"auto_{score.mql_by}", "mql", mql_at or now
                rest = facts[i + 1 :]
                break
        facts = rest
    for fact in facts:
        state.add(fact, ruleset, override)
    score = state.score(profile, ruleset, override, now, top=TOP_REASONS, fit_=fit_)
    values, last = _score_values(stage, mql_at, score, version=rules.version, at=now)
    return values, promoted or last


async def _fold_lost(
    db: AsyncSession,
    event: Event,
    lost: list[dict[str, Any]],
    rules: CurrentRules,
    targets: dict[tuple[int, int], tuple[ExhibitorOverride | None, list[ActivityFact]]],
    registrations: dict[int, repository.AnyRow],
    now: dt.datetime,
) -> dict[tuple[int, int], int]:
    found = await repository.leads_for_batch(
        db,
        event.id,
        sorted({r["registration_id"] for r in lost}),
        sorted({r["scope"] for r in lost}),
    )
    logs = await repository.activity_facts_of(
        db, event.id, sorted({r["registration_id"] for r in lost})
    )
    updates = []
    ids = {}
    for row in lost:
        key = (row["registration_id"], row["scope"])
        lead = found[key]
        override = targets[key][0]
        history = [
            f for f in logs.get(key[0], ()) if key[1] == EVENT_SCOPE or f.exhibitor_id == key[1]
        ]
        stored = repository.decode_json(lead.state)
        since = LeadState.from_json(stored).since_us if stored else None
        state = LeadState.build(history, rules.ruleset, override, since_us=since)
        values, _ = _apply(
            state,
            [],
            _profile(registrations[key[0]]),
            rules,
            override,
            now,
            lead.stage,
            lead.mql_at,
        )
        values["state"] = orjson.dumps(state.to_json()).decode()
        values["contributions"] = orjson.dumps(values["contributions"]).decode()
        updates.append((lead.id, values))
        ids[key] = lead.id
    await lead_writes.set_leads(db, updates)
    return ids
