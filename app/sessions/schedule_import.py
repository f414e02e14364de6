"""Import the schedule from CSV: every row checked first, a per-row error report, and
nothing written unless every row is valid (a half-imported agenda helps no one).

Columns (header row required): title, starts_at, ends_at (local times in the event's
timezone, `YYYY-MM-DD HH:MM`), and optionally track, speakers (`;`-separated names, created
when new), abstract, stream_url, recording_url, sponsor (the exhibitor's slug).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor
from app.events.models import Event
from app.sessions.models import ProgramSession, Speaker, session_speakers

REQUIRED = ("title", "starts_at", "ends_at")
OPTIONAL = ("track", "speakers", "abstract", "stream_url", "recording_url", "sponsor")
MAX_ROWS = 1000


@dataclass(slots=True)
class Row:
    line: int
    title: str
    starts_at: dt.datetime
    ends_at: dt.datetime
    track: str
    speakers: list[str]
    abstract: str
    stream_url: str
    recording_url: str
    sponsor_id: int | None


@dataclass(slots=True)
class Report:
    rows: list[Row] = field(default_factory=list)
    errors: list[tuple[int, str]] = field(default_factory=list)  # (line, message)
    imported: int = 0


def _time(value: str, tz: ZoneInfo) -> dt.datetime:
    return dt.datetime.strptime(value.strip(), "%Y-%m-%d %H:%M").replace(tzinfo=tz)


def _url(value: str) -> bool:
    return not value or urlsplit(value).scheme == "https"


def parse(text: str, tz: ZoneInfo, sponsors: dict[str, int]) -> Report:
    """Check every row; pure, so each error message is testable."""
    report = Report()
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        report.errors.append((1, f"Missing column(s): {', '.join(missing)}."))
        return report
    reader.fieldnames = header
    for line, raw in enumerate(reader, start=2):
        if line - 1 > MAX_ROWS:
            report.errors.append((line, f"At most {MAX_ROWS} sessions per file."))
            break
        values = {k: (v or "").strip() for k, v in raw.items() if k is not None}
        problems: list[str] = []
        title = values.get("title", "")
        if not title or len(title) > 200:
            problems.append("title is required (at most 200 characters)")
        try:
            starts_at = _time(values.get("starts_at", ""), tz)
            ends_at = _time(values.get("ends_at", ""), tz)
        except ValueError:
            problems.append("starts_at and ends_at must read YYYY-MM-DD HH:MM")
            starts_at = ends_at = dt.datetime.min.replace(tzinfo=dt.UTC)
        else:
            if ends_at <= starts_at:
                problems.append("ends_at must be after starts_at")
        for column in ("stream_url", "recording_url"):
            if not _url(values.get(column, "")):
                problems.append(f"{column} must be an https URL")
        sponsor = values.get("sponsor", "")
        if sponsor and sponsor not in sponsors:
            problems.append(f"no exhibitor with the slug {sponsor!r}")
        if problems:
            report.errors.append((line, "; ".join(problems) + "."))
            continue
        report.rows.append(
            Row(
                line=line,
                title=title,
                starts_at=starts_at.astimezone(dt.UTC),
                ends_at=ends_at.astimezone(dt.UTC),
                track=values.get("track", "")[:80],
                speakers=[
                    n.strip()[:200] for n in values.get("speakers", "").split(";") if n.strip()
                ],
                abstract=values.get("abstract", ""),
                stream_url=values.get("stream_url", ""),
                recording_url=values.get("recording_url", ""),
                sponsor_id=sponsors.get(sponsor) if sponsor else None,
            )
        )
    return report


async def import_schedule(db: AsyncSession, *, event: Event, text: str) -> Report:
    """Parse, then (only when every row is valid) create the sessions and new speakers."""
    slugs = await db.execute(
        select(Exhibitor.slug, Exhibitor.id).where(Exhibitor.event_id == event.id)
    )
    report = parse(text, ZoneInfo(event.timezone), {slug: id_ for slug, id_ in slugs.all()})
    if report.errors or not report.rows:
        if not report.errors:
            report.errors.append((1, "The file has no sessions."))
        return report
    known = {
        s.name: s
        for s in (await db.execute(select(Speaker).where(Speaker.event_id == event.id))).scalars()
    }
    for row in report.rows:
        session = ProgramSession(
            event_id=event.id,
            title=row.title,
            abstract=row.abstract,
            track=row.track,
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            stream_url=row.stream_url,
            recording_url=row.recording_url,
            sponsor_exhibitor_id=row.sponsor_id,
        )
        db.add(session)
        await db.flush()
        for name in dict.fromkeys(row.speakers):
            if name not in known:
                known[name] = Speaker(event_id=event.id, name=name)
                db.add(known[name])
                await db.flush()
            await db.execute(
                session_speakers.insert().values(session_id=session.id, speaker_id=known[name].id)
            )
    report.imported = len(report.rows)
    return report
