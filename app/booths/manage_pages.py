"""Exhibitor self-service: staff (or organizers) edit their booth, files, staff, slots, analytics.

Every route resolves the booth through `get_managed`, which refuses anyone who is neither
staff of that very exhibitor nor an organizer of the event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from app.auth.csrf import verify_csrf
from app.auth.deps import Member, Membership
from app.booths import analytics, service, uploads
from app.booths import booth_repository as repo
from app.booths import meeting_repository as meeting_repo
from app.booths import meetings as meeting_service
from app.booths import resources as resource_service
from app.booths.errors import BoothFieldsInvalid, BoothNotFound
from app.booths.models import Booth, BuyingStage, Exhibitor, ResourceKind
from app.db import DbSession, RowId, utcnow
from app.errors import NotFound
from app.events.vocab import COMPANY_SIZES
from app.templating import templates

router = APIRouter(
    dependencies=[Depends(uploads.close_form), Depends(verify_csrf)], include_in_schema=False
)

BASE = "/e/{slug}/booths/{exhibitor_slug}/manage"
LOCAL_INPUT = "%Y-%m-%dT%H:%M"


@dataclass(frozen=True, slots=True)
class Managed:
    member: Membership
    exhibitor: Exhibitor
    booth: Booth

    @property
    def url(self) -> str:
        return f"/e/{self.member.event.slug}/booths/{self.exhibitor.slug}/manage"


async def get_managed(exhibitor_slug: str, member: Member, db: DbSession) -> Managed:
    found = await repo.exhibitor_booth(db, member.event.id, exhibitor_slug)
    if found is None:
        raise BoothNotFound()
    exhibitor, booth = found
    service.check_manage(member, exhibitor)
    return Managed(member, exhibitor, booth)


ManagedBooth = Annotated[Managed, Depends(get_managed)]


def _render(
    request: Request,
    m: Managed,
    name: str,
    context: Mapping[str, Any],
    *,
    tab: str,
    status: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        f"booths/{name}",
        {
            "event": m.member.event,
            "membership": m.member,
            "nav": "hall",
            "exhibitor": m.exhibitor,
            "booth": m.booth,
            "base": m.url,
            "tab": tab,
            "errors": {},
            "values": {},
            **context,
        },
        status_code=status,
    )


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def _root(request: Request) -> Path:
    root: Path = request.app.state.settings.uploads_dir
    return root


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value if isinstance(value, str) else ""


def _file(form: Any, name: str) -> UploadFile | None:
    value = form.get(name)
    return value if isinstance(value, UploadFile) else None


# -- the booth's content ----------------------------------------------------------------------


def _edit_values(booth: Booth) -> dict[str, Any]:
    return {
        "tagline": booth.tagline,
        "description": booth.description,
        "tags": ", ".join(booth.tags),
        "territory": " ".join(booth.territory),
        "ideal_sizes": list(booth.ideal_sizes),
        "video_url": booth.video_url,
        "accent_color": booth.accent_color,
    }


def _edit_page(
    request: Request,
    m: Managed,
    *,
    values: Mapping[str, Any] | None = None,
    errors: Mapping[str, str] | None = None,
    saved: bool = False,
    status: int = 200,
) -> HTMLResponse:
    return _render(
        request,
        m,
        "manage_booth.html",
        {
            "values": dict(values or _edit_values(m.booth)),
            "errors": dict(errors or {}),
            "sizes": COMPANY_SIZES,
            "flash": "Saved." if saved else "",
        },
        tab="booth",
        status=status,
    )


@router.get(BASE, response_class=HTMLResponse)
async def edit_booth_page(request: Request, m: ManagedBooth, saved: str = "") -> HTMLResponse:
    return _edit_page(request, m, saved=saved == "1")


@router.post(BASE)
async def edit_booth(request: Request, m: ManagedBooth, db: DbSession) -> Response:
    form = await request.form()
    data = service.BoothEdit(
        tagline=_text(form, "tagline"),
        description=_text(form, "description"),
        tags=_text(form, "tags"),
        territory=_text(form, "territory"),
        ideal_sizes=[v for v in form.getlist("ideal_sizes") if isinstance(v, str)],
        video_url=_text(form, "video_url"),
        accent_color=_text(form, "accent_color"),
    )
    try:
        service.apply_edit(m.booth, data)
    except BoothFieldsInvalid as exc:
        return _edit_page(request, m, values=_form_values(data), errors=exc.fields, status=422)
    await db.flush()
    return _see_other(f"{m.url}?saved=1")


def _form_values(data: service.BoothEdit) -> dict[str, Any]:
    return {name: getattr(data, name) for name in data.__slots__}


@router.post(BASE + "/images/{which}", max_body_size=uploads.IMAGE_LIMIT + uploads.FORM_OVERHEAD)
async def upload_image(request: Request, m: ManagedBooth, db: DbSession, which: str) -> Response:
    if which not in ("logo", "banner"):
        raise NotFound()
    upload = _file(await request.form(), "file")
    try:
        if upload is None or not upload.filename:
            raise uploads.UploadRejected("Choose an image to upload.", field="file")
        await resource_service.replace_image(
            db, root=_root(request), booth=m.booth, which=which, upload=upload
        )
    except uploads.UploadRejected as exc:
        return _edit_page(request, m, errors={which: exc.message}, status=exc.status)
    return _see_other(f"{m.url}?saved=1")


# -- resources --------------------------------------------------------------------------------


async def _resources_page(
    request: Request,
    m: Managed,
    db: DbSession,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _render(
        request,
        m,
        "manage_resources.html",
        {
            "resources": await repo.resources_of(db, m.booth.id),
            "values": dict(values or {"kind": "document", "stage": "research"}),
            "errors": dict(errors or {}),
            "kinds": {k.value: k.value.capitalize() for k in ResourceKind},
            "stage_names": {s.value: s.value.capitalize() for s in BuyingStage},
            "limit_mib": uploads.DOCUMENT_LIMIT // (1024 * 1024),
        },
        tab="resources",
        status=status,
    )


@router.get(BASE + "/resources", response_class=HTMLResponse)
async def resources_page(request: Request, m: ManagedBooth, db: DbSession) -> HTMLResponse:
    return await _resources_page(request, m, db)


@router.post(BASE + "/resources", max_body_size=uploads.DOCUMENT_LIMIT + uploads.FORM_OVERHEAD)
async def add_resource(request: Request, m: ManagedBooth, db: DbSession) -> Response:
    form = await request.form()
    draft = resource_service.ResourceDraft(
        kind=_text(form, "kind"),
        title=_text(form, "title"),
        description=_text(form, "description"),
        stage=_text(form, "stage"),
        url=_text(form, "url"),
    )
    values = {name: getattr(draft, name) for name in draft.__slots__}
    try:
        await resource_service.add_resource(
            db, root=_root(request), booth=m.booth, draft=draft, upload=_file(form, "file")
        )
    except BoothFieldsInvalid as exc:
        return await _resources_page(
            request, m, db, values=values, errors=exc.fields, status=exc.status
        )
    except uploads.UploadRejected as exc:
        return await _resources_page(
            request, m, db, values=values, errors={"file": exc.message}, status=exc.status
        )
    return _see_other(f"{m.url}/resources")


@router.post(BASE + "/resources/{resource_id}/delete")
async def delete_resource(
    request: Request, m: ManagedBooth, db: DbSession, resource_id: RowId
) -> Response:
    found = await repo.resource_in_event(db, m.member.event.id, resource_id)
    if found is None or found[1].id != m.booth.id:
        raise NotFound("That resource does not exist.")
    await resource_service.delete_resource(db, root=_root(request), resource=found[0])
    return _see_other(f"{m.url}/resources")


# -- staff ------------------------------------------------------------------------------------


async def _staff_page(
    request: Request,
    m: Managed,
    db: DbSession,
    *,
    link: str = "",
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    return _render(
        request,
        m,
        "manage_staff.html",
        {
            "staff": await repo.staff_of(db, m.member.event.id, m.exhibitor.id),
            "invitations": await repo.open_invitations(
                db, m.member.event.id, m.exhibitor.id, utcnow()
            ),
            "link": link,
            "errors": dict(errors or {}),
        },
        tab="staff",
        status=status,
    )


@router.get(BASE + "/staff", response_class=HTMLResponse)
async def staff_page(request: Request, m: ManagedBooth, db: DbSession) -> HTMLResponse:
    return await _staff_page(request, m, db)


@router.post(BASE + "/staff/invite")
async def invite_staff(request: Request, m: ManagedBooth, db: DbSession) -> Response:
    form = await request.form()
    try:
        token = await service.invite_staff(
            db, member=m.member, exhibitor=m.exhibitor, email=_text(form, "email")
        )
    except BoothFieldsInvalid as exc:
        return await _staff_page(request, m, db, errors=exc.fields, status=exc.status)
    base = request.app.state.settings.base_url.rstrip("/")
    return await _staff_page(request, m, db, link=f"{base}/invite/{token}", status=201)


@router.post(BASE + "/staff/{account_id}/remove")
async def remove_staff(m: ManagedBooth, db: DbSession, account_id: RowId) -> Response:
    await service.remove_staff(
        db, event=m.member.event, exhibitor=m.exhibitor, account_id=account_id
    )
    if account_id == m.member.account.id and not m.member.is_organizer:
        return _see_other(f"/e/{m.member.event.slug}/booths/{m.exhibitor.slug}")
    return _see_other(f"{m.url}/staff")


# -- meetings and hand-raises -------------------------------------------------------------------


async def _meetings_page(
    request: Request,
    m: Managed,
    db: DbSession,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    staff = await repo.staff_of(db, m.member.event.id, m.exhibitor.id)
    return _render(
        request,
        m,
        "manage_meetings.html",
        {
            "slots": await meeting_repo.slots_of(db, m.exhibitor.id),
            "bookings": await meeting_repo.bookings_for_staff(db, m.exhibitor.id),
            "info_requests": await repo.info_requests_for_staff(db, m.exhibitor.id),
            "staff_options": {str(a.id): a.display_name or a.email or "Staff" for a in staff},
            "minutes": {str(n): f"{n} minutes" for n in meeting_service.SLOT_MINUTES},
            "values": dict(values or {"minutes": "30", "staff_id": str(m.member.account.id)}),
            "errors": dict(errors or {}),
        },
        tab="meetings",
        status=status,
    )


@router.get(BASE + "/meetings", response_class=HTMLResponse)
async def meetings_page(request: Request, m: ManagedBooth, db: DbSession) -> HTMLResponse:
    return await _meetings_page(request, m, db)


@router.post(BASE + "/meetings")
async def publish_slot(request: Request, m: ManagedBooth, db: DbSession) -> Response:
    form = await request.form()
    values = {name: _text(form, name) for name in ("starts_at", "minutes", "staff_id")}
    event = m.member.event
    try:
        try:
            wall = dt.datetime.strptime(values["starts_at"], LOCAL_INPUT)
        except ValueError:
            raise BoothFieldsInvalid({"starts_at": "Enter a date and time."}) from None
        starts_at = wall.replace(tzinfo=ZoneInfo(event.timezone)).astimezone(dt.UTC)
        staff = {a.id: a for a in await repo.staff_of(db, event.id, m.exhibitor.id)}
        chosen = int(values["staff_id"]) if values["staff_id"].isdigit() else m.member.account.id
        if chosen not in staff:
            raise BoothFieldsInvalid({"staff_id": "Choose a member of this booth's staff."})
        minutes = int(values["minutes"]) if values["minutes"].isdigit() else 0
        await meeting_service.publish_slot(
            db,
            event=event,
            exhibitor=m.exhibitor,
            staff=staff[chosen],
            starts_at=starts_at,
            minutes=minutes,
        )
    except BoothFieldsInvalid as exc:
        return await _meetings_page(
            request, m, db, values=values, errors=exc.fields, status=exc.status
        )
    return _see_other(f"{m.url}/meetings")


@router.post(BASE + "/meetings/{slot_id}/delete")
async def delete_slot(request: Request, m: ManagedBooth, db: DbSession, slot_id: RowId) -> Response:
    try:
        await meeting_service.remove_slot(db, exhibitor=m.exhibitor, slot_id=slot_id)
    except BoothFieldsInvalid as exc:
        return await _meetings_page(request, m, db, errors=exc.fields, status=exc.status)
    return _see_other(f"{m.url}/meetings")


# -- analytics ------------------------------------------------------------------------------


@router.get(BASE + "/analytics", response_class=HTMLResponse)
async def analytics_page(request: Request, m: ManagedBooth, db: DbSession) -> HTMLResponse:
    figures = await analytics.booth_analytics(db, m.exhibitor.id)
    peak = max((h.visits for h in figures.by_hour), default=0)
    return _render(
        request,
        m,
        "manage_analytics.html",
        {"figures": figures, "peak": peak, "local_hour": analytics.local_hour},
        tab="analytics",
    )
