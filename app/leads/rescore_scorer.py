"""The rescore's scoring of a batch: driver rows of leads and activities in, the executemany
rows, MQL transitions and `lead.updated` events out (app/leads/rescore.py reads and writes).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from sqlalchemy.engine import make_url

from app.db_driver import Timestamps
from app.leads import outbox
from app.leads.facts import EPOCH, MICROSECOND, ActivityFact, Profile, Score, to_us
from app.leads.models import EVENT_SCOPE
from app.leads.rules import ExhibitorOverride, Ruleset
from app.leads.scoring import Entry, Fit, FitCache, count, entry_for, finish, plan_of
from app.leads.state import TOP_REASONS, stub
from app.leads.versions import CurrentRules
from app.leads.vocab import STAGE_RANK

# Only the recycle instant is stored: the lead's next activity rebuilds the state from the
# log (one read), so the pass neither encodes nor writes a million states.
_STUB = orjson.dumps(stub(None)).decode()

Rows = Sequence[Sequence[Any]]


class Scored(NamedTuple):
    updates: list[tuple[Any, ...]]  # driver values in UPDATE_PARAMS order
    transitions: list[dict[str, Any]]  # the MQL promotions
    events: list[dict[str, Any]]  # `lead.updated` where the cell or buying stage moved
    activities: int


class Scorer:
    """Scores batches of leads under one ruleset at one instant."""

    def __init__(
        self,
        rules: CurrentRules,
        overrides: dict[int, ExhibitorOverride],
        now: dt.datetime,
        driver: str,
        fits: int = 100_000,
    ) -> None:
        self.rules, self.overrides, self.now = rules, overrides, now
        # Driver values of the engine's dialect (named, so a helper process can load it).
        self.times = Timestamps.of(make_url(f"{driver}://").get_dialect()())
        self.fits = FitCache(rules.ruleset, limit=fits)
        self.note = f"rules v{rules.version}"

    def batch(self, leads: Rows, acts: Rows) -> Scored:
        """Driver rows of leads (with profile columns) and of their activities (fact columns,
        then lead id and scope; a lead's together) → the executemany rows (driver values in
        `UPDATE_PARAMS` order), the MQL transitions and the `lead.updated` events of leads
        whose cell or buying stage moved."""
        by_lead: dict[int, list[Fact]] = {}
        current: list[Fact] = []
        last_id = None
        activities = 0  # each activity once: those of event leads
        parse, make = self.times.from_driver, ActivityFact._make
        for row in acts:
            if row[12] != last_id:
                last_id = row[12]
                current = by_lead.setdefault(last_id, [])
            if row[13] == EVENT_SCOPE:
                activities += 1
            at: dt.datetime = parse(row[2])  # type: ignore[assignment]  # never NULL
            fact = make(
                (row[0], row[1], at, *row[3:9], bool(row[9]), row[10], row[11])  # as ActivityFact
            )
            current.append((fact, (at - EPOCH) // MICROSECOND, row[2]))  # to_us, inline
        ruleset, now, version = self.rules.ruleset, self.now, self.rules.version
        to_driver = self.times.to_driver
        now_value = to_driver(now)
        updates: list[tuple[Any, ...]] = []
        transitions: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        for lead in leads:
            (lead_id, _registration_id, scope, stage, reset_at, mql_at, updated_at) = lead[:7]
            profile = Profile(*lead[7:14])
            facts = by_lead.get(lead_id, [])
            override = None if scope == EVENT_SCOPE else self.overrides.get(scope)
            since = to_us(parse(reset_at)) if reset_at is not None else None  # type: ignore[arg-type]
            fit_ = self.fits.get(profile, override)
            score, last_at = _score(facts, ruleset, override, since, fit_, now)
            # orjson writes the dataclasses as Contribution.to_json does; the fit reasons,
            # shared by every lead of the same fit, were written once.
            engaged = score.contributions[len(fit_.reasons) :]
            encoded = orjson.dumps(engaged if fit_.encoded is None else [fit_.encoded, *engaged])
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
                stage, mql_at = "mql", mql_at if mql_at is not None else now_value
            updates.append(
                (
                    score.fit,
                    score.grade,
                    score.engagement,
                    score.tier,
                    score.cell,
                    score.buying_stage,
                    stage,
                    mql_at,
                    last_at,
                    version,
                    _STUB if since is None else orjson.dumps(stub(since)).decode(),
                    encoded.decode(),
                    now_value,
                    lead_id,
                    updated_at,  # as read: the update skips a lead changed since
                )
            )
            after = (score.grade, score.tier, score.cell, score.buying_stage)
            before = tuple(lead[14:18])
            if before != after:
                events.append(outbox.for_change(lead_id, before, after, now))
        return Scored(updates, transitions, events, activities)


Fact = tuple[ActivityFact, int, Any]
"""An activity as scored, its instant in µs, and its time as the driver gave it."""


def _score(
    facts: Sequence[Fact],
    ruleset: Ruleset,
    override: ExhibitorOverride | None,
    since_us: int | None,
    fit_: Fit,
    now: dt.datetime,
) -> tuple[Score, Any]:
    """`LeadState.build(...).score(...)` without keeping a state: the rescore stores none
    (see `_STUB`), so each rule's occurrences are counted once, not once to keep and again
    to score (counting the kept ones gives the same result). With the score, the time of the
    last activity as the driver gave it: written back as it is, not converted twice."""
    candidates: dict[str, list[Entry]] = {}
    stage_rank, hand_raised, last_us, last_at = -1, False, None, None
    plan = plan_of(ruleset)
    hand_raise, signal_rank, rules_for = plan.hand_raise_types, plan.signal_rank, ruleset.rules_for
    for act, at_us, at in facts:
        if since_us is not None and at_us < since_us:
            continue
        kind = act.type
        # stage_of, inline: this loop runs once per activity of every lead.
        if act.stage:
            rank = STAGE_RANK.get(act.stage, -1)
            if rank > stage_rank:
                stage_rank = rank
        if kind in signal_rank and signal_rank[kind] > stage_rank:
            stage_rank = signal_rank[kind]
        if not hand_raised and kind in hand_raise:
            hand_raised = True
        if last_us is None or at_us > last_us:
            last_us, last_at = at_us, at
        for rule_id, rule in rules_for(kind):
            entry = entry_for(rule, act, override, at_us)
            if entry is not None:
                if rule_id in candidates:
                    candidates[rule_id].append(entry)
                else:
                    candidates[rule_id] = [entry]
    counted = {
        rule_id: count(ruleset.engagement[rule_id], entries)
        for rule_id, entries in candidates.items()
    }
    score = finish(
        fit_,
        counted,
        stage_rank=stage_rank,
        hand_raised=hand_raised,
        last_us=None,  # the score's last_activity_at is not read: last_at is written
        rules=ruleset,
        now=now,
        top=TOP_REASONS,
    )
    return score, last_at
