"""A booth's visitor analytics from the activity log: totals, downloads, hours, visitors.

Identities appear only for attendees who share them with this exhibitor; everyone else is
counted in the figures and in `anonymous`, never named.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from app.booths import booth_repository as repo

HAND_RAISES = ("info.request", "meeting.request")


@dataclass(frozen=True, slots=True)
class Hour:
    starts_at: dt.datetime  # UTC
    visits: int
    visitors: int
    downloads: int
    chats: int
    hand_raises: int


@dataclass(frozen=True, slots=True)
class Download:
    title: str
    stage: str | None
    count: int
    people: int


@dataclass(frozen=True, slots=True)
class Visitor:
    name: str
    company: str
    job_title: str
    actions: int
    last_at: dt.datetime


@dataclass(slots=True)
class BoothAnalytics:
    visits: int = 0
    unique_visitors: int = 0
    dwell_seconds: float = 0.0
    dwell_visitors: int = 0
    downloads: int = 0
    chats: int = 0
    info_requests: int = 0
    meeting_requests: int = 0
    by_hour: list[Hour] = field(default_factory=list)
    by_resource: list[Download] = field(default_factory=list)
    visitors: list[Visitor] = field(default_factory=list)
    anonymous: int = 0

    @property
    def hand_raises(self) -> int:
        return self.info_requests + self.meeting_requests

    @property
    def average_dwell_minutes(self) -> float:
        return self.dwell_seconds / self.dwell_visitors / 60 if self.dwell_visitors else 0.0


def _utc_hour(text: str) -> dt.datetime:
    return dt.datetime.strptime(text, "%Y-%m-%d %H:00").replace(tzinfo=dt.UTC)


async def booth_analytics(db: AsyncSession, exhibitor_id: int) -> BoothAnalytics:
    result = BoothAnalytics()
    for row in await repo.activity_totals(db, exhibitor_id):
        if row.type == "booth.visit":
            result.visits, result.unique_visitors = row.n, row.people
        elif row.type == "booth.dwell":
            result.dwell_seconds, result.dwell_visitors = float(row.total), row.people
        elif row.type == "resource.download":
            result.downloads = row.n
        elif row.type == "chat.message":
            result.chats = row.n
        elif row.type == "info.request":
            result.info_requests = row.n
        elif row.type == "meeting.request":
            result.meeting_requests = row.n
    hours: dict[str, dict[str, int]] = {}
    for row in await repo.activity_by_hour(db, exhibitor_id):
        bucket = hours.setdefault(row.hour, {})
        bucket[row.type] = row.n
        if row.type == "booth.visit":
            bucket["visitors"] = row.people
    result.by_hour = [
        Hour(
            starts_at=_utc_hour(hour),
            visits=counts.get("booth.visit", 0),
            visitors=counts.get("visitors", 0),
            downloads=counts.get("resource.download", 0),
            chats=counts.get("chat.message", 0),
            hand_raises=sum(counts.get(t, 0) for t in HAND_RAISES),
        )
        for hour, counts in sorted(hours.items())
    ]
    result.by_resource = [
        Download(title=row.label, stage=row.stage, count=row.n, people=row.people)
        for row in await repo.downloads_by_resource(db, exhibitor_id)
    ]
    for row in await repo.identified_visitors(db, exhibitor_id):
        reg = row[0]
        result.visitors.append(
            Visitor(
                name=reg.full_name or "Attendee",
                company=reg.company or "",
                job_title=reg.job_title or "",
                actions=row.n,
                last_at=row.last_at,
            )
        )
    result.anonymous = (await repo.visitor_counts(db, exhibitor_id)).get(False, 0)
    return result


def local_hour(value: dt.datetime, timezone: str) -> str:
    return value.astimezone(ZoneInfo(timezone)).strftime("%a %d %b, %H:00")
