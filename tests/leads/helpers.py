"""Builders for pure scoring tests: profiles and activities without a database."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from app.leads.facts import ActivityFact, Profile

NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
_ids = itertools.count(1)


def profile(**values: Any) -> Profile:
    values.setdefault("job_level", "director")
    values.setdefault("company_type", "end_user")
    values.setdefault("company_size", "201-1000")
    values.setdefault("budget", "approved")
    values.setdefault("timeframe", "3_6m")
    values.setdefault("country", "GB")
    values.setdefault("email", "ada@example.com")
    return Profile(**values)


def act(type_: str, *, days_ago: float = 0, minutes: float = 0, **values: Any) -> ActivityFact:
    values.setdefault("booth_id", 1)
    values.setdefault("exhibitor_id", 1)
    at = NOW - dt.timedelta(days=days_ago) + dt.timedelta(minutes=minutes)
    return ActivityFact(id=values.pop("id", next(_ids)), type=type_, at=at, **values)
