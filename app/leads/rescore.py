"""Rescore every lead of an event under its current rules, in one pass over the log.

Registrations are taken in batches by id; for each batch three Core selects fetch the
profiles, the leads and the activities (ordered by registration), the states are rebuilt
in memory and the leads written back with one executemany. No ORM objects in the loop.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from app.db import utcnow
from app.events.models import Event
from app.leads import repository
from app.leads.facts import ActivityFact, Profile, to_us
from app.leads.models import EVENT_SCOPE
from app.leads.rules import ExhibitorOverride
from app.leads.scoring import Fit, fit
from app.leads.state import TOP_REASONS, LeadState
from app.leads.versions import CurrentRules, current_rules, effective_override


@dataclass(slots=True)
class RescoreProgress:
    version: int
    total: int  # leads of the event
    done: int = 0
    activities: int = 0
    promoted: int = 0  # leads that became MQLs under the new rules


AfterBatch = Callable[[RescoreProgress], Awaitable[None]]


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
) -> RescoreProgress:
    """Recompute every lead of `event` from its activities; `after_batch` may commit."""
    rules = await current_rules(db, event)
    overrides = await _overrides(db, event, rules)
    ids = await repository.registration_ids(db, event.id)
    progress = RescoreProgress(rules.version, await repository.count_leads(db, event.id))
    now = now or utcnow()
    for start in range(0, len(ids), batch_size):
        first, last = ids[start], ids[min(start + batch_size, len(ids)) - 1]
        updates, transitions = await _batch(db, event, rules, overrides, first, last, now, progress)
        await repository.update_leads(db, updates)
        await repository.insert_transitions(db, transitions)
        progress.done += len(updates)
        if after_batch is not None:
            await after_batch(progress)
    return progress


async def _batch(
    db: AsyncSession,
    event: Event,
    rules: CurrentRules,
    overrides: dict[int, ExhibitorOverride],
    first: int,
    last: int,
    now: dt.datetime,
    progress: RescoreProgress,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    leads = await repository.leads_between(db, event.id, first, last)
    if not leads:
        return [], []
    profiles = {
        r.id: Profile(
            r.job_level, r.company_type, r.company_size, r.budget, r.timeframe, r.country, r.email
        )
        for r in await repository.profiles_between(db, event.id, first, last)
    }
    facts: dict[int, list[ActivityFact]] = {}
    for a in await repository.activities_between(db, event.id, first, last):
        facts.setdefault(a.registration_id, []).append(
            ActivityFact(
                a.id,
                a.type,
                a.at,
                a.value,
                a.exhibitor_id,
                a.booth_id,
                a.session_id,
                a.resource_id,
                a.stage,
                a.live,
                a.percent,
                a.label,
            )
        )
        progress.activities += 1
    ruleset = rules.ruleset
    updates, transitions = [], []
    fits: dict[tuple[str | int, ...], Fit] = {}
    for lead in leads:
        override = overrides.get(lead.scope) if lead.scope != EVENT_SCOPE else None
        profile = profiles[lead.registration_id]
        acts = facts.get(lead.registration_id, ())
        if lead.scope != EVENT_SCOPE:
            acts = [f for f in acts if f.exhibitor_id == lead.scope]
        since = to_us(lead.reset_at) if lead.reset_at else None
        state = LeadState.build(acts, ruleset, override, since_us=since)
        # Fit depends on a few profile fields only: many attendees share one result.
        domain = (profile.email or "").rpartition("@")[2].lower()
        key = (
            profile.job_level,
            profile.company_type,
            profile.company_size,
            profile.budget,
            profile.timeframe,
            profile.country,
            domain,
            lead.scope,
        )
        fit_ = fits.get(key)
        if fit_ is None:
            fit_ = fits[key] = fit(profile, ruleset, override)
        score = state.score(profile, ruleset, override, now, top=TOP_REASONS, fit_=fit_)
        stage, mql_at = lead.stage, lead.mql_at
        if stage == "inquiry" and score.qualifies_mql:
            stage, mql_at = "mql", mql_at or now
            progress.promoted += 1
            transitions.append(
                {
                    "lead_id": lead.id,
                    "from_stage": "inquiry",
                    "to_stage": "mql",
                    "reason": f"auto_{score.mql_by}",
                    "note": f"rules v{rules.version}",
                    "actor_id": None,
                    "at": now,
                }
            )
        updates.append(
            {
                "b_id": lead.id,
                "b_seen": lead.updated_at,
                "b_fit": score.fit,
                "b_grade": score.grade,
                "b_engagement": score.engagement,
                "b_tier": score.tier,
                "b_cell": score.cell,
                "b_buying_stage": score.buying_stage,
                "b_stage": stage,
                "b_mql_at": mql_at,
                "b_last_activity_at": score.last_activity_at,
                "b_rules_version": rules.version,
                "b_state": state.to_json(),
                "b_contributions": [c.to_json() for c in score.contributions],
                "b_updated_at": now,
            }
        )
    return updates, transitions
