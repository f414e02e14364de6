"""LeadState: a lead's running aggregates, updated one activity at a time without rescanning.

The state keeps, per engagement rule, only the candidate occurrences that can still count
(app/leads/scoring.py explains which): under a `cap`, the earliest `cap`; under `once_per`,
the earliest per key; under a `day_cap`, the earliest of each booth-day until the cap is
reached. An occurrence dropped from that set can never count again, because a later
arrival can only be earlier in time and push it further out, so an update is O(caps) and
out-of-order arrival gives the same result as a full recompute.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from app.leads.facts import ActivityFact, Profile, Score, to_us
from app.leads.rules import EngagementRule, ExhibitorOverride, Ruleset
from app.leads.scoring import Entry, Fit, count, entry_for, finish, fit, stage_of

STATE_VERSION = 1
TOP_REASONS = 12  # engagement reasons stored on a lead


def is_full(data: dict[str, Any] | None) -> bool:
    """Whether a stored state holds the running aggregates (else it is rebuilt from the log
    on the lead's next activity): a rescore stores only `since_us`, so the million-lead
    pass neither encodes nor writes states that the next activity can rebuild in one read."""
    return data is not None and data.get("v") == STATE_VERSION


def stub(since_us: int | None) -> dict[str, Any]:
    """A state that keeps only the recycle instant: `is_full` is False for it."""
    return {"since_us": since_us}


@dataclass(slots=True)
class LeadState:
    since_us: int | None = None  # activities before this (a recycle) no longer count
    stage_rank: int = -1
    hand_raised: bool = False
    last_us: int | None = None
    entries: dict[str, list[Entry]] = field(default_factory=dict)

    def add(self, act: ActivityFact, rules: Ruleset, override: ExhibitorOverride | None) -> bool:
        """Fold one activity in; False if it is older than the state's start and ignored."""
        at_us = to_us(act.at)
        if self.since_us is not None and at_us < self.since_us:
            return False
        self.stage_rank = max(self.stage_rank, stage_of(act, rules))
        self.hand_raised = self.hand_raised or act.type in rules.hand_raise_types
        self.last_us = at_us if self.last_us is None else max(self.last_us, at_us)
        for rule_id, rule in rules.rules_for(act.type):
            entry = entry_for(rule, act, override, at_us)
            if entry is not None:
                self.entries[rule_id] = _insert(rule, self.entries.get(rule_id, []), entry)
        return True

    @classmethod
    def build(
        cls,
        activities: Iterable[ActivityFact],
        rules: Ruleset,
        override: ExhibitorOverride | None,
        *,
        since_us: int | None = None,
    ) -> LeadState:
        """The state of a whole history at once: the kept occurrences are exactly those that
        count (see `count`), so this equals adding the activities one by one, only faster."""
        state = cls(since_us=since_us)
        candidates: dict[str, list[Entry]] = {}
        for act in activities:
            at_us = to_us(act.at)
            if since_us is not None and at_us < since_us:
                continue
            state.stage_rank = max(state.stage_rank, stage_of(act, rules))
            state.hand_raised = state.hand_raised or act.type in rules.hand_raise_types
            state.last_us = at_us if state.last_us is None else max(state.last_us, at_us)
            for rule_id, rule in rules.rules_for(act.type):
                entry = entry_for(rule, act, override, at_us)
                if entry is not None:
                    candidates.setdefault(rule_id, []).append(entry)
        for rule_id, entries in candidates.items():
            state.entries[rule_id] = [e for e, _ in count(rules.engagement[rule_id], entries)]
        return state

    def score(
        self,
        profile: Profile,
        rules: Ruleset,
        override: ExhibitorOverride | None,
        now: dt.datetime,
        *,
        top: int | None = None,
        fit_: Fit | None = None,
    ) -> Score:
        """The score at `now`; `fit_` may be passed when already computed for this profile."""
        counted = {
            rule_id: count(rules.engagement[rule_id], entries)
            for rule_id, entries in self.entries.items()
            if entries and rule_id in rules.engagement
        }
        return finish(
            fit_ or fit(profile, rules, override),
            counted,
            stage_rank=self.stage_rank,
            hand_raised=self.hand_raised,
            last_us=self.last_us,
            rules=rules,
            now=now,
            top=top,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "v": STATE_VERSION,
            "since_us": self.since_us,
            "stage_rank": self.stage_rank,
            "hand_raised": self.hand_raised,
            "last_us": self.last_us,
            "entries": {k: [list(e) for e in v] for k, v in self.entries.items()},
        }

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> LeadState:
        if not data or data.get("v") != STATE_VERSION:
            return cls(since_us=data.get("since_us") if data else None)
        return cls(
            since_us=data["since_us"],
            stage_rank=data["stage_rank"],
            hand_raised=data["hand_raised"],
            last_us=data["last_us"],
            entries={
                k: [(int(e[0]), int(e[1]), float(e[2]), str(e[3]), str(e[4])) for e in v]
                for k, v in data["entries"].items()
            },
        )


def _insert(rule: EngagementRule, kept: list[Entry], entry: Entry) -> list[Entry]:
    """Insert `entry` into a rule's kept occurrences and drop those that can never count."""
    order = (entry[0], entry[1])
    same_key = -1
    for i, e in enumerate(kept):
        if e[0] == entry[0] and e[1] == entry[1]:
            return kept  # the same activity twice
        if rule.once_per is not None and e[3] == entry[3]:
            same_key = i
    if same_key >= 0:
        if (kept[same_key][0], kept[same_key][1]) <= order:
            return kept
        del kept[same_key]
    bisect.insort(kept, entry)  # tuples order by (at, id): ids are unique
    if rule.cap is not None:
        del kept[rule.cap :]
    if rule.day_cap is not None:
        used: dict[str, float] = {}
        still = []
        for e in kept:
            if used.get(e[3], 0.0) < rule.day_cap:
                used[e[3]] = used.get(e[3], 0.0) + e[2]
                still.append(e)
        kept = still
    return kept
