"""HTML pages of meetings at a booth: booking, the confirmation page, its .ics, cancelling."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, BackgroundTasks, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import verify_csrf
from app.auth.models import Account
from app.booths import alerts, service
from app.booths import meeting_repository as meeting_repo
from app.booths import meetings as meeting_service
from app.booths import visits as visit_service
from app.booths.booth_view import (
    attendee_of,
    booth_of,
    booth_response,
    booth_url,
    booth_view,
    consent_response,
    registration_of,
    see_other,
)
from app.booths.errors import BoothFieldsInvalid, MeetingNotFound, SlotTaken
from app.booths.models import Booth, Exhibitor, MeetingSlot
from app.db import DbSession, RowId
from app.errors import Unauthenticated
from app.events.lobby import Visit, VisitDep
from app.events.models import Registration
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)


async def do_book(
    request: Request,
    background: BackgroundTasks,
    db: AsyncSession,
    visit: Visit,
    exhibitor: Exhibitor,
    booth: Booth,
    registration: Registration,
    slot_id: str,
    message: str,
) -> Response:
    values = {"slot_id": slot_id, "meeting_message": message}
    try:
        booking, result = await meeting_service.book(
            db,
            event=visit.event,
            registration=registration,
            exhibitor=exhibitor,
            slot_id=int(slot_id) if slot_id.isdigit() else 0,
            message=message,
        )
    except BoothFieldsInvalid as exc:
        view = await booth_view(request, db, visit, exhibitor, booth)
        errors = {("meeting_message" if k == "message" else k): v for k, v in exc.fields.items()}
        return booth_response(request, visit, view, errors=errors, values=values, status=422)
    except SlotTaken as exc:
        view = await booth_view(request, db, visit, exhibitor, booth)
        return booth_response(
            request, visit, view, errors={"slot_id": exc.message}, values=values, status=409
        )
    if result is not None:
        shares = (await visit_service.sharing(db, registration, exhibitor)).shares
        pushes = alerts.alerts(
            kind="meeting",
            exhibitor=exhibitor,
            registration=registration,
            shares=shares,
            result=result,
            booth_id=booth.id,
        )
        alerts.after_commit(request, background, exhibitor, pushes)
    return see_other(f"/e/{visit.event.slug}/meetings/{booking.id}")


@router.post("/e/{slug}/booths/{exhibitor_slug}/meetings")
async def book_meeting(
    request: Request,
    background: BackgroundTasks,
    visit: VisitDep,
    db: DbSession,
    exhibitor_slug: str,
    slot_id: Annotated[str, Form()] = "",
    message: Annotated[str, Form(alias="meeting_message")] = "",
) -> Response:
    exhibitor, booth = await booth_of(db, visit, exhibitor_slug)
    registration = await attendee_of(db, visit)
    if (await visit_service.sharing(db, registration, exhibitor)).must_ask:
        pending = {"slot_id": slot_id, "message": message}
        return consent_response(request, visit, exhibitor, then="meeting", pending=pending)
    return await do_book(
        request, background, db, visit, exhibitor, booth, registration, slot_id, message
    )


async def _meeting(
    db: AsyncSession, visit: Visit, booking_id: int
) -> tuple[Any, MeetingSlot, Exhibitor, bool]:
    """A booking its attendee, the exhibitor's staff or an organizer may see; else 404."""
    if visit.account is None:
        raise Unauthenticated()
    found = await meeting_repo.booking_with_slot(db, visit.event.id, booking_id)
    if found is None:
        raise MeetingNotFound()
    booking, slot, exhibitor = found
    registration = await registration_of(db, visit)
    mine = registration is not None and booking.registration_id == registration.id
    if not mine and not service.can_manage(visit.membership, exhibitor):
        raise MeetingNotFound()
    return booking, slot, exhibitor, mine


@router.get("/e/{slug}/meetings/{booking_id}", response_class=HTMLResponse)
async def meeting_page(
    request: Request, visit: VisitDep, db: DbSession, booking_id: RowId
) -> HTMLResponse:
    booking, slot, exhibitor, mine = await _meeting(db, visit, booking_id)
    staff = await db.get(Account, slot.staff_account_id) if slot.staff_account_id else None
    return templates.TemplateResponse(
        request,
        "booths/meeting.html",
        {
            **visit.context("hall"),
            "booking": booking,
            "slot": slot,
            "exhibitor": exhibitor,
            "staff": staff,
            "mine": mine,
        },
    )


@router.get("/e/{slug}/meetings/{booking_id}/invite.ics")
async def meeting_ics(
    request: Request, visit: VisitDep, db: DbSession, booking_id: RowId
) -> Response:
    from app.booths.ics import meeting_ics as build

    booking, slot, exhibitor, _mine = await _meeting(db, visit, booking_id)
    base = request.app.state.settings.base_url.rstrip("/")
    url = f"{base}/e/{visit.event.slug}/meetings/{booking.id}"
    body = build(
        uid=f"meeting-{booking.id}@{request.url.hostname or 'expohall'}",
        title=f"Meeting with {exhibitor.name} · {visit.event.name}",
        description=f"Your meeting at the {exhibitor.name} booth. Details: {url}",
        url=url,
        starts_at=slot.starts_at,
        ends_at=slot.ends_at,
        stamp=booking.updated_at,
        cancelled=booking.status == "cancelled",
    )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="meeting-{booking.id}.ics"',
            "X-Content-Type-Options": "nosniff",
        },
    )


@router.post("/e/{slug}/meetings/{booking_id}/cancel")
async def cancel_meeting(visit: VisitDep, db: DbSession, booking_id: RowId) -> Response:
    booking, _slot, exhibitor, mine = await _meeting(db, visit, booking_id)
    if booking.status != "cancelled":
        await meeting_service.cancel(db, booking=booking)
    if mine:
        return see_other(booth_url(visit, exhibitor, "meet", done="cancelled"))
    return see_other(f"/e/{visit.event.slug}/booths/{exhibitor.slug}/manage/meetings")
