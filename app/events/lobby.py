"""The front door: the home page (events list) and each event's lobby."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from app.auth.csrf import verify_csrf
from app.auth.deps import EventDep, MaybeAccount, Membership, membership_of
from app.auth.models import Account
from app.db import DbSession, utcnow
from app.errors import NotFound
from app.events import lobby_queries
from app.events.models import Event, EventStatus
from app.sessions.repository import speakers_of
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

PHASES = ("live", "upcoming", "ended", "draft")


def phase_of(event: Event, now: dt.datetime) -> str:
    """What a visitor should read: draft, upcoming, live or ended (on demand)."""
    if event.status == EventStatus.draft:
        return "draft"
    if event.status == EventStatus.ended or event.ends_at <= now:
        return "ended"
    if event.starts_at > now:
        return "upcoming"
    return "live"


@dataclass(frozen=True, slots=True)
class Visit:
    """Who is looking at which event; drafts are visible to its organizers only."""

    event: Event
    account: Account | None
    membership: Membership | None

    @property
    def is_organizer(self) -> bool:
        return self.membership is not None and self.membership.is_organizer

    def context(self, nav: str) -> dict[str, object]:
        """The names base.html expects."""
        return {
            "event": self.event,
            "account": self.account,
            "membership": self.membership,
            "nav": nav,
        }


async def get_visit(event: EventDep, db: DbSession, account: MaybeAccount) -> Visit:
    membership = await membership_of(db, account, event) if account is not None else None
    if event.status == EventStatus.draft and not (membership and membership.is_organizer):
        raise NotFound("There is no event at this address.")
    return Visit(event, account, membership)


VisitDep = Annotated[Visit, Depends(get_visit)]


@router.get("/", response_class=HTMLResponse)
async def home(request: Request, db: DbSession, account: MaybeAccount) -> HTMLResponse:
    now = utcnow()
    events = await lobby_queries.list_visible_events(db, account)
    groups: dict[str, list[Event]] = {phase: [] for phase in PHASES}
    for event in events:
        groups[phase_of(event, now)].append(event)
    # Most recent first among the past ones: last week's show matters more than last year's.
    groups["ended"].reverse()
    return templates.TemplateResponse(
        request,
        "lobby/home.html",
        {"account": account, "groups": groups, "count": len(events), "now": now},
    )


@router.get("/e/{slug}", response_class=HTMLResponse)
async def lobby(request: Request, visit: VisitDep, db: DbSession) -> HTMLResponse:
    event, now = visit.event, utcnow()
    on_now = await lobby_queries.sessions_on_now(db, event, now)
    up_next = await lobby_queries.sessions_up_next(db, event, now)
    speakers = await speakers_of(db, [s.id for s in (*on_now, *up_next)])
    featured = await lobby_queries.featured_booths(db, event)
    return templates.TemplateResponse(
        request,
        "lobby/lobby.html",
        {
            **visit.context("lobby"),
            "now": now,
            "phase": phase_of(event, now),
            "on_now": on_now,
            "up_next": up_next,
            "speakers": speakers,
            "featured": featured,
        },
    )
