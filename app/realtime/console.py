"""The exhibitor's live console page: who is in the booth now, the staff feed, chats."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from app.auth.csrf import verify_csrf
from app.auth.deps import BoothStaff
from app.booths.models import Booth, Exhibitor
from app.db import DbSession
from app.errors import Forbidden, NotFound
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/e/{slug}/console", response_class=HTMLResponse)
async def console(
    request: Request, member: BoothStaff, db: DbSession, exhibitor: int | None = None
) -> HTMLResponse:
    if exhibitor is None:
        if len(member.exhibitor_ids) != 1:
            raise NotFound("Choose an exhibitor: /console?exhibitor=ID")
        exhibitor = next(iter(member.exhibitor_ids))
    if not (member.staffs(exhibitor) or member.is_organizer):
        raise Forbidden("Only this exhibitor's staff can open its console.")
    row = (
        await db.execute(
            select(Exhibitor, Booth)
            .join(Booth, Booth.exhibitor_id == Exhibitor.id)
            .where(Exhibitor.id == exhibitor, Exhibitor.event_id == member.event.id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound("There is no such exhibitor in this event.")
    found, booth = row
    return templates.TemplateResponse(
        request,
        "realtime/console.html",
        {
            "event": member.event,
            "account": member.account,
            "membership": member,
            "nav": "console",
            "exhibitor": found,
            "booth": booth,
        },
    )
