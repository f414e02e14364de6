"""HTML pages of one booth for visitors: the booth, consent at the door, chat, info requests.

Meeting routes live in `meeting_pages`, file routes in `resource_pages`; both are mounted here."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import verify_csrf
from app.booths import alerts, meeting_pages, resource_pages
from app.booths import visits as visit_service
from app.booths.booth_view import (
    attendee_of,
    booth_of,
    booth_response,
    booth_url,
    booth_view,
    consent_response,
    see_other,
)
from app.booths.errors import BoothFieldsInvalid
from app.booths.meeting_pages import do_book
from app.booths.models import Booth, Exhibitor
from app.db import DbSession
from app.events.lobby import Visit, VisitDep
from app.events.models import Registration

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

THEN = frozenset({"info", "meeting", "download", "chat", "none"})


NOTICES = {
    "info": "Thanks! {name} has your request for more information.",
    "info_anonymous": (
        "Thanks! Your request was counted, but you chose not to share your details, "
        "so {name} cannot see who you are or reply to you."
    ),
    "shared": "You now share your contact details with {name}.",
    "declined": "{name} will not see who you are. You can still use everything here.",
    "cancelled": "Your meeting was cancelled and the time is free again.",
}


@router.get("/e/{slug}/booths/{exhibitor_slug}", response_class=HTMLResponse)
async def booth_page(
    request: Request, visit: VisitDep, db: DbSession, exhibitor_slug: str, done: str = ""
) -> HTMLResponse:
    exhibitor, booth = await booth_of(db, visit, exhibitor_slug)
    view = await booth_view(request, db, visit, exhibitor, booth)
    if view.registration is not None and not view.can_manage:
        await visit_service.record_visit(
            db, event=visit.event, registration=view.registration, booth=booth
        )
    notice = NOTICES.get(done, "").format(name=exhibitor.name)
    return booth_response(request, visit, view, notice=notice)


# -- consent at the door ----------------------------------------------------------------------


@router.get("/e/{slug}/booths/{exhibitor_slug}/consent", response_class=HTMLResponse)
async def consent_page(
    request: Request,
    visit: VisitDep,
    db: DbSession,
    exhibitor_slug: str,
    then: str = "none",
    resource_id: str = "",
) -> HTMLResponse:
    exhibitor, _booth_row = await booth_of(db, visit, exhibitor_slug)
    await attendee_of(db, visit)
    then = then if then in THEN else "none"
    pending = {"resource_id": resource_id} if resource_id.isdigit() else {}
    return consent_response(request, visit, exhibitor, then=then, pending=pending)


@router.post("/e/{slug}/booths/{exhibitor_slug}/consent")
async def answer_consent(
    request: Request,
    background: BackgroundTasks,
    visit: VisitDep,
    db: DbSession,
    exhibitor_slug: str,
    shared: Annotated[str, Form()] = "",
    then: Annotated[str, Form()] = "none",
    resource_id: Annotated[str, Form()] = "",
    slot_id: Annotated[str, Form()] = "",
    message: Annotated[str, Form()] = "",
) -> Response:
    exhibitor, booth = await booth_of(db, visit, exhibitor_slug)
    registration = await attendee_of(db, visit)
    if shared not in ("yes", "no"):
        return see_other(booth_url(visit, exhibitor))
    await visit_service.answer_consent(
        db, registration=registration, exhibitor=exhibitor, shared=shared == "yes"
    )
    if then == "info":
        return await _do_info(
            request, background, db, visit, exhibitor, booth, registration, message
        )
    if then == "meeting":
        return await do_book(
            request, background, db, visit, exhibitor, booth, registration, slot_id, message
        )
    if then == "download" and resource_id.isdigit():
        return see_other(f"/e/{visit.event.slug}/resources/{resource_id}/download")
    if then == "chat":
        return see_other(booth_url(visit, exhibitor, "chat"))
    return see_other(
        booth_url(visit, exhibitor, "contact", done="shared" if shared == "yes" else "declined")
    )


@router.get("/e/{slug}/booths/{exhibitor_slug}/chat")
async def open_chat(visit: VisitDep, db: DbSession, exhibitor_slug: str) -> Response:
    """The way into the booth chat: asks for consent first, once."""
    exhibitor, _ = await booth_of(db, visit, exhibitor_slug)
    registration = await attendee_of(db, visit)
    if (await visit_service.sharing(db, registration, exhibitor)).must_ask:
        query = urlencode({"then": "chat"})
        return see_other(f"/e/{visit.event.slug}/booths/{exhibitor.slug}/consent?{query}")
    return see_other(booth_url(visit, exhibitor, "chat"))


# -- request more information -------------------------------------------------------------


async def _do_info(
    request: Request,
    background: BackgroundTasks,
    db: AsyncSession,
    visit: Visit,
    exhibitor: Exhibitor,
    booth: Booth,
    registration: Registration,
    message: str,
) -> Response:
    try:
        _row, result = await visit_service.request_info(
            db, event=visit.event, registration=registration, exhibitor=exhibitor, message=message
        )
    except BoothFieldsInvalid as exc:
        view = await booth_view(request, db, visit, exhibitor, booth)
        return booth_response(
            request, visit, view, errors=exc.fields, values={"message": message}, status=422
        )
    shares = (await visit_service.sharing(db, registration, exhibitor)).shares
    pushes = alerts.alerts(
        kind="info",
        exhibitor=exhibitor,
        registration=registration,
        shares=shares,
        result=result,
        booth_id=booth.id,
    )
    alerts.after_commit(request, background, exhibitor, pushes)
    return see_other(
        booth_url(visit, exhibitor, "contact", done="info" if shares else "info_anonymous")
    )


@router.post("/e/{slug}/booths/{exhibitor_slug}/info")
async def request_info(
    request: Request,
    background: BackgroundTasks,
    visit: VisitDep,
    db: DbSession,
    exhibitor_slug: str,
    message: Annotated[str, Form()] = "",
) -> Response:
    exhibitor, booth = await booth_of(db, visit, exhibitor_slug)
    registration = await attendee_of(db, visit)
    if (await visit_service.sharing(db, registration, exhibitor)).must_ask:
        return consent_response(
            request, visit, exhibitor, then="info", pending={"message": message}
        )
    return await _do_info(request, background, db, visit, exhibitor, booth, registration, message)


# Their routes are the booth's too; mounted here so app/routes.py needs no change.
router.include_router(meeting_pages.router)
router.include_router(resource_pages.router)
