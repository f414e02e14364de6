"""The `.ics` file of a booked booth meeting (RFC 5545, built with `icalendar`)."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar
from icalendar import Event as CalendarEvent

PRODID = "-//Expohall//Booth meetings//EN"


def meeting_ics(
    *,
    uid: str,
    title: str,
    description: str,
    url: str,
    starts_at: dt.datetime,
    ends_at: dt.datetime,
    stamp: dt.datetime,
    cancelled: bool = False,
) -> bytes:
    """One VEVENT in UTC; calendar apps show it in their own time zone."""
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "PUBLISH")
    entry = CalendarEvent()
    entry.add("uid", uid)
    entry.add("dtstamp", stamp.astimezone(dt.UTC))
    entry.add("dtstart", starts_at.astimezone(dt.UTC))
    entry.add("dtend", ends_at.astimezone(dt.UTC))
    entry.add("summary", title)
    entry.add("description", description)
    entry.add("url", url)
    entry.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    calendar.add_component(entry)
    data: bytes = calendar.to_ical()
    return data
