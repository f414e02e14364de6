"""Load (or reset) the demo event in one transaction and describe how to log in to it."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import delete, exists, func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from app.auth.models import Account
from app.auth.security import hash_password
from app.booths.models import Booth, Exhibitor, Resource, ResourceKind
from app.config import Settings
from app.db import make_engine, make_sessionmaker, utcnow
from app.demo.attendees import AttendeeProfile, attendee_profiles
from app.demo.exhibitors import EXHIBITORS, ExhibitorSpec, ResourceSpec
from app.demo.logins import DEMO_PASSWORD, LOGINS, add_logins, summary
from app.demo.pdf import tiny_pdf
from app.demo.program import SESSIONS, SPEAKERS, SessionSpec
from app.events.models import Event, EventStatus, Registration, Role, RoleName
from app.sessions.models import ProgramSession, Speaker, session_speakers

DEMO_SLUG = "ai-expo"
DEMO_TIMEZONE = "Europe/Berlin"
ATTENDEE_COUNT = 300


@dataclass(frozen=True, slots=True)
class DemoAttendee:
    """A generated attendee, for simulations that give each persona its behaviour."""

    account_id: int
    registration_id: int
    profile: AttendeeProfile


async def load_demo(
    settings: Settings, *, reset: bool, if_empty: bool, activity: bool = True
) -> str:
    """Create the demo event (or reset it) and return the summary the CLI prints.

    With `activity`, the attendees also behave (visits, downloads, sessions, hand-raises),
    recorded through the lead engine, so the lead lists tell a story from the first look.
    """
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as db, db.begin():
            if reset:
                await _delete_demo(db, settings)
            demo = await _demo_event(db)
            if demo is not None:
                return summary(settings, demo, "The demo event is already loaded.")
            if if_empty and not reset and await db.scalar(select(func.count()).select_from(Event)):
                return summary(
                    settings, None, "The database already has events; the demo was not loaded."
                )
            event = await _create_demo(db, settings, now=utcnow(), activity=activity)
            return summary(settings, event, "Loaded the demo event.")
    finally:
        await engine.dispose()


async def _demo_event(db: AsyncSession) -> Event | None:
    return (await db.execute(select(Event).where(Event.slug == DEMO_SLUG))).scalar_one_or_none()


async def _delete_demo(db: AsyncSession, settings: Settings) -> None:
    """Delete the demo event (its rows cascade), its accounts and its uploaded files."""
    demo = await _demo_event(db)
    generated: list[int] = []
    if demo is not None:
        # Generated attendees have .example addresses; keep any that joined another event.
        other = aliased(Role)
        elsewhere = exists().where(other.account_id == Account.id, other.event_id != demo.id)
        generated = list(
            await db.scalars(
                select(Account.id)
                .join(Role, Role.account_id == Account.id)
                .where(Role.event_id == demo.id, Account.email.like("%.example"), ~elsewhere)
            )
        )
        await db.execute(delete(Event).where(Event.id == demo.id))
    fixed = [login.email for login in LOGINS]
    await db.execute(delete(Account).where(Account.email.in_(fixed) | Account.id.in_(generated)))
    await asyncio.to_thread(shutil.rmtree, _upload_root(settings), ignore_errors=True)


def _upload_root(settings: Settings) -> Path:
    return settings.uploads_dir / _UPLOAD_PREFIX


_UPLOAD_PREFIX = Path("demo") / DEMO_SLUG


def _schedule_anchor(now: dt.datetime) -> dt.datetime:
    """Now, rounded down to the quarter hour: day 1's sessions are placed around it."""
    return now.replace(minute=now.minute - now.minute % 15, second=0, microsecond=0)


def session_times(spec: SessionSpec, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """When a session runs if the demo is loaded at `now` (UTC)."""
    if spec.day == 1:
        start = _schedule_anchor(now) + dt.timedelta(minutes=spec.offset)
    else:
        assert spec.local is not None  # noqa: S101 - day 2 sessions name their wall time
        tz = ZoneInfo(DEMO_TIMEZONE)
        day = now.astimezone(tz).date() + dt.timedelta(days=spec.day - 1)
        start = dt.datetime.combine(day, spec.local, tzinfo=tz).astimezone(dt.UTC)
    return start, start + dt.timedelta(minutes=spec.minutes)


async def _create_demo(
    db: AsyncSession, settings: Settings, *, now: dt.datetime, activity: bool = True
) -> Event:
    tz = ZoneInfo(DEMO_TIMEZONE)
    today = now.astimezone(tz).date()
    times = [session_times(spec, now) for spec in SESSIONS]
    morning = dt.datetime.combine(today, dt.time(8, 30), tzinfo=tz).astimezone(dt.UTC)
    evening = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(18), tzinfo=tz)
    event = Event(
        slug=DEMO_SLUG,
        name=f"Industrial AI Expo {today.year}",
        tagline="Two days of predictive maintenance, computer vision and edge AI in production.",
        description=EVENT_DESCRIPTION,
        starts_at=min(morning, min(start for start, _ in times) - dt.timedelta(minutes=30)),
        ends_at=max(evening.astimezone(dt.UTC), max(end for _, end in times)),
        timezone=DEMO_TIMEZONE,
        status=EventStatus.live,
        created_at=now - dt.timedelta(days=60),
    )
    db.add(event)
    await db.flush()

    exhibitors = await _add_exhibitors(db, settings, event)
    await _add_program(db, event, exhibitors, now=now)
    password_hash = hash_password(DEMO_PASSWORD)  # once: argon2 is slow by design
    await add_logins(db, event, exhibitors, password_hash=password_hash, now=now)
    await _add_attendees(db, event, password_hash=password_hash, now=now)
    if activity:
        from app.demo.activity import add_behaviour

        await add_behaviour(db, event=event, now=now)
    return event


EVENT_DESCRIPTION = """\
The trade show for people who run AI in factories, plants and fleets, not in slide decks.

Fifteen exhibitors, from predictive maintenance to OT security, with demos, datasheets and \
pricing. Three tracks: the main stage, technical deep dives and the partner theatre, with live \
Q&A and recordings on demand after each session.

Visit the booths, ask the staff anything in the booth chat, and book a meeting with the \
vendors on your shortlist.
"""


async def _add_exhibitors(
    db: AsyncSession, settings: Settings, event: Event
) -> dict[str, Exhibitor]:
    exhibitors = {
        spec.slug: Exhibitor(
            event_id=event.id,
            slug=spec.slug,
            name=spec.name,
            website=spec.website,
            competitor_domains=spec.competitor_domains,
        )
        for spec in EXHIBITORS
    }
    db.add_all(exhibitors.values())
    await db.flush()
    booths = {spec.slug: _booth(spec, event, exhibitors[spec.slug]) for spec in EXHIBITORS}
    db.add_all(booths.values())
    await db.flush()
    files: dict[Path, bytes] = {}
    for spec in EXHIBITORS:
        for resource in spec.resources:
            db.add(_resource(spec, resource, booths[spec.slug], files))
    await db.flush()
    await asyncio.to_thread(_write_files, settings.uploads_dir, files)
    return exhibitors


def _booth(spec: ExhibitorSpec, event: Event, exhibitor: Exhibitor) -> Booth:
    return Booth(
        event_id=event.id,
        exhibitor_id=exhibitor.id,
        tagline=spec.tagline,
        description=spec.description,
        tier=spec.tier,
        tags=spec.tags,
        territory=spec.territory,
        ideal_sizes=spec.ideal_sizes,
        video_url=spec.video_url,
        accent_color=spec.accent,
    )


def _resource(
    spec: ExhibitorSpec, resource: ResourceSpec, booth: Booth, files: dict[Path, bytes]
) -> Resource:
    row = Resource(
        booth_id=booth.id,
        kind=resource.kind,
        title=resource.title,
        description=resource.description,
        stage=resource.stage,
        url=resource.url,
    )
    if resource.kind is ResourceKind.document:
        content = tiny_pdf(
            resource.title, spec.name, [spec.tagline, resource.description, spec.website]
        )
        path = _UPLOAD_PREFIX / spec.slug / f"{_slugify(resource.title)}.pdf"
        files[path] = content
        row.file_path = path.as_posix()
        row.content_type = "application/pdf"
        row.size_bytes = len(content)
    return row


def _write_files(root: Path, files: dict[Path, bytes]) -> None:
    for relative, content in files.items():
        target = root / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)


def _slugify(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


async def _add_program(
    db: AsyncSession, event: Event, exhibitors: dict[str, Exhibitor], *, now: dt.datetime
) -> None:
    speakers = {
        spec.key: Speaker(
            event_id=event.id, name=spec.name, title=spec.title, company=spec.company, bio=spec.bio
        )
        for spec in SPEAKERS
    }
    db.add_all(speakers.values())
    sessions: list[ProgramSession] = []
    for n, spec in enumerate(SESSIONS, start=1):
        starts_at, ends_at = session_times(spec, now)
        sessions.append(
            ProgramSession(
                event_id=event.id,
                title=spec.title,
                abstract=spec.abstract,
                track=spec.track,
                starts_at=starts_at,
                ends_at=ends_at,
                stream_url=f"https://stream.example.com/{DEMO_SLUG}/session-{n}/live",
                recording_url=f"https://video.example.com/{DEMO_SLUG}/session-{n}",
                sponsor_exhibitor_id=exhibitors[spec.sponsor].id if spec.sponsor else None,
            )
        )
    db.add_all(sessions)
    await db.flush()
    links = [
        {"session_id": session.id, "speaker_id": speakers[key].id}
        for session, spec in zip(sessions, SESSIONS, strict=True)
        for key in spec.speakers
    ]
    await db.execute(insert(session_speakers), links)


async def _add_attendees(
    db: AsyncSession,
    event: Event,
    *,
    password_hash: str,
    now: dt.datetime,
    count: int = ATTENDEE_COUNT,
) -> list[DemoAttendee]:
    """Register `count` generated attendees (accounts, roles, registrations); no activity yet.

    The hook for simulations: the returned attendees carry their persona (buyer, evaluator,
    researcher, partner, analyst, competitor, student, drive-by), so a later step can record
    booth visits, downloads and session attendance that fit each one.
    """
    profiles = attendee_profiles(count)
    rng = random.Random(count)  # noqa: S311 - demo data, not security
    registered = [now - dt.timedelta(minutes=rng.randint(30, 60 * 24 * 28)) for _ in profiles]
    emails = [p.email for p in profiles]
    # Plain executemany inserts, then one SELECT for the ids: RETURNING row by row is slow.
    known = await _account_ids(db, emails)
    new = [(p, at) for p, at in zip(profiles, registered, strict=True) if p.email not in known]
    if new:
        await db.execute(
            insert(Account),
            [
                {
                    "email": p.email,
                    "display_name": f"{p.first_name} {p.last_name}",
                    "password_hash": password_hash,
                    "created_at": at,
                }
                for p, at in new
            ],
        )
        known = await _account_ids(db, emails)
    account_ids = [known[p.email] for p in profiles]
    await db.execute(
        insert(Role),
        [
            {"event_id": event.id, "account_id": account_id, "role": RoleName.attendee}
            for account_id in account_ids
        ],
    )
    await db.execute(
        insert(Registration),
        [
            _registration_row(event, account_id, profile, at)
            for account_id, profile, at in zip(account_ids, profiles, registered, strict=True)
        ],
    )
    rows = await db.execute(
        select(Registration.email, Registration.id).where(Registration.event_id == event.id)
    )
    registration_ids = {email: registration_id for email, registration_id in rows}
    return [
        DemoAttendee(account_id, registration_ids[profile.email], profile)
        for account_id, profile in zip(account_ids, profiles, strict=True)
    ]


async def _account_ids(db: AsyncSession, emails: list[str]) -> dict[str | None, int]:
    rows = await db.execute(select(Account.email, Account.id).where(Account.email.in_(emails)))
    return {email: account_id for email, account_id in rows}


def _registration_row(
    event: Event, account_id: int, p: AttendeeProfile, at: dt.datetime
) -> dict[str, object]:
    return {
        "event_id": event.id,
        "account_id": account_id,
        "email": p.email,
        "first_name": p.first_name,
        "last_name": p.last_name,
        "company": p.company,
        "job_title": p.job_title,
        "phone": p.phone,
        "job_level": p.job_level,
        "company_type": p.company_type,
        "company_size": p.company_size,
        "industry": p.industry,
        "country": p.country,
        "budget": p.budget,
        "timeframe": p.timeframe,
        "interests": p.interests,
        "consent_share_at": at if p.consent_share else None,
        "consent_marketing_at": at if p.consent_marketing else None,
        "created_at": at,
        "updated_at": at,
    }
