"""HTML pages of one booth for visitors: the booth, downloads, consent, info requests, meetings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from itertools import groupby
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from app.auth.csrf import verify_csrf
from app.auth.models import Account
from app.booths import booth_repository as repo
from app.booths import service, uploads
from app.booths.models import Booth, Exhibitor, MeetingSlot, Resource, ResourceKind
from app.chat.sanitize import render as render_markdown
from app.db import DbSession, utcnow
from app.errors import Unauthenticated
from app.events import repository as events_repo
from app.events.lobby import Visit, VisitDep
from app.events.models import Registration
from app.realtime import channels
from app.templating import templates

router = APIRouter(dependencies=[Depends(verify_csrf)], include_in_schema=False)

STAGE_LABELS = {"research": "Research", "evaluation": "Evaluation", "decision": "Decision"}
THEN = frozenset({"info", "meeting", "download", "chat", "none"})


@dataclass(slots=True)
class BoothView:
    """Everything the booth page shows, for one viewer."""

    exhibitor: Exhibitor
    booth: Booth
    resources: list[Resource]
    description_html: str
    video_embed: str | None
    staff: list[Account]
    on_duty: list[Account]
    live_count: int | None
    slot_days: list[tuple[str, list[tuple[MeetingSlot, str | None]]]]
    registration: Registration | None
    sharing: service.Sharing | None
    my_meetings: list[tuple[Any, MeetingSlot]] = field(default_factory=list)
    can_manage: bool = False


async def _registration(db: AsyncSession, visit: Visit) -> Registration | None:
    if visit.account is None:
        return None
    reg = await events_repo.registration_of(
        db, event_id=visit.event.id, account_id=visit.account.id
    )
    return reg if reg is not None and reg.erased_at is None else None


async def _booth(db: AsyncSession, visit: Visit, exhibitor_slug: str) -> tuple[Exhibitor, Booth]:
    found = await repo.exhibitor_booth(db, visit.event.id, exhibitor_slug)
    if found is None:
        raise service.BoothNotFound()
    return found


async def _live(
    request: Request, booth: Booth, staff: list[Account]
) -> tuple[int | None, list[Account]]:
    """Visitors now and staff present, from the realtime presence store when it runs."""
    realtime = getattr(request.app.state, "realtime", None)
    if realtime is None:
        return None, []
    place = channels.booth(booth.id)
    present = set(await realtime.presence.visitors(place))
    return await realtime.presence.count(place), [a for a in staff if a.id in present]


async def _view(
    request: Request, db: AsyncSession, visit: Visit, exhibitor: Exhibitor, booth: Booth
) -> BoothView:
    registration = await _registration(db, visit)
    staff = list(await repo.staff_of(db, visit.event.id, exhibitor.id))
    live_count, on_duty = await _live(request, booth, staff)
    tz = visit.event.timezone
    open_slots = [
        (slot, name)
        for slot, booking, name in await repo.slots_of(db, exhibitor.id, after=utcnow())
        if booking is None
    ]
    slot_days = [
        (day, list(group))
        for day, group in groupby(
            open_slots,
            key=lambda pair: pair[0].starts_at.astimezone(ZoneInfo(tz)).strftime("%A %d %B"),
        )
    ]
    view = BoothView(
        exhibitor=exhibitor,
        booth=booth,
        resources=list(await repo.resources_of(db, booth.id)),
        description_html=render_markdown(booth.description) if booth.description else "",
        video_embed=service.embed_url(booth.video_url) if booth.video_url else None,
        staff=staff,
        on_duty=on_duty,
        live_count=live_count,
        slot_days=slot_days,
        registration=registration,
        sharing=None,
        can_manage=service.can_manage(visit.membership, exhibitor),
    )
    if registration is not None:
        view.sharing = await service.sharing(db, registration, exhibitor)
        view.my_meetings = await repo.bookings_of_registration(db, registration.id, exhibitor.id)
    return view


def _page(
    request: Request,
    visit: Visit,
    view: BoothView,
    *,
    errors: Mapping[str, str] | None = None,
    values: Mapping[str, str] | None = None,
    notice: str = "",
    status: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "booths/booth.html",
        {
            **visit.context("hall"),
            "view": view,
            "stages": STAGE_LABELS,
            "errors": dict(errors or {}),
            "values": dict(values or {}),
            "notice": notice,
        },
        status_code=status,
    )


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
    exhibitor, booth = await _booth(db, visit, exhibitor_slug)
    view = await _view(request, db, visit, exhibitor, booth)
    if view.registration is not None and not view.can_manage:
        await service.record_visit(
            db, event=visit.event, registration=view.registration, booth=booth
        )
    notice = NOTICES.get(done, "").format(name=exhibitor.name)
    return _page(request, visit, view, notice=notice)


def _booth_url(visit: Visit, exhibitor: Exhibitor, anchor: str = "", **query: str) -> str:
    url = f"/e/{visit.event.slug}/booths/{exhibitor.slug}"
    if query:
        url += "?" + urlencode(query)
    return url + (f"#{anchor}" if anchor else "")


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def _attendee(db: AsyncSession, visit: Visit) -> Registration:
    registration = await _registration(db, visit)
    if registration is None:
        if visit.account is None:
            raise Unauthenticated()
        raise service.NotRegistered()
    return registration


def _consent_page(
    request: Request,
    visit: Visit,
    exhibitor: Exhibitor,
    *,
    then: str,
    pending: Mapping[str, str],
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "booths/consent.html",
        {
            **visit.context("hall"),
            "exhibitor": exhibitor,
            "then": then,
            "pending": dict(pending),
        },
    )


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
    exhibitor, _booth_row = await _booth(db, visit, exhibitor_slug)
    await _attendee(db, visit)
    then = then if then in THEN else "none"
    pending = {"resource_id": resource_id} if resource_id.isdigit() else {}
    return _consent_page(request, visit, exhibitor, then=then, pending=pending)


@router.post("/e/{slug}/booths/{exhibitor_slug}/consent")
async def answer_consent(
    request: Request,
    visit: VisitDep,
    db: DbSession,
    exhibitor_slug: str,
    shared: Annotated[str, Form()] = "",
    then: Annotated[str, Form()] = "none",
    resource_id: Annotated[str, Form()] = "",
    slot_id: Annotated[str, Form()] = "",
    message: Annotated[str, Form()] = "",
) -> Response:
    exhibitor, booth = await _booth(db, visit, exhibitor_slug)
    registration = await _attendee(db, visit)
    if shared not in ("yes", "no"):
        return _see_other(_booth_url(visit, exhibitor))
    await service.answer_consent(
        db, registration=registration, exhibitor=exhibitor, shared=shared == "yes"
    )
    if then == "info":
        return await _do_info(request, db, visit, exhibitor, booth, registration, message)
    if then == "meeting":
        return await _do_book(request, db, visit, exhibitor, booth, registration, slot_id, message)
    if then == "download" and resource_id.isdigit():
        return _see_other(f"/e/{visit.event.slug}/resources/{resource_id}/download")
    if then == "chat":
        return _see_other(_booth_url(visit, exhibitor, "chat"))
    return _see_other(
        _booth_url(visit, exhibitor, "contact", done="shared" if shared == "yes" else "declined")
    )


@router.get("/e/{slug}/booths/{exhibitor_slug}/chat")
async def open_chat(visit: VisitDep, db: DbSession, exhibitor_slug: str) -> Response:
    """The way into the booth chat: asks for consent first, once."""
    exhibitor, _ = await _booth(db, visit, exhibitor_slug)
    registration = await _attendee(db, visit)
    if (await service.sharing(db, registration, exhibitor)).must_ask:
        query = urlencode({"then": "chat"})
        return _see_other(f"/e/{visit.event.slug}/booths/{exhibitor.slug}/consent?{query}")
    return _see_other(_booth_url(visit, exhibitor, "chat"))


# -- request more information -------------------------------------------------------------


async def _do_info(
    request: Request,
    db: AsyncSession,
    visit: Visit,
    exhibitor: Exhibitor,
    booth: Booth,
    registration: Registration,
    message: str,
) -> Response:
    try:
        await service.request_info(
            db, event=visit.event, registration=registration, exhibitor=exhibitor, message=message
        )
    except service.BoothFieldsInvalid as exc:
        view = await _view(request, db, visit, exhibitor, booth)
        return _page(
            request, visit, view, errors=exc.fields, values={"message": message}, status=422
        )
    shares = (await service.sharing(db, registration, exhibitor)).shares
    return _see_other(
        _booth_url(visit, exhibitor, "contact", done="info" if shares else "info_anonymous")
    )


@router.post("/e/{slug}/booths/{exhibitor_slug}/info")
async def request_info(
    request: Request,
    visit: VisitDep,
    db: DbSession,
    exhibitor_slug: str,
    message: Annotated[str, Form()] = "",
) -> Response:
    exhibitor, booth = await _booth(db, visit, exhibitor_slug)
    registration = await _attendee(db, visit)
    if (await service.sharing(db, registration, exhibitor)).must_ask:
        return _consent_page(request, visit, exhibitor, then="info", pending={"message": message})
    return await _do_info(request, db, visit, exhibitor, booth, registration, message)


# -- meetings -------------------------------------------------------------------------------


async def _do_book(
    request: Request,
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
        booking = await service.book(
            db,
            event=visit.event,
            registration=registration,
            exhibitor=exhibitor,
            slot_id=int(slot_id) if slot_id.isdigit() else 0,
            message=message,
        )
    except service.BoothFieldsInvalid as exc:
        view = await _view(request, db, visit, exhibitor, booth)
        errors = {("meeting_message" if k == "message" else k): v for k, v in exc.fields.items()}
        return _page(request, visit, view, errors=errors, values=values, status=422)
    except service.SlotTaken as exc:
        view = await _view(request, db, visit, exhibitor, booth)
        return _page(
            request, visit, view, errors={"slot_id": exc.message}, values=values, status=409
        )
    return _see_other(f"/e/{visit.event.slug}/meetings/{booking.id}")


@router.post("/e/{slug}/booths/{exhibitor_slug}/meetings")
async def book_meeting(
    request: Request,
    visit: VisitDep,
    db: DbSession,
    exhibitor_slug: str,
    slot_id: Annotated[str, Form()] = "",
    message: Annotated[str, Form(alias="meeting_message")] = "",
) -> Response:
    exhibitor, booth = await _booth(db, visit, exhibitor_slug)
    registration = await _attendee(db, visit)
    if (await service.sharing(db, registration, exhibitor)).must_ask:
        pending = {"slot_id": slot_id, "message": message}
        return _consent_page(request, visit, exhibitor, then="meeting", pending=pending)
    return await _do_book(request, db, visit, exhibitor, booth, registration, slot_id, message)


async def _meeting(
    db: AsyncSession, visit: Visit, booking_id: int
) -> tuple[Any, MeetingSlot, Exhibitor, bool]:
    """A booking its attendee, the exhibitor's staff or an organizer may see; else 404."""
    if visit.account is None:
        raise Unauthenticated()
    found = await repo.booking_with_slot(db, visit.event.id, booking_id)
    if found is None:
        raise service.MeetingNotFound()
    booking, slot, exhibitor = found
    registration = await _registration(db, visit)
    mine = registration is not None and booking.registration_id == registration.id
    if not mine and not service.can_manage(visit.membership, exhibitor):
        raise service.MeetingNotFound()
    return booking, slot, exhibitor, mine


@router.get("/e/{slug}/meetings/{booking_id}", response_class=HTMLResponse)
async def meeting_page(
    request: Request, visit: VisitDep, db: DbSession, booking_id: int
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
    request: Request, visit: VisitDep, db: DbSession, booking_id: int
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
async def cancel_meeting(visit: VisitDep, db: DbSession, booking_id: int) -> Response:
    booking, _slot, exhibitor, mine = await _meeting(db, visit, booking_id)
    if booking.status != "cancelled":
        await service.cancel(db, booking=booking)
    if mine:
        return _see_other(_booth_url(visit, exhibitor, "meet", done="cancelled"))
    return _see_other(f"/e/{visit.event.slug}/booths/{exhibitor.slug}/manage/meetings")


# -- files ----------------------------------------------------------------------------------


def _root(request: Request) -> Path:
    root: Path = request.app.state.settings.uploads_dir
    return root


@router.get("/media/images/{name}")
async def image(request: Request, name: str) -> Response:
    return uploads.image_response(_root(request), name)


async def _resource(db: AsyncSession, visit: Visit, resource_id: int) -> tuple[Resource, Exhibitor]:
    found = await repo.resource_in_event(db, visit.event.id, resource_id)
    if found is None:
        raise service.BoothNotFound("That resource does not exist.")
    resource, _booth_row, exhibitor = found
    return resource, exhibitor


async def _gate(
    db: AsyncSession, visit: Visit, exhibitor: Exhibitor, resource: Resource
) -> tuple[Registration | None, Response | None]:
    """Who downloads, or where to send them first (login, consent)."""
    if visit.account is None:
        raise Unauthenticated()
    if service.can_manage(visit.membership, exhibitor):
        return None, None  # staff checking their own files are not leads
    registration = await _attendee(db, visit)
    if (await service.sharing(db, registration, exhibitor)).must_ask:
        query = urlencode({"then": "download", "resource_id": str(resource.id)})
        return registration, _see_other(
            f"/e/{visit.event.slug}/booths/{exhibitor.slug}/consent?{query}"
        )
    return registration, None


@router.get("/e/{slug}/resources/{resource_id}/download")
async def download(request: Request, visit: VisitDep, db: DbSession, resource_id: int) -> Response:
    resource, exhibitor = await _resource(db, visit, resource_id)
    if resource.kind == ResourceKind.link or not resource.file_path:
        return _see_other(f"/e/{visit.event.slug}/resources/{resource.id}/open")
    registration, detour = await _gate(db, visit, exhibitor, resource)
    if detour is not None:
        return detour
    path = uploads.resolve(_root(request), resource.file_path)  # 404 before anything counts
    if registration is not None:
        await service.record_download(
            db, event=visit.event, registration=registration, resource=resource
        )
    return uploads.download_response(
        path,
        content_type=resource.content_type or "application/octet-stream",
        filename=uploads.download_name(resource.title, resource.content_type, resource.file_path),
    )


@router.get("/e/{slug}/resources/{resource_id}/open")
async def open_link(visit: VisitDep, db: DbSession, resource_id: int) -> Response:
    """Follow a link (or linked video) resource; the click counts like a download."""
    resource, exhibitor = await _resource(db, visit, resource_id)
    target = service.safe_link(resource.url) if resource.url else None
    if target is None:
        raise service.BoothNotFound("That resource has no link.")
    registration, detour = await _gate(db, visit, exhibitor, resource)
    if detour is not None:
        return detour
    if registration is not None:
        await service.record_download(
            db, event=visit.event, registration=registration, resource=resource
        )
    return RedirectResponse(target, status_code=303)


@router.post("/e/{slug}/resources/{resource_id}/progress", status_code=204)
async def video_progress(
    visit: VisitDep,
    db: DbSession,
    resource_id: int,
    percent: Annotated[float, Form(ge=0, le=100)],
) -> Response:
    """The player's progress events (fetch with X-CSRF-Token): one activity per quarter."""
    resource, exhibitor = await _resource(db, visit, resource_id)
    if resource.kind != ResourceKind.video:
        raise service.BoothNotFound("That resource is not a video.")
    if visit.account is None:
        raise Unauthenticated()
    if service.can_manage(visit.membership, exhibitor):
        return Response(status_code=204)
    registration = await _attendee(db, visit)
    await service.record_video_progress(
        db, event=visit.event, registration=registration, resource=resource, percent=percent
    )
    return Response(status_code=204)
