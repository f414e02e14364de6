"""HTML pages of sessions: the agenda."""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from app.auth.csrf import verify_csrf
from app.db import DbSession, utcnow
from app.events.lobby import VisitDep
from app.sessions import repository
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/e/{slug}/agenda", response_class=HTMLResponse)
async def agenda(request: Request, visit: VisitDep, db: DbSession) -> HTMLResponse:
    tz = ZoneInfo(visit.event.timezone)
    items = await repository.list_agenda(db, visit.event.id)

    def local_day(item: repository.AgendaItem) -> dt.date:
        return item.session.starts_at.astimezone(tz).date()

    days = [(day, list(group)) for day, group in groupby(items, key=local_day)]
    return templates.TemplateResponse(
        request,
        "sessions/agenda.html",
        {**visit.context("agenda"), "days": days, "now": utcnow()},
    )
