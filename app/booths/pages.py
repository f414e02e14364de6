"""HTML pages of booths: the exhibit hall."""

from __future__ import annotations

from itertools import groupby

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import verify_csrf
from app.booths import repository
from app.booths.recommend import recommended
from app.booths.repository import BoothCard
from app.db import DbSession
from app.events import repository as events_repo
from app.events.lobby import Visit, VisitDep
from app.realtime import channels
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


async def _live_counts(request: Request, cards: list[BoothCard]) -> dict[int, int]:
    """Visitors in each booth now, by booth id, from the presence store (empty without one)."""
    realtime = getattr(request.app.state, "realtime", None)
    if realtime is None:
        return {}
    return {
        card.booth.id: await realtime.presence.count(channels.booth(card.booth.id))
        for card in cards
    }


async def _for_you(db: AsyncSession, visit: Visit) -> list[BoothCard]:
    """Recommendations from the logged-in attendee's registration (none for anyone else)."""
    if visit.account is None:
        return []
    registration = await events_repo.registration_of(
        db, event_id=visit.event.id, account_id=visit.account.id
    )
    if registration is None or registration.erased_at is not None:
        return []
    cards = await repository.list_booths(db, visit.event.id)
    return recommended(
        cards, interests=registration.interests or [], industry=registration.industry or ""
    )


@router.get("/e/{slug}/hall", response_class=HTMLResponse)
async def hall(
    request: Request, visit: VisitDep, db: DbSession, q: str = "", tag: str = ""
) -> HTMLResponse:
    q, tag = q.strip()[:100], tag.strip()[:80]
    cards = await repository.list_booths(db, visit.event.id, q=q, tag=tag)
    tiers = [(tier, list(group)) for tier, group in groupby(cards, key=lambda c: c.booth.tier)]
    for_you = [] if q or tag else await _for_you(db, visit)
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
            "for_you": for_you,
            "live_counts": await _live_counts(request, cards),
            "live": visit.membership is not None,
        },
    )
