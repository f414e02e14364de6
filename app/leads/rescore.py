"""Rescore every lead of an event under its current rules, in one pass over the log.

Registrations are taken in batches by id; per batch two Core selects fetch the leads with
their profiles and the activities (ordered by registration, on the event-registration
index), the states are rebuilt in memory and the leads written back with one executemany
whose JSON is encoded with orjson. The write of one batch runs while the next batch is
read and scored. No ORM objects in the loop; fit is computed once per distinct profile.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.db import utcnow
from app.events.models import Event
from app.leads import outbox, repository, rescore_queries
from app.leads.facts import ActivityFact, Profile, Score, to_us
from app.leads.models import EVENT_SCOPE
from app.leads.rules import ExhibitorOverride, Ruleset
from app.leads.scoring import Entry, Fit, FitCache, count, entry_for, finish, stage_of
from app.leads.state import TOP_REASONS, stub
from app.leads.versions import CurrentRules, current_rules, effective_override

# Only the recycle instant is stored: the lead's next activity rebuilds the state from the
# log (one read), so the pass neither encodes nor writes a million states.
_STUB = orjson.dumps(stub(None)).decode()


@dataclass(slots=True)
class RescoreProgress:
    version: int
    total: int  # leads of the event
    done: int = 0
    activities: int = 0
    promoted: int = 0  # leads that became MQLs under the new rules


AfterBatch = Callable[[RescoreProgress], Awaitable[None]]
Reader = AsyncSession | AsyncConnection


async def _overrides(
    db: AsyncSession, event: Event, rules: CurrentRules
) -> dict[int, ExhibitorOverride]:
    return {
        row.id: effective_override(
            rules,
            row.id,
            territory=row.territory,
            ideal_sizes=row.ideal_sizes,
            competitor_domains=row.competitor_domains,
        )
        for row in await repository.booths_of_event(db, event.id)
    }


async def rescore_event(
    db: AsyncSession,
    *,
    event: Event,
    batch_size: int = 2000,
    after_batch: AfterBatch | None = None,
    now: dt.datetime | None = None,
    reader: AsyncConnection | None = None,
) -> RescoreProgress:
    """Recompute every lead of `event` from its activities; `after_batch` may commit.

    `reader`, a connection of its own (on SQLite a DEFERRED one), reads the log so the
    session's write transaction is only open for the writes; without it the session reads.
    """
    rules = await current_rules(db, event)
    overrides = await _overrides(db, event, rules)
    ids = await rescore_queries.registration_ids(db, event.id)
    progress = RescoreProgress(rules.version, await rescore_queries.count_leads(db, event.id))
    scorer = _Scorer(rules, overrides, now or utcnow(), progress)
    source: Reader = reader if reader is not None else db
    ranges = [
        (ids[start], ids[min(start + batch_size, len(ids)) - 1])
        for start in range(0, len(ids), batch_size)
    ]
    await _run(db, source, event, ranges, scorer, progress, after_batch)
    return progress


async def _run(
    db: AsyncSession,
    source: Reader,
    event: Event,
    ranges: list[tuple[int, int]],
    scorer: _Scorer,
    progress: RescoreProgress,
    after_batch: AfterBatch | None,
) -> None:
    writing: asyncio.Future[int] | None = None
    try:
        for first, last in ranges:
            leads = await rescore_queries.leads_with_profiles_between(source, event.id, first, last)
            acts = (
                await rescore_queries.activity_rows_between(source, event.id, first, last)
                if leads
                else []
            )
            updates, transitions, events = scorer.batch(leads, acts)
            if writing is not None:
                progress.done += await writing
                if after_batch is not None:
                    await after_batch(progress)
            writing = asyncio.ensure_future(_write(db, updates, transitions, events))
            if source is db:
                # One connection: the write must finish before the next read.
                progress.done += await writing
                writing = None
                if after_batch is not None:
                    await after_batch(progress)
        if writing is not None:
            progress.done += await writing
            writing = None
            if after_batch is not None:
                await after_batch(progress)
    finally:
        if writing is not None:
            # A read failed while a write was in flight: let it end before the caller
            # rolls back, and keep the read's error.
            await asyncio.gather(writing, return_exceptions=True)


async def _write(
    db: AsyncSession,
    updates: list[dict[str, Any]],
    transitions: list[dict[str, Any]],
    events: list[dict[str, Any] | None],
) -> int:
    await rescore_queries.update_leads(db, updates)
    await repository.insert_transitions(db, transitions)
    await outbox.emit(db, events)  # `lead.updated` where the cell or buying stage moved
    return len(updates)


class _Scorer:
    """Scores batches of leads under one ruleset at one instant."""

    def __init__(
        self,
        rules: CurrentRules,
        overrides: dict[int, ExhibitorOverride],
        now: dt.datetime,
        progress: RescoreProgress,
    ) -> None:
        self.rules, self.overrides, self.now, self.progress = rules, overrides, now, progress
        self.fits = FitCache(rules.ruleset)
        self.note = f"rules v{rules.version}"

    def batch(
        self, leads: Sequence[Any], acts: Sequence[Any]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any] | None]]:
        """Leads (with profile columns) and activities (fact columns, then registration id),
        both ordered by registration → the executemany rows, the MQL transitions and the
        `lead.updated` events of leads whose cell or buying stage moved."""
        by_registration: dict[int, list[ActivityFact]] = {}
        current: list[ActivityFact] = []
        last_id = None
        for row in acts:
            if row[12] != last_id:
                last_id = row[12]
                current = by_registration[last_id] = []
            current.append(ActivityFact(*row[:12]))
        self.progress.activities += len(acts)
        ruleset, now, version = self.rules.ruleset, self.now, self.rules.version
        updates: list[dict[str, Any]] = []
        transitions: list[dict[str, Any]] = []
        events: list[dict[str, Any] | None] = []
        split: dict[int, dict[int | None, list[ActivityFact]]] = {}
        for lead in leads:
            (lead_id, registration_id, scope, stage, reset_at, mql_at, updated_at) = lead[:7]
            profile = Profile(*lead[7:14])
            facts = by_registration.get(registration_id, [])
            if scope == EVENT_SCOPE:
                override = None
            else:
                override = self.overrides.get(scope)
                per = split.get(registration_id)
                if per is None:
                    per = split[registration_id] = {}
                    for f in facts:
                        per.setdefault(f.exhibitor_id, []).append(f)
                facts = per.get(scope, [])
            since = to_us(reset_at) if reset_at else None
            score = _score(facts, ruleset, override, since, self.fits.get(profile, override), now)
            if stage == "inquiry" and score.qualifies_mql:
                transitions.append(
                    {
                        "lead_id": lead_id,
                        "from_stage": "inquiry",
                        "to_stage": "mql",
                        "reason": f"auto_{score.mql_by}",
                        "note": self.note,
                        "actor_id": None,
                        "at": now,
                        "first_mql": mql_at is None,
                    }
                )
                stage, mql_at = "mql", mql_at or now
                self.progress.promoted += 1
            updates.append(
                {
                    "b_id": lead_id,
                    "b_seen": updated_at,
                    "b_fit": score.fit,
                    "b_grade": score.grade,
                    "b_engagement": score.engagement,
                    "b_tier": score.tier,
                    "b_cell": score.cell,
                    "b_buying_stage": score.buying_stage,
                    "b_stage": stage,
                    "b_mql_at": mql_at,
                    "b_last_activity_at": score.last_activity_at,
                    "b_rules_version": version,
                    "b_state": _STUB if since is None else orjson.dumps(stub(since)).decode(),
                    # orjson writes the dataclasses as Contribution.to_json does.
                    "b_contributions": orjson.dumps(score.contributions).decode(),
                    "b_updated_at": now,
                }
            )
            after = (score.grade, score.tier, score.cell, score.buying_stage)
            if tuple(lead[14:18]) != after:
                events.append(
                    outbox.for_update(
                        lead_id,
                        dict(zip(outbox.WATCHED, lead[14:18], strict=True)),
                        dict(zip(outbox.WATCHED, after, strict=True)),
                        now,
                    )
                )
        return updates, transitions, events


def _score(
    facts: Sequence[ActivityFact],
    ruleset: Ruleset,
    override: ExhibitorOverride | None,
    since_us: int | None,
    fit_: Fit,
    now: dt.datetime,
) -> Score:
    """`LeadState.build(...).score(...)` without keeping a state: the rescore stores none
    (see `_STUB`), so each rule's occurrences are counted once, not once to keep and again
    to score (counting the kept ones gives the same result)."""
    candidates: dict[str, list[Entry]] = {}
    stage_rank, hand_raised, last_us = -1, False, None
    hand_raise = ruleset.hand_raise_types
    for act in facts:
        at_us = to_us(act.at)
        if since_us is not None and at_us < since_us:
            continue
        stage_rank = max(stage_rank, stage_of(act, ruleset))
        hand_raised = hand_raised or act.type in hand_raise
        last_us = at_us if last_us is None else max(last_us, at_us)
        for rule_id, rule in ruleset.rules_for(act.type):
            entry = entry_for(rule, act, override, at_us)
            if entry is not None:
                candidates.setdefault(rule_id, []).append(entry)
    counted = {
        rule_id: count(ruleset.engagement[rule_id], entries)
        for rule_id, entries in candidates.items()
    }
    return finish(
        fit_,
        counted,
        stage_rank=stage_rank,
        hand_raised=hand_raised,
        last_us=last_us,
        rules=ruleset,
        now=now,
        top=TOP_REASONS,
    )
