"""The personal agenda: add and remove sessions, the `.ics` file and the calendar feed."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from icalendar import Calendar
from icalendar import Event as CalendarEvent
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.security import new_token
from app.events.models import Event, Registration
from app.sessions import repository
from app.sessions.errors import SessionNotFound
from app.sessions.models import AgendaFeed, ProgramSession

PRODID = "-//Expohall//My agenda//EN"
CONTENT_TYPE = "text/calendar; charset=utf-8"


async def add(db: AsyncSession, *, registration: Registration, session: ProgramSession) -> None:
    if session.event_id != registration.event_id:
        raise SessionNotFound()
    await repository.add_to_agenda(db, registration.id, session.id)


async def remove(db: AsyncSession, *, registration: Registration, session: ProgramSession) -> None:
    await repository.remove_from_agenda(db, registration.id, session.id)


async def feed_token(db: AsyncSession, registration: Registration) -> str:
    """The attendee's calendar feed secret, created on first use."""
    feed = await repository.feed_of(db, registration.id)
    if feed is None:
        feed = AgendaFeed(registration_id=registration.id, token=new_token(24))
        db.add(feed)
        await db.flush()
    return feed.token


async def registration_for_token(db: AsyncSession, token: str) -> Registration | None:
    feed = await repository.feed_by_token(db, token) if 0 < len(token) <= 64 else None
    if feed is None:
        return None
    registration = await db.get(Registration, feed.registration_id)
    return registration if registration is not None and registration.erased_at is None else None


def agenda_ics(
    *, event: Event, sessions: Sequence[ProgramSession], base_url: str, stamp: dt.datetime
) -> bytes:
    """One VEVENT per session, in UTC (calendar apps show their own zone); UIDs are stable so
    a subscribed calendar updates a moved session instead of duplicating it."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", f"{event.name}: my agenda")
    host = base_url.split("://", 1)[-1].split("/", 1)[0] or "expohall"
    for session in sessions:
        url = f"{base_url.rstrip('/')}/e/{event.slug}/sessions/{session.id}"
        entry = CalendarEvent()
        entry.add("uid", f"session-{session.id}@{host}")
        entry.add("dtstamp", stamp.astimezone(dt.UTC))
        entry.add("dtstart", session.starts_at.astimezone(dt.UTC))
        entry.add("dtend", session.ends_at.astimezone(dt.UTC))
        entry.add("summary", session.title)
        entry.add("description", f"{session.abstract}\n\n{url}".strip())
        entry.add("url", url)
        entry.add("location", url)
        calendar.add_component(entry)
    data: bytes = calendar.to_ical()
    return data
