"""Plain values scoring works on: an attendee's profile, activities, and the resulting score."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Literal, NamedTuple

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
MICROSECOND = dt.timedelta(microseconds=1)


def to_us(at: dt.datetime) -> int:
    """Microseconds since the epoch, exact (no float rounding), so every path sorts alike."""
    return (at - EPOCH) // MICROSECOND


def from_us(us: int) -> dt.datetime:
    return EPOCH + dt.timedelta(microseconds=us)


@dataclass(frozen=True, slots=True)
class Profile:
    """The registration fields fit is computed from."""

    job_level: str
    company_type: str
    company_size: str
    budget: str
    timeframe: str
    country: str
    email: str | None = None


class ActivityFact(NamedTuple):
    """One logged activity as scoring sees it; `label` is the title shown in reasons.

    Facts and scores are named tuples: as immutable as frozen dataclasses, and made five times
    faster (a rescore makes one per activity and one per lead)."""

    id: int
    type: str
    at: dt.datetime
    value: float | None = None
    exhibitor_id: int | None = None
    booth_id: int | None = None
    session_id: int | None = None
    resource_id: int | None = None
    stage: str | None = None
    live: bool = False
    percent: float | None = None
    label: str = ""


@dataclass(frozen=True, slots=True)
class Contribution:
    """One reason in a score: the rule, its points now, plain words and the activities behind it."""

    rule: str
    points: float
    label: str
    activity_ids: tuple[int, ...] = ()
    dimension: Literal["fit", "engagement"] = "engagement"

    def to_json(self) -> dict[str, object]:
        return {
            "rule": self.rule,
            "points": self.points,
            "label": self.label,
            "activity_ids": list(self.activity_ids),
            "dimension": self.dimension,
        }


class Score(NamedTuple):
    fit: float
    grade: str  # A–D, or F for gated profiles
    engagement: float
    tier: int
    cell: str  # A1 … D4, or F
    buying_stage: str | None
    hand_raised: bool
    qualifies_mql: bool
    mql_by: str | None = None  # "cell" or "hand_raise"
    gate: str | None = None
    outside_territory: bool = False
    last_activity_at: dt.datetime | None = None
    contributions: tuple[Contribution, ...] = ()
