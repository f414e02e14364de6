"""Personal agenda routes: add/remove a session, download my agenda, the calendar feed."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import RedirectResponse, Response

from app.auth.csrf import verify_csrf
from app.auth.deps import EventDep
from app.db import DbSession, RowId, utcnow
from app.errors import NotFound, Unauthenticated
from app.events.lobby import VisitDep
from app.sessions import my_agenda, repository
from app.sessions.errors import NotRegistered
from app.sessions.session_pages import load_registration, load_session

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


@router.post("/e/{slug}/sessions/{session_id}/my-agenda")
async def change(
    visit: VisitDep,
    db: DbSession,
    session_id: RowId,
    action: Annotated[Literal["add", "remove"], Form()],
    back: Annotated[Literal["agenda", "session"], Form()] = "session",
) -> RedirectResponse:
    session = await load_session(db, visit, session_id)
    if visit.account is None:
        raise Unauthenticated()
    registration = await load_registration(db, visit)
    if registration is None:
        raise NotRegistered()
    if action == "add":
        await my_agenda.add(db, registration=registration, session=session)
    else:
        await my_agenda.remove(db, registration=registration, session=session)
    slug = visit.event.slug
    target = (
        f"/e/{slug}/agenda#session-{session.id}"
        if back == "agenda"
        else f"/e/{slug}/sessions/{session.id}"
    )
    return RedirectResponse(target, status_code=303)


def _calendar(request: Request, body: bytes, filename: str | None) -> Response:
    headers = {"cache-control": "private, max-age=300"}
    if filename:
        headers["content-disposition"] = f'attachment; filename="{filename}"'
    return Response(body, media_type=my_agenda.CONTENT_TYPE, headers=headers)


@router.get("/e/{slug}/my-agenda.ics")
async def download(request: Request, visit: VisitDep, db: DbSession) -> Response:
    if visit.account is None:
        raise Unauthenticated()
    registration = await load_registration(db, visit)
    if registration is None:
        raise NotRegistered()
    body = my_agenda.agenda_ics(
        event=visit.event,
        sessions=await repository.my_sessions(db, registration.id),
        base_url=request.app.state.settings.base_url,
        stamp=utcnow(),
    )
    return _calendar(request, body, f"{visit.event.slug}-my-agenda.ics")


@router.get("/e/{slug}/agenda/feed/{token}.ics")
async def feed(request: Request, event: EventDep, db: DbSession, token: str) -> Response:
    """The subscription URL: no login (calendar apps cannot log in), the token is the key."""
    registration = await my_agenda.registration_for_token(db, token)
    if registration is None or registration.event_id != event.id:
        raise NotFound("There is no calendar at this address.")
    body = my_agenda.agenda_ics(
        event=event,
        sessions=await repository.my_sessions(db, registration.id),
        base_url=request.app.state.settings.base_url,
        stamp=utcnow(),
    )
    return _calendar(request, body, None)
