"""HTML pages of booths: the exhibit hall."""

from __future__ import annotations

from itertools import groupby

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from app.auth.csrf import verify_csrf
from app.booths import repository
from app.db import DbSession
from app.events.lobby import VisitDep
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.get("/e/{slug}/hall", response_class=HTMLResponse)
async def hall(
    request: Request, visit: VisitDep, db: DbSession, q: str = "", tag: str = ""
) -> HTMLResponse:
    q, tag = q.strip()[:100], tag.strip()[:80]
    cards = await repository.list_booths(db, visit.event.id, q=q, tag=tag)
    tiers = [(tier, list(group)) for tier, group in groupby(cards, key=lambda c: c.booth.tier)]
    return templates.TemplateResponse(
        request,
        "booths/hall.html",
        {
            **visit.context("hall"),
            "tiers": tiers,
            "count": len(cards),
            "tags": await repository.list_tags(db, visit.event.id),
            "q": q,
            "tag": tag,
            "filtered": bool(q or tag),
        },
    )
