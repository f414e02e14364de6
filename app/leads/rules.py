"""The scoring ruleset (DESIGN.md defaults) and per-exhibitor overrides, strictly validated."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.events.vocab import BUDGETS, COMPANY_SIZES, COMPANY_TYPES, JOB_LEVELS, TIMEFRAMES
from app.leads.vocab import ACTIVITY_TYPES, BUYING_STAGES, CELLS

Grade = Literal["A", "B", "C", "D"]
OncePer = Literal["booth_day", "booth", "resource", "session"]
NonNegative = Field(ge=0)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _known(values: Iterable[str], vocab: Mapping[str, str], what: str) -> None:
    unknown = sorted(set(values) - set(vocab))
    if unknown:
        raise ValueError(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(vocab)})")


class GradeThresholds(_Strict):
    A: float = Field(default=75, ge=0, le=100)
    B: float = Field(default=50, ge=0, le=100)
    C: float = Field(default=25, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.A > self.B > self.C:
            raise ValueError("grade thresholds must be ordered A > B > C")
        return self


class TierThresholds(_Strict):
    t1: float = Field(default=60, ge=0, le=100)
    t2: float = Field(default=40, ge=0, le=100)
    t3: float = Field(default=20, ge=0, le=100)

    @model_validator(mode="after")
    def _ordered(self) -> Self:
        if not self.t1 > self.t2 > self.t3:
            raise ValueError("tier thresholds must be ordered t1 > t2 > t3")
        return self


class FitRules(_Strict):
    job_level: dict[str, float] = Field(
        default_factory=lambda: {
            "c_level": 30.0,
            "vp": 30.0,
            "director": 25.0,
            "manager": 15.0,
            "individual": 5.0,
        }
    )
    company_type: dict[str, float] = Field(
        default_factory=lambda: {"end_user": 25.0, "partner": 10.0}
    )
    size_ideal: float = Field(default=20, ge=0, le=100)
    size_adjacent: float = Field(default=10, ge=0, le=100)
    budget: dict[str, float] = Field(default_factory=lambda: {"approved": 15.0, "pending": 8.0})
    timeframe: dict[str, float] = Field(
        default_factory=lambda: {"lt_3m": 10.0, "3_6m": 7.0, "6_12m": 3.0}
    )
    grades: GradeThresholds = Field(default_factory=GradeThresholds)
    gate_job_levels: list[str] = Field(default_factory=lambda: ["student"])
    gate_company_types: list[str] = Field(default_factory=lambda: ["competitor"])
    competitor_domains: list[str] = Field(default_factory=list)
    outside_territory_max_grade: Grade = "C"

    @field_validator("job_level", "company_type", "budget", "timeframe")
    @classmethod
    def _points_in_range(cls, value: dict[str, float]) -> dict[str, float]:
        for key, points in value.items():
            if not 0 <= points <= 100:
                raise ValueError(f"points for {key!r} must be between 0 and 100")
        return value

    @model_validator(mode="after")
    def _known_values(self) -> Self:
        _known(self.job_level, JOB_LEVELS, "job level")
        _known(self.company_type, COMPANY_TYPES, "company type")
        _known(self.budget, BUDGETS, "budget")
        _known(self.timeframe, TIMEFRAMES, "timeframe")
        _known(self.gate_job_levels, JOB_LEVELS, "job level")
        _known(self.gate_company_types, COMPANY_TYPES, "company type")
        return self

    @field_validator("competitor_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return sorted({d.strip().lower().lstrip("@") for d in value if d.strip()})


class EngagementRule(_Strict):
    """Points for one kind of activity; see app/leads/scoring.py for how caps combine."""

    type: str
    points: float = Field(ge=-100, le=100)
    group: str
    label: str = Field(min_length=1, max_length=120)
    per_minute: bool = False  # points per whole minute of `value` seconds
    min_value: float | None = Field(default=None, ge=0)
    min_percent: float | None = Field(default=None, ge=0, le=100)
    live: bool | None = None  # None: live and on demand alike
    once_per: OncePer | None = None
    cap: int | None = Field(default=None, ge=0)  # the earliest `cap` occurrences count
    day_cap: float | None = Field(default=None, ge=0)  # points per booth per day

    @field_validator("type")
    @classmethod
    def _known_type(cls, value: str) -> str:
        if value not in ACTIVITY_TYPES:
            raise ValueError(f"unknown activity type {value!r}")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> Self:
        if self.day_cap is not None and (self.cap is not None or self.once_per is not None):
            raise ValueError("day_cap cannot be combined with cap or once_per")
        if self.day_cap is not None and self.points < 0:
            raise ValueError("day_cap needs positive points")
        if self.points != 0 and self.cap is None and self.once_per is None and self.day_cap is None:
            raise ValueError("a rule with points needs a cap, a day_cap or once_per")
        return self


def _rule(type_: str, points: float, group: str, label: str, **kw: object) -> EngagementRule:
    return EngagementRule.model_validate(
        {"type": type_, "points": points, "group": group, "label": label, **kw}
    )


def default_engagement() -> dict[str, EngagementRule]:
    return {
        "visit": _rule("booth.visit", 2, "booth", "visited {title}", once_per="booth_day"),
        "dwell": _rule(
            "booth.dwell", 1, "booth", "spent time at {title}", per_minute=True, day_cap=6
        ),
        "download": _rule(
            "resource.download", 5, "booth", "downloaded '{title}'", once_per="resource", cap=3
        ),
        "video": _rule(
            "video.progress", 5, "booth", "watched '{title}'", min_value=50, once_per="resource"
        ),
        "live_join": _rule(
            "session.join", 5, "sessions", "attended '{title}' live", live=True, once_per="session"
        ),
        "live_watch": _rule(
            "session.watch",
            5,
            "sessions",
            "watched most of '{title}' live",
            live=True,
            min_percent=50,
            once_per="session",
        ),
        "on_demand": _rule(
            "session.join",
            3,
            "sessions",
            "watched '{title}' on demand",
            live=False,
            once_per="session",
        ),
        "poll": _rule("poll.answer", 1, "sessions", "answered a poll", cap=5),
        "question": _rule("question.ask", 4, "sessions", "asked a question", cap=3),
        "chat": _rule(
            "chat.message", 3, "conversation", "chatted with {title}", once_per="booth_day", cap=3
        ),
        "info_request": _rule(
            "info.request", 15, "conversation", "requested more information", once_per="booth"
        ),
        "meeting_request": _rule(
            "meeting.request", 15, "conversation", "requested a meeting", once_per="booth"
        ),
        "email_click": _rule("email.click", 3, "email", "clicked an email link", cap=3),
        "email_open": _rule("email.open", 0, "email", "opened an email"),
        "unsubscribe": _rule("unsubscribe", -20, "email", "unsubscribed", cap=1),
    }


class Ruleset(_Strict):
    """Everything that turns a profile and its activities into a score; saved as a version."""

    fit: FitRules = Field(default_factory=FitRules)
    engagement: dict[str, EngagementRule] = Field(default_factory=default_engagement)
    groups: dict[str, float] = Field(
        default_factory=lambda: {
            "booth": 35.0,
            "sessions": 30.0,
            "conversation": 25.0,
            "email": 10.0,
        }
    )
    half_life_days: float = Field(default=14, gt=0, le=3650)
    tiers: TierThresholds = Field(default_factory=TierThresholds)
    mql_cells: list[str] = Field(default_factory=lambda: ["A1", "A2", "B1", "B2"])
    hand_raise_types: list[str] = Field(default_factory=lambda: ["meeting.request", "info.request"])
    hand_raise_min_grade: Grade = "C"
    stage_signals: dict[str, str] = Field(default_factory=lambda: {"meeting.request": "decision"})

    def rules_for(self, activity_type: str) -> list[tuple[str, EngagementRule]]:
        """The (rule id, rule) pairs that may match an activity type, in rule order."""
        # Cached in the instance dict (fields are immutable); plain lookups keep this hot
        # path fast, and pydantic compares and dumps only fields.
        by_type: dict[str, list[tuple[str, EngagementRule]]] | None = self.__dict__.get(
            "_rules_by_type"
        )
        if by_type is None:
            by_type = {}
            for rule_id, rule in self.engagement.items():
                by_type.setdefault(rule.type, []).append((rule_id, rule))
            self.__dict__["_rules_by_type"] = by_type
        return by_type.get(activity_type, [])

    @field_validator("engagement")
    @classmethod
    def _rule_ids(cls, value: dict[str, EngagementRule]) -> dict[str, EngagementRule]:
        for rule_id in value:
            if not rule_id.replace("_", "").isalnum() or len(rule_id) > 40:
                raise ValueError(f"rule id {rule_id!r} must be letters, digits and underscores")
        return value

    @field_validator("groups")
    @classmethod
    def _caps(cls, value: dict[str, float]) -> dict[str, float]:
        for name, cap in value.items():
            if not 0 <= cap <= 100:
                raise ValueError(f"cap of group {name!r} must be between 0 and 100")
        return value

    @field_validator("mql_cells")
    @classmethod
    def _cells(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - CELLS)
        if unknown:
            raise ValueError(f"unknown cells: {', '.join(unknown)} (A1 … D4)")
        return value

    @field_validator("hand_raise_types")
    @classmethod
    def _types(cls, value: list[str]) -> list[str]:
        _known(value, ACTIVITY_TYPES, "activity type")
        return value

    @field_validator("stage_signals")
    @classmethod
    def _signals(cls, value: dict[str, str]) -> dict[str, str]:
        _known(value, ACTIVITY_TYPES, "activity type")
        for stage in value.values():
            if stage not in BUYING_STAGES:
                raise ValueError(f"unknown buying stage {stage!r}")
        return value

    @model_validator(mode="after")
    def _groups_exist(self) -> Self:
        for rule_id, rule in self.engagement.items():
            if rule.group not in self.groups:
                raise ValueError(f"rule {rule_id!r} names unknown group {rule.group!r}")
        return self


class ExhibitorOverride(_Strict):
    """What one exhibitor changes for its own leads; None keeps the booth's own settings."""

    territory: list[str] | None = None  # ISO 3166-1 alpha-2; empty = worldwide
    ideal_company_sizes: list[str] | None = None  # empty = every size is ideal
    competitor_domains: list[str] = Field(default_factory=list)
    resource_points: dict[int, float] = Field(default_factory=dict)  # extra points per resource

    @field_validator("territory")
    @classmethod
    def _countries(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        from app.events.vocab import countries

        codes = [c.upper() for c in value]
        _known(codes, countries(), "country")
        return codes

    @field_validator("ideal_company_sizes")
    @classmethod
    def _sizes(cls, value: list[str] | None) -> list[str] | None:
        if value is not None:
            _known(value, COMPANY_SIZES, "company size")
        return value

    @field_validator("competitor_domains")
    @classmethod
    def _domains(cls, value: list[str]) -> list[str]:
        return sorted({d.strip().lower().lstrip("@") for d in value if d.strip()})

    @field_validator("resource_points")
    @classmethod
    def _extra(cls, value: dict[int, float]) -> dict[int, float]:
        for resource_id, points in value.items():
            if not 0 <= points <= 50:
                raise ValueError(f"extra points for resource {resource_id} must be 0 to 50")
        return value


Overrides = dict[int, ExhibitorOverride]
