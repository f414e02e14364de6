"""The organizers' session form: values to show, checks per field, and saving."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from app.booths.models import Exhibitor
from app.events.models import Event
from app.sessions.models import ProgramSession, Speaker, session_speakers
from app.sessions.repository import speakers_of

FIELDS = (
    "title",
    "abstract",
    "track",
    "starts_at",
    "ends_at",
    "speakers",
    "stream_url",
    "recording_url",
    "sponsor",
)
LOCAL = "%Y-%m-%dT%H:%M"  # <input type="datetime-local">


async def values_of(db: AsyncSession, event: Event, session: ProgramSession) -> dict[str, str]:
    tz = ZoneInfo(event.timezone)
    names = [s.name for s in (await speakers_of(db, [session.id])).get(session.id, [])]
    sponsor = (
        await db.get(Exhibitor, session.sponsor_exhibitor_id)
        if session.sponsor_exhibitor_id
        else None
    )
    return {
        "title": session.title,
        "abstract": session.abstract,
        "track": session.track,
        "starts_at": session.starts_at.astimezone(tz).strftime(LOCAL),
        "ends_at": session.ends_at.astimezone(tz).strftime(LOCAL),
        "speakers": "; ".join(names),
        "stream_url": session.stream_url,
        "recording_url": session.recording_url,
        "sponsor": sponsor.slug if sponsor else "",
    }


async def sponsors_of(db: AsyncSession, event: Event) -> dict[str, str]:
    """Exhibitor slug -> name, for the sponsor select."""
    rows = await db.execute(
        select(Exhibitor.slug, Exhibitor.name)
        .where(Exhibitor.event_id == event.id)
        .order_by(Exhibitor.name)
    )
    return {slug: name for slug, name in rows.all()}


def check(form: dict[str, str], tz: ZoneInfo, sponsors: dict[str, str]) -> dict[str, str]:
    """Field name -> what is wrong with it (empty when the form is valid)."""
    errors: dict[str, str] = {}
    if not 1 <= len(form["title"]) <= 200:
        errors["title"] = "Give the session a title (at most 200 characters)."
    times: dict[str, dt.datetime] = {}
    for name in ("starts_at", "ends_at"):
        try:
            times[name] = dt.datetime.strptime(form[name], LOCAL).replace(tzinfo=tz)
        except ValueError:
            errors[name] = "Enter a date and time."
    if len(times) == 2 and times["ends_at"] <= times["starts_at"]:
        errors["ends_at"] = "The end must be after the start."
    for name in ("stream_url", "recording_url"):
        if form[name] and not form[name].startswith("https://"):
            errors[name] = "Only https:// addresses can be embedded."
    if form["sponsor"] and form["sponsor"] not in sponsors:
        errors["sponsor"] = "Choose an exhibitor of this event."
    if len(form["track"]) > 80:
        errors["track"] = "At most 80 characters."
    return errors


async def save(
    db: AsyncSession, *, event: Event, form: dict[str, str], session: ProgramSession | None
) -> ProgramSession:
    """Create or update from a checked form; speakers are matched by name, created if new."""
    tz = ZoneInfo(event.timezone)
    sponsor_id = None
    if form["sponsor"]:
        sponsor_id = (
            await db.execute(
                select(Exhibitor.id).where(
                    Exhibitor.event_id == event.id, Exhibitor.slug == form["sponsor"]
                )
            )
        ).scalar_one()
    if session is None:
        session = ProgramSession(event_id=event.id)
        db.add(session)
    session.title = form["title"]
    session.abstract = form["abstract"]
    session.track = form["track"]
    session.starts_at = dt.datetime.strptime(form["starts_at"], LOCAL).replace(tzinfo=tz)
    session.ends_at = dt.datetime.strptime(form["ends_at"], LOCAL).replace(tzinfo=tz)
    session.stream_url = form["stream_url"]
    session.recording_url = form["recording_url"]
    session.sponsor_exhibitor_id = sponsor_id
    await db.flush()
    names = list(dict.fromkeys(n.strip()[:200] for n in form["speakers"].split(";") if n.strip()))
    known = {
        s.name: s
        for s in (await db.execute(select(Speaker).where(Speaker.event_id == event.id))).scalars()
    }
    await db.execute(delete(session_speakers).where(session_speakers.c.session_id == session.id))
    for name in names:
        if name not in known:
            known[name] = Speaker(event_id=event.id, name=name)
            db.add(known[name])
            await db.flush()
        await db.execute(
            session_speakers.insert().values(session_id=session.id, speaker_id=known[name].id)
        )
    return session
