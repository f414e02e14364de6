"""HTML pages of sessions: the agenda (by day in the event's timezone, with filters and the
viewer's personal agenda)."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from app.auth.csrf import verify_csrf
from app.db import DbSession, utcnow
from app.events.lobby import VisitDep
from app.sessions import my_agenda, repository
from app.sessions.session_pages import load_registration
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

SOON = dt.timedelta(minutes=30)


@router.get("/e/{slug}/agenda", response_class=HTMLResponse)
async def agenda(
    request: Request,
    visit: VisitDep,
    db: DbSession,
    track: str = "",
    speaker: int | None = None,
    mine: bool = False,
) -> HTMLResponse:
    tz = ZoneInfo(visit.event.timezone)
    now = utcnow()
    everything = await repository.list_agenda(db, visit.event.id)
    registration = await load_registration(db, visit)
    saved = await repository.agenda_ids(db, registration.id) if registration else frozenset()
    items = [
        item
        for item in everything
        if (not track or item.session.track == track)
        and (speaker is None or any(sp.id == speaker for sp in item.speakers))
        and (not mine or item.session.id in saved)
    ]

    def local_day(item: repository.AgendaItem) -> dt.date:
        return item.session.starts_at.astimezone(tz).date()

    days = [(day, list(group)) for day, group in groupby(items, key=local_day)]
    speakers = {sp.id: sp for item in everything for sp in item.speakers}
    feed_url = None
    if registration is not None:
        token = await my_agenda.feed_token(db, registration)
        base = request.app.state.settings.base_url.rstrip("/")
        feed_url = f"{base}/e/{visit.event.slug}/agenda/feed/{token}.ics"
    return templates.TemplateResponse(
        request,
        "sessions/agenda.html",
        {
            **visit.context("agenda"),
            "days": days,
            "now": now,
            "soon": now + SOON,
            "tracks": sorted({i.session.track for i in everything if i.session.track}),
            "speakers": sorted(speakers.values(), key=lambda sp: (sp.name, sp.id)),
            "track": track,
            "speaker": speaker,
            "mine": mine,
            "filtered": bool(track or speaker is not None or mine),
            "registration": registration,
            "saved": saved,
            "feed_url": feed_url,
        },
    )
