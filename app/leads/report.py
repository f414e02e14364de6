"""The sales feedback report: funnel, MQL acceptance by cell and score band, time to first
touch and rejection reasons, computed from the leads and their logged transitions.

Definitions, shown on the page too:

* A lead **reached** a stage of the funnel if it is there now, passed through it (a logged
  transition), or went beyond it: won counts for every stage, lost for up to opportunity,
  rejected for MQL; a lead with an MQL time reached MQL even if it was recycled since.
* An MQL was **accepted** when it reached SAL, **declined** when sales rejected or
  recycled it straight from MQL; the others are **waiting**. The acceptance rate is
  accepted / (accepted + declined), by the lead's current cell and engagement band.
* **First touch**: the first call, note or move by a person at or after the MQL time.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import Counter
from dataclasses import dataclass, field

from app.leads.lifecycle import RECYCLED
from app.leads.queries_pages import ReportData
from app.leads.vocab import GRADES, TIERS

FUNNEL = ("inquiry", "mql", "sal", "sql", "opportunity", "won")
FUNNEL_LABELS = {
    "inquiry": "Inquiry",
    "mql": "MQL",
    "sal": "SAL",
    "sql": "SQL",
    "opportunity": "Opportunity",
    "won": "Won",
}
_IMPLIES = {
    "inquiry": 0,
    "mql": 1,
    "sal": 2,
    "sql": 3,
    "opportunity": 4,
    "won": 5,
    "lost": 4,
    "rejected": 1,
}
BANDS = ((0, 20), (20, 40), (40, 60), (60, 80), (80, 101))
CELL_ORDER = [f"{g}{t}" for g in GRADES for t in TIERS] + ["F"]


def band_label(band: tuple[int, int]) -> str:
    low, high = band
    return f"{low}–{min(high - 1, 100)}"


@dataclass(frozen=True, slots=True)
class FunnelStep:
    stage: str
    label: str
    count: int
    from_previous: float | None  # share of the previous step that reached this one
    from_inquiry: float | None


@dataclass(slots=True)
class Acceptance:
    key: str
    accepted: int = 0
    declined: int = 0
    waiting: int = 0

    @property
    def decided(self) -> int:
        return self.accepted + self.declined

    @property
    def rate(self) -> float | None:
        return self.accepted / self.decided if self.decided else None


@dataclass(frozen=True, slots=True)
class ReasonCount:
    reason: str
    count: int
    share: float


@dataclass(slots=True)
class SalesReport:
    leads: int
    funnel: list[FunnelStep]
    by_cell: list[Acceptance]
    by_band: list[Acceptance]
    overall: Acceptance
    median_first_touch: dt.timedelta | None
    touched: int  # MQLs with a first touch
    untouched: int  # MQLs nobody has touched yet
    rejections: list[ReasonCount] = field(default_factory=list)


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _band(engagement: float) -> tuple[int, int]:
    for low, high in BANDS:
        if low <= engagement < high:
            return (low, high)
    return BANDS[-1] if engagement >= 100 else BANDS[0]


def build_report(data: ReportData) -> SalesReport:
    reached: dict[int, int] = {}
    to_stages: dict[int, set[str]] = {}
    declined: set[int] = set()
    first_touch: dict[int, dt.datetime] = {}
    mql_at = {lead.id: lead.mql_at for lead in data.leads}
    for lead in data.leads:
        rank = _IMPLIES.get(lead.stage, 0)
        if lead.mql_at is not None:
            rank = max(rank, 1)
        reached[lead.id] = rank
    rejections: Counter[str] = Counter()
    for move in data.moves:
        if move.lead_id not in reached:
            continue
        to_stages.setdefault(move.lead_id, set()).add(move.to_stage)
        reached[move.lead_id] = max(reached[move.lead_id], _IMPLIES.get(move.to_stage, 0))
        if move.from_stage == "mql" and (move.to_stage == "rejected" or move.reason == RECYCLED):
            declined.add(move.lead_id)
        if move.to_stage == "rejected":
            rejections[move.reason or "no reason given"] += 1
        since = mql_at.get(move.lead_id)
        if move.actor_id is not None and since is not None and move.at >= since:
            _earliest(first_touch, move.lead_id, move.at)
    for lead_id, times in data.touches.items():
        since = mql_at.get(lead_id)
        if since is None:
            continue
        for at in times:
            if at >= since:
                _earliest(first_touch, lead_id, at)

    counts = [sum(1 for r in reached.values() if r >= k) for k in range(len(FUNNEL))]
    funnel = [
        FunnelStep(
            stage,
            FUNNEL_LABELS[stage],
            counts[k],
            _rate(counts[k], counts[k - 1]) if k else None,
            _rate(counts[k], counts[0]) if k else None,
        )
        for k, stage in enumerate(FUNNEL)
    ]

    cells: dict[str, Acceptance] = {}
    bands: dict[tuple[int, int], Acceptance] = {b: Acceptance(band_label(b)) for b in BANDS}
    overall = Acceptance("all")
    for lead in data.leads:
        if reached[lead.id] < 1:
            continue
        cell = cells.setdefault(lead.cell, Acceptance(lead.cell))
        for acc in (cell, bands[_band(lead.engagement)], overall):
            if reached[lead.id] >= 2:
                acc.accepted += 1
            elif lead.id in declined:
                acc.declined += 1
            else:
                acc.waiting += 1

    delays = [
        (first_touch[lead.id] - lead.mql_at).total_seconds()
        for lead in data.leads
        if lead.mql_at is not None and lead.id in first_touch
    ]
    mqls = sum(1 for lead in data.leads if lead.mql_at is not None)
    total_rejected = sum(rejections.values())
    return SalesReport(
        leads=len(data.leads),
        funnel=funnel,
        by_cell=sorted(
            cells.values(),
            key=lambda a: CELL_ORDER.index(a.key) if a.key in CELL_ORDER else len(CELL_ORDER),
        ),
        by_band=[
            bands[b] for b in BANDS if bands[b].accepted + bands[b].declined + bands[b].waiting
        ],
        overall=overall,
        median_first_touch=(dt.timedelta(seconds=statistics.median(delays)) if delays else None),
        touched=len(delays),
        untouched=mqls - len(delays),
        rejections=[
            ReasonCount(reason, n, n / total_rejected)
            for reason, n in sorted(rejections.items(), key=lambda kv: (-kv[1], kv[0]))
        ],
    )


def _earliest(into: dict[int, dt.datetime], lead_id: int, at: dt.datetime) -> None:
    if lead_id not in into or at < into[lead_id]:
        into[lead_id] = at


def duration(value: dt.timedelta | None) -> str:
    """'3 h 20 min', '2 d 4 h', '45 min', '30 s': how long, in plain words."""
    if value is None:
        return "–"
    seconds = int(value.total_seconds())
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"
