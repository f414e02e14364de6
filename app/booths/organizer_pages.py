"""Organizers' booth pages: create booths, set tiers, assign staff, import exhibitors from CSV."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile as StarletteUpload

from app.auth.csrf import verify_csrf
from app.auth.deps import Organizer
from app.booths import booth_repository as repo
from app.booths import csv_import, service, uploads
from app.booths.errors import BoothFieldsInvalid, BoothNotFound
from app.booths.models import Tier
from app.db import DbSession
from app.templating import templates

router = APIRouter(
    dependencies=[Depends(uploads.close_form), Depends(verify_csrf)], include_in_schema=False
)

TIERS = {t.value: t.value.capitalize() for t in Tier}


def _text(form: Mapping[str, Any], name: str) -> str:
    value = form.get(name, "")
    return value.strip() if isinstance(value, str) else ""


def _see_other(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


async def _booths_page(
    request: Request,
    member: Organizer,
    db: DbSession,
    *,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
    flash: str = "",
    status: int = 200,
) -> HTMLResponse:
    event = member.event
    booths = await repo.all_exhibitor_booths(db, event.id)
    staff = {ex.id: await repo.staff_of(db, event.id, ex.id) for ex, _ in booths}
    return templates.TemplateResponse(
        request,
        "booths/organizer_booths.html",
        {
            "event": event,
            "membership": member,
            "nav": "manage",
            "booths": booths,
            "staff": staff,
            "tiers": TIERS,
            "exhibitor_options": {ex.slug: ex.name for ex, _ in booths},
            "values": dict(values or {"tier": "bronze"}),
            "errors": dict(errors or {}),
            "flash": flash,
        },
        status_code=status,
    )


@router.get("/e/{slug}/manage/booths", response_class=HTMLResponse)
async def booths_page(
    request: Request, member: Organizer, db: DbSession, done: str = ""
) -> HTMLResponse:
    flash = {"created": "Booth created.", "tier": "Tier saved.", "staff": "Staff assigned."}
    return await _booths_page(request, member, db, flash=flash.get(done, ""))


@router.post("/e/{slug}/manage/booths")
async def create_booth(request: Request, member: Organizer, db: DbSession) -> Response:
    form = await request.form()
    values = {name: _text(form, name) for name in ("name", "slug", "tier", "website", "tagline")}
    slug = values["slug"].lower() or service.slugify(values["name"])
    errors = service.check_exhibitor_fields(values["name"], slug, values["tier"], values["website"])
    if len(values["tagline"]) > 300:
        errors["tagline"] = "Keep the tagline under 300 characters."
    if not errors and slug in await repo.slugs_taken(db, member.event.id):
        errors["slug"] = "Another exhibitor of this event uses this address."
    try:
        if errors:
            raise BoothFieldsInvalid(errors)
        await service.create_booth(
            db,
            event=member.event,
            name=values["name"],
            slug=slug,
            tier=values["tier"],
            website=values["website"],
            tagline=values["tagline"],
        )
    except BoothFieldsInvalid as exc:
        return await _booths_page(
            request, member, db, values=values, errors=exc.fields, status=exc.status
        )
    return _see_other(f"/e/{member.event.slug}/manage/booths?done=created")


async def _found(db: DbSession, member: Organizer, exhibitor_slug: str) -> Any:
    found = await repo.exhibitor_booth(db, member.event.id, exhibitor_slug)
    if found is None:
        raise BoothNotFound()
    return found


@router.post("/e/{slug}/manage/booths/{exhibitor_slug}/tier")
async def set_tier(
    request: Request, member: Organizer, db: DbSession, exhibitor_slug: str
) -> Response:
    _exhibitor, booth = await _found(db, member, exhibitor_slug)
    form = await request.form()
    try:
        await service.set_tier(booth, _text(form, "tier"))
    except BoothFieldsInvalid as exc:
        return await _booths_page(request, member, db, errors=exc.fields, status=exc.status)
    await db.flush()
    return _see_other(f"/e/{member.event.slug}/manage/booths?done=tier")


@router.post("/e/{slug}/manage/booths/staff")
async def assign_staff(request: Request, member: Organizer, db: DbSession) -> Response:
    form = await request.form()
    values = {"exhibitor": _text(form, "exhibitor"), "email": _text(form, "email")}
    found = await repo.exhibitor_booth(db, member.event.id, values["exhibitor"])
    try:
        if found is None:
            raise BoothFieldsInvalid({"exhibitor": "Choose an exhibitor."})
        await service.add_staff(db, event=member.event, exhibitor=found[0], email=values["email"])
    except BoothFieldsInvalid as exc:
        return await _booths_page(
            request, member, db, values=values, errors=exc.fields, status=exc.status
        )
    return _see_other(f"/e/{member.event.slug}/manage/booths?done=staff")


# -- CSV import -------------------------------------------------------------------------------


def _import_page(
    request: Request,
    member: Organizer,
    *,
    imported: list[csv_import.ExhibitorRow] | None = None,
    row_errors: list[csv_import.RowError] | None = None,
    error: str = "",
    status: int = 200,
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        "booths/organizer_import.html",
        {
            "event": member.event,
            "membership": member,
            "nav": "manage",
            "columns": csv_import.COLUMNS,
            "imported": imported,
            "row_errors": row_errors or [],
            "error": error,
            "errors": {"file": error} if error else {},
        },
        status_code=status,
    )


@router.get("/e/{slug}/manage/booths/import", response_class=HTMLResponse)
async def import_page(request: Request, member: Organizer) -> HTMLResponse:
    return _import_page(request, member)


@router.post(
    "/e/{slug}/manage/booths/import", max_body_size=csv_import.MAX_BYTES + uploads.FORM_OVERHEAD
)
async def import_exhibitors(request: Request, member: Organizer, db: DbSession) -> Response:
    form = await request.form()
    upload = form.get("file")
    if not isinstance(upload, StarletteUpload) or not upload.filename:
        return _import_page(request, member, error="Choose a CSV file to import.", status=422)
    data = await upload.read(csv_import.MAX_BYTES + 1)
    try:
        parsed = csv_import.parse(data, taken=await repo.slugs_taken(db, member.event.id))
    except csv_import.NotCsv as exc:
        return _import_page(request, member, error=str(exc), status=422)
    for row in parsed.rows:
        await service.create_booth(
            db,
            event=member.event,
            name=row.name,
            slug=row.slug,
            tier=row.tier,
            website=row.website,
            tagline=row.tagline,
            tags=row.tags,
            territory=row.territory,
            ideal_sizes=row.ideal_sizes,
        )
    status = 200 if not parsed.errors else 422 if not parsed.rows else 200
    return _import_page(
        request, member, imported=parsed.rows, row_errors=parsed.errors, status=status
    )
