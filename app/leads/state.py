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
from dataclasses import dataclass, field
from typing import Any

from app.leads.facts import ActivityFact, Profile, Score, to_us
from app.leads.rules import EngagementRule, ExhibitorOverride, Ruleset
from app.leads.scoring import Entry, count, entry_for, finish, fit, stage_of

STATE_VERSION = 1


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
            entry = entry_for(rule, act, override)
            if entry is not None:
                self.entries[rule_id] = _insert(rule, self.entries.get(rule_id, []), entry)
        return True

    def score(
        self,
        profile: Profile,
        rules: Ruleset,
        override: ExhibitorOverride | None,
        now: dt.datetime,
    ) -> Score:
        counted = {
            rule_id: count(rule, self.entries.get(rule_id, ()))
            for rule_id, rule in rules.engagement.items()
        }
        return finish(
            fit(profile, rules, override),
            counted,
            stage_rank=self.stage_rank,
            hand_raised=self.hand_raised,
            last_us=self.last_us,
            rules=rules,
            now=now,
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
    if any((e[0], e[1]) == order for e in kept):
        return kept  # the same activity twice
    if rule.once_per is not None:
        same = next((e for e in kept if e[3] == entry[3]), None)
        if same is not None:
            if (same[0], same[1]) <= order:
                return kept
            kept = [e for e in kept if e is not same]
    keys = [(e[0], e[1]) for e in kept]
    kept = list(kept)
    kept.insert(bisect.bisect(keys, order), entry)
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
