"""Scoring: a pure function of (profile, activities, rules, override, clock) → Score.

Semantics, fixed here so every path (live update, rescore, export) agrees:

* **Fit** (0–100, never decays) is the sum of the profile's points, capped at 100. Company size
  earns `size_ideal` inside the exhibitor's ideal sizes (an empty list means every size is
  ideal) and `size_adjacent` one band away. Grade: A ≥ 75, B ≥ 50, C ≥ 25, else D. Gated
  profiles (a gated job level or company type, or an email domain on the event's or the
  exhibitor's competitor list) are graded **F**, whose cell is "F". Outside the exhibitor's
  territory (empty = worldwide) the grade is capped at C.
* **Engagement**: each activity is matched against every engagement rule (its type, the live
  flag, `min_value`, `min_percent`). Its raw points are `points` (times whole minutes of
  `value` seconds when `per_minute`), plus the exhibitor's extra points for that resource.
  Occurrences worth 0 points are ignored: they take no slot under a cap.
  Which occurrences count is decided in time order, ties broken by activity id, so the
  result never depends on arrival order:
  - `once_per` (booth_day, booth, resource, session): only the earliest occurrence per key;
  - `cap`: then only the earliest `cap` occurrences (of those left) count;
  - `day_cap`: points per booth per UTC day, the earliest first; the occurrence that
    crosses the cap counts in part, later ones not at all.
* **Decay** is applied to each counted occurrence by its own age:
  points × 0.5^(age / half_life) (an activity dated in the future counts as age 0).
* **Groups**: the decayed points of a group are summed (negative points such as
  unsubscribe included) and the sum is capped at the group's cap; a capped group adds a
  `cap.<group>` contribution so the reasons add up. Engagement is the sum of the groups,
  clamped to [0, 100]. Tier 1 ≥ 60, 2 ≥ 40, 3 ≥ 20, else 4.
* **Buying stage**: the most advanced stage signalled by any activity (a resource's stage
  tag, or `stage_signals` such as meeting.request → decision); None without a signal.
* **MQL**: the cell is one of `mql_cells`, or a hand-raise was seen and the grade is
  `hand_raise_min_grade` or better (never F).
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from app.events.vocab import BUDGETS, COMPANY_SIZES, COMPANY_TYPES, JOB_LEVELS, TIMEFRAMES
from app.leads.facts import EPOCH, ActivityFact, Contribution, Profile, Score, from_us, to_us
from app.leads.rules import EngagementRule, ExhibitorOverride, FitRules, Ruleset
from app.leads.vocab import BUYING_STAGES, STAGE_RANK

SIZES = list(COMPANY_SIZES)
GRADE_ORDER = "ABCD"
LABELS = {
    "fit.job_level": JOB_LEVELS,
    "fit.company_type": COMPANY_TYPES,
    "fit.budget": BUDGETS,
    "fit.timeframe": TIMEFRAMES,
}
US_PER_DAY = 86_400_000_000

Entry = tuple[int, int, float, str, str]
"""A candidate occurrence of a rule: (at in µs, activity id, raw points, key, title)."""


@dataclass(frozen=True, slots=True)
class Fit:
    points: float
    grade: str
    gate: str | None
    outside_territory: bool
    reasons: tuple[Contribution, ...]
    # The reasons as JSON list items, written once per distinct fit (bulk writers splice
    # them into each lead's contributions with orjson.Fragment); None when there are none.
    encoded: orjson.Fragment | None = field(default=None, compare=False, repr=False)


_shared: dict[object, Any] = {}
"""Fit reasons, and their JSON, shared by every Fit that has them: a rescore keeps up to
100,000 fits (FitCache), which made of their own copies held some 200 MiB."""


def _fit_reason(rule: str, points: float, text: str) -> Contribution:
    key = (rule, points, text)
    found = _shared.get(key)
    if found is None:
        if len(_shared) > 20_000:
            _shared.clear()
        found = _shared[key] = Contribution(rule, points, f"{_fmt(points)} {text}", (), "fit")
    return cast(Contribution, found)


def _encoded(reasons: tuple[Contribution, ...]) -> orjson.Fragment | None:
    if not reasons:
        return None
    found = _shared.get(reasons)
    if found is None:
        if len(_shared) > 20_000:
            _shared.clear()
        found = _shared[reasons] = orjson.Fragment(orjson.dumps(reasons)[1:-1])
    return cast(orjson.Fragment, found)


def fit(profile: Profile, rules: Ruleset, override: ExhibitorOverride | None) -> Fit:
    f = rules.fit
    ideal = tuple((override.ideal_company_sizes if override else None) or SIZES)
    gate = _gate(profile, rules, override)
    return _fit_of(
        rules,
        _profile_reasons(
            f, profile.job_level, profile.company_type, profile.budget, profile.timeframe
        ),
        _size_reason(f, profile.company_size, ideal),
        gate,
        _outside(profile, override),
    )


def _profile_reasons(
    f: FitRules, job_level: str, company_type: str, budget: str, timeframe: str
) -> tuple[Contribution, ...]:
    """The reasons of the profile's fields other than company size."""
    reasons = []
    for rule, table, value in (
        ("fit.job_level", f.job_level, job_level),
        ("fit.company_type", f.company_type, company_type),
        ("fit.budget", f.budget, budget),
        ("fit.timeframe", f.timeframe, timeframe),
    ):
        points = table.get(value, 0.0)
        if points:
            what = rule.removeprefix("fit.").replace("_", " ")
            reasons.append(_fit_reason(rule, points, f"{what}: {LABELS[rule].get(value, value)}"))
    return tuple(reasons)


def _size_reason(f: FitRules, size: str, ideal: tuple[str, ...]) -> Contribution | None:
    """The company size's reason: `size_ideal` inside the ideal sizes, `size_adjacent` one
    band away."""
    if size in ideal:
        points = f.size_ideal
    elif size in SIZES and any(
        abs(SIZES.index(size) - SIZES.index(s)) == 1 for s in ideal if s in SIZES
    ):
        points = f.size_adjacent
    else:
        points = 0.0
    if not points:
        return None
    return _fit_reason("fit.company_size", points, f"company size: {COMPANY_SIZES.get(size, size)}")


def _outside(profile: Profile, override: ExhibitorOverride | None) -> bool:
    territory = override.territory if override else None
    return bool(territory) and profile.country.upper() not in (territory or [])


def _fit_of(
    rules: Ruleset,
    found: tuple[Contribution, ...],
    size: Contribution | None,
    gate: str | None,
    outside: bool,
) -> Fit:
    f = rules.fit
    reasons = [*found, size] if size is not None else list(found)
    total = min(100.0, sum(r.points for r in reasons))
    grade = "D"
    for letter in "CBA":
        if total >= getattr(f.grades, letter):
            grade = letter
    if gate is not None:
        grade = "F"
    elif outside and GRADE_ORDER.index(grade) < GRADE_ORDER.index(f.outside_territory_max_grade):
        grade = f.outside_territory_max_grade
    reasons.sort(key=lambda r: (-r.points, r.rule))
    shared = tuple(reasons)
    return Fit(total, grade, gate, outside, shared, _encoded(shared))


class FitCache:
    """`fit` under one ruleset, shared by the profiles that give the same result."""

    def __init__(self, rules: Ruleset, limit: int = 100_000) -> None:
        self.rules, self.limit = rules, limit
        # A fit is made of its parts: the reasons of the profile's four other fields, the
        # company size's reason, the gate and the territory. Each distinct part gets a token
        # (never reused), and fits are kept by their parts' tokens: a rescore meets some
        # 50,000 combinations of profile fields, territory and ideal sizes, which make a few
        # thousand distinct fits.
        self._fits: dict[tuple[int, int, str | None, bool], Fit] = {}
        self._profiles: dict[tuple[str, str, str, str], tuple[tuple[Contribution, ...], int]] = {}
        self._sizes: dict[tuple[str, int], tuple[Contribution | None, int]] = {}
        self._ideal: dict[int, tuple[ExhibitorOverride | None, tuple[str, ...], int]] = {}
        self._tokens = itertools.count()
        self._ideal_tokens: dict[tuple[str, ...], int] = {}
        self._part_tokens: dict[object, int] = {}

    def get(self, profile: Profile, override: ExhibitorOverride | None) -> Fit:
        # Fit reads the country only through the territory, the email only through the gate
        # and the override only through those and the ideal sizes.
        rules = self.rules
        gate = _gate(profile, rules, override)
        outside = _outside(profile, override)
        known = self._ideal.get(id(override))
        if known is None or known[0] is not override:
            if len(self._ideal) >= 1_000:  # overrides are rebuilt when an event's booths change
                self._ideal.clear()
            ideal = tuple((override.ideal_company_sizes if override else None) or SIZES)
            token = self._ideal_tokens.get(ideal)
            if token is None:
                if len(self._ideal_tokens) >= self.limit:
                    self._clear()
                token = self._ideal_tokens[ideal] = next(self._tokens)
            known = self._ideal[id(override)] = (override, ideal, token)
        fields = (profile.job_level, profile.company_type, profile.budget, profile.timeframe)
        reasons = self._profiles.get(fields)
        if reasons is None:
            if len(self._profiles) >= self.limit:
                self._clear()
            found_reasons = _profile_reasons(rules.fit, *fields)
            reasons = self._profiles[fields] = (found_reasons, self._token(found_reasons))
        sized = (profile.company_size, known[2])
        size = self._sizes.get(sized)
        if size is None:
            if len(self._sizes) >= self.limit:
                self._clear()
            found_size = _size_reason(rules.fit, profile.company_size, known[1])
            size = self._sizes[sized] = (found_size, self._token(found_size))
        key = (reasons[1], size[1], gate, outside)
        found = self._fits.get(key)
        if found is None:
            if len(self._fits) >= self.limit:
                self._fits.clear()
            found = self._fits[key] = _fit_of(rules, reasons[0], size[0], gate, outside)
        return found

    def _token(self, part: object) -> int:
        """The token of a part's content: profiles whose fields earn the same reasons, and
        sizes that earn the same reason, share one (and so do their fits)."""
        token = self._part_tokens.get(part)
        if token is None:
            token = self._part_tokens[part] = next(self._tokens)
        return token

    def _clear(self) -> None:
        """Forget every part and fit (tokens are never reused: nothing stale is found)."""
        self._fits.clear()
        self._profiles.clear()
        self._sizes.clear()
        self._ideal.clear()
        self._ideal_tokens.clear()
        self._part_tokens.clear()


_caches: dict[int, FitCache] = {}


def fit_cache(rules: Ruleset) -> FitCache:
    """The process's FitCache of a ruleset (parsed rulesets are cached objects, so the
    same rules give the same cache across requests)."""
    found = _caches.get(id(rules))
    if found is None or found.rules is not rules:
        if len(_caches) > 64:
            _caches.clear()
        found = _caches[id(rules)] = FitCache(rules)
    return found


def _gate(profile: Profile, rules: Ruleset, override: ExhibitorOverride | None) -> str | None:
    if profile.job_level in rules.fit.gate_job_levels:
        return f"job level {profile.job_level}"
    if profile.company_type in rules.fit.gate_company_types:
        return f"company type {profile.company_type}"
    mine = override.competitor_domains if override else ()
    if not (rules.fit.competitor_domains or mine):
        return None
    domain = (profile.email or "").rpartition("@")[2].lower()
    if domain:
        # The event's list first, then the exhibitor's: the first match names the gate.
        for listed in (rules.fit.competitor_domains, mine):
            for d in listed:
                if domain == d or domain.endswith("." + d):
                    return f"competitor domain {d}"
    return None


def entry_for(
    rule: EngagementRule,
    act: ActivityFact,
    override: ExhibitorOverride | None,
    at_us: int | None = None,
) -> Entry | None:
    """The candidate occurrence `act` makes for `rule`, or None if it does not match."""
    if act.type != rule.type or (rule.live is not None and act.live != rule.live):
        return None
    if rule.min_value is not None and (act.value is None or act.value < rule.min_value):
        return None
    if rule.min_percent is not None and (act.percent is None or act.percent < rule.min_percent):
        return None
    points = rule.points
    if rule.per_minute:
        points *= math.floor(max(act.value or 0.0, 0.0) / 60)
    if points and override and act.resource_id is not None:
        points += override.resource_points.get(act.resource_id, 0.0)
    if not points:
        return None
    at_us = to_us(act.at) if at_us is None else at_us
    return (at_us, act.id, points, _key(rule, act, at_us), act.label)


_days: dict[int, str] = {}
"""UTC days since the epoch → their ISO date, as booth-day keys write them."""


def _day(at_us: int) -> str:
    day = at_us // US_PER_DAY
    found = _days.get(day)
    if found is None:
        if len(_days) > 10_000:
            _days.clear()
        found = _days[day] = (EPOCH + dt.timedelta(days=day)).date().isoformat()
    return found


def _key(rule: EngagementRule, act: ActivityFact, at_us: int) -> str:
    kind = "booth_day" if rule.day_cap is not None else rule.once_per
    if kind is None:
        return ""
    place = (
        f"b{act.booth_id}"
        if act.booth_id is not None
        else (f"x{act.exhibitor_id}" if act.exhibitor_id is not None else "-")
    )
    if kind == "booth_day":
        return f"{place}:{_day(at_us)}"
    if kind == "booth":
        return place
    if kind == "resource":
        return f"r{act.resource_id}"
    if kind == "session":
        return f"s{act.session_id}"
    return ""


def count(rule: EngagementRule, entries: Iterable[Entry]) -> list[tuple[Entry, float]]:
    """Which of a rule's candidate occurrences count, and for how many points."""
    if isinstance(entries, list) and len(entries) == 1:
        # Most leads have one occurrence of a rule: what the steps below leave of it.
        e = entries[0]
        if rule.cap == 0 or (rule.day_cap is not None and rule.day_cap <= 0):
            return []
        return [(e, e[2] if rule.day_cap is None else min(e[2], rule.day_cap))]
    # Tuples compare by (at, id) first, and ids are unique: plain sorting is time order.
    ordered = sorted(entries)
    if rule.once_per is not None:
        seen: set[str] = set()
        firsts = []
        for e in ordered:
            if e[3] not in seen:
                seen.add(e[3])
                firsts.append(e)
        ordered = firsts
    if rule.cap is not None:
        ordered = ordered[: rule.cap]
    if rule.day_cap is None:
        return [(e, e[2]) for e in ordered]
    used: dict[str, float] = {}
    counted = []
    for e in ordered:
        room = rule.day_cap - used.get(e[3], 0.0)
        if room > 0:
            points = min(e[2], room)
            used[e[3]] = used.get(e[3], 0.0) + points
            counted.append((e, points))
    return counted


@dataclass(frozen=True, slots=True)
class Plan:
    """What `finish` reads of a ruleset, worked out once per parsed ruleset."""

    rate: float  # the decay per µs of age, as an exponent
    order: dict[str, int]  # each engagement rule's place in the ruleset
    group_of: dict[str, str]
    caps: dict[str, float]  # each group's cap, in the ruleset's order
    tiers: tuple[tuple[int, float], ...]  # (tier, threshold), the lowest tier first
    mql_cells: frozenset[str]
    hand_raise_grades: frozenset[str]  # the grades a hand-raise makes an MQL from
    hand_raise_types: frozenset[str]
    signal_rank: dict[str, int]  # an activity type's stage signal, as a rank in STAGE_RANK
    # The labels written under the ruleset, by (rule, title, points to 0.1, occurrences).
    labels: dict[tuple[str, str, float, int], str]


def plan_of(rules: Ruleset) -> Plan:
    # Kept in the instance dict, as Ruleset.rules_for keeps its index: parsed rulesets are
    # cached objects, so requests under the same rules share it.
    found: Plan | None = rules.__dict__.get("_plan")
    if found is None:
        engagement = rules.engagement
        found = rules.__dict__["_plan"] = Plan(
            rate=-math.log(2) / (rules.half_life_days * US_PER_DAY),
            order={rule_id: i for i, rule_id in enumerate(engagement)},
            group_of={rule_id: rule.group for rule_id, rule in engagement.items()},
            caps=dict(rules.groups),
            tiers=((3, rules.tiers.t3), (2, rules.tiers.t2), (1, rules.tiers.t1)),
            mql_cells=frozenset(rules.mql_cells),
            hand_raise_grades=frozenset(
                GRADE_ORDER[: GRADE_ORDER.index(rules.hand_raise_min_grade) + 1]
            ),
            hand_raise_types=frozenset(rules.hand_raise_types),
            signal_rank={kind: STAGE_RANK[stage] for kind, stage in rules.stage_signals.items()},
            labels={},
        )
    return found


def finish(
    fit_: Fit,
    counted: dict[str, list[tuple[Entry, float]]],
    *,
    stage_rank: int,
    hand_raised: bool,
    last_us: int | None,
    rules: Ruleset,
    now: dt.datetime,
    top: int | None = None,
) -> Score:
    """The score from the counted occurrences of each rule (shared by full and incremental);
    `top` keeps only that many engagement reasons."""
    plan = plan_of(rules)
    now_us = to_us(now)
    rate, group_of, exp = plan.rate, plan.group_of, math.exp
    groups: dict[str, float] = dict.fromkeys(plan.caps, 0.0)
    totals: dict[tuple[str, str], float] = {}
    ids: dict[tuple[str, str], list[int]] = {}
    # In rule order (the sums must not depend on the order the caller counted in); rules no
    # longer in the ruleset count nothing.
    order = plan.order
    present = [rule_id for rule_id in counted if rule_id in order]
    if len(present) > 1:
        present.sort(key=order.__getitem__)
    for rule_id in present:
        group = group_of[rule_id]
        total = groups[group]
        for entry, points in counted[rule_id]:
            age = now_us - entry[0]
            decayed = points * exp(rate * age) if age > 0 else points
            total += decayed
            slot = (rule_id, entry[4])
            if slot in totals:
                totals[slot] += decayed
                ids[slot].append(entry[1])
            else:
                totals[slot] = decayed
                ids[slot] = [entry[1]]
        groups[group] = total
    raw: list[tuple[float, str, str, list[int]]] = [
        (total, rule_id, title, ids[rule_id, title]) for (rule_id, title), total in totals.items()
    ]
    engagement = 0.0
    caps = plan.caps
    for group, total in groups.items():
        cap = caps[group]
        if total > cap:
            raw.append((cap - total, f"cap.{group}", group, []))
            total = cap
        engagement += total
    engagement = min(100.0, max(0.0, engagement))
    if len(raw) > 1:
        raw.sort(key=_reason_order)
    # Labels only for the reasons kept: rescoring a million activities labels few, and most
    # of those were written before (the same rule, title, rounded points and count).
    labels = plan.labels
    contributions = []
    for points, rule_id, title, act_ids in raw if top is None else raw[:top]:
        key = (rule_id, title, round(points, 1), len(act_ids))
        label = labels.get(key)
        if label is None:
            if len(labels) > 20_000:
                labels.clear()
            label = labels[key] = _label(rules, rule_id, title, points, act_ids)
        contributions.append(Contribution(rule_id, points, label, tuple(act_ids)))
    tier = 4
    for number, threshold in plan.tiers:
        if engagement >= threshold:
            tier = number
    grade = fit_.grade
    cell = "F" if grade == "F" else grade + str(tier)
    if cell in plan.mql_cells:
        by: str | None = "cell"
    elif hand_raised and grade in plan.hand_raise_grades:
        by = "hand_raise"
    else:
        by = None
    return Score(
        fit_.points,
        grade,
        engagement,
        tier,
        cell,
        BUYING_STAGES[stage_rank] if stage_rank >= 0 else None,
        hand_raised,
        by is not None,
        by,
        fit_.gate,
        fit_.outside_territory,
        from_us(last_us) if last_us is not None else None,
        fit_.reasons + tuple(contributions) if contributions else fit_.reasons,
    )


def stage_of(act: ActivityFact, rules: Ruleset) -> int:
    """The buying stage an activity signals, as a rank in STAGE_RANK (-1: none)."""
    rank = STAGE_RANK.get(act.stage, -1) if act.stage else -1
    signal = plan_of(rules).signal_rank.get(act.type, -1)
    return signal if signal > rank else rank


def score(
    profile: Profile,
    activities: Sequence[ActivityFact],
    rules: Ruleset,
    override: ExhibitorOverride | None,
    now: dt.datetime,
    top: int | None = None,
) -> Score:
    """The full recompute: every activity, in any order."""
    candidates: dict[str, list[Entry]] = {rule_id: [] for rule_id in rules.engagement}
    for a in activities:
        for rule_id, rule in rules.rules_for(a.type):
            if (e := entry_for(rule, a, override)) is not None:
                candidates[rule_id].append(e)
    counted = {
        rule_id: count(rules.engagement[rule_id], entries)
        for rule_id, entries in candidates.items()
    }
    return finish(
        fit(profile, rules, override),
        counted,
        stage_rank=max((stage_of(a, rules) for a in activities), default=-1),
        hand_raised=any(a.type in rules.hand_raise_types for a in activities),
        last_us=max((to_us(a.at) for a in activities), default=None),
        rules=rules,
        now=now,
        top=top,
    )


def _reason_order(reason: tuple[float, str, str, list[int]]) -> tuple[float, str, str]:
    return (-reason[0], reason[1], reason[2])


def _fmt(points: float) -> str:
    rounded = round(points, 1)
    return f"{rounded:+g}" if rounded else "0"


def _label(rules: Ruleset, rule_id: str, title: str, points: float, ids: list[int]) -> str:
    if rule_id.startswith("cap."):
        return f"{_fmt(points)} over the {title} cap of {rules.groups[title]:g}"
    rule = rules.engagement[rule_id]
    fallback = {"booth.visit": "a booth", "booth.dwell": "a booth", "chat.message": "staff"}
    text = rule.label.format(title=title or fallback.get(rule.type, "it"))
    times = f" ({len(ids)} times)" if len(ids) > 1 else ""
    return f"{_fmt(points)} {text}{times}"
