"""One session's page (abstract, speakers, sponsor, player, Q&A, chat) and its heartbeats."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Body, Depends, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import verify_csrf
from app.booths.models import Exhibitor
from app.booths.service import embed_url
from app.db import DbSession, RowId, utcnow
from app.errors import Unauthenticated
from app.events import repository as events_repo
from app.events.lobby import Visit, VisitDep
from app.events.models import EventStatus, Registration
from app.sessions import attendance, qa, repository
from app.sessions.errors import NotRegistered, SessionNotFound
from app.sessions.models import ProgramSession
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

_MEDIA_SUFFIXES = (".mp4", ".webm", ".ogg", ".m4v")


def player_url(url: str) -> str | None:
    """An https URL to embed (video hosts turned into their player URL), else None."""
    url = url.strip()
    if not url:
        return None
    known = embed_url(url)
    if known is not None:
        return known
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme != "https" or not parts.hostname or parts.username or parts.password:
        return None
    return url


def is_media_file(url: str) -> bool:
    """A plain video file plays in <video>, whose position the watch counter can read."""
    return urlsplit(url).path.lower().endswith(_MEDIA_SUFFIXES)


async def load_session(db: AsyncSession, visit: Visit, session_id: int) -> ProgramSession:
    session = await repository.get_session(db, visit.event.id, session_id)
    if session is None:
        raise SessionNotFound()
    return session


async def load_registration(db: AsyncSession, visit: Visit) -> Registration | None:
    if visit.account is None:
        return None
    reg = await events_repo.registration_of(
        db, event_id=visit.event.id, account_id=visit.account.id
    )
    return reg if reg is not None and reg.erased_at is None else None


@router.get("/e/{slug}/sessions/{session_id}", response_class=HTMLResponse)
async def session_page(
    request: Request, visit: VisitDep, db: DbSession, session_id: RowId
) -> HTMLResponse:
    session = await load_session(db, visit, session_id)
    now = utcnow()
    speakers = (await repository.speakers_of(db, [session.id])).get(session.id, [])
    sponsor = (
        await db.get(Exhibitor, session.sponsor_exhibitor_id)
        if session.sponsor_exhibitor_id is not None
        else None
    )
    mode = attendance.mode_of(visit.event, session, now)
    source = session.stream_url if mode is True else session.recording_url if mode is False else ""
    player = player_url(source) if source else None
    registration = await load_registration(db, visit)
    runner = await qa.can_run(db, visit.membership, session)
    qa_view = await qa.view(
        db, event=visit.event, session=session, registration=registration, runner=runner
    )
    return templates.TemplateResponse(
        request,
        "sessions/session.html",
        {
            **visit.context("agenda"),
            "s": session,
            "speakers": speakers,
            "sponsor": sponsor,
            "mode": mode,
            "player": player,
            "player_is_file": player is not None and is_media_file(player),
            "ended": session.ends_at <= now,
            "registration": registration,
            "now": now,
            "qa": qa_view,
            "runner": runner,
            "analytics": qa.sees_analytics(visit.membership, session),
            "read_only": visit.event.status == EventStatus.ended,
            "in_agenda": registration is not None
            and session.id in await repository.agenda_ids(db, registration.id),
        },
    )


class HeartbeatIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tab_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    kind: Literal["start", "beat", "stop"] = "beat"
    position_s: float | None = Field(default=None, ge=0, le=attendance.ON_DEMAND_LIMIT)


@router.post("/e/{slug}/sessions/{session_id}/attendance/heartbeat")
async def heartbeat(
    visit: VisitDep,
    db: DbSession,
    session_id: RowId,
    body: Annotated[HeartbeatIn, Body()],
) -> JSONResponse:
    """The page's heartbeat (fetch with X-CSRF-Token): distinct seconds watched so far."""
    session = await load_session(db, visit, session_id)
    if visit.account is None:
        raise Unauthenticated()
    registration = await load_registration(db, visit)
    if registration is None:
        raise NotRegistered()
    result = await attendance.heartbeat(
        db,
        event=visit.event,
        session=session,
        registration=registration,
        tab_id=body.tab_id,
        kind=body.kind,
        position_s=body.position_s,
    )
    return JSONResponse({"live": result.live, "seconds": result.seconds, "added": result.added})
